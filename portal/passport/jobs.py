"""Issuing in batch: every eligible person of a commune (confirmed, no passport in force)
in one token session, committed every few passports so that progress shows and a failure
keeps what was done; on the queue as the ``issue_passports`` job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.services import Owner, Progress, create_job, handler
from portal.passport import payload, permissions, services
from portal.passport.models import Passport
from portal.records.models import Person
from portal.signing.models import CONFIRMATION, DocumentMember

COMMIT_EVERY = 50


@dataclass
class Outcome:
    issued: int = 0
    refused: list[tuple[int, payload.Reason]] = field(default_factory=list)


def eligible(commune_id: int) -> list[int]:
    """The commune's persons with a confirmation in force and no passport in force: one
    query for the commune."""
    in_force = sa.select(Passport.person_id).where(Passport.revoked_at.is_(None))
    return list(
        db.session.scalars(
            sa.select(Person.id)
            .join(DocumentMember, DocumentMember.person_id == Person.id)
            .where(
                Person.commune_id == commune_id,
                DocumentMember.basis == CONFIRMATION,
                DocumentMember.superseded_at.is_(None),
                Person.id.not_in(in_force),
            )
            .order_by(Person.id)
        )
    )


def issue_for_commune(
    commune_id: int,
    progress: Callable[[int, int], Any] | None = None,
    actor: Any = None,
) -> Outcome:
    outcome = Outcome()
    person_ids = eligible(commune_id)
    total = len(person_ids)
    products = services.products()
    if progress:
        progress(0, total)
    with services.signing() as (row, signer):
        for done, person_id in enumerate(person_ids, start=1):
            person = db.session.get(Person, person_id)
            if person is not None:
                try:
                    services.issue(person, row, signer, actor, products)
                    outcome.issued += 1
                except payload.NotIssuable as refused:
                    outcome.refused.append((person_id, refused.reason))
            if done % COMMIT_EVERY == 0 or done == total:
                db.session.commit()
                if progress:
                    progress(done, total)
    return outcome


def start_issuing(commune_id: int, actor: Any) -> Job:
    return create_job("issue_passports", commune_id, {"commune_id": commune_id}, actor=actor)


@handler("issue_passports", owner=Owner(may_retry=permissions.can_issue))
def run_issue_passports(job: Job, progress: Progress) -> dict[str, Any]:
    outcome = issue_for_commune(int(job.params["commune_id"]), progress)
    return {
        "issued": outcome.issued,
        "refused": [{"person_id": p, "reason": str(r)} for p, r in outcome.refused],
    }

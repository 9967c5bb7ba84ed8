"""``flask passports …`` and ``flask verify-dcc``: the issuer's keys, issuing a commune's
passports, a person's ``HC1:`` text, the trust list, and verifying a passport."""

from __future__ import annotations

import json
import sys

import click
import sqlalchemy as sa
from flask_babel import gettext as _

from portal.areas.models import Area
from portal.core.cli import fail
from portal.core.clock import format_time
from portal.extensions import db
from portal.passport import jobs, services, token
from portal.passport.hcert import Verdict
from portal.passport.labels import reason_label, verdict_label
from portal.records.models import Person


@click.group("passports", help="Vaccine passports (EU DCC): keys, issuing, trust list.")
def passports_group() -> None:
    pass


@passports_group.command("add-signer", help="A new Document Signer: its key made in the token.")
@click.option("--label", default=None, help="The key's label in the token.")
def add_signer(label: str | None) -> None:
    try:
        row = services.add_signer(services.country_signing_ca(create=True), label)
    except token.TokenUnavailable as error:
        fail(_("The token cannot be used: %(error)s", error=str(error)))
    db.session.commit()
    until = format_time(row.not_after)
    click.echo(_("Document Signer %(kid)s, valid until %(time)s.", kid=row.kid, time=until))


@passports_group.command("issue", help="Issue passports to the eligible persons of a commune.")
@click.option("--commune", "commune_code", required=True, help="The commune's code.")
def issue_commune(commune_code: str) -> None:
    commune = db.session.scalar(sa.select(Area).where(Area.code == commune_code))
    if commune is None:
        fail(_("Unknown commune code %(code)s.", code=commune_code))
    try:
        outcome = jobs.issue_for_commune(
            commune.id, progress=lambda done, total: click.echo(f"{done}/{total}", err=True)
        )
    except token.TokenUnavailable as error:
        fail(_("The token cannot be used: %(error)s", error=str(error)))
    click.echo(_("Issued: %(num)d", num=outcome.issued))
    for person_id, reason in outcome.refused:
        click.echo(f"{person_id}\t{reason_label(reason)}")


@passports_group.command("show", help="Print a person's current HC1: text.")
@click.argument("person_id", type=int)
def show(person_id: int) -> None:
    if db.session.get(Person, person_id) is None:
        fail(_("No person has the number %(id)s.", id=person_id))
    passport = services.in_force(person_id)
    if passport is None:
        fail(_("This person has no passport in force."))
    click.echo(passport.hc1)


@passports_group.command("trust-list", help="Print the published trust list (JSON).")
def trust_list() -> None:
    click.echo(json.dumps(services.published_trust_list(), indent=2))


@click.command("verify-dcc", help="Verify an HC1: text (argument or standard input).")
@click.argument("text", required=False)
def verify_dcc(text: str | None) -> None:
    reading = services.verify(text if text is not None else sys.stdin.read())
    click.echo(verdict_label(reading.verdict))
    if reading.payload:
        click.echo(json.dumps(reading.payload, ensure_ascii=False, indent=2))
    sys.exit(0 if reading.verdict == Verdict.VALID else 1)

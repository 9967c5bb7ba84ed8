"""Issuing from the database: the DSC's key in the token, a confirmed person's passport,
revocation and re-issue, key rollover."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.passport import hcert, keys, payload, services
from portal.passport.hcert import Verdict
from portal.passport.models import Passport

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


@pytest.fixture
def travel():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_issue_verify_revoke_reissue(issuer_token, csca, make_confirmed, travel):
    signer_row = services.add_signer(csca)
    person = make_confirmed(full_name="Đặng Văn Hưởng", birth_date=date(1944, 1, 1),
                            birth_precision="year")  # fmt: skip
    with services.signing() as (row, signer):
        assert row.id == signer_row.id
        passport = services.issue(person, row, signer)
        assert services.issue(person, row, signer).id == passport.id  # one in force
    db.session.commit()
    assert passport.expires_at == datetime(2027, 12, 7, 3, 0)
    reading = services.verify(passport.hc1)
    assert reading.verdict == Verdict.VALID, reading.errors
    assert reading.payload["nam"]["fnt"] == "DANG"
    assert reading.payload["nam"]["gnt"] == "VAN<HUONG"
    assert reading.payload["dob"] == "1944"
    assert reading.kid.hex() == signer_row.kid
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "passport.issued")
    ).changes["passport"] == [None, passport.uvci]

    services.revoke(passport, "superseded")
    db.session.commit()
    assert services.verify(passport.hc1).verdict == Verdict.REVOKED
    assert services.uvci_hash(passport.uvci) and len(services.uvci_hash(passport.uvci)) == 24
    with services.signing() as (row, signer):
        again = services.issue(person, row, signer)
    db.session.commit()
    assert again.uvci != passport.uvci
    assert services.verify(again.hc1).verdict == Verdict.VALID
    assert services.verify(hcert.PREFIX + "NOT-A-PASSPORT").verdict == Verdict.NOT_DCC


def test_one_passport_in_force_is_a_constraint(issuer_token, csca, make_confirmed, travel):
    services.add_signer(csca)
    person = make_confirmed()
    with services.signing() as (row, signer):
        first = services.issue(person, row, signer)
        db.session.add(
            Passport(
                person_id=person.id,
                uvci="URN:UVCI:01:VN:YTDP/DUPLICATE#A",
                signer_id=row.id,
                issued_at=first.issued_at,
                expires_at=first.expires_at,
                hc1=first.hc1,
            )
        )
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
    db.session.rollback()


def test_not_issued_without_confirmation_or_series(
    issuer_token, csca, make_confirmed, make_person, travel
):
    services.add_signer(csca)
    unconfirmed = make_person()
    incomplete = make_confirmed(doses=(("BBIBP-CorV", date(2021, 9, 1)),))
    with services.signing() as (row, signer):
        with pytest.raises(payload.NotIssuable) as raised:
            services.issue(unconfirmed, row, signer)
        assert raised.value.reason == payload.Reason.NOT_CONFIRMED
        with pytest.raises(payload.NotIssuable) as raised:
            services.issue(incomplete, row, signer)
        assert raised.value.reason == payload.Reason.INCOMPLETE
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Passport)) == 0


def test_rollover_through_the_database(issuer_token, csca, make_confirmed, travel):
    first_row = services.add_signer(csca)
    person = make_confirmed()
    with services.signing() as (row, signer):
        old = services.issue(person, row, signer)
    db.session.commit()
    travel.shift(timedelta(days=200))
    second_row = services.add_signer(csca)
    assert services.current_signer().id == second_row.id
    other = make_confirmed(full_name="Bế Thị Lường")
    with services.signing() as (row, signer):
        assert row.id == second_row.id
        new = services.issue(other, row, signer)
    db.session.commit()
    assert set(services.trust_list()) >= {
        bytes.fromhex(first_row.kid),
        bytes.fromhex(second_row.kid),
    }
    assert services.verify(old.hc1).verdict == Verdict.VALID
    assert services.verify(new.hc1).verdict == Verdict.VALID
    assert keys.issued_by(services.certificate_of(second_row), csca.certificate)


def test_revocation_follows_supersession(issuer_token, csca, make_confirmed, travel, client):
    """A confirmed person's name corrected: the confirmation is superseded (signing) and the
    passport revoked (passport), listed in the revocation list; once confirmed again, a new
    passport with the new name validates."""
    from portal.records import services as record_services
    from portal.records.models import PersonStatus
    from portal.signing.models import (
        CONFIRMATION,
        DocumentKind,
        DocumentMember,
        SignedDocument,
    )

    services.add_signer(csca)
    person = make_confirmed(full_name="Nguyen Van An", status=PersonStatus.CONFIRMED)
    with services.signing() as (row, signer):
        old = services.issue(person, row, signer)
    db.session.commit()
    record_services.update_person(person, {"full_name": "Nguyễn Văn An"}, "sửa dấu")
    db.session.commit()
    assert old.revoked_at is not None and old.revoked_reason == "superseded"
    assert services.confirmation_of(person.id) is None
    assert services.verify(old.hc1).verdict == Verdict.REVOKED
    entries = client.get("/api/v1/dcc/revocation").get_json()["batches"][0]["entries"]
    assert {"hash": services.uvci_hash(old.uvci)} in entries
    # confirmed again (a new signed list), then issued again
    document = SignedDocument(code=f"again-{person.id}", kind=DocumentKind.COMMITTEE_LIST,
                              area_id=person.commune_id, title="Danh sách xác nhận lại",
                              path="again.pdf", sha256="1" * 64)  # fmt: skip
    db.session.add(document)
    db.session.flush()
    db.session.add(DocumentMember(document_id=document.id, person_id=person.id,
                                  basis=CONFIRMATION))  # fmt: skip
    with services.signing() as (row, signer):
        new = services.issue(person, row, signer)
    db.session.commit()
    reading = services.verify(new.hc1)
    assert reading.verdict == Verdict.VALID
    assert reading.payload["nam"]["fn"] == "Nguyễn"
    assert services.verify(old.hc1).verdict == Verdict.REVOKED

"""Issuing a commune in batch, the published trust list and revocation list, and the
command line (issue, show, trust-list, verify-dcc)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime

import pytest
import time_machine
from cryptography import x509

from portal.extensions import db
from portal.passport import hcert, jobs, services
from portal.passport.hcert import Verdict
from portal.passport.payload import Reason
from tests.conftest import OWN

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


@pytest.fixture
def travel():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def commune_issued(issuer_token, csca, make_confirmed, area, travel):
    """A commune with two eligible persons and one whose series is incomplete, issued."""
    services.add_signer(csca)
    people = [
        make_confirmed(full_name="Nguyễn Thị Ngọc Ánh"),
        make_confirmed(full_name="Trương Ưu Đàm", birth_date=date(1950, 1, 1),
                       birth_precision="year"),
        make_confirmed(full_name="Lê Văn Tám", doses=(("Sputnik-V", date(2021, 9, 1)),)),
    ]  # fmt: skip
    progress: list[tuple[int, int]] = []
    outcome = jobs.issue_for_commune(area(OWN).id, progress=lambda d, t: progress.append((d, t)))
    return people, outcome, progress


def test_a_commune_issued_in_batch(commune_issued, area):
    people, outcome, progress = commune_issued
    assert outcome.issued == 2
    assert outcome.refused == [(people[2].id, Reason.INCOMPLETE)]
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)
    for person in people[:2]:
        passport = services.in_force(person.id)
        assert services.verify(passport.hc1).verdict == Verdict.VALID
    # issued persons are no longer eligible; the refused one still is
    assert jobs.eligible(area(OWN).id) == [people[2].id]


def test_trust_list_in_the_gateway_shape(commune_issued, client):
    people, _outcome, _progress = commune_issued
    response = client.get("/api/v1/dcc/trust-list")
    assert response.status_code == 200
    entries = response.get_json()
    assert len(entries) == 1
    entry = entries[0]
    assert entry["country"] == "VN" and entry["certificateType"] == "DSC"
    certificate = x509.load_der_x509_certificate(base64.b64decode(entry["rawData"]))
    assert base64.b64decode(entry["kid"]) == hcert.kid_of(certificate)
    # a verifier with only this list verifies a passport offline
    trust = {base64.b64decode(e["kid"]): x509.load_der_x509_certificate(
        base64.b64decode(e["rawData"])) for e in entries}  # fmt: skip
    passport = services.in_force(people[0].id)
    assert hcert.read(passport.hc1, trust, NOW).verdict == Verdict.VALID


def test_revocation_list(commune_issued, client):
    people, _outcome, _progress = commune_issued
    assert client.get("/api/v1/dcc/revocation").get_json() == {"batches": []}
    passport = services.in_force(people[0].id)
    services.revoke(passport, "superseded")
    db.session.commit()
    batches = client.get("/api/v1/dcc/revocation").get_json()["batches"]
    assert len(batches) == 1
    assert batches[0]["hashType"] == "UCI"
    assert batches[0]["kid"] == base64.b64encode(bytes.fromhex(passport.signer.kid)).decode()
    assert batches[0]["entries"] == [{"hash": services.uvci_hash(passport.uvci)}]
    assert services.verify(passport.hc1).verdict == Verdict.REVOKED


def test_command_line(commune_issued, app, area):
    people, _outcome, _progress = commune_issued
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["passports", "show", str(people[0].id)])
    assert shown.exit_code == 0, shown.output
    text = shown.output.strip()
    assert text == services.in_force(people[0].id).hc1
    valid = runner.invoke(args=["verify-dcc", text])
    assert valid.exit_code == 0, valid.output
    assert "Hộ chiếu vắc xin hợp lệ" in valid.output
    assert "NGUYEN" in valid.output
    broken = runner.invoke(args=["verify-dcc", text[:-9]])
    assert broken.exit_code == 1
    assert "Đây không phải mã hộ chiếu vắc xin" in broken.output
    assert "Traceback" not in broken.output
    none = runner.invoke(args=["passports", "show", str(people[2].id)])
    assert none.exit_code == 1
    listed = runner.invoke(args=["passports", "trust-list"])
    assert listed.exit_code == 0 and '"certificateType": "DSC"' in listed.output
    again = runner.invoke(args=["passports", "issue", "--commune", OWN])
    assert again.exit_code == 0, again.output
    assert "Đã cấp: 0" in again.output
    assert "Chưa tiêm đủ liều cơ bản" in again.output

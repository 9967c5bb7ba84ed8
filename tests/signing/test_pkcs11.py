"""Signer backend (b): a PKCS#11 token, SoftHSM2 in tests (Debian's softhsm2). Skipped only
when SoftHSM2 is not installed here; CI installs it and sets REQUIRE_SOFTHSM=1."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from portal.records.models import Person, PersonStatus
from portal.signing import core, pki, services
from tests.conftest import OWN

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN_PIN = "135790"
AVAILABLE = shutil.which("softhsm2-util") is not None and Path(MODULE).exists()

pytestmark = pytest.mark.skipif(
    not AVAILABLE and not os.environ.get("REQUIRE_SOFTHSM"),
    reason="SoftHSM2 not installed (apt-get install softhsm2)",
)


@pytest.fixture(scope="session")
def token(tmp_path_factory, ca):
    """A SoftHSM2 token holding an ECDSA P-256 signing key; the certificate is from the CA."""
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "portal-test",
            "--pin",
            TOKEN_PIN,
            "--so-pin",
            "97531",
        ],
        check=True,
        capture_output=True,
    )
    issued = pki.issue(ca, "Trần Văn Đức (token)", title="Chủ tịch", unit="UBND Phường Ba Đình")
    key_file = folder / "key.pem"
    key_file.write_bytes(issued.key_pem())
    subprocess.run(
        [
            "softhsm2-util",
            "--import",
            str(key_file),
            "--token",
            "portal-test",
            "--label",
            "signer",
            "--id",
            "01",
            "--pin",
            TOKEN_PIN,
        ],
        check=True,
        capture_output=True,
    )
    key_file.unlink()
    return issued


@pytest.fixture
def token_chair(app, make_user, token, ca):
    app.config["SIGNING_PKCS11_MODULE"] = MODULE
    user = make_user(Role.COMMITTEE, OWN, display_name="Trần Văn Đức")
    services.add_pkcs11_credential(
        user, "portal-test", "signer", [token.cert, ca.cert], "Chủ tịch", "UBND Phường Ba Đình"
    )
    db.session.commit()
    return user


def test_sign_with_token(token_chair, awaiting, ca):
    document = services.sign_committee_list(token_chair, TOKEN_PIN)
    db.session.commit()
    verdict = core.validate(services.stored_content(document), [ca.cert])
    assert verdict.ok, verdict
    assert verdict.signatures[0].signer_name == "Trần Văn Đức (token)"
    assert db.session.get(Person, awaiting[0].id).status == PersonStatus.CONFIRMED


def test_wrong_token_pin_refused_and_audited(token_chair, awaiting):
    with pytest.raises(services.SigningRefused):
        services.sign_committee_list(token_chair, "000000")
    db.session.commit()
    assert db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "signing.pin_refused")
    ).one()


def test_batch_uses_one_session(token_chair, awaiting, ca):
    """The list, then the certificates: each unlock logs in afresh, one session at a time."""
    from portal.signing import jobs

    services.sign_committee_list(token_chair, TOKEN_PIN)
    db.session.commit()
    written: list[str] = []
    jobs.sign_certificates(token_chair, TOKEN_PIN, written=written)
    db.session.commit()
    assert len(written) == 2
    with pytest.raises(services.SigningRefused):
        services.unlock(token_chair, "bad")

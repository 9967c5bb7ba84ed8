"""The passport's fixtures: a demo Country Signing CA, Document Signers in software and in
a SoftHSM2 token, payloads."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pkcs11
import pytest

from portal.passport import keys, payload, uvci
from portal.passport.payload import Dose, Holder, Product

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN_LABEL = "passport-test"
TOKEN_PIN = "246810"
SOFTHSM = shutil.which("softhsm2-util") is not None and Path(MODULE).exists()
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
ISSUER = "Cục Y tế dự phòng - Bộ Y tế"
PRODUCTS = {
    "EU/1/21/1529": Product("EU/1/21/1529", "29061000087103", "ORG-100001699"),
    "EU/1/20/1528": Product("EU/1/20/1528", "1119349007", "ORG-100030215"),
}


@pytest.fixture(scope="session")
def csca():
    return keys.make_csca(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="session")
def software_dsc(csca):
    """(signer, certificate): a DSC whose key is in memory."""
    return keys.new_software_signer(csca, datetime(2026, 6, 1, tzinfo=UTC))


@pytest.fixture
def make_payload():
    def make(name="Nguyễn Thị Ngọc Ánh", born=date(1944, 5, 17), precision="day"):
        doses = [
            Dose(1, "EU/1/21/1529", date(2021, 8, 2)),
            Dose(2, "EU/1/20/1528", date(2021, 10, 25)),
        ]
        return payload.build(
            Holder(name, born, precision, "VN"), doses, PRODUCTS, ISSUER, uvci.new()
        )

    return make


@pytest.fixture(scope="session")
def softhsm_conf(tmp_path_factory):
    """A SoftHSM2 configuration with an initialised token of its own."""
    if not SOFTHSM:
        if os.environ.get("REQUIRE_SOFTHSM"):
            pytest.fail("SoftHSM2 required (REQUIRE_SOFTHSM=1) but not installed")
        pytest.skip("SoftHSM2 not installed (apt-get install softhsm2)")
    folder = tmp_path_factory.mktemp("passport-softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
         "--pin", TOKEN_PIN, "--so-pin", "13579"],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )  # fmt: skip
    return conf


@pytest.fixture
def softhsm(softhsm_conf, monkeypatch):
    """The token of this module's configuration, for one test.

    SoftHSM2 reads SOFTHSM2_CONF when the library is initialised, once per process, and
    the signing tests (tests/signing/test_pkcs11.py) keep a token of their own in another
    folder: the library is finalised before and after, so that each side's next session
    initialises it with its own configuration."""
    pkcs11.lib(MODULE).finalize()
    monkeypatch.setenv("SOFTHSM2_CONF", str(softhsm_conf))
    yield {"module": MODULE, "token_label": TOKEN_LABEL, "pin": TOKEN_PIN}
    pkcs11.lib(MODULE).finalize()


@pytest.fixture
def issuer_token(app, softhsm, monkeypatch):
    """The app's passport settings pointing at the test token."""
    monkeypatch.setitem(app.config, "SIGNING_PKCS11_MODULE", softhsm["module"])
    monkeypatch.setitem(app.config, "DCC_TOKEN_LABEL", softhsm["token_label"])
    monkeypatch.setitem(app.config, "DCC_TOKEN_PIN", softhsm["pin"])
    return softhsm


@pytest.fixture
def make_confirmed(make_person, area):
    """A person with doses, confirmed by an entry of a signed committee list."""
    from portal.extensions import db
    from portal.records import services as record_services
    from portal.signing.models import CONFIRMATION, DocumentKind, DocumentMember, SignedDocument

    def make(doses=(("EU/1/21/1529", date(2021, 8, 2)), ("EU/1/21/1529", date(2021, 10, 25))),
             **kw):  # fmt: skip
        person = make_person(**kw)
        for number, (vaccine, day) in enumerate(doses, start=1):
            record_services.add_dose(
                person, {"dose_number": number, "vaccine": vaccine, "vaccinated_on": day}
            )
        document = SignedDocument(
            code=f"test-{person.id}",
            kind=DocumentKind.COMMITTEE_LIST,
            area_id=person.commune_id,
            title="Danh sách xác nhận",
            path="test.pdf",
            sha256="0" * 64,
        )
        db.session.add(document)
        db.session.flush()
        db.session.add(
            DocumentMember(document_id=document.id, person_id=person.id, basis=CONFIRMATION)
        )
        db.session.commit()
        return person

    return make

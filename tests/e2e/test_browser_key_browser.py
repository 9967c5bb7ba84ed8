"""End to end in headless Chromium (issue 17): the committee chair makes a signing key in
the browser (WebCrypto, non-extractable, kept in IndexedDB), the demo CA certifies it, and
the chair signs the confirmation list with one click; the downloaded PDF validates. A
second browser profile of the same chair (no key in its IndexedDB) cannot finish a
signature, and a replayed finish is refused.

On the session's demo portal (tests/e2e/conftest.py), in a ward of its own (Nha Trang,
Khánh Hòa)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from portal.areas import services as area_services
from portal.auth.models import Role, User
from portal.auth.services import create_user
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import BirthPrecision, PersonStatus, Sex
from portal.signing import core, services
from portal.signing.models import SignerBackend
from tests.e2e.browser import SCREENSHOTS, add_to_demo, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

CHAIR = "chutich.nhatrang"
PASSWORD = "mat-khau-e2e"
OWN = "22366"  # Phường Nha Trang, Khánh Hòa


def _seed() -> None:
    own = area_services.area_by_code(OWN)
    create_user(CHAIR, PASSWORD, Role.COMMITTEE, own, "Lê Thị Thu")
    for name, status in (
        ("Võ Văn Tám", PersonStatus.MATCHED),
        ("Huỳnh Thị Chín", PersonStatus.VERIFIED),
    ):
        record_services.create_person(
            {
                "full_name": name,
                "sex": Sex.MALE,
                "birth_date": date(1985, 3, 4),
                "birth_precision": BirthPrecision.DAY,
                "id_number": None,
                "commune_id": own.id,
                "status": status,
            },
            reason="e2e fixture",
        )


@pytest.fixture(scope="module")
def portal(demo_portal):
    return add_to_demo(demo_portal, _seed)


def _open_dialog(page, base: str):
    from playwright.sync_api import expect

    page.goto(base + "/signing")
    page.get_by_test_id("open-sign-dialog").click()
    dialog = page.locator("#sign-dialog dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_chair_enrols_a_browser_key_and_signs(portal, page, other_page, tmp_path):
    from playwright.sync_api import expect

    app, base = portal
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    # Enrolment: one click; the key never leaves the browser, the portal keeps the certificate.
    log_in(page, base, CHAIR, PASSWORD)
    page.goto(base + "/signing")
    page.get_by_test_id("browser-key-link").click()
    expect(page.get_by_test_id("browser-key-status")).to_have_attribute("data-present", "no")
    page.get_by_test_id("browser-enrol").click()
    expect(page.get_by_test_id("browser-key-enrolled")).to_be_visible()
    expect(page.get_by_test_id("browser-key-status")).to_have_attribute("data-present", "yes")
    expect(page.get_by_test_id("browser-key-status")).to_contain_text("đang giữ khóa ký")
    with app.app_context():
        chair = db.session.scalar(db.select(User).where(User.username == CHAIR))
        credential = services.active_credential(chair)
        assert credential.backend == SignerBackend.BROWSER
        assert credential.sealed_pkcs12 is None
        db.session.rollback()

    # A second profile of the same chair has no key: it cannot sign, nor finish anything.
    log_in(other_page, base, CHAIR, PASSWORD)
    other_dialog = _open_dialog(other_page, base)
    other_dialog.get_by_test_id("browser-sign-submit").click()
    expect(other_dialog.get_by_test_id("browser-sign-error")).to_contain_text(
        "không giữ khóa ký nào"
    )
    forged = other_page.evaluate(
        """async () => {
            const button = document.querySelector("[data-browser-sign]");
            const body = new FormData();
            body.append("csrf_token", button.dataset.csrf);
            const prepared = await (await fetch(button.dataset.prepareUrl,
                {method: "POST", body})).json();
            let refused = null;
            try { await window.PortalSigner.sign(prepared.to_be_signed, prepared.digest); }
            catch (error) { refused = error.message; }
            const finish = new FormData();
            finish.append("csrf_token", button.dataset.csrf);
            finish.append("signature", btoa(String.fromCharCode(...new Uint8Array(64))));
            finish.append("document_sha256", prepared.document_sha256);
            const answer = await fetch(prepared.finish_url, {method: "POST", body: finish});
            return {refused, status: answer.status, error: (await answer.json()).error};
        }"""
    )
    assert forged["refused"] == "no-key"
    assert forged["status"] == 422 and "không khớp" in forged["error"]

    # The chair's own browser: choose → preview → one click → signed.
    finishes: list = []
    page.on(
        "request",
        lambda request: finishes.append(request) if request.url.endswith("/finish") else None,
    )
    dialog = _open_dialog(page, base)
    expect(dialog.get_by_test_id("dialog-count")).to_contain_text("2")
    dialog.get_by_test_id("browser-sign-submit").click()
    expect(page.get_by_test_id("signed")).to_contain_text("2")
    expect(page).to_have_url(re.compile(r"/signing/batches/\d+$"))
    page.screenshot(path=str(SCREENSHOTS / "e2e-browser-key-signed.png"), full_page=True)

    # A replay of the finish the page made is refused in Vietnamese.
    [finish] = finishes
    replay = page.request.post(
        finish.url,
        headers={"Content-Type": finish.headers["content-type"]},
        data=finish.post_data_buffer,
    )
    assert replay.status == 422 and "đã được dùng" in replay.json()["error"]

    # The downloaded PDF validates: intact, trusted, time-stamped.
    page.get_by_role("link", name="Mở văn bản đã ký").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải văn bản").click()
    path = tmp_path / "signed.pdf"
    download.value.save_as(path)
    with app.app_context():
        roots = services.trust_roots()
    # pyHanko runs its own event loop, which Playwright's (in this thread) would refuse.
    with ThreadPoolExecutor(1) as pool:
        verdict = pool.submit(core.validate, path.read_bytes(), roots).result()
    assert verdict.ok, verdict
    [signature] = verdict.signatures
    assert signature.timestamp_ok and signature.signer_name == "Lê Thị Thu"
    assert errors == []

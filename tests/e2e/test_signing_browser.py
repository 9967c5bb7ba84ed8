"""End to end in headless Chromium: the committee chair signs the confirmation list.

On the session's demo portal (tests/e2e/conftest.py), in a ward of its own (Phú Xuân, Huế);
the chair holds a PKCS#12 from the demo's certificate authority, time-stamps come from the
in-process TSA. Without Chromium the test is skipped, unless REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from portal.areas import services as area_services
from portal.auth.models import Role
from portal.auth.services import create_user
from portal.records import services as record_services
from portal.records.models import BirthPrecision, PersonStatus, Sex
from portal.signing import pki, services
from portal.signing.demo import ensure_pki
from tests.e2e.browser import SCREENSHOTS, add_to_demo, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

CHAIR = "chutich.phuxuan"
PASSWORD = "mat-khau-e2e"
PIN = "135246"
OWN = "19768"  # Phường Phú Xuân, Thành phố Huế


def _seed() -> None:
    ca, _made = ensure_pki()  # the demo's, made by ``flask demo``
    own = area_services.area_by_code(OWN)
    chair = create_user(CHAIR, PASSWORD, Role.COMMITTEE, own, "Trần Văn Đức")
    issued = pki.issue(ca, "Trần Văn Đức", title="Chủ tịch", unit="UBND Phường Phú Xuân")
    services.add_pkcs12_credential(
        chair, pki.to_pkcs12(issued, ca, PIN), PIN, "Chủ tịch", "UBND Phường Phú Xuân", demo=True
    )
    for name, status in (
        ("Nguyễn Thị Hương", PersonStatus.MATCHED),
        ("Đặng Văn Lộc", PersonStatus.VERIFIED),
        ("Phạm Văn Em", PersonStatus.MISMATCH),
    ):
        record_services.create_person(
            {
                "full_name": name,
                "sex": Sex.MALE,
                "birth_date": date(1980, 1, 2),
                "birth_precision": BirthPrecision.DAY,
                "id_number": None,
                "commune_id": own.id,
                "status": status,
            },
            reason="e2e fixture",
        )


@pytest.fixture(scope="module")
def live_server(demo_portal):
    return add_to_demo(demo_portal, _seed)[1]


def test_chair_signs_the_confirmation_list(live_server, page):
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    log_in(page, live_server, CHAIR, PASSWORD)

    page.get_by_role("link", name="Chờ ký").click()
    expect(page).to_have_url(re.compile(r"/signing$"))
    expect(page.get_by_test_id("demo-certificate")).to_be_visible()
    results = page.locator("#signing-results")
    expect(results.locator("tbody tr")).to_have_count(2)
    expect(results).to_contain_text("Nguyễn Thị Hương")
    expect(results).not_to_contain_text("Phạm Văn Em")

    # The PIN dialog opens in place (htmx); a wrong PIN is refused in Vietnamese.
    page.get_by_test_id("open-sign-dialog").click()
    dialog = page.locator("#sign-dialog dialog")
    expect(dialog).to_be_visible()
    expect(page).to_have_url(re.compile(r"/signing$"))
    dialog.locator("input[name=pin]").fill("000000")
    dialog.get_by_test_id("sign-submit").click()
    expect(page.get_by_test_id("sign-error")).to_contain_text("Sai mã PIN")

    page.locator("#sign-dialog input[name=pin]").fill(PIN)
    page.locator("#sign-dialog").get_by_test_id("sign-submit").click()
    expect(page.get_by_test_id("signed")).to_contain_text("2")
    # The list below reloads itself: nobody awaits signature any more.
    expect(page.get_by_test_id("awaiting-count")).to_contain_text("0")
    expect(page.get_by_test_id("documents")).to_contain_text("Danh sách xác nhận")
    page.screenshot(path=str(SCREENSHOTS / "e2e-signing.png"), full_page=True)

    page.get_by_role("link", name="Mở văn bản đã ký").click()
    expect(page.get_by_test_id("document-state")).to_have_attribute("data-state", "valid")
    page.locator("a[href*='/verify/']").click()
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-ok", "true")
    page.screenshot(path=str(SCREENSHOTS / "e2e-verify.png"), full_page=True)

    # The chair revokes it: without a reason the refusal stands beside the field, in
    # Vietnamese; with one the document is revoked and verification says so.
    page.go_back()
    page.get_by_text("Thu hồi văn bản này").click()
    page.get_by_role("button", name="Thu hồi", exact=True).click()
    expect(page.locator("#reason-error")).to_contain_text("Hãy nêu lý do thu hồi")
    page.locator("textarea[name=reason]").fill("Ký nhầm danh sách")
    page.get_by_role("button", name="Thu hồi", exact=True).click()
    expect(page.get_by_test_id("document-state")).to_have_attribute("data-state", "revoked")
    expect(page.get_by_test_id("revocation")).to_contain_text("Ký nhầm danh sách")
    page.screenshot(path=str(SCREENSHOTS / "e2e-revoked.png"), full_page=True)
    page.locator("a[href*='/verify/']").click()
    expect(page.get_by_test_id("portal-state")).to_have_attribute("data-state", "revoked")
    assert errors == []

"""End to end in headless Chromium: a citizen files a complaint, the health station answers
it, the citizen reads the answer on the status page. On the session's demo portal
(tests/e2e/conftest.py), in a province of its own (Thanh Hóa), whose commune complaints it
delegates to the health stations: the demo's province keeps its own routing."""

from __future__ import annotations

import re

import pytest

from portal.areas import services as area_services
from portal.auth.models import Role
from portal.auth.services import create_user
from portal.feedback import routing
from portal.feedback.models import Precision, UnitKind
from tests.e2e.browser import SCREENSHOTS, add_to_demo, console_error, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

STATION = "tram.hamrong.pa"
PASSWORD = "mat-khau-e2e"
PROVINCE = "38"  # Thanh Hóa
OWN = "14758"  # Phường Hàm Rồng
ANSWER = "Trạm đã bổ sung mũi 2 vào hồ sơ của bạn."


def _seed() -> None:
    province = area_services.require_area(PROVINCE)
    own = area_services.require_area(OWN)
    authority = create_user(
        "soyte.thanhhoa.pa", PASSWORD, Role.HEALTH_AUTHORITY, province, "Sở Y tế Thanh Hóa"
    )
    create_user(STATION, PASSWORD, Role.HEALTH_STATION, own, "Trần Thu Hằng")
    # Thanh Hóa delegates commune complaints to its health stations.
    routing.set_rule(Precision.COMMUNE, province, UnitKind.HEALTH_STATION, "Ủy quyền", authority)


@pytest.fixture(scope="module")
def live_server(demo_portal):
    return add_to_demo(demo_portal, _seed)[1]


def test_citizen_form_to_staff_answer_to_status_page(live_server, page, browser):
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: console_error(msg, errors))

    # The citizen, without logging in.
    page.goto(live_server + "/feedback/new")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.fill("input[name=full_name]", "Nguyễn Thị Hoà")
    page.fill("input[name=id_number]", "001190012345")
    page.fill("input[name=birth_date]", "17/05/1990")
    page.fill("input[name=phone]", "0912345678")
    page.select_option("select[name=kind]", "missing_dose")
    # Choosing the province loads its communes (htmx), then the commune is chosen.
    page.select_option("select[name=province]", PROVINCE)
    expect(page.locator(f"select[name=commune] option[value='{OWN}']")).to_have_count(1)
    page.select_option("select[name=commune]", OWN)
    page.fill("textarea[name=description]", "Mũi 2 ngày 17/09/2021 không có trên hệ thống.")
    page.get_by_role("button", name="Gửi phản ánh").click()
    expect(page).to_have_url(re.compile(r"/feedback/received$"))
    code = page.get_by_test_id("tracking-code").inner_text().strip()
    assert re.fullmatch(r"PA[2-9A-Z]{10}", code)

    # The health station answers and resolves it.
    staff = browser.new_context(viewport={"width": 1366, "height": 768})
    desk = staff.new_page()
    log_in(desk, live_server, STATION, PASSWORD)
    desk.get_by_role("link", name="Phản ánh").first.click()
    expect(desk).to_have_url(re.compile(r"/feedback/queue"))
    row = desk.get_by_test_id("queue-row").filter(has_text=code)
    expect(row).to_contain_text("Còn hạn")
    row.get_by_role("link", name=code).click()
    desk.fill("textarea[name=answer]", ANSWER)
    desk.get_by_role("button", name="Gửi trả lời").click()
    expect(desk.get_by_test_id("answer")).to_contain_text(ANSWER)  # after its time
    desk.fill("textarea[name=reason]", "Đã cập nhật hồ sơ.")
    desk.get_by_role("button", name="Đóng phản ánh").click()
    expect(desk.get_by_test_id("status")).to_have_text("Đã giải quyết")
    desk.screenshot(path=str(SCREENSHOTS / "e2e-feedback-staff.png"), full_page=True)
    staff.close()

    # Back on the citizen's side: another browser must give the phone number first.
    citizen = browser.new_context()
    status = citizen.new_page()
    status.goto(f"{live_server}/feedback/{code}")
    expect(status.get_by_test_id("answer")).to_have_count(0)
    status.fill("input[name=phone]", "0900000000")
    status.get_by_role("button", name="Xem tình trạng").click()
    expect(status.get_by_test_id("mismatch")).to_be_visible()
    status.fill("input[name=phone]", "0912 345 678")
    status.get_by_role("button", name="Xem tình trạng").click()
    expect(status.get_by_test_id("status")).to_have_text("Đã giải quyết")
    expect(status.get_by_test_id("answer")).to_contain_text(ANSWER)
    status.screenshot(path=str(SCREENSHOTS / "e2e-feedback-status.png"), full_page=True)
    citizen.close()
    assert not errors, errors


def test_the_attachment_picker_speaks_vietnamese(live_server, page):
    """Issue 13 (wave 2, accessibility): the complaint form's file input showed Chromium's
    English "Choose File / No file chosen" in a Vietnamese page. Now a Vietnamese button
    (a label over the visually hidden input) opens it, the keyboard reaches it, the chosen
    file's name is shown, and axe-core finds nothing."""
    from playwright.sync_api import expect

    from tests.e2e.axe import check_accessibility

    page.goto(live_server + "/feedback/new")
    picker = page.locator("input[type=file][name=attachment]")
    box = picker.bounding_box()
    assert box is None or (box["width"] <= 1 and box["height"] <= 1)  # visually hidden
    button = page.locator("label[for=attachment]")
    expect(button).to_have_text("Chọn tệp…")
    expect(button).to_be_visible()
    expect(page.get_by_test_id("attachment-chosen")).to_have_text("Chưa chọn tệp nào")
    # Its accessible name says what to attach and how (the label in the name: WCAG 2.5.3).
    name = picker.evaluate(
        "e => e.labels.length && "
        "e.getAttribute('aria-labelledby').split(' ')"
        ".map(id => document.getElementById(id).textContent).join(' ')"
    )
    assert "Ảnh chụp" in name and "Chọn tệp" in name
    # The keyboard reaches it from the field before, and its focus shows on the button.
    page.locator("textarea[name=description]").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "attachment"
    outline = button.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid"
    check_accessibility(page, "the complaint form's file picker (focused)")
    picker.set_input_files(
        {
            "name": "giay-chung-nhan.png",
            "mimeType": "image/png",
            "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
        }
    )
    expect(page.get_by_test_id("attachment-chosen")).to_have_text("giay-chung-nhan.png")
    page.screenshot(path=str(SCREENSHOTS / "feedback-attachment.png"), full_page=True)
    check_accessibility(page, "the complaint form with a file chosen")

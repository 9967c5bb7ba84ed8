"""The citizen's journey on a 375 px phone screen, on the session's demo portal: file a
complaint, open its status page with the phone number, the health authority answers, the
citizen reads the answer. axe-core checks every page the citizen sees.

Asserts on what stays while the wording of these pages is being reworked: the form's field
names, the tracking code, the page's headings and the answer text typed here.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.axe import check_accessibility, log_in_as
from tests.e2e.browser import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

PHONE = "0987 654 321"
ANSWER = "Sở Y tế đã bổ sung mũi 2 ngày 17/09/2021 vào hồ sơ của bạn."
PHONE_VIEWPORT = {"width": 375, "height": 740}


def _show_status(page, phone: str) -> None:
    """The status page asks for the phone first (again, after a while); give it if asked."""
    phone_input = page.locator("input[name=phone]")
    if phone_input.count():
        phone_input.fill(phone)
        page.locator("form:has(input[name=phone]) button[type=submit]").click()
    page.get_by_test_id("status").wait_for()


def _fits_the_screen(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"{page.url}: {width} px wide on a 375 px screen"


def test_citizen_files_a_complaint_and_reads_the_answer_on_a_phone(demo_server, browser):
    from playwright.sync_api import expect

    phone = browser.new_context(
        viewport=PHONE_VIEWPORT,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        timezone_id="Asia/Ho_Chi_Minh",
    )
    citizen = phone.new_page()
    errors: list[str] = []
    citizen.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    # The form, in Vietnamese, fits the phone's width.
    citizen.goto(demo_server + "/feedback/new")
    assert citizen.locator("html").get_attribute("lang") == "vi"
    expect(citizen.get_by_role("heading", level=1)).to_be_visible()
    _fits_the_screen(citizen)
    check_accessibility(citizen, "the complaint form")
    citizen.fill("input[name=full_name]", "Đỗ Thị Hạnh")
    citizen.fill("input[name=id_number]", "001185012345")
    citizen.fill("input[name=birth_date]", "14/03/1985")
    citizen.fill("input[name=phone]", PHONE)
    citizen.select_option("select[name=kind]", "missing_dose")
    citizen.select_option("select[name=province]", "01")
    expect(citizen.locator("select[name=commune] option[value='00004']")).to_have_count(1)
    citizen.select_option("select[name=commune]", "00004")
    citizen.fill("textarea[name=description]", "Mũi 2 ngày 17/09/2021 không có trên hệ thống.")
    citizen.locator("form:has(textarea[name=description]) button[type=submit]").click()

    # Received: the tracking code, then its status page.
    expect(citizen).to_have_url(re.compile(r"/feedback/received$"))
    code = citizen.get_by_test_id("tracking-code").inner_text().strip()
    assert re.fullmatch(r"PA[2-9A-Z]{10}", code), code
    _fits_the_screen(citizen)
    check_accessibility(citizen, "the received page")
    citizen.goto(f"{demo_server}/feedback/{code}")
    expect(citizen.get_by_role("heading", level=1)).to_contain_text(code)
    check_accessibility(citizen, "the status page")
    _show_status(citizen, PHONE)
    expect(citizen.get_by_test_id("answer")).not_to_contain_text(ANSWER)
    _fits_the_screen(citizen)
    check_accessibility(citizen, "the status shown")

    # The provincial health authority (a place down to the commune, no site) answers.
    staff = browser.new_context(viewport={"width": 1366, "height": 768})
    desk = staff.new_page()
    log_in_as(desk, demo_server, "authority.ha_noi")
    desk.goto(demo_server + "/feedback/queue")
    row = desk.get_by_test_id("queue-row").filter(has_text=code)
    row.get_by_role("link", name=code).click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text(code)
    check_accessibility(desk, "the complaint, staff side")
    desk.fill("textarea[name=answer]", ANSWER)
    desk.locator("form:has(textarea[name=answer]) button[type=submit]").click()
    expect(desk.get_by_test_id("answer")).to_contain_text(ANSWER)  # after its time
    staff.close()

    # The citizen, on the same phone, reads the answer.
    citizen.goto(f"{demo_server}/feedback/{code}")
    _show_status(citizen, PHONE)
    expect(citizen.get_by_test_id("answer")).to_contain_text(ANSWER)
    _fits_the_screen(citizen)
    check_accessibility(citizen, "the status page with the answer")
    citizen.screenshot(path=str(SCREENSHOTS / "e2e-citizen-answer.png"), full_page=True)
    phone.close()
    assert not errors, errors

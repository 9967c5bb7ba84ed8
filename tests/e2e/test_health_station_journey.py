"""The commune health station's working day in the browser, on the session's demo portal:
receive the police's signed handover list and open its signed document (issue 13, item
14), correct a record inline on the correction list (the name, with a reason), import an
Excel file made from the portal's own template (checked first, then committed), match
again and see the corrected person matched. axe-core checks every page the health station
sees.

The police's part of the day (a decision, a list handed over and signed) is set up through
the services, so this journey does not depend on the police's running first.
"""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import pytest

from tests.e2e.axe import DEMO_PIN, check_accessibility, log_in_as
from tests.e2e.browser import SCREENSHOTS
from tests.e2e.people import BA_DINH, mismatched

pytestmark = [pytest.mark.e2e, pytest.mark.committing]


# Two residents missing from the platform, imported from Excel; ID numbers no one else has.
IMPORTED = [
    ("Lưu Thị Phượng Vỹ", "Nữ", "14/02/1987", "001187654320"),
    ("Khổng Văn Trường Sơn", "Nam", "03/11/1979", "001079654321"),
]


def _police_hands_over(app, person_id: int, correction_id: int) -> int:
    """The police verified one person, handed the list over and signed it; and judged the
    register right for another (the record goes on the correction list)."""
    from portal.auth.models import User
    from portal.extensions import db
    from portal.records.models import Person
    from portal.signing.services import sign_handover
    from portal.worklists import handover
    from portal.worklists.services import ReviewAction, review

    with app.app_context():
        police = db.session.query(User).filter_by(username="police.ba_dinh").one()
        review(
            [db.session.get(Person, person_id)],
            ReviewAction.VERIFIED_IN_PERSON,
            "Đã xem CCCD bản gốc.",
            police,
        )
        review(
            [db.session.get(Person, correction_id)],
            ReviewAction.REGISTER_IS_RIGHT,
            "CCCD ghi tên như CSDL dân cư.",
            police,
        )
        worklist = handover.create_handover(police, [person_id], "Bàn giao cho trạm y tế")
        handover.hand_over(worklist, police)
        sign_handover(police, DEMO_PIN, worklist)
        db.session.commit()
        return worklist.id


def _excel_from_template(template: bytes) -> bytes:
    """The template's header row, two rows of ours: the file a health station would fill."""
    from openpyxl import Workbook, load_workbook

    headers = [c.value for c in load_workbook(io.BytesIO(template)).worksheets[0][1]]
    assert headers[:4] == ["Họ và tên *", "Giới tính *", "Ngày sinh *", "Số CCCD/CMND *"], headers
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for name, sex, born, number in IMPORTED:
        row = dict.fromkeys(headers)
        row.update({headers[0]: name, headers[1]: sex, headers[2]: born, headers[3]: number})
        if "Mã xã/phường" in row:
            row["Mã xã/phường"] = BA_DINH
        sheet.append([row[h] for h in headers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _go(page, href_end: str) -> None:
    """Through the navigation bar."""
    page.get_by_role("navigation").locator(f"a[href$='{href_end}']").first.click()
    page.wait_for_url(re.compile(re.escape(href_end) + r"$"))


def test_health_station_day_receive_correct_import_rematch(demo_portal, page):
    from playwright.sync_api import expect

    app, base = demo_portal
    verified = mismatched(app, sex="different", nth=1)
    wrong_name = mismatched(app, name="typo", nth=0)
    # In a thread of its own: pyHanko signs through asyncio.run, and Playwright's loop runs
    # in this one.
    with ThreadPoolExecutor(1) as pool:
        list_id = pool.submit(_police_hands_over, app, verified.id, wrong_name.id).result()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    log_in_as(page, base, "health.ba_dinh")
    check_accessibility(page, "the health station's first page")

    # The handover list, received.
    _go(page, "/worklists/handover")
    check_accessibility(page, "the handover lists, health station")
    page.locator(f"#main a[href$='/worklists/handover/{list_id}']").first.click()
    page.wait_for_url(re.compile(rf"/worklists/handover/{list_id}$"))
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "handed_over")
    expect(page.locator(f"tr[data-person='{verified.id}']")).to_have_count(1)
    # Issue 13, item 14: the station is given the police's signed document, not only the
    # unsigned frozen PDF.
    expect(page.get_by_test_id("handover-signature")).to_contain_text("Công an")
    signed = page.request.get(
        urljoin(page.url, page.get_by_test_id("signed-pdf").get_attribute("href") or "")
    )
    assert signed.ok and signed.headers["content-type"].startswith("application/pdf")
    assert b"/ByteRange" in signed.body()
    page.locator("button[data-transition=receive]").click()
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "received")
    check_accessibility(page, "the received handover list")
    page.get_by_test_id("handover-signature").get_by_role("link").click()
    page.wait_for_url(re.compile(r"/signing/documents/\d+$"))
    expect(page.get_by_test_id("document-state")).to_have_attribute("data-state", "valid")
    expect(page.locator(f"tr[data-person='{verified.id}']")).to_have_count(1)
    check_accessibility(page, "the signed handover document, health station")

    # The correction list: the name corrected inline, with a reason.
    _go(page, "/worklists/corrections")
    page.locator("#decision-q").fill(wrong_name.id_number or "")
    expect(page).to_have_url(re.compile(r"[?&]q=" + (wrong_name.id_number or "")))
    row = page.locator(f"#row-{wrong_name.id}")
    expect(page.locator("#decision-results tr[data-person]")).to_have_count(1)
    check_accessibility(page, "the correction list")
    # From the keyboard (Playwright's pointer aims at the link's first, empty line box).
    row.locator("a.edit-link[data-field=full_name]").press("Enter")
    page.locator(f"#edit-{wrong_name.id}-full_name").fill(wrong_name.register_name or "")
    page.locator(f"#edit-{wrong_name.id}-reason").fill("Sửa theo CCCD bản gốc")
    check_accessibility(page, "the inline editor")
    page.locator(f"#edit-{wrong_name.id}-reason").press("Enter")
    row = page.locator(f"#row-{wrong_name.id}")
    expect(row.locator("a.edit-link[data-field=full_name]")).to_contain_text(
        wrong_name.register_name or ""
    )
    expect(row.get_by_test_id("save-message")).not_to_be_empty()
    check_accessibility(page, "the correction list after the correction")

    # The Excel import, from the portal's template: checked first, then committed.
    page.goto(base + "/imports")
    check_accessibility(page, "the imports page")
    with page.expect_download() as download:
        page.get_by_test_id("template-link").click()
    template = download.value.path().read_bytes()
    page.locator("input[name=file]").set_input_files(
        files=[
            {
                "name": "bo-sung-phuong-ba-dinh.xlsx",
                "buffer": _excel_from_template(template),
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            }
        ]
    )
    page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/imports/\d+$"))
    commit = page.get_by_test_id("commit")
    expect(commit).to_be_visible()
    expect(page.get_by_test_id("persons-created")).to_have_count(0)  # nothing written yet
    check_accessibility(page, "the import checked (dry run)")
    commit.click()
    expect(page.get_by_test_id("persons-created")).to_have_text(str(len(IMPORTED)))
    check_accessibility(page, "the import committed")
    page.screenshot(path=str(SCREENSHOTS / "e2e-health-import.png"), full_page=True)
    page.goto(base + "/records?q=" + IMPORTED[0][3])
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody tr")).to_contain_text(IMPORTED[0][0])

    # Matched again: the corrected person now agrees with the population database.
    _go(page, "/records")
    page.get_by_test_id("match-form").locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    expect(page.get_by_test_id("match-result")).to_be_visible()
    check_accessibility(page, "the matching job, health station")
    page.goto(f"{base}/records/{wrong_name.id}")
    expect(page.locator(f"#status-{wrong_name.id}")).to_have_class(re.compile(r"status-matched"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(wrong_name.register_name or "")
    check_accessibility(page, "the corrected record")
    page.screenshot(path=str(SCREENSHOTS / "e2e-health-corrected.png"), full_page=True)
    assert not errors, errors

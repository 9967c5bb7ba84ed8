"""End to end in headless Chromium: log in, search without diacritics, open a record.

The real app is served by werkzeug in a background thread (the session's demo portal,
tests/e2e/conftest.py), with committed data, so the browser's requests (other threads, other
connections) see it; this module adds its own ward to it, in Hải Phòng, which the demo does
not populate. The per-test rollback of tests/conftest.py cannot serve that: this module
marks itself ``committing``, and the folder's conftest.py replaces the autouse ``_rollback``
fixture, so the suite's session ``app`` (and, under DATABASE_URL, its PostgreSQL wipe) is
never set up for it. The browser and its pages are the folder's fixtures (conftest.py).

Without Chromium the test is skipped, unless REQUIRE_BROWSER=1 (CI), which makes it fail.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from portal.areas import services as area_services
from portal.areas.models import SiteLevel
from portal.auth.models import Role
from portal.auth.services import create_user
from portal.core.text import fold, norm
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import BirthPrecision, Sex
from portal.registry.adapter import latest_extract_id
from portal.registry.models import RegisterEntry
from tests.e2e.browser import SCREENSHOTS, add_to_demo, console_error, is_favicon, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

USERNAME = "tram.thanhdong"
POLICE = "congan.thanhdong"
PASSWORD = "mat-khau-e2e"
OWN = "10510"  # Phường Thành Đông, Hải Phòng
OTHER_PROVINCE = "01273"  # Phường Thục Phán, Cao Bằng
HOA = "Nguyễn Thị Hoà"
HOA_ID = "096190012345"
BINH = "Trần Văn Bình"


def _seed() -> None:
    area = area_services.area_by_code
    own = area(OWN)
    site = area_services.add_site(
        "E2E-TD-01", "Trạm Y tế phường Thành Đông", own, SiteLevel.COMMUNE
    )
    create_user(USERNAME, PASSWORD, Role.HEALTH_STATION, own, "Trần Thu Hằng")

    def person(name, sex, born, id_number, commune=own):
        return record_services.create_person(
            {
                "full_name": name,
                "sex": sex,
                "birth_date": born,
                "birth_precision": BirthPrecision.DAY,
                "id_number": id_number,
                "commune_id": commune.id,
                "address": "Số 12 ngõ 34 phố Chi Lăng",
            },
            reason="e2e fixture",
        )

    hoa = person(HOA, Sex.FEMALE, date(1990, 5, 17), HOA_ID)
    for n, (vaccine, lot, day) in enumerate(
        [("Comirnaty", "FK1234", date(2021, 8, 20)), ("Comirnaty", "FK5678", date(2021, 9, 17))],
        start=1,
    ):
        record_services.add_dose(
            hoa,
            {
                "dose_number": n,
                "vaccine": vaccine,
                "lot": lot,
                "vaccinated_on": day,
                "site_id": site.id,
            },
        )
    binh = person(BINH, Sex.MALE, date(1978, 2, 3), "096078004321")
    person("Lê Thị Mai", Sex.FEMALE, date(2001, 11, 30), None)
    person("Phạm Đức Hoà", Sex.MALE, date(1965, 7, 1), "096065000777")
    # Same name, another province: outside the health station's scope.
    person(HOA, Sex.FEMALE, date(1992, 1, 1), "004192099999", commune=area(OTHER_PROVINCE))

    # The police of the ward, and their entries in the register (the demo's extract, the
    # latest: a new one would make every demo person due for matching again): Hoà is written
    # Hòa there (the tone mark on the other vowel), Bình's birth date differs, Phạm Đức Hoà
    # matches.
    create_user(POLICE, PASSWORD, Role.POLICE, own, "Đại úy Lê Văn Tâm")
    extract_id = latest_extract_id()
    for number, name, sex, born in [
        (HOA_ID, "Nguyễn Thị Hòa", "female", date(1990, 5, 17)),
        (binh.id_number, "Trần Văn Bình", "male", date(1978, 3, 2)),
        ("096065000777", "Phạm Đức Hoà", "male", date(1965, 7, 1)),
    ]:
        db.session.add(
            RegisterEntry(
                id_number=number,
                full_name=name,
                name_norm=norm(name),
                name_folded=fold(name),
                sex=sex,
                birth_date=born,
                birth_precision="day",
                extract_id=extract_id,
            )
        )
    db.session.commit()


# The running app, for tests that change data behind the browser's back.
SERVER: dict = {}


@pytest.fixture(scope="module")
def live_server(demo_portal):
    SERVER["app"], url = add_to_demo(demo_portal, _seed)
    return url


def test_log_in_search_without_diacritics_and_open_a_record(live_server, page):
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: console_error(msg, errors))
    page.on(
        "response",
        lambda r: (
            errors.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 and not is_favicon(r.url)
            else None
        ),
    )

    # Log in.
    log_in(page, live_server, USERNAME, PASSWORD)

    # The record list of the user's commune.
    expect(page).to_have_url(re.compile(r"/records$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    results = page.locator("#results")
    expect(results.get_by_role("link", name="Trần Văn Bình")).to_be_visible()
    expect(results.locator("tbody tr")).to_have_count(4)
    expect(page.get_by_test_id("whoami")).to_contain_text("Trần Thu Hằng")

    # Active search, typed without diacritics: htmx swaps #results, no page load.
    page.evaluate("window.__samePage = true; document.getElementById('results').dataset.old = '1'")
    page.locator("#q").fill("nguyen thi hoa")
    expect(page.locator("#results:not([data-old])")).to_have_count(1)
    expect(results.get_by_role("link", name=HOA)).to_be_visible()
    expect(results.get_by_role("link", name="Trần Văn Bình")).to_have_count(0)
    expect(results.get_by_text("Phạm Đức Hoà")).to_have_count(0)
    rows = results.locator("tbody tr")
    expect(rows).to_have_count(1)  # the namesake in Cao Bằng is out of scope
    expect(rows.first).to_contain_text(HOA_ID)
    expect(page).to_have_url(re.compile(r"/records\?(.*&)?q=nguyen(\+|%20)thi(\+|%20)hoa(&|$)"))
    assert page.evaluate("window.__samePage === true"), "the search reloaded the whole page"
    page.screenshot(path=str(SCREENSHOTS / "e2e-records.png"), full_page=True)

    # Open the record.
    results.get_by_role("link", name=HOA).click()
    expect(page).to_have_url(re.compile(r"/records/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(HOA)
    id_number = page.locator("dt", has_text=re.compile("^(ID number|Số định danh)")).locator(
        "xpath=following-sibling::dd[1]"
    )
    expect(id_number).to_contain_text(HOA_ID)
    history_title = re.compile("Record history|Lịch sử", re.IGNORECASE)
    expect(page.get_by_role("heading", name=history_title)).to_be_visible()
    history = page.get_by_test_id("history")
    expect(history.locator("tbody tr").first).to_be_visible()
    expect(page.get_by_role("cell", name="FK1234", exact=True)).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "vi"
    page.screenshot(path=str(SCREENSHOTS / "e2e-detail.png"), full_page=True)

    assert errors == [], errors


def test_police_match_review_and_verify_in_the_browser(live_server, page):
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: console_error(msg, errors))

    log_in(page, live_server, POLICE, PASSWORD)
    expect(page).to_have_url(re.compile(r"/records$"))

    # Start matching; the job page shows its progress bar at 100 % when done.
    page.get_by_role("link", name=re.compile("Xác minh danh tính")).click()
    page.get_by_test_id("match-form").get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("match-result")).to_be_visible()
    page.get_by_role("link", name="Mở danh sách xác minh").click()

    # Record and register side by side, the differing characters marked.
    expect(page).to_have_url(re.compile(r"/worklists/review$"))
    rows = page.locator("#review-results tbody tr[data-person]")
    expect(rows).to_have_count(2)
    hoa = rows.filter(has_text=HOA)
    expect(hoa.locator("mark").first).to_be_visible()
    expect(hoa).to_contain_text("Nguyễn Thị Hòa")
    expect(hoa).to_contain_text("chỉ khác dấu")

    # Filter by kind of difference (htmx swaps the list).
    page.select_option("#difference", "birth")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Trần Văn Bình")
    expect(rows.first).to_contain_text("đảo ngày và tháng")
    page.screenshot(path=str(SCREENSHOTS / "e2e-review.png"), full_page=True)

    # A decision needs a note; with it, the person leaves the list.
    page.select_option("#difference", "")
    expect(rows).to_have_count(2)
    hoa.locator("input[name=person_ids]").check()
    page.select_option("select[name=action]", "verified_in_person")
    page.get_by_role("button", name=re.compile("Áp dụng")).click()
    # The browser itself holds the form back (the server says so too without JavaScript).
    expect(page.locator("textarea[name=note]:invalid")).to_have_count(1)
    expect(rows).to_have_count(2)
    expect(hoa.locator("input[name=person_ids]")).to_be_checked()
    page.fill("textarea[name=note]", "Đã xem CCCD bản gốc, tên đúng là Hoà")
    page.get_by_role("button", name=re.compile("Áp dụng")).click()
    expect(page.locator("#review-results .alert-success")).to_be_visible()
    expect(rows).to_have_count(1)
    expect(rows.first).not_to_contain_text(HOA)

    assert errors == [], errors


def test_police_choose_the_decision_first_and_it_is_the_one_stored(live_server, page):
    """Issue 13, item 2: the decision chosen first, then the rows ticked and the note
    written: the decision saved is the one chosen (the drop-down does not re-run the
    search), and the decided row leaves the list "to decide"."""
    import sqlalchemy as sa
    from playwright.sync_api import expect

    from portal.records.models import Person
    from portal.registry.matching import match_commune
    from portal.worklists.models import Worklist, WorklistKind, WorklistMember

    with SERVER["app"].app_context():
        match_commune(area_services.area_by_code(OWN))
        db.session.commit()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: console_error(msg, errors))
    log_in(page, live_server, POLICE, PASSWORD)
    expect(page).to_have_url(re.compile(r"/records$"))
    page.goto(live_server + "/worklists/review")
    rows = page.locator("#review-results tbody tr[data-person]")
    binh = rows.filter(has_text="Trần Văn Bình")
    expect(binh).to_have_count(1)
    page.evaluate("document.getElementById('review-results').dataset.old = '1'")

    decision = page.locator("select[name=action]")
    expect(decision).to_have_value("")  # no decision is pre-chosen
    decision.select_option("record_is_right")
    page.wait_for_timeout(500)  # time for a search the change would (wrongly) start
    expect(page.locator("#review-results[data-old]")).to_have_count(1)
    expect(decision).to_have_value("record_is_right")
    binh.locator("input[name=person_ids]").check()
    page.fill("textarea[name=note]", "Giấy khai sinh ghi 03/02/1978: hồ sơ đúng")
    expect(decision).to_have_value("record_is_right")
    page.get_by_role("button", name=re.compile("Áp dụng")).click()
    expect(page.locator("#review-results .alert-success")).to_be_visible()
    expect(rows.filter(has_text="Trần Văn Bình")).to_have_count(0)

    with SERVER["app"].app_context():
        person_id = db.session.scalar(
            sa.select(Person.id).where(
                Person.full_name == BINH,
                Person.commune_id == area_services.area_by_code(OWN).id,
            )
        )
        kinds = db.session.scalars(
            sa.select(Worklist.kind)
            .join(WorklistMember)
            .where(WorklistMember.person_id == person_id)
        ).all()
        assert kinds == [WorklistKind.REGISTER_UPDATE]

    # Listed under "decided", with the decision.
    page.select_option("#decided", "decided")
    expect(rows.filter(has_text="Trần Văn Bình").get_by_test_id("decision")).to_contain_text(
        "Bản ghi tiêm chủng đúng"
    )
    page.screenshot(path=str(SCREENSHOTS / "e2e-review-decided.png"), full_page=True)
    assert errors == [], errors


def test_dashboard_renders_and_refreshes_in_place(live_server, page):
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: console_error(msg, errors))
    # The page's clock is the test's: 30 seconds pass when the test says so.
    page.clock.install()
    log_in(page, live_server, USERNAME, PASSWORD)
    expect(page).to_have_url(re.compile(r"/records$"))

    page.get_by_role("link", name="Bảng điều hành").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bảng điều hành")
    total = page.get_by_test_id("total")
    before = int(total.inner_text().replace(".", ""))
    assert before >= 4
    expect(page.get_by_test_id("status-table")).to_contain_text("Chưa xác thực")
    page.evaluate("window.__notReloaded = true")

    # Someone records a new person meanwhile; half a minute later the figure has changed.
    with SERVER["app"].app_context():
        record_services.create_person(
            {
                "full_name": "Đỗ Minh Khang",
                "sex": Sex.MALE,
                "birth_date": date(2000, 1, 1),
                "birth_precision": BirthPrecision.DAY,
                "id_number": None,
                "commune_id": area_services.area_by_code(OWN).id,
            },
            reason="e2e: dashboard refresh",
        )
        db.session.commit()
    expect(total).to_have_text(str(before), timeout=2000)  # nothing moves before 30 s
    page.clock.run_for(31_000)
    expect(total).to_have_text(str(before + 1))
    assert page.evaluate("window.__notReloaded") is True, "the page reloaded"
    assert not errors, errors


def test_health_station_corrects_a_record_inline_with_the_keyboard_only(live_server, page):
    """Click-free: Enter opens and saves, Esc cancels, Tab moves on, the focus comes back."""
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: console_error(msg, errors))

    page.goto(live_server + "/login")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    # The one expected refusal below (a name changed without a reason) answers 422, which
    # Chromium logs as a failed resource; any other error still counts.
    expected_refusal = re.compile(r"status of 422 .*/records/\d+/correct/full_name")
    expect(page).to_have_url(re.compile(r"/records$"))
    page.locator("#results").get_by_role("link", name="Trần Văn Bình").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/records/\d+$"))
    keys = page.keyboard

    # The phone: Enter opens the editor with the input focused; dots are tidied on save.
    phone = page.locator("a[data-field=phone]")
    phone.focus()  # the one programmatic step: in place of Tab-Tab-… through the menu
    keys.press("Enter")
    phone_input = page.locator("input[name=phone]")
    expect(phone_input).to_be_focused()
    keys.type("091.234.5678")
    keys.press("Enter")
    expect(phone).to_contain_text("0912345678")
    expect(phone).to_be_focused()
    expect(page.get_by_test_id("save-message")).not_to_be_empty()

    # Esc cancels: nothing saved, the focus back on the field.
    keys.press("Enter")
    expect(phone_input).to_be_focused()
    keys.press("Control+A")
    keys.type("0000")
    keys.press("Escape")
    expect(phone_input).to_have_count(0)
    expect(phone).to_contain_text("0912345678")
    expect(phone).to_be_focused()

    # The name is identity: without a reason the error stands beside the field, the focus
    # on the reason; Tab moves on from it to Save.
    name = page.locator("a[data-field=full_name]")
    name.focus()
    keys.press("Enter")
    expect(page.locator("input[name=full_name]")).to_be_focused()
    keys.press("Control+A")
    keys.type("Trần Văn Bính")
    keys.press("Enter")
    reason = page.locator("input[name=reason]")
    expect(reason).to_be_focused()
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".invalid-feedback")).to_contain_text("lý do")
    keys.press("Tab")
    expect(page.get_by_role("button", name="Lưu", exact=True)).to_be_focused()
    keys.press("Shift+Tab")
    keys.type("Đã xem CCCD bản gốc")
    keys.press("Enter")
    expect(name).to_contain_text("Trần Văn Bính")
    expect(name).to_be_focused()
    history = page.get_by_test_id("history")
    expect(history.locator("tbody tr").first).to_contain_text("Đã xem CCCD bản gốc")
    expect(history.locator("tbody tr").first).to_contain_text("Trạm Y tế xã/phường")
    # Checked again at once: the name now differs from the register.
    expect(page.get_by_test_id("status")).to_have_text("Sai lệch với CSDL dân cư")

    # The register's value, in one keystroke each: the name, then the birth date (day and
    # month were swapped in the record).
    use_name = page.get_by_test_id("use-register-full_name")
    expect(use_name).to_contain_text("Trần Văn Bình")
    use_name.focus()
    keys.press("Enter")
    expect(name).to_contain_text("Trần Văn Bình")
    use_birth = page.get_by_test_id("use-register-birth_date")
    expect(use_birth).to_contain_text("02/03/1978")
    use_birth.focus()
    keys.press("Enter")
    expect(page.locator("a[data-field=birth_date]")).to_contain_text("02/03/1978")
    expect(page.get_by_test_id("status")).to_have_text("Khớp CSDL dân cư")
    expect(history.get_by_test_id("from-register").first).to_be_visible()

    # A drop-down list saves on Enter too (the sex: no reason given, so it is asked for).
    sex = page.locator("a[data-field=sex]")
    sex.focus()
    keys.press("Enter")
    expect(page.locator("select[name=sex]")).to_be_focused()
    keys.press("Enter")
    expect(sex).to_be_focused()  # unchanged, so no reason was needed
    page.screenshot(path=str(SCREENSHOTS / "e2e-correction.png"), full_page=True)

    unexpected = [e for e in errors if not expected_refusal.search(e)]
    assert len(errors) - len(unexpected) == 1
    assert unexpected == [], unexpected

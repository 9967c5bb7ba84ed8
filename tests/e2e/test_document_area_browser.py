"""Issue 14, item 2 in headless Chromium: a province-level site in Thành Vinh signs the
day's list of residents of three wards (Thành Vinh, Trường Vinh, Vinh Phú) through its sign
dialog. Thành Vinh's police then read the list reduced to their resident, told how many are
left out and why the signed PDF is not offered; Trường Vinh's health station reaches it from
its resident's record (before: 404); Nghệ An's health authority sees it whole and downloads
it. axe-core checks the pages.

On the session's demo portal (tests/e2e/conftest.py), in a province of its own (Nghệ An):
signing a province site's day confirms persons, and the demo's journeys pick theirs by
status in Hà Nội. The certificate comes from the demo's certificate authority.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urljoin

import pytest

from portal.areas import services as area_services
from portal.areas.models import SiteLevel
from portal.auth.models import Role
from portal.auth.services import create_user
from portal.records import services as record_services
from portal.records.models import BirthPrecision, PersonStatus, Sex
from portal.signing import pki, services
from portal.signing.demo import ensure_pki
from tests.e2e.axe import check_accessibility
from tests.e2e.browser import SCREENSHOTS, add_to_demo, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

PASSWORD = "mat-khau-e2e-dia-ban"
PIN = "975310"
DAY = date(2021, 10, 4)
PROVINCE = "40"  # Nghệ An
THANH_VINH, TRUONG_VINH, VINH_PHU = "16681", "16690", "16702"
RESIDENTS = {THANH_VINH: "Lê Văn Ấn", TRUONG_VINH: "Trần Thị Bích", VINH_PHU: "Phạm Văn Cường"}
ACCOUNTS = {
    "site": "cdc.nghean",
    "police": "congan.thanhvinh",
    "station": "tramyte.truongvinh",
    "authority": "soyte.nghean",
}


def _seed() -> None:
    ca, _made = ensure_pki()  # the demo's, made by ``flask demo``
    thanh_vinh = area_services.area_by_code(THANH_VINH)
    site = area_services.add_site(
        "CDC-NA", "Trung tâm Kiểm soát bệnh tật Nghệ An", thanh_vinh, SiteLevel.PROVINCE
    )
    head = create_user(
        ACCOUNTS["site"],
        PASSWORD,
        Role.VACCINATION_SITE,
        thanh_vinh,
        "Điểm tiêm CDC Nghệ An",
        site=site,
    )
    issued = pki.issue(ca, "Điểm tiêm CDC Nghệ An", title="Thủ trưởng", unit=site.name)
    services.add_pkcs12_credential(
        head, pki.to_pkcs12(issued, ca, PIN), PIN, "Thủ trưởng", site.name, demo=True
    )
    create_user(ACCOUNTS["police"], PASSWORD, Role.POLICE, thanh_vinh, "Công an Phường Thành Vinh")
    create_user(
        ACCOUNTS["station"],
        PASSWORD,
        Role.HEALTH_STATION,
        area_services.area_by_code(TRUONG_VINH),
        "Trạm Y tế Phường Trường Vinh",
    )
    create_user(
        ACCOUNTS["authority"],
        PASSWORD,
        Role.HEALTH_AUTHORITY,
        area_services.area_by_code(PROVINCE),
        "Sở Y tế Nghệ An",
    )
    for n, (code, name) in enumerate(RESIDENTS.items()):
        person = record_services.create_person(
            {
                "full_name": name,
                "sex": Sex.MALE,
                "birth_date": date(1980, 1, 2 + n),
                "birth_precision": BirthPrecision.DAY,
                "id_number": f"03708000010{n}",
                "commune_id": area_services.area_by_code(code).id,
                "status": PersonStatus.MATCHED,
            },
            reason="e2e fixture",
        )
        record_services.add_dose(
            person,
            {
                "dose_number": 1,
                "vaccine": "Pfizer",
                "lot": "FB2",
                "vaccinated_on": DAY,
                "site_id": site.id,
            },
        )


@pytest.fixture(scope="module")
def live_server(demo_portal):
    return add_to_demo(demo_portal, _seed)[1]


def _rows(page) -> list[str]:
    return [
        row.locator("td").nth(1).inner_text()
        for row in page.locator("table.table-records tbody tr").all()
    ]


def test_each_area_reads_the_province_sites_list_as_its_own(live_server, browser):
    from playwright.sync_api import expect

    def as_user(who: str):
        context = browser.new_context(
            viewport={"width": 1366, "height": 768}, timezone_id="Asia/Ho_Chi_Minh"
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        log_in(page, live_server, ACCOUNTS[who], PASSWORD)
        return page, errors

    # The site signs the day's list: three wards' residents.
    page, errors = as_user("site")
    page.goto(f"{live_server}/signing?day={DAY.isoformat()}")
    expect(page.locator("#signing-results tbody tr")).to_have_count(3)
    page.get_by_test_id("open-sign-dialog").click()
    page.locator("#sign-dialog input[name=pin]").fill(PIN)
    page.get_by_test_id("sign-submit").click()
    expect(page.get_by_test_id("signed")).to_be_visible(timeout=20_000)
    page.get_by_test_id("signed").locator("a[href*='/signing/documents/']").click()
    page.wait_for_url(re.compile(r"/signing/documents/\d+$"))
    document_url = page.url
    assert sorted(_rows(page)) == sorted(RESIDENTS.values())  # the site sees its list whole
    assert errors == []

    # Thành Vinh's police: their resident only, the two others counted, no PDF.
    page, errors = as_user("police")
    page.goto(document_url)
    assert _rows(page) == [RESIDENTS[THANH_VINH]]
    note = page.get_by_test_id("document-reduced")
    expect(note).to_contain_text("2 người ngoài địa bàn của bạn không được hiển thị")
    expect(note).to_contain_text("Bạn không tải được tệp đã ký")
    expect(page.locator("a[href$='/file']")).to_have_count(0)
    expect(page.locator("a[href*='/verify/']")).to_have_count(0)
    check_accessibility(page, "the daily list, reduced to the police's ward")
    page.screenshot(path=str(SCREENSHOTS / "e2e-document-reduced.png"), full_page=True)
    refused = page.goto(document_url + "/file")
    assert refused is not None and refused.status == 403
    expect(page.locator("main")).to_contain_text("ngoài địa bàn của bạn")
    assert errors == []

    # Trường Vinh's health station: from its resident's record to the list, reduced to them.
    page, errors = as_user("station")
    page.goto(live_server + "/records")
    page.get_by_role("link", name=RESIDENTS[TRUONG_VINH]).first.click()
    page.wait_for_url(re.compile(r"/records/\d+$"))
    page.get_by_test_id("person-documents").get_by_role("link").first.click()
    expect(page).to_have_url(document_url)
    assert _rows(page) == [RESIDENTS[TRUONG_VINH]]
    expect(page.get_by_test_id("document-reduced")).to_be_visible()
    check_accessibility(page, "the daily list, reduced to the station's ward")
    assert errors == []

    # Nghệ An's health authority: everyone, and the signed PDF.
    page, errors = as_user("authority")
    page.goto(document_url)
    assert sorted(_rows(page)) == sorted(RESIDENTS.values())
    expect(page.get_by_test_id("document-reduced")).to_have_count(0)
    pdf = page.request.get(
        urljoin(page.url, page.locator("a[href$='/file']").get_attribute("href") or "")
    )
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")
    page.screenshot(path=str(SCREENSHOTS / "e2e-document-whole.png"), full_page=True)
    assert errors == []

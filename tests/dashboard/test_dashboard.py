"""The dashboard's figures, scope, drill-down links, refresh fragment, deadlines and exports."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from portal.auth.models import Role
from portal.core.clock import local_midnight_utc, today_in_vietnam
from portal.dashboard import queries, routes, services
from portal.dashboard.models import DailyTally, Target, TargetMetric
from portal.extensions import db
from portal.records.models import Person, PersonStatus
from tests.conftest import HANOI, NEIGHBOUR, OTHER_PROVINCE, OWN, csrf_token


def _set_status(person, status):
    db.session.execute(sa.update(Person).where(Person.id == person.id).values(status=status))
    db.session.commit()


@pytest.fixture
def population(make_person):
    """Own commune: 2 matched, 1 mismatch, 1 missing ID; neighbour: 1 confirmed;
    another province: 3 matched (never counted for Hà Nội users)."""
    people = {}
    for i, status in enumerate(
        [PersonStatus.MATCHED, PersonStatus.MATCHED, PersonStatus.MISMATCH, PersonStatus.MISSING_ID]
    ):
        p = make_person(full_name=f"Nguyễn Văn Số {i}", id_number=None)
        _set_status(p, status)
        people.setdefault(OWN, []).append(p)
    p = make_person(full_name="Trần Thị Lan", commune_code=NEIGHBOUR, id_number=None)
    _set_status(p, PersonStatus.CONFIRMED)
    for i in range(3):
        p = make_person(full_name=f"Hoàng Văn Xa {i}", commune_code=OTHER_PROVINCE, id_number=None)
        _set_status(p, PersonStatus.MATCHED)
    return people


def _testid(html: str, testid: str) -> str:
    """The text of the element, or of the link it holds (a figure opens its records)."""
    match = re.search(rf'data-testid="{testid}"[^>]*>(?:<a [^>]*>)?([^<]*)<', html)
    assert match, testid
    return match.group(1).strip()


def _independent_counts(scope) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(Person.status, sa.func.count()).where(scope).group_by(Person.status)
    )
    return {str(getattr(s, "value", s)): n for s, n in rows}


def test_commune_figures_equal_independent_counts(client, login_as, population, area):
    login_as(Role.HEALTH_STATION, OWN)
    html = client.get("/dashboard").get_data(as_text=True)
    counts = _independent_counts(Person.commune_id == area(OWN).id)
    assert _testid(html, "total") == str(sum(counts.values())) == "4"
    assert _testid(html, "share-cleaned") == "50,0%"  # 2 matched of 4
    assert _testid(html, "share-matched") == "50,0%"
    assert _testid(html, "uncorrected") == "2"
    for status, n in counts.items():
        row = re.search(rf'data-status="{status}".*?</tr>', html, re.S).group(0)
        assert f">{n}</a>" in row


def test_province_drilldown_rows_and_scope(client, login_as, population, area):
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    html = client.get("/dashboard").get_data(as_text=True)
    assert _testid(html, "total") == "5"  # Cao Bằng's three are not Hà Nội's
    own_row = re.search(rf'data-area="{OWN}".*?</tr>', html, re.S).group(0)
    assert "50,0%" in own_row
    # Worst first: the own commune (50 % cleaned) above the neighbour (100 %).
    assert html.index(f'data-area="{OWN}"') < html.index(f'data-area="{NEIGHBOUR}"')
    # Drill into a commune, then a province outside scope is not found.
    inner = client.get(f"/dashboard?area={NEIGHBOUR}").get_data(as_text=True)
    assert _testid(inner, "total") == "1"
    assert client.get(f"/dashboard?area={OTHER_PROVINCE}").status_code == 404
    assert client.get("/dashboard?area=04").status_code == 404


@pytest.mark.parametrize("role", [Role.HEALTH_STATION, Role.POLICE, Role.COMMITTEE])
def test_commune_user_never_sees_another_commune(client, login_as, population, role):
    login_as(role, OWN)
    assert client.get(f"/dashboard?area={NEIGHBOUR}").status_code == 404
    assert client.get(f"/dashboard/export.xlsx?area={NEIGHBOUR}").status_code == 404
    response = client.get("/dashboard/export.csv")
    text = response.get_data(as_text=True)
    assert "Trần Thị Lan" not in text and NEIGHBOUR not in text


def test_drilldown_links_lead_to_lists_with_the_same_totals(client, login_as, population):
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    html = client.get("/dashboard").get_data(as_text=True)
    own_row = re.search(rf'data-area="{OWN}".*?</tr>', html, re.S).group(0)
    links = re.findall(r'href="(/records\?[^"]+)">(\d+)</a>', own_row)
    assert len(links) == 1 + len(PersonStatus)
    for href, n in links:
        listing = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
        shown = _testid(listing, "result-count")
        assert shown.split()[0] == n, href


def _number(text: str) -> int:
    return int(text.replace(".", ""))


def _percent_of(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}".replace(".", ",") + "%"


def _records_links(html: str) -> list[tuple[str, str]]:
    return [
        (href.replace("&amp;", "&"), text)
        for href, text in re.findall(r'href="(/records\?[^"]*)">([^<]+)</a>', html)
    ]


def _listed(client, href: str) -> int:
    return _number(_testid(client.get(href).get_data(as_text=True), "result-count").split()[0])


@pytest.mark.parametrize(
    "role, place", [(Role.HEALTH_AUTHORITY, HANOI), (Role.HEALTH_STATION, OWN)]
)
def test_every_figure_opens_the_records_it_counts(client, login_as, population, area, role, place):
    """Issue 13, smaller ones (wave 2): "not every number links to its records". The cards
    (persons, every share, to correct), the status table's shares, the communes' shares and
    a deadline's done figures each open the record list, and the list holds exactly the
    records counted: a count equals the list's total, a share the list's total over the
    row's persons."""
    services.create_target(area(HANOI), TargetMetric.CLEANED, date(2099, 4, 30), "Làm sạch")
    services.create_target(area(HANOI), TargetMetric.CONFIRMED, date(2099, 4, 30), "Ký hết")
    db.session.commit()
    login_as(role, place)
    html = client.get("/dashboard").get_data(as_text=True)
    for testid in (
        "total",
        "share-cleaned",
        "share-matched",
        "share-verified",
        "share-confirmed",
        "uncorrected",
    ):
        assert re.search(rf'data-testid="{testid}"[^>]*><a href="/records\?', html), testid
    status_rows = re.findall(r'<tr data-status="[^"]+">.*?</tr>', html, re.S)
    assert status_rows and all(
        len(_records_links(row)) == 2 for row in status_rows if "—" not in row
    )
    deadlines = re.findall(r'data-testid="deadline-done">(.*?)</td>', html, re.S)
    assert len(deadlines) == 2 and all(len(_records_links(cell)) == 3 for cell in deadlines)

    totals: dict[str, int] = {}
    links = _records_links(html)
    for href, text in links:
        if "%" not in text:
            assert _listed(client, href) == _number(text), href
            if "status=" in href and href.endswith("status="):
                totals[href.split("status=")[0]] = _number(text)
    shares = [(href, text) for href, text in links if "%" in text]
    assert len(shares) >= 6
    for href, text in shares:
        total = totals[href.split("status=")[0]]
        assert _percent_of(_listed(client, href), total) == text.replace("\xa0", ""), href
    if role == Role.HEALTH_STATION:
        assert all(f"commune={OWN}" in href for href, _text in links)


def test_a_sites_records_to_correct_open_from_the_accountability_table(
    client, login_as, make_person, make_site
):
    """Issue 13, smaller ones (wave 2): the accountability table's "persons to correct"
    opens those persons (the list's "to correct" group at that site)."""
    from portal.records import services as record_services

    site = make_site(OWN, name="Trạm Y tế Ba Đình")
    for i, status in enumerate(
        [PersonStatus.MISSING_ID, PersonStatus.MISMATCH, PersonStatus.MATCHED]
    ):
        person = make_person(full_name=f"Đỗ Văn Sửa {i}", id_number=None)
        _set_status(person, status)
        record_services.add_dose(
            person,
            {
                "dose_number": 1,
                "vaccine": "Abdala",
                "vaccinated_on": date(2021, 9, 1),
                "site_id": site.id,
            },
        )
    db.session.commit()
    login_as(Role.HEALTH_STATION, OWN)
    html = client.get("/dashboard?sites=1").get_data(as_text=True)
    table = html[html.rindex("<table") :]  # the sites with records left to correct
    links = _records_links(table)
    assert links == [(f"/records?commune={OWN}&site={site.code}&status=to_correct", "2")]
    assert _listed(client, links[0][0]) == 2


def test_refresh_returns_the_figures_fragment_only(client, login_as, population):
    login_as(Role.HEALTH_STATION, OWN)
    page = client.get("/dashboard")
    assert 'hx-trigger="every 30s"' in page.get_data(as_text=True)
    fragment = client.get("/dashboard", headers={"HX-Request": "true", "HX-Target": "figures"})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="figures"')
    assert "<html" not in body and "HX-Request" in fragment.headers["Vary"]
    lazy = client.get("/dashboard", headers={"HX-Request": "true", "HX-Target": "accountability"})
    assert lazy.get_data(as_text=True).lstrip().startswith('<div id="accountability"')


def test_accountability_names_site_heads(client, login_as, make_person, make_site, make_user):
    from portal.records import services as record_services

    site = make_site(OWN, name="Trạm Y tế Ba Đình")
    make_user(Role.VACCINATION_SITE, OWN, site=site, display_name="BS. Lê Thị Mai")
    person = make_person(id_number=None)
    _set_status(person, PersonStatus.MISSING_ID)
    record_services.add_dose(
        person,
        {
            "dose_number": 1,
            "vaccine": "Abdala",
            "vaccinated_on": date(2021, 9, 1),
            "site_id": site.id,
        },
    )
    db.session.commit()
    login_as(Role.HEALTH_STATION, OWN)
    html = client.get("/dashboard?sites=1").get_data(as_text=True)
    block = html[html.index('data-testid="accountability"') :]
    assert "Trạm Y tế Ba Đình" in block and "BS. Lê Thị Mai" in block
    assert re.search(r">1(?:</a>)?</td></tr>", block)  # the count opens its records


def test_export_xlsx_has_rows_and_total(client, login_as, population):
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    response = client.get("/dashboard/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code[OWN][2] == 4 and by_code[NEIGHBOUR][2] == 1
    assert rows[-1][2] == 5  # the total row


def test_export_of_an_empty_area_is_well_formed(client, login_as):
    login_as(Role.HEALTH_STATION, OWN)
    sheet = load_workbook(io.BytesIO(client.get("/dashboard/export.xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    # A commune's export lists its sites, with their doses before the persons (as on screen).
    assert rows[0][1] and rows[-1][rows[0].index("Đối tượng")] == 0


# Deadlines ----------------------------------------------------------------------------


def _post_target(client, **data):
    token = csrf_token(client, "/dashboard/targets")
    return client.post("/dashboard/targets", data={"csrf_token": token, **data})


def test_target_rules(client, login_as):
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    past = _post_target(client, title="Làm sạch", area=HANOI, metric="cleaned", due_on="01/01/2020")
    assert past.status_code == 422 and "quá khứ" in past.get_data(as_text=True)
    outside = _post_target(
        client, title="Làm sạch", area=OTHER_PROVINCE, metric="cleaned", due_on="30/04/2099"
    )
    assert outside.status_code == 422
    ok = _post_target(
        client, title="Làm sạch toàn bộ", area=HANOI, metric="cleaned", due_on="30/04/2099"
    )
    assert ok.status_code == 303
    target = db.session.scalar(sa.select(Target))
    assert target.due_on == date(2099, 4, 30) and target.metric == TargetMetric.CLEANED
    from portal.audit.models import AuditEvent

    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "dashboard.target_create")
    )


@pytest.mark.parametrize("role", [Role.HEALTH_STATION, Role.POLICE, Role.VACCINATION_SITE])
def test_only_authorities_set_targets(client, login_as, role):
    login_as(role, OWN)
    response = _post_target(client, title="x", area=OWN, metric="cleaned", due_on="30/04/2099")
    assert response.status_code == 403


def test_deadlines_page_lists_the_areas_within(client, login_as, area):
    """Issue 13, smaller ones (wave 2): the deadlines page lists the deadlines of the areas
    within the user's area too (a province's communes, a legacy district), and a commune
    sees the province's deadline it must meet, without a delete button for it; a
    neighbour's and another province's deadlines stay out."""
    from portal.areas.services import add_legacy_district

    district = add_legacy_district("D-BD", "Quận Ba Đình (cũ)", area(HANOI))
    area(OWN).parent_id = district.id
    due = date(2099, 4, 30)
    for holder, title in (
        (area(HANOI), "Hạn của tỉnh"),
        (district, "Hạn của quận cũ"),
        (area(OWN), "Hạn của Ba Đình"),
        (area(NEIGHBOUR), "Hạn của Ngọc Hà"),
        (area(OTHER_PROVINCE), "Hạn của Cao Bằng"),
    ):
        services.create_target(holder, TargetMetric.CLEANED, due, title)
    db.session.commit()

    login_as(Role.HEALTH_AUTHORITY, HANOI)
    html = client.get("/dashboard/targets").get_data(as_text=True)
    for title in ("Hạn của tỉnh", "Hạn của quận cũ", "Hạn của Ba Đình", "Hạn của Ngọc Hà"):
        assert title in html, title
    assert "Hạn của Cao Bằng" not in html
    assert html.count("/delete") == 4

    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard/targets")})
    login_as(Role.HEALTH_STATION, OWN)
    html = client.get("/dashboard/targets").get_data(as_text=True)
    for title in ("Hạn của tỉnh", "Hạn của quận cũ", "Hạn của Ba Đình"):
        assert title in html, title
    assert "Hạn của Ngọc Hà" not in html and "Hạn của Cao Bằng" not in html
    assert "/delete" not in html

    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard/targets")})
    login_as(Role.HEALTH_AUTHORITY, "D-BD")
    html = client.get("/dashboard/targets").get_data(as_text=True)
    rows = {m for m in re.findall(r'<tr data-area="([^"]+)">(.*?)</tr>', html, re.S)}
    deletable = {code for code, row in rows if "/delete" in row}
    assert {code for code, _row in rows} == {HANOI, "D-BD", OWN}
    assert deletable == {"D-BD", OWN}


def test_projection_arithmetic():
    today = date(2026, 12, 3)
    due = date(2026, 12, 31)
    # 100 of 1,000 done; 30 done 14 days ago: 5 a day, 900 left -> 180 days -> misses.
    p = queries.project(1000, 100, 30, 14, today, due)
    assert p.pace_per_day == 5 and p.projected_on == today + timedelta(days=180)
    assert p.will_miss and p.days_left == 28
    # Fast enough: 70 a day, 900 left -> 13 days.
    fast = queries.project(1000, 100, 100 - 980, 14, today, due)
    assert fast.projected_on == today + timedelta(days=13) and not fast.will_miss
    # No progress: never; no history: unknown; all done: done today.
    assert queries.project(1000, 100, 100, 14, today, due).projected_on is None
    unknown = queries.project(1000, 100, None, 0, today, due)
    assert unknown.pace_per_day is None and unknown.will_miss
    assert not queries.project(10, 10, 0, 14, today, due).will_miss
    # A pace so slow that the end falls past the calendar (one dose in 14 days, ten million
    # left): never at this pace, not an OverflowError.
    slow = queries.project(10_000_000, 1, 0, 14, today, due)
    assert slow.projected_on is None and slow.will_miss and slow.pace_per_day


def test_dashboard_shows_projection_and_late_communes(
    client, login_as, population, area, monkeypatch
):
    today = date(2026, 12, 3)
    monkeypatch.setattr(routes, "today_in_vietnam", lambda: today)
    # Fourteen days ago: nothing was clean in the own commune, the neighbour was done.
    db.session.add_all(
        [
            DailyTally(
                day=today - timedelta(days=14), commune_id=area(OWN).id, status="unverified", n=4
            ),
            DailyTally(
                day=today - timedelta(days=14),
                commune_id=area(NEIGHBOUR).id,
                status="confirmed",
                n=1,
            ),
        ]
    )
    services.create_target(area(HANOI), TargetMetric.CLEANED, date(2026, 12, 10), "Làm sạch")
    db.session.commit()
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    html = client.get("/dashboard").get_data(as_text=True)
    deadlines = html[html.index('data-testid="deadlines"') :]
    # Own commune: 2 cleaned in 14 days, 2 left -> 14 days -> 17/12/2026, after the 10th.
    assert "17/12/2026" in deadlines
    assert 'class="text-danger">Phường Ba Đình' in deadlines
    assert "Ngọc Hà" not in deadlines.split("</table>")[0].split("text-danger")[-1]


def test_pdf_report_in_vietnamese(client, login_as, population, tmp_path):
    import shutil
    import subprocess

    login_as(Role.HEALTH_AUTHORITY, HANOI)
    response = client.get("/dashboard/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "SỞ Y TẾ" in text
    assert "Phường Ba Đình" in text and "Tổng cộng" in text
    from portal.audit.models import AuditEvent

    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "dashboard.report"))


# Complaints -----------------------------------------------------------------------------


def _complaint(n, area_of, commune_code, received, answered=None):
    from portal.feedback.models import Feedback, FeedbackKind, Precision, UnitKind

    commune = area_of(commune_code)
    f = Feedback(
        code=f"PA{n:06d}",
        fingerprint=f"fp-{n}",
        kind=FeedbackKind.OTHER,
        full_name="Nguyễn Văn Phản",
        birth_date=date(1980, 1, 1),
        phone="0912000000",
        description="…",
        province_id=commune.province_id,
        commune_id=commune.id,
        precision=Precision.COMMUNE,
        unit_kind=UnitKind.HEALTH_STATION,
        unit_area_id=commune.id,
        unit_key=f"station:{commune.id}",
        received_at=received,
        due_at=received + timedelta(hours=48),
        answered_at=answered,
    )
    db.session.add(f)
    return f


def test_complaint_figures_equal_independent_counts(client, login_as, area, monkeypatch):
    from datetime import datetime

    from portal.dashboard import routes

    now = datetime(2026, 12, 3, 8, 0)
    monkeypatch.setattr(routes, "utcnow", lambda: now)
    hours = timedelta(hours=1)
    _complaint(1, area, OWN, now - 10 * hours)  # open, 38 h left
    _complaint(2, area, OWN, now - 40 * hours)  # at risk, 8 h left
    _complaint(3, area, OWN, now - 50 * hours)  # overdue
    _complaint(4, area, OWN, now - 60 * hours, now - 50 * hours)  # answered in 10 h
    _complaint(5, area, OWN, now - 200 * hours, now - 100 * hours)  # answered late (100 h)
    _complaint(6, area, NEIGHBOUR, now - 50 * hours)  # another commune, overdue
    db.session.commit()

    login_as(Role.HEALTH_STATION, OWN)
    html = client.get("/dashboard").get_data(as_text=True)
    assert _testid_link(html, "complaints-open") == "3"
    assert _testid_link(html, "complaints-at-risk") == "1"
    assert _testid_link(html, "complaints-overdue") == "1"
    assert _testid(html, "complaints-median") == "55,0 giờ"  # median of 10 h and 100 h
    assert _testid(html, "complaints-in-time") == "50,0%"
    assert 'class="chart-bars"' in html


def test_the_complaints_chart_is_titled_labelled_and_described(client, login_as, area, monkeypatch):
    """Issue 13, smaller ones (wave 2): the complaints chart was an unlabelled block. It has
    a heading, axis titles and a scale, and says in words what it shows (role="img" with
    an aria-label, like a picture), beside the table of every week."""
    from datetime import datetime

    from portal.dashboard import routes

    now = datetime(2026, 12, 3, 8, 0)
    monkeypatch.setattr(routes, "utcnow", lambda: now)
    hours = timedelta(hours=1)
    _complaint(1, area, OWN, now - 60 * hours, now - 50 * hours)  # answered in time
    _complaint(2, area, OWN, now - 200 * hours, now - 100 * hours)  # answered late
    db.session.commit()
    login_as(Role.HEALTH_STATION, OWN)
    html = client.get("/dashboard").get_data(as_text=True)
    heading = re.search(r'<h3[^>]*id="complaints-chart-title"[^>]*>([^<]+)</h3>', html)
    assert heading and heading.group(1) == "Số phản ánh được trả lời mỗi tuần"
    figure = re.search(
        r'<figure[^>]*aria-labelledby="complaints-chart-title".*?</figure>', html, re.S
    )
    assert figure
    svg = re.search(r'<svg class="chart-bars"[^>]*>', figure.group(0)).group(0)
    assert 'role="img"' in svg and "aria-hidden" not in svg
    label = re.search(r'aria-label="([^"]+)"', svg).group(1)
    assert "2 phản ánh đã trả lời" in label and "1 trong vòng 48 giờ" in label
    assert ">Phản ánh</text>" in figure.group(0)  # the vertical axis
    assert ">Tuần bắt đầu (thứ Hai)</text>" in figure.group(0)  # the horizontal axis
    assert 'text-anchor="end">0</text>' in figure.group(0)  # the scale
    assert 'id="figures-complaints-table"' in html
    # Eight weeks, those without answers at zero: equal bars for equal spans of time.
    assert len(re.findall(r'text-anchor="middle">\d\d/\d\d</text>', figure.group(0))) == 8


def test_complaint_figures_follow_the_area(client, login_as, area):
    from portal.core.clock import utcnow

    now = utcnow()
    _complaint(1, area, OWN, now - timedelta(hours=50))
    _complaint(2, area, NEIGHBOUR, now - timedelta(hours=50))
    _complaint(3, area, OTHER_PROVINCE, now - timedelta(hours=50))
    db.session.commit()
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    html = client.get("/dashboard").get_data(as_text=True)
    assert _testid_link(html, "complaints-overdue") == "2"  # both communes of the province
    inner = client.get(f"/dashboard?area={NEIGHBOUR}").get_data(as_text=True)
    assert _testid_link(inner, "complaints-overdue") == "1"


def _testid_link(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(?:<a [^>]*>)?([^<]*)<', html)
    assert match, testid
    return match.group(1).strip()


def test_site_level_rows_link_to_the_same_totals(client, login_as, make_person, make_site):
    from portal.records import services as record_services

    site = make_site(OWN, name="Trạm Y tế Ba Đình")
    for i, status in enumerate([PersonStatus.MISMATCH, PersonStatus.MATCHED, PersonStatus.MATCHED]):
        person = make_person(full_name=f"Vũ Thị Hạnh {i}", id_number=None)
        _set_status(person, status)
        for number in (1, 2):  # two doses at the site: the person counts once
            record_services.add_dose(
                person,
                {
                    "dose_number": number,
                    "vaccine": "Abdala",
                    "vaccinated_on": date(2021, 9, number),
                    "site_id": site.id,
                },
            )
    make_person(full_name="Không Tiêm Ở Đây", id_number=None)  # no dose at the site
    db.session.commit()
    login_as(Role.HEALTH_STATION, OWN)
    html = client.get("/dashboard?sites=1").get_data(as_text=True)
    row = re.search(rf'data-site="{site.code}".*?</tr>', html, re.S).group(0)
    links = re.findall(r'href="(/records\?[^"]+)">(\d+)</a>', row)
    assert links[0][1] == "3" and "6" in row  # three persons, six doses
    for href, n in links:
        listing = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
        assert _testid(listing, "result-count").split()[0] == n, href


def test_a_deadline_for_every_complaint_answered(client, login_as, area):
    """Seed 001: "resolve every complaint by a date". The complaints' own times give the
    pace: answers in the last 14 days, projected over those still open."""
    today = today_in_vietnam()
    midnight = local_midnight_utc(today)
    day = timedelta(days=1)
    _complaint(1, area, OWN, midnight - 30 * day, midnight - 20 * day)  # answered before
    _complaint(2, area, OWN, midnight - 10 * day, midnight - 3 * day)  # answered lately
    _complaint(3, area, OWN, midnight - 5 * day)  # open
    _complaint(4, area, OWN, midnight - 2 * day)  # open
    _complaint(5, area, NEIGHBOUR, midnight - 4 * day, midnight - 2 * day)  # all answered
    _complaint(6, area, OTHER_PROVINCE, midnight - 4 * day)  # not Hà Nội's
    db.session.commit()

    login_as(Role.HEALTH_AUTHORITY, HANOI)
    created = _post_target(
        client,
        title="Xử lý dứt điểm phản ánh",
        area=HANOI,
        metric="answered",
        due_on=f"{today + 10 * day:%d/%m/%Y}",
    )
    assert created.status_code == 303
    target = db.session.scalar(sa.select(Target))
    assert target.metric == TargetMetric.ANSWERED

    whole, late = queries.project_target(area(HANOI), TargetMetric.ANSWERED, target.due_on, today)
    # 5 complaints, 3 answered, 1 of them before the window: 2 answers in 14 days, 2 open
    # -> 14 more days, after the due date; Ba Đình will miss it, Ngọc Hà is done.
    assert (whole.total, whole.done, whole.remaining) == (5, 3, 2)
    assert whole.projected_on == today + 14 * day and whole.will_miss
    assert [a.code for a, _p in late] == [OWN]

    points = queries.open_complaints_by_day(area(HANOI), today)
    left = dict(points)
    assert left[today - 30 * day] == 1  # complaint 1, received that day
    assert left[today - 20 * day] == 0  # ... answered
    assert left[today - 5 * day] == 2  # 2 and 3 open
    assert left[today - 2 * day] == 2  # 3 and 4 (5 answered that day)
    assert left[today - 1 * day] == 2  # 3 and 4 open

    html = client.get("/dashboard").get_data(as_text=True)
    deadlines = html[html.index('data-testid="deadlines"') :].split("</table>")[0]
    assert "Xử lý dứt điểm phản ánh" in deadlines and "Trả lời toàn bộ phản ánh" in deadlines
    assert f"{today + 14 * day:%d/%m/%Y}" in deadlines
    assert 'class="text-danger">Phường Ba Đình' in deadlines
    assert "Số phản ánh còn phải trả lời theo ngày" in html


def test_the_communes_of_a_province_come_in_the_vietnamese_alphabet(area):
    from portal.core.text import collation_key

    names = [c.name for c in queries.children(area(HANOI))]
    assert names == sorted(names, key=collation_key)
    first_d = next(i for i, n in enumerate(names) if n.startswith("Phường Đ"))
    first_g = next(i for i, n in enumerate(names) if n.startswith("Phường G"))
    assert first_d < first_g  # a byte order would put every Đ after Z


def test_the_drilldown_sorted_by_name_follows_the_vietnamese_alphabet(client, login_as):
    from portal.core.text import collation_key

    login_as(Role.HEALTH_AUTHORITY, HANOI)
    html = client.get("/dashboard?sort=name&dir=asc").get_data(as_text=True)
    table = html[html.index('data-testid="drilldown"') :].split("</table>")[0]
    names = re.findall(r'<th scope="row"><a [^>]*>([^<]+)</a>', table)
    assert len(names) > 10 and names == sorted(names, key=collation_key)


def test_a_due_date_it_cannot_read_says_how_to_write_it(client, login_as):
    """Issue 16 (forms): the due date is a DayField; a day it cannot read keeps its own
    message (not "give the due date"), a blank one asks for it, and the box stays required
    and shows what was typed."""
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    page = client.get("/dashboard/targets").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="due_on"[^>]*required', page)
    unread = _post_target(
        client, title="Làm sạch", area=HANOI, metric="cleaned", due_on="31/02/2099"
    )
    page = unread.get_data(as_text=True)
    assert unread.status_code == 422 and "Nhập ngày theo dạng dd/mm/yyyy" in page
    assert "Hãy nhập hạn hoàn thành." not in page and 'value="31/02/2099"' in page
    blank = _post_target(client, title="Làm sạch", area=HANOI, metric="cleaned", due_on="  ")
    page = blank.get_data(as_text=True)
    assert blank.status_code == 422 and "Hãy nhập hạn hoàn thành." in page
    assert "Nhập ngày theo dạng" not in page

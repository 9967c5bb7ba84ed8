"""The record list: page and fragment, search, filters, sorting, keyset pages, bad input,
the CSV export and the detail page."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext, ngettext

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.core.text import sort_key
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import PersonStatus, Sex
from tests.conftest import HANOI, NEIGHBOUR, OWN

FRAGMENT = {"HX-Request": "true", "HX-Target": "results"}
ROW_LINK = re.compile(r'<a href="/records/(\d+)">([^<]+)</a>')


def vi(message: str) -> str:
    """The Vietnamese text of a catalogue message; it must really be translated."""
    with force_locale("vi"):
        text = gettext(message)
    assert text != message, f"not translated: {message}"
    return text


def rows(body: str) -> list[tuple[int, str]]:
    return [(int(i), html.unescape(name)) for i, name in ROW_LINK.findall(body)]


def names(body: str) -> list[str]:
    return [name for _, name in rows(body)]


def result_count(body: str) -> int:
    match = re.search(r'data-testid="result-count">([^<]*)</p>', body)
    assert match, "no result count"
    digits = re.sub(r"\D", "", match.group(1))
    return int(digits)


def link(body: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', body)
    return html.unescape(match.group(1)) if match else None


def dose(person, site, number=1, vaccine="Pfizer-BioNTech", lot="A1", day=date(2021, 8, 1)):
    record_services.add_dose(
        person,
        {
            "dose_number": number,
            "vaccine": vaccine,
            "lot": lot,
            "vaccinated_on": day,
            "site_id": site.id if site else None,
        },
    )
    db.session.commit()


# --- page or fragment -------------------------------------------------------------------


def test_page_and_fragment(client, login_as, make_person):
    make_person(full_name="Nguyễn Văn Ánh")
    login_as()

    page = client.get("/records")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<html" in body
    assert 'lang="vi"' in body
    assert "Nguyễn Văn Ánh" in body
    assert "HX-Request" in page.headers["Vary"]

    fragment = client.get("/records", headers=FRAGMENT)
    part = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert "<html" not in part
    assert '<nav class="navbar' not in part
    assert part.lstrip().startswith('<div id="results"')
    assert "Nguyễn Văn Ánh" in part
    assert "HX-Request" in fragment.headers["Vary"]


@pytest.mark.parametrize(
    "headers",
    [
        {"HX-Request": "true", "HX-Boosted": "true", "HX-Target": "results"},
        {"HX-Request": "true", "HX-History-Restore-Request": "true", "HX-Target": "results"},
        {"HX-Request": "true", "HX-Target": "main"},  # a block the view does not offer
        {"HX-Request": "true"},
    ],
    ids=["boosted", "history-restore", "unknown-target", "no-target"],
)
def test_whole_page_for_other_htmx_requests(client, login_as, make_person, headers):
    make_person(full_name="Nguyễn Văn Ánh")
    login_as()
    response = client.get("/records", headers=headers)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in body
    assert "Nguyễn Văn Ánh" in body
    assert "HX-Request" in response.headers["Vary"]


# --- search -----------------------------------------------------------------------------

SEARCH_PEOPLE = {
    "Nguyễn Văn A": None,
    "Đỗ Đức Thắng": None,
    "Trần Thị Ánh": None,
    "Lê Văn Dũng": "001085012345",
    "Phạm Thị Hoa": "079190123456",
    "Hoàng Văn Bình": None,
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("nguyen van a", {"Nguyễn Văn A"}),
        ("Nguyễn   Văn A", {"Nguyễn Văn A"}),
        ("do duc", {"Đỗ Đức Thắng"}),
        ("ĐỖ ĐỨC", {"Đỗ Đức Thắng"}),
        ("đỗ đức", {"Đỗ Đức Thắng"}),
        ("TRAN THI", {"Trần Thị Ánh"}),
        ("thi anh", {"Trần Thị Ánh"}),
        ("dung", {"Lê Văn Dũng"}),
        ("van", {"Nguyễn Văn A", "Lê Văn Dũng", "Hoàng Văn Bình"}),
        ("0010850", {"Lê Văn Dũng"}),
        ("001 085 012", {"Lê Văn Dũng"}),
        ("079190123456", {"Phạm Thị Hoa"}),
        ("190123", set()),  # an ID number is searched by its start only
        ("%", set()),  # LIKE wildcards are taken literally
        ("_", set()),
        ("xyz", set()),
    ],
)
def test_search(client, login_as, make_person, query, expected):
    for name, id_number in SEARCH_PEOPLE.items():
        make_person(full_name=name, id_number=id_number)
    login_as()
    response = client.get("/records", query_string={"q": query}, headers=FRAGMENT)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert set(names(body)) == expected
    assert result_count(body) == len(expected)


def test_result_count_text(client, login_as, make_person):
    for name in ("Nguyễn Văn An", "Trần Thị Bé", "Lê Văn Cường"):
        make_person(full_name=name)
    login_as()
    body = client.get("/records").get_data(as_text=True)
    with force_locale("vi"):
        expected = ngettext("%(num)s record", "%(num)s records", 3)
    assert expected != "3 records"
    assert f'data-testid="result-count">{expected}</p>' in body
    assert result_count(client.get("/records?q=be").get_data(as_text=True)) == 1


# --- filters ----------------------------------------------------------------------------


def test_status_filter(client, login_as, make_person):
    make_person(full_name="Nguyễn Thị Mai", status=PersonStatus.MISSING_ID)
    make_person(full_name="Trần Văn Nam", status=PersonStatus.MATCHED)
    make_person(full_name="Lê Thị Lan")
    login_as()
    body = client.get("/records?status=missing_id").get_data(as_text=True)
    assert names(body) == ["Nguyễn Thị Mai"]
    body = client.get("/records?status=matched", headers=FRAGMENT).get_data(as_text=True)
    assert names(body) == ["Trần Văn Nam"]
    body = client.get("/records?status=").get_data(as_text=True)
    assert set(names(body)) == {"Nguyễn Thị Mai", "Trần Văn Nam", "Lê Thị Lan"}


def test_commune_filter(client, login_as, make_person):
    make_person(full_name="Nguyễn Thị Mai", commune_code=OWN)
    make_person(full_name="Trần Văn Nam", commune_code=NEIGHBOUR)
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    assert names(client.get(f"/records?commune={OWN}").get_data(as_text=True)) == ["Nguyễn Thị Mai"]
    assert names(client.get(f"/records?commune={NEIGHBOUR}").get_data(as_text=True)) == [
        "Trần Văn Nam"
    ]
    both = client.get("/records").get_data(as_text=True)
    assert set(names(both)) == {"Nguyễn Thị Mai", "Trần Văn Nam"}


def test_site_filter(client, login_as, make_person, make_site):
    here = make_site(OWN, name="Trạm Y tế Ba Đình")
    there = make_site(OWN, name="Bệnh viện Đa khoa")
    at_here = make_person(full_name="Nguyễn Thị Mai")
    at_there = make_person(full_name="Trần Văn Nam")
    at_both = make_person(full_name="Phạm Văn Long")
    make_person(full_name="Lê Thị Lan")  # no dose at all
    dose(at_here, here)
    dose(at_there, there)
    dose(at_both, there, number=1)
    dose(at_both, here, number=2, day=date(2021, 10, 1))
    login_as()
    body = client.get(f"/records?site={here.code}").get_data(as_text=True)
    assert sorted(names(body)) == sorted(["Nguyễn Thị Mai", "Phạm Văn Long"])
    body = client.get(f"/records?site={there.code}", headers=FRAGMENT).get_data(as_text=True)
    assert sorted(names(body)) == sorted(["Trần Văn Nam", "Phạm Văn Long"])
    assert result_count(body) == 2


def test_site_filter_outside_scope_is_refused(client, login_as, make_person, make_site):
    far = make_site(NEIGHBOUR, name="Trạm Y tế Ngọc Hà")
    person = make_person(full_name="Trần Văn Nam", commune_code=NEIGHBOUR)
    dose(person, far)
    login_as()
    response = client.get(f"/records?site={far.code}")
    assert response.status_code == 400
    assert "Trần Văn Nam" not in response.get_data(as_text=True)


# --- sorting ----------------------------------------------------------------------------

# Given name first, in the Vietnamese alphabet: a < ă < â < b < ... < d < đ; equal given
# names are ordered by the rest of the name (Lê before Trần).
VIETNAMESE_ORDER = [
    "Vũ Văn An",
    "Bùi Thị Ăn",
    "Hoàng Văn Ân",
    "Lê Văn Bình",
    "Trần Văn Bình",
    "Nguyễn Văn Dũng",
    "Đặng Quang Đạt",
    "Âu Thị Ơn",
    "Ân Văn Tú",
    "Á Văn Ư",
]


def test_sort_by_name_in_vietnamese_order(client, login_as, make_person):
    for name in [VIETNAMESE_ORDER[i] for i in (6, 3, 9, 0, 5, 8, 2, 4, 1, 7)]:
        make_person(full_name=name)
    login_as()
    assert names(client.get("/records").get_data(as_text=True)) == VIETNAMESE_ORDER
    assert names(client.get("/records?sort=name").get_data(as_text=True)) == VIETNAMESE_ORDER
    descending = client.get("/records?sort=-name", headers=FRAGMENT).get_data(as_text=True)
    assert names(descending) == VIETNAMESE_ORDER[::-1]


def test_sort_by_birth_date(client, login_as, make_person):
    make_person(full_name="Người Giữa", birth_date=date(1980, 6, 1))
    make_person(full_name="Người Già", birth_date=date(1941, 2, 3))
    make_person(full_name="Người Trẻ", birth_date=date(2003, 12, 31))
    login_as()
    body = client.get("/records?sort=birth").get_data(as_text=True)
    assert names(body) == ["Người Già", "Người Giữa", "Người Trẻ"]
    body = client.get("/records?sort=-birth").get_data(as_text=True)
    assert names(body) == ["Người Trẻ", "Người Giữa", "Người Già"]


# --- keyset pagination ------------------------------------------------------------------

PAGED = [
    ("Nguyễn Văn An", date(1990, 1, 1)),
    ("Nguyễn Văn An", date(1990, 1, 1)),  # same name and birth date: the id decides
    ("Trần Thị Ánh", date(1975, 5, 5)),
    ("Đỗ Đức Đạt", date(1990, 1, 1)),
    ("Lê Văn Dũng", date(2001, 9, 2)),
    ("Phạm Thị Ăn", date(1975, 5, 5)),
    ("Hoàng Văn Bình", date(1960, 7, 7)),
    ("Vũ Thị Yến", date(1990, 1, 1)),
]


def _expected_ids(persons, sort: str) -> list[int]:
    if sort.lstrip("-") == "name":
        ordered = sorted(persons, key=lambda p: (sort_key(p.full_name), p.id))
    else:
        ordered = sorted(persons, key=lambda p: (p.birth_date, p.id))
    if sort.startswith("-"):
        ordered.reverse()
    return [p.id for p in ordered]


@pytest.mark.parametrize("sort", ["name", "-name", "birth", "-birth"])
def test_keyset_pages_forward_and_back(app, client, login_as, make_person, monkeypatch, sort):
    persons = [make_person(full_name=n, birth_date=b) for n, b in PAGED]
    expected = _expected_ids(persons, sort)
    login_as()
    monkeypatch.setitem(app.config, "RECORDS_PAGE_SIZE", 3)

    # Forward with whole pages, following the "next" links to the end.
    url = f"/records?sort={sort}"
    pages: list[list[int]] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert result_count(body) == len(PAGED)
        assert f"sort={sort}" in (link(body, "next") or f"sort={sort}")  # the sort is kept
        if not pages:
            assert link(body, "prev") is None
        pages.append([i for i, _ in rows(body)])
        assert 1 <= len(pages[-1]) <= 3
        url = link(body, "next")
        assert len(pages) <= 5, "the next links never end"
    assert [len(p) for p in pages] == [3, 3, 2]
    walked = [i for page in pages for i in page]
    assert walked == expected
    assert len(set(walked)) == len(PAGED)

    # Back with htmx fragments, following the "prev" links from the last page.
    url = link(
        client.get(f"/records?sort={sort}&after={_cursor_before_last(client, sort)}").get_data(
            as_text=True
        ),
        "prev",
    )
    back = [pages[-1]]
    while url:
        response = client.get(url, headers=FRAGMENT)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert "<html" not in body
        back.append([i for i, _ in rows(body)])
        url = link(body, "prev")
        assert len(back) <= 5, "the prev links never end"
    assert back == pages[::-1]


def _cursor_before_last(client, sort: str) -> str:
    """The cursor that leads to the last page (the "next" link of the second page)."""
    first = client.get(f"/records?sort={sort}").get_data(as_text=True)
    second = client.get(link(first, "next")).get_data(as_text=True)
    last_link = link(second, "next")
    assert last_link
    return re.search(r"after=([^&]+)", last_link).group(1)


def test_pages_keep_the_filter(app, client, login_as, make_person, monkeypatch):
    wanted = [
        make_person(full_name=f"Nguyễn Thị {n}", status=PersonStatus.MISSING_ID)
        for n in ("Hoa", "Lan", "Mai", "Nga", "Oanh")
    ]
    for n in ("An", "Bình", "Cường", "Dũng"):
        make_person(full_name=f"Trần Văn {n}")
    login_as()
    monkeypatch.setitem(app.config, "RECORDS_PAGE_SIZE", 2)
    url = "/records?status=missing_id"
    seen: list[str] = []
    while url:
        body = client.get(url, headers=FRAGMENT).get_data(as_text=True)
        assert result_count(body) == 5
        seen += names(body)
        url = link(body, "next")
        if url:
            assert "status=missing_id" in url
        assert len(seen) <= 10
    assert seen == [p.full_name for p in wanted]


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, FRAGMENT], ids=["page", "fragment"])
def test_unknown_status_is_refused(client, login_as, make_person, headers):
    make_person(full_name="Nguyễn Văn Ánh")
    login_as()
    response = client.get("/records?status=bogus", headers=headers)
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "alert-danger" in body
    assert vi("Some filters are not valid; correct them and search again.") in body
    if not headers:  # the field's own message is in the form, outside the fragment
        assert vi("Not a valid choice.") in body
    assert "Nguyễn Văn Ánh" not in body


def _b64(raw: str) -> str:
    import base64

    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "param", "cursor"),
    [
        ("name", "after", "garbage!!"),
        ("name", "after", "%%%"),
        ("name", "before", "not-a-cursor"),
        ("name", "after", _b64('["x"]')),
        ("name", "after", _b64('["x", "1"]')),
        ("name", "after", _b64('["x", 1, 2]')),
        ("name", "after", _b64('{"x": 1}')),
        ("name", "after", _b64('["x", 100000000000000000000000]')),
        ("name", "after", _b64('["x", -5]')),
        ("name", "after", _b64("\u00ff\u00fe")),
        ("birth", "after", _b64('["not-a-date", 1]')),
        ("birth", "after", _b64("[null, 1]")),
    ],
)
def test_garbage_cursor_is_refused(client, login_as, make_person, sort, param, cursor):
    make_person(full_name="Nguyễn Văn Ánh")
    login_as()
    response = client.get("/records", query_string={"sort": sort, param: cursor})
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert vi("The page link is invalid. Start again from the first page.") in body


def test_search_length_limit(client, login_as, make_person):
    make_person(full_name="Nguyễn Văn Ánh")
    login_as()
    too_long = client.get("/records", query_string={"q": "a" * 101})
    assert too_long.status_code == 400
    assert vi("The search is too long.") in html.unescape(too_long.get_data(as_text=True))
    assert client.get("/records", query_string={"q": "a" * 100}).status_code == 200


@pytest.mark.parametrize(
    "path", ["/records/abc", "/records/-1", "/records/99999999999", "/records/0"]
)
def test_bad_record_ids_are_not_found(client, login_as, path):
    login_as()
    response = client.get(path)
    assert response.status_code == 404
    assert "alert-danger" in response.get_data(as_text=True)


# --- CSV export -------------------------------------------------------------------------


def _export_events():
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "records.export")
            .order_by(AuditEvent.seq)
        )
    )


def test_csv_export(client, login_as, make_person, make_site):
    site = make_site(OWN)
    ngoc = make_person(full_name="Nguyễn Thị Ngọc Ánh", id_number="001190000123", sex=Sex.FEMALE)
    dose(ngoc, site)
    dose(ngoc, site, number=2, day=date(2021, 9, 15))
    make_person(full_name="Đỗ Đức Thắng")
    make_person(full_name="Trần Văn Hàng Xóm", commune_code=NEIGHBOUR)
    user = login_as()
    before = len(_export_events())

    response = client.get("/records/export.csv", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    text = response.data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][0] == vi("Full name")
    by_name = {row[0]: row for row in table[1:]}
    assert set(by_name) == {"Nguyễn Thị Ngọc Ánh", "Đỗ Đức Thắng"}  # scope: no neighbour
    assert "001190000123" in by_name["Nguyễn Thị Ngọc Ánh"]
    assert by_name["Nguyễn Thị Ngọc Ánh"][-1] == "2"
    assert by_name["Đỗ Đức Thắng"][-1] == "0"
    assert "Phường Ba Đình" in by_name["Đỗ Đức Thắng"]

    events = _export_events()
    assert len(events) == before + 1
    assert events[-1].actor_name == user.username
    assert events[-1].changes["rows"] == [None, 2]

    filtered = client.get("/records/export.csv?q=ngoc+anh", buffered=True)
    text = filtered.data.decode("utf-8-sig")
    assert "Nguyễn Thị Ngọc Ánh" in text
    assert "Đỗ Đức Thắng" not in text
    assert "Trần Văn Hàng Xóm" not in text
    events = _export_events()
    assert len(events) == before + 2
    assert events[-1].changes["rows"] == [None, 1]
    assert events[-1].changes["filters"][1] == {"q": "ngoc anh", "sort": "name"}


def test_csv_export_ignores_page_cursor(app, client, login_as, make_person, monkeypatch):
    for n in ("An", "Bình", "Cường", "Dũng"):
        make_person(full_name=f"Trần Văn {n}")
    login_as()
    monkeypatch.setitem(app.config, "RECORDS_PAGE_SIZE", 2)
    after = link(client.get("/records").get_data(as_text=True), "next")
    cursor = re.search(r"after=([^&]+)", after).group(1)
    text = client.get(f"/records/export.csv?after={cursor}", buffered=True).data.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text)))) == 1 + 4


def test_csv_export_with_bad_filter_is_refused(client, login_as, make_person):
    make_person(full_name="Nguyễn Văn Ánh")
    login_as()
    before = len(_export_events())
    response = client.get("/records/export.csv?status=bogus")
    assert response.status_code == 400
    assert "Nguyễn Văn Ánh" not in response.get_data(as_text=True)
    assert len(_export_events()) == before


# --- detail -----------------------------------------------------------------------------


def test_detail_shows_doses_and_history(client, login_as, make_person, make_site):
    site = make_site(OWN, name="Trạm Y tế Phường Ba Đình")
    person = make_person(full_name="Nguyen Van Hung", id_number="001085012345")
    dose(person, site)
    dose(person, None, number=2, vaccine="AstraZeneca", lot="B7", day=date(2021, 11, 2))
    record_services.update_person(person, {"full_name": "Nguyễn Văn Hùng"}, reason="sửa tên")
    db.session.commit()
    login_as()

    response = client.get(f"/records/{person.id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<h1 class="h4 mb-0">Nguyễn Văn Hùng</h1>' in body
    # Doses: vaccine (its name in the catalogue, whatever spelling it was given in), lot,
    # date as dd/mm/yyyy and site.
    assert re.search(
        r"<td>1</td><td>Comirnaty \(Pfizer-BioNTech\)</td><td>A1</td>"
        r"<td>01/08/2021</td><td>Trạm Y tế Phường Ba Đình</td>",
        body,
    )
    assert re.search(
        r"<td>2</td><td>Vaxzevria \(AstraZeneca\)</td><td>B7</td><td>02/11/2021</td>"
        r"<td>—</td>",
        body,
    )
    # History, newest first: the rename with before -> after and its reason.
    history = body[body.index('data-testid="history"') :]
    assert re.search(r"<del>Nguyen Van Hung</del>\s*→\s*<ins>Nguyễn Văn Hùng</ins>", history)
    assert "sửa tên" in history
    assert history.index("sửa tên") < history.index("test fixture")
    assert html.escape(vi("Record changed")) in history or vi("Record changed") in history
    assert vi("Full name") in history


OPTION = re.compile(r'<option (?:selected )?value="([^"]*)">([^<]*)</option>')


def options(body: str, name: str) -> list[tuple[str, str]]:
    found = re.search(rf'<select [^>]*name="{name}">(.*?)</select>', body, re.S)
    assert found, f"no select {name}"
    return [(value, html.unescape(text)) for value, text in OPTION.findall(found.group(1))]


def test_the_filters_offer_the_communes_and_sites_in_reach_in_order(client, login_as, make_site):
    """The commune and site choices (one statement: ``permissions.places_in_scope``): the
    province's communes in the Vietnamese alphabet's order, their sites by name, nothing
    outside the reach; a site added meanwhile is offered on the next page."""
    from portal.areas.models import Area, AreaKind
    from portal.core.text import collation_key
    from tests.conftest import OTHER_PROVINCE

    login_as(Role.HEALTH_AUTHORITY, HANOI)
    make_site(OWN, name="Điểm tiêm Cong")
    make_site(NEIGHBOUR, name="Điểm tiêm An")
    make_site(OTHER_PROVINCE, name="Điểm tiêm Cao Bằng")
    db.session.commit()
    body = client.get("/records?commune=" + NEIGHBOUR).get_data(as_text=True)
    province = db.session.scalar(sa.select(Area).where(Area.code == HANOI))
    hanoi = db.session.scalars(
        sa.select(Area).where(Area.kind == AreaKind.COMMUNE, Area.province_id == province.id)
    ).all()
    expected = sorted(((a.code, a.name) for a in hanoi), key=lambda place: collation_key(place[1]))
    communes = options(body, "commune")
    assert communes[1:] == expected and communes[0][0] == ""
    assert f'<option selected value="{NEIGHBOUR}">' in body
    assert [name for _code, name in options(body, "site")[1:]] == ["Điểm tiêm An", "Điểm tiêm Cong"]

    make_site(OWN, name="Điểm tiêm Bong")
    db.session.commit()
    body = client.get("/records").get_data(as_text=True)
    assert [name for _code, name in options(body, "site")[1:]] == [
        "Điểm tiêm An",
        "Điểm tiêm Bong",
        "Điểm tiêm Cong",
    ]


@pytest.mark.parametrize(
    "role, shown",
    [(Role.HEALTH_STATION, True), (Role.POLICE, True), (Role.COMMITTEE, False)],
)
def test_match_form_shown_by_the_registry_rule(client, login_as, role, shown):
    """The list offers the matching run to whom the register's rule lets start one
    (registry.permissions.can_start_match, asked through core.navigation.may_open)."""
    login_as(role)
    response = client.get("/records")
    assert response.status_code == 200
    assert ('data-testid="match-form"' in response.get_data(as_text=True)) is shown

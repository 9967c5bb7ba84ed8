"""The record list keeps its statements built (core.sql.StatementCache): a kept statement
carries the values it was built with, so its key must name each of them. Users of other
areas, other filters and other pages, one after another in one process, each get their
own answer, never the one built for the request before."""

from __future__ import annotations

import html
import re

from portal.auth.models import Role
from portal.core.sql import StatementCache
from portal.extensions import db
from portal.records.models import PersonStatus
from tests.conftest import HANOI, NEIGHBOUR, OWN, login

ROW_LINK = re.compile(r'<a href="/records/(\d+)">([^<]+)</a>')
OPTION = re.compile(r'<option (?:selected )?value="([^"]*)">')


def names(client, query: str = "") -> list[str]:
    body = client.get("/records" + query).get_data(as_text=True)
    return [html.unescape(name) for _, name in ROW_LINK.findall(body)]


def commune_choices(client) -> list[str]:
    body = client.get("/records").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="commune"[^>]*>(.*?)</select>', body, re.S)
    assert select, "no commune filter"
    return [code for code in OPTION.findall(select.group(1)) if code]


def test_users_of_other_areas_one_after_another(app, client, make_user, make_person):
    make_person(full_name="Người Ba Đình", commune_code=OWN)
    make_person(full_name="Người Ngọc Hà", commune_code=NEIGHBOUR)
    own, neighbour = make_user(Role.POLICE, OWN), make_user(Role.POLICE, NEIGHBOUR)
    province = make_user(Role.HEALTH_AUTHORITY, HANOI)
    seen = {}
    for _ in range(2):  # the second round reads the statements the first one kept
        for user in (own, neighbour, province):
            client.post("/logout", data={})
            client.delete_cookie("portal_session")
            assert login(client, user.username).status_code == 303
            seen.setdefault(user.username, []).append(
                (sorted(names(client)), commune_choices(client))
            )
    for user, answers in seen.items():
        assert answers[0] == answers[1], user
    assert seen[own.username][0] == (["Người Ba Đình"], [OWN])
    assert seen[neighbour.username][0] == (["Người Ngọc Hà"], [NEIGHBOUR])
    province_names, province_communes = seen[province.username][0]
    assert province_names == ["Người Ba Đình", "Người Ngọc Hà"]
    assert {OWN, NEIGHBOUR} <= set(province_communes)


def test_other_filters_and_pages_one_after_another(app, client, login_as, make_person, monkeypatch):
    for given in ("Hoa", "Lan", "Mai"):
        make_person(full_name=f"Trần Thị {given}")
    make_person(full_name="Lê Văn Nam", status=PersonStatus.MISMATCH)
    login_as(Role.POLICE)
    monkeypatch.setitem(app.config, "RECORDS_PAGE_SIZE", 2)
    for _ in range(2):
        assert names(client, "?q=tran") == ["Trần Thị Hoa", "Trần Thị Lan"]
        assert names(client, "?q=nam") == ["Lê Văn Nam"]
        assert names(client, "?status=mismatch") == ["Lê Văn Nam"]
        assert names(client, "?sort=-name") == ["Lê Văn Nam", "Trần Thị Mai"]
        body = client.get("/records?q=tran").get_data(as_text=True)
        after = re.search(r'rel="next" href="([^"]+)"', body)
        assert after, "no next page"
        assert names(client, html.unescape(after.group(1))[len("/records") :]) == ["Trần Thị Mai"]
    # A page of another size is another statement.
    monkeypatch.setitem(app.config, "RECORDS_PAGE_SIZE", 3)
    assert names(client, "?q=tran") == ["Trần Thị Hoa", "Trần Thị Lan", "Trần Thị Mai"]


def test_statement_cache_builds_once_per_key_and_forgets_the_oldest():
    cache = StatementCache(size=2)
    built = []

    def build(name):
        def make():
            built.append(name)
            return object()

        return make

    first = cache.get("a", build("a"))
    assert cache.get("a", build("a")) is first
    cache.get("b", build("b"))
    cache.get("a", build("a"))  # "a" used again: "b" is now the oldest
    cache.get("c", build("c"))
    cache.get("a", build("a"))
    cache.get("b", build("b"))
    assert built == ["a", "b", "c", "b"]


def test_cells_written_unescaped_by_the_template_are_escaped(client, area, login_as, make_person):
    """The list's rows are written with autoescaping off (records.routes._table escapes
    them): markup in a stored name is shown as text, never run."""
    make_person(full_name='Lê <img src=x onerror=alert(1)> "Tí" & Tèo')
    area(OWN).name = "Phường <i>Ba Đình</i>"
    db.session.commit()
    login_as(Role.HEALTH_AUTHORITY, HANOI)  # the communes' names read for the page
    body = client.get("/records").get_data(as_text=True)
    assert "<img src=x" not in body and "<i>" not in body
    assert "Lê &lt;img src=x onerror=alert(1)&gt; &quot;Tí&quot; &amp; Tèo" in body
    assert "<td>Phường &lt;i&gt;Ba Đình&lt;/i&gt;</td>" in body

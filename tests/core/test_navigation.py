"""Issue 16 (one area-scope primitive): the main menu asks each domain's permission rules,
so that what a person is shown is what they may open: every link of the menu is shown to a
demo account exactly when its page answers that account 200."""

from __future__ import annotations

import re

from portal.core import navigation
from portal.demo import services as demo
from portal.extensions import db
from tests.conftest import login

PASSWORD = "pw-test-123"
# One demo account of each role, and the province-level site (its reach is the province).
ACCOUNTS = (
    "admin",
    "national.admin",
    "authority.ha_noi",
    "site.cdc_hn",
    "police.ba_dinh",
    "health.ba_dinh",
    "committee.ba_dinh",
    "site.ba_dinh",
)
NAV = re.compile(r'<nav class="navbar.*?</nav>', re.S)
LINK = re.compile(r'class="nav-link[^"]*" href="([^"]+)"')


def test_each_link_is_shown_exactly_when_its_page_answers(app):
    """Issue 16: the menu hard-coded the handover link's roles (police and health station)
    while its page also answers the province's health authority (issue 14, item 3): the
    authority was never shown the way to it. Now every link asks its domain's rule."""
    accounts = {a.username: a for a in demo.seed(password=PASSWORD)}
    db.session.commit()
    with app.test_request_context():
        pages = [item.url() for item in navigation.menu()]
    assert len(pages) == len(set(pages)) == 12
    seen = {}
    for username in ACCOUNTS:
        assert username in accounts
        client = app.test_client()
        assert login(client, username, PASSWORD).status_code == 303
        page = client.get("/records")
        assert page.status_code == 200
        shown = set(LINK.findall(NAV.search(page.get_data(as_text=True)).group(0)))
        assert shown <= set(pages), username
        answers = {url: client.get(url).status_code for url in pages}
        assert {url for url, status in answers.items() if status == 200} == shown, (
            username,
            answers,
        )
        assert all(status in (403, 404) for url, status in answers.items() if url not in shown), (
            username,
            answers,
        )
        seen[username] = shown
    # The rule the menu used to spell out itself: the handover lists are the police's, the
    # health station's and the health authority's.
    handover = "/worklists/handover"
    assert {u for u, shown in seen.items() if handover in shown} == {
        "authority.ha_noi",
        "police.ba_dinh",
        "health.ba_dinh",
    }

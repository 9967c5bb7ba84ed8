"""Issue 14, item 3: each page of the lists checks its role, not only its area."""

from __future__ import annotations

import pytest

from portal.auth.models import Role
from portal.extensions import db
from portal.registry.models import RegisterExtract
from tests.conftest import NEIGHBOUR, OWN, csrf_token

ROLES = [
    (Role.POLICE, OWN),
    (Role.HEALTH_STATION, OWN),
    (Role.COMMITTEE, OWN),
    (Role.VACCINATION_SITE, OWN),
    (Role.HEALTH_AUTHORITY, "01"),
    (Role.ADMIN, "01"),
]
# Which roles may open each page; everyone else gets 403.
PAGES = {
    "/worklists/corrections": {Role.POLICE, Role.HEALTH_STATION},
    "/worklists/corrections/export.csv": {Role.POLICE, Role.HEALTH_STATION},
    "/worklists/corrections/export.xlsx": {Role.POLICE, Role.HEALTH_STATION},
    "/worklists/register-updates": {Role.POLICE, Role.HEALTH_STATION},
    "/worklists/register-updates/export.csv": {Role.POLICE, Role.HEALTH_STATION},
    "/worklists/register-updates/export.xlsx": {Role.POLICE, Role.HEALTH_STATION},
    "/worklists/handover": {Role.POLICE, Role.HEALTH_STATION, Role.HEALTH_AUTHORITY},
    "/registry/extracts": {Role.POLICE, Role.ADMIN},
}


@pytest.mark.parametrize(("role", "area_code"), ROLES, ids=[r.value for r, _ in ROLES])
def test_role_by_page(client, login_as, role, area_code):
    """Issue 14, item 3: the decision lists and their exports answered 200 to every role
    (the menu only hid them)."""
    login_as(role, area_code)
    got = {page: client.get(page).status_code for page in PAGES}
    assert got == {page: 200 if role in allowed else 403 for page, allowed in PAGES.items()}
    menu = client.get("/records").get_data(as_text=True)
    for page in ("/worklists/corrections", "/worklists/register-updates"):
        assert (f'href="{page}"' in menu) == (role in PAGES[page])


def test_commune_police_list_only_their_own_areas_register_imports(client, login_as, make_user):
    """Issue 14, item 3: commune police listed every register import nationwide."""
    mine = make_user(Role.POLICE, OWN)
    neighbour = make_user(Role.POLICE, NEIGHBOUR)
    for user, source in ((mine, "trich-xuat-cua-toi.csv"), (neighbour, "trich-xuat-xa-ben.csv")):
        db.session.add(
            RegisterExtract(source=source, mode="merge", row_count=1, imported_by_id=user.id)
        )
    db.session.commit()
    login_as(Role.POLICE, OWN)
    page = client.get("/registry/extracts").get_data(as_text=True)
    assert "trich-xuat-cua-toi.csv" in page and "trich-xuat-xa-ben.csv" not in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/verify")})
    login_as(Role.ADMIN, "01")  # the province's administrator sees both communes'
    page = client.get("/registry/extracts").get_data(as_text=True)
    assert "trich-xuat-cua-toi.csv" in page and "trich-xuat-xa-ben.csv" in page

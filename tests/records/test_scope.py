"""Record scope: every role x where the person lives x every way of reading a record.

A commune user sees only the own commune; a province user every commune of the
province and nothing of another province. Outside scope a record is not found
(404) and never listed.
"""

from __future__ import annotations

import re

import pytest

from portal.auth.models import Role
from tests.conftest import HANOI, NEIGHBOUR, OTHER_PROVINCE, OWN, RESIDENTS

COMMUNE_ROLES = (Role.POLICE, Role.HEALTH_STATION, Role.COMMITTEE, Role.VACCINATION_SITE)
PROVINCE_ROLES = (Role.HEALTH_AUTHORITY, Role.ADMIN)

VISIBLE = {
    **{role: {OWN} for role in COMMUNE_ROLES},
    **{role: {OWN, NEIGHBOUR} for role in PROVINCE_ROLES},
}

VIEWS = ("list", "detail", "fragment")


def _user_area(role: Role) -> str:
    return HANOI if role in PROVINCE_ROLES else OWN


def _fetch(client, view: str, person_id: int):
    if view == "list":
        return client.get("/records")
    if view == "fragment":
        return client.get("/records", headers={"HX-Request": "true", "HX-Target": "results"})
    return client.get(f"/records/{person_id}")


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize(
    "place", [OWN, NEIGHBOUR, OTHER_PROVINCE], ids=["own", "neighbour", "other_province"]
)
@pytest.mark.parametrize("role", [*COMMUNE_ROLES, *PROVINCE_ROLES], ids=lambda r: r.value)
def test_scope_matrix(client, login_as, make_person, role, place, view):
    name = RESIDENTS[place]
    person = make_person(full_name=name, commune_code=place)
    login_as(role, _user_area(role))

    response = _fetch(client, view, person.id)
    body = response.get_data(as_text=True)
    allowed = place in VISIBLE[role]

    if view == "fragment":
        assert response.status_code == 200
        assert "<html" not in body  # really the fragment, not the page
    if view == "detail" and not allowed:
        assert response.status_code == 404
        assert name not in body
        return
    assert response.status_code == 200
    if allowed:
        assert name in body
    else:
        assert name not in body
        assert f'/records/{person.id}"' not in body


@pytest.mark.parametrize(
    "role", [Role.HEALTH_STATION, Role.HEALTH_AUTHORITY], ids=lambda r: r.value
)
def test_scope_counts_only_what_is_visible(client, login_as, make_person, role):
    for place, name in RESIDENTS.items():
        make_person(full_name=name, commune_code=place)
    login_as(role, _user_area(role))
    body = client.get("/records").get_data(as_text=True)
    expected = len(VISIBLE[role])
    count = re.search(r'data-testid="result-count">\D*(\d+)', body)
    assert count and int(count.group(1)) == expected
    shown = {place for place, name in RESIDENTS.items() if name in body}
    assert shown == VISIBLE[role]


@pytest.mark.parametrize(
    ("role", "commune"),
    [
        (Role.HEALTH_STATION, OTHER_PROVINCE),
        (Role.HEALTH_STATION, NEIGHBOUR),
        (Role.POLICE, OTHER_PROVINCE),
        (Role.HEALTH_AUTHORITY, OTHER_PROVINCE),
        (Role.ADMIN, OTHER_PROVINCE),
    ],
    ids=[
        "station-other-province",
        "station-neighbour",
        "police-other-province",
        "authority-other-province",
        "admin-other-province",
    ],
)
@pytest.mark.parametrize("fragment", [False, True], ids=["page", "fragment"])
def test_commune_filter_outside_scope_is_refused(
    client, login_as, make_person, role, commune, fragment
):
    name = RESIDENTS[commune]
    make_person(full_name=name, commune_code=commune)
    login_as(role, _user_area(role))
    headers = {"HX-Request": "true", "HX-Target": "results"} if fragment else {}
    response = client.get(f"/records?commune={commune}", headers=headers)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert name not in body
    assert "alert-danger" in body
    # The refused commune is not offered as a choice either.
    assert f'value="{commune}"' not in body


def test_commune_filter_inside_scope_is_accepted(client, login_as, make_person):
    """The counterpart: a province user may filter on a neighbouring commune."""
    make_person(full_name=RESIDENTS[NEIGHBOUR], commune_code=NEIGHBOUR)
    make_person(full_name=RESIDENTS[OWN], commune_code=OWN)
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    response = client.get(f"/records?commune={NEIGHBOUR}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert RESIDENTS[NEIGHBOUR] in body
    assert RESIDENTS[OWN] not in body


def test_export_is_scoped(client, login_as, make_person):
    for place, name in RESIDENTS.items():
        make_person(full_name=name, commune_code=place)
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    text = client.get("/records/export.csv", buffered=True).data.decode("utf-8-sig")
    assert RESIDENTS[OWN] in text
    assert RESIDENTS[NEIGHBOUR] in text
    assert RESIDENTS[OTHER_PROVINCE] not in text


def test_anonymous_sees_nothing(client, make_person):
    person = make_person(full_name=RESIDENTS[OWN])
    for path in ("/records", f"/records/{person.id}", "/records/export.csv"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"]
        assert RESIDENTS[OWN] not in response.get_data(as_text=True)


GIANG_VO = "00025"  # Phường Giảng Võ, Hà Nội: a third commune of the province


@pytest.mark.parametrize(
    ("level", "reached"),
    [
        ("province", {OWN, NEIGHBOUR, GIANG_VO}),
        ("central", {OWN, NEIGHBOUR, GIANG_VO}),
        ("district", {OWN, NEIGHBOUR}),
        ("commune", {OWN}),
        ("private", {OWN}),
    ],
)
def test_a_sites_reach_follows_its_level(
    client, login_as, make_person, make_site, area, level, reached
):
    """Issue 13, item 6: a province-level site finds and doses the whole province; a
    district-level site its legacy district; commune and private sites their commune.
    Another province stays out of reach, and correcting identity stays with the station."""
    from portal.areas.models import SiteLevel
    from portal.areas.services import add_legacy_district
    from portal.extensions import db

    district = add_legacy_district("D-BD", "Quận Ba Đình (cũ)", area(HANOI))
    area(OWN).parent_id = district.id
    area(NEIGHBOUR).parent_id = district.id
    names = {
        OWN: RESIDENTS[OWN],
        NEIGHBOUR: RESIDENTS[NEIGHBOUR],
        GIANG_VO: "Kiều Thị Thơm",
        OTHER_PROVINCE: RESIDENTS[OTHER_PROVINCE],
    }
    persons = {
        place: make_person(full_name=name, commune_code=place) for place, name in names.items()
    }
    site = make_site(OWN, SiteLevel(level))
    db.session.commit()
    login_as(Role.VACCINATION_SITE, OWN, site=site)

    body = client.get("/records").get_data(as_text=True)
    assert {place for place, name in names.items() if name in body} == reached
    for place, person in persons.items():
        detail = client.get(f"/records/{person.id}")
        dose_form = client.get(f"/records/{person.id}/doses/new")
        expected = 200 if place in reached else 404
        assert (detail.status_code, dose_form.status_code) == (expected, expected), place
        if place in reached:
            # Finding and dosing, not correcting: no inline editor for site staff.
            assert 'data-field="full_name"' not in detail.get_data(as_text=True)
            assert client.get(f"/records/{person.id}/correct/full_name").status_code == 403

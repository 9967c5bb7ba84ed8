"""The one rule for "the areas within X" (portal/areas/scope.py), and the domains that
scope by area asking it rather than keeping a copy."""

from __future__ import annotations

import inspect

import pytest
import sqlalchemy as sa

from portal.areas import scope
from portal.areas.models import Area
from portal.areas.services import add_legacy_district
from portal.extensions import db
from tests.conftest import CAO_BANG, HANOI, NEIGHBOUR, OTHER_PROVINCE, OWN, RESIDENTS

GIANG_VO = "00025"


@pytest.fixture
def district(area):
    """A legacy district of Hà Nội holding Ba Đình and Ngọc Hà (not Giảng Võ)."""
    district = add_legacy_district("D-BD", "Quận Ba Đình (cũ)", area(HANOI))
    area(OWN).parent_id = district.id
    area(NEIGHBOUR).parent_id = district.id
    db.session.flush()
    return district


def _codes(clause) -> set[str]:
    return set(db.session.scalars(sa.select(Area.code).where(clause)))


def _commune_codes(ids) -> set[str]:
    return set(db.session.scalars(sa.select(Area.code).where(Area.id.in_(ids))))


def test_the_areas_within_a_province_a_district_and_a_commune(area, district):
    """Issue 13, wave 2 (one rule in one place):
    one function says what lies within an area."""
    hanoi = _codes(scope.areas_within(area(HANOI)))
    assert {HANOI, "D-BD", OWN, NEIGHBOUR, GIANG_VO} <= hanoi
    assert CAO_BANG not in hanoi and OTHER_PROVINCE not in hanoi
    assert _codes(scope.areas_within(district)) == {"D-BD", OWN, NEIGHBOUR}
    assert _codes(scope.areas_within(area(OWN))) == {OWN}

    hanoi_communes = _commune_codes(scope.communes_within(area(HANOI)))
    assert {OWN, NEIGHBOUR, GIANG_VO} <= hanoi_communes
    assert HANOI not in hanoi_communes and "D-BD" not in hanoi_communes
    assert _commune_codes(scope.communes_within(district)) == {OWN, NEIGHBOUR}
    assert _commune_codes(scope.communes_within(area(OWN))) == {OWN}


@pytest.mark.parametrize("use_province_column", [False, True])
def test_rows_naming_their_commune(area, district, use_province_column):
    """Issue 13, wave 2 (one rule in one place):
    rows that name a commune (persons, tallies) are inside the same
    areas, whether or not the row's province column is used."""
    province_column = Area.province_id if use_province_column else None
    for holder, inside in (
        (area(HANOI), {OWN, NEIGHBOUR, GIANG_VO}),
        (district, {OWN, NEIGHBOUR}),
        (area(OWN), {OWN}),
    ):
        clause = scope.within(holder, Area.id, province_column)
        found = _codes(sa.and_(clause, Area.kind == "commune"))
        assert inside <= found, holder.code
        assert OTHER_PROVINCE not in found
        if holder.kind != "province":
            assert found == inside


def test_area_within_by_code(area, district):
    """Issue 13, wave 2 (one rule in one place):
    an area named by code is found only inside the asker's area."""
    assert scope.area_within(area(HANOI), OWN) is area(OWN)
    assert scope.area_within(area(HANOI), "D-BD") is district
    assert scope.area_within(area(HANOI), OTHER_PROVINCE) is None
    assert scope.area_within(area(HANOI), CAO_BANG) is None
    assert scope.area_within(district, NEIGHBOUR) is area(NEIGHBOUR)
    assert scope.area_within(district, GIANG_VO) is None
    assert scope.area_within(area(OWN), NEIGHBOUR) is None
    assert scope.area_within(area(OWN), "nonexistent") is None


def test_records_audit_and_dashboard_ask_the_areas_domain():
    """Issue 13, wave 2 (one rule in one place):
    the three former copies (records' within, the audit trail's
    events_in_scope, the dashboard's area_in_scope) now call portal.areas.scope; none
    spells the rule with Area.province_id / Area.parent_id itself."""
    from portal.audit import permissions as audit_permissions
    from portal.dashboard import permissions as dashboard_permissions
    from portal.dashboard import queries as dashboard_queries
    from portal.records import permissions as record_permissions

    assert record_permissions.within is scope.within
    for module in (audit_permissions, dashboard_permissions, record_permissions, dashboard_queries):
        source = inspect.getsource(module)
        assert "Area.province_id ==" not in source and "Area.parent_id ==" not in source, (
            module.__name__
        )


@pytest.mark.parametrize(
    ("level", "commune_in_district", "reached"),
    [
        ("province", True, HANOI),
        ("central", False, HANOI),
        ("ministry", False, HANOI),
        ("district", True, "D-BD"),
        ("district", False, OWN),
        ("commune", True, OWN),
        ("private", True, OWN),
    ],
)
def test_a_sites_reach_by_its_level(area, make_site, level, commune_in_district, reached):
    """Issue 16: the area a site's staff find persons in follows the site's level, said
    once here (it was written inside the records' permissions)."""
    from portal.areas.models import SiteLevel

    district = add_legacy_district("D-BD", "Quận Ba Đình (cũ)", area(HANOI))
    if commune_in_district:
        area(OWN).parent_id = district.id
    db.session.flush()
    db.session.expire_all()
    assert scope.site_reach(make_site(OWN, SiteLevel(level))).code == reached


def test_no_domain_spells_the_rule_itself():
    """Issue 16: the other copies of "the areas within X" (the accounts an administrator
    manages, the jobs a user follows, the complaint form's and the reassignment's places,
    the dashboard's complaints) now ask portal.areas.scope too: no module outside it
    compares an area's province or parent itself."""
    import pathlib

    root = pathlib.Path(scope.__file__).resolve().parents[1]
    spelled = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.parent.name != "areas"
        and (
            "Area.province_id ==" in (text := path.read_text(encoding="utf-8"))
            or "Area.parent_id ==" in text
            or ".parent_id == user" in text
        )
    }
    assert spelled == set()
    from portal.auth import permissions as auth_permissions
    from portal.jobs import permissions as job_permissions

    assert auth_permissions.area_ids_within is scope.area_ids_within
    assert job_permissions.area_ids_within is scope.area_ids_within


def test_a_sites_reach_costs_the_records_list_no_round_trip(
    client, login_as, make_person, make_site, area
):
    """Issue 16: the records list asks the scope on every request; a province-level site's
    reach comes with the logged-in user (the site, its commune and that commune's province
    in one statement beside the user's), and the scope is SQL inside the list's own
    statements: no statement looks a site or an area up by itself (there were two: the
    site, then its commune's province)."""
    from portal.areas.models import SiteLevel
    from portal.auth.models import Role

    make_person(full_name=RESIDENTS[OWN], commune_code=OWN)
    make_person(full_name=RESIDENTS[NEIGHBOUR], commune_code=NEIGHBOUR)
    site = make_site(OWN, SiteLevel.PROVINCE)
    db.session.commit()
    login_as(Role.VACCINATION_SITE, OWN, site=site)
    statements: list[str] = []

    def keep(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    engine = db.session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        body = client.get("/records").get_data(as_text=True)
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    assert RESIDENTS[OWN] in body and RESIDENTS[NEIGHBOUR] in body
    lookups = [
        s
        for s in statements
        if s.startswith("SELECT")
        and (" FROM site WHERE site.id = " in s or " FROM area WHERE area.id = " in s)
    ]
    assert lookups == []
    by_id = [s for s in statements if " FROM site " in s and " WHERE site.id = " in s]
    assert len(by_id) == 1 and " JOIN area " in by_id[0]

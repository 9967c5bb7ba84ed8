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
from tests.conftest import CAO_BANG, HANOI, NEIGHBOUR, OTHER_PROVINCE, OWN

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
    for holder, inside in ((area(HANOI), {OWN, NEIGHBOUR, GIANG_VO}),
                           (district, {OWN, NEIGHBOUR}), (area(OWN), {OWN})):
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
    for module in (audit_permissions, dashboard_permissions, record_permissions,
                   dashboard_queries):
        source = inspect.getsource(module)
        assert "Area.province_id ==" not in source and "Area.parent_id ==" not in source, \
            module.__name__

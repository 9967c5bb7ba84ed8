import sqlalchemy as sa

from portal.areas import services
from portal.areas.models import Area, AreaKind, SiteLevel
from portal.extensions import db
from tests.conftest import CAO_BANG, HANOI, NEIGHBOUR, OTHER_PROVINCE, OWN


def count(kind: AreaKind) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(Area.kind == kind))


def test_the_official_list_is_loaded_with_parent_links(area):
    assert count(AreaKind.PROVINCE) == 34
    assert count(AreaKind.COMMUNE) == 3321
    hanoi, ba_dinh = area(HANOI), area(OWN)
    assert hanoi.name == "Thành phố Hà Nội"
    assert ba_dinh.name == "Phường Ba Đình"
    assert ba_dinh.parent_id == hanoi.id == ba_dinh.province_id
    assert area(NEIGHBOUR).province_id == hanoi.id
    assert area(OTHER_PROVINCE).province_id == area(CAO_BANG).id
    orphans = db.session.scalar(
        sa.select(sa.func.count()).where(Area.kind == AreaKind.COMMUNE, Area.parent_id.is_(None))
    )
    assert orphans == 0


def test_loading_again_adds_nothing():
    assert services.load_official_areas() == {"provinces": 0, "communes": 0}


def test_a_legacy_district_sits_between_province_and_old_records(area):
    district = services.add_legacy_district("001", "Quận Ba Đình (cũ)", area(HANOI))
    assert district.kind == AreaKind.DISTRICT and district.legacy
    assert district.parent_id == area(HANOI).id


def test_sites_above_commune_level_skip_the_cleaning_procedure(make_site):
    skipping = {level for level in SiteLevel if make_site(level=level).skips_commune_cleaning}
    assert skipping == {
        SiteLevel.CENTRAL,
        SiteLevel.MINISTRY,
        SiteLevel.PROVINCE,
        SiteLevel.DISTRICT,
    }


def test_unknown_area_code_is_named(area):
    try:
        services.require_area("99999")
    except LookupError as error:
        assert "99999" in str(error)
    else:
        raise AssertionError("an unknown code must not pass")

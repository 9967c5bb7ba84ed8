"""Loading the official list of administrative units (34 provinces, 3,321 communes)."""

from __future__ import annotations

import sqlalchemy as sa
import vietnam_provinces as vp

from portal.areas.models import Area, AreaKind, Site, SiteLevel
from portal.audit import services as audit
from portal.extensions import db


def province_code(code) -> str:
    return f"{int(code):02d}"


def ward_code(code) -> str:
    return f"{int(code):05d}"


def load_official_areas(actor=None) -> dict[str, int]:
    """Insert the units the database does not have yet, set-based; report what was added."""
    existing = set(db.session.scalars(sa.select(Area.code)))
    provinces = [
        {
            "code": province_code(p.code),
            "name": p.name,
            "kind": AreaKind.PROVINCE,
            "division_type": p.division_type.value,
            "legacy": False,
        }
        for p in vp.Province.iter_all()
        if province_code(p.code) not in existing
    ]
    if provinces:
        db.session.execute(sa.insert(Area), provinces)
    province_ids = {
        code: area_id
        for code, area_id in db.session.execute(
            sa.select(Area.code, Area.id).where(Area.kind == AreaKind.PROVINCE)
        )
    }
    wards = [
        {
            "code": ward_code(w.code),
            "name": w.name,
            "kind": AreaKind.COMMUNE,
            "division_type": w.division_type.value,
            "parent_id": province_ids[province_code(w.province_code)],
            "province_id": province_ids[province_code(w.province_code)],
            "legacy": False,
        }
        for w in vp.Ward.iter_all()
        if ward_code(w.code) not in existing
    ]
    if wards:
        db.session.execute(sa.insert(Area), wards)
    added = {"provinces": len(provinces), "communes": len(wards)}
    if provinces or wards:
        audit.record(
            "areas.load",
            "area",
            None,
            {
                "provinces": [None, len(provinces)],
                "communes": [None, len(wards)],
                "source": [None, f"vietnam-provinces {vp.__data_version__}"],
            },
            actor=actor,
        )
    return added


def add_legacy_district(code: str, name: str, province: Area, actor=None) -> Area:
    """A pre-2025 district, for old records and complaints that still name one."""
    district = Area(
        code=code,
        name=name,
        kind=AreaKind.DISTRICT,
        division_type="quận/huyện (cũ)",
        parent=province,
        province=province,
        legacy=True,
    )
    db.session.add(district)
    db.session.flush()
    audit.record(
        "area.create",
        "area",
        code,
        {"name": [None, name], "province": [None, province.code]},
        actor=actor,
    )
    return district


def add_site(code: str, name: str, commune: Area, level: SiteLevel, actor=None) -> Site:
    site = Site(code=code, name=name, commune=commune, level=level)
    db.session.add(site)
    db.session.flush()
    audit.record(
        "site.create",
        "site",
        code,
        {"name": [None, name], "commune": [None, commune.code], "level": [None, level]},
        actor=actor,
    )
    return site


def area_by_code(code: str) -> Area | None:
    return db.session.scalar(sa.select(Area).where(Area.code == code))


def require_area(code: str) -> Area:
    """The area with this official code; ``LookupError`` names the unknown code."""
    area = area_by_code(code)
    if area is None:
        raise LookupError(code)
    return area

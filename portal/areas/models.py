from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.models_base import enum_column
from portal.extensions import Model


class AreaKind(enum.StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"  # legacy tier, kept for records made before July 2025
    COMMUNE = "commune"


class SiteLevel(enum.StrEnum):
    CENTRAL = "central"
    MINISTRY = "ministry"
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
    PRIVATE = "private"


# Letter 2262/BYT-CNTT, item 6: these sites sign vaccine-passport confirmations directly.
LEVELS_SKIPPING_CLEANING = frozenset(
    {SiteLevel.CENTRAL, SiteLevel.MINISTRY, SiteLevel.PROVINCE, SiteLevel.DISTRICT}
)


class Area(Model):
    __tablename__ = "area"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(10), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[AreaKind] = mapped_column(enum_column(AreaKind, "area_kind"))
    division_type: Mapped[str] = mapped_column(sa.String(40))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"), index=True)
    # Denormalised so that a province's scope is one indexed comparison.
    province_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"), index=True)
    legacy: Mapped[bool] = mapped_column(default=False)

    parent: Mapped[Area | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    province: Mapped[Area | None] = relationship(remote_side=[id], foreign_keys=[province_id])

    def __repr__(self) -> str:
        return f"<Area {self.code} {self.name}>"


class Site(Model):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    commune_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    level: Mapped[SiteLevel] = mapped_column(enum_column(SiteLevel, "site_level"))
    active: Mapped[bool] = mapped_column(default=True)

    commune: Mapped[Area] = relationship()

    @property
    def skips_commune_cleaning(self) -> bool:
        return self.level in LEVELS_SKIPPING_CLEANING

    def __repr__(self) -> str:
        return f"<Site {self.code} {self.name}>"

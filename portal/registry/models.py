"""The embedded copy of the National Population Database: extracts the police import."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models_base import c_collated, enum_column, utcnow
from portal.records.models import BirthPrecision, Sex


class RegisterExtract(Model):
    __tablename__ = "register_extract"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(200))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    row_count: Mapped[int] = mapped_column(default=0)


class RegisterEntry(Model):
    __tablename__ = "register_entry"

    id_number: Mapped[str] = mapped_column(c_collated(20), primary_key=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    sex: Mapped[Sex] = mapped_column(enum_column(Sex, "register_sex"))
    birth_date: Mapped[date]
    birth_precision: Mapped[BirthPrecision] = mapped_column(
        enum_column(BirthPrecision, "register_birth_precision")
    )
    extract_id: Mapped[int] = mapped_column(sa.ForeignKey("register_extract.id"), index=True)

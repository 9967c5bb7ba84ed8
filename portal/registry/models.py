"""The population database side: imported extracts, and each person's match result."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.clock import utcnow
from portal.core.models_base import c_collated, enum_column
from portal.extensions import Model
from portal.records.models import BirthPrecision, Sex


class ExtractMode(enum.StrEnum):
    REPLACE = "replace"  # the new file is the whole register: entries not in it are dropped
    MERGE = "merge"  # the new file adds and updates entries; the others stay


class RegisterExtract(Model):
    """One import of an extract file. Its id is the register's version number."""

    __tablename__ = "register_extract"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(200))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    row_count: Mapped[int] = mapped_column(default=0)
    mode: Mapped[ExtractMode] = mapped_column(
        enum_column(ExtractMode, "extract_mode"), default=ExtractMode.REPLACE
    )
    file_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    imported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))


class RegisterEntry(Model):
    __tablename__ = "register_entry"

    id_number: Mapped[str] = mapped_column(c_collated(20), primary_key=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    # Precomputed like the person's, so that matching compares columns in SQL.
    name_norm: Mapped[str] = mapped_column(sa.String(200), default="")
    name_folded: Mapped[str] = mapped_column(c_collated(200), default="")
    sex: Mapped[Sex] = mapped_column(enum_column(Sex, "register_sex"))
    birth_date: Mapped[date]
    birth_precision: Mapped[BirthPrecision] = mapped_column(
        enum_column(BirthPrecision, "register_birth_precision")
    )
    extract_id: Mapped[int] = mapped_column(sa.ForeignKey("register_extract.id"), index=True)
    # The commune of permanent residence: whose police (and province's administrator) may
    # change the entry (issue 14, item 1). None: not given, and then only a national act
    # (the command line, a national administrator) changes it; entries loaded before areas
    # were recorded have none.
    commune_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"))


class Outcome(enum.StrEnum):
    MATCHED = "matched"
    MISMATCH = "mismatch"
    NOT_FOUND = "not_found"
    MISSING_ID = "missing_id"
    INVALID_ID = "invalid_id"
    EXEMPT = "exempt"


class NameResult(enum.StrEnum):
    IDENTICAL = "identical"
    CASE_OR_SPACING = "case_or_spacing"
    DIACRITICS = "diacritics"
    TYPO = "typo"
    DIFFERENT = "different"


class BirthResult(enum.StrEnum):
    IDENTICAL = "identical"
    LOWER_PRECISION = "lower_precision"
    DAY_MONTH_SWAPPED = "day_month_swapped"
    DIFFERENT = "different"


class SexResult(enum.StrEnum):
    IDENTICAL = "identical"
    DIFFERENT = "different"


class MatchResult(Model):
    """The last check of one person: ID checks, then the comparison with the register."""

    __tablename__ = "match_result"
    __table_args__ = (sa.Index("ix_match_result_commune_outcome", "commune_id", "outcome"),)

    # Copies, not references: each foreign key would cost a look-up (and a row lock) per
    # row of a run that writes a million of them — a third of the insert on PostgreSQL.
    # Persons are not deleted; a service that ever deletes one deletes its result too.
    person_id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int]
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    person_version: Mapped[int]
    extract_id: Mapped[int | None]
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome, "match_outcome"))
    # The first problem the ID checks found without any register (portal.records.idcheck).
    id_issue: Mapped[str | None] = mapped_column(sa.String(30))
    name_result: Mapped[NameResult | None] = mapped_column(enum_column(NameResult, "name_result"))
    name_distance: Mapped[int | None]
    birth_result: Mapped[BirthResult | None] = mapped_column(
        enum_column(BirthResult, "birth_result")
    )
    sex_result: Mapped[SexResult | None] = mapped_column(enum_column(SexResult, "sex_result"))

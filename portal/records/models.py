from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.areas.models import Area, Site
from portal.core.clock import utcnow
from portal.core.models_base import c_collated, enum_column
from portal.extensions import Model


class Sex(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


class BirthPrecision(enum.StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class IdKind(enum.StrEnum):
    CCCD = "cccd"  # 12-digit citizen identity card / personal ID number
    CMND = "cmnd"  # old 9-digit identity card
    PASSPORT = "passport"
    NONE = "none"


class PersonStatus(enum.StrEnum):
    UNVERIFIED = "unverified"
    MISSING_ID = "missing_id"
    INVALID_ID = "invalid_id"
    MISMATCH = "mismatch"
    NOT_FOUND = "not_found"
    MATCHED = "matched"
    VERIFIED = "verified"
    CONFIRMED = "confirmed"
    NEEDS_RECONFIRMATION = "needs_reconfirmation"
    EXEMPT = "exempt"


# The groups of statuses that one figure counts (the dashboard's cards, shares, deadlines)
# and that the record list filters on, so that a figure opens the very records it counts.
# A record is clean once it agrees with the register, was vouched for, or is exempt.
CLEANED = frozenset(
    {
        PersonStatus.MATCHED,
        PersonStatus.VERIFIED,
        PersonStatus.CONFIRMED,
        PersonStatus.NEEDS_RECONFIRMATION,
        PersonStatus.EXEMPT,
    }
)
# Records someone still has to correct (the Ministry of Health's letters of April 2022: the
# head of the site that recorded them answers for them).
UNCORRECTED = frozenset(
    {
        PersonStatus.MISSING_ID,
        PersonStatus.INVALID_ID,
        PersonStatus.MISMATCH,
        PersonStatus.NOT_FOUND,
    }
)
# Nobody left to confirm: the exempt (foreigners, never verified) have nothing to confirm.
CONFIRMED_OR_EXEMPT = frozenset({PersonStatus.CONFIRMED, PersonStatus.EXEMPT})
STATUS_GROUPS: dict[str, frozenset[PersonStatus]] = {
    "cleaned": CLEANED,
    "to_correct": UNCORRECTED,
    "confirmed_or_exempt": CONFIRMED_OR_EXEMPT,
}


class Person(Model):
    __tablename__ = "person"
    # The list walks a sort index within the user's scope. Its entries end with
    # name_folded so that a name search is tested on the index alone, without reading
    # each person's row (records.queries.page_of); the count of a commune's search reads
    # the narrower ix_person_commune_folded.
    __table_args__ = (
        sa.Index("ix_person_commune_sort", "commune_id", "name_sort", "id", "name_folded"),
        sa.Index("ix_person_province_sort", "province_id", "name_sort", "id", "name_folded"),
        sa.Index("ix_person_commune_birth", "commune_id", "birth_date", "id", "name_folded"),
        sa.Index("ix_person_province_birth", "province_id", "birth_date", "id", "name_folded"),
        sa.Index("ix_person_commune_folded", "commune_id", "name_folded"),
        sa.Index("ix_person_id_number", "id_number"),
        sa.Index("ix_person_import_batch", "import_batch_id"),
        # Half of each page free (migration 0003): matching changes many statuses at once,
        # and a status change (status is in no index) then stays on its page as a heap-only
        # update that leaves the six indexes alone.
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    name_norm: Mapped[str] = mapped_column(sa.String(200), default="")
    name_folded: Mapped[str] = mapped_column(c_collated(200))
    name_sort: Mapped[str] = mapped_column(c_collated(400))
    sex: Mapped[Sex] = mapped_column(enum_column(Sex, "sex"))
    birth_date: Mapped[date]
    birth_precision: Mapped[BirthPrecision] = mapped_column(
        enum_column(BirthPrecision, "birth_precision")
    )
    id_number: Mapped[str | None] = mapped_column(c_collated(20))
    id_kind: Mapped[IdKind] = mapped_column(enum_column(IdKind, "id_kind"))
    nationality: Mapped[str] = mapped_column(sa.String(2), default="VN")
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    commune_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"))
    province_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    status: Mapped[PersonStatus] = mapped_column(
        enum_column(PersonStatus, "person_status"), default=PersonStatus.UNVERIFIED
    )
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The Excel import (portal.imports) that created the record, if one did.
    import_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batch.id"))

    commune: Mapped[Area] = relationship(foreign_keys=[commune_id])
    doses: Mapped[list[Dose]] = relationship(
        back_populates="person", order_by="Dose.dose_number", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_foreign(self) -> bool:
        return self.nationality != "VN"

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.full_name}>"


class Vaccine(Model):
    """A vaccine product: reference data, seeded by migration 0019 from the EU Digital
    COVID Certificate value sets that Vietnam's vaccine passport uses (Decision
    5772/QĐ-BYT). A dose stores ``code``; screens and documents show ``name``."""

    __tablename__ = "vaccine"

    # vaccine-medicinal-product (EU/1/20/1528 for Comirnaty, "Sputnik-V", "BBIBP-CorV" …)
    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)  # shown, in Vietnamese
    product: Mapped[str] = mapped_column(sa.String(80))  # the value set's display name
    prophylaxis_code: Mapped[str] = mapped_column(sa.String(20))  # vaccine-prophylaxis
    manufacturer_code: Mapped[str] = mapped_column(sa.String(40))  # vaccine-mah-manf
    manufacturer: Mapped[str] = mapped_column(sa.String(200))
    # Other spellings an import or an old record may carry, separated by "|".
    aliases: Mapped[str] = mapped_column(sa.String(500), default="")
    position: Mapped[int] = mapped_column(sa.SmallInteger)  # order in the lists

    def __repr__(self) -> str:
        return f"<Vaccine {self.code}>"


class Dose(Model):
    __tablename__ = "dose"
    __table_args__ = (
        sa.UniqueConstraint("person_id", "dose_number", name="uq_dose_person_number"),
        sa.Index("ix_dose_site_date", "site_id", "vaccinated_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    dose_number: Mapped[int] = mapped_column(sa.SmallInteger)
    vaccine: Mapped[str] = mapped_column(sa.String(80))  # a Vaccine.code
    lot: Mapped[str | None] = mapped_column(sa.String(40))
    vaccinated_on: Mapped[date]
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    import_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batch.id"))

    person: Mapped[Person] = relationship(back_populates="doses")
    site: Mapped[Site | None] = relationship()
    acknowledgement: Mapped[IdentityAcknowledgement | None] = relationship(
        back_populates="dose", cascade="all, delete-orphan"
    )


class IdentityAcknowledgement(Model):
    """Site staff saved the dose although the identity differed from the population
    database (or could not be checked): who, when, and exactly what was shown to them."""

    __tablename__ = "dose_identity_ack"

    dose_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dose.id", ondelete="CASCADE"), primary_key=True
    )
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)
    # [{"kind": ..., "field": ..., "result": ..., "record": ..., "register": ...,
    #   "message": ...}], as records.dose_routes.shown_differences builds them.
    differences: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)

    dose: Mapped[Dose] = relationship(back_populates="acknowledgement")


# The counters of persons and doses that the dashboard reads, kept by the database itself:
# triggers maintain them in the same transaction as every insert, update and delete of a
# person or a dose (migrations/sql/counters.*.sql): statement-level triggers with
# transition tables on PostgreSQL, so that a matching run that changes a million statuses
# adds one set-based aggregate, and row triggers on SQLite. The dashboard reads a few
# hundred counter rows instead of scanning a million persons. The bulk writers (import,
# matching) count set-based through records.tallies.


class PersonTally(Model):
    __tablename__ = "person_tally"

    commune_id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class DoseTally(Model):
    __tablename__ = "dose_tally"

    # The person's commune; site 0 = a dose recorded without a site.
    commune_id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(primary_key=True)
    vaccine: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class TallyPause(Model):
    """SQLite only: a commune whose status trigger is paused while a bulk writer (matching)
    applies one slice's status changes to the counters at once (records.tallies)."""

    __tablename__ = "tally_pause"

    commune_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)

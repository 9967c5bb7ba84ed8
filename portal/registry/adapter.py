"""The portal's one interface to the National Population Database.

Matching asks the adapter to make the register's data for a set of ID numbers available
in the ``register_entry`` table, then compares in SQL. The embedded default reads the
extract the police imported; the remote backend fetches the numbers in batches from the
service configured by ``REGISTER_URL`` and keeps them as an extract of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.registry.models import RegisterEntry, RegisterExtract

LOOKUP_CHUNK = 900  # below SQLite's bound-parameter limit


class RegisterUnavailable(Exception):
    """The register could not be asked, or answered something unusable.

    ``str(exc)`` is a Vietnamese sentence for the user; ``status`` is the HTTP status
    when the service answered with one.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RegisterRecord:
    id_number: str
    full_name: str
    sex: str
    birth_date: date
    birth_precision: str


class RegisterAdapter(Protocol):
    name: str
    # Whether ``prepare`` uses the numbers it is given: the embedded register is already
    # current, so matching does not read every person's ID number out only to pass it on.
    needs_numbers: bool

    def lookup(self, id_numbers: Sequence[str]) -> dict[str, RegisterRecord]:
        """The register's records for these numbers; absent numbers are simply missing."""
        ...

    def prepare(self, id_numbers: Sequence[str]) -> int | None:
        """Make these numbers' records current in ``register_entry``; return the extract id
        (the register version) that matching will record, or None when there is none."""
        ...


def latest_extract_id() -> int | None:
    return db.session.scalar(sa.select(sa.func.max(RegisterExtract.id)))


class LocalRegister:
    """The embedded default: the extract the police imported is the register."""

    name = "local"
    needs_numbers = False

    def lookup(self, id_numbers: Sequence[str]) -> dict[str, RegisterRecord]:
        found: dict[str, RegisterRecord] = {}
        numbers = list(dict.fromkeys(id_numbers))
        for start in range(0, len(numbers), LOOKUP_CHUNK):
            rows = db.session.scalars(
                sa.select(RegisterEntry).where(
                    RegisterEntry.id_number.in_(numbers[start : start + LOOKUP_CHUNK])
                )
            )
            for row in rows:
                found[row.id_number] = RegisterRecord(
                    row.id_number,
                    row.full_name,
                    row.sex.value,
                    row.birth_date,
                    row.birth_precision.value,
                )
        return found

    def prepare(self, id_numbers: Sequence[str]) -> int | None:
        return latest_extract_id()


def get_adapter() -> RegisterAdapter:
    url = current_app.config.get("REGISTER_URL")
    if url:
        # Function-local, a genuine cycle: the remote register implements this module's
        # protocol (its records, errors and chunk size).
        from portal.registry.remote import RemoteRegister

        return RemoteRegister(url)
    return LocalRegister()

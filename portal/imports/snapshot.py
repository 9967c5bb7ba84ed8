"""The dry run's file checks, kept with the batch, so that the commit need not read and
check the file again.

What ``validation.check_file`` found — every row's values, errors and warnings before the
database checks — is stored in ``import_batch.checked_rows`` as zlib-compressed JSON, one
list per field (a row per dose repeats its person, so persons are stored once and rows
point to them). JSON rather than pickle: reading it back cannot run code, whoever wrote
the column. With it is what it was made from: the file's SHA-256 (of the content kept with
the batch), the commune, the day (a date after it is an error) and the language of the
messages. The commit uses it only when all of these are unchanged and the format is this
module's; otherwise it reads and checks the file again. Either way the database checks
run again at commit, against the database as it is then.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from datetime import date
from typing import Any

from flask_babel import get_locale

from portal.core.clock import today_in_vietnam
from portal.imports.models import ImportBatch
from portal.imports.validation import Checked, PersonValues, Row

FORMAT = 1


def made_from(batch: ImportBatch, today: date | None = None) -> dict[str, Any]:
    """What a stored check depends on, as it is now."""
    return {
        "format": FORMAT,
        "file_sha256": hashlib.sha256(batch.content).hexdigest(),
        "commune_id": batch.commune_id,
        "day": (today or today_in_vietnam()).isoformat(),
        "locale": str(get_locale()),
    }


def pack(checked: Checked, source: dict[str, Any]) -> bytes:
    """``checked`` as ``check_file`` left it (no row matched to the database yet)."""
    rows = checked.rows
    assert all(row.existing_id is None for row in rows), "stored before the database checks"
    # Rows of one person share one PersonValues (check_file works each person out once):
    # told apart by identity, which is quicker than hashing the values.
    person_index: dict[int, int] = {}
    persons: list[PersonValues] = []
    for row in rows:
        if row.person is not None and id(row.person) not in person_index:
            person_index[id(row.person)] = len(persons)
            persons.append(row.person)
    doses = [row.dose for row in rows]
    vaccine_index: dict[str, int] = {}
    for dose in doses:
        if dose is not None and dose[1] not in vaccine_index:
            vaccine_index[dose[1]] = len(vaccine_index)
    fields = PersonValues._fields
    document = {
        "source": source,
        "persons": {
            name: [p[i] for p in persons] for i, name in enumerate(fields) if name != "birth"
        }
        | {"birth": [p.birth.toordinal() for p in persons]},
        "vaccines": list(vaccine_index),
        "rows": {
            "number": [row.number for row in rows],
            "person": [-1 if row.person is None else person_index[id(row.person)] for row in rows],
            "dose_number": [d and d[0] for d in doses],
            "vaccine": [d and vaccine_index[d[1]] for d in doses],
            "lot": [d and d[2] for d in doses],
            "day": [d and d[3].toordinal() for d in doses],
            "site": [d and d[4] for d in doses],
        },
        "issues": [
            [i, row.errors, row.warnings]
            for i, row in enumerate(rows)
            if row.errors or row.warnings
        ],
        "duplicates": [i for i, row in enumerate(rows) if row.duplicate],
    }
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(text.encode(), 1)


def unpack(blob: bytes | None, source: dict[str, Any]) -> Checked | None:
    """The stored rows, as ``check_file`` left them; None when there are none, or when
    they were made from another file, commune, day, language or format."""
    if not blob:
        return None
    try:
        document = json.loads(zlib.decompress(blob))
        if document["source"] != source:
            return None
        people = document["persons"]
        people["birth"] = [date.fromordinal(n) for n in people["birth"]]
        persons = [*map(PersonValues, *(people[name] for name in PersonValues._fields)), None]
        vaccines = document["vaccines"]
        rows = document["rows"]
        fromordinal = date.fromordinal
        doses = [
            None if number is None else (number, vaccines[vaccine], lot, fromordinal(day), site)
            for number, vaccine, lot, day, site in zip(
                rows["dose_number"],
                rows["vaccine"],
                rows["lot"],
                rows["day"],
                rows["site"],
                strict=True,
            )
        ]
        checked = Checked(
            list(map(Row, rows["number"], [persons[i] for i in rows["person"]], doses))
        )
        for i, errors, warnings in document["issues"]:
            checked.rows[i].errors = errors
            checked.rows[i].warnings = warnings
        for i in document["duplicates"]:
            checked.rows[i].duplicate = True
    except (ValueError, KeyError, TypeError, IndexError, zlib.error):
        return None  # not this format after all: the file is read again
    return checked

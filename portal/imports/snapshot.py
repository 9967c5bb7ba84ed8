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

from portal.imports.models import ImportBatch
from portal.imports.validation import Checked, PersonValues, Row

FORMAT = 1


def made_from(batch: ImportBatch, today: date | None = None) -> dict[str, Any]:
    """What a stored check depends on, as it is now."""
    return {
        "format": FORMAT,
        "file_sha256": hashlib.sha256(batch.content).hexdigest(),
        "commune_id": batch.commune_id,
        "day": (today or date.today()).isoformat(),
        "locale": str(get_locale()),
    }


def pack(checked: Checked, source: dict[str, Any]) -> bytes:
    """``checked`` as ``check_file`` left it (no row matched to the database yet)."""
    person_index: dict[PersonValues, int] = {}
    persons: list[PersonValues] = []
    vaccine_index: dict[str, int] = {}
    numbers: list[int] = []
    person_of: list[int] = []
    dose_numbers: list[int | None] = []
    vaccines: list[int | None] = []
    lots: list[str | None] = []
    days: list[int | None] = []
    sites: list[int | None] = []
    issues: list[list[Any]] = []
    duplicates: list[int] = []
    for i, row in enumerate(checked.rows):
        assert row.existing_id is None, "stored before the database checks"
        numbers.append(row.number)
        person = row.person
        if person is None:
            person_of.append(-1)
        else:
            index = person_index.get(person)
            if index is None:
                index = person_index[person] = len(persons)
                persons.append(person)
            person_of.append(index)
        dose = row.dose
        if dose is None:
            dose_numbers.append(None)
            vaccines.append(None)
            lots.append(None)
            days.append(None)
            sites.append(None)
        else:
            number, vaccine, lot, on, site_id = dose
            dose_numbers.append(number)
            vaccines.append(vaccine_index.setdefault(vaccine, len(vaccine_index)))
            lots.append(lot)
            days.append(on.toordinal())
            sites.append(site_id)
        if row.errors or row.warnings:
            issues.append([i, row.errors, row.warnings])
        if row.duplicate:
            duplicates.append(i)
    columns = list(zip(*persons, strict=True)) if persons else [()] * len(PersonValues._fields)
    births = [day.toordinal() for day in columns[PersonValues._fields.index("birth")]]
    document = {
        "source": source,
        "persons": {name: (births if name == "birth" else list(values))
                    for name, values in zip(PersonValues._fields, columns, strict=True)},
        "vaccines": list(vaccine_index),
        "rows": {"number": numbers, "person": person_of, "dose_number": dose_numbers,
                 "vaccine": vaccines, "lot": lots, "day": days, "site": sites},
        "issues": issues,
        "duplicates": duplicates,
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
        persons = [PersonValues(*values) for values in zip(
            *(people[name] for name in PersonValues._fields), strict=True)]
        vaccine_names = document["vaccines"]
        rows = document["rows"]
        checked = Checked()
        append = checked.rows.append
        for number, p, dose_number, vaccine, lot, day, site in zip(
            rows["number"], rows["person"], rows["dose_number"], rows["vaccine"],
            rows["lot"], rows["day"], rows["site"], strict=True,
        ):
            append(Row(number, persons[p] if p >= 0 else None,
                       None if dose_number is None else (
                           dose_number, vaccine_names[vaccine], lot, date.fromordinal(day),
                           site)))
        for i, errors, warnings in document["issues"]:
            checked.rows[i].errors = errors
            checked.rows[i].warnings = warnings
        for i in document["duplicates"]:
            checked.rows[i].duplicate = True
    except (ValueError, KeyError, TypeError, IndexError, zlib.error):
        return None  # not this format after all: the file is read again
    return checked

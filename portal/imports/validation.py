"""The dry run: every row of an import file checked, against itself and the database.

A row is a person (the four mandatory fields and the optional ones) and at most one dose;
a person with several doses takes one row per dose, the personal columns repeated. Each row
ends with its errors (it is rejected) and warnings (it is imported, but look at it):

- errors: a mandatory field missing; a date unreadable (Excel serial numbers, date cells,
  dd/mm/yyyy and yyyy-mm-dd text, mm/yyyy or a bare year for a birth date) or in the
  future; a malformed ID number (``portal.records.idcheck``); an unknown commune, site or
  vaccine; a dose out of order (before the previous dose, or without it); data that
  contradict another row or a dose already recorded;
- warnings: a row repeated in the file (imported once); the person already in the database
  (same ID number: matched, not created again; same name and date of birth: check it is
  not the same person); an ID number typed with spaces or dots (normalised); a CCCD that
  contradicts the sex or birth year (matching will flag the record).

Two stages: ``check_file`` (each row, then the rows against each other: what depends on the
file alone) and ``check_database`` (persons and doses already recorded, and the order of
doses with the recorded ones). The dry run runs both and keeps the first one's outcome; the
commit runs the second again, against the database as it is then.

The database is asked set-based: one query per chunk of ID numbers, per chunk of the
commune's birth dates and per chunk of matched persons' doses, each with its values in one
parameter. Each distinct date, sex or vaccine text is worked out once, and each message of
the database checks translated once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.dialects.postgresql import ARRAY

from portal.areas.models import Area, AreaKind, Site
from portal.core.clock import today_in_vietnam
from portal.core.text import fold
from portal.extensions import db
from portal.imports.parser import EXAMPLE_ID, EXAMPLE_NAME, HEADERS, KEYS, Table
from portal.records import idcheck, rules
from portal.records import vaccines as vaccine_catalogue
from portal.records.models import Dose, Person

MAX_ADDRESS = 300
MAX_LOT = 40
CHUNK = 5_000
CONTRADICTS = {idcheck.SEX_CONTRADICTS, idcheck.CENTURY_CONTRADICTS, idcheck.YEAR_CONTRADICTS}


class PersonValues(NamedTuple):
    id_number: str
    full_name: str
    folded: str
    sex: str
    birth: date
    precision: str
    nationality: str
    phone: str | None
    commune_id: int
    address: str | None


# (dose_number, vaccine, lot, vaccinated_on, site_id)
DoseValues = tuple[int, str, str | None, date, int | None]


@dataclass(slots=True)
class Row:
    number: int  # as the spreadsheet numbers it
    person: PersonValues | None = None
    dose: DoseValues | None = None
    errors: list[str] | None = None
    warnings: list[str] | None = None
    existing_id: int | None = None  # the person already in the database
    duplicate: bool = False  # repeats an earlier row: nothing of it is written

    def error(self, message: str) -> None:
        if self.errors is None:
            self.errors = []
        self.errors.append(message)

    def warn(self, message: str) -> None:
        if self.warnings is None:
            self.warnings = []
        self.warnings.append(message)


@dataclass
class Checked:
    rows: list[Row] = field(default_factory=list)

    @property
    def valid(self) -> list[Row]:
        return [r for r in self.rows if not r.errors]

    def counts(self) -> dict[str, int]:
        errors = sum(1 for r in self.rows if r.errors)
        return {
            "rows": len(self.rows),
            "valid_rows": len(self.rows) - errors,
            "error_rows": errors,
            "warning_rows": sum(1 for r in self.rows if r.warnings and not r.errors),
        }


class _Cache(dict):
    """What each distinct cell value means, worked out once: a file repeats the same few
    names, dates, vaccines and sites. Keyed by the value's type too, since True, 1 and 1.0
    are one dict key but not one cell (TRUE in a dose-number column is not dose 1)."""

    def __init__(self, meaning: Callable[[Any], Any]):
        super().__init__()
        self.meaning = meaning

    def of(self, raw: Any) -> Any:
        key = (raw.__class__, raw)
        value = self.get(key, self)
        if value is self:
            value = self[key] = self.meaning(raw)
        return value


@dataclass(slots=True)
class _DoseCells:
    """What each distinct value of a dose column means: a row per dose repeats the same few
    dose numbers, vaccines, dates and sites, so each is read once."""

    numbers: _Cache
    vaccines: _Cache
    days: _Cache
    sites: _Cache


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _filled(value: Any) -> bool:
    """``not _blank(value)``, without building a stripped copy."""
    return value is not None and (
        not isinstance(value, str) or not (value == "" or value.isspace())
    )


def _text(value: Any) -> str:
    if type(value) is str:
        return " ".join(value.split())
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    return " ".join(str(value).split())


def _shown(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def check_file(table: Table, commune: Area, today: date | None = None) -> Checked:
    """Check every row of ``table`` for an import into ``commune``, then the rows against
    each other; nothing is written. These checks depend on the file alone (and on the
    lists of communes and sites): the dry run keeps what they found with the batch
    (``portal.imports.snapshot``), and the commit runs only ``check_database`` again."""
    today = today or today_in_vietnam()
    positions = table.positions
    width = max(positions.values()) + 1
    communes = dict(
        db.session.execute(sa.select(Area.code, Area.id).where(Area.kind == AreaKind.COMMUNE)).all()
    )
    sites = dict(db.session.execute(sa.select(Site.code, Site.id)).all())
    # Each field's rule is records.rules', as at every entry point; a blank mandatory cell
    # is the import's own message.
    births = _Cache(lambda raw: rules.birth_date(raw, today=today))
    doses_on = _Cache(lambda raw: rules.vaccination_date(raw, today=today))
    sexes = _Cache(rules.sex)
    checked = Checked()

    # A column the file lacks reads one cell past its last column: rows are padded, so it
    # is always None. Plain indices, because this loop runs once per row.
    index = {key: positions.get(key, width) for key in KEYS}
    i_name, i_sex, i_birth, i_id = (
        index[k] for k in ("full_name", "sex", "birth_date", "id_number")
    )
    i_nationality, i_phone, i_commune, i_address = (
        index[k] for k in ("nationality", "phone", "commune_code", "address")
    )
    dose_columns = [
        index[k] for k in ("dose_number", "vaccine", "lot", "vaccinated_on", "site_code")
    ]
    pad = [None] * (width + 1)
    needed = max(index.values()) + 1  # width, or width + 1 when a column is missing
    personal_of = itemgetter(
        i_name, i_sex, i_birth, i_id, i_nationality, i_phone, i_commune, i_address
    )
    dose_of = itemgetter(*dose_columns)
    person_of: dict[
        tuple[Any, ...], tuple[PersonValues | None, list[str] | None, list[str] | None, Any]
    ] = {}
    names = _Cache(_name)
    dose_cells = _DoseCells(
        numbers=_Cache(_dose_number),
        vaccines=_Cache(_vaccine),
        days=doses_on,
        sites=_Cache(lambda raw: _site(raw, sites)),
    )
    # Each distinct commune code and nationality gives the same verdict on every row.
    commune_of: dict[Any, tuple[int | None, str | None]] = {}
    nationality_of: dict[Any, tuple[str | None, str | None]] = {}

    for number, cells in enumerate(table.rows[table.header_end + 1 :], start=table.header_end + 2):
        if len(cells) < needed:
            cells = [*cells, *pad[: width + 1 - len(cells)]]
        if not any(cells[:width]) or (
            _blank(cells[i_name]) and all(_blank(c) for c in cells[:width])
        ):
            continue
        if cells[i_name] == EXAMPLE_NAME and cells[i_id] == EXAMPLE_ID:
            continue  # the template's example row, left in
        row = Row(number)
        checked.rows.append(row)
        # A person with several doses repeats the personal columns: checked once.
        personal = personal_of(cells)
        known = person_of.get(personal)
        if known is None:
            probe = Row(number)
            full_name, folded = "", ""
            raw_name = cells[i_name]
            if _blank(raw_name):
                probe.error(_("Missing mandatory field: %(field)s.", field=HEADERS["full_name"]))
            else:
                named = names.of(raw_name)
                if rules.refused(named):
                    probe.error(str(named))
                else:
                    full_name, folded = named
            raw_sex = cells[i_sex]
            sex = None
            if _blank(raw_sex):
                probe.error(_("Missing mandatory field: %(field)s.", field=HEADERS["sex"]))
            else:
                sex = sexes.of(raw_sex)
                if rules.refused(sex):
                    probe.error(str(sex))
                    sex = None
            raw_birth = cells[i_birth]
            birth = births.of(raw_birth) if not _blank(raw_birth) else None
            if birth is None:
                probe.error(_("Missing mandatory field: %(field)s.", field=HEADERS["birth_date"]))
            elif rules.refused(birth):
                probe.error(str(birth))
                birth = None
            raw = cells[i_nationality]
            if raw not in nationality_of:
                nationality_of[raw] = _nationality(raw)
            nationality, problem = nationality_of[raw]
            if problem:
                probe.error(problem)
            id_number = _id_number(cells[i_id], nationality or "VN", probe)
            if id_number and sex and birth and nationality:
                # Well formed (records.rules): what is left are contradictions, which
                # matching flags.
                for issue in idcheck.check_id(id_number, sex, birth[0], birth[1], nationality):
                    if issue.code in CONTRADICTS:
                        probe.warn(
                            _("%(message)s Matching will flag this record.", message=issue.message)
                        )
            phone = rules.phone(cells[i_phone])
            if rules.refused(phone):
                probe.error(str(phone))
                phone = None
            address = _text(cells[i_address]) or None
            if address and len(address) > MAX_ADDRESS:
                probe.error(_("The address is longer than %(n)d characters.", n=MAX_ADDRESS))
            raw = cells[i_commune]
            if raw not in commune_of:
                commune_of[raw] = _commune(raw, commune, communes)
            commune_id, problem = commune_of[raw]
            if problem:
                probe.error(problem)
            candidate = None
            if not probe.errors:
                assert sex and birth and nationality and id_number and commune_id
                candidate = PersonValues(
                    id_number,
                    full_name,
                    folded,
                    sex,
                    birth[0],
                    birth[1],
                    nationality,
                    phone,
                    commune_id,
                    address,
                )
            known = person_of[personal] = (candidate, probe.errors, probe.warnings, birth)
        person, errors, warnings, birth = known
        if errors:
            row.errors = list(errors)
        if warnings:
            row.warnings = list(warnings)
        raw_dose = dose_of(cells)
        dose = None
        if any(raw_dose) and any(map(_filled, raw_dose)):
            dose = _dose(raw_dose, row, birth, dose_cells)
        if not row.errors:
            row.person = person
            row.dose = dose
    _check_within_file(checked)
    return checked


def _name(raw: Any) -> tuple[str, str] | rules.Refusal:
    full_name = rules.full_name(raw)
    if rules.refused(full_name):
        return full_name
    return full_name, fold(full_name)


def _nationality(raw: Any) -> tuple[str | None, str | None]:
    """(the country code, or None with the message saying why)."""
    code = rules.nationality(raw)
    return (None, str(code)) if rules.refused(code) else (code, None)


def _id_number(raw: Any, nationality: str, row: Row) -> str | None:
    found = rules.id_number(raw, nationality)
    if rules.refused(found):
        row.error(str(found))
        return None
    if found.number is None:
        row.error(_("Missing mandatory field: %(field)s.", field=HEADERS["id_number"]))
        return None
    if found.tidied:
        row.warn(
            _(
                "The ID number “%(typed)s” was typed with spaces or dots; it is read as "
                "%(number)s.",
                typed=_text(raw)[:40],
                number=found.number,
            )
        )
    return found.number


def _commune(raw: Any, commune: Area, communes: dict[str, int]) -> tuple[int | None, str | None]:
    """(the commune's id, or None with the message saying why)."""
    text = _text(raw)
    if not text:
        return commune.id, None
    code = text.zfill(5) if text.isdigit() else text
    found = communes.get(code)
    if found is None:
        return None, _("Unknown commune code “%(code)s”.", code=text[:20])
    if found != commune.id:
        return None, _(
            "Commune %(code)s is not the commune of this import (%(name)s, %(own)s).",
            code=code,
            name=commune.name,
            own=commune.code,
        )
    return found, None


def _dose_number(raw: Any) -> tuple[int | None, str | None]:
    """(the dose number, or None with the message saying why)."""
    if _blank(raw):
        return None, _("Missing field for the dose: %(field)s.", field=HEADERS["dose_number"])
    number = rules.dose_number(raw)
    return (None, str(number)) if rules.refused(number) else (number, None)


def _vaccine(raw: Any) -> tuple[str | None, str | None]:
    """(the vaccine's code, from its code, name or a common spelling, or None with the
    message saying why)."""
    code = rules.vaccine(raw)
    if code is None:
        return None, _("Missing field for the dose: %(field)s.", field=HEADERS["vaccine"])
    return (None, str(code)) if rules.refused(code) else (code, None)


def _site(raw: Any, sites: dict[str, int]) -> tuple[int | None, str | None]:
    """(the site's id or None when the cell is empty, or None with the message saying why)."""
    text = _text(raw)
    if not text:
        return None, None
    site_id = sites.get(text)
    if site_id is None:
        return None, _("Unknown vaccination site code “%(code)s”.", code=text[:20])
    return site_id, None


def _dose(
    values: tuple[Any, ...], row: Row, birth: tuple[date, str] | None, cells: _DoseCells
) -> DoseValues | None:
    raw_number, raw_vaccine, raw_lot, raw_on, raw_site = values
    ok = True
    number, problem = cells.numbers.of(raw_number)
    if problem:
        row.error(problem)
        ok = False
    vaccine, problem = cells.vaccines.of(raw_vaccine)
    if problem:
        row.error(problem)
        ok = False
    on: Any = None
    if _blank(raw_on):
        row.error(_("Missing field for the dose: %(field)s.", field=HEADERS["vaccinated_on"]))
        ok = False
    else:
        on = cells.days.of(raw_on)
        if rules.refused(on):
            row.error(str(on))
            ok = False
        elif birth is not None and on < birth[0]:
            row.error(
                _("The vaccination date %(day)s is before the date of birth.", day=_shown(on))
            )
            ok = False
    lot = _text(raw_lot) or None
    if lot and len(lot) > MAX_LOT:
        row.error(_("The lot number is longer than %(n)d characters.", n=MAX_LOT))
        ok = False
    site_id, problem = cells.sites.of(raw_site)
    if problem:
        row.error(problem)
        ok = False
    if not ok:
        return None
    assert number is not None and vaccine is not None
    return number, vaccine, lot, on, site_id


def _check_within_file(checked: Checked) -> None:
    """The same person, the same dose or the same name and birth date on several rows."""
    people: dict[str, Row] = {}
    doses: dict[tuple[str, int], Row] = {}
    names: dict[tuple[str, date], Row] = {}
    for row in checked.rows:
        person = row.person
        if person is None:
            continue
        key = person.id_number
        first = people.setdefault(key, row)
        if first is not row:
            assert first.person is not None
            if first.person[:7] != person[:7]:
                row.error(
                    _(
                        "ID number %(id)s is also on row %(row)d with other personal "
                        "data (name, sex, date of birth or nationality).",
                        id=key,
                        row=first.number,
                    )
                )
                continue
            if row.dose is None:
                row.duplicate = True
                row.warn(_("Repeats row %(row)d; imported once.", row=first.number))
        else:
            twin = names.setdefault((person.folded, person.birth), row)
            if twin is not row:
                row.warn(
                    _(
                        "Same name and date of birth as row %(row)d, with another ID "
                        "number: check that this is not the same person.",
                        row=twin.number,
                    )
                )
        if row.dose is not None:
            earlier = doses.setdefault((key, row.dose[0]), row)
            if earlier is not row:
                if earlier.dose == row.dose:
                    row.duplicate = True
                    row.warn(_("Repeats row %(row)d; imported once.", row=earlier.number))
                else:
                    row.error(
                        _(
                            "Dose %(n)d of this person is also on row %(row)d, with other data.",
                            n=row.dose[0],
                            row=earlier.number,
                        )
                    )


def _chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _among(column: Any, values: list[Any]) -> sa.ColumnElement[bool]:
    """``column IN (values)`` with the values in one parameter (a PostgreSQL array, a JSON
    array on SQLite): SQLAlchemy and the driver handle an IN list one value at a time, and
    for thousands of values that costs more than the query."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, values, type_=ARRAY(column.type)))
    text = json.dumps([v.isoformat() if isinstance(v, date) else v for v in values])
    return column.in_(
        sa.select(sa.column("value")).select_from(
            sa.func.json_each(sa.bindparam(None, text, type_=sa.String))
        )
    )


def check_database(checked: Checked, commune: Area) -> None:
    """Persons and doses already recorded; then the order of every person's doses. Run on
    the rows as ``check_file`` left them: it adds errors and warnings, and marks the rows
    matched to a recorded person or dose."""
    rows = [r for r in checked.rows if r.person is not None and not r.errors]
    ids = sorted({r.person.id_number for r in rows if r.person})
    existing: dict[str, tuple[int, int, str, str, date]] = {}
    for chunk in _chunks(ids):
        for pid, number, commune_id, folded, sex_value, birth in db.session.execute(
            sa.select(
                Person.id,
                Person.id_number,
                Person.commune_id,
                Person.name_folded,
                Person.sex,
                Person.birth_date,
            ).where(_among(Person.id_number, chunk))
        ):
            # Two records with one ID number: the one in this commune is the match.
            key = str(number)
            if key not in existing or commune_id == commune.id:
                existing[key] = (
                    pid,
                    commune_id,
                    folded,
                    str(getattr(sex_value, "value", sex_value)),
                    birth,
                )
    names: dict[tuple[str, date], tuple[int, str | None]] = {}
    wanted = {
        (r.person.folded, r.person.birth)
        for r in rows
        if r.person and r.person.id_number not in existing
    }
    if wanted:
        births = sorted({b for _f, b in wanted})
        for chunk in _chunks(births):
            for pid, folded, birth, id_number in db.session.execute(
                sa.select(Person.id, Person.name_folded, Person.birth_date, Person.id_number).where(
                    Person.commune_id == commune.id, _among(Person.birth_date, chunk)
                )
            ):
                if (folded, birth) in wanted:
                    names.setdefault((folded, birth), (pid, id_number))
    # Each message translated once (without arguments gettext leaves the placeholders),
    # then filled in per row: a file imported again has a warning on every row.
    elsewhere = _(
        "ID number %(id)s belongs to a record of another commune; it cannot be imported here."
    )
    differs = _(
        "Already in the database as record #%(id)d, with another name, sex or date "
        "of birth: the record is not changed (correct it on its page); only new "
        "doses are added."
    )
    same = _(
        "Already in the database as record #%(id)d: not created again; only new doses are added."
    )
    lookalike = _(
        "A record with the same name and date of birth exists (#%(id)d, ID number "
        "%(number)s): check that this is not the same person."
    )
    matched_ids: set[int] = set()
    for row in rows:
        person = row.person
        assert person is not None
        found = existing.get(person.id_number)
        if found is not None:
            pid, commune_id, folded, known_sex, birth = found
            if commune_id != commune.id:
                row.error(elsewhere % {"id": person.id_number})
                continue
            row.existing_id = pid
            matched_ids.add(pid)
            if (folded, known_sex, birth) != (person.folded, person.sex, person.birth):
                row.warn(differs % {"id": pid})
            else:
                row.warn(same % {"id": pid})
            continue
        twin = names.get((person.folded, person.birth))
        if twin is not None:
            row.warn(lookalike % {"id": twin[0], "number": twin[1] or "—"})
    recorded: dict[int, dict[int, tuple[date, str]]] = {}
    for chunk in _chunks(sorted(matched_ids)):
        for pid, dose_number, on, vaccine in db.session.execute(
            sa.select(Dose.person_id, Dose.dose_number, Dose.vaccinated_on, Dose.vaccine).where(
                _among(Dose.person_id, chunk)
            )
        ):
            recorded.setdefault(pid, {})[dose_number] = (on, vaccine)
    _check_doses(rows, recorded)


def _check_doses(rows: list[Row], recorded: dict[int, dict[int, tuple[date, str]]]) -> None:
    """Each dose against the one recorded with its number, then every person's doses in
    number order: each one after the previous, none without the previous."""
    plan: dict[str, dict[int, date]] = {}
    dose_rows: list[Row] = []
    nothing: dict[int, tuple[date, str]] = {}
    name_of = vaccine_catalogue.catalogue().name
    for row in rows:
        if row.errors or row.dose is None or row.duplicate:
            continue
        assert row.person is not None
        number, vaccine, _lot, on, _site = row.dose
        known = recorded.get(row.existing_id, nothing) if row.existing_id else nothing
        if number in known:
            known_on, known_vaccine = known[number]
            if (known_on, known_vaccine) != (on, vaccine):
                row.error(
                    _(
                        "Dose %(n)d is already recorded on %(day)s with %(vaccine)s; the "
                        "file says %(file_day)s with %(file_vaccine)s.",
                        n=number,
                        day=_shown(known_on),
                        vaccine=name_of(known_vaccine),
                        file_day=_shown(on),
                        file_vaccine=name_of(vaccine),
                    )
                )
                continue
            row.duplicate = True  # already recorded: nothing to add
        doses = plan.get(row.person.id_number)
        if doses is None:
            doses = plan[row.person.id_number] = {n: d for n, (d, _v) in known.items()}
        doses[number] = on
        dose_rows.append(row)
    for row in dose_rows:
        assert row.person is not None and row.dose is not None
        number, on = row.dose[0], row.dose[3]
        if number == 1:
            continue
        # The dose before this one is number - 1 itself, or missing.
        previous = plan[row.person.id_number].get(number - 1)
        if previous is None:
            row.error(
                _(
                    "Dose out of order: dose %(n)d without dose %(prev)d (neither in the "
                    "file nor recorded).",
                    n=number,
                    prev=number - 1,
                )
            )
        elif previous > on:
            row.error(
                _(
                    "Dose out of order: dose %(n)d (%(day)s) is before dose %(prev)d "
                    "(%(prev_day)s).",
                    n=number,
                    day=_shown(on),
                    prev=number - 1,
                    prev_day=_shown(previous),
                )
            )

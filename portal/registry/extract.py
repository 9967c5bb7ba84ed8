"""The population-register extract the police import: read, validate, load.

``parse_extract`` reads a CSV (UTF-8, with or without BOM, comma or semicolon) or XLSX
file and validates every row without touching the database; it returns the entries, or
the errors with the row (as the spreadsheet numbers it: the header is row 1) and column
where each was found. ``load_extract`` writes a valid extract in the caller's transaction:
a new ``RegisterExtract`` (the register's version), the entries, one audit event. It
flushes and never commits, so a failure anywhere leaves the previous extract as it was.

Loading is set-based and uses the driver's bulk path (COPY on PostgreSQL, executemany on
SQLite): straight into an empty register; otherwise into a temporary staging table, then
one comparison with the register and only the writes it calls for. An entry keeps the id
of the extract that last changed it, so matching re-checks only the persons whose
register data changed.

Speed matters (a 1,000,000-row extract loads in seconds): each distinct cell value is
worked out once and cached (a register has a few tens of thousands of birth dates and few
spellings of the sex; names repeat), and a file without problems is validated column by
column in loops that run in C; only a file with problems is walked row by row, to report
each one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import repeat
from operator import itemgetter
from typing import IO, Any, Final

import sqlalchemy as sa
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as ngettext

from portal.areas.models import Area, AreaKind
from portal.areas.scope import communes_within, within
from portal.audit import services as audit
from portal.core.clock import today_in_vietnam
from portal.core.dates import DAY, MIN_YEAR
from portal.core.spreadsheets import FileRejected as _FileRejected
from portal.core.spreadsheets import collector_paused as _collector_paused
from portal.core.spreadsheets import csv_rows as _csv_rows
from portal.core.spreadsheets import xlsx_rows as _xlsx_rows
from portal.core.text import fold, norm
from portal.extensions import db
from portal.records import idcheck, rules
from portal.registry import permissions
from portal.registry.adapter import LOOKUP_CHUNK
from portal.registry.models import ExtractMode, RegisterEntry, RegisterExtract

COLUMNS = ("id_number", "full_name", "sex", "birth_date")
# The commune of permanent residence, by its official code (issue 14, item 1). Optional: a
# commune's police may leave it out (their own commune is meant); a province's
# administrator must give it; a national import without it leaves the commune unknown.
COMMUNE = "commune_code"
COMMUNE_CODE_LENGTH = 5
# The same columns as Vietnamese spreadsheets often name them.
HEADER_NAMES = {
    **{name: name for name in COLUMNS},
    COMMUNE: COMMUNE,
    "so_dinh_danh": "id_number",
    "ho_ten": "full_name",
    "gioi_tinh": "sex",
    "ngay_sinh": "birth_date",
    "ma_xa": COMMUNE,
}
MAX_REPORTED = 200
# (full name, its norm(), its fold(), the three as a fragment of a COPY line)
Names = tuple[str, str, str, str]
# (birth date, precision, ISO date)
Birth = tuple[date, str, str]
# One validated row: the columns of register_entry in ROW_COLUMNS order, then the row
# number and the names as a fragment of a COPY line. The commune is its code as the file
# gives it (or None) until ``check_areas`` puts the area's id in its place.
Entry = tuple[str, str, str, str, str, str, str, Any, int, str]
COMMUNE_AT: Final = 7
ROW: Final = 8
COPY_NAMES: Final = 9


@dataclass(frozen=True)
class Issue:
    """A problem and where: ``row`` as the spreadsheet numbers it, ``column`` the header."""

    row: int | None
    column: str | None
    message: LazyString
    letter: str | None = None  # the spreadsheet's column letter


@dataclass
class ParsedExtract:
    source: str
    sha256: str
    entries: dict[str, Entry] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    error_count: int = 0
    warnings: list[Issue] = field(default_factory=list)
    warning_count: int = 0
    # Set by ``check_areas``: every entry names its commune's id (or None), and every row
    # lies within the importer's area.
    areas_checked: bool = False

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def error(
        self, row: int | None, column: str | None, message: LazyString, letter: str | None = None
    ) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(Issue(row, column, message, letter))

    def warn(
        self, row: int | None, column: str | None, message: LazyString, letter: str | None = None
    ) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_REPORTED:
            self.warnings.append(Issue(row, column, message, letter))


@dataclass(frozen=True)
class ImportSummary:
    extract_id: int
    mode: ExtractMode
    rows: int
    inserted: int
    updated: int
    deleted: int
    unchanged: int
    warnings: int


class ExtractInvalid(Exception):
    def __init__(self, parsed: ParsedExtract):
        super().__init__(f"{parsed.error_count} errors in {parsed.source}")
        self.parsed = parsed


class _NumericId(str):
    """An ID number that a workbook stored as a number: any leading zeros are lost."""


# --- reading ---------------------------------------------------------------------------------


def parse_extract(
    source: str | os.PathLike[str] | IO[bytes], filename: str | None = None
) -> ParsedExtract:
    """Read and validate a whole extract file: a path, or a binary stream and its name."""
    if isinstance(source, str | os.PathLike):
        filename = filename or os.path.basename(source)
        with open(source, "rb") as handle:
            data = handle.read()
    else:
        data = source.read()
    name = os.path.basename((filename or "").replace("\\", "/")).strip()[:200]
    parsed = ParsedExtract(source=name, sha256=hashlib.sha256(data).hexdigest())
    extension = os.path.splitext(name)[1].lower()
    try:
        if extension == ".csv":
            rows: Iterable[Sequence[Any]] = _csv_rows(data)
        elif extension == ".xlsx":
            rows = _xlsx_rows(data)
        elif extension in (".xlsm", ".xltm", ".xlam"):
            raise _FileRejected(
                _l(
                    "Macro-enabled workbooks are refused. Save the workbook as "
                    "an Excel workbook (.xlsx) without macros."
                )
            )
        else:
            raise _FileRejected(
                _l(
                    "Only CSV (.csv) and Excel (.xlsx) files can be imported; "
                    "this file is “%(name)s”.",
                    name=name or "?",
                )
            )
        del data
        with _collector_paused():
            _validate(rows, parsed)
    except _FileRejected as rejected:
        parsed.error(rejected.row, None, rejected.message)
    if parsed.ok and not parsed.entries:
        parsed.error(None, None, _l("The file has a header row but no data rows."))
    return parsed


# --- validation ------------------------------------------------------------------------------


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header(cells: Sequence[Any], row: int, parsed: ParsedExtract) -> list[int] | None:
    """The position of each of COLUMNS in the header row, then that of the commune's code
    when the file has one; or None after reporting why not."""
    positions: dict[str, int] = {}
    ok = True
    for index, cell in enumerate(cells):
        title = str(cell).replace("\ufeff", "").strip().lower() if cell is not None else ""
        if not title:
            continue
        column = HEADER_NAMES.get(title)
        if column is None:
            parsed.error(
                row,
                str(cell).strip(),
                _l(
                    "Unknown column “%(name)s”. The columns must be id_number, full_name, sex "
                    "and birth_date.",
                    name=str(cell).strip(),
                ),
                _letter(index),
            )
            ok = False
        elif column in positions:
            parsed.error(
                row, column, _l("Column “%(name)s” appears twice.", name=column), _letter(index)
            )
            ok = False
        else:
            positions[column] = index
    for column in COLUMNS:
        if column not in positions:
            parsed.error(
                row,
                column,
                _l(
                    "Column “%(name)s” is missing. The columns must be "
                    "id_number, full_name, sex and birth_date.",
                    name=column,
                ),
            )
            ok = False
    if not ok:
        return None
    return [positions[c] for c in COLUMNS] + ([positions[COMMUNE]] if COMMUNE in positions else [])


class _Values(dict):
    """A cache of what each distinct cell value means: a valid value, or the message."""

    def __init__(self, meaning: Callable[[Any], Any]):
        super().__init__()
        self.meaning = meaning
        self.invalid = False

    def __missing__(self, raw: Any) -> Any:
        value = self[raw] = self.meaning(raw)
        if isinstance(value, LazyString):
            self.invalid = True
        return value


def _validate(rows: Iterable[Sequence[Any]], parsed: ParsedExtract) -> None:
    """Validate every row. The rows are numbered as the spreadsheet does: from 1."""
    rows = list(rows)
    header = next((i for i, cells in enumerate(rows) if any(not _blank(c) for c in cells)), None)
    if header is None:
        raise _FileRejected(_l("The file is empty."))
    positions = _header(rows[header], header + 1, parsed)
    if positions is None:
        return
    body = rows[header + 1 :]
    del rows
    today = today_in_vietnam()
    # Each distinct value is worked out once: names, sexes and dates repeat.
    names = _Values(_name)
    sexes = _Values(_sex)
    births = _Values(lambda raw: _birth(raw, today))
    communes = _Values(_commune_code)
    if not _validate_columns(body, header + 2, positions, names, sexes, births, communes, parsed):
        _validate_rows(body, header + 2, positions, names, sexes, births, communes, parsed)


def _validate_columns(
    body: list[Sequence[Any]],
    first: int,
    positions: list[int],
    names: _Values,
    sexes: _Values,
    births: _Values,
    communes: _Values,
    parsed: ParsedExtract,
) -> bool:
    """The fast path, for a file without a single problem: column by column, with loops
    that run inside the interpreter's C code. At the first sign of anything unusual it
    gives up (False), and the row-by-row pass finds and reports exactly what it is."""
    try:
        columns = list(zip(*body, strict=True))  # raises unless every row is as long
    except ValueError:
        return False
    if not body or len(columns) != max(positions) + 1:
        return False
    raw_ids, raw_names, raw_sexes, raw_births = (columns[i] for i in positions[:4])
    try:
        ids = list(map(str.strip, raw_ids))
    except TypeError:  # a number or a date from a workbook
        return False
    joined = "".join(ids)
    if not (set(map(len, ids)) <= {9, 12} and joined.isdigit() and joined.isascii()):
        return False
    if not {number[:3] for number in ids if len(number) == 12} <= idcheck.PROVINCE_CODES:
        return False  # a CCCD without a birth-province code (records.rules)
    name_values = list(map(names.__getitem__, raw_names))
    sex_values = list(map(sexes.__getitem__, raw_sexes))
    birth_values = list(map(births.__getitem__, raw_births))
    commune_values: Iterable[str | None] = (
        map(communes.__getitem__, columns[positions[4]])
        if len(positions) > 4
        else repeat(None, len(ids))
    )
    if names.invalid or sexes.invalid or births.invalid:
        return False
    full_names, normed, folded, fragments = zip(*name_values, strict=True)
    _days, precisions, isos = zip(*birth_values, strict=True)
    entries = dict(
        zip(
            ids,
            zip(
                ids,
                full_names,
                normed,
                folded,
                sex_values,
                isos,
                precisions,
                commune_values,
                range(first, first + len(ids)),
                fragments,
                strict=True,
            ),
            strict=True,
        )
    )
    if len(entries) != len(ids):
        return False  # a repeated ID number: the row-by-row pass tells which
    parsed.entries = entries
    return True


def _validate_rows(
    body: list[Sequence[Any]],
    first: int,
    positions: list[int],
    names: _Values,
    sexes: _Values,
    births: _Values,
    communes: _Values,
    parsed: ParsedExtract,
) -> None:
    """Row by row: every problem, with its row and column."""
    i_id, i_name, i_sex, i_birth = positions[:4]
    i_commune = positions[4] if len(positions) > 4 else None
    letters = [_letter(i) for i in positions]
    width = max(positions) + 1
    entries = parsed.entries
    error = parsed.error

    for row_no, cells in enumerate(body, start=first):
        if len(cells) != width:
            if len(cells) < width:
                if not cells or all(_blank(c) for c in cells):
                    continue
                cells = [*cells, *[""] * (width - len(cells))]
            elif any(not _blank(c) for c in cells[width:]):
                error(
                    row_no,
                    None,
                    _l(
                        "This row has values to the right of the last column (%(letter)s).",
                        letter=_letter(width - 1),
                    ),
                )
                continue
        raw_id = cells[i_id]
        valid = True

        found = rules.id_number(raw_id)
        id_number = "" if rules.refused(found) else (found.number or "")
        if not id_number:
            if not rules.refused(found) and all(_blank(c) for c in cells):
                continue  # an empty row
            error(
                row_no,
                "id_number",
                found.message if rules.refused(found) else _l("The ID number is missing."),
                letters[0],
            )
            valid = False
        name = names[cells[i_name]]
        if type(name) is not tuple:
            error(row_no, "full_name", name, letters[1])
            valid = False
        sex = sexes[cells[i_sex]]
        if type(sex) is not str:
            error(row_no, "sex", sex, letters[2])
            valid = False
        birth = births[cells[i_birth]]
        if type(birth) is not tuple:
            error(row_no, "birth_date", birth, letters[3])
            valid = False
        if not valid:
            continue

        commune = None if i_commune is None else communes[cells[i_commune]]
        entry = (
            id_number,
            name[0],
            name[1],
            name[2],
            sex,
            birth[2],
            birth[1],
            commune,
            row_no,
            name[3],
        )
        first_seen = entries.setdefault(id_number, entry)  # type: ignore[arg-type]
        if first_seen is not entry:
            if first_seen[1] == entry[1] and first_seen[4:8] == entry[4:8]:
                parsed.warn(
                    row_no,
                    "id_number",
                    _l(
                        "ID number %(id)s repeats row %(row)d with the same data; it is imported "
                        "once.",
                        id=id_number,
                        row=first_seen[ROW],
                    ),
                    letters[0],
                )
            else:
                error(
                    row_no,
                    "id_number",
                    _l(
                        "ID number %(id)s is also on row %(row)d, with different data.",
                        id=id_number,
                        row=first_seen[ROW],
                    ),
                    letters[0],
                )


def _commune_code(raw: Any) -> str | None:
    """A commune's official code as a file gives it: blank is None; the leading zeros a
    workbook drops from a number (4 for 00004) are put back."""
    text = _number_text(raw)
    if not text:
        return None
    if text.isdigit() and text.isascii() and len(text) < COMMUNE_CODE_LENGTH:
        return text.zfill(COMMUNE_CODE_LENGTH)
    return text[:20]


def _sex(raw: Any) -> str | LazyString:
    value = rules.sex(raw)
    return value.message if rules.refused(value) else value  # type: ignore[return-value]


def _name(raw: Any) -> Names | LazyString:
    """The name with single spaces in composed Unicode, its norm() and fold() forms, and
    the three as a fragment of a COPY line."""
    full_name = rules.full_name(raw if isinstance(raw, str) else _number_text(raw))
    if rules.refused(full_name):
        return full_name.message  # type: ignore[return-value]
    normed, folded = norm(full_name), fold(full_name)
    if max(len(full_name), len(normed), len(folded)) > rules.NAME_MAX:
        return _l("The full name is longer than %(n)d characters.", n=rules.NAME_MAX)
    # COPY's text format: a backslash is the only special character left in a name whose
    # spaces are normalised (no tabs, no line breaks).
    fragment = "\t".join((full_name, normed, folded)).replace("\\", "\\\\")
    return full_name, normed, folded, fragment


def _number_text(value: Any) -> str:
    """A number from a workbook as the digits a person typed; other values as text."""
    if isinstance(value, float) and value.is_integer():
        return _NumericId(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return _NumericId(value)
    if value is None:
        return ""
    return str(value).strip()


def _birth(value: Any, today: date) -> Birth | LazyString:
    """(date, precision, ISO date) of one birth-date cell, or the message saying what is
    wrong."""
    if type(value) is str and len(value) == 10 and value.isascii():
        # The common case first: dd/mm/yyyy or yyyy-mm-dd, a real date, in range, which the
        # rule accepts too (a police extract has millions of rows); the rule decides the rest.
        try:
            if value[2] == "/" == value[5] and (value[:2] + value[3:5] + value[6:]).isdigit():
                day = date(int(value[6:]), int(value[3:5]), int(value[:2]))
            elif value[4] == "-" == value[7] and (value[:4] + value[5:7] + value[8:]).isdigit():
                day = date(int(value[:4]), int(value[5:7]), int(value[8:]))
            else:
                day = None
        except ValueError:
            day = None
        if day is not None and day.year >= MIN_YEAR and day <= today:
            return day, DAY, day.isoformat()
    read = rules.birth_date(value, today=today)
    if rules.refused(read):
        return read.message  # type: ignore[return-value]
    return read[0], read[1], read[0].isoformat()


# --- loading ---------------------------------------------------------------------------------

STAGING = "register_staging"
CHANGES = "register_changes"
DATA_COLUMNS = ("full_name", "sex", "birth_date", "birth_precision", "commune_id")
ROW_COLUMNS = (
    "id_number",
    "full_name",
    "name_norm",
    "name_folded",
    "sex",
    "birth_date",
    "birth_precision",
    "commune_id",
)
# The changed entries' before and after go into the audit trail this many to an event.
AUDIT_CHUNK = 5000
COPY_LINES = 20_000  # per write to the COPY stream
COPY_NULL = "\\N"
# A replace that changes more than this share of the register refills the table in bulk
# (its indexes built afterwards) instead of changing it row by row.
REBUILD_SHARE = 0.2


def check_areas(parsed: ParsedExtract, mode: ExtractMode | str, user: Any = None) -> None:
    """Give every entry its commune and refuse, as errors of ``parsed``, what ``user`` may
    not write (issue 14, item 1): a replacement unless national; a row whose commune is
    unknown or outside the user's area; a row for an ID number whose register entry lies
    outside it (or has no commune). Reads the database, writes nothing."""
    if parsed.areas_checked or not parsed.ok:
        return
    area = permissions.register_area(user)
    if user is not None and not permissions.can_import_extract(user):
        parsed.error(
            None,
            None,
            _l("This account may not import register extracts: the police and administrators do."),
        )
        return
    if ExtractMode(mode) == ExtractMode.REPLACE and not permissions.can_replace_register(user):
        parsed.error(
            None,
            None,
            _l(
                "Replacing the whole register is a national administrator's act; merge the file "
                "instead (its entries are added or updated, the others stay)."
            ),
        )
        return
    entries = parsed.entries
    codes = {e[COMMUNE_AT] for e in entries.values()} - {None}
    found: dict[str, int] = {}
    for start in range(0, len(codes), LOOKUP_CHUNK):
        found.update(
            db.session.execute(
                sa.select(Area.code, Area.id).where(
                    Area.code.in_(sorted(codes)[start : start + LOOKUP_CHUNK]),
                    Area.kind == AreaKind.COMMUNE,
                )
            ).all()
        )
    allowed = None if area is None else set(db.session.scalars(communes_within(area)))
    default = getattr(permissions.default_commune(user), "id", None)
    outside = 0
    if codes or default is not None or allowed is not None:
        for number, entry in sorted(entries.items(), key=lambda item: item[1][ROW]):
            code = entry[COMMUNE_AT]
            commune = default if code is None else found.get(code)
            if code is not None and commune is None:
                parsed.error(
                    entry[ROW],
                    COMMUNE,
                    _l("“%(code)s” is not the code of a commune or ward.", code=code),
                )
            elif allowed is not None and commune not in allowed:
                outside += 1
                parsed.error(
                    entry[ROW],
                    COMMUNE,
                    _l(
                        "The commune is missing: give each resident's commune in the "
                        "commune_code column."
                    )
                    if code is None
                    else _l(
                        "Commune %(code)s is outside your area (%(area)s).",
                        code=code,
                        area=getattr(area, "name", ""),
                    ),
                )
            else:
                entries[number] = (*entry[:COMMUNE_AT], commune, *entry[ROW:])
    if area is not None and outside:
        _refused_head(
            parsed,
            ngettext(
                "%(num)d row is for residents outside %(area)s: a commune's police import only "
                "their commune's residents, a province's administrator only the province's.",
                "%(num)d rows are for residents outside %(area)s: a commune's police import only "
                "their commune's residents, a province's administrator only the province's.",
                outside,
                area=area.name,
            ),
        )
    if area is not None and parsed.ok:
        _refuse_entries_outside(parsed, area)
    parsed.areas_checked = parsed.ok


def _refuse_entries_outside(parsed: ParsedExtract, area: Area) -> None:
    """An ID number already in the register under another area (or none) is not this
    importer's to change; where it is is not told."""
    entry = RegisterEntry
    outside = sa.or_(entry.commune_id.is_(None), ~within(area, entry.commune_id))
    numbers = list(parsed.entries)
    taken: list[str] = []
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        taken += db.session.scalars(
            sa.select(entry.id_number).where(
                entry.id_number.in_(numbers[start : start + LOOKUP_CHUNK]), outside
            )
        )
    for number in sorted(taken, key=lambda n: parsed.entries[n][ROW]):
        parsed.error(
            parsed.entries[number][ROW],
            "id_number",
            _l(
                "ID number %(id)s is in the register as a resident outside your area; only "
                "that area's police or administrator may change the entry.",
                id=number,
            ),
        )
    if taken:
        _refused_head(
            parsed,
            ngettext(
                "%(num)d row would change a register entry outside %(area)s.",
                "%(num)d rows would change register entries outside %(area)s.",
                len(taken),
                area=area.name,
            ),
        )


def _refused_head(parsed: ParsedExtract, message: LazyString) -> None:
    """A line above the rows it sums up (not counted as a problem of its own)."""
    parsed.errors.insert(0, Issue(None, None, message))
    del parsed.errors[MAX_REPORTED:]


def load_extract(parsed: ParsedExtract, mode: ExtractMode | str, user: Any = None) -> ImportSummary:
    """Write a valid extract as the register's new version, in the caller's transaction.

    REPLACE makes the file the whole register: entries absent from it are deleted. MERGE
    adds new ID numbers and updates changed entries; the others stay. Either way only the
    inserted and updated entries take the new extract's id; an unchanged entry keeps the
    id of the extract that last changed it, so matching re-checks only what changed.
    Flushes, never commits. What ``user`` may not write makes it raise ExtractInvalid
    (``check_areas``); no user is the command line, a national act.
    """
    check_areas(parsed, mode, user)
    if not parsed.ok:
        raise ExtractInvalid(parsed)
    mode = ExtractMode(mode)
    extract = RegisterExtract(
        source=parsed.source or "?",
        mode=mode,
        row_count=len(parsed.entries),
        file_sha256=parsed.sha256,
        imported_by_id=getattr(user, "id", None),
    )
    db.session.add(extract)
    db.session.flush()
    connection = db.session.connection()
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        # One import at a time (readers go on): what is compared is what gets changed.
        connection.exec_driver_sql("LOCK TABLE register_entry IN SHARE ROW EXCLUSIVE MODE")
    rows = len(parsed.entries)
    existing = connection.scalar(sa.select(sa.func.count()).select_from(RegisterEntry)) or 0
    with _collector_paused():
        if existing:
            inserted, updated, deleted, changed = _apply(
                connection, postgresql, parsed.entries, mode, extract.id, existing
            )
        else:
            changed = None
            with _bulk_load(connection, postgresql):
                _write(connection, postgresql, "register_entry", parsed.entries, extract.id)
            inserted, updated, deleted = rows, 0, 0
    summary = ImportSummary(
        extract_id=extract.id,
        mode=mode,
        rows=rows,
        inserted=inserted,
        updated=updated,
        deleted=deleted,
        unchanged=rows - inserted - updated,
        warnings=parsed.warning_count,
    )
    audit.record_all(
        [
            audit.Entry(
                "register.import",
                "register_extract",
                extract.id,
                {
                    "source": [None, extract.source],
                    "mode": [None, mode.value],
                    "file_sha256": [None, parsed.sha256],
                    "rows": [None, rows],
                    "inserted": [None, summary.inserted],
                    "updated": [None, summary.updated],
                    "deleted": [None, summary.deleted],
                    "unchanged": [None, summary.unchanged],
                },
            ),
            *(
                _entry_events(extract.id, changed)
                if changed is not None
                else _first_load_events(extract.id, parsed.entries)
            ),
        ],
        actor=user,
    )
    # Entries loaded in this session before the import are stale now.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, RegisterEntry):
            db.session.expire(obj)
    return summary


def import_extract(
    source: str | os.PathLike[str] | IO[bytes],
    filename: str | None,
    mode: ExtractMode | str,
    user: Any = None,
) -> tuple[ParsedExtract, ImportSummary | None]:
    """Parse, and load when the whole file is valid and ``user`` may write all of it
    (``check_areas``); nothing is written otherwise."""
    parsed = parse_extract(source, filename)
    check_areas(parsed, mode, user)
    if not parsed.ok:
        return parsed, None
    return parsed, load_extract(parsed, mode, user)


# A changed entry as the trail keeps it, before and after (None: not there): ``_line``.
Change = tuple[str | None, str | None]


def _line(number: str, name: str, sex: Any, born: Any, precision: Any, code: str) -> str:
    """One entry in the audit trail (a name holds no "|"; the birth date as ISO)."""
    return f"{number}|{name}|{sex}|{born}|{precision}|{code}"


def _commune_codes(ids: set[Any]) -> dict[Any, str]:
    """The code of each of these communes (by id), and "" for None."""
    codes: dict[Any, str] = {None: ""}
    listed = sorted(ids - {None})
    for start in range(0, len(listed), LOOKUP_CHUNK):
        codes.update(
            db.session.execute(
                sa.select(Area.id, Area.code).where(
                    Area.id.in_(listed[start : start + LOOKUP_CHUNK])
                )
            ).all()
        )
    return codes


def _first_load_events(extract_id: int, entries: dict[str, Entry]) -> list[audit.Entry]:
    """``_entry_events`` for a load into the empty register: every entry new. Built chunk
    by chunk straight from the entries (a million of them: the load's largest case)."""
    codes = _commune_codes({e[COMMUNE_AT] for e in entries.values()})
    values = list(entries.values())
    return [
        audit.Entry(
            "register.entries",
            "register_extract",
            extract_id,
            {
                "entries": [
                    None,
                    "\n".join(
                        [
                            _line(e[0], e[1], e[4], e[5], e[6], codes[e[COMMUNE_AT]])
                            for e in values[start : start + AUDIT_CHUNK]
                        ]
                    ),
                ]
            },
        )
        for start in range(0, len(values), AUDIT_CHUNK)
    ]


def _entry_events(extract_id: int, changed: list[Change]) -> list[audit.Entry]:
    """Every changed entry before → after, ``AUDIT_CHUNK`` entries to an event, as two
    blocks of lines: ``{"entries": [the lines before, the lines after]}`` (an entry added
    has no line before, one dropped none after). Two strings an event, not a value per
    entry: the chain hashes and stores a first load of a million entries in seconds."""
    events = []
    for start in range(0, len(changed), AUDIT_CHUNK):
        chunk = changed[start : start + AUDIT_CHUNK]
        events.append(
            audit.Entry(
                "register.entries",
                "register_extract",
                extract_id,
                {
                    "entries": [
                        "\n".join(b for b, _a in chunk if b is not None) or None,
                        "\n".join(a for _b, a in chunk if a is not None) or None,
                    ],
                },
            )
        )
    return events


def _apply(
    connection: sa.Connection,
    postgresql: bool,
    entries: dict[str, Entry],
    mode: ExtractMode,
    extract_id: int,
    existing: int,
) -> tuple[int, int, int, list[Change]]:
    """Bring a non-empty register to the file's content through a staging table: one
    comparison, then only the writes needed. Returns (inserted, updated, deleted) and the
    changed entries before and after, for the audit trail."""
    _create_staging(connection, postgresql)
    _write(connection, postgresql, STAGING, entries, None)
    sql = connection.exec_driver_sql
    if postgresql:
        sql(f"ANALYZE {STAGING}")
    # The commune may be unknown (NULL) on either side: compared so that NULL equals NULL.
    same = " AND ".join(
        f"e.{c} IS NOT DISTINCT FROM s.{c}"
        if c == "commune_id" and postgresql
        else f"e.{c} IS s.{c}"
        if c == "commune_id"
        else f"e.{c} = s.{c}"
        for c in DATA_COLUMNS
    )
    columns = ", ".join(ROW_COLUMNS)
    staged = ", ".join(f"s.{c}" for c in ROW_COLUMNS)
    new_id = int(extract_id)
    # One comparison of the whole file with the whole register; what differs is small.
    sql(f"DROP TABLE IF EXISTS {CHANGES}")
    sql(
        f"CREATE TEMPORARY TABLE {CHANGES} "
        + ("ON COMMIT DROP " if postgresql else "")
        + f"AS SELECT {staged}, CASE WHEN e.id_number IS NULL THEN 1 ELSE 0 END AS is_new "
        f"FROM {STAGING} s LEFT JOIN register_entry e ON e.id_number = s.id_number "
        f"WHERE e.id_number IS NULL OR NOT ({same})"
    )
    changed, inserted = connection.execute(
        sa.text(f"SELECT count(*), coalesce(sum(is_new), 0) FROM {CHANGES}")
    ).one()
    updated = changed - inserted
    matched = len(entries) - inserted
    deleted = existing - matched if mode == ExtractMode.REPLACE else 0
    # The entries that change, before and after, in ID order; then those dropped.
    data = ", ".join(f"{{0}}.{c}" for c in DATA_COLUMNS)
    rows = list(
        connection.exec_driver_sql(
            f"SELECT s.id_number, {data.format('e')}, {data.format('s')} FROM {CHANGES} s "
            "LEFT JOIN register_entry e ON e.id_number = s.id_number ORDER BY s.id_number"
        )
    )
    if deleted:
        rows += connection.exec_driver_sql(
            f"SELECT e.id_number, {data.format('e')}, NULL, NULL, NULL, NULL, NULL "
            f"FROM register_entry e WHERE NOT EXISTS (SELECT 1 FROM {STAGING} s "
            "WHERE s.id_number = e.id_number) ORDER BY e.id_number"
        )
    codes = _commune_codes({row[5] for row in rows} | {row[10] for row in rows})

    def shown(row: Sequence[Any], at: int) -> str | None:
        """The entry's columns from ``at`` (full name … commune id), or None."""
        if row[at] is None:
            return None
        return _line(row[0], row[at], row[at + 1], row[at + 2], row[at + 3], codes[row[at + 4]])

    audited = [(shown(row, 1), shown(row, 6)) for row in rows]
    if mode == ExtractMode.REPLACE and (
        inserted + updated + deleted > REBUILD_SHARE * max(existing, len(entries))
    ):
        # Much changes: refill the table in bulk. Unchanged entries keep the version
        # that last changed them, noted in the staging table before the old rows go.
        sql(
            f"UPDATE {STAGING} AS s SET extract_id = e.extract_id FROM register_entry AS e "
            f"WHERE e.id_number = s.id_number AND {same}"
        )
        sql("TRUNCATE register_entry" if postgresql else "DELETE FROM register_entry")
        with _bulk_load(connection, postgresql):
            sql(
                f"INSERT INTO register_entry ({columns}, extract_id) "
                f"SELECT {staged}, COALESCE(s.extract_id, {new_id}) FROM {STAGING} s"
            )
    else:
        if deleted:
            sql(
                f"DELETE FROM register_entry WHERE NOT EXISTS (SELECT 1 FROM {STAGING} s "
                "WHERE s.id_number = register_entry.id_number)"
            )
        if updated:
            sql(
                "UPDATE register_entry SET "
                + ", ".join(f"{c} = s.{c}" for c in ROW_COLUMNS[1:])
                + f", extract_id = {new_id} FROM {CHANGES} AS s "
                "WHERE s.id_number = register_entry.id_number AND s.is_new = 0"
            )
        if inserted:
            sql(
                f"INSERT INTO register_entry ({columns}, extract_id) "
                f"SELECT {staged}, {new_id} FROM {CHANGES} s WHERE s.is_new = 1"
            )
    sql(f"DROP TABLE {CHANGES}")
    sql(f"DROP TABLE {STAGING}")
    return inserted, updated, deleted, audited


def _create_staging(connection: sa.Connection, postgresql: bool) -> None:
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGING}")
    if postgresql:
        connection.exec_driver_sql(
            f'CREATE TEMPORARY TABLE {STAGING} (id_number varchar(20) COLLATE "C" NOT NULL, '
            "full_name varchar(200) NOT NULL, name_norm varchar(200) NOT NULL, "
            'name_folded varchar(200) COLLATE "C" NOT NULL, sex varchar(6) NOT NULL, '
            "birth_date date NOT NULL, birth_precision varchar(5) NOT NULL, "
            "commune_id integer, extract_id integer) ON COMMIT DROP"
        )
    else:
        # Keyed, so that the comparisons probe it by ID number; filled in key order.
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {STAGING} (id_number TEXT PRIMARY KEY, "
            "full_name TEXT NOT NULL, name_norm TEXT NOT NULL, name_folded TEXT NOT NULL, "
            "sex TEXT NOT NULL, birth_date TEXT NOT NULL, birth_precision TEXT NOT NULL, "
            "commune_id INTEGER, extract_id INTEGER) WITHOUT ROWID"
        )


@contextmanager
def _bulk_load(connection: sa.Connection, postgresql: bool) -> Iterator[None]:
    """Around filling an empty ``register_entry`` on PostgreSQL: its key, indexes and
    foreign keys are dropped and built again afterwards, one sort or one join each,
    which is many times faster than maintaining them row by row (PostgreSQL's manual,
    "Populating a Database"). All of it is inside the transaction: a failure restores
    them. Readers wait for the commit meanwhile."""
    sql = connection.exec_driver_sql
    if (
        not postgresql
        or not sql(
            "SELECT pg_has_role(relowner, 'USAGE') AND NOT EXISTS (SELECT 1 FROM pg_constraint "
            "WHERE confrelid = c.oid) FROM pg_class c WHERE c.oid = 'register_entry'::regclass"
        ).scalar()
    ):
        # SQLite cannot drop a key; on PostgreSQL only the table's owner may, and not
        # while another table's foreign key needs it. Then the rows go in the slow way.
        yield
        return
    constraints = sql(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'register_entry'::regclass AND contype IN ('p', 'f') "
        "ORDER BY contype DESC, conname"  # the key before the foreign keys
    ).all()
    indexes = sql(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
        "WHERE indrelid = 'register_entry'::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"
    ).all()
    sql("SET LOCAL maintenance_work_mem = '256MB'")
    for name, _definition in indexes:
        sql(f"DROP INDEX {name}")
    for name, _definition in reversed(constraints):
        sql(f"ALTER TABLE register_entry DROP CONSTRAINT {_quoted(name)}")
    yield
    for name, definition in constraints:
        if definition.startswith("PRIMARY KEY"):
            sql(f"ALTER TABLE register_entry ADD CONSTRAINT {_quoted(name)} {definition}")
    for _name, definition in indexes:
        sql(definition)
    for name, definition in constraints:
        if not definition.startswith("PRIMARY KEY"):
            sql(f"ALTER TABLE register_entry ADD CONSTRAINT {_quoted(name)} {definition}")
    sql("ANALYZE register_entry")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write(
    connection: sa.Connection,
    postgresql: bool,
    table: str,
    entries: dict[str, Entry],
    extract_id: int | None,
) -> None:
    """Fill ``table`` by the driver's bulk path: COPY on PostgreSQL, executemany in ID
    order on SQLite (its B-trees take keys fastest in order)."""
    driver = connection.connection.driver_connection
    assert driver is not None
    columns = ", ".join(ROW_COLUMNS + (("extract_id",) if extract_id is not None else ()))
    if postgresql:
        tail = "\n" if extract_id is None else f"\t{int(extract_id)}\n"
        # The commune and the end of the line, worked out once per commune.
        ends = {
            c: f"\t{COPY_NULL if c is None else int(c)}{tail}"
            for c in {e[COMMUNE_AT] for e in entries.values()}
        }
        values = list(entries.values())
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for start in range(0, len(values), COPY_LINES):
                copy.write(
                    "".join(
                        [
                            f"{e[0]}\t{e[COPY_NAMES]}\t{e[4]}\t{e[5]}\t{e[6]}{ends[e[COMMUNE_AT]]}"
                            for e in values[start : start + COPY_LINES]
                        ]
                    )
                )
        return
    placeholders = ", ".join("?" * len(ROW_COLUMNS))
    if extract_id is not None:
        placeholders += f", {int(extract_id)}"
    ordered = map(entries.__getitem__, sorted(entries))
    cursor = driver.cursor()
    try:
        # The values are validated already, and SQLite's CHECK (x IN (...)) builds its
        # list again for every row of an executemany: a third of the time. Setting the
        # pragma expires prepared statements, so it applies to this one alone.
        cursor.execute("PRAGMA ignore_check_constraints = ON")
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
            map(itemgetter(*range(len(ROW_COLUMNS))), ordered),
        )
    finally:
        cursor.execute("PRAGMA ignore_check_constraints = OFF")
        cursor.close()

"""The population register's words: its audit actions, the fields of an extract and a
match, and how a record compares with the register. Gathered by core.labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.records.labels import STATUS_LABELS
from portal.records.models import PersonStatus
from portal.registry.models import BirthResult, ExtractMode, NameResult, Outcome

ACTIONS = {
    "register.import": _l("Register extract imported"),
    "register.fetch": _l("Register records fetched from the service"),
    "register.entries": _l("Register entries changed (before → after)"),
    "registry.match": _l("Matched against the population database"),
    "person.recheck": _l("Checked again against the register"),
}

ENTITIES = {"register_extract": _l("Register extract")}

FIELDS = {
    "mode": _l("Mode"),
    "inserted": _l("Entries added"),
    "updated": _l("Entries changed"),
    "unchanged": _l("Entries unchanged"),
    "deleted": _l("Entries removed"),
    "removed": _l("Entries removed"),
    # The register's changed entries, one line each (registry.extract, issue 14 item 1).
    "entries": _l("Register entries (ID|name|sex|birth|precision|commune)"),
    "requested": _l("ID numbers asked for"),
    "batches": _l("Requests sent"),
    "adapter": _l("Register service"),
    "checked": _l("Records checked"),
    "extract": _l("Register extract"),
    "full": _l("Whole area checked"),
    "outcomes": _l("Results"),
    "status_changed": _l("Statuses changed"),
    "outcome": _l("Register check"),
    "name_result": _l("Name"),
    "birth_result": _l("Date of birth"),
    "sex_result": _l("Sex"),
}

MODE_LABELS = {
    ExtractMode.REPLACE: _l("Replace: the file becomes the whole register"),
    ExtractMode.MERGE: _l("Merge: add new ID numbers and update changed ones, keep the others"),
}
MODE_NAMES = {ExtractMode.REPLACE: _l("Replace"), ExtractMode.MERGE: _l("Merge")}

RESULT_LABELS = {
    NameResult.IDENTICAL: _l("identical"),
    NameResult.CASE_OR_SPACING: _l("only case or spacing"),
    NameResult.DIACRITICS: _l("only diacritics"),
    NameResult.TYPO: _l("a small typo"),
    NameResult.DIFFERENT: _l("different"),
    BirthResult.LOWER_PRECISION: _l("agrees at the lower precision"),
    BirthResult.DAY_MONTH_SWAPPED: _l("day and month swapped"),
}

# A match's outcome has the value of the status it leads to.
OUTCOME_LABELS = {outcome: STATUS_LABELS[PersonStatus(outcome.value)] for outcome in Outcome}

VALUES = {
    "mode": MODE_NAMES,
    "result": RESULT_LABELS,
    "name_result": RESULT_LABELS,
    "birth_result": RESULT_LABELS,
    "sex_result": RESULT_LABELS,
    "outcome": OUTCOME_LABELS,
}

"""Human names, in the user's language, for the codes the portal stores and writes.

Each domain keeps its words once, in ``portal/<domain>/labels.py``, one table per concept:

- ``ACTIONS``: the audit actions the domain records (``person.update``), as the record's
  history, the audit trail and its export all show them;
- ``ENTITIES``: the kinds of record its events name (``person``);
- ``FIELDS``: the fields its events and pages show (``birth_date``);
- ``VALUES``: a field's codes (statuses, kinds, states) by field name, ``{"status": {...}}``.

``registry()`` gathers every domain's tables into one lookup the first time a label is
asked for (a domain's module is found by that name, so core imports no domain), and
refuses two words for one code. The helpers below are the only way in: the templates get
them as globals (core.web), and exports, histories and PDFs call the same functions.
A label is a lazy string, translated when shown: a page that shows one on each of its rows
translates them once with ``translated``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal.core.clock import format_minute
from portal.core.domains import domain_modules
from portal.core.translations import kept_translations
from portal.extensions import Model, db

K = TypeVar("K")

# The fields several domains write (exports, lists, files): the other fields are their
# domain's (records, signing, feedback, ...).
FIELDS = {
    "area_id": _l("Area"),
    "area": _l("Area"),
    "rows": _l("Rows"),
    "kind": _l("Kind"),
    "state": _l("State"),
    "status": _l("Status"),
    "format": _l("File format"),
    "source": _l("Source file"),
    "filters": _l("Filters"),
    "filename": _l("File"),
    "reason": _l("Reason"),
    "name": _l("Name (of a client, area or site)"),
    "persons": _l("Persons"),
    "person_ids": _l("Persons"),
    "members": _l("Persons listed"),
    "sha256": _l("SHA-256"),
    "day": _l("Day"),
    "commune": _l("Commune / ward"),
    "province": _l("Province / city"),
    # A site's level (areas) and a signature's level (signing).
    "level": _l("Level"),
}


class LabelConflict(Exception):
    """Two domains give one code two different words."""


@dataclass
class Registry:
    actions: dict[str, Any] = field(default_factory=dict)
    entities: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)


def _source(label: Any) -> str:
    """The text a (lazy) label translates: what "the same words" means."""
    args = getattr(label, "_args", None)
    return str(args[0]) if args else str(label)


def _merge(target: dict[str, Any], table: Mapping[Any, Any], where: str) -> None:
    for code, label in table.items():
        code = getattr(code, "value", code)
        known = target.get(code)
        if known is not None and _source(known) != _source(label):
            raise LabelConflict(f"{where} {code!r}: {_source(known)!r} or {_source(label)!r}")
        target[code] = label


@cache
def registry() -> Registry:
    """Every domain's tables (``portal/<domain>/labels.py``), gathered once."""
    found = Registry()
    for module in domain_modules("labels"):
        name = module.__name__
        _merge(found.actions, getattr(module, "ACTIONS", {}), f"{name}: action")
        _merge(found.entities, getattr(module, "ENTITIES", {}), f"{name}: entity")
        _merge(found.fields, getattr(module, "FIELDS", {}), f"{name}: field")
        for attribute, table in getattr(module, "VALUES", {}).items():
            _merge(found.values.setdefault(attribute, {}), table, f"{name}: {attribute}")
    return found


def __getattr__(name: str) -> dict[str, Any]:
    """The gathered tables under their former names (read-only use)."""
    tables = {"ACTION_LABELS": "actions", "ENTITY_LABELS": "entities", "FIELD_LABELS": "fields"}
    if name in tables:
        return getattr(registry(), tables[name])
    raise AttributeError(name)


_TRANSLATED: dict[tuple[int, int], tuple[Mapping[Any, Any], Any, dict[Any, str]]] = {}
_TRANSLATED_MAX = 512


def translated(labels: Mapping[K, Any]) -> dict[K, str]:
    """The labels in the request's language: a page that shows a label on each of its rows
    translates each label once, not once a row.

    A table's words in one catalogue do not change while the process runs, so they are
    kept per table and catalogue (the record list asked for the same two tables, 22 lazy
    strings, on every request). The entry holds the table and the catalogue themselves, so
    their ids stay theirs; a table made afresh on each call only fills the cache until it
    is emptied. The caller gets its own copy."""
    catalogue = kept_translations()
    if catalogue is None:  # no request (a command), or its first string: not kept yet
        return {key: str(label) for key, label in labels.items()}
    key = (id(labels), id(catalogue))
    entry = _TRANSLATED.get(key)
    if entry is None or entry[0] is not labels or entry[1] is not catalogue:
        if len(_TRANSLATED) >= _TRANSLATED_MAX:
            _TRANSLATED.clear()
        entry = (labels, catalogue, {key: str(label) for key, label in labels.items()})
        _TRANSLATED[key] = entry
    return dict(entry[2])


class InVietnamese(Mapping[Any, str]):
    """A label table read in Vietnamese whatever the reader's language, each time it is
    read (through ``translated``): for the documents that are Vietnamese papers (the PDFs),
    which a module builds from its domain's table without translating at import."""

    def __init__(self, labels: Mapping[Any, Any]) -> None:
        self.labels = labels

    def _words(self) -> dict[Any, str]:
        with force_locale("vi"):
            return translated(self.labels)

    def __getitem__(self, code: Any) -> str:
        return self._words()[code]

    def __iter__(self):
        return iter(self.labels)

    def __len__(self) -> int:
        return len(self.labels)


def _label(table: Mapping[str, Any], code: Any, default: str | None = None) -> str:
    code = getattr(code, "value", code)
    label = table.get(code)
    if label is not None:
        return str(label)
    return str(code) if default is None else default


def action_label(action: str) -> str:
    """An audit action in words; a code nobody labelled (a new one) as it is."""
    return _label(registry().actions, action)


def entity_label(entity_type: str) -> str:
    return _label(registry().entities, entity_type)


def value_label(attribute: str, value: Any, default: str | None = None) -> str:
    """A code of a field (a status, a kind, a state) in words: ``value_label("status",
    person.status)``; the code itself (or ``default``) when it has none."""
    return _label(registry().values.get(attribute, {}), value, default)


def role_label(role) -> str:
    return value_label("role", role)


def status_label(value) -> str:
    """A person's (or a complaint's) status."""
    return value_label("status", value)


def sex_label(value) -> str:
    """Nam / Nữ for a stored sex (an enum or its value); empty when unknown."""
    return value_label("sex", value, "")


def id_kind_label(kind) -> str:
    return value_label("id_kind", kind)


def import_state_label(state) -> str:
    return value_label("state", state)


def job_label(kind: str) -> str:
    return value_label("kind", kind)


def result_label(value) -> str:
    """How a record's name, birth date or sex compares with the register's."""
    return value_label("result", value)


DATE_FIELDS = frozenset({"birth_date", "vaccinated_on", "due_on"})
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def _attribute(name: str) -> tuple[str | None, str]:
    """``dose_2.lot`` -> (``2``, ``lot``); ``full_name`` -> (None, ``full_name``)."""
    if name.startswith("dose_") and "." in name:
        number, _, attribute = name.partition(".")
        return number[5:], attribute
    return None, name


def field_label(name: str) -> str:
    dose, attribute = _attribute(name)
    label = _label(registry().fields, attribute)
    dose_word = _l("Dose")
    return f"{dose_word} {dose} · {label}" if dose else label


@cache
def _model(table: str) -> type[Any]:
    """The model of a table, found by its name: core sits below the domains that define them."""
    return next(m.class_ for m in Model.registry.mappers if m.class_.__tablename__ == table)


def change_value(name: str, value: Any) -> str:
    """A value of the audit trail as the rest of the page shows it: labels, dd/mm/yyyy, names."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):  # a check box (an account's "active"): yes or no
        return str(_l("yes") if value else _l("no"))
    _, attribute = _attribute(name)
    labels = registry().values.get(attribute, {})
    if isinstance(value, list):
        return "; ".join(_label(labels, item) for item in value) or "—"
    if isinstance(value, str | int) and not isinstance(value, bool) and value in labels:
        return str(labels[value])
    if attribute in DATE_FIELDS and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if isinstance(value, str) and _ISO_TIME.match(value):
        # A stored (UTC) time: shown in Vietnam time, as every time a person reads.
        return format_minute(datetime.fromisoformat(value))
    if (attribute in ("commune_id", "site_id") or attribute.endswith("area_id")) and isinstance(
        value, int
    ):
        place = db.session.get(_model("site" if attribute == "site_id" else "area"), value)
        return place.name if place is not None else str(value)
    return str(value)

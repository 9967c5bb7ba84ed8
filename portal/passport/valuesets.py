"""The EU DCC schema and value sets kept in ``standards/`` (see its README): read once."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

STANDARDS = Path(__file__).parent / "standards"
SCHEMA_FILE = "DCC.combined-schema.json"
DISEASE = "disease-agent-targeted"
PROPHYLAXIS = "vaccine-prophylaxis"
PRODUCT = "vaccine-medicinal-product"
HOLDER = "vaccine-mah-manf"
ENCODING = "vaccine-encoding-instructions"
COUNTRY = "country-2-codes"
COVID_19 = "840539006"  # disease-agent-targeted: the only disease the value set lists


@cache
def _read(name: str) -> dict[str, Any]:
    return json.loads((STANDARDS / name).read_text(encoding="utf-8"))


def values(value_set: str) -> dict[str, dict[str, Any]]:
    """A value set's entries by code (``{"display": ..., "active": ...}``)."""
    return _read(f"{value_set}.json")["valueSetValues"]


def schema() -> dict[str, Any]:
    return _read(SCHEMA_FILE)


def schema_version() -> str:
    """ "1.3.3", from the schema's ``$comment`` ("Schema version 1.3.3")."""
    return schema()["$comment"].rsplit(" ", 1)[-1]


@cache
def validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    return cls(schema(), format_checker=cls.FORMAT_CHECKER)


def schema_errors(payload: dict[str, Any]) -> list[str]:
    """What the published schema finds wrong with a payload (empty: valid)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator().iter_errors(payload), key=lambda e: list(e.path))
    ]


def code_errors(entry: dict[str, Any]) -> list[str]:
    """Codes of a vaccination entry that are not (active) in the value sets, or a product
    and holder that the encoding instructions do not pair."""
    errors = []
    for key, value_set in (("tg", DISEASE), ("vp", PROPHYLAXIS), ("mp", PRODUCT), ("ma", HOLDER)):
        found = values(value_set).get(entry.get(key, ""))
        if found is None:
            errors.append(f"{key}: {entry.get(key)!r} is not in {value_set}")
        elif not found.get("active", False):
            errors.append(f"{key}: {entry.get(key)!r} is inactive in {value_set}")
    pairs = {
        (i["vaccine-code"], i["vaccine-manufacturer"]): i["sct-codes"]
        for i in values(ENCODING).values()
    }
    sct = pairs.get((entry.get("mp"), entry.get("ma")))
    if sct is None:
        errors.append(f"mp/ma: {entry.get('mp')!r} is not encoded with {entry.get('ma')!r}")
    elif entry.get("vp") not in sct:
        errors.append(f"vp: {entry.get('vp')!r} is not a type of {entry.get('mp')!r}")
    return errors

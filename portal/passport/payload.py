"""The certificate's payload: the EU DCC (schema 1.3) vaccination certificate of one
person, from the portal's record and its vaccine table.

The vaccine table (``vaccine``, migration 0019) already holds the value-set codes: a
dose's ``vaccine`` is the vaccine-medicinal-product code (``mp``), with the product's
vaccine-prophylaxis (``vp``) and vaccine-mah-manf (``ma``) codes beside it; this module
only adds the one fact the table lacks, how many doses the primary series has.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Any

from portal.passport import icao, valuesets

DATA_VERSION = "1.3.0"  # ``ver``: the data structure of schema 1.3.x
COUNTRY = "VN"
# Doses in the primary series, by product code: Jcovden (Janssen) is one dose, every
# other product of the table two (the products' EU summaries and WHO's recommendations).
SINGLE_DOSE_PRODUCTS = frozenset({"EU/1/20/1525"})


def series_doses(product_code: str) -> int:
    return 1 if product_code in SINGLE_DOSE_PRODUCTS else 2


class Reason(enum.StrEnum):
    """Why a person is not issued a passport (labels.REASON_LABELS)."""

    NO_DOSE = "no_dose"
    INCOMPLETE = "incomplete"
    UNKNOWN_PRODUCT = "unknown_product"
    NAME_NOT_LATIN = "name_not_latin"
    BIRTH_DATE = "birth_date"
    INVALID = "invalid"
    NOT_CONFIRMED = "not_confirmed"


class NotIssuable(Exception):
    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Product:
    """A vaccine of the table, with its value-set codes."""

    code: str  # mp
    prophylaxis_code: str  # vp
    manufacturer_code: str  # ma


@dataclass(frozen=True)
class Dose:
    dose_number: int
    product_code: str
    vaccinated_on: date


@dataclass(frozen=True)
class Holder:
    full_name: str
    birth_date: date
    birth_precision: str  # "day", "month" or "year" (records.models.BirthPrecision)
    nationality: str


def name_parts(full_name: str, nationality: str) -> tuple[str, str]:
    """(family name, given names). A Vietnamese name is written family name first
    ("Nguyễn | Thị Ngọc Ánh"); a foreigner's, as the portal records it, family name last."""
    words = full_name.split()
    if len(words) < 2:
        return full_name.strip(), ""
    if nationality == COUNTRY:
        return words[0], " ".join(words[1:])
    return words[-1], " ".join(words[:-1])


def birth_date_text(day: date, precision: str) -> str:
    """``dob`` as the schema allows a partial date: "1944", "1944-05" or "1944-05-17"."""
    if not 1900 <= day.year <= 2099:
        raise NotIssuable(Reason.BIRTH_DATE, day.isoformat())
    if precision == "year":
        return f"{day.year:04d}"
    if precision == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def name(full_name: str, nationality: str) -> dict[str, str]:
    family, given = name_parts(full_name, nationality)
    try:
        out = {"fn": family, "fnt": icao.transliterate(family)}
        if given:
            out |= {"gn": given, "gnt": icao.transliterate(given)}
    except icao.NotTransliterable as error:
        raise NotIssuable(Reason.NAME_NOT_LATIN, error.character) from error
    if not out["fnt"]:
        raise NotIssuable(Reason.NAME_NOT_LATIN, full_name)
    return out


def vaccination(
    doses: list[Dose], products: dict[str, Product], issuer: str, uvci: str
) -> dict[str, Any]:
    """``v[0]``: the last dose of a complete series; ``dn``/``sd`` as the EU guidelines
    write boosters (3/3 after two doses, 2/1 after one)."""
    if not doses:
        raise NotIssuable(Reason.NO_DOSE)
    ordered = sorted(doses, key=lambda d: d.dose_number)
    for dose in ordered:
        if dose.product_code not in products:
            raise NotIssuable(Reason.UNKNOWN_PRODUCT, dose.product_code)
    last = ordered[-1]
    series = series_doses(ordered[0].product_code)
    if last.dose_number < series:
        raise NotIssuable(Reason.INCOMPLETE, f"{last.dose_number}/{series}")
    product = products[last.product_code]
    return {
        "tg": valuesets.COVID_19,
        "vp": product.prophylaxis_code,
        "mp": product.code,
        "ma": product.manufacturer_code,
        "dn": last.dose_number,
        "sd": series if series == 1 else max(last.dose_number, series),
        "dt": last.vaccinated_on.isoformat(),
        "co": COUNTRY,
        "is": issuer,
        "ci": uvci,
    }


def build(
    holder: Holder, doses: list[Dose], products: dict[str, Product], issuer: str, uvci: str
) -> dict[str, Any]:
    """The payload, checked against the published schema and value sets."""
    entry = vaccination(doses, products, issuer, uvci)
    payload = {
        "ver": DATA_VERSION,
        "nam": name(holder.full_name, holder.nationality),
        "dob": birth_date_text(holder.birth_date, holder.birth_precision),
        "v": [entry],
    }
    errors = valuesets.schema_errors(payload) + valuesets.code_errors(entry)
    if errors:
        raise NotIssuable(Reason.INVALID, "; ".join(errors))
    return payload

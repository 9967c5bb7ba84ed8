"""The vaccine catalogue: the products of the ``vaccine`` table (seeded by migration 0019)
and the one way a typed or imported vaccine becomes a code.

A dose stores the product's code from the EU DCC value set vaccine-medicinal-product, as
Vietnam's vaccine passport does (Decision 5772/QĐ-BYT); the screens, the documents and
the dashboard show the Vietnamese name. ``resolve`` accepts the code, the Vietnamese name,
the value set's product name or a common spelling ("Pfizer", "AstraZeneca", "Vero Cell"),
whatever the case and the diacritics.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import g

from portal.core.text import fold
from portal.extensions import db
from portal.records.labels import TYPE_LABELS
from portal.records.models import Vaccine


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    product: str
    prophylaxis_code: str
    manufacturer_code: str
    manufacturer: str

    @property
    def type_label(self) -> str:
        return str(TYPE_LABELS.get(self.prophylaxis_code, self.prophylaxis_code))


@dataclass(frozen=True)
class Catalogue:
    products: tuple[Product, ...]
    by_code: dict[str, Product]
    spellings: dict[str, str]  # fold(spelling) -> code

    def resolve(self, text: str | None) -> str | None:
        """The code for a code, a name or a common spelling; None when unknown."""
        if not text:
            return None
        return self.spellings.get(fold(text))

    def name(self, code: str | None) -> str:
        """The Vietnamese name of a code (the text itself if it is not one)."""
        if not code:
            return ""
        product = self.by_code.get(code)
        return product.name if product else code


def load() -> Catalogue:
    products = tuple(
        Product(v.code, v.name, v.product, v.prophylaxis_code, v.manufacturer_code, v.manufacturer)
        for v in db.session.scalars(sa.select(Vaccine).order_by(Vaccine.position, Vaccine.code))
    )
    spellings: dict[str, str] = {}
    aliases = dict(db.session.execute(sa.select(Vaccine.code, Vaccine.aliases)).all())
    for product in products:
        # The code, the name and the product name win over another product's alias.
        for text in (product.code, product.name, product.product):
            spellings[fold(text)] = product.code
    for product in products:
        for text in (aliases.get(product.code) or "").split("|"):
            if text.strip():
                spellings.setdefault(fold(text), product.code)
    return Catalogue(products, {p.code: p for p in products}, spellings)


def catalogue() -> Catalogue:
    """The catalogue, read once per request (or command, or job)."""
    found = g.get("_vaccine_catalogue")
    if found is None:
        found = g._vaccine_catalogue = load()
    return found


def name_of(code: str | None) -> str:
    return catalogue().name(code)

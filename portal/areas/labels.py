"""The areas domain's words: its audit actions and the kinds of record they name.
Gathered by core.labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "area.create": _l("Area created"),
    "areas.load": _l("Official areas loaded"),
    "site.create": _l("Vaccination site created"),
}

ENTITIES = {
    "area": _l("Area"),
    "site": _l("Vaccination site"),
}

FIELDS = {
    "provinces": _l("Provinces"),
    "communes": _l("Commune / ward"),
}

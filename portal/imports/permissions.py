"""Who may import records from a spreadsheet: the one place these rules live."""

from __future__ import annotations

from flask import abort
from flask_babel import lazy_gettext as _l

from portal.areas.models import AreaKind
from portal.auth.models import Role, User
from portal.core.navigation import MenuItem, in_blueprint
from portal.extensions import db
from portal.imports.models import ImportBatch


def can_import(user: User) -> bool:
    """Letter 2262/BYT-CNTT, step 4: the commune health station imports the people with no
    or malformed ID numbers, into its own commune."""
    return (
        bool(getattr(user, "is_authenticated", False))
        and user.role == Role.HEALTH_STATION
        and user.area.kind == AreaKind.COMMUNE
    )


def get_batch_or_404(user: User, batch_id: int) -> ImportBatch:
    """A batch of another commune answers 404: its existence is not revealed."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.commune_id != user.area_id:
        abort(404)
    return batch


# The menu's entries of this domain (core.navigation), shown to whom the rules above let in.
MENU = (
    MenuItem(
        _l("Excel import"), "imports.list_imports", can_import, in_blueprint("imports"), position=60
    ),
)

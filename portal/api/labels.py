"""The intake API's words: its audit actions and clients. Gathered by core.labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "api_client.create": _l("Intake API client created"),
    "api_client.revoke": _l("Intake API token revoked"),
}

ENTITIES = {"api_client": _l("Intake API client")}

FIELDS = {
    "expires_at": _l("Expires"),
    "revoked_at": _l("Revoked"),
}

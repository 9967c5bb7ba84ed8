"""The vaccine passport's URLs.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.passport import routes

bp = Blueprint("passport", __name__)

# routes.py: public, read by verifiers offline
bp.add_url_rule("/api/v1/dcc/trust-list", "show_trust_list", routes.show_trust_list)
bp.add_url_rule("/api/v1/dcc/revocation", "show_revocation", routes.show_revocation)

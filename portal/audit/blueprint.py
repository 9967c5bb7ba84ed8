"""The audit trail's URLs.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.audit import routes

bp = Blueprint("audit", __name__)

# routes.py
bp.add_url_rule("/audit", "show_trail", routes.show_trail, methods=["GET"])
bp.add_url_rule(
    "/audit/export.<any(xlsx, csv):fmt>", "export_trail", routes.export_trail, methods=["GET"]
)

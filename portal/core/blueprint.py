"""The portal's own URLs: the start page and the health check.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.core import routes

bp = Blueprint("core", __name__)

# routes.py
bp.add_url_rule("/", "index", routes.index, methods=["GET"])
bp.add_url_rule("/healthz", "healthz", routes.healthz, methods=["GET"])
bp.add_url_rule("/language", "post_language", routes.post_language, methods=["POST"])

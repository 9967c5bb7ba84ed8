"""The API's URLs (bearer tokens, no cookies: ``create_app`` exempts it from CSRF).

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.api import routes

bp = Blueprint("api", __name__, url_prefix="/api/v1")


# Besides its URLs: what the blueprint adds around its views and to the templates.
bp.before_request(routes.authenticate)

# routes.py
bp.add_url_rule("/openapi.json", "show_openapi", routes.show_openapi, methods=["GET"])
bp.add_url_rule("/feedback", "create_feedback", routes.create_feedback, methods=["POST"])
bp.add_url_rule("/feedback/<code>", "show_feedback", routes.show_feedback, methods=["GET"])

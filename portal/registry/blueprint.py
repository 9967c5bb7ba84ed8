"""The population register: extracts and the matching of records against it.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.registry import match_routes, routes

bp = Blueprint("registry", __name__, url_prefix="/registry")

# routes.py
bp.add_url_rule("/extracts", "list_extracts", routes.list_extracts, methods=["GET"])
bp.add_url_rule("/extracts", "post_extract", routes.post_extract, methods=["POST"])
bp.add_url_rule(
    "/extracts/<id:job_id>/replace", "post_replacement", routes.post_replacement, methods=["POST"]
)
bp.add_url_rule(
    "/extracts/<id:job_id>/discard", "post_discard", routes.post_discard, methods=["POST"]
)

# match_routes.py
bp.add_url_rule("/match", "post_match", match_routes.post_match, methods=["POST"])

"""The Excel imports' URLs.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.imports import routes

bp = Blueprint("imports", __name__, url_prefix="/imports")

# routes.py
bp.add_url_rule("", "list_imports", routes.list_imports, methods=["GET"])
bp.add_url_rule("", "post_import", routes.post_import, methods=["POST"])
bp.add_url_rule("/<id:batch_id>", "show_import", routes.show_import, methods=["GET"])
bp.add_url_rule("/<id:batch_id>/commit", "commit_import", routes.commit_import, methods=["POST"])
bp.add_url_rule(
    "/<id:batch_id>/errors.xlsx", "download_errors", routes.download_errors, methods=["GET"]
)
bp.add_url_rule("/template.xlsx", "download_template", routes.download_template, methods=["GET"])

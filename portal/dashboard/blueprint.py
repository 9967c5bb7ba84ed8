"""The dashboard's URLs.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.dashboard import routes

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

# routes.py
bp.add_url_rule("", "show_dashboard", routes.show_dashboard, methods=["GET"])
bp.add_url_rule(
    "/export.<any(xlsx, csv):fmt>", "export_dashboard", routes.export_dashboard, methods=["GET"]
)
bp.add_url_rule("/report.pdf", "report_pdf", routes.report_pdf, methods=["GET"])
bp.add_url_rule("/targets", "list_targets", routes.list_targets, methods=["GET"])
bp.add_url_rule("/targets", "create_target", routes.create_target, methods=["POST"])
bp.add_url_rule(
    "/targets/<id:target_id>/delete", "delete_target", routes.delete_target, methods=["POST"]
)

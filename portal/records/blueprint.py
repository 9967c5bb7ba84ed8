"""The record list, one record, its doses and the corrections of its identity.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.records import correction_routes, dose_routes, routes

bp = Blueprint("records", __name__, url_prefix="/records")


# Besides its URLs: what the blueprint adds around its views and to the templates.
bp.add_app_template_filter(routes.vaccine_name, "vaccine_name")
bp.app_context_processor(correction_routes.identity_helpers)

# routes.py
bp.add_url_rule("", "list_records", routes.list_records, methods=["GET"])
bp.add_url_rule("/export.csv", "export_records", routes.export_records, methods=["GET"])
bp.add_url_rule("/export.xlsx", "export_records_xlsx", routes.export_records_xlsx, methods=["GET"])
bp.add_url_rule("/<id:person_id>", "show_record", routes.show_record, methods=["GET"])

# correction_routes.py
bp.add_url_rule(
    "/<id:person_id>/identity", "show_identity", correction_routes.show_identity, methods=["GET"]
)
bp.add_url_rule(
    "/<id:person_id>/correct/<name>", "edit_field", correction_routes.edit_field, methods=["GET"]
)
bp.add_url_rule(
    "/<id:person_id>/correct/<name>", "save_field", correction_routes.save_field, methods=["POST"]
)

# dose_routes.py
bp.add_url_rule("/<id:person_id>/doses/new", "new_dose", dose_routes.new_dose, methods=["GET"])
bp.add_url_rule("/<id:person_id>/doses", "create_dose", dose_routes.create_dose, methods=["POST"])

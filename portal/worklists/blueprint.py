"""Worklists: verification, handover lists and the decision lists.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.worklists import decision_lists, handover_routes, routes

bp = Blueprint("worklists", __name__, url_prefix="/worklists")

# routes.py
bp.add_url_rule("/review", "show_review", routes.show_review, methods=["GET"])
bp.add_url_rule("/review", "post_review", routes.post_review, methods=["POST"])
bp.add_url_rule(
    "/review/export.<any(csv, xlsx):fmt>", "export_review", routes.export_review, methods=["GET"]
)

# decision_lists.py
bp.add_url_rule(
    "/<any('corrections', 'register-updates'):slug>",
    "show_decision_list",
    decision_lists.show_decision_list,
    methods=["GET"],
)
bp.add_url_rule(
    "/<any('corrections', 'register-updates'):slug>/export.<any(csv, xlsx):fmt>",
    "export_decision_list",
    decision_lists.export_decision_list,
    methods=["GET"],
)

# handover_routes.py
bp.add_url_rule("/handover", "list_handovers", handover_routes.list_handovers, methods=["GET"])
bp.add_url_rule("/handover/new", "new_handover", handover_routes.new_handover, methods=["GET"])
bp.add_url_rule(
    "/handover/new", "create_handover", handover_routes.create_handover, methods=["POST"]
)
bp.add_url_rule(
    "/handover/<id:worklist_id>", "show_handover", handover_routes.show_handover, methods=["GET"]
)
bp.add_url_rule(
    "/handover/<id:worklist_id>/<any('hand-over', 'receive', 'archive'):slug>",
    "post_handover_transition",
    handover_routes.post_handover_transition,
    methods=["POST"],
)
bp.add_url_rule(
    "/handover/<id:worklist_id>.pdf",
    "download_handover",
    handover_routes.download_handover,
    methods=["GET"],
)
bp.add_url_rule(
    "/handover/<id:worklist_id>/export.<any(csv, xlsx):fmt>",
    "export_handover",
    handover_routes.export_handover,
    methods=["GET"],
)

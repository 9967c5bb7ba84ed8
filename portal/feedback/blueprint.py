"""Citizens' complaints: the public form and status page, and the staff's queue and routing rules.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.feedback import queue_routes, routes

bp = Blueprint("feedback", __name__, url_prefix="/feedback")


# Besides its URLs: what the blueprint adds around its views and to the templates.
bp.context_processor(routes.template_helpers)
bp.context_processor(queue_routes.queue_template_helpers)

# routes.py
bp.add_url_rule("/new", "new_feedback", routes.new_feedback, methods=["GET"])
bp.add_url_rule("/places", "show_places", routes.show_places, methods=["GET"])
bp.add_url_rule("/new", "post_feedback", routes.post_feedback, methods=["POST"])
bp.add_url_rule("/received", "show_received", routes.show_received, methods=["GET"])
bp.add_url_rule("/<code>", "show_status", routes.show_status, methods=["GET"])
bp.add_url_rule("/<code>", "post_status", routes.post_status, methods=["POST"])

# queue_routes.py
bp.add_url_rule("/queue", "show_queue", queue_routes.show_queue, methods=["GET"])
bp.add_url_rule(
    "/queue/export.<any(csv, xlsx):fmt>", "export_queue", queue_routes.export_queue, methods=["GET"]
)
bp.add_url_rule(
    "/queue/<id:feedback_id>", "show_feedback", queue_routes.show_feedback, methods=["GET"]
)
bp.add_url_rule(
    "/queue/<id:feedback_id>/link", "link_person", queue_routes.link_person, methods=["POST"]
)
bp.add_url_rule(
    "/queue/<id:feedback_id>/answer",
    "answer_feedback",
    queue_routes.answer_feedback,
    methods=["POST"],
)
bp.add_url_rule(
    "/queue/<id:feedback_id>/close", "close_feedback", queue_routes.close_feedback, methods=["POST"]
)
bp.add_url_rule(
    "/queue/<id:feedback_id>/reassign",
    "reassign_feedback",
    queue_routes.reassign_feedback,
    methods=["POST"],
)
bp.add_url_rule(
    "/queue/<id:feedback_id>/attachments/<id:attachment_id>",
    "download_attachment",
    queue_routes.download_attachment,
    methods=["GET"],
)
bp.add_url_rule("/rules", "show_rules", queue_routes.show_rules, methods=["GET"])
bp.add_url_rule("/rules", "post_rule", queue_routes.post_rule, methods=["POST"])

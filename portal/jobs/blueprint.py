"""A background job's progress page and its retry.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.jobs import routes

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

# routes.py
bp.add_url_rule("/<id:job_id>", "show_job", routes.show_job, methods=["GET"])
bp.add_url_rule("/<id:job_id>/retry", "retry_job", routes.retry_job, methods=["POST"])

"""Digital signing, the signed documents and minutes, and the public verification page.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint

from portal.signing import browser_routes, permissions, routes
from portal.signing.backends import close_sessions

bp = Blueprint("signing", __name__)


@bp.record_once
def _release_tokens(state) -> None:
    """The hardware tokens' sessions are closed when the application context ends."""
    state.app.teardown_appcontext(close_sessions)


# Besides its URLs: what the blueprint adds around its views and to the templates.
bp.add_app_template_global(routes.person_documents, "person_documents")
bp.add_app_template_global(routes.locked_signers)
bp.add_app_template_global(routes.locked_signing_credential)
bp.add_app_template_global(permissions.can_enrol_browser_key)
bp.add_app_template_global(routes.account_signing)
bp.add_app_template_global(routes.signing_method_label)

# routes.py
bp.add_url_rule("/signing", "show_awaiting", routes.show_awaiting, methods=["GET"])
bp.add_url_rule("/signing/preview.pdf", "preview_pdf", routes.preview_pdf, methods=["GET"])
bp.add_url_rule("/signing/batches", "post_open_dialog", routes.post_open_dialog, methods=["POST"])
bp.add_url_rule(
    "/signing/batches/<id:batch_id>", "show_dialog", routes.show_dialog, methods=["GET"]
)
bp.add_url_rule(
    "/signing/batches/<id:batch_id>/preview.pdf",
    "preview_batch_pdf",
    routes.preview_batch_pdf,
    methods=["GET"],
)
bp.add_url_rule(
    "/signing/batches/<id:batch_id>/sign", "post_sign", routes.post_sign, methods=["POST"]
)
bp.add_url_rule(
    "/signing/documents/<id:document_id>", "show_document", routes.show_document, methods=["GET"]
)
bp.add_url_rule(
    "/signing/documents/<id:document_id>/revoke",
    "post_revoke",
    routes.post_revoke,
    methods=["POST"],
)
bp.add_url_rule(
    "/signing/documents/<id:document_id>/file",
    "download_document",
    routes.download_document,
    methods=["GET"],
)
bp.add_url_rule(
    "/signing/minutes", "post_print_minutes", routes.post_print_minutes, methods=["POST"]
)
bp.add_url_rule(
    "/signing/minutes/<id:minutes_id>", "show_minutes", routes.show_minutes, methods=["GET"]
)
bp.add_url_rule(
    "/signing/minutes/<id:minutes_id>/pdf", "minutes_pdf", routes.minutes_pdf, methods=["GET"]
)
bp.add_url_rule(
    "/signing/minutes/<id:minutes_id>/scan", "minutes_scan", routes.minutes_scan, methods=["GET"]
)
bp.add_url_rule(
    "/signing/minutes/<id:minutes_id>/scan",
    "post_minutes_scan",
    routes.post_minutes_scan,
    methods=["POST"],
)
bp.add_url_rule(
    "/signing/minutes/<id:minutes_id>/confirm",
    "post_minutes_confirm",
    routes.post_minutes_confirm,
    methods=["POST"],
)
bp.add_url_rule(
    "/signing/certificates", "post_certificates", routes.post_certificates, methods=["POST"]
)
bp.add_url_rule("/verify", "show_verify", routes.show_verify, methods=["GET"])
bp.add_url_rule("/verify", "post_verify", routes.post_verify, methods=["POST"])
bp.add_url_rule("/verify/<code>", "verify_code", routes.verify_code, methods=["GET"])
bp.add_url_rule(
    "/signing/handover/<id:worklist_id>",
    "show_handover_signing",
    routes.show_handover_signing,
    methods=["GET"],
)
bp.add_url_rule(
    "/signing/handover/<id:worklist_id>",
    "post_handover_signing",
    routes.post_handover_signing,
    methods=["POST"],
)
bp.add_url_rule(
    "/admin/accounts/<id:account_id>/signing-method",
    "post_signing_method",
    routes.post_signing_method,
    methods=["POST"],
)
bp.add_url_rule(
    "/admin/accounts/<id:account_id>/signing-csc",
    "post_csc_link",
    routes.post_csc_link,
    methods=["POST"],
)
bp.add_url_rule(
    "/admin/accounts/<id:account_id>/signing-unlock",
    "post_unlock_credential",
    routes.post_unlock_credential,
    methods=["POST"],
)

# browser_routes.py: the key in the signer's browser (enrolment, prepare, finish)
bp.add_url_rule(
    "/signing/browser-key", "show_browser_key", browser_routes.show_browser_key, methods=["GET"]
)
bp.add_url_rule(
    "/signing/browser-key", "post_browser_key", browser_routes.post_browser_key, methods=["POST"]
)
bp.add_url_rule(
    "/signing/batches/<id:batch_id>/browser-prepare",
    "post_browser_prepare",
    browser_routes.post_browser_prepare,
    methods=["POST"],
)
bp.add_url_rule(
    "/signing/handover/<id:worklist_id>/browser-prepare",
    "post_browser_prepare_handover",
    browser_routes.post_browser_prepare_handover,
    methods=["POST"],
)
bp.add_url_rule(
    "/signing/browser/<token>/finish",
    "post_browser_finish",
    browser_routes.post_browser_finish,
    methods=["POST"],
)

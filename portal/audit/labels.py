"""What each audit action and kind of record means, in words, for the trail page and its
export. One not listed here (a new one) is shown by its code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "api_client.create": _l("Intake API client created"),
    "api_client.revoke": _l("Intake API token revoked"),
    "area.create": _l("Area created"),
    "areas.load": _l("Official areas loaded"),
    "audit.export": _l("Audit trail exported"),
    "auth.login": _l("Logged in"),
    "auth.login_failed": _l("Failed login"),
    "auth.login_throttled": _l("Login refused (too many failures)"),
    "auth.logout": _l("Logged out"),
    "dashboard.export": _l("Dashboard exported"),
    "dashboard.recount": _l("Dashboard counters rebuilt"),
    "dashboard.report": _l("Progress report printed"),
    "dashboard.target_create": _l("Deadline set"),
    "dashboard.target_delete": _l("Deadline deleted"),
    "document.revoke": _l("Signed document revoked"),
    "document.sign": _l("Document signed"),
    "minutes.print": _l("Minutes printed"),
    "minutes.upload": _l("Scan of signed minutes uploaded"),
    "minutes.confirm": _l("Persons confirmed by minutes"),
    "document.verify": _l("Signed document verified"),
    "dose.create": _l("Dose recorded"),
    "feedback.answer": _l("Complaint answered"),
    "feedback.answered": _l("Complaint marked answered"),
    "feedback.create": _l("Complaint received"),
    "feedback.escalate": _l("Complaint escalated"),
    "feedback.export": _l("Complaints exported"),
    "feedback.in_progress": _l("Complaint taken in hand"),
    "feedback.link": _l("Complaint linked to a record"),
    "feedback.reassign": _l("Complaint reassigned"),
    "feedback.rejected": _l("Complaint rejected"),
    "feedback.resolved": _l("Complaint resolved"),
    "feedback.route": _l("Complaint routed"),
    "feedback.rule": _l("Routing rule changed"),
    "import.commit": _l("Excel import committed"),
    "import.upload": _l("Excel file uploaded"),
    "job.create": _l("Background job started"),
    "person.correct": _l("Record corrected"),
    "person.create": _l("Record created"),
    "person.recheck": _l("Record checked again"),
    "person.supersede_confirmation": _l("Confirmation superseded"),
    "person.update": _l("Record changed"),
    "records.bulk_create": _l("Records created in bulk"),
    "records.export": _l("Records exported"),
    "register.fetch": _l("Register queried"),
    "register.entries": _l("Register entries changed (before → after)"),
    "register.import": _l("Register extract loaded"),
    "registry.match": _l("Matched against the register"),
    "review.verified_in_person": _l("Identity verified in person"),
    "signing.credential_add": _l("Signing certificate added"),
    "signing.credential_locked": _l("Signing key locked after wrong PINs"),
    "signing.credential_unlocked": _l("Signing key unlocked"),
    "signing.pin_refused": _l("Signing PIN refused"),
    "signing.prepare": _l("Sign dialog opened (its list kept)"),
    "signing.refused": _l("Signing refused"),
    "site.create": _l("Vaccination site created"),
    "user.create": _l("Account created"),
    "user.export": _l("Accounts exported"),
    "user.password": _l("Password changed"),
    "user.update": _l("Account changed"),
    "worklist.add_correction": _l("Added to the correction list"),
    "worklist.add_handover": _l("Added to a handover list"),
    "worklist.add_register_update": _l("Added to the register updates"),
    "worklist.archive": _l("Handover list archived"),
    "worklist.create": _l("List created"),
    "worklist.export": _l("List exported"),
    "worklist.hand_over": _l("List handed over"),
    "worklist.receive": _l("Handover list received"),
}


ENTITY_LABELS = {
    "api_client": _l("Intake API client"),
    "area": _l("Area"),
    "dashboard": _l("Dashboard"),
    "feedback": _l("Complaint"),
    "feedback_queue": _l("Complaints queue"),
    "feedback_routing_rule": _l("Routing rule"),
    "import_batch": _l("Excel import"),
    "job": _l("Background job"),
    "person": _l("Record"),
    "person_list": _l("Records list"),
    "register_extract": _l("Register extract"),
    "review_list": _l("Identity review list"),
    "signed_document": _l("Signed document"),
    "signing_batch": _l("Sign dialog's list"),
    "minutes": _l("Minutes"),
    "site": _l("Vaccination site"),
    "target": _l("Deadline"),
    "user": _l("Account"),
    "worklist": _l("List"),
    "worklist_kind": _l("List"),
}


def entity_label(entity_type: str) -> str:
    label = ENTITY_LABELS.get(entity_type)
    return str(label) if label is not None else entity_type


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action

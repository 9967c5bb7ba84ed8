"""The lists domain's words: its audit actions, the kinds and states of a list and the
review's decisions. Gathered by core.labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.records.labels import STATUS_LABELS
from portal.records.models import PersonStatus
from portal.worklists.models import WorklistKind, WorklistState

ACTIONS = {
    "worklist.create": _l("List created"),
    "worklist.export": _l("List exported"),
    # A person put on a list: worklist.add_{kind}.
    "worklist.add_correction": _l("Added to the correction list"),
    "worklist.add_handover": _l("Added to a handover list"),
    "worklist.add_register_update": _l("Added to the register updates"),
    # A handover list's steps: worklist.{transition}.
    "worklist.hand_over": _l("List handed over"),
    "worklist.receive": _l("Handover list received"),
    "worklist.archive": _l("Handover list archived"),
    "review.verified_in_person": _l("Identity verified in person"),
}

ENTITIES = {
    "worklist": _l("List"),
    "worklist_kind": _l("List"),
    "review_list": _l("Identity review list"),
}

FIELDS = {
    "worklist": _l("List"),
    "document_sha256": _l("Signed list SHA-256"),
    "handed_over_at": _l("Handed over at"),
    "received_at": _l("Received at"),
    "archived_at": _l("Archived at"),
}

KIND_LABELS = {
    WorklistKind.HANDOVER: _l("Handover list"),
    WorklistKind.CORRECTION: _l("Correction list"),
    WorklistKind.REGISTER_UPDATE: _l("Register updates"),
}

STATE_LABELS = {
    WorklistState.DRAFT: _l("Draft"),
    WorklistState.HANDED_OVER: _l("Handed over"),
    WorklistState.RECEIVED: _l("Received"),
    WorklistState.ARCHIVED: _l("Archived"),
}

VALUES = {"kind": KIND_LABELS, "state": STATE_LABELS}

# What a handover list's next step is called on its buttons.
TRANSITION_LABELS = {
    "hand_over": _l("Hand over to the health station"),
    "receive": _l("Confirm receipt"),
    "archive": _l("Archive"),
}

# A decision list's filter (worklists.decision_lists): still to do (the default), done,
# or everyone listed.
DECISION_LIST_STATE_LABELS = {
    WorklistKind.CORRECTION: {
        "open": _l("Still to correct"),
        "done": _l("Corrected"),
        "all": _l("All"),
    },
    WorklistKind.REGISTER_UPDATE: {
        "open": _l("Still differing"),
        "done": _l("Now agreeing with the register"),
        "all": _l("All"),
    },
}


# The verification result a handover list prints for each person, by the status the review
# left: verified in person by the police, or matching the register.
RESULT_LABELS = {
    PersonStatus.VERIFIED: _l("Verified in person"),
    PersonStatus.MATCHED: STATUS_LABELS[PersonStatus.MATCHED],
}

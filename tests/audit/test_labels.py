"""Every action the portal records has words on the trail page."""

from __future__ import annotations

import re
from pathlib import Path

from portal.core.labels import ACTION_LABELS, ENTITY_LABELS
from portal.feedback.models import FeedbackStatus
from portal.worklists.handover import TRANSITIONS
from portal.worklists.models import WorklistKind

PORTAL = Path(__file__).resolve().parents[2] / "portal"
ENTITY = re.compile(r"(?:audit\.record\(|Entry\()\s*f?\"[a-z_.{}]+\",\s*\"([a-z_]+)\"")
LITERAL = re.compile(r"(?:audit\.record\(|Entry\(|action=)\s*\"([a-z_]+\.[a-z_]+)\"")


def test_every_recorded_action_has_a_label():
    used = set()
    for path in PORTAL.rglob("*.py"):
        used |= set(LITERAL.findall(path.read_text()))
    # The actions named at run time (feedback.{status}, worklist.{transition},
    # worklist.add_{kind}).
    used |= {f"feedback.{s.value}" for s in FeedbackStatus if s != FeedbackStatus.RECEIVED}
    used |= {f"worklist.{name}" for name in TRANSITIONS}
    used |= {f"worklist.add_{kind.value}" for kind in WorklistKind}
    assert len(used) > 40
    assert sorted(used - set(ACTION_LABELS)) == []


def test_every_kind_of_record_named_by_an_event_has_a_label():
    used = set()
    for path in PORTAL.rglob("*.py"):
        used |= set(ENTITY.findall(path.read_text()))
    assert {"person", "user", "feedback"} <= used
    assert sorted(used - set(ENTITY_LABELS)) == []

"""Helpers for the complaints tests: a valid submission, filed through the service."""

from __future__ import annotations

from datetime import date

import pytest

from portal.extensions import db
from portal.feedback import services
from portal.feedback.models import FeedbackKind

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"x" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 64


def submission(**kw) -> services.Submission:
    values = {
        "full_name": "Trần Thị Bình",
        "birth_date": date(1990, 5, 17),
        "phone": "0912345678",
        "kind": FeedbackKind.MISSING_DOSE,
        "description": "Mũi 2 của tôi không có trên hệ thống.",
        "id_number": "001190012345",
        **kw,
    }
    return services.Submission(**values)


@pytest.fixture
def file_feedback(app):
    def make(**kw):
        feedback, created = services.submit(submission(**kw))
        db.session.commit()
        return feedback

    return make

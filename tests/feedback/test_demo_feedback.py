"""The demo data include a few complaints, one for each precision of the place."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.demo import services as demo
from portal.extensions import db
from portal.feedback.models import Feedback, Precision, UnitKind


@pytest.fixture
def province_authorities():
    """The demo makes its own accounts (the feedback tests' accounts would stop it)."""
    return {}


def test_demo_complaints_cover_every_precision(app):
    demo.seed("pw-test-123")
    rows = db.session.scalars(sa.select(Feedback)).all()
    assert {f.precision for f in rows} == set(Precision)
    assert {f.unit_kind for f in rows} == {UnitKind.SITE, UnitKind.PROVINCE, UnitKind.POOL}

"""The live portal of tests/live.py: on the suite's kind of database, committed data seen
by clients in other threads."""

from __future__ import annotations

import pytest

from portal.auth.models import Role
from portal.auth.services import create_user
from tests.conftest import OWN, PASSWORD
from tests.live import at_once, live_portal, logged_in, suite_kind

pytestmark = pytest.mark.committing


def _seed() -> None:
    from portal.areas import services as area_services

    create_user(
        "police.live", PASSWORD, Role.POLICE, area_services.area_by_code(OWN), "Công an thử"
    )


def test_clients_in_threads_see_the_served_portal(tmp_path):
    with live_portal(tmp_path, _seed) as (app, base):
        with app.app_context():
            from portal.extensions import db

            assert db.engine.dialect.name == suite_kind()
        clients = [logged_in(base, "police.live", PASSWORD) for _ in range(3)]
        answers = at_once([lambda c=c: c.get(f"{base}/records", timeout=30) for c in clients])
        assert [a.status_code for a in answers] == [200, 200, 200]

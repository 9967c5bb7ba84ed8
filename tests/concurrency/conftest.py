"""Fixtures of the concurrency tests."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.core.roles import owner_engine
from portal.extensions import db
from tests.live import PROJECT, TEST_CONFIG, live_config


@pytest.fixture
def migrations(tmp_path) -> Iterator[SimpleNamespace]:
    """A new database at migration 0028 (before issue 15's unique indexes), in its app's
    context: ``engine`` (the tables' owner's), ``upgrade(revision)``, ``downgrade(revision)``."""
    directory = str(PROJECT / "migrations")
    with live_config(tmp_path) as config:
        app = create_app({**TEST_CONFIG, **config})
        with app.app_context():
            upgrade(directory=directory, revision="0028")
            with owner_engine() as engine:
                yield SimpleNamespace(
                    engine=engine,
                    upgrade=lambda revision: upgrade(directory=directory, revision=revision),
                    downgrade=lambda revision: downgrade(directory=directory, revision=revision),
                )
            db.engine.dispose()

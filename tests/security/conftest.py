"""One world per module (``world.py``), logged-in clients for each home user, and each test
inside a savepoint of the module's transaction, so that nothing a test's requests write
reaches the next test and the whole world is rolled back at the module's end."""

from __future__ import annotations

import pytest

from portal.extensions import db
from tests.conftest import csrf_token, login
from tests.security import world as world_module

# The tests manage their own transaction: the suite's per-test one is left out.
COMMITTING = pytest.mark.committing


class Session:
    """The world, the clients of its home users (by role) and their CSRF tokens."""

    def __init__(self, app, world, connection) -> None:
        self.app = app
        self.world = world
        self.connection = connection
        self.clients: dict[str, object] = {}
        self.tokens: dict[str, str] = {}


@pytest.fixture(scope="module")
def sweep_session(app, tmp_path_factory):
    folder = tmp_path_factory.mktemp("security-world")
    saved = {
        k: app.config.get(k)
        for k in (
            "DOCUMENTS_DIR",
            "UPLOADS_DIR",
            "SIGNING_DEMO_PKI_DIR",
            "SIGNING_TSA_URL",
            "SIGNING_LEVEL",
        )
    }
    with app.app_context():
        engines = db._app_engines[app]
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        db.session.remove()
        original = db.session
        engines[None] = connection
        db.session = db._make_scoped_session({"join_transaction_mode": "create_savepoint"})
        try:
            world = world_module.build(app, folder)
            usernames = dict(world.users)
            db.session.commit()
            # Closed before any request: a session still open here would hold a savepoint
            # around the requests' writes and roll them back when it closes.
            db.session.remove()
            session = Session(app, world, connection)
            for role, username in usernames.items():
                client = app.test_client()
                response = login(client, username, world_module.PASSWORD)
                assert response.status_code == 303, (role, response.status_code)
                session.clients[role] = client
                session.tokens[role] = csrf_token(client, "/verify")
            anonymous = app.test_client()
            session.clients["anonymous"] = anonymous
            session.tokens["anonymous"] = csrf_token(anonymous, "/verify")
            api = app.test_client()
            session.clients["api"] = api
            session.tokens["api"] = ""
            yield session
        finally:
            db.session.remove()
            db.session = original
            engines[None] = engine
            outer.rollback()
            connection.close()
            app.config.update(saved)


@pytest.fixture
def sweep(sweep_session):
    """The module's world, each test in a savepoint rolled back at its end."""
    savepoint = sweep_session.connection.begin_nested()
    # The cookies too: a swept POST /logout or /language must not change the next test.
    cookies = {role: dict(client._cookies) for role, client in sweep_session.clients.items()}
    try:
        yield sweep_session
    finally:
        db.session.remove()
        if savepoint.is_active:
            savepoint.rollback()
        for role, client in sweep_session.clients.items():
            client._cookies.clear()
            client._cookies.update(cookies[role])

"""Shared fixtures: one migrated database per run, each test rolled back at its end.

SQLite (a temporary file) by default; PostgreSQL when DATABASE_URL points to one. The
PostgreSQL database is wiped at the start, so its name must contain "test". With
MIGRATIONS_DATABASE_URL too, as a deployment has them (portal/core/roles.py), the tables'
owner wipes, migrates and grants, and the suite runs as DATABASE_URL's role, the
application's; a test marked ``as_owner`` runs as the owner (to tamper with the audit
trail as only the owner can).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import tempfile
from datetime import date

import pytest
import sqlalchemy as sa
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_migrate import upgrade

from portal import create_app
from portal.areas import services as area_services
from portal.areas.models import Area, Site, SiteLevel
from portal.auth.models import Role
from portal.auth.services import create_user
from portal.core.roles import app_role_name, grant_app_role, owner_engine
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import BirthPrecision, Sex
from tests.live import database_of_its_own, worker_url

# Commands speak the language of the locale they run in (portal.core.cli); the suite reads
# their output in the default language whatever the developer's locale is.
os.environ["PORTAL_LANG"] = "vi"
# The owner's URL goes to the suite's app alone: the apps other tests make (on SQLite files
# of their own) must never migrate with it. Kept under a name the portal does not read for
# pytest-xdist's workers, which this process (their controller) starts.
_owner_url = os.environ.pop("MIGRATIONS_DATABASE_URL", None) or os.environ.get(
    "TESTS_MIGRATIONS_DATABASE_URL"
)
if _owner_url:
    os.environ["TESTS_MIGRATIONS_DATABASE_URL"] = _owner_url
OWNER_URL = _owner_url if os.environ.get("DATABASE_URL") else None

# pytest-xdist (``make test`` runs ``pytest -n auto``): each worker process, "gw0", "gw1", …,
# runs on a PostgreSQL database of its own, DATABASE_URL's name plus "_gw0" (made by the
# owner in ``app`` below, dropped at its end), so that one worker's wipe and commits never
# meet another's. Its live databases (tests/live.py) follow: "<name>_gw0_live". On SQLite
# each process has its own temporary files anyway.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if WORKER and os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = worker_url(os.environ["DATABASE_URL"], WORKER)
    OWNER_URL = worker_url(OWNER_URL, WORKER) if OWNER_URL else None

PASSWORD = "mat-khau-thu-nghiem"
# Three communes of Hà Nội (neighbours) and one of Cao Bằng (another province).
HANOI = "01"
OWN = "00004"  # Phường Ba Đình
NEIGHBOUR = "00008"  # Phường Ngọc Hà
OTHER_PROVINCE = "01273"  # Phường Thục Phán, Cao Bằng
CAO_BANG = "04"
# One distinctive name per place (the records' scope tests), so a hit can only be that
# person.
RESIDENTS = {
    OWN: "Phạm Thị Ngọc Ánh",
    NEIGHBOUR: "Đặng Văn Hưởng",
    OTHER_PROVINCE: "Bế Thị Lường",  # Cao Bằng
}


def _database_url(tmp_dir: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + os.path.join(tmp_dir, "test.sqlite3")


def _wipe_postgres(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        return
    if "test" not in (engine.url.database or ""):
        raise RuntimeError("refusing to wipe a PostgreSQL database whose name lacks 'test'")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS audit_event_refuse_change() CASCADE")


class IsolatedClient(FlaskClient):
    """Each request gets its own app context, as in production.

    Tests run inside an app context (for the factories); Flask would reuse it for
    the client's requests, so ``g``, the logged-in user and the session would leak
    from one request to the next. Hiding it from the request prevents that.
    """

    def open(self, *args, **kwargs):
        # A streamed body would be read outside the copied context; read it inside.
        kwargs.setdefault("buffered", True)

        def run():
            _cv_app.set(None)
            return super(IsolatedClient, self).open(*args, **kwargs)

        return contextvars.copy_context().run(run)


def _compile_catalogues() -> None:
    """``make test`` compiles them too; this keeps a bare ``pytest`` run in Vietnamese."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in Path(__file__).parent.parent.glob("portal/translations/*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with po_path.open("rb") as po, mo_path.open("wb") as mo:
                write_mo(mo, read_po(po))


@contextlib.contextmanager
def _worker_database():
    """This worker's PostgreSQL database (see WORKER), made for the session and dropped."""
    url = os.environ.get("DATABASE_URL", "")
    if not (WORKER and url.startswith("postgres")):
        yield
        return
    with database_of_its_own(url, OWNER_URL):
        yield


@pytest.fixture(scope="session")
def app():
    _compile_catalogues()
    with tempfile.TemporaryDirectory() as tmp_dir, _worker_database():
        app = create_app(
            {
                "MIGRATIONS_DATABASE_URL": OWNER_URL,
                "TESTING": True,
                "PORTAL_ENV": "testing",
                "SQLALCHEMY_DATABASE_URI": _database_url(tmp_dir),
                "SECRET_KEY": "test-secret",
                "ARGON2_TIME_COST": 1,
                "ARGON2_MEMORY_COST": 1024,
                # Jobs run in-process, synchronously: huey's own testing mode.
                "HUEY_IMMEDIATE": True,
                # The demo's signing CA and TSA go to a temporary folder, not instance/.
                "SIGNING_DEMO_PKI_DIR": os.path.join(tmp_dir, "demo-pki"),
                # And the audit checkpoints: the checkout's own instance/ may hold those of a
                # demo run there (`make demo`, then `make test`), signed by another demo CA.
                "AUDIT_CHECKPOINT_DIR": os.path.join(tmp_dir, "audit-checkpoints"),
                # The documents and uploads too: the suite's processes (pytest-xdist's
                # workers, a SQLite and a PostgreSQL run at once) number their rows alike.
                "DOCUMENTS_DIR": os.path.join(tmp_dir, "documents"),
                "UPLOADS_DIR": os.path.join(tmp_dir, "uploads"),
            }
        )
        app.test_client_class = IsolatedClient
        with app.app_context():
            with owner_engine() as owner:
                _wipe_postgres(owner)
                upgrade(directory=os.path.join(app.root_path, "..", "migrations"))
                if OWNER_URL:
                    with owner.begin() as connection:
                        grant_app_role(connection, app_role_name() or "")
            area_services.load_official_areas()
            db.session.commit()
        yield app
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def owner(app):
    """An engine that connects as the tables' owner; the suite's own when it has one role."""
    if OWNER_URL is None:
        with app.app_context():
            engine = db.engine
        yield engine
        return
    engine = sa.create_engine(app.config["MIGRATIONS_DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _rollback(request, app):
    """Every test runs inside one outer transaction that is rolled back at its end."""
    if "committing" in request.keywords:
        yield
        return
    with app.app_context():
        engines = db._app_engines[app]
        engine = engines[None]
        as_owner = request.node.get_closest_marker("as_owner") is not None
        connection = (request.getfixturevalue("owner") if as_owner else engine).connect()
        outer = connection.begin()
        db.session.remove()
        original = db.session
        # Flask-SQLAlchemy picks its bind from ``engines``; pointing it at this connection
        # makes every commit in the code under test a SAVEPOINT release instead.
        engines[None] = connection
        db.session = db._make_scoped_session({"join_transaction_mode": "create_savepoint"})
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def area(app):
    def get(code: str) -> Area:
        found = area_services.area_by_code(code)
        assert found is not None, code
        return found

    return get


@pytest.fixture
def make_site(area):
    counter = iter(range(1, 10_000))

    def make(commune_code: str = OWN, level: SiteLevel = SiteLevel.COMMUNE, **kw) -> Site:
        n = next(counter)
        return area_services.add_site(
            kw.get("code", f"S{commune_code}-{n}"),
            kw.get("name", f"Điểm tiêm số {n}"),
            area(commune_code),
            level,
        )

    return make


@pytest.fixture
def make_user(area):
    counter = iter(range(1, 10_000))

    def make(role: Role | str = Role.HEALTH_STATION, area_code: str = OWN, **kw):
        role = Role(role)
        username = kw.pop("username", f"{role.value}.{area_code}.{next(counter)}")
        user = create_user(
            username,
            kw.pop("password", PASSWORD),
            role,
            area(area_code),
            kw.pop("display_name", f"Cán bộ {username}"),
            site=kw.pop("site", None),
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_person(area):
    def make(**kw):
        commune = area(kw.pop("commune_code", OWN))
        values = {
            "full_name": "Nguyễn Văn An",
            "sex": Sex.MALE,
            "birth_date": date(1985, 3, 14),
            "birth_precision": BirthPrecision.DAY,
            "id_number": None,
            "commune_id": commune.id,
            **kw,
        }
        person = record_services.create_person(values, reason="test fixture")
        db.session.commit()
        return person

    return make


@pytest.fixture
def make_register():
    """Load register entries as one new extract (merge: existing ID numbers are updated).
    Each entry is a dict; sex, birth date and precision default to male, 14/03/1985, day."""
    from portal.core.text import fold, norm
    from portal.registry.models import ExtractMode, RegisterEntry, RegisterExtract

    def load(*entries: dict, mode: ExtractMode = ExtractMode.MERGE) -> RegisterExtract:
        extract = RegisterExtract(source="test", mode=mode, row_count=len(entries))
        db.session.add(extract)
        db.session.flush()
        for entry in entries:
            values = {
                "sex": "male",
                "birth_date": date(1985, 3, 14),
                "birth_precision": "day",
                **entry,
            }
            values |= {
                "name_norm": norm(values["full_name"]),
                "name_folded": fold(values["full_name"]),
                "extract_id": extract.id,
            }
            existing = db.session.get(RegisterEntry, values["id_number"])
            if existing:
                for key, value in values.items():
                    setattr(existing, key, value)
            else:
                db.session.add(RegisterEntry(**values))
        db.session.commit()
        return extract

    return load


CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    match = CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_token(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
def login_as(client, make_user):
    """Log the test client in as a new user of that role and area; returns the user."""

    def do(role: Role | str = Role.HEALTH_STATION, area_code: str = OWN, **kw):
        user = make_user(role, area_code, **kw)
        response = login(client, user.username)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return user

    return do


class DemoServices:
    """The demo services (portal.signing.demo_services) running in a process of their own:
    certomancer's OCSP responder, CRLs, certificate repositories and TSA under ``/pki``, the
    demo CSC provider at the root, over the demo PKI generated in ``folder``."""

    def __init__(self, folder, url: str):
        self.folder = folder
        self.url = url  # SIGNING_DEMO_SERVICES_URL; the CSC provider's service URL
        self.pki_url = url + "/pki"


@pytest.fixture(scope="session")
def demo_services(tmp_path_factory):
    """Started once per test process on a free loopback port (real HTTP), stopped at the
    end. Tests point SIGNING_DEMO_PKI_DIR at ``folder`` and SIGNING_DEMO_SERVICES_URL at
    ``url`` (tests/signing/conftest.py's ``with_demo_services``)."""
    import subprocess
    import sys
    import threading

    folder = tmp_path_factory.mktemp("demo-services") / "demo-pki"
    process = subprocess.Popen(
        [sys.executable, "-m", "portal.signing.demo_services", "--folder", str(folder)]
        + ["--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()))
    reader.start()
    reader.join(60)
    if not lines or not lines[0].startswith("READY "):
        process.kill()
        pytest.fail(f"the demo services did not start: {lines!r}, exit {process.poll()}")
    try:
        yield DemoServices(folder, lines[0].split()[1])
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()

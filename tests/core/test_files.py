"""Files that hold personal data or keys are the portal's user's alone: 0600 files in
0700 folders, whatever the process's umask."""

from __future__ import annotations

import io
import os
import stat

import pytest
import sqlalchemy as sa

from portal import config, create_app
from portal.auth.models import Role
from portal.extensions import db
from portal.signing import demo
from portal.worklists import handover
from tests.conftest import csrf_token


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """The usual umask, under which files were created world-readable (0644/0755)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_database_and_the_instance_folder_are_private(tmp_path, open_umask):
    """Issue 14, item 15: the instance folder, the SQLite file and its -wal/-shm were
    created world-readable; they are 0700 / 0600 now."""
    instance = tmp_path / "instance"
    config._instance_secret(instance)
    assert mode(instance) == 0o700 and mode(instance / "secret_key") == 0o600
    database = tmp_path / "data" / "portal.sqlite3"
    app = create_app(
        {
            "TESTING": True,
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        }
    )
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT x FROM t")).all()
            files = [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]
            assert all(f.exists() for f in files)
            assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        db.engine.dispose()
    assert mode(database.parent) == 0o700


def test_documents_uploads_and_the_demo_pki_are_private(
    app, client, login_as, tmp_path, monkeypatch, open_umask
):
    """Issue 14, item 15: stored documents, uploaded extracts and the demo PKI were
    created world-readable; they are 0600 in 0700 folders now."""
    monkeypatch.setitem(app.config, "DOCUMENTS_DIR", str(tmp_path / "documents"))
    monkeypatch.setitem(app.config, "UPLOADS_DIR", str(tmp_path / "uploads"))
    monkeypatch.setitem(app.config, "SIGNING_DEMO_PKI_DIR", str(tmp_path / "pki"))
    handover._store("minutes/1.pdf", b"%PDF-1.4")
    assert mode(tmp_path / "documents") == mode(tmp_path / "documents" / "minutes") == 0o700
    assert mode(tmp_path / "documents" / "minutes" / "1.pdf") == 0o600

    # The queued job would load and remove the upload: keep it to look at it.
    monkeypatch.setattr("portal.registry.routes.enqueue", lambda job_id: None)
    login_as(Role.POLICE)
    response = client.post(
        "/registry/extracts",
        data={
            "csrf_token": csrf_token(client, "/registry/extracts"),
            "mode": "merge",
            "file": (io.BytesIO(b"so_dinh_danh,ho_ten\n"), "trich-xuat.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    [upload] = list((tmp_path / "uploads").iterdir())
    assert mode(tmp_path / "uploads") == 0o700 and mode(upload) == 0o600

    demo.ensure_pki()
    assert mode(tmp_path / "pki") == 0o700
    # The demo PKI on certomancer (portal.signing.demo_pki): its generated configuration
    # and state, the PEM files the portal reads, and the keys in a folder of their own.
    assert {f.name: mode(f) for f in (tmp_path / "pki").iterdir()} == {
        **{
            name: 0o600
            for name in (
                ".lock",
                "certomancer.yml",
                "signers.json",
                "ca.pem",
                "chain.pem",
                "tsa.pem",
                "tsa-key.pem",
                "organisation.pem",
                "organisation-key.pem",
            )
        },
        "keys": 0o700,
    }
    assert {mode(f) for f in (tmp_path / "pki" / "keys").iterdir()} == {0o600}
    db.session.rollback()

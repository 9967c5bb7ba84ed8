"""The command line as a newcomer meets it: no warning on a fresh install, one language."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal.auth.models import Role

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "COV_"))
    }
    # Every warning an error, in the interpreter and in what it starts; a fresh database
    # and instance of its own, so that nothing of the suite's is reused.
    env.update(
        PYTHONWARNINGS="error",
        DATABASE_URL=f"sqlite:///{tmp_path}/fresh.sqlite3",
        HUEY_SQLITE=str(tmp_path / "huey.sqlite3"),
        PORTAL_ENV="development",
        AUDIT_CHECKPOINT_DIR=str(tmp_path / "audit-checkpoints"),
    )
    return env


def _flask(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_flask_commands_print_no_warning(tmp_path):
    for args in (("--help",), ("db", "upgrade"), ("audit", "verify")):
        result = _flask(tmp_path, *args)
        assert result.returncode == 0, result.stderr
        assert "Warning" not in result.stderr and "warning" not in result.stderr, result.stderr
    assert result.stdout.startswith("Chuỗi nhật ký toàn vẹn")  # audit verify, in Vietnamese


def test_the_worker_starts_without_a_warning(tmp_path):
    with subprocess.Popen(
        [
            str(BIN / "huey_consumer"),
            "portal.jobs.queue.huey",
            "--workers",
            "1",
            "--worker-type",
            "thread",
        ],
        cwd=ROOT,
        env=_environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as worker:
        lines = []
        try:
            assert worker.stdout is not None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                line = worker.stdout.readline()
                if not line:
                    break
                lines.append(line)
                if "The following commands are available" in line:
                    break
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert any("Huey consumer started" in line for line in lines), lines
    assert not any("arning" in line for line in lines), lines


# --- one language -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "vi"),  # PORTAL_LANG=vi (the suite's)
        ({"PORTAL_LANG": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "C.UTF-8"}, "vi"),
        ({"PORTAL_LANG": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "en_US.UTF-8"}, "en"),
        ({"PORTAL_LANG": "en"}, "en"),
        ({"PORTAL_LANG": None, "LC_ALL": "vi_VN.UTF-8", "LANG": "en_US.UTF-8"}, "vi"),
    ],
)
def test_a_command_speaks_the_locale_it_runs_in(app, env, expected):
    result = app.test_cli_runner().invoke(args=["dashboard", "snapshot"], env=env)
    assert result.exit_code == 0, result.output
    said = {"vi": "Đã lưu số liệu trong ngày", "en": "Snapshot stored"}[expected]
    assert result.output.startswith(said), result.output


def test_lang_option_wins_over_the_locale(app):
    runner = app.test_cli_runner()
    english = runner.invoke(args=["dashboard", "snapshot", "--lang", "en"])
    assert english.output.startswith("Snapshot stored"), english.output
    # The choice ends with the command: the next one speaks the default again.
    after = runner.invoke(args=["dashboard", "snapshot"])
    assert after.output.startswith("Đã lưu số liệu trong ngày"), after.output
    vietnamese = runner.invoke(
        args=["dashboard", "snapshot", "--lang", "vi"], env={"PORTAL_LANG": "en"}
    )
    assert vietnamese.output.startswith("Đã lưu số liệu trong ngày"), vietnamese.output


def test_every_portal_command_has_the_lang_option(app):
    import click

    def leaves(command, path=()):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from leaves(sub, (*path, name))
        else:
            yield path, command

    portal_commands = [
        c for name, c in app.cli.commands.items() if name not in {"db", "run", "shell", "routes"}
    ]
    found = [(path, cmd) for top in portal_commands for path, cmd in leaves(top, (top.name,))]
    assert len(found) > 15
    missing = [
        " ".join(path) for path, cmd in found if not any(p.name == "lang" for p in cmd.params)
    ]
    assert missing == []


def test_a_password_is_not_read_from_a_pipe(app, make_user):
    from portal.extensions import db

    user = make_user(Role.ADMIN, "01")
    hashed = user.password_hash
    result = app.test_cli_runner().invoke(
        args=["users", "set-password", user.username],
        input="mat-khau-moi-123\nmat-khau-moi-123\n",
        env={"PORTAL_NEW_PASSWORD": None},
    )
    assert result.exit_code == 1
    assert result.output == (
        "Không có cửa sổ dòng lệnh để nhập mật khẩu: hãy đặt biến PORTAL_NEW_PASSWORD.\n"
    )
    assert "Aborted" not in result.output and "Warning" not in result.output
    db.session.refresh(user)
    assert user.password_hash == hashed

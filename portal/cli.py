"""Commands on ``flask --app wsgi``: areas, audit, demo, and ``db grant-app-role`` beside
Flask-Migrate's. Each commits once, at the end."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask_babel import gettext as _
from flask_migrate.cli import db as db_group

from portal.api.cli import api_token_group
from portal.areas.services import load_official_areas
from portal.audit.services import verify_chain
from portal.auth.cli import users_group
from portal.core.cli import add_lang_option, fail
from portal.core.clock import format_time
from portal.core.database import reading
from portal.core.files import open_private
from portal.core.labels import role_label
from portal.core.roles import RoleRefused, app_role_name, grant_app_role, owner_engine
from portal.dashboard.cli import dashboard_group
from portal.demo import services as demo
from portal.extensions import db
from portal.feedback.jobs import run_escalation
from portal.imports.cli import records_group
from portal.passport.cli import passports_group, verify_dcc
from portal.registry import match_cli  # noqa: F401  (adds `registry match`)
from portal.registry.cli import registry_group
from portal.signing import checkpoints
from portal.signing import demo as signing_demo
from portal.signing.cli import confirmations, verify_pdf_command
from portal.signing.services import demo_pki_dir


def init_app(app: Flask) -> None:
    commands = [
        areas_group,
        audit_group,
        demo_command,
        registry_group,
        dashboard_group,
        api_token_group,
        feedback_group,
        records_group,
        users_group,
        confirmations,
        verify_pdf_command,
        passports_group,
        verify_dcc,
    ]
    for command in commands:
        add_lang_option(command, tuple(app.config["LANGUAGES"]))
        app.cli.add_command(command)
    add_lang_option(grant_app_role_command, tuple(app.config["LANGUAGES"]))
    db_group.add_command(grant_app_role_command)


@click.command(
    "grant-app-role",
    help="PostgreSQL: grant the application's role (ROLE, default the user of "
    "DATABASE_URL) the rows of every table and only appending to the audit trail. "
    "Run by the tables' owner (MIGRATIONS_DATABASE_URL) after db upgrade.",
)
@click.argument("role", required=False)
def grant_app_role_command(role: str | None) -> None:
    with owner_engine() as engine:
        if engine.dialect.name != "postgresql":
            click.echo(_("SQLite has no database roles: nothing to grant."))
            return
        role = role or app_role_name()
        if not role:
            fail(_("Name the role: DATABASE_URL names no user."), code=2)
        try:
            with engine.begin() as connection:
                tables = grant_app_role(connection, role)
        except RoleRefused as error:
            fail(str(error))
    click.echo(
        _(
            "The role %(role)s may read and write the rows of %(n)d tables and only "
            "append to the audit trail.",
            role=role,
            n=len(tables),
        )
    )


@click.group("areas", help="Administrative units.")
def areas_group() -> None:
    pass


@areas_group.command("load", help="Load the official provinces and communes.")
def areas_load() -> None:
    added = load_official_areas()
    db.session.commit()
    click.echo(
        _("Added %(p)d provinces and %(c)d communes.", p=added["provinces"], c=added["communes"])
    )


@click.group("audit", help="The audit trail.")
def audit_group() -> None:
    pass


@audit_group.command(
    "verify",
    help="Check the whole hash chain and every signed checkpoint; "
    "exit 1 at the first broken link or checkpoint.",
)
@click.option(
    "--checkpoints",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The checkpoints to check against: default "
    "AUDIT_CHECKPOINT_DIR (a copy kept elsewhere, say).",
)
def audit_verify(folder: Path | None) -> None:
    found = checkpoints.read_all(folder)
    for checkpoint in found:
        if not checkpoint.ok:
            fail(
                _(
                    "Checkpoint %(file)s does not verify: %(problem)s.",
                    file=checkpoint.path.name,
                    problem=checkpoint.problem,
                )
            )
    by_seq: dict[int, checkpoints.Checkpoint] = {}
    for checkpoint in found:
        other = by_seq.setdefault(checkpoint.seq, checkpoint)
        if other.hash != checkpoint.hash:
            fail(
                _(
                    "Checkpoints %(a)s and %(b)s sign different chains up to event #%(seq)d.",
                    a=other.path.name,
                    b=checkpoint.path.name,
                    seq=checkpoint.seq,
                )
            )
    with reading():  # (on SQLite: without holding the write lock while it reads)
        report = verify_chain(anchors={seq: c.hash for seq, c in by_seq.items()})
    if report.ok:
        click.echo(_("Audit chain intact: %(n)d events checked.", n=report.checked))
        if found:
            last = found[-1]
            click.echo(
                _(
                    "It holds every one of the %(k)d signed checkpoints; the last covers "
                    "events up to #%(seq)d, time-stamped %(time)s.",
                    k=len(found),
                    seq=last.seq,
                    time=format_time(last.stamped_at),
                )
            )
        else:
            click.echo(_("No signed checkpoint yet: flask audit checkpoint writes one."))
        return
    if report.problem in ("checkpoint", "short"):
        checkpoint = by_seq[report.broken_seq or 0]
        values = {
            "seq": report.broken_seq,
            "file": checkpoint.path.name,
            "time": format_time(checkpoint.stamped_at),
        }
        if report.problem == "checkpoint":
            fail(
                _(
                    "Audit chain BROKEN at event #%(seq)d: the chain up to this event is not "
                    "the one checkpoint %(file)s signed (time-stamped %(time)s); events "
                    "before it were changed, removed or re-chained.",
                    **values,
                )
            )
        fail(
            _(
                "Audit chain BROKEN at event #%(seq)d: the chain ends at event #%(n)d, but "
                "checkpoint %(file)s (time-stamped %(time)s) signed it up to event "
                "#%(seq)d; events were removed from the end.",
                n=report.checked,
                **values,
            )
        )
    problems = {
        "missing": _("an event is missing or out of order"),
        "prev_hash": _("the link to the previous event does not match"),
        "altered": _("the event's content was altered"),
        "truncated": _("events were removed from the end of the chain"),
    }
    fail(
        _(
            "Audit chain BROKEN at event #%(seq)d: %(problem)s (%(n)d events intact before it).",
            seq=report.broken_seq,
            problem=problems[report.problem or "missing"],
            n=report.checked,
        )
    )


@audit_group.command(
    "checkpoint",
    help="Sign the chain's head with the organisation's key, "
    "time-stamped, into AUDIT_CHECKPOINT_DIR (the worker "
    "does it every AUDIT_CHECKPOINT_MINUTES).",
)
def audit_checkpoint() -> None:
    try:
        written = checkpoints.write_checkpoint()
    except checkpoints.CheckpointRefused as error:
        fail(str(error))
    if written is None:
        click.echo(_("Nothing was appended since the last checkpoint; none written."))
        return
    click.echo(
        _(
            "Checkpoint %(path)s: events up to #%(seq)d, hash %(hash)s, time-stamped "
            "%(time)s, signed by %(signer)s.",
            path=str(written.path),
            seq=written.seq,
            hash=written.hash,
            time=format_time(written.stamped_at),
            signer=written.signer,
        )
    )


@click.command("demo", help="Seed a fresh database with demo data and print the accounts.")
@click.option(
    "--password",
    default=None,
    help="Password for every demo account (it must pass the password policy).",
)
@click.option(
    "--pin", default=None, help="Signing PIN of every demo certificate (not the password)."
)
@click.option(
    "--accounts",
    "accounts_file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the accounts as JSON to this file.",
)
def demo_command(password: str | None, pin: str | None, accounts_file: str | None) -> None:
    password = password or demo.DEFAULT_PASSWORD
    pin = pin or demo.DEFAULT_PIN
    try:
        accounts = demo.seed(password, pin=pin)
        # Signing (issue 5): demo CA, local TSA and a demo certificate per signing user.
        signing_demo.seed(pin)
        db.session.commit()
        click.echo(_("Demo data created."))
        seeded = True
    except demo.DemoRefused as error:
        fail(error)
    except demo.AlreadySeeded:
        db.session.rollback()
        if (demo_pki_dir() / "ca.pem").is_file():
            # A demo PKI made before the audit checkpoints gets its organisation certificate.
            signing_demo.ensure_pki()
        accounts = _with_known_secrets(demo.existing_accounts(), accounts_file)
        click.echo(_("The database already has data; nothing was added."))
        if password != demo.DEFAULT_PASSWORD or pin != demo.DEFAULT_PIN:
            click.echo(
                _(
                    "The accounts keep their passwords: --password applies only to a new "
                    "demo database (start afresh with rm -rf instance, or change one with "
                    "flask --app wsgi users set-password)."
                )
            )
        seeded = False
    if accounts_file:
        with open_private(accounts_file, "w") as handle:
            json.dump([a.as_json() for a in accounts], handle, ensure_ascii=False, indent=2)
    width = max((len(role_label(a.role)) for a in accounts), default=0)
    for account in accounts:
        click.echo(
            f"  {account.username:<28} {role_label(account.role):<{width}} "
            f"{account.area_code:<6} {account.area_name}"
        )
    if seeded:
        click.echo(_("Password of every demo account: %(pw)s", pw=password))
        click.echo(
            _("Signing PIN of every demo certificate (committee, police, sites): %(pin)s", pin=pin)
        )


def _with_known_secrets(accounts: list, accounts_file: str | None) -> list:
    """The accounts of an existing demo database with the password and PIN the accounts
    file already says for them (the run that seeded wrote them; the database cannot)."""
    try:
        with open(accounts_file or "", encoding="utf-8") as handle:
            known = {a["username"]: a for a in json.load(handle) if isinstance(a, dict)}
    except (OSError, ValueError, KeyError, TypeError):
        return accounts
    for account in accounts:
        account.password = known.get(account.username, {}).get("password")
        account.signing_pin = known.get(account.username, {}).get("signing_pin")
    return accounts


@click.group("feedback", help="Citizens' complaints.")
def feedback_group() -> None:
    pass


@feedback_group.command(
    "escalate", help="Escalate overdue complaints now (the queue does it every 5 minutes)."
)
def feedback_escalate() -> None:
    click.echo(_("%(n)d complaints escalated.", n=run_escalation()))

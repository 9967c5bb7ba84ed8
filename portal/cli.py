"""Commands on ``flask --app wsgi``: areas, audit, demo. Each commits once, at the end."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask_babel import gettext as _

from portal.core.cli import add_lang_option, fail
from portal.core.files import open_private
from portal.extensions import db


def init_app(app: Flask) -> None:
    from portal.api.cli import api_token_group
    from portal.auth.cli import users_group
    from portal.dashboard.cli import dashboard_group
    from portal.imports.cli import records_group
    from portal.registry import match_cli  # noqa: F401  (adds `registry match`)
    from portal.registry.cli import registry_group
    from portal.signing.cli import confirmations, verify_pdf_command

    commands = [areas_group, audit_group, demo_command, registry_group, dashboard_group,
                api_token_group, feedback_group, records_group, users_group, confirmations,
                verify_pdf_command]
    for command in commands:
        add_lang_option(command, tuple(app.config["LANGUAGES"]))
        app.cli.add_command(command)



@click.group("areas", help="Administrative units.")
def areas_group() -> None:
    pass


@areas_group.command("load", help="Load the official provinces and communes.")
def areas_load() -> None:
    from portal.areas.services import load_official_areas

    added = load_official_areas()
    db.session.commit()
    click.echo(_("Added %(p)d provinces and %(c)d communes.", p=added["provinces"],
                 c=added["communes"]))


@click.group("audit", help="The audit trail.")
def audit_group() -> None:
    pass


@audit_group.command("verify", help="Check the whole hash chain; exit 1 at the first broken link.")
def audit_verify() -> None:
    from portal.audit.services import verify_chain

    report = verify_chain()
    if report.ok or report.problem is None:
        click.echo(_("Audit chain intact: %(n)d events checked.", n=report.checked))
        return
    problems = {
        "missing": _("an event is missing or out of order"),
        "prev_hash": _("the link to the previous event does not match"),
        "altered": _("the event's content was altered"),
        "truncated": _("events were removed from the end of the chain"),
    }
    fail(_("Audit chain BROKEN at event #%(seq)d: %(problem)s (%(n)d events intact before it).",
           seq=report.broken_seq, problem=problems[report.problem], n=report.checked))


@click.command("demo", help="Seed a fresh database with demo data and print the accounts.")
@click.option("--password", default=None, help="Password for every demo account.")
@click.option("--accounts", "accounts_file", type=click.Path(dir_okay=False, writable=True),
              default=None, help="Write the accounts as JSON to this file.")
def demo_command(password: str | None, accounts_file: str | None) -> None:
    from portal.auth.forms import role_label
    from portal.demo import services

    try:
        accounts = services.seed(password or services.DEFAULT_PASSWORD)
        # Signing (issue 5): demo CA, local TSA and a demo certificate per signing user.
        from portal.signing import demo as signing_demo

        signing_demo.seed(password or services.DEFAULT_PASSWORD)
        db.session.commit()
        click.echo(_("Demo data created."))
        seeded = True
    except services.AlreadySeeded:
        db.session.rollback()
        accounts = services.existing_accounts()
        click.echo(_("The database already has data; nothing was added."))
        if password:
            click.echo(_("The accounts keep their passwords: --password applies only to a new "
                         "demo database (start afresh with rm -rf instance, or change one with "
                         "flask --app wsgi users set-password)."))
        seeded = False
    if accounts_file:
        with open_private(accounts_file, "w") as handle:
            json.dump([a.as_json() for a in accounts], handle, ensure_ascii=False, indent=2)
    width = max((len(role_label(a.role)) for a in accounts), default=0)
    for account in accounts:
        click.echo(f"  {account.username:<28} {role_label(account.role):<{width}} "
                   f"{account.area_code:<6} {account.area_name}")
    if seeded:
        click.echo(_("Password of every demo account: %(pw)s",
                     pw=password or services.DEFAULT_PASSWORD))


@click.group("feedback", help="Citizens' complaints.")
def feedback_group() -> None:
    pass


@feedback_group.command("escalate", help="Escalate overdue complaints now (the queue does it "
                                         "every 5 minutes).")
def feedback_escalate() -> None:
    from portal.feedback.jobs import run_escalation

    click.echo(_("%(n)d complaints escalated.", n=run_escalation()))

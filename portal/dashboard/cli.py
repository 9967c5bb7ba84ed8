"""``flask --app wsgi dashboard …``: the counters behind the dashboard."""

from __future__ import annotations

import click
from flask_babel import gettext as _

from portal.dashboard.services import recount, snapshot
from portal.extensions import db


@click.group("dashboard", help="The dashboard's counters and daily snapshots.")
def dashboard_group() -> None:
    pass


@dashboard_group.command("recount", help="Rebuild the counters from the persons and doses.")
def recount_command() -> None:
    result = recount()
    db.session.commit()
    click.echo(
        _(
            "Counters rebuilt: %(p)d status rows, %(d)d dose rows.",
            p=result["person_rows"],
            d=result["dose_rows"],
        )
    )


@dashboard_group.command(
    "snapshot", help="Store today's counters (the worker does it every 30 minutes)."
)
def snapshot_command() -> None:
    rows = snapshot()
    db.session.commit()
    click.echo(_("Snapshot stored: %(n)d rows.", n=rows))

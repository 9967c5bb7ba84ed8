"""``flask --app wsgi registry match``: matching from the command line (cron, first load)."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask_babel import gettext as _

from portal.areas.models import Area, AreaKind
from portal.extensions import db
from portal.registry.cli import registry_group


@registry_group.command(
    "match",
    help="Match persons against the population register, commune by commune. Only records "
    "changed since their last check are re-checked, unless --full is given.",
)
@click.option("--commune", "codes", multiple=True,
              help="Official code of a commune (repeatable); default: every commune with "
              "persons.")
@click.option("--full", is_flag=True, help="Re-check everyone, not only what changed.")
def match_command(codes: tuple[str, ...], full: bool) -> None:
    from portal.records.models import Person
    from portal.registry.adapter import RegisterUnavailable
    from portal.registry.matching import match_commune

    if codes:
        communes = list(db.session.scalars(
            sa.select(Area).where(Area.code.in_(codes), Area.kind == AreaKind.COMMUNE)))
        unknown = sorted(set(codes) - {c.code for c in communes})
        if unknown:
            click.echo(_("Unknown commune code(s): %(codes)s", codes=", ".join(unknown)),
                       err=True)
            sys.exit(2)
    else:
        communes = list(db.session.scalars(
            sa.select(Area).where(Area.id.in_(sa.select(Person.commune_id).distinct()))
            .order_by(Area.code)))
    total = 0
    for commune in communes:
        try:
            summary = match_commune(commune, full=full)
        except RegisterUnavailable as error:
            db.session.rollback()
            click.echo(f"{commune.code} {commune.name}: {error}", err=True)
            sys.exit(1)
        db.session.commit()
        total += summary.checked
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(summary.outcomes.items()))
        click.echo(f"{commune.code} {commune.name}: {summary.checked} — {outcomes}")
    click.echo(_("%(n)d persons checked.", n=total))

"""``flask --app wsgi registry match``: matching from the command line (cron, first load)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask_babel import gettext as _

from portal.areas.models import Area, AreaKind
from portal.core.cli import fail
from portal.core.labels import status_label
from portal.extensions import db
from portal.records.models import Person
from portal.registry.adapter import RegisterUnavailable
from portal.registry.cli import registry_group
from portal.registry.matching import match_commune


@registry_group.command(
    "match",
    help="Match persons against the population register, commune by commune. Only records "
    "changed since their last check are re-checked, unless --full is given.",
)
@click.option(
    "--commune",
    "codes",
    multiple=True,
    help="Official code of a commune (repeatable); default: every commune with persons.",
)
@click.option("--full", is_flag=True, help="Re-check everyone, not only what changed.")
def match_command(codes: tuple[str, ...], full: bool) -> None:
    if codes:
        communes = list(
            db.session.scalars(
                sa.select(Area).where(Area.code.in_(codes), Area.kind == AreaKind.COMMUNE)
            )
        )
        unknown = sorted(set(codes) - {c.code for c in communes})
        if unknown:
            fail(_("Unknown commune code(s): %(codes)s", codes=", ".join(unknown)), code=2)
    else:
        communes = list(
            db.session.scalars(
                sa.select(Area)
                .where(Area.id.in_(sa.select(Person.commune_id).distinct()))
                .order_by(Area.code)
            )
        )
    total = 0
    for commune in communes:
        try:
            summary = match_commune(commune, full=full)
        except RegisterUnavailable as error:
            db.session.rollback()
            fail(f"{commune.code} {commune.name}: {error}")
        db.session.commit()
        total += summary.checked
        if not summary.checked:
            click.echo(
                _(
                    "%(commune)s: nothing changed since the last check.",
                    commune=f"{commune.code} {commune.name}",
                )
            )
            continue
        outcomes = "; ".join(
            f"{status_label(code)} {count}" for code, count in sorted(summary.outcomes.items())
        )
        click.echo(
            _(
                "%(commune)s: %(n)d checked — %(outcomes)s",
                commune=f"{commune.code} {commune.name}",
                n=summary.checked,
                outcomes=outcomes,
            )
        )
    click.echo(_("%(n)d persons checked.", n=total))

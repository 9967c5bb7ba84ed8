"""``flask --app wsgi registry …``: the population register from the command line."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask_babel import gettext as _

from portal.auth.models import User
from portal.core.cli import confirm, fail
from portal.extensions import db
from portal.registry.extract import import_extract
from portal.registry.labels import MODE_NAMES
from portal.registry.models import ExtractMode


@click.group("registry", help="The population register (its imported extracts).")
def registry_group() -> None:
    pass


@registry_group.command(
    "import",
    help="Import an extract file (CSV or XLSX: id_number, full_name, sex, birth_date). "
    "All or nothing: on any error the report is printed, nothing is loaded, exit status 1. "
    "Merges by default; --mode replace makes the file the whole register, after saying how "
    "many entries it drops (asked at a terminal, or --yes). An optional commune_code column "
    "gives each resident's commune. Without --user the command line acts nation-wide; with "
    "it, as that account may (a commune's police: their commune's residents only).",
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--mode",
    type=click.Choice(["merge", "replace"]),
    default="merge",
    show_default=True,
    help="merge: add new ID numbers and update changed ones, keep the others; "
    "replace: the file becomes the whole register.",
)
@click.option(
    "--yes",
    "confirmed",
    is_flag=True,
    help="With --mode replace: drop the entries the file lacks without asking.",
)
@click.option(
    "--user",
    "username",
    default=None,
    help="The account (username) the import is recorded under, and whose area limits it.",
)
def import_command(path: str, mode: str, confirmed: bool, username: str | None) -> None:
    user = None
    if username:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            fail(_("No account is named %(name)s.", name=username), code=2)
    parsed, summary = import_extract(path, None, mode, user)
    if summary is None:
        db.session.rollback()
        click.echo(
            _(
                "%(file)s: %(num)d problem(s); nothing was imported, the register is unchanged.",
                file=parsed.source,
                num=parsed.error_count,
            ),
            err=True,
        )
        heading = (_("Row"), _("Column"), _("Problem"))
        click.echo(f"{heading[0]:>7}  {heading[1]:<16}  {heading[2]}", err=True)
        for issue in parsed.errors:
            column = f"{issue.letter} · {issue.column}" if issue.letter else issue.column or "—"
            click.echo(f"{issue.row or '—':>7}  {column:<16}  {issue.message}", err=True)
        if parsed.error_count > len(parsed.errors):
            click.echo(
                _("Only the first %(shown)s problems are listed.", shown=len(parsed.errors)),
                err=True,
            )
        sys.exit(1)
    if mode == ExtractMode.REPLACE.value and summary.deleted:
        # The load itself counted what a replacement drops (said with --yes too).
        click.echo(
            _(
                "Replacing the whole register drops %(deleted)d of its %(existing)d "
                "entries (those the file lacks); %(inserted)d are added, %(updated)d "
                "changed.",
                deleted=summary.deleted,
                existing=summary.deleted + summary.rows - summary.inserted,
                inserted=summary.inserted,
                updated=summary.updated,
            )
        )
    if mode == ExtractMode.REPLACE.value and summary.deleted and not confirmed:
        # It is undone while the question is asked, so that nobody waits on the register.
        db.session.rollback()
        if not confirm(_("Drop them?")):
            fail(
                _(
                    "Nothing was changed. To replace the register, run the command again with "
                    "--yes; to add and update entries only, leave out --mode replace."
                )
            )
        parsed, summary = import_extract(path, None, mode, user)
        assert summary is not None  # the same file, valid a moment ago
    db.session.commit()
    click.echo(
        _(
            "Extract imported as register version %(id)d (%(mode)s): %(rows)d rows; "
            "%(inserted)d new, %(updated)d changed, %(deleted)d removed, "
            "%(unchanged)d unchanged.",
            id=summary.extract_id,
            mode=str(MODE_NAMES[ExtractMode(mode)]),
            rows=summary.rows,
            inserted=summary.inserted,
            updated=summary.updated,
            deleted=summary.deleted,
            unchanged=summary.unchanged,
        )
    )
    if parsed.warnings:
        click.echo(_("Warnings"))
    for issue in parsed.warnings:
        click.echo(f"{issue.row:>7}  {issue.message}")

"""``flask --app wsgi records import FILE --commune CODE [--commit]``."""

from __future__ import annotations

from pathlib import Path

import click
from flask_babel import gettext as _

from portal.areas.models import AreaKind
from portal.areas.services import area_by_code
from portal.core.cli import fail
from portal.core.spreadsheets import FileRejected
from portal.extensions import db
from portal.imports import services


@click.group("records", help="Vaccination records.")
def records_group() -> None:
    pass


@records_group.command(
    "import",
    help="Check an Excel (.xlsx) or CSV file of persons and doses for a commune (a dry run) "
    "and, with --commit, import its valid rows (all in one transaction). Exit status 1 when "
    "the file is refused or, with --commit, when nothing could be imported.",
)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--commune", "commune_code", required=True, help="The commune's code (5 digits).")
@click.option("--commit", "do_commit", is_flag=True, help="Import the valid rows.")
@click.option("--show", default=50, show_default=True, help="Rows with problems to list.")
def import_command(path: str, commune_code: str, do_commit: bool, show: int) -> None:
    commune = area_by_code(commune_code)
    if commune is None or commune.kind != AreaKind.COMMUNE:
        fail(_("Unknown commune code %(code)s.", code=commune_code), code=2)
    data = Path(path).read_bytes()
    try:
        batch = services.create_batch(data, Path(path).name, commune)
    except FileRejected as rejected:
        fail(rejected.message)
    services.check_batch(batch)
    if batch.report.get("file_error"):
        db.session.commit()
        fail(
            _(
                "%(file)s is refused: %(problem)s",
                file=batch.filename,
                problem=batch.report["file_error"],
            )
        )
    click.echo(
        _(
            "Batch %(id)d, %(file)s: %(rows)d rows; %(valid)d valid, %(errors)d with "
            "errors, %(warnings)d with warnings.",
            id=batch.id,
            file=batch.filename,
            rows=batch.rows,
            valid=batch.valid_rows,
            errors=batch.error_rows,
            warnings=batch.warning_rows,
        )
    )
    issues = batch.report.get("issues", [])
    for number, errors, warnings in issues[:show]:
        for message in errors:
            click.echo(_("Row %(row)s, rejected: %(problem)s", row=number, problem=message))
        for message in warnings:
            click.echo(
                _("Row %(row)s, kept with a remark: %(problem)s", row=number, problem=message)
            )
    if len(issues) > show:
        click.echo(_("Only the first %(shown)s rows with problems are listed.", shown=show))
    if not do_commit:
        db.session.commit()
        click.echo(_("Dry run: nothing was imported. Add --commit to import the valid rows."))
        return
    if not batch.can_commit:
        db.session.commit()
        fail(_("No valid row: nothing was imported."))
    summary = services.commit_batch(batch)
    db.session.commit()
    click.echo(
        _(
            "Imported: %(created)d persons created, %(matched)d already recorded; "
            "%(doses)d doses added, %(doses_matched)d already recorded; %(rejected)d "
            "rows rejected.",
            created=summary["persons_created"],
            matched=summary["persons_matched"],
            doses=summary["doses_created"],
            doses_matched=summary["doses_matched"],
            rejected=summary["error_rows"],
        )
    )

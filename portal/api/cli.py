"""``flask api-token …``: the tokens of the intake API's client systems."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask_babel import gettext as _

from portal.api.models import ApiClient
from portal.api.services import TokenRefused, clients, create_client, revoke_client
from portal.core.cli import fail
from portal.core.clock import format_time
from portal.core.web import time_heading
from portal.extensions import db


@click.group("api-token", help="Tokens of the client systems of the intake API.")
def api_token_group() -> None:
    pass


@api_token_group.command("create", help="Create a client system; print its token once.")
@click.argument("name")
@click.option(
    "--expires-in-days",
    type=click.IntRange(min=1, max=3650),
    default=365,
    show_default=True,
    help="Days the token stays valid.",
)
def api_token_create(name: str, expires_in_days: int) -> None:
    if db.session.scalar(sa.select(ApiClient).where(ApiClient.name == name)):
        fail(_("A client named %(name)s already exists.", name=name))
    client, token = create_client(name, expires_in_days=expires_in_days)
    db.session.commit()
    click.echo(
        _(
            "Token for %(name)s, valid until %(time)s (shown only now; only its hash is kept):",
            name=name,
            time=format_time(client.expires_at),
        )
    )
    click.echo(token)


@api_token_group.command("list", help="The client systems and the state of their tokens.")
def api_token_list() -> None:
    rows = clients()
    if not rows:
        click.echo(_("No client system has a token."))
        return
    headings = [
        _("Client system"),
        time_heading(_("Created")),
        time_heading(_("Expires")),
        time_heading(_("Last used")),
        time_heading(_("Revoked")),
    ]
    table = [
        [
            c.name,
            format_time(c.created_at),
            format_time(c.expires_at),
            format_time(c.last_used_at) or "—",
            format_time(c.revoked_at) or "—",
        ]
        for c in rows
    ]
    widths = [max(len(str(h)), *(len(r[i]) for r in table)) for i, h in enumerate(headings)]
    click.echo("  ".join(str(h).ljust(w) for h, w in zip(headings, widths, strict=True)))
    for row in table:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@api_token_group.command("revoke", help="Revoke a client's token at once.")
@click.argument("name")
def api_token_revoke(name: str) -> None:
    try:
        client = revoke_client(name)
    except TokenRefused as refused:
        fail(refused)
    db.session.commit()
    click.echo(
        _(
            "The token of %(name)s is revoked (%(time)s); it no longer answers.",
            name=name,
            time=format_time(client.revoked_at),
        )
    )

"""``flask confirmations sign`` and ``flask verify-pdf``: signing and checking for operations."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from portal.extensions import db

confirmations = AppGroup("confirmations", help="Signed confirmations (PAdES).")


@confirmations.command("sign")
@click.option("--commune", "commune_code", required=True, help="Commune code, e.g. 00004.")
@click.option("--user", "username", required=True, help="The signing user (committee chair).")
@click.option("--certificates/--no-certificates", default=True,
              help="Also sign per-person certificates for the confirmed persons.")
def sign_command(commune_code: str, username: str, certificates: bool) -> None:
    """Sign the commune's confirmation list, then the certificates of its confirmed persons.
    The PIN comes from the environment variable PORTAL_SIGNING_PIN. Prints each PDF's path."""
    from portal.areas.services import area_by_code
    from portal.auth.models import User
    from portal.signing import jobs, permissions, services
    from portal.worklists.handover import document_root

    pin = os.environ.get("PORTAL_SIGNING_PIN")
    if not pin:
        raise click.ClickException("set PORTAL_SIGNING_PIN")
    user = db.session.scalar(sa.select(User).where(User.username == username))
    commune = area_by_code(commune_code)
    if user is None or commune is None:
        raise click.ClickException("unknown user or commune")
    if not permissions.can_sign_committee(user) or user.area_id != commune.id:
        raise click.ClickException(f"{username} may not sign for commune {commune_code}")
    root = document_root()
    paths: list[str] = []
    try:
        _persons, total = services.awaiting_committee(commune.id)
        if total:
            document = services.sign_committee_list(user, pin)
            paths.append(document.path)
        if certificates:
            jobs.sign_certificates(user, pin, written=paths)
    except services.SigningRefused as refused:
        db.session.commit()  # the refusal's audit event
        raise click.ClickException(str(refused)) from refused
    db.session.commit()
    for path in paths:
        click.echo(str(Path(root) / path))


@confirmations.command("import-pkcs12")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True)
@click.option("--title", required=True, help="Chức vụ shown in the stamp, e.g. 'Chủ tịch'.")
@click.option("--unit", required=True, help="Unit shown in the stamp, e.g. 'UBND Phường Ba Đình'.")
def import_pkcs12_command(file: Path, username: str, title: str, unit: str) -> None:
    """Keep a user's PKCS#12 (its PIN from PORTAL_SIGNING_PIN) sealed as their signing key."""
    from portal.auth.models import User
    from portal.signing import services

    pin = os.environ.get("PORTAL_SIGNING_PIN")
    if not pin:
        raise click.ClickException("set PORTAL_SIGNING_PIN")
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException("unknown user")
    try:
        credential = services.add_pkcs12_credential(user, file.read_bytes(), pin, title, unit)
    except services.SigningRefused as refused:
        raise click.ClickException(str(refused)) from refused
    db.session.commit()
    click.echo(f"{username}: {credential.subject} (serial {credential.serial}, valid until "
               f"{credential.not_after:%d/%m/%Y})")


@confirmations.command("import-pkcs11")
@click.argument("certificates", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True)
@click.option("--token", "token_label", required=True, help="The token's label.")
@click.option("--key", "key_label", required=True, help="The private key's label on it.")
@click.option("--title", required=True)
@click.option("--unit", required=True)
def import_pkcs11_command(certificates: Path, username: str, token_label: str, key_label: str,
                          title: str, unit: str) -> None:
    """Sign with a key on a PKCS#11 token: CERTIFICATES is a PEM file, signer's first."""
    from cryptography import x509

    from portal.auth.models import User
    from portal.signing import services

    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException("unknown user")
    chain = x509.load_pem_x509_certificates(certificates.read_bytes())
    credential = services.add_pkcs11_credential(user, token_label, key_label, chain, title,
                                                unit)
    db.session.commit()
    click.echo(f"{username}: {credential.subject} on token {token_label}")


@click.command("verify-pdf")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_pdf_command(file: Path) -> None:
    """Check a signed PDF; exit 0 only for a valid, trusted, unmodified document."""
    from portal.signing import services

    content = file.read_bytes()
    verdict = services.verify_content(content)
    document = services.document_by_hash(content) if verdict.readable else None
    services.record_verification(document, verdict, "cli")
    db.session.commit()
    if not verdict.readable:
        click.echo(f"NOT VALID: {verdict.message}")
        sys.exit(1)
    for index, s in enumerate(verdict.signatures, 1):
        click.echo(f"signature {index}: signer {s.signer_name} ({s.signer_subject}), "
                   f"serial {s.serial}")
        click.echo(f"  intact: {'yes' if s.intact and s.valid else 'NO'}; "
                   f"trusted: {'yes' if s.trusted and s.key_usage_ok else 'NO'}; "
                   f"whole file: {'yes' if s.whole_file else 'NO (' + str(s.modified_after) + ')'}")
        click.echo(f"  signing time: {s.signing_time}; time-stamp: {s.timestamp_time} "
                   f"({'valid' if s.timestamp_ok else 'not valid'})")
    if document is not None:
        state = services.portal_state(document)
        click.echo(f"portal state: {state.state}"
                   + (f" (rows {state.superseded_rows})" if state.superseded_rows else ""))
        ok = verdict.ok and state.state == "valid"
    else:
        click.echo("portal state: not a document of this portal")
        ok = verdict.ok
    click.echo("VALID" if ok else "NOT VALID")
    sys.exit(0 if ok else 1)


def init_app(app: Flask) -> None:
    app.cli.add_command(confirmations)
    app.cli.add_command(verify_pdf_command)

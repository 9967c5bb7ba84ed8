"""``flask confirmations …`` and ``flask verify-pdf``: signing and checking for operations."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from cryptography import x509
from flask.cli import AppGroup
from flask_babel import gettext as _

from portal.areas.services import area_by_code
from portal.auth.models import User
from portal.core.accounts import SigningMethod
from portal.core.cli import Progress, ask_secret, fail
from portal.core.clock import format_date, format_time
from portal.extensions import db
from portal.signing import jobs, permissions, services
from portal.signing.labels import STATE_LABELS, VERDICT_MESSAGES, modification_text
from portal.worklists.handover import document_root

PIN_ENV = "PORTAL_SIGNING_PIN"

confirmations = AppGroup("confirmations", help="Signed confirmations (PAdES).")


def _user(username: str):
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        fail(_("No account is named %(name)s.", name=username), code=2)
    return user


@confirmations.command("sign")
@click.option("--commune", "commune_code", required=True, help="Commune code, e.g. 00004.")
@click.option("--user", "username", required=True, help="The signing user (committee chair).")
@click.option(
    "--certificates/--no-certificates",
    default=True,
    help="Also sign per-person certificates for the confirmed persons.",
)
@click.option(
    "--print-paths",
    is_flag=True,
    help="Print the path of each signed PDF instead of the summary (for scripts).",
)
def sign_command(commune_code: str, username: str, certificates: bool, print_paths: bool) -> None:
    """Sign the commune's confirmation lists, then the certificates of its confirmed
    persons. The PIN is asked, or read from PORTAL_SIGNING_PIN. Shows progress and ends
    with a summary."""
    user = _user(username)
    commune = area_by_code(commune_code)
    if commune is None:
        fail(_("Unknown commune code %(code)s.", code=commune_code), code=2)
    if not permissions.can_sign_committee(user) or user.area_id != commune.id:
        fail(
            _(
                "%(user)s may not sign for the commune %(commune)s.",
                user=username,
                commune=f"{commune.code} {commune.name}",
            )
        )
    if certificates:
        try:  # said before the PIN is asked and before anything is signed
            services.require_public_base_url()
        except services.SigningRefused as refused:
            fail(refused)
    pin = ask_secret(_("Signing PIN"), PIN_ENV)
    paths: list[str] = []
    lists = confirmed = 0
    try:
        # A list holds at most MAX_PER_DOCUMENT persons: sign lists until none awaits.
        _persons, total = services.awaiting_committee(commune.id)
        waiting = total
        list_progress = Progress(_("Persons confirmed"))
        while waiting:
            document = services.sign_committee_list(user, pin)
            paths.append(document.path)
            lists += 1
            confirmed += document.member_count
            list_progress(confirmed, total)
            _persons, left = services.awaiting_committee(commune.id)
            if left >= waiting:  # nothing more could be taken
                break
            waiting = left
        signed = 0
        if certificates:
            signed = jobs.sign_certificates(user, pin, Progress(_("Certificates")), written=paths)[
                "signed"
            ]
    except services.SigningRefused as refused:
        db.session.commit()  # the refusal's audit event
        fail(refused)
    db.session.commit()
    root = Path(document_root())
    if print_paths:
        for path in paths:
            click.echo(str(root / path))
        return
    if not paths:
        click.echo(
            _("Nothing awaits signature in %(commune)s.", commune=f"{commune.code} {commune.name}")
        )
        return
    click.echo(
        _(
            "Signed %(documents)d documents: %(lists)d confirmation lists (%(persons)d "
            "persons confirmed) and %(certificates)d certificates. The files are in "
            "%(folder)s.",
            documents=len(paths),
            lists=lists,
            persons=confirmed,
            certificates=signed,
            folder=root,
        )
    )


@confirmations.command("import-pkcs12")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True)
@click.option("--title", required=True, help="Chức vụ shown in the stamp, e.g. 'Chủ tịch'.")
@click.option("--unit", required=True, help="Unit shown in the stamp, e.g. 'UBND Phường Ba Đình'.")
def import_pkcs12_command(file: Path, username: str, title: str, unit: str) -> None:
    """Keep a user's PKCS#12 sealed as their signing key (its PIN is asked, or read from
    PORTAL_SIGNING_PIN)."""
    user = _user(username)
    data = file.read_bytes()
    if not services.is_pkcs12(data):  # said before a PIN is asked for it
        fail(_("%(file)s is not a PKCS#12 key file (.p12 or .pfx).", file=file))
    pin = ask_secret(_("PIN of the key file"), PIN_ENV)
    try:
        credential = services.add_pkcs12_credential(user, data, pin, title, unit)
    except services.SigningRefused as refused:
        fail(refused)
    db.session.commit()
    click.echo(
        _(
            "%(user)s now signs with %(subject)s (serial %(serial)s, valid until %(day)s).",
            user=username,
            subject=credential.subject,
            serial=credential.serial,
            day=format_date(credential.not_after),
        )
    )


@confirmations.command("import-pkcs11")
@click.argument("certificates", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True)
@click.option("--token", "token_label", required=True, help="The token's label.")
@click.option("--key", "key_label", required=True, help="The private key's label on it.")
@click.option("--title", required=True)
@click.option("--unit", required=True)
def import_pkcs11_command(
    certificates: Path, username: str, token_label: str, key_label: str, title: str, unit: str
) -> None:
    """Sign with a key on a PKCS#11 token: CERTIFICATES is a PEM file, signer's first."""
    user = _user(username)
    try:
        chain = x509.load_pem_x509_certificates(certificates.read_bytes())
    except ValueError:
        fail(_("%(file)s holds no PEM certificate.", file=certificates))
    credential = services.add_pkcs11_credential(user, token_label, key_label, chain, title, unit)
    db.session.commit()
    click.echo(
        _(
            "%(user)s now signs with %(subject)s on the token %(token)s.",
            user=username,
            subject=credential.subject,
            token=token_label,
        )
    )


@confirmations.command("link-csc")
@click.option("--user", "username", required=True)
@click.option("--provider", "provider_url", required=True, help="The CSC API's base URL.")
@click.option("--credential", "credential_id", required=True, help="The credential ID there.")
@click.option("--title", required=True)
@click.option("--unit", required=True)
def link_csc_command(
    username: str, provider_url: str, credential_id: str, title: str, unit: str
) -> None:
    """Sign at a remote-signing provider (CSC API): the credential's certificates are read
    from the provider; the account's signing method becomes csc."""
    user = _user(username)
    try:
        credential = services.add_csc_credential(user, provider_url, credential_id, title, unit)
        services.set_signing_method(user, SigningMethod.CSC)
    except services.SigningRefused as refused:
        fail(refused)
    db.session.commit()
    click.echo(
        _(
            "%(user)s now signs with %(subject)s at %(provider)s.",
            user=username,
            subject=credential.subject,
            provider=provider_url,
        )
    )


@confirmations.command("unlock")
@click.option(
    "--user", "username", required=True, help="The account whose signing key wrong PINs locked."
)
def unlock_command(username: str) -> None:
    """Unlock a signing key locked after too many wrong PINs (an administrator's act,
    audited)."""
    user = _user(username)
    try:
        credential = services.unlock_credential(user)
    except services.SigningRefused as refused:
        fail(refused)
    db.session.commit()
    click.echo(
        _(
            "The signing key of %(user)s is unlocked (serial %(serial)s).",
            user=username,
            serial=credential.serial,
        )
    )


@confirmations.command("revoke-certificate")
@click.option("--user", "username", default=None, help="The account whose certificate it is.")
@click.option("--serial", default=None, help="The certificate's serial number (hexadecimal).")
@click.option(
    "--reason",
    type=click.Choice(["key_compromise", "affiliation_changed", "superseded", "unspecified"]),
    default="key_compromise",
    show_default=True,
)
def revoke_certificate_command(username: str | None, serial: str | None, reason: str) -> None:
    """Revoke a demo signing certificate (the demo PKI's OCSP responder reports it at once,
    its CRL within a minute) and stop the account's credential; audited. The account's
    active credential (--user), or the credential with that serial (--serial)."""
    if (username is None) == (serial is None):
        fail(_("Give either --user or --serial."), code=2)
    if username is not None:
        credential = services.active_credential(_user(username))
        if credential is None:
            fail(_("%(user)s has no active signing certificate.", user=username), code=2)
    else:
        credential = services.credential_by_serial(str(serial))
        if credential is None:
            fail(_("No signing credential has the serial %(serial)s.", serial=serial), code=2)
    try:
        entry = services.revoke_demo_certificate(credential, reason)
    except services.SigningRefused as refused:
        fail(refused)
    db.session.commit()
    click.echo(
        _(
            "Certificate %(serial)s (%(subject)s) is revoked since %(when)s; the credential "
            "no longer signs.",
            serial=credential.serial,
            subject=credential.subject,
            when=format_time(entry.revoked_at),
        )
    )


def _yes(value: bool) -> str:
    return _("yes") if value else _("NO")


@click.command("verify-pdf")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_pdf_command(file: Path) -> None:
    """Check a signed PDF: the same verdict as the portal's verification page. Exit 0 for
    a valid document, 2 when it is valid except for persons whose records changed after
    signing (they are named), 1 when it is not valid."""
    content = file.read_bytes()
    verdict = services.verify_content(content)
    document = services.document_by_hash(content) if verdict.readable else None
    services.record_verification(document, verdict, "cli")
    db.session.commit()
    if not verdict.readable:
        message = VERDICT_MESSAGES.get(verdict.message or "", verdict.message)
        click.echo(_("NOT VALID: %(reason)s", reason=message))
        sys.exit(1)
    for index, s in enumerate(verdict.signatures, 1):
        click.echo(
            _(
                "Signature %(n)d: %(signer)s (%(subject)s), serial %(serial)s",
                n=index,
                signer=s.signer_name,
                subject=s.signer_subject,
                serial=s.serial,
            )
        )
        whole = (
            _yes(True)
            if s.whole_file
            else _("NO (%(what)s)", what=modification_text(s.modified_after))
        )
        click.echo(
            "  "
            + _(
                "intact: %(intact)s; trusted: %(trusted)s; whole file: %(whole)s",
                intact=_yes(s.intact and s.valid),
                trusted=_yes(s.trusted and s.key_usage_ok),
                whole=whole,
            )
        )
        if s.revoked:
            click.echo(
                "  "
                + _(
                    "CERTIFICATE REVOKED on %(when)s, before the signature's time",
                    when=format_time(s.revoked_at) or "—",
                )
            )
        click.echo(
            "  "
            + _(
                "signing time: %(signed)s; time-stamp: %(stamp)s (%(ok)s)",
                signed=format_time(s.signing_time) or "—",
                stamp=format_time(s.timestamp_time) or "—",
                ok=_("valid") if s.timestamp_ok else _("not valid"),
            )
        )
    for when, holds in verdict.document_timestamps:
        click.echo(
            _(
                "Document time-stamp (long-term): %(when)s (%(ok)s)",
                when=format_time(when) or "—",
                ok=_("valid") if holds else _("not valid"),
            )
        )
    state = services.portal_state(document) if document is not None else None
    if state is not None:
        rows = (
            " " + _("(rows %(rows)s)", rows=", ".join(map(str, state.superseded_rows)))
            if state.superseded_rows
            else ""
        )
        click.echo(_("In the portal: %(state)s", state=STATE_LABELS[state.state]) + rows)
    else:
        click.echo(_("In the portal: not a document of this portal"))
    result = services.outcome(verdict, state)
    if result.verdict == "partly_valid" and state is not None:
        click.echo(
            _(
                "VALID, EXCEPT: %(persons)s",
                persons="; ".join(
                    _("row %(row)s: %(name)s", row=row, name=name) for row, name in state.superseded
                ),
            )
        )
        sys.exit(2)
    click.echo(_("VALID") if result.ok else _("NOT VALID"))
    sys.exit(0 if result.ok else 1)

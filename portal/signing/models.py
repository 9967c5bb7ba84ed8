"""Signer credentials, signed documents and the persons each document confirms."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.areas.models import Area
from portal.core.clock import utcnow
from portal.core.models_base import enum_column
from portal.extensions import Model


class SignerBackend(enum.StrEnum):
    PKCS12 = "pkcs12"  # a PKCS#12 file kept encrypted, unlocked by the user's PIN
    PKCS11 = "pkcs11"  # a token or HSM reached through its PKCS#11 module
    CSC = "csc"  # a remote-signing provider's credential (CSC API); the key stays there
    BROWSER = "browser"  # a key kept in the signer's browser; the portal has the certificate


class DocumentKind(enum.StrEnum):
    COMMITTEE_LIST = "committee_list"  # the commune committee confirms verified persons
    HANDOVER_LIST = "handover_list"  # the police sign their handover list
    SITE_DAILY = "site_daily"  # a vaccination site's daily vaccine-passport confirmations
    CERTIFICATE = "certificate"  # one person's vaccination certificate
    MINUTES = "minutes"  # the scanned paper record (biên bản) when there is no certificate


class DocumentState(enum.StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


class SigningCredential(Model):
    __tablename__ = "signing_credential"
    __table_args__ = (sa.Index("ix_signing_credential_user", "user_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    backend: Mapped[SignerBackend] = mapped_column(enum_column(SignerBackend, "signer_backend"))
    # PKCS#12 encrypted with the PIN, then sealed again with a key derived from SECRET_KEY, so
    # a copy of the database alone does not allow guessing PINs offline.
    sealed_pkcs12: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    token_label: Mapped[str | None] = mapped_column(sa.String(64))
    key_label: Mapped[str | None] = mapped_column(sa.String(64))
    # A CSC credential: the provider's base URL and its credential ID.
    provider_url: Mapped[str | None] = mapped_column(sa.String(300))
    provider_credential_id: Mapped[str | None] = mapped_column(sa.String(200))
    # What its authorisation asks of the signer, as the provider said when it was linked:
    # "pin", "otp", "pin+otp", "implicit" (the provider decides), "oauth2code".
    provider_auth: Mapped[str | None] = mapped_column(sa.String(20))
    provider_max_batch: Mapped[int | None]  # signatures one authorisation may cover there
    certificate_pem: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.String(400))
    serial: Mapped[str] = mapped_column(sa.String(64))
    not_after: Mapped[datetime]
    title: Mapped[str] = mapped_column(sa.String(120))  # chức vụ shown in the stamp
    unit: Mapped[str] = mapped_column(sa.String(200))  # the signer's unit shown in the stamp
    demo: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Wrong PINs in a row, counted in the database so that every worker sees them; at
    # PIN_ATTEMPTS the credential locks until an administrator unlocks it.
    failed_pins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_at: Mapped[datetime | None]


class SignedDocument(Model):
    __tablename__ = "signed_document"
    __table_args__ = (sa.Index("ix_signed_document_area_kind", "area_id", "kind", "signed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unguessable code of the verification link (the certificate's QR code).
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"))
    state: Mapped[DocumentState] = mapped_column(
        enum_column(DocumentState, "document_state"), default=DocumentState.VALID
    )
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    worklist_id: Mapped[int | None] = mapped_column(sa.ForeignKey("worklist.id"))
    title: Mapped[str] = mapped_column(sa.String(300))
    signer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    signer_name: Mapped[str | None] = mapped_column(sa.String(200))
    certificate_subject: Mapped[str | None] = mapped_column(sa.String(400))
    certificate_serial: Mapped[str | None] = mapped_column(sa.String(64))
    level: Mapped[str | None] = mapped_column(sa.String(8))  # PAdES B-B / B-T / B-LT
    path: Mapped[str] = mapped_column(sa.String(300))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    media_type: Mapped[str] = mapped_column(sa.String(40), default="application/pdf")
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    member_count: Mapped[int] = mapped_column(default=0)

    area: Mapped[Area] = relationship()
    members: Mapped[list[DocumentMember]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="DocumentMember.id"
    )


class DocumentMember(Model):
    __tablename__ = "signed_document_member"
    __table_args__ = (
        sa.UniqueConstraint("document_id", "person_id", name="uq_signed_document_member"),
        sa.Index("ix_signed_document_member_person", "person_id", "superseded_at"),
        # One valid confirmation, and one valid certificate, per person (issue 15, item
        # 2): two signatures at once cannot both confirm, nor both certify, the same person.
        sa.Index(
            "ux_signed_document_member_valid",
            "person_id",
            "basis",
            unique=True,
            sqlite_where=sa.text("basis IS NOT NULL AND superseded_at IS NULL"),
            postgresql_where=sa.text("basis IS NOT NULL AND superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        sa.ForeignKey("signed_document.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    superseded_at: Mapped[datetime | None]
    # What this entry is for the person: ``confirmation`` (a committee or site list, or
    # minutes, confirms them: CONFIRMATION), ``certificate`` (their certificate:
    # CERTIFIED); None for a handover list.
    basis: Mapped[str | None] = mapped_column(sa.String(16))

    document: Mapped[SignedDocument] = relationship(back_populates="members")


CONFIRMATION = "confirmation"
CERTIFIED = "certificate"


class MinutesState(enum.StrEnum):
    PRINTED = "printed"  # printed for signing on paper; no scan yet
    UPLOADED = "uploaded"  # the signed scan is attached; nobody confirmed yet
    CONFIRMED = "confirmed"  # the persons still eligible are confirmed by it


class Minutes(Model):
    """A printed biên bản: its number, its frozen PDF and exactly the persons printed on it.
    The scan of the signed paper is attached to it and confirms those persons only."""

    __tablename__ = "minutes"
    __table_args__ = (sa.Index("ix_minutes_area_state", "area_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"))
    state: Mapped[MinutesState] = mapped_column(
        enum_column(MinutesState, "minutes_state"), default=MinutesState.PRINTED
    )
    title: Mapped[str] = mapped_column(sa.String(300))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    path: Mapped[str] = mapped_column(sa.String(300))  # the printed PDF, as printed
    sha256: Mapped[str] = mapped_column(sa.String(64))
    member_count: Mapped[int] = mapped_column(default=0)
    scan_path: Mapped[str | None] = mapped_column(sa.String(300))
    scan_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    scan_media_type: Mapped[str | None] = mapped_column(sa.String(40))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    # The confirmation it became (kind ``minutes``, the scan as its file).
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signed_document.id"))

    area: Mapped[Area] = relationship()
    members: Mapped[list[MinutesMember]] = relationship(
        back_populates="minutes", cascade="all, delete-orphan", order_by="MinutesMember.id"
    )


class MinutesMember(Model):
    __tablename__ = "minutes_member"
    __table_args__ = (
        sa.UniqueConstraint("minutes_id", "person_id", name="uq_minutes_member"),
        sa.Index("ix_minutes_member_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_id: Mapped[int] = mapped_column(sa.ForeignKey("minutes.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    minutes: Mapped[Minutes] = relationship(back_populates="members")


class BatchState(enum.StrEnum):
    OPEN = "open"  # the sign dialog shows it; nothing signed yet
    SIGNED = "signed"  # signed once: a second submit of the same dialog changes nothing


class SigningBatch(Model):
    """What one sign dialog showed: exactly its persons and the data shown for them. The
    PIN signs these persons (those still eligible), never whatever the awaiting page's
    filter lists by the time the PIN is typed. Like the minutes' record, for a signature."""

    __tablename__ = "signing_batch"
    __table_args__ = (sa.Index("ix_signing_batch_creator", "created_by_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"))
    state: Mapped[BatchState] = mapped_column(
        enum_column(BatchState, "signing_batch_state"), default=BatchState.OPEN
    )
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    day: Mapped[date | None]  # a site's daily list: the day of the doses
    filters: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # as the page had
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    member_count: Mapped[int] = mapped_column(default=0)
    signed_at: Mapped[datetime | None]
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signed_document.id"))

    members: Mapped[list[SigningBatchMember]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", order_by="SigningBatchMember.id"
    )


class SigningBatchMember(Model):
    __tablename__ = "signing_batch_member"
    __table_args__ = (
        sa.UniqueConstraint("batch_id", "person_id", name="uq_signing_batch_member"),
        sa.Index("ix_signing_batch_member_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("signing_batch.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    version: Mapped[int]  # the record's version when the dialog showed it
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Set when signed: why the person was left out (None: confirmed), and its details.
    reason: Mapped[str | None] = mapped_column(sa.String(16))
    detail: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    batch: Mapped[SigningBatch] = relationship(back_populates="members")


class VerificationCount(Model):
    """Anonymous verifications of a portal document, counted per day (Vietnam's) and source
    (``upload`` or ``code``): a count, not one hash-chained audit event per request, so the
    public page cannot grow the tamper-evident trail. Staff and the CLI stay audit events."""

    __tablename__ = "verification_count"

    day: Mapped[date] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        sa.ForeignKey("signed_document.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class PreparedSignature(Model):
    """A document prepared for a signature made outside the portal (a key in the signer's
    browser): the PDF with its signature placeholder and the CMS signed attributes the
    signer's key signs (pyHanko's interrupted signing). It belongs to one user and one
    credential, is bound to the prepared PDF's SHA-256, expires after
    SIGNING_PREPARED_MINUTES and is finished once (``finished_at``, set by a conditional
    UPDATE). What it signs: a sign dialog's list (``batch_id``) or a handover list
    (``worklist_id``); ``member_ids`` are the persons the prepared PDF lists."""

    __tablename__ = "prepared_signature"
    __table_args__ = (sa.Index("ix_prepared_signature_user", "user_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    credential_id: Mapped[int] = mapped_column(
        sa.ForeignKey("signing_credential.id", ondelete="CASCADE")
    )
    batch_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("signing_batch.id", ondelete="CASCADE")
    )
    worklist_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("worklist.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(sa.String(20))  # a DocumentKind's value
    member_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    title: Mapped[str] = mapped_column(sa.String(300))
    level: Mapped[str] = mapped_column(sa.String(8))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)  # the PDF with its placeholder
    reserved_start: Mapped[int]
    reserved_end: Mapped[int]
    document_digest: Mapped[str] = mapped_column(sa.String(64))  # of the /ByteRange, hex
    document_sha256: Mapped[str] = mapped_column(sa.String(64))  # of ``content``, hex
    signed_attrs: Mapped[bytes] = mapped_column(sa.LargeBinary)  # DER: what the key signs
    to_sign_sha256: Mapped[str] = mapped_column(sa.String(64))  # of ``signed_attrs``, hex
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signed_document.id"))

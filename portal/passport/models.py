"""The issuer's Document Signers and the passports they signed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.clock import utcnow
from portal.extensions import Model


class DocumentSigner(Model):
    """A Document Signer Certificate and where its private key is: a key label in a
    PKCS#11 token (the key itself never leaves the token)."""

    __tablename__ = "dcc_signer"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(sa.String(16), unique=True)  # hex of the 8 bytes
    certificate_pem: Mapped[str] = mapped_column(sa.Text)
    token_label: Mapped[str] = mapped_column(sa.String(64))
    key_label: Mapped[str] = mapped_column(sa.String(64))
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Passport(Model):
    """One issued vaccine passport: its UVCI, the DSC that signed it, its validity, the
    ``HC1:`` text its QR shows, and the confirmation it was built on (a person's entry in
    a signed list or minutes). Revoked when that confirmation is superseded; one passport
    in force per person."""

    __tablename__ = "passport"
    __table_args__ = (
        sa.Index("ix_passport_person", "person_id", "revoked_at"),
        sa.Index("ix_passport_expires", "expires_at"),
        sa.Index(
            "ux_passport_person_in_force",
            "person_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    uvci: Mapped[str] = mapped_column(sa.String(80), unique=True)
    signer_id: Mapped[int] = mapped_column(sa.ForeignKey("dcc_signer.id"))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(32))
    hc1: Mapped[str] = mapped_column(sa.Text)
    confirmation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("signed_document_member.id", ondelete="SET NULL")
    )
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    signer: Mapped[DocumentSigner] = relationship()

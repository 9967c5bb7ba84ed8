"""Interrupted PAdES signing with pyHanko: the document is prepared on the server, the signed
attributes are signed elsewhere (a key in the signer's browser, a USB token's plugin), and
the returned signature is embedded. Beside core.py, the other module that talks to pyHanko.

The prepared document is the one ``core.sign_pdf`` makes (same field, stamp, reason and
reserved room); only the signature value comes from outside. The signature time-stamp (B-T)
is requested when the signature is embedded, and B-LT's validation data is gathered then.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any

from asn1crypto import algos, cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import ExternalSigner, PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument, PostSignInstructions
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.pdfgen import canvas

from portal.core.clock import vietnam_now
from portal.signing import core


class BadSignature(ValueError):
    """The returned signature is not the enrolled key's signature of the prepared data."""


@dataclass(frozen=True)
class Prepared:
    content: bytes  # the PDF with its signature placeholder
    reserved_start: int
    reserved_end: int
    document_digest: bytes  # SHA-256 of the /ByteRange
    signed_attrs: bytes  # DER of the CMS signed attributes: what the key signs

    @property
    def to_sign_sha256(self) -> str:
        return hashlib.sha256(self.signed_attrs).hexdigest()


def _mechanism(cert: x509.Certificate) -> algos.SignedDigestAlgorithm:
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    if isinstance(key, rsa.RSAPublicKey):
        return algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})
    raise SigningError("only ECDSA and RSA keys sign in the browser")


def _external_signer(chain: list[x509.Certificate], signature: bytes | None) -> ExternalSigner:
    store = SimpleCertificateStore()
    store.register_multiple([core.to_asn1_cert(c) for c in chain[1:]])
    return ExternalSigner(
        signing_cert=core.to_asn1_cert(chain[0]),
        cert_registry=store,
        signature_value=signature if signature is not None else 256,
        signature_mechanism=_mechanism(chain[0]),
    )


def _pdf_signer(
    signer: signers.Signer,
    stamp: core.Stamp | None,
    reason: str,
    location: str | None,
    validation_context: ValidationContext | None = None,
    timestamper: timestamps.TimeStamper | None = None,
) -> signers.PdfSigner:
    meta = signers.PdfSignatureMetadata(
        field_name=core.FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        name=stamp.name if stamp else None,
        embed_validation_info=validation_context is not None,
        validation_context=validation_context,
    )
    return signers.PdfSigner(
        meta,
        signer=signer,
        timestamper=timestamper,
        stamp_style=core.stamp_style() if stamp is not None else None,
        new_field_spec=fields.SigFieldSpec(core.FIELD_NAME, on_page=stamp.page, box=stamp.box)
        if stamp is not None
        else None,
    )


def prepare_pdf(
    content: bytes,
    chain: list[x509.Certificate],
    stamp: core.Stamp | None,
    level: str = "B-T",
    reason: str = "Xác nhận thông tin tiêm chủng",
    location: str | None = None,
    moment: datetime | None = None,
) -> Prepared:
    """The PDF in its final pre-signing state and the signed attributes to sign."""
    if level not in core.LEVELS:
        raise ValueError(f"unknown PAdES level {level}")
    moment = moment or vietnam_now()
    signer = _external_signer(chain, None)
    params = None
    if stamp is not None:
        params = {
            key: unicodedata.normalize("NFC", value)
            for key, value in {
                "name": stamp.name,
                "title": stamp.title,
                "unit": stamp.unit,
                "when": core.signing_time_text(moment),
            }.items()
        }
    pdf_signer = _pdf_signer(signer, stamp, reason, location)

    async def run() -> Prepared:
        writer = IncrementalPdfFileWriter(BytesIO(content), strict=False)
        digest, _tbs, output = await pdf_signer.async_digest_doc_for_signing(
            writer,
            appearance_text_params=params,
            bytes_reserved=core.BYTES_RESERVED_LT
            if level in core.LONG_TERM
            else core.BYTES_RESERVED,
        )
        attrs = await signer.signed_attrs(
            digest.document_digest,
            "sha256",
            attr_settings=PdfCMSSignedAttributes(signing_time=moment),
            use_pades=True,
        )
        output.seek(0)
        return Prepared(
            content=output.read(),
            reserved_start=digest.reserved_region_start,
            reserved_end=digest.reserved_region_end,
            document_digest=digest.document_digest,
            signed_attrs=attrs.dump(),
        )

    return asyncio.run(run())


def signature_der(cert: x509.Certificate, signature: bytes) -> bytes:
    """An ECDSA signature as CMS embeds it (DER), from WebCrypto's raw ``r||s`` or already
    DER (a token's plugin may answer either); an RSA signature as it is."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        size = (key.curve.key_size + 7) // 8
        if len(signature) == 2 * size:
            try:  # a DER signature of just that length (r and s with leading zeros): rare
                decode_dss_signature(signature)
                return signature
            except ValueError:
                pass
            return encode_dss_signature(
                int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            )
    return signature


def check_signature(cert: x509.Certificate, data: bytes, signature: bytes) -> None:
    """BadSignature unless ``signature`` (DER for ECDSA) is the certificate's key's
    SHA-256 signature of ``data``."""
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise BadSignature("unsupported key")
    except (InvalidSignature, ValueError) as error:
        raise BadSignature("the signature does not verify") from error


def finish_pdf(
    prepared: Prepared,
    chain: list[x509.Certificate],
    signature: bytes,
    timestamper: timestamps.TimeStamper | None,
    level: str = "B-T",
    trust_roots: list[x509.Certificate] | None = None,
    fetch: bool = False,
) -> bytes:
    """Embed the signature (checked first: BadSignature) with its time-stamp; the signed
    file. ``signature`` is DER for ECDSA (``signature_der``). B-LT and B-LTA add the
    validation data (fetched where ``fetch`` allows, as ``core.sign_pdf``), B-LTA a
    document time-stamp after it."""
    check_signature(chain[0], prepared.signed_attrs, signature)
    if level != "B-B" and timestamper is None:
        raise SigningError("PAdES B-T needs a time-stamping authority (SIGNING_TSA_URL)")
    signer = _external_signer(chain, signature)

    async def run() -> bytes:
        signed_cms = await signer.async_sign_prescribed_attributes(
            "sha256",
            signed_attrs=cms.CMSAttributes.load(prepared.signed_attrs),
            timestamper=timestamper if level != "B-B" else None,
        )
        output = BytesIO(prepared.content)
        instructions = None
        context = None
        if level in core.LONG_TERM:
            context = core.validation_context_for(trust_roots or [], fetch)
            instructions = await _validation_instructions(
                chain, context, timestamper, lta=level == "B-LTA"
            )
        await PdfTBSDocument.async_finish_signing(
            output,
            PreparedByteRangeDigest(
                document_digest=prepared.document_digest,
                reserved_region_start=prepared.reserved_start,
                reserved_region_end=prepared.reserved_end,
            ),
            signed_cms,
            post_sign_instr=instructions,
            validation_context=context,
        )
        return output.getvalue()

    return asyncio.run(run())


async def _validation_instructions(
    chain: list[x509.Certificate], context: ValidationContext, timestamper: Any, lta: bool
) -> PostSignInstructions:
    """B-LT: the signer's validation data gathered as pyHanko does before a signature
    (the certificate path, and the TSA's through a trial time-stamp); B-LTA: and a document
    time-stamp after it."""
    signer = _external_signer(chain, None)
    pdf_signer = _pdf_signer(
        signer, None, "", None, validation_context=context, timestamper=timestamper
    )
    session = pdf_signer.init_signing_session(
        IncrementalPdfFileWriter(BytesIO(_blank_pdf()), strict=False)
    )
    info = await session.perform_presign_validation()
    assert info is not None
    return PostSignInstructions(
        validation_info=info,
        timestamp_md_algorithm="sha256",
        timestamper=timestamper if lta else None,
    )


@functools.cache
def _blank_pdf() -> bytes:
    """A blank page: B-LT's validation data is gathered on a signing session, which needs a
    document, though nothing of it goes into the data."""
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()

"""PAdES signing and validation with pyHanko: the one module that talks to it.

Signatures are ETSI.CAdES.detached, SHA-256, level B-T by default (a signature time-stamp
from an RFC 3161 TSA), B-LT on request (validation data embedded: the chain, OCSP responses
and CRLs), B-LTA (and a document time-stamp over it all), with a visible stamp in
Vietnamese drawn in Noto Sans (1000 units per em; DejaVu misrenders in pyHanko stamps).

Validation is revocation-aware and judged at the signature's time (its time-stamp's, when
the time-stamp holds): a certificate revoked before that time makes the signature invalid,
one revoked later does not. Revocation data come from the file (B-LT) and, where fetching
is allowed (SIGNING_REVOCATION_FETCH), from the addresses in the certificates.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import cms, core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from fontTools import ttLib
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngine, FontEngineFactory, ShapeResult
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import SigningError, as_signing_certificate, simple_cms_attribute
from pyhanko.sign.signers.pdf_cms import SimpleSigner
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore, NoDSSFoundError
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import (
    async_validate_detached_cms,
    extract_tst_data_iter,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import RevokedError
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.registry import SimpleCertificateStore

from portal.core.clock import to_vietnam, vietnam_now

FONT = Path(__file__).resolve().parent.parent / "fonts" / "NotoSans-Regular.ttf"
FIELD_NAME = "ChuKySo"
# Room for the CMS: signature, certificates, time-stamp token (with the TSA's chain).
BYTES_RESERVED = 16 * 1024
BYTES_RESERVED_LT = 32 * 1024
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
LONG_TERM = ("B-LT", "B-LTA")
FETCH_TIMEOUT = 10  # seconds per OCSP/CRL request


class SignerUnavailable(Exception):
    """The key could not be unlocked (wrong PIN, damaged file, token absent)."""


def to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def to_asn1_key(key: Any) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


class ParsedKeySigner(SimpleSigner):
    """pyHanko's SimpleSigner re-parses the DER key for every signature; this one keeps the
    parsed key, so a batch parses it once."""

    def __init__(self, key: Any, cert: x509.Certificate, chain: list[x509.Certificate]):
        store = SimpleCertificateStore()
        store.register_multiple([to_asn1_cert(c) for c in chain])
        super().__init__(
            signing_cert=to_asn1_cert(cert), signing_key=to_asn1_key(key), cert_registry=store
        )
        self.parsed_key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        algorithm = {
            "sha256": hashes.SHA256(),
            "sha384": hashes.SHA384(),
            "sha512": hashes.SHA512(),
        }[digest_algorithm.lower()]
        if isinstance(self.parsed_key, ec.EllipticCurvePrivateKey):
            return self.parsed_key.sign(data, ec.ECDSA(algorithm))
        if isinstance(self.parsed_key, rsa.RSAPrivateKey):
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            if mechanism["algorithm"].native == "rsassa_pkcs1v15":
                return self.parsed_key.sign(data, padding.PKCS1v15(), algorithm)
        return super().sign_raw(data, digest_algorithm)


def signer_from_pkcs12(data: bytes, pin: str) -> ParsedKeySigner:
    """Unlock a PKCS#12 with the PIN; a wrong PIN raises SignerUnavailable."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, pin.encode())
    except ValueError as error:
        raise SignerUnavailable("wrong PIN or damaged PKCS#12") from error
    if key is None or cert is None:
        raise SignerUnavailable("the PKCS#12 holds no key or certificate")
    return ParsedKeySigner(key, cert, list(extra))


@dataclass(frozen=True)
class Stamp:
    """What the visible signature says, in Vietnamese."""

    name: str
    title: str
    unit: str
    page: int  # 0-based
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class _StampFont:
    """What a stamp needs from its font, read once per process: no fontTools per signature."""

    ps_name: str
    units_per_em: int
    glyph_of: dict[int, int]  # code point -> glyph id
    advances: tuple[int, ...]  # by glyph id, in font units
    descriptor: dict[str, Any]
    program: bytes  # the whole font file, deflated
    program_length: int


@functools.cache
def _stamp_font() -> _StampFont:
    data = FONT.read_bytes()
    tt = ttLib.TTFont(BytesIO(data))
    head, hhea, os2 = tt["head"], tt["hhea"], tt["OS/2"]
    metrics = tt["hmtx"].metrics
    return _StampFont(
        ps_name=tt["name"].getDebugName(6),
        units_per_em=head.unitsPerEm,
        glyph_of={code: tt.getGlyphID(name) for code, name in tt.getBestCmap().items()},
        advances=tuple(metrics[name][0] for name in tt.getGlyphOrder()),
        descriptor={
            "Ascent": hhea.ascent,
            "Descent": hhea.descent,
            "FontBBox": [head.xMin, head.yMin, head.xMax, head.yMax],
            "Flags": 0b100,  # symbolic, as pyHanko and reportlab mark their subsets
            "StemV": int(10 + 220 * (os2.usWeightClass - 50) / 900),
            "ItalicAngle": tt["post"].italicAngle,
            "CapHeight": getattr(os2, "sCapHeight", 700),
        },
        program=zlib.compress(data, 9),
        program_length=len(data),
    )


class StampFont(FontEngine):
    """The stamp's font, embedded whole as a CID-keyed TrueType font (Identity-H).

    pyHanko's GlyphAccumulator parses the font, shapes with HarfBuzz and subsets with fontTools
    for every signature, which costs more than the signature itself. The stamp font is already
    a small Vietnamese subset of Noto Sans (35 kB, 18 kB deflated) with no layout tables, and
    the stamp text is NFC: a glyph per character from the cmap and its advance is all the
    shaping there is, and the program is deflated once per process. Output as pyHanko's: a
    TJ per line inside an ActualText span, widths and a ToUnicode map for the glyphs used.
    """

    def __init__(self, writer: Any, font_size: int, obj_stream: Any = None):
        self.font = _stamp_font()
        super().__init__(
            writer,
            self.font.ps_name,
            embedded_subset=True,
            obj_stream=obj_stream,
            font_size=font_size,
        )
        self.reference = writer.allocate_placeholder()
        self.text_of: dict[int, str] = {}  # glyph id -> the character it shows
        self.written = False

    def shape(self, txt: str) -> ShapeResult:
        if not txt:
            return ShapeResult(b"", 0, 0)
        glyph_of, advances = self.font.glyph_of, self.font.advances
        glyphs = [glyph_of.get(ord(char), 0) for char in txt]
        for glyph, char in zip(glyphs, txt, strict=True):
            if glyph:
                self.text_of.setdefault(glyph, char)
        advance = sum(advances[glyph] for glyph in glyphs) / self.font.units_per_em
        span = BytesIO()
        generic.DictionaryObject(
            {generic.pdf_name("/ActualText"): generic.TextStringObject(txt)}
        ).write_to_stream(span)
        ops = b"/Span %s BDC [<%s>] TJ %g 0 Td EMC" % (
            span.getvalue(),
            "".join(f"{glyph:04x}" for glyph in glyphs).encode("ascii"),
            advance * self.font_size,
        )
        return ShapeResult(graphics_ops=ops, x_advance=advance, y_advance=0)

    def as_resource(self) -> generic.IndirectObject:
        return self.reference

    def prepare_write(self) -> None:
        if self.written:
            return
        self.written = True
        name = generic.pdf_name
        font, writer, obj_stream = self.font, self.writer, self.obj_stream
        base_font = f"{self.subset_prefix}+{font.ps_name}"
        program = writer.add_object(
            generic.StreamObject(
                {
                    name("/Filter"): name("/FlateDecode"),
                    name("/Length1"): generic.NumberObject(font.program_length),
                },
                encoded_data=font.program,
            )
        )
        values = font.descriptor
        descriptor = writer.add_object(
            generic.DictionaryObject(
                {
                    name("/Type"): name("/FontDescriptor"),
                    name("/FontName"): name("/" + base_font),
                    **{
                        name("/" + key): generic.NumberObject(values[key])
                        for key in ("Ascent", "Descent", "Flags", "StemV", "CapHeight")
                    },
                    name("/ItalicAngle"): generic.FloatObject(values["ItalicAngle"]),
                    name("/FontBBox"): generic.ArrayObject(
                        generic.NumberObject(v) for v in values["FontBBox"]
                    ),
                    name("/FontFile2"): program,
                }
            ),
            obj_stream=obj_stream,
        )
        glyphs = sorted(self.text_of)
        widths = generic.ArrayObject()  # first glyph [widths...] for each run of glyph ids
        for glyph in glyphs:
            width = generic.NumberObject(round(font.advances[glyph] * 1000 / font.units_per_em))
            if widths and widths[-2] + len(widths[-1]) == glyph:
                widths[-1].append(width)
            else:
                widths += [generic.NumberObject(glyph), generic.ArrayObject([width])]
        cid_font = writer.add_object(
            generic.DictionaryObject(
                {
                    name("/Type"): name("/Font"),
                    name("/Subtype"): name("/CIDFontType2"),
                    name("/BaseFont"): name("/" + base_font),
                    name("/CIDSystemInfo"): generic.DictionaryObject(
                        {
                            name("/Registry"): generic.pdf_string("Adobe"),
                            name("/Ordering"): generic.pdf_string("Identity"),
                            name("/Supplement"): generic.NumberObject(0),
                        }
                    ),
                    name("/CIDToGIDMap"): name("/Identity"),
                    name("/FontDescriptor"): descriptor,
                    name("/W"): widths,
                }
            ),
            obj_stream=obj_stream,
        )
        to_unicode = writer.add_object(
            generic.StreamObject(
                stream_data=_to_unicode_cmap({glyph: self.text_of[glyph] for glyph in glyphs})
            )
        )
        writer.add_object(
            generic.DictionaryObject(
                {
                    name("/Type"): name("/Font"),
                    name("/Subtype"): name("/Type0"),
                    name("/BaseFont"): name(f"/{base_font}-Identity-H"),
                    name("/Encoding"): name("/Identity-H"),
                    name("/DescendantFonts"): generic.ArrayObject([cid_font]),
                    name("/ToUnicode"): to_unicode,
                }
            ),
            obj_stream,
            idnum=self.reference.idnum,
        )


def _to_unicode_cmap(text_of: dict[int, str]) -> bytes:
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    items = list(text_of.items())
    for start in range(0, len(items), 100):  # at most 100 entries per block
        block = items[start : start + 100]
        lines.append(f"{len(block)} beginbfchar")
        lines += [f"<{glyph:04x}> <{text.encode('utf-16-be').hex()}>" for glyph, text in block]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")


class StampFontFactory(FontEngineFactory):
    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> StampFont:
        # The text box sets the engine's size to its own.
        return StampFont(writer, font_size=10, obj_stream=obj_stream)


@functools.cache
def stamp_style() -> TextStampStyle:
    return TextStampStyle(
        stamp_text="Ký bởi: %(name)s\n%(title)s – %(unit)s\nThời gian ký: %(when)s",
        text_box_style=TextBoxStyle(font=StampFontFactory(), leading=10),
        border_width=1,
        background=None,
    )


class LocalTimeStamper(DummyTimeStamper):
    """pyHanko's in-process TSA, with its RSA key parsed once instead of for every token
    (parsing an RSA key costs more than the whole signature)."""

    def __init__(self, cert: x509.Certificate, key: Any, chain: list[x509.Certificate]):
        super().__init__(
            tsa_cert=to_asn1_cert(cert),
            tsa_key=to_asn1_key(key),
            certs_to_embed=SimpleCertificateStore.from_certs([to_asn1_cert(c) for c in chain]),
        )
        self.parsed_key = key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime):
        algorithm = {
            "sha256": hashes.SHA256(),
            "sha384": hashes.SHA384(),
            "sha512": hashes.SHA512(),
        }[md_algorithm.lower()]
        digest = hashes.Hash(algorithm)
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                simple_cms_attribute("signing_certificate", as_signing_certificate(self.tsa_cert)),
                simple_cms_attribute("message_digest", digest.finalize()),
            ]
        )
        signature = self.parsed_key.sign(signed_attrs.dump(), padding.PKCS1v15(), algorithm)
        return signature, signed_attrs


@dataclass(frozen=True)
class TsaConfig:
    """An RFC 3161 TSA: a URL, or an in-process one from a certificate and key (tests, demo)."""

    url: str | None = None
    cert: x509.Certificate | None = None
    key: Any = None
    chain: tuple[x509.Certificate, ...] = ()

    def timestamper(self) -> timestamps.TimeStamper | None:
        if self.url:
            return timestamps.HTTPTimeStamper(self.url, timeout=10)
        if self.cert is not None and self.key is not None:
            return LocalTimeStamper(self.cert, self.key, list(self.chain))
        return None


def validation_context_for(
    trust_roots: list[x509.Certificate],
    fetch: bool,
    moment: datetime | None = None,
    dss: DocumentSecurityStore | None = None,
) -> ValidationContext:
    """pyHanko's validation context: revocation soft-fail (missing data is no failure, a
    revocation is), fetching OCSP/CRLs from the certificates' addresses only if ``fetch``
    (with requests: nothing left open), at ``moment`` (None: now) with revocation data
    issued later accepted for it (a revocation after ``moment`` does not count), preloaded
    with a file's DSS when given."""
    kwargs: dict[str, Any] = {
        "trust_roots": [to_asn1_cert(c) for c in trust_roots],
        "allow_fetching": fetch,
        "revocation_mode": "soft-fail",
        "retroactive_revinfo": True,
        "moment": moment,
    }
    if fetch:
        kwargs["fetcher_backend"] = RequestsFetcherBackend(per_request_timeout=FETCH_TIMEOUT)
    if dss is not None:
        return dss.as_validation_context(kwargs)
    return ValidationContext(**kwargs)


@dataclass(frozen=True)
class Revocation:
    when: datetime | None
    reason: str | None


def certificate_revocation(
    cert: x509.Certificate, chain: list[x509.Certificate], trust_roots: list[x509.Certificate]
) -> Revocation | None:
    """Whether ``cert`` is revoked now, asking its OCSP responder (or CRL) over the network:
    the check before signing. Unreachable revocation services or an untrusted chain are not
    this check's verdict (None); the signature's validation reports them."""
    context = validation_context_for(trust_roots, fetch=True)
    validator = CertificateValidator(
        to_asn1_cert(cert),
        intermediate_certs=[to_asn1_cert(c) for c in chain if c != cert],
        validation_context=context,
    )
    try:
        asyncio.run(validator.async_validate_usage(set()))
    except RevokedError as error:
        return Revocation(when=error.revocation_dt, reason=error.reason.native)
    except Exception:  # not trusted, expired, unreachable: not a revocation
        return None
    return None


def signing_time_text(moment: datetime) -> str:
    return to_vietnam(moment).strftime("%H:%M:%S ngày %d/%m/%Y (GMT+7)")


@dataclass(frozen=True)
class PdfToSign:
    """One PDF of a batch, with its stamp and the words of its signature dictionary."""

    content: bytes
    stamp: Stamp | None
    reason: str = "Xác nhận thông tin tiêm chủng"
    location: str | None = None


def sign_pdf(
    content: bytes,
    signer: signers.Signer,
    stamp: Stamp | None,
    timestamper: timestamps.TimeStamper | None,
    level: str = "B-T",
    trust_roots: list[x509.Certificate] | None = None,
    reason: str = "Xác nhận thông tin tiêm chủng",
    location: str | None = None,
    moment: datetime | None = None,
    fetch: bool = False,
    field_name: str = FIELD_NAME,
) -> bytes:
    """Sign ``content`` as PAdES (ETSI.CAdES.detached, SHA-256) and return the signed file.
    B-LT and B-LTA embed the revocation data pyHanko finds: fetched from the addresses in
    the certificates when ``fetch`` allows it (else none, the chain only)."""
    return sign_pdfs(
        [PdfToSign(content, stamp, reason, location)],
        signer,
        timestamper,
        level,
        trust_roots,
        moment,
        fetch,
        field_name,
    )[0]


def sign_pdfs(
    items: list[PdfToSign],
    signer: signers.Signer,
    timestamper: timestamps.TimeStamper | None,
    level: str = "B-T",
    trust_roots: list[x509.Certificate] | None = None,
    moment: datetime | None = None,
    fetch: bool = False,
    field_name: str = FIELD_NAME,
) -> list[bytes]:
    """Sign several PDFs with one signer, concurrently: a remote signer (remote.py) whose
    ``batch_size`` is their number then asks its provider once for all their hashes (one
    authorisation, one signing call). A remote signer drives its own event loop, where its
    HTTP session lives; a local key runs on a fresh one."""
    if level not in LEVELS:
        raise ValueError(f"unknown PAdES level {level}")
    if level != "B-B" and timestamper is None:
        raise SigningError("PAdES B-T needs a time-stamping authority (SIGNING_TSA_URL)")
    moment = moment or vietnam_now()
    validation_context = None
    if level in LONG_TERM:
        validation_context = validation_context_for(trust_roots or [], fetch)
    coroutines = [
        _sign_one(item, signer, timestamper, level, validation_context, moment, field_name)
        for item in items
    ]

    async def sign_all() -> list[bytes]:
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            # One failed: the others may be waiting for a batch that will never fill.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            if validation_context is not None:  # its HTTP session, in this loop
                await validation_context.aclose()

    # A batch keeps every document's objects alive until the provider answers (its hashes
    # are authorised together): with the collector on, each full collection walks them all
    # again, and the time per certificate grew with the batch (bench.csc: 200 at once took
    # twice as long each as 20). Reference counting still frees what a document drops.
    collecting = len(items) > 1 and gc.isenabled()
    if collecting:
        gc.disable()
    try:
        run = getattr(signer, "run", None)
        if run is not None:
            return list(run(sign_all()))
        return asyncio.run(sign_all())
    finally:
        if collecting:
            gc.enable()


async def _sign_one(
    item: PdfToSign,
    signer: signers.Signer,
    timestamper: timestamps.TimeStamper | None,
    level: str,
    validation_context: ValidationContext | None,
    moment: datetime,
    field_name: str,
) -> bytes:
    stamp = item.stamp
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=item.reason,
        location=item.location,
        name=stamp.name if stamp else None,
        embed_validation_info=level in LONG_TERM,
        use_pades_lta=level == "B-LTA",
        validation_context=validation_context,
    )
    spec = None
    style = None
    params = None
    if stamp is not None:
        spec = fields.SigFieldSpec(field_name, on_page=stamp.page, box=stamp.box)
        style = stamp_style()
        # NFC: the subset font has the precomposed Vietnamese letters and no mark positioning.
        params = {
            key: unicodedata.normalize("NFC", value)
            for key, value in {
                "name": stamp.name,
                "title": stamp.title,
                "unit": stamp.unit,
                "when": signing_time_text(moment),
            }.items()
        }
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer,
        timestamper=timestamper if level != "B-B" else None,
        stamp_style=style,
        new_field_spec=spec,
    )
    writer = IncrementalPdfFileWriter(BytesIO(item.content), strict=False)
    output = await pdf_signer.async_sign_pdf(
        writer,
        appearance_text_params=params,
        bytes_reserved=BYTES_RESERVED_LT if level in LONG_TERM else BYTES_RESERVED,
    )
    return bytes(output.getvalue())


# --- validation -----------------------------------------------------------------------------


@dataclass
class SignatureReport:
    intact: bool
    valid: bool
    trusted: bool
    signer_name: str
    signer_subject: str
    serial: str
    signing_time: datetime | None
    timestamp_time: datetime | None
    timestamp_ok: bool
    whole_file: bool
    modified_after: str | None  # None when nothing was changed after signing
    key_usage_ok: bool = True
    problem: str | None = None
    # The signer's certificate was revoked before the signature's time (its time-stamp's).
    revoked: bool = False
    revoked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return (
            self.intact
            and self.valid
            and self.trusted
            and self.whole_file
            and self.key_usage_ok
            and not self.revoked
        )


@dataclass
class Verdict:
    readable: bool
    message: str | None = None  # why the file could not be checked
    signatures: list[SignatureReport] = field(default_factory=list)
    # B-LTA: each document time-stamp's time and whether it holds.
    document_timestamps: list[tuple[datetime | None, bool]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.readable
            and bool(self.signatures)
            and all(s.ok for s in self.signatures)
            and all(holds for _when, holds in self.document_timestamps)
        )


SUBJECT_PARTS = (
    x509.NameOID.COMMON_NAME,
    x509.NameOID.TITLE,
    x509.NameOID.ORGANIZATIONAL_UNIT_NAME,
    x509.NameOID.ORGANIZATION_NAME,
    x509.NameOID.LOCALITY_NAME,
    x509.NameOID.STATE_OR_PROVINCE_NAME,
    x509.NameOID.COUNTRY_NAME,
)


def subject_text(cert: asn1_x509.Certificate | x509.Certificate) -> str:
    """A certificate's subject as a person reads it: name · title · unit · organisation ·
    place · country ("Trần Văn Đức · Chủ tịch · Phường Ba Đình · VN"), the same in every
    language — neither asn1crypto's English "Common Name: …" nor a DN's "CN=…,2.5.4.12=…" —
    and the same on the pages, in the command line and in the credential rows. A subject
    with none of those parts is given in RFC 4514's form."""
    if isinstance(cert, asn1_x509.Certificate):
        cert = x509.load_der_x509_certificate(cert.dump())
    parts = [
        str(attribute.value)
        for oid in SUBJECT_PARTS
        for attribute in cert.subject.get_attributes_for_oid(oid)
    ]
    return " · ".join(parts) if parts else cert.subject.rfc4514_string()


def _common_name(cert: asn1_x509.Certificate) -> str:
    for rdn in cert.subject.chosen:
        for attribute in rdn:
            if attribute["type"].native == "common_name":
                return str(attribute["value"].native)
    return cert.subject.human_friendly


def _claimed_timestamp(signature: Any) -> datetime | None:
    """The time in the signature's time-stamp token, as it claims (checked by validation)."""
    try:
        for token in extract_tst_data_iter(signature.signer_info, signed=False):
            return token["encap_content_info"]["content"].parsed["gen_time"].native
    except Exception:  # no time-stamp, or one pyHanko's reader cannot parse
        return None
    return None


def _validate_one(
    signature: Any,
    trust_roots: list[x509.Certificate],
    fetch: bool,
    dss: DocumentSecurityStore | None,
) -> Any:
    """pyHanko's status, judged at the signature time-stamp's time when the time-stamp
    holds (a certificate revoked after it does not invalidate the signature), else now."""
    claimed = _claimed_timestamp(signature)
    status = None
    if claimed is not None:
        context = validation_context_for(trust_roots, fetch, claimed, dss)
        status = validate_pdf_signature(
            signature, signer_validation_context=context, ts_validation_context=context
        )
        ts = status.timestamp_validity
        if ts is not None and ts.intact and ts.valid and ts.trust_problem_indic is None:
            return status
    context = validation_context_for(trust_roots, fetch, None, dss)
    return validate_pdf_signature(
        signature, signer_validation_context=context, ts_validation_context=context
    )


def validate(content: bytes, trust_roots: list[x509.Certificate], fetch: bool = False) -> Verdict:
    """Check every signature of a PDF; never raises on bad input (the verdict says why).
    Revocation: the file's own data (B-LT), and with ``fetch`` the certificates' OCSP
    responders and CRLs; a document time-stamp (B-LTA) is checked, not reported as a
    signer."""
    if not content.lstrip()[:5].startswith(b"%PDF-"):
        return Verdict(False, "not_pdf")
    try:
        reader = PdfFileReader(BytesIO(content), strict=False)
        if reader.encrypted:
            return Verdict(False, "encrypted")
        embedded = reader.embedded_signatures
    except Exception:  # a damaged file: pyHanko raises many kinds of errors
        return Verdict(False, "damaged")
    if not embedded:
        return Verdict(False, "unsigned")
    try:
        dss: DocumentSecurityStore | None = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        dss = None
    except Exception:  # a damaged DSS: validate without it
        dss = None
    reports = []
    archive: list[tuple[datetime | None, bool]] = []
    for signature in embedded:
        if signature.sig_object_type == "/DocTimeStamp":
            archive.append(_document_timestamp(signature, trust_roots, fetch, dss))
            continue
        try:
            status = _validate_one(signature, trust_roots, fetch, dss)
        except (SignatureValidationError, ValueError, KeyError, TypeError) as error:
            cert = signature.signer_cert
            reports.append(
                SignatureReport(
                    intact=False,
                    valid=False,
                    trusted=False,
                    signer_name=_common_name(cert),
                    signer_subject=subject_text(cert),
                    serial=format(cert.serial_number, "x"),
                    signing_time=None,
                    timestamp_time=None,
                    timestamp_ok=False,
                    whole_file=False,
                    modified_after=None,
                    problem=str(error)[:300],
                )
            )
            continue
        ts = status.timestamp_validity
        level = status.modification_level
        # B-LT appends validation data (a DSS) after the signature: allowed, not an edit.
        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
            level is not None and level.name == "LTA_UPDATES"
        )
        cert = status.signing_cert
        key_usage_ok = status.trust_problem_indic is None or (
            "KEY_USAGE" not in str(status.trust_problem_indic)
            and "CHAIN_CONSTRAINTS" not in str(status.trust_problem_indic)
        )
        reports.append(
            SignatureReport(
                intact=status.intact,
                valid=status.valid,
                trusted=status.trust_problem_indic is None and status.validation_path is not None,
                signer_name=_common_name(cert),
                signer_subject=subject_text(cert),
                serial=format(cert.serial_number, "x"),
                signing_time=status.signer_reported_dt,
                timestamp_time=ts.timestamp if ts is not None else None,
                timestamp_ok=bool(ts and ts.intact and ts.valid and ts.trust_problem_indic is None),
                whole_file=whole,
                modified_after=None if whole else (level.name if level is not None else "OTHER"),
                key_usage_ok=key_usage_ok,
                problem=str(status.trust_problem_indic) if status.trust_problem_indic else None,
                revoked=status.revoked,
                revoked_at=_revocation_time(status),
            )
        )
    if not reports:
        return Verdict(False, "unsigned")
    return Verdict(True, None, reports, archive)


def _revocation_time(status: Any) -> datetime | None:
    details = status.revocation_details
    return getattr(details, "revocation_date", None) if details is not None else None


def _document_timestamp(
    signature: Any,
    trust_roots: list[x509.Certificate],
    fetch: bool,
    dss: DocumentSecurityStore | None,
) -> tuple[datetime | None, bool]:
    """A B-LTA document time-stamp: its time, and whether it is intact and trusted."""
    try:
        context = validation_context_for(trust_roots, fetch, None, dss)
        status = validate_pdf_timestamp(signature, validation_context=context)
    except (SignatureValidationError, ValueError, KeyError, TypeError):
        return None, False
    return status.timestamp, bool(
        status.intact and status.valid and status.trust_problem_indic is None
    )


# --- detached signatures of other data (the audit trail's checkpoints) ---------------------


def sign_detached(
    data: bytes, signer: signers.Signer, timestamper: timestamps.TimeStamper | None
) -> bytes:
    """A detached CMS signature of ``data`` (DER; SHA-256, CAdES signed attributes), with the
    TSA's time-stamp on the signature: ``openssl cms -verify -binary -content`` checks it."""
    if timestamper is None:
        raise SigningError("a time-stamp needs a time-stamping authority (SIGNING_TSA_URL)")
    signed = asyncio.run(
        signer.async_sign_general_data(
            data, "sha256", detached=True, use_cades=True, timestamper=timestamper
        )
    )
    return bytes(signed.dump())


@dataclass
class DetachedReport:
    intact: bool
    trusted: bool
    signer_subject: str
    timestamp_time: datetime | None
    timestamp_ok: bool

    @property
    def ok(self) -> bool:
        return self.intact and self.trusted and self.timestamp_ok


def validate_detached(
    data: bytes, signature: bytes, trust_roots: list[x509.Certificate]
) -> DetachedReport:
    """Check a detached CMS signature of ``data`` and its signature time-stamp against the
    trust roots; never raises on bad input (a report of nothing that holds)."""
    try:
        signed_data = cms.ContentInfo.load(signature)["content"]
        context = ValidationContext(
            trust_roots=[to_asn1_cert(c) for c in trust_roots],
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        status = asyncio.run(
            async_validate_detached_cms(data, signed_data, signer_validation_context=context)
        )
    except Exception:  # not a CMS, or one pyHanko cannot read: many kinds of error
        return DetachedReport(False, False, "", None, False)
    ts = status.timestamp_validity
    return DetachedReport(
        intact=bool(status.intact and status.valid),
        trusted=status.trust_problem_indic is None and status.validation_path is not None,
        signer_subject=subject_text(status.signing_cert),
        timestamp_time=ts.timestamp if ts is not None else None,
        timestamp_ok=bool(ts and ts.intact and ts.valid and ts.trust_problem_indic is None),
    )

"""The HC1: text: CBOR → CWT → COSE_Sign1 ES256 → zlib → Base45, its QR at level Q; read back
by the portal's decoder, by pycose (an independent COSE implementation) and by zbarimg."""

from __future__ import annotations

import hashlib
import subprocess
import zlib
from datetime import UTC, datetime, timedelta

import base45
import cbor2
import pytest
import segno
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pycose.keys import EC2Key
from pycose.messages import Sign1Message

from portal.passport import hcert, keys, valuesets
from portal.passport.hcert import Verdict

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def _cose(text: str):
    return cbor2.loads(zlib.decompress(base45.b45decode(text.removeprefix("HC1:"))))


def _pycose_verifies(message: bytes, certificate) -> bool:
    """pycose checks the ES256 signature with the DSC's public key. Its Sign1Message.decode
    expects cbor2 5's lists (cbor2 6 gives a tuple and a frozendict inside the tag), so the
    array goes to its from_cose_obj as the lists it expects; the rest is pycose's."""
    tag = cbor2.loads(message)
    assert tag.tag == 18
    protected, unprotected, claims, signature = tag.value
    decoded = Sign1Message.from_cose_obj([protected, dict(unprotected), claims, signature], True)
    numbers = certificate.public_key().public_numbers()
    decoded.key = EC2Key(
        crv="P_256", x=numbers.x.to_bytes(32, "big"), y=numbers.y.to_bytes(32, "big")
    )
    return decoded.verify_signature()


def test_round_trip(software_dsc, make_payload):
    signer, certificate = software_dsc
    built = make_payload()
    text = hcert.issue(built, signer, NOW)
    assert text.startswith("HC1:")
    reading = hcert.read(text, {signer.kid: certificate}, NOW + timedelta(days=1))
    assert reading.verdict == Verdict.VALID, reading.errors
    assert reading.payload == built
    assert reading.kid == hcert.kid_of(certificate)
    assert reading.issuer_country == "VN"
    assert reading.uvci == built["v"][0]["ci"]
    assert valuesets.schema_errors(reading.payload) == []


def test_the_layers_as_the_specification_writes_them(software_dsc, make_payload):
    signer, certificate = software_dsc
    built = make_payload()
    text = hcert.issue(built, signer, NOW)
    compressed = base45.b45decode(text[4:])
    assert compressed[:1] == b"\x78"  # zlib
    message = cbor2.loads(zlib.decompress(compressed))
    assert message.tag == 18  # COSE_Sign1
    protected_bytes, unprotected, claims_bytes, signature = message.value
    protected = cbor2.loads(protected_bytes)
    assert dict(protected) == {1: -7, 4: signer.kid}  # alg ES256, kid: protected
    assert dict(unprotected) == {}
    # kid: the first 8 bytes of the SHA-256 of the DSC's DER
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert signer.kid == hashlib.sha256(der).digest()[:8]
    assert len(signature) == 64  # r || s, not DER
    claims = cbor2.loads(claims_bytes)
    assert claims[1] == "VN"
    assert claims[6] == int(NOW.timestamp())
    assert datetime.fromtimestamp(claims[4], UTC) == datetime(2027, 12, 7, 3, 0, tzinfo=UTC)
    assert hcert._thawed(claims[-260][1]) == built


@pytest.mark.parametrize(
    "issued, expires",
    [
        (datetime(2026, 12, 7, 3, 0, tzinfo=UTC), datetime(2027, 12, 7, 3, 0, tzinfo=UTC)),
        (datetime(2028, 2, 29, 23, 0, tzinfo=UTC), datetime(2029, 2, 28, 23, 0, tzinfo=UTC)),
        (datetime(2027, 1, 31, 0, 0, tzinfo=UTC), datetime(2028, 1, 31, 0, 0, tzinfo=UTC)),
        # across a 29 February: 12 months, not 365 days
        (datetime(2027, 3, 1, 8, 0, tzinfo=UTC), datetime(2028, 3, 1, 8, 0, tzinfo=UTC)),
    ],
)
def test_expiry_is_twelve_months_after_issue(issued, expires):
    assert hcert.expiry(issued) == expires


def test_an_independent_cose_implementation_verifies_it(software_dsc, make_payload, csca):
    signer, certificate = software_dsc
    text = hcert.issue(make_payload(), signer, NOW)
    message = zlib.decompress(base45.b45decode(text[4:]))
    assert _pycose_verifies(message, certificate)
    flipped = bytearray(message)
    flipped[-10] ^= 0x01  # in the signature
    assert not _pycose_verifies(bytes(flipped), certificate)
    _other_signer, other_certificate = keys.new_software_signer(csca, NOW, "another DSC")
    assert not _pycose_verifies(message, other_certificate)


def test_refusals(software_dsc, make_payload, csca):
    signer, certificate = software_dsc
    built = make_payload()
    text = hcert.issue(built, signer, NOW)
    trust = {signer.kid: certificate}

    def verdict(candidate, at=NOW + timedelta(days=1), revoked=frozenset()):
        return hcert.read(candidate, trust, at, revoked).verdict

    assert verdict(text) == Verdict.VALID
    # a flipped byte of the signed content: the signature no longer matches
    message = bytearray(zlib.decompress(base45.b45decode(text[4:])))
    at = message.find(b"\x62VN")  # the text "VN" (CBOR: 0x62, two bytes) in the claims
    message[at + 2] ^= 0x04  # "VN" → "VJ"
    assert verdict("HC1:" + base45.b45encode(zlib.compress(bytes(message))).decode()) == (
        Verdict.BAD_SIGNATURE
    )
    assert verdict(text, at=NOW + timedelta(days=366)) == Verdict.EXPIRED
    assert verdict(text, at=NOW - timedelta(seconds=1)) == Verdict.NOT_YET_VALID
    assert verdict(text, revoked={built["v"][0]["ci"]}) == Verdict.REVOKED
    other_signer, _other = keys.new_software_signer(csca, NOW, "unknown DSC")
    assert verdict(hcert.issue(built, other_signer, NOW)) == Verdict.UNKNOWN_KEY
    # signed by another key under the trusted kid
    impostor = keys.SoftwareSigner(ec.generate_private_key(ec.SECP256R1()), signer.kid)
    assert verdict(hcert.issue(built, impostor, NOW)) == Verdict.BAD_SIGNATURE
    for garbage in ["", "HC1:", text[:-7], "HC2:" + text[4:], "https://example.org", "HC1:!!"]:
        assert verdict(garbage) == Verdict.NOT_DCC, garbage
    # a valid signature on a payload the schema refuses
    bad = dict(built, dob="17/05/1944")
    assert verdict(hcert.issue(bad, signer, NOW)) == Verdict.INVALID_PAYLOAD


def test_qr_at_level_q_read_back_by_zbarimg(software_dsc, make_payload, tmp_path):
    signer, _certificate = software_dsc
    text = hcert.issue(make_payload(), signer, NOW)
    qr = segno.make(text, error="q", micro=False, boost_error=False)
    assert qr.error == "Q"
    assert qr.mode == "alphanumeric"
    png = tmp_path / "passport.png"
    png.write_bytes(hcert.qr_png(text))
    out = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], check=True, capture_output=True, text=True
    )
    assert out.stdout.strip() == text

"""Keys like a real issuer: a Country Signing CA certifies Document Signers whose private
keys stay inside a PKCS#11 token (SoftHSM2); the newest DSC signs, older passports verify
until they expire. Skipped only when SoftHSM2 is not installed; CI sets REQUIRE_SOFTHSM=1."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import base45
import cbor2
import pkcs11
import pytest
from cryptography import x509
from pkcs11 import Attribute, ObjectClass
from pycose.keys import EC2Key
from pycose.messages import Sign1Message

from portal.passport import hcert, keys, token
from portal.passport.hcert import Verdict

T0 = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)


def _dsc(csca, opened, label, at):
    public = token.generate_key(opened, label)
    certificate = keys.make_dsc(csca, public, at, f"DSC Viet Nam {label}")
    return token.TokenSigner(opened, label, hcert.kid_of(certificate)), certificate


def test_the_dsc_key_signs_from_the_token_and_never_leaves_it(softhsm, csca, make_payload):
    with token.session(**softhsm) as opened:
        signer, certificate = _dsc(csca, opened, "dsc-never-out", T0)
        key = opened.get_key(object_class=ObjectClass.PRIVATE_KEY, label="dsc-never-out")
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.EXTRACTABLE] is False
        with pytest.raises(pkcs11.AttributeSensitive):
            key[Attribute.VALUE]
        text = hcert.issue(make_payload(), signer, T0)
    # the DSC: issued by the CSCA, for vaccination certificates
    assert keys.issued_by(certificate, csca.certificate)
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [keys.EKU_VACCINATION]
    assert keys.EKU_VACCINATION.dotted_string == "1.3.6.1.4.1.1847.2021.1.2"
    assert not keys.issued_by(certificate, keys.make_csca(T0).certificate)
    reading = hcert.read(text, {signer.kid: certificate}, T0 + timedelta(days=30))
    assert reading.verdict == Verdict.VALID, reading.errors
    # and pycose agrees
    protected, unprotected, claims, signature = cbor2.loads(
        zlib.decompress(base45.b45decode(text[4:]))
    ).value
    message = Sign1Message.from_cose_obj([protected, dict(unprotected), claims, signature], True)
    numbers = certificate.public_key().public_numbers()
    message.key = EC2Key(
        crv="P_256", x=numbers.x.to_bytes(32, "big"), y=numbers.y.to_bytes(32, "big")
    )
    assert message.verify_signature()


def test_wrong_pin_and_missing_key(softhsm):
    with pytest.raises(token.TokenUnavailable):
        with token.session(softhsm["module"], softhsm["token_label"], "000000"):
            pass
    with pytest.raises(token.TokenUnavailable):
        with token.session(softhsm["module"], "no-such-token", softhsm["pin"]):
            pass
    with token.session(**softhsm) as opened:
        with pytest.raises(token.TokenUnavailable):
            token.TokenSigner(opened, "no-such-key", b"12345678")
        token.generate_key(opened, "dsc-one-label")
        with pytest.raises(token.TokenUnavailable):  # a label names one key
            token.generate_key(opened, "dsc-one-label")


def test_key_rollover(softhsm, csca, make_payload):
    """DSC 1 signs from January; DSC 2, made in December, signs from then on; a passport
    DSC 1 signed in November still verifies, until it expires, with both in the trust list."""
    december = T0 + timedelta(days=330)
    with token.session(**softhsm) as opened:
        first, first_cert = _dsc(csca, opened, "dsc-rollover-1", T0)
        assert keys.current([first_cert], T0) == first_cert
        november = T0 + timedelta(days=300)
        old_text = hcert.issue(make_payload(), first, november)
        second, second_cert = _dsc(csca, opened, "dsc-rollover-2", december)
        both = [first_cert, second_cert]
        assert keys.current(both, december) == second_cert  # the newest signs
        assert keys.current(both, december - timedelta(days=1)) == first_cert
        new_text = hcert.issue(make_payload(), second, december)
    assert first.kid != second.kid
    later = december + timedelta(days=100)
    trust = keys.trusted(both, later)
    assert set(trust) == {first.kid, second.kid}
    assert hcert.read(old_text, trust, later).verdict == Verdict.VALID
    assert hcert.read(new_text, trust, later).verdict == Verdict.VALID
    # the old passport expires 12 months after November, while DSC 1 is still trusted
    expired_at = hcert.expiry(november) + timedelta(seconds=1)  # valid through exp itself
    assert first_cert.not_valid_after_utc > expired_at
    assert hcert.read(old_text, keys.trusted(both, expired_at), expired_at).verdict == (
        Verdict.EXPIRED
    )
    # a DSC signs no passport that would outlive it
    assert not keys.can_sign(first_cert, first_cert.not_valid_after_utc - timedelta(days=300))

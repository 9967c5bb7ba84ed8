"""The Document Signers' keys in a PKCS#11 token (python-pkcs11; SoftHSM2 in the demo and
the tests). A key pair is generated inside the token, private key sensitive and not
extractable: only the public key comes out, for its certificate; signing sends the
SHA-256 digest in and gets the raw ECDSA signature (r || s, the COSE form) back, with the
raw mechanism CKM_ECDSA that every token has."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pkcs11
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


class TokenUnavailable(Exception):
    """No such token, a wrong PIN, or no such key in it."""


@contextmanager
def session(module: str, token_label: str, pin: str) -> Iterator[Any]:
    """A logged-in read-write session on the token, closed at the end."""
    try:
        lib = pkcs11.lib(module)
        token = lib.get_token(token_label=token_label)
        opened = token.open(user_pin=pin, rw=True)
    except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange) as error:
        raise TokenUnavailable("wrong PIN") from error
    except (pkcs11.NoSuchToken, pkcs11.MultipleTokensReturned, pkcs11.PKCS11Error) as error:
        raise TokenUnavailable(f"token {token_label!r} unavailable") from error
    try:
        yield opened
    finally:
        opened.close()


def generate_key(opened: Any, label: str) -> ec.EllipticCurvePublicKey:
    """A new P-256 key pair in the token under ``label`` (a label names one key); its
    public key."""
    if list(opened.get_objects({Attribute.LABEL: label})):
        raise TokenUnavailable(f"the token already has a key {label!r}")
    params = opened.create_domain_parameters(
        KeyType.EC,
        {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
        local=True,
    )
    public, _private = params.generate_keypair(
        store=True,
        label=label,
        private_template={
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.SIGN: True,
        },
    )
    key = serialization.load_der_public_key(encode_ec_public_key(public))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


@dataclass
class TokenSigner:
    """hcert.Signer with the private key of ``label`` in an open session."""

    opened: Any
    label: str
    kid: bytes

    def __post_init__(self) -> None:
        try:
            self._key = self.opened.get_key(object_class=ObjectClass.PRIVATE_KEY, label=self.label)
        except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as error:
            raise TokenUnavailable(f"key {self.label!r} not in the token") from error

    def sign(self, data: bytes) -> bytes:
        return bytes(self._key.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA))

"""Signer backends, chosen per user: (a) a PKCS#12 file kept sealed in the database and
unlocked by the user's PIN at signing time; (b) a PKCS#11 token or HSM (SoftHSM2 in tests).

The PIN is never stored: it lives only for the call that unlocks the key.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from portal.signing import core
from portal.signing.models import SignerBackend, SigningCredential

SEAL_CONTEXT = b"portal.signing.credential.v1\0"


def _seal_key() -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hashlib.sha256(SEAL_CONTEXT + secret).digest()


def seal(data: bytes) -> bytes:
    """AES-256-GCM under a key derived from SECRET_KEY (changing SECRET_KEY means
    importing the credentials again)."""
    nonce = os.urandom(12)
    return nonce + AESGCM(_seal_key()).encrypt(nonce, data, SEAL_CONTEXT)


def unseal(blob: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag

    try:
        return AESGCM(_seal_key()).decrypt(blob[:12], blob[12:], SEAL_CONTEXT)
    except InvalidTag as error:
        raise core.SignerUnavailable("sealed credential cannot be opened") from error


def open_signer(credential: SigningCredential, pin: str) -> Any:
    """The pyHanko signer for this credential; SignerUnavailable on a wrong PIN."""
    if credential.backend == SignerBackend.PKCS12:
        if not credential.sealed_pkcs12:
            raise core.SignerUnavailable("no PKCS#12 stored")
        return core.signer_from_pkcs12(unseal(credential.sealed_pkcs12), pin)
    if credential.backend == SignerBackend.PKCS11:
        return pkcs11_signer(credential, pin)
    raise core.SignerUnavailable(f"unknown backend {credential.backend}")


# --- PKCS#11 --------------------------------------------------------------------------------

_sessions: dict[tuple[str, str, int], Any] = {}
_sessions_lock = threading.Lock()


def pkcs11_module() -> str:
    return str(current_app.config.get("SIGNING_PKCS11_MODULE")
               or "/usr/lib/softhsm/libsofthsm2.so")


def _session(module: str, token_label: str, pin: str) -> Any:
    """One logged-in session per worker process and token: opening a session and logging in
    costs more than a signature, and tokens limit concurrent sessions."""
    import pkcs11

    key = (module, token_label, os.getpid())
    with _sessions_lock:
        session = _sessions.get(key)
        if session is not None:
            return session
        lib = pkcs11.lib(module)
        try:
            token = lib.get_token(token_label=token_label)
        except (pkcs11.NoSuchToken, pkcs11.MultipleTokensReturned) as error:
            raise core.SignerUnavailable(f"token {token_label} not found") from error
        try:
            session = token.open(user_pin=pin)
        except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange) as error:
            raise core.SignerUnavailable("wrong PIN") from error
        _sessions[key] = session
        return session


def close_sessions() -> None:
    with _sessions_lock:
        for session in _sessions.values():
            try:
                session.close()
            except Exception:  # a closed or vanished token: nothing left to release
                pass
        _sessions.clear()


def pkcs11_signer(credential: SigningCredential, pin: str) -> Any:
    """A pyHanko PKCS#11 signer. The cached session was opened with a PIN; every call still
    checks this call's PIN against the token first, so a wrong PIN is always refused."""
    import pkcs11
    from pyhanko.sign.pkcs11 import PKCS11Signer

    module = pkcs11_module()
    label = credential.token_label or ""
    # Checking the PIN: a fresh session that logs in and out again.
    lib = pkcs11.lib(module)
    try:
        token = lib.get_token(token_label=label)
        with token.open(user_pin=pin):
            pass
    except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange) as error:
        raise core.SignerUnavailable("wrong PIN") from error
    except pkcs11.UserAlreadyLoggedIn:
        pass
    except (pkcs11.NoSuchToken, pkcs11.MultipleTokensReturned) as error:
        raise core.SignerUnavailable(f"token {label} not found") from error
    session = _session(module, label, pin)
    certs = [core.to_asn1_cert(c) for c in certificate_chain(credential)]
    return PKCS11Signer(session, key_label=credential.key_label, signing_cert=certs[0],
                        ca_chain=certs[1:], other_certs_to_pull=(), use_raw_mechanism=True)


def certificate_chain(credential: SigningCredential) -> list:
    """The signer's certificate first, then its CA chain, as stored with the credential."""
    from cryptography import x509

    return x509.load_pem_x509_certificates(credential.certificate_pem.encode())

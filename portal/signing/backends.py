"""Signer backends, chosen per user: (a) a PKCS#12 file kept sealed in the database and
unlocked by the user's PIN at signing time; (b) a PKCS#11 token or HSM (SoftHSM2 in tests);
(c) a remote-signing provider's credential (remote.py): the key stays at the provider, and
the PIN (and OTP) authorise each batch of hashes there.

The PIN is never stored: it lives only for the call that unlocks the key.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app, g

from portal.signing import core, remote
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
    try:
        return AESGCM(_seal_key()).decrypt(blob[:12], blob[12:], SEAL_CONTEXT)
    except InvalidTag as error:
        raise core.SignerUnavailable("sealed credential cannot be opened") from error


def open_signer(credential: SigningCredential, pin: str, otp: str | None = None) -> Any:
    """The pyHanko signer for this credential; SignerUnavailable on a wrong PIN (a remote
    credential's PIN is checked by its provider, when signing)."""
    if credential.backend == SignerBackend.CSC:
        return remote_signer(credential, pin, otp)
    if credential.backend == SignerBackend.PKCS12:
        if not credential.sealed_pkcs12:
            raise core.SignerUnavailable("no PKCS#12 stored")
        return core.signer_from_pkcs12(unseal(credential.sealed_pkcs12), pin)
    if credential.backend == SignerBackend.PKCS11:
        return pkcs11_signer(credential, pin)
    raise core.SignerUnavailable(f"unknown backend {credential.backend}")


# --- PKCS#11 --------------------------------------------------------------------------------

# One session per worker: a process holds at most one logged-in session per token, from the
# unlock to the end of the request, CLI command or job (the app context), so that a batch
# signs every document in one session and a wrong PIN is always checked by a fresh login.
_token_lock = threading.RLock()


def pkcs11_module() -> str:
    return str(current_app.config.get("SIGNING_PKCS11_MODULE") or "/usr/lib/softhsm/libsofthsm2.so")


def _open_sessions() -> list[Any]:
    if "pkcs11_sessions" not in g:
        g.pkcs11_sessions = []
    return g.pkcs11_sessions


def close_sessions(_error: BaseException | None = None) -> None:
    """Log out and release the token, and close remote signers' HTTP sessions (their PIN
    goes with them), at the end of the app context."""
    for signer in g.pop("remote_signers", []):
        signer.close()
    sessions = g.pop("pkcs11_sessions", [])
    for session in sessions:
        try:
            session.close()
        except Exception:  # a token pulled out: nothing left to release
            pass
        finally:
            _token_lock.release()


def pkcs11_signer(credential: SigningCredential, pin: str) -> Any:
    """A pyHanko PKCS#11 signer on a session logged in with this PIN. ECDSA goes through the
    raw mechanism (CKM_ECDSA on pyHanko's digest), which every token has."""
    # Function-local: only signer backend b (a PKCS#11 token) loads python-pkcs11 and the
    # token library behind it; a portal signing with software keys never does.
    import pkcs11
    from pyhanko.sign.pkcs11 import PKCS11Signer

    close_sessions()  # a second unlock in the same context logs in afresh
    _token_lock.acquire()
    try:
        lib = pkcs11.lib(pkcs11_module())
        token = lib.get_token(token_label=credential.token_label or "")
        session = token.open(user_pin=pin)
    except (
        pkcs11.PinIncorrect,
        pkcs11.PinInvalid,
        pkcs11.PinLenRange,
        pkcs11.ArgumentsBad,
    ) as error:
        _token_lock.release()
        raise core.SignerUnavailable("wrong PIN") from error
    except (pkcs11.NoSuchToken, pkcs11.MultipleTokensReturned, pkcs11.PKCS11Error) as error:
        _token_lock.release()
        raise core.SignerUnavailable(f"token {credential.token_label} unavailable") from error
    _open_sessions().append(session)
    certs = [core.to_asn1_cert(c) for c in certificate_chain(credential)]
    return PKCS11Signer(
        session,
        key_label=credential.key_label,
        signing_cert=certs[0],
        ca_chain=certs[1:],
        other_certs_to_pull=(),
        use_raw_mechanism=True,
    )


# --- remote signing -------------------------------------------------------------------------


def provider(credential: SigningCredential) -> remote.RemoteSigningProvider:
    if not credential.provider_url or not credential.provider_credential_id:
        raise core.SignerUnavailable("remote credential without its provider")
    return remote.provider_for(
        credential.provider_url,
        credential.provider_credential_id,
        float(current_app.config.get("SIGNING_CSC_TIMEOUT") or 10),
    )


def remote_signer(credential: SigningCredential, pin: str, otp: str | None) -> Any:
    """A signer at the credential's provider, authorised by this PIN and OTP; it lives (with
    them) until the end of the request, command or job."""
    signer = provider(credential).signer(certificate_chain(credential), pin or None, otp)
    if "remote_signers" not in g:
        g.remote_signers = []
    g.remote_signers.append(signer)
    return signer


def certificate_chain(credential: SigningCredential) -> list:
    """The signer's certificate first, then its CA chain, as stored with the credential."""
    return x509.load_pem_x509_certificates(credential.certificate_pem.encode())

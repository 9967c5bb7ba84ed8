"""Remote signing: the signer's key stays at a remote-signing provider ("ký số từ xa",
Decree 23/2025/NĐ-CP), which signs a hash once the signer authorises it. Only the hash
leaves the portal; the portal holds the certificate chain and no key.

Provider-neutral: ``RemoteSigningProvider`` is what the portal asks of a provider (read the
linked credential's certificates and how it is authorised; give a pyHanko signer for one
signing session, authorised by the PIN and OTP typed for it). ``CSCProvider`` implements it
over the Cloud Signature Consortium API (v1, pyHanko's ``csc_signer``). A provider with an
API of its own (several Vietnamese services publish one) is one more adapter class: a
``RemoteSigningProvider`` whose ``signer`` returns a ``RemoteSigner`` (a pyHanko ``Signer``
with ``run``, ``close`` and ``batch_size``) that calls that API in ``async_sign_raw``, and
raises ``ProviderError`` with one of REASONS; ``provider_for`` picks the adapter.

Every failure at the provider is a ``ProviderError`` with a reason (wrong PIN or OTP,
credential refused, timeout, provider down, an answer that is not what the API promises);
the services turn it into a Vietnamese message, and sign nothing.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import aiohttp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import csc_signer
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

T = TypeVar("T")

# Why a provider refused, as the audit trail records it.
WRONG_SECRET = "wrong_pin"  # the PIN or OTP the signer typed
CREDENTIAL = "credential_refused"  # the credential is disabled, expired or unknown there
TIMEOUT = "timeout"
UNAVAILABLE = "unavailable"  # nothing answers at the provider's address
BAD_ANSWER = "bad_answer"  # an answer the API does not allow (or a signature that is wrong)
REFUSED = "refused"  # any other refusal
REASONS = (WRONG_SECRET, CREDENTIAL, TIMEOUT, UNAVAILABLE, BAD_ANSWER, REFUSED)


class ProviderError(SigningError):
    """The provider did not sign; ``reason`` is one of REASONS."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail[:200]


@dataclass(frozen=True)
class LinkedCredential:
    """What linking an account reads from the provider."""

    chain: list[x509.Certificate]  # the signer's certificate first
    auth: str  # "pin", "otp", "pin+otp", "implicit" (the provider asks), "oauth2code"
    max_batch: int  # signatures one authorisation may cover (CSC ``multisign``)

    @property
    def needs_otp(self) -> bool:
        return "otp" in self.auth


class RemoteSigner(Protocol):
    """A pyHanko signer bound to one signing session at a provider. It drives its own event
    loop (its HTTP session lives there): the portal's code is synchronous."""

    batch_size: int

    def run(self, coro: Awaitable[T]) -> T: ...

    def close(self) -> None: ...


class RemoteSigningProvider(abc.ABC):
    """One provider credential's API."""

    @abc.abstractmethod
    def read_credential(self) -> LinkedCredential:
        """The credential's certificate chain and authorisation mode (ProviderError)."""

    @abc.abstractmethod
    def signer(
        self, chain: list[x509.Certificate], pin: str | None, otp: str | None
    ) -> RemoteSigner:
        """A signer that authorises each batch of hashes with this PIN and OTP."""


# --- the CSC API ----------------------------------------------------------------------------


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify(error: BaseException) -> ProviderError:
    """The reason behind an exception raised while talking to a provider."""
    for cause in _causes(error):
        if isinstance(cause, ProviderError):
            return cause
    for cause in _causes(error):
        # aiohttp's socket time-outs are connection errors too: time first.
        if isinstance(cause, asyncio.TimeoutError | TimeoutError):
            return ProviderError(TIMEOUT, str(cause))
        if isinstance(cause, aiohttp.ContentTypeError):
            return ProviderError(BAD_ANSWER, str(cause))
        if isinstance(cause, aiohttp.ClientResponseError):
            reason = CREDENTIAL if cause.status in (404, 410) else REFUSED
            return ProviderError(reason, f"HTTP {cause.status}")
        if isinstance(cause, aiohttp.ClientError | OSError):
            return ProviderError(UNAVAILABLE, str(cause))
    # pyHanko's SigningError is a ValueError: only now, when nothing above explains it.
    if any(isinstance(cause, ValueError | KeyError | TypeError) for cause in _causes(error)):
        return ProviderError(BAD_ANSWER, str(error))
    return ProviderError(REFUSED, str(error))


def _refusal(status: int, data: Any, authorising: bool) -> ProviderError:
    """A CSC error answer (``{"error": …, "error_description": …}``) as a reason."""
    error = description = ""
    if isinstance(data, dict):
        error = str(data.get("error") or "")
        description = str(data.get("error_description") or "")
    text = f"{error} {description}".lower()
    if authorising and (
        status in (401, 403) or "pin" in text or "otp" in text or "invalid_grant" in text
    ):
        return ProviderError(WRONG_SECRET, f"HTTP {status} {error}".strip())
    if status in (404, 410) or "credential" in text or "expired" in text or "disabled" in text:
        return ProviderError(CREDENTIAL, f"HTTP {status} {error}".strip())
    return ProviderError(REFUSED, f"HTTP {status} {error}".strip())


async def post_json(
    http: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    timeout: float,
    authorising: bool = False,
) -> dict[str, Any]:
    """One CSC call; its JSON object, or ProviderError."""
    try:
        async with http.post(
            url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            status, raw = response.status, await response.read()
    except Exception as error:  # time-out, refused connection, reset: classified
        raise classify(error) from error
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    if status >= 400:
        raise _refusal(status, data, authorising)
    if not isinstance(data, dict):
        raise ProviderError(BAD_ANSWER, f"HTTP {status}, not a JSON object")
    return data


def _auth_mode(data: dict[str, Any]) -> str:
    """``credentials/info``'s authMode, PIN and OTP as one word."""
    mode = str(data.get("authMode") or "explicit").lower()
    if mode != "explicit":
        return mode
    pin = str((data.get("PIN") or {}).get("presence", "true")).lower() == "true"
    otp = str((data.get("OTP") or {}).get("presence", "false")).lower() == "true"
    return "+".join(word for word, needed in (("pin", pin), ("otp", otp)) if needed) or "pin"


class PinAuthorization(csc_signer.CSCAuthorizationManager):
    """``credentials/authorize`` with the PIN and OTP typed for this signing, for exactly the
    hashes about to be signed (one call for a whole batch: ``numSignatures`` and the hash
    list), whether or not the provider requires hashes to be pinned."""

    def __init__(
        self,
        session_info: csc_signer.CSCServiceSessionInfo,
        credential_info: csc_signer.CSCCredentialInfo,
        http: aiohttp.ClientSession,
        pin: str | None,
        otp: str | None,
        timeout: float,
    ):
        super().__init__(session_info, credential_info)
        self.http, self.pin, self.otp, self.timeout = http, pin, otp, timeout
        self.authorisations = 0

    async def authorize_signature(self, hash_b64s: list[str]) -> csc_signer.CSCAuthorizationInfo:
        body = self.format_csc_auth_request(
            pin=self.pin or None, otp=self.otp or None, hash_b64s=hash_b64s
        )
        data = await post_json(
            self.http,
            self.csc_session_info.endpoint_url("credentials/authorize"),
            body,
            self.auth_headers,
            self.timeout,
            authorising=True,
        )
        self.authorisations += 1
        try:
            return self.parse_csc_auth_response(data)
        except SigningError as error:
            raise ProviderError(BAD_ANSWER, "no SAD in the authorisation") from error


async def _new_http() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


class PortalCSCSigner(csc_signer.CSCSigner):
    """pyHanko's CSC signer on an event loop of its own, with the provider's answers checked:
    each returned signature must verify against the credential's certificate before it is
    embedded (a provider answering garbage signs nothing)."""

    def __init__(
        self,
        session_info: csc_signer.CSCServiceSessionInfo,
        credential_info: csc_signer.CSCCredentialInfo,
        pin: str | None,
        otp: str | None,
        timeout: float,
    ):
        self.loop = asyncio.new_event_loop()
        http = self.loop.run_until_complete(_new_http())
        self.error: ProviderError | None = None
        auth = PinAuthorization(session_info, credential_info, http, pin, otp, timeout)
        super().__init__(http, auth, sign_timeout=timeout, batch_size=1)  # type: ignore[arg-type]

    def run(self, coro: Awaitable[T]) -> T:
        self.error = None
        self._current_batch = None  # what a failed run left half-filled
        try:
            return self.loop.run_until_complete(coro)
        except Exception as error:
            if self.error is not None:  # pyHanko logs a failed commit and says less
                raise self.error from error
            raise classify(error) from error

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.session.close())
            self.loop.close()

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False):
        signature = await super().async_sign_raw(data, digest_algorithm, dry_run)
        if not dry_run:
            cert = self.signing_cert
            assert cert is not None  # set from the credential's chain
            try:
                DefaultSignatureValidator().validate_signature(
                    signature,
                    data,
                    cert.public_key,
                    self.get_signature_mechanism_for_digest(digest_algorithm),
                )
            except (InvalidSignature, ValueError, TypeError) as error:
                self.error = ProviderError(BAD_ANSWER, "a signature that does not verify")
                raise self.error from error
        return signature

    async def _do_commit(self, batch: Any) -> None:
        """``signatures/signHash`` for the batch; as pyHanko's, with each failure kept as a
        ProviderError (pyHanko's own logs it and tells its waiters only "no results")."""
        try:
            request = await self.format_csc_signing_req(batch.b64_hashes, batch.md_algorithm)
            data = await post_json(
                self.session,
                self.auth_manager.csc_session_info.endpoint_url("signatures/signHash"),
                request,
                self.auth_manager.auth_headers,
                float(self.sign_timeout),
            )
            values = data.get("signatures")
            if not isinstance(values, list) or len(values) != len(batch.b64_hashes):
                raise ProviderError(BAD_ANSWER, "not one signature per hash")
            try:
                batch.results = [base64.b64decode(v, validate=True) for v in values]
            except (binascii.Error, TypeError) as error:
                raise ProviderError(BAD_ANSWER, "a signature that is not base64") from error
        except ProviderError as error:
            self.error = error
            raise
        except Exception as error:
            self.error = classify(error)
            raise self.error from error
        finally:
            self._current_batch = None
            batch.notifier.set()


class CSCProvider(RemoteSigningProvider):
    """A credential at a CSC API v1 service (``{url}/csc/v1/…``)."""

    def __init__(
        self, url: str, credential_id: str, timeout: float = 10.0, token: str | None = None
    ):
        self.session_info = csc_signer.CSCServiceSessionInfo(
            service_url=url.rstrip("/"), credential_id=credential_id, oauth_token=token
        )
        self.timeout = timeout

    def _credential_info(self) -> csc_signer.CSCCredentialInfo:
        async def fetch() -> csc_signer.CSCCredentialInfo:
            async with aiohttp.ClientSession() as http:
                return await csc_signer.fetch_certs_in_csc_credential(
                    http, self.session_info, timeout=int(max(1, self.timeout))
                )

        try:
            return asyncio.run(asyncio.wait_for(fetch(), self.timeout))
        except Exception as error:
            raise classify(error) from error

    def read_credential(self) -> LinkedCredential:
        info = self._credential_info()
        data = info.response_data
        status = str((data.get("key") or {}).get("status", "enabled")).lower()
        if status != "enabled":
            raise ProviderError(CREDENTIAL, f"key {status}")
        try:
            chain = [
                x509.load_der_x509_certificate(c.dump()) for c in [info.signing_cert, *info.chain]
            ]
        except ValueError as error:
            raise ProviderError(BAD_ANSWER, "certificates") from error
        return LinkedCredential(chain, _auth_mode(data), max(1, info.max_batch_size))

    def signer(
        self, chain: list[x509.Certificate], pin: str | None, otp: str | None
    ) -> PortalCSCSigner:
        """From the chain stored when linking: signing asks the provider nothing but the
        authorisation and the signatures (two calls per batch)."""
        certs = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in chain]
        info = csc_signer.CSCCredentialInfo(
            signing_cert=certs[0],
            chain=certs[1:],
            supported_mechanisms=_mechanisms(certs[0]),
            max_batch_size=1,
            hash_pinning_required=True,
            response_data={},
        )
        return PortalCSCSigner(self.session_info, info, pin, otp, self.timeout)


def _mechanisms(cert: asn1_x509.Certificate) -> frozenset[str]:
    if cert.public_key.algorithm == "ec":
        return frozenset({"sha256_ecdsa", "sha384_ecdsa", "sha512_ecdsa"})
    return frozenset({"sha256_rsa", "sha384_rsa", "sha512_rsa", "rsassa_pss"})


def provider_for(url: str, credential_id: str, timeout: float) -> RemoteSigningProvider:
    """The adapter for a linked credential: the CSC API (the only one so far; a provider
    with its own API is told apart here, e.g. by its URL's scheme or a stored kind)."""
    return CSCProvider(url, credential_id, timeout)

"""The demo services (KHÔNG DÙNG THẬT), one aiohttp process on loopback:

- under ``/pki``: certomancer's animator for the demo PKI (portal.signing.demo_pki): the OCSP
  responder ``/pki/demo/ocsp/signers``, the CRLs ``/pki/demo/crls/{root,signers}/latest.crl``,
  the certificate repositories and the TSA ``/pki/demo/tsa/tsa``;
- at the root: a CSC API v1 provider (``/csc/v1/...``), certomancer-csc-dummy with explicit
  authorisation: each credential asks for a PIN (the demo's signing PIN), a wrong one is
  refused with a CSC error, one authorisation may cover a list of hashes (``numSignatures``),
  and a revoked certificate's credential is disabled;
- ``GET /health``.

It serves the configuration generated in the instance folder and reloads it when the file
changes (a new signer, a revocation). Started by ``make serve`` (and so ``make demo``) and by
the tests' session fixture::

    python -m portal.signing.demo_services --folder instance/demo-pki --port 9780

With ``--port 0`` it picks a free port; either way it prints ``READY <url>`` once it listens
and writes ``services.json`` (the URL) in the folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from certomancer.integrations.aiohttp_animator import build_animator_app
from certomancer.registry import ArchLabel, CertomancerConfig, PKIArchitecture
from csc_dummy.csc_dummy_server import CSCWithCertomancer, DummyServiceParams, GeneralServiceInfo

from portal.core import clock
from portal.core.files import write_private
from portal.signing import demo_pki

logger = logging.getLogger("portal.signing.demo_services")

DEMO_PIN = "246810"  # portal.demo's signing PIN
MULTISIGN = 1000  # hashes one authorisation may cover (a commune's certificates)


class Reloader:
    """The generated configuration, loaded again when its file changes."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / demo_pki.CONFIG_FILE
        self.stamp: int | None = None
        self.config: CertomancerConfig | None = None

    def current(self) -> CertomancerConfig:
        stamp = self.path.stat().st_mtime_ns
        if self.config is None or stamp != self.stamp:
            self.config = CertomancerConfig.from_file(str(self.path))
            self.stamp = stamp
            logger.info("demo PKI (re)loaded from %s", self.path)
        return self.config


class Architectures(Mapping[ArchLabel, PKIArchitecture]):
    """What the animator looks its architectures up in: always the current configuration."""

    def __init__(self, reloader: Reloader):
        self.reloader = reloader

    def __getitem__(self, label: ArchLabel) -> PKIArchitecture:
        return self.reloader.current().pki_archs[label]

    def __iter__(self) -> Iterator[ArchLabel]:
        return iter(self.reloader.current().pki_archs)

    def __len__(self) -> int:
        return len(self.reloader.current().pki_archs)


def csc_error(status: int, error: str, description: str) -> web.Response:
    """A CSC API error: the status, ``error`` and ``error_description`` (CSC v1, 10.1)."""
    return web.json_response({"error": error, "error_description": description}, status=status)


@web.middleware
async def csc_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """certomancer-csc-dummy answers a bad request with a bare 400/404: a CSC client reads
    errors as JSON, so every refusal on the CSC routes becomes one."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if not request.path.startswith("/csc/") or error.status < 400:
            raise
        if error.status == 404:
            return csc_error(400, "invalid_request", "Invalid parameter credentialID")
        return csc_error(error.status, "invalid_request", error.reason or "Bad request")
    except (ValueError, KeyError, TypeError) as error:
        if not request.path.startswith("/csc/"):
            raise
        return csc_error(400, "invalid_request", f"Malformed request: {type(error).__name__}")


class ExplicitCSC(CSCWithCertomancer):
    """certomancer-csc-dummy with the signer's authorisation made explicit: the credential's
    ``authMode`` is ``explicit`` and ``credentials/authorize`` wants its PIN."""

    def __init__(self, reloader: Reloader, pin: str, otp: str | None = None):
        super().__init__(
            reloader.current(),
            svc_info=GeneralServiceInfo(
                name="Demo CSC – Cổng đối soát (KHÔNG DÙNG THẬT)",
                region_code="VN",
                lang_code="vi",
                description="certomancer-csc-dummy over the demo PKI",
            ),
            service_params=DummyServiceParams(
                hash_pinning_required=True,
                multisign=MULTISIGN,
                sad_secret=secrets.token_bytes(32),
            ),
        )
        self.reloader = reloader
        self.pin = pin
        self.otp = otp

    @property
    def certomancer_config(self) -> CertomancerConfig:
        return self.reloader.current()

    def _revoked(self, credential_id: str) -> bool:
        arch, spec = self._parse_credential_id(credential_id)
        return arch.check_revocation_status(spec.label, clock.now()) is not None

    async def credentials_info(self, request: web.Request) -> web.Response:
        response = await super().credentials_info(request)
        assert response.text is not None
        info = json.loads(response.text)
        params = await request.json()
        if self._revoked(str(params["credentialID"])):
            info["key"]["status"] = "disabled"
        info["authMode"] = "explicit"
        info["PIN"] = {
            "presence": "true",
            "format": "N",
            "label": "PIN",
            "description": "Mã PIN ký số",
        }
        info["OTP"] = (
            {"presence": "true", "type": "offline", "format": "N", "label": "OTP"}
            if self.otp
            else {"presence": "false"}
        )
        return web.json_response(info)

    async def credentials_authorize(self, request: web.Request) -> web.Response:
        params = await request.json()
        credential_id = str(params.get("credentialID", ""))
        self._parse_credential_id(credential_id)  # 404 (an unknown credential) first
        if self._revoked(credential_id):
            return csc_error(400, "invalid_request", "The credential is disabled (revoked)")
        if not secrets.compare_digest(str(params.get("PIN", "")), self.pin):
            return csc_error(401, "invalid_pin", "Invalid PIN")
        if self.otp and not secrets.compare_digest(str(params.get("OTP", "")), self.otp):
            return csc_error(401, "invalid_otp", "Invalid OTP")
        return await super().credentials_authorize(request)

    async def signatures_sign_hash(self, request: web.Request) -> web.Response:
        params = await request.json()
        if self._revoked(str(params.get("credentialID", ""))):
            return csc_error(400, "invalid_request", "The credential is disabled (revoked)")
        return await super().signatures_sign_hash(request)


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def build_app(folder: Path, pin: str = DEMO_PIN, otp: str | None = None) -> web.Application:
    reloader = Reloader(folder)
    csc = ExplicitCSC(reloader, pin, otp)
    csc.app.middlewares.append(csc_errors)
    csc.register_routes()
    csc.app.router.add_get("/health", health)
    # A Mapping is all the animator reads from its "dict": ours reloads.
    architectures: Any = Architectures(reloader)
    animator = build_animator_app(
        architectures,
        with_web_ui=False,
        allow_time_override=False,
    )
    csc.app.add_subapp(demo_pki.PKI_PATH, animator)
    return csc.app


async def serve(folder: Path, host: str, port: int, pin: str, otp: str | None) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    url = f"http://{host}:{listener.getsockname()[1]}"
    demo_pki.ensure(folder, url, override=True)
    runner = web.AppRunner(build_app(folder, pin, otp), access_log=None)
    await runner.setup()
    site = web.SockSite(runner, listener)
    await site.start()
    write_private(folder / "services.json", json.dumps({"url": url, "pid": os.getpid()}).encode())
    print(f"READY {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", default="instance/demo-pki", help="SIGNING_DEMO_PKI_DIR")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9780, help="0: any free port")
    parser.add_argument("--pin", default=os.environ.get("DEMO_SIGNING_PIN", DEMO_PIN))
    parser.add_argument("--otp", default=None, help="also ask for this OTP (off by default)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    folder = Path(args.folder).resolve()
    asyncio.run(serve(folder, args.host, args.port, args.pin, args.otp))


if __name__ == "__main__":
    main()

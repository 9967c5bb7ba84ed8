"""The demo PKI on certomancer and the demo services (issue 17): real HTTP on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest
import requests
from asn1crypto import crl as asn1_crl
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import RevokedError
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

from portal.signing import core, demo, demo_pki

PIN = "246810"


def csc(services, endpoint: str, **body):
    return requests.post(f"{services.url}/csc/v1/{endpoint}", json=body, timeout=10)


def check(cert, folder, moment=None):
    """pyHanko's validator over HTTP, revocation required (OCSP/CRL from the certificate)."""
    chain = demo_pki.chain(folder)
    context = ValidationContext(
        trust_roots=[core.to_asn1_cert(chain[1])],
        allow_fetching=True,
        fetcher_backend=RequestsFetcherBackend(),
        revocation_mode="require",
        moment=moment,
        retroactive_revinfo=True,
    )
    validator = CertificateValidator(
        core.to_asn1_cert(cert),
        intermediate_certs=[core.to_asn1_cert(chain[0])],
        validation_context=context,
    )
    asyncio.run(validator.async_validate_usage({"non_repudiation"}))
    return context


def test_the_csc_provider_asks_for_the_pin_and_signs_a_batch(app, with_demo_services):
    with app.app_context():
        credential_id, cert = demo.add_csc_signer("Trần Văn Đức", "Chủ tịch", "UBND Phường Ba Đình")
    info = csc(
        with_demo_services, "credentials/info", credentialID=credential_id, certificates="chain"
    )
    assert info.status_code == 200
    body = info.json()
    assert body["authMode"] == "explicit" and body["PIN"]["presence"] == "true"
    assert body["key"]["status"] == "enabled"
    leaf, *chain = [base64.b64decode(c) for c in body["cert"]["certificates"]]
    assert x509.load_der_x509_certificate(leaf) == cert
    assert len(chain) == 2  # the signers' CA and the root

    digests = [hashlib.sha256(f"giấy chứng nhận {i}".encode()).digest() for i in range(3)]
    hashes_b64 = [base64.b64encode(d).decode() for d in digests]
    wrong = csc(
        with_demo_services,
        "credentials/authorize",
        credentialID=credential_id,
        numSignatures=3,
        hash=hashes_b64,
        PIN="135790",
    )
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "invalid_pin", "error_description": "Invalid PIN"}
    unknown = csc(
        with_demo_services,
        "credentials/authorize",
        credentialID="demo/no-such-signer",
        numSignatures=1,
        hash=hashes_b64[:1],
        PIN=PIN,
    )
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_request"

    authorised = csc(
        with_demo_services,
        "credentials/authorize",
        credentialID=credential_id,
        numSignatures=3,
        hash=hashes_b64,
        PIN=PIN,
    )
    assert authorised.status_code == 200
    signed = csc(
        with_demo_services,
        "signatures/signHash",
        credentialID=credential_id,
        SAD=authorised.json()["SAD"],
        hash=hashes_b64,
        signAlgo="1.2.840.10045.4.3.2",  # ecdsa-with-SHA256
    )
    assert signed.status_code == 200
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    for digest, signature in zip(digests, signed.json()["signatures"], strict=True):
        public_key.verify(
            base64.b64decode(signature), digest, ec.ECDSA(utils.Prehashed(hashes.SHA256()))
        )
    # The authorisation covers those hashes only.
    other = base64.b64encode(hashlib.sha256(b"another").digest()).decode()
    refused = csc(
        with_demo_services,
        "signatures/signHash",
        credentialID=credential_id,
        SAD=authorised.json()["SAD"],
        hash=[other],
        signAlgo="1.2.840.10045.4.3.2",
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"


def test_ocsp_and_crls_know_every_demo_certificate_and_its_revocation(app, with_demo_services):
    folder = with_demo_services.folder
    with app.app_context():
        key = ec.generate_private_key(ec.SECP256R1())
        browser = demo.issue_certificate(key.public_key(), "Lê Thị Hoa", "Chủ tịch", "UBND Xã A")
        credential_id, remote = demo.add_csc_signer("Phạm Văn Bình", "Chủ tịch", "UBND Xã B")
    assert browser.public_key() == key.public_key()
    aia = browser.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == [demo_pki.ocsp_url(with_demo_services.url)]
    context = check(browser, folder)
    assert context.ocsps  # the responder answered "good" for a certificate issued just now

    before = demo_pki.entries(folder)[-1]
    entry = demo_pki.revoke(folder, demo_pki.find(folder, serial=remote.serial_number))
    assert entry.label == before.label and entry.revoked_since
    with pytest.raises(RevokedError):
        check(remote, folder)
    check(browser, folder)  # the other certificates stay good
    info = csc(with_demo_services, "credentials/info", credentialID=credential_id)
    assert info.json()["key"]["status"] == "disabled"

    served = requests.get(demo_pki.crl_url(with_demo_services.url), timeout=10)
    assert served.status_code == 200
    assert asn1_crl.CertificateList.load(served.content)["tbs_cert_list"]["issuer"]

"""Time interrupted signing (a key in the signer's browser) against bare pyHanko signing.

    python -m bench.browser_signing [-n 50]

No database, no HTTP: the portal's two server steps (portal/signing/interrupted.py) on a
committee list of 50 persons, as the sign dialog makes it. The PKI (ECDSA P-256 signer, RSA
TSA) is made in the run, the TSA is in-process. The client's signature is computed in the
bench with the same key, as WebCrypto does (ECDSA SHA-256 over the signed attributes, raw
r||s), and counted in the portal's time.

Baseline in the same run: bare pyHanko signing the same PDF with the same certificate and
key (key parsed once, ``bytes_reserved`` fixed, no dry-run estimate), level B-T with the same
in-process TSA, no visible stamp. For reference, the server-key path (``core.sign_pdf``,
stamp and B-T) on the same list. Runs in turns (bench.signing.timed_together).

Target (issue 17): prepare + client signature + finish at >= 70 % of the bare pyHanko rate.
Writes its section of bench/RESULTS.md (after bench.signing's).
"""

from __future__ import annotations

import argparse
import os
import platform
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

from bench import BENCH_DIR
from bench.signing import END as SIGNING_END
from bench.signing import timed_together

START = "<!-- bench.browser_signing: start (python -m bench.browser_signing) -->"
END = "<!-- bench.browser_signing: end -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=50, help="runs per measurement")
    args = parser.parse_args(argv)
    n = args.n

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from portal.core.pdf import register_fonts
    from portal.signing import core, documents, interrupted, pki

    load_before = os.getloadavg()[0]
    ca = pki.make_ca("Bench CA")
    tsa = pki.issue(ca, "Bench TSA", tsa=True)
    user = pki.issue(ca, "Trần Văn Đức", title="Chủ tịch", unit="UBND Phường Ba Đình")
    chain = [user.cert, ca.cert]
    timestamper = core.TsaConfig(cert=tsa.cert, key=tsa.key, chain=(ca.cert,)).timestamper()
    signer = core.ParsedKeySigner(user.key, user.cert, [ca.cert])
    register_fonts()

    province = SimpleNamespace(name="Thành phố Hà Nội", division_type="thành phố")
    commune = SimpleNamespace(name="Phường Ba Đình", division_type="Phường", province=province)
    persons = [
        {
            "full_name": f"Nguyễn Thị Hương {i}",
            "sex": "female",
            "birth_date": "1990-02-03",
            "birth_precision": "day",
            "id_number": f"0011900{i:05d}",
            "status": "matched",
            "doses": 3,
        }
        for i in range(50)
    ]
    built = documents.committee_list(
        commune, persons, "Trần Văn Đức", "Chủ tịch", "Số: 1-TD/DS-UBND", date(2026, 12, 3)
    )
    stamp = core.Stamp(
        "Trần Văn Đức", "Chủ tịch", "UBND Phường Ba Đình", built.slot.page, built.slot.box
    )

    def bare_pyhanko() -> bytes:
        meta = signers.PdfSignatureMetadata(
            field_name="Sig", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
        )
        writer = IncrementalPdfFileWriter(BytesIO(built.content))
        return signers.sign_pdf(
            writer, meta, signer=signer, timestamper=timestamper, bytes_reserved=16384
        ).getvalue()

    def browser_signature(data: bytes) -> bytes:
        """WebCrypto's answer: ECDSA P-256 with SHA-256, r||s."""
        r, s = decode_dss_signature(user.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def interrupted_signing() -> bytes:
        prepared = interrupted.prepare_pdf(built.content, chain, stamp, level="B-T")
        raw = browser_signature(prepared.signed_attrs)
        der = interrupted.signature_der(user.cert, raw)
        return interrupted.finish_pdf(prepared, chain, der, timestamper, level="B-T")

    def server_key() -> bytes:
        return core.sign_pdf(built.content, signer, stamp, timestamper, level="B-T")

    verdict = core.validate(interrupted_signing(), [ca.cert])
    assert verdict.ok, verdict  # what is timed is a valid B-T signature

    bare_name = "bare pyHanko signature, B-T (same certificate and key, no stamp)"
    browser_name = "prepare + browser's signature + finish, B-T with stamp (portal)"
    rows = timed_together(
        [
            (bare_name, bare_pyhanko, n),
            (browser_name, interrupted_signing, n),
            ("server-key signature, B-T with stamp (portal, for reference)", server_key, n),
        ]
    )
    values = dict(rows)
    ratio = values[bare_name] / values[browser_name]
    checks = [
        (
            "interrupted signing at >= 70 % of the bare pyHanko rate",
            f"{ratio:.0%}",
            ratio >= 0.70,
        )
    ]
    load_after = os.getloadavg()[0]
    lines = [
        START,
        "",
        "# Benchmark: signing with a key in the browser (issue 17)",
        "",
        f"Run {datetime.now(UTC).isoformat(timespec='seconds')}, "
        f"`python -m bench.browser_signing -n {n}` (two warm-ups, then runs in turns; median of "
        f"n), Python {platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{load_before:.2f} before, {load_after:.2f} after. A 50-person committee list; ECDSA "
        "P-256 signer, RSA-2048 TSA in-process; the browser's signature computed in the bench "
        "with the same key.",
        "",
        "| measurement | ms |",
        "|---|--:|",
        *[f"| {name} | {value:.1f} |" for name, value in rows],
        "",
        "| target | measured | met |",
        "|---|--:|:-:|",
        *[f"| {name} | {value} | {'yes' if ok else 'NO'} |" for name, value, ok in checks],
        "",
        END,
        "",
    ]
    section = "\n".join(lines)
    print(section)
    path = BENCH_DIR / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + section + after
    elif SIGNING_END in text:
        at = text.index(SIGNING_END) + len(SIGNING_END)
        text = text[:at] + "\n\n" + section + text[at:].lstrip("\n")
    else:
        text += "\n" + section
    Path(path).write_text(text)
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())

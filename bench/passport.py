"""The vaccine passport's signing and verification speed (issue 18, "Speed"):

    python -m bench.passport [N]

- **bare**: pycose signing ES256 with a key in memory, then zlib and Base45: the library
  loop the issue compares with (the same payloads);
- **portal, software key**: ``hcert.issue`` with a key in memory;
- **portal, SoftHSM2**: ``hcert.issue`` with the DSC's key in a SoftHSM2 token (one session,
  CKM_ECDSA per passport), as the issuer signs;
- **verify**: ``hcert.read`` of one ``HC1:`` text against the trust list (median).

The database writes of the batch job (100,000 passports) are not timed here yet. Writes
its section of bench/RESULTS.md between its markers.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import base45
import cbor2
from pycose.algorithms import Es256
from pycose.headers import KID, Algorithm
from pycose.keys import EC2Key
from pycose.messages import Sign1Message

from portal.passport import hcert, keys, payload, token, uvci

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN = "<!-- bench.passport: start (python -m bench.passport) -->"
END = "<!-- bench.passport: end -->"
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PRODUCTS = {"EU/1/21/1529": payload.Product("EU/1/21/1529", "29061000087103", "ORG-100001699")}
NAMES = ["Nguyễn Thị Ngọc Ánh", "Đặng Văn Hưởng", "Bế Thị Lường", "Trương Ưu Đàm", "Lê Quý Đôn"]


def payloads(n: int) -> list[dict]:
    doses = [
        payload.Dose(1, "EU/1/21/1529", date(2021, 8, 2)),
        payload.Dose(2, "EU/1/21/1529", date(2021, 10, 25)),
    ]
    return [
        payload.build(
            payload.Holder(NAMES[i % len(NAMES)], date(1944 + i % 60, 5, 17), "day", "VN"),
            doses,
            PRODUCTS,
            "Cục Y tế dự phòng - Bộ Y tế",
            uvci.new(),
        )
        for i in range(n)
    ]


def bare(items: list[dict], signer: keys.SoftwareSigner) -> float:
    numbers = signer.key.private_numbers()
    public = numbers.public_numbers
    key = EC2Key(
        crv="P_256",
        x=public.x.to_bytes(32, "big"),
        y=public.y.to_bytes(32, "big"),
        d=numbers.private_value.to_bytes(32, "big"),
    )
    start = time.perf_counter()
    for item in items:
        claims = cbor2.dumps({1: "VN", 6: 0, 4: 0, -260: {1: item}})
        message = Sign1Message(phdr={Algorithm: Es256, KID: signer.kid}, payload=claims)
        message.key = key
        "HC1:" + base45.b45encode(zlib.compress(message.encode(), 9)).decode()
    return time.perf_counter() - start


def timed(items: list[dict], signer: hcert.Signer) -> tuple[float, list[str]]:
    out = []
    start = time.perf_counter()
    for item in items:
        out.append(hcert.issue(item, signer, NOW))
    return time.perf_counter() - start, out


def softhsm_signer(csca: keys.CountrySigningCA, folder: Path):
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", "1234",
         "--so-pin", "5678"],
        check=True, capture_output=True,
    )  # fmt: skip
    return token.session(MODULE, "bench", "1234")


def main(n: int) -> None:
    csca = keys.make_csca(datetime(2026, 1, 1, tzinfo=UTC))
    software, certificate = keys.new_software_signer(csca, datetime(2026, 6, 1, tzinfo=UTC))
    items = payloads(n)
    bare_s = bare(items, software)
    soft_s, texts = timed(items, software)
    rows = [("bare: pycose ES256 + zlib + Base45, key in memory", bare_s)]
    rows.append(("portal hcert.issue, key in memory", soft_s))
    if shutil.which("softhsm2-util") and Path(MODULE).exists():
        with tempfile.TemporaryDirectory() as folder:
            with softhsm_signer(csca, Path(folder)) as opened:
                public = token.generate_key(opened, "dsc-bench")
                dsc = keys.make_dsc(csca, public, datetime(2026, 6, 1, tzinfo=UTC), "bench")
                signer = token.TokenSigner(opened, "dsc-bench", hcert.kid_of(dsc))
                hsm_s, _ = timed(items, signer)
        rows.append(("portal hcert.issue, DSC key in SoftHSM2", hsm_s))
    trust = {software.kid: certificate}
    reads = []
    for text in texts[: min(n, 2000)]:
        start = time.perf_counter()
        hcert.read(text, trust, NOW)
        reads.append(time.perf_counter() - start)
    lines = [
        BEGIN,
        "## Vaccine passport: signing and verifying",
        "",
        f"Run {datetime.now(UTC).isoformat(timespec='seconds')}, `python -m bench.passport {n}`"
        f" on {platform.platform()}, Python {platform.python_version()}; {n} payloads.",
        "",
        "| loop | total s | per passport ms | passports/s | vs bare |",
        "|---|--:|--:|--:|--:|",
    ]
    for label, seconds in rows:
        lines.append(
            f"| {label} | {seconds:.2f} | {1000 * seconds / n:.3f} | {n / seconds:,.0f} |"
            f" {bare_s / seconds:.0%} |"
        )
    lines += [
        "",
        f"Verifying one `HC1:` text (decode, ES256, claims, schema): median "
        f"{1000 * statistics.median(reads):.2f} ms, p95 "
        f"{1000 * statistics.quantiles(reads, n=20)[-1]:.2f} ms over {len(reads)} texts "
        "(target ≤ 5 ms median).",
        "",
        "The bare loop is slow because pycose signs with the pure-Python `ecdsa` package; the "
        "portal signs with cryptography (OpenSSL) or the token. Not measured yet: the batch "
        "job's 100,000 passports with their database writes.",
        END,
    ]
    section = "\n".join(lines) + "\n"
    text = RESULTS.read_text()
    if BEGIN in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)
    print(section)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)

"""Time document generation and PAdES signing against bare reportlab and bare pyHanko.

    python -m bench.signing [-n 50]

No database: the documents are built from in-memory rows, the PKI (ECDSA P-256 signer, RSA
TSA) is made in the run, the TSA is in-process. Baselines in the same run:

- a bare reportlab page (one canvas, two Noto Serif strings, reportlab's own TTFont
  registered once: the portal's fonts keep their subsets, which would flatter the baseline);
- bare pyHanko signing of the same certificate PDF with the same key: key parsed once,
  ``bytes_reserved`` fixed (no dry-run estimate), level B-B, no visible stamp;
- pyHanko's stock call for reference: the signer loaded from the PKCS#12 for each document
  (SimpleSigner then re-parses the key for each signature) and the size estimated by a dry run.

The measurements take their runs in turns, so that a burst of load on a shared machine falls
on a baseline and the portal alike.

Targets (issue 5): a one-page certificate generated in <= 10 ms; per-person certificates
generated and signed at >= 70 % of the bare pyHanko rate; a 500-person list generated and
signed at B-T in <= 1 s. Writes its section of bench/RESULTS.md (before the matching marker).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

from bench import BENCH_DIR, MATCHING_MARKER

START = "<!-- bench.signing: start (python -m bench.signing) -->"
END = "<!-- bench.signing: end -->"
PIN = "123456"


def timed_together(
    measurements: list[tuple[str, Callable[[], object], int]], warmup: int = 2
) -> list[tuple[str, float]]:
    """Median milliseconds of each measurement, after warm-ups, its runs taken in turns with
    the others' (a round runs each measurement once, as long as it has runs left): on a
    shared machine a burst of load then falls on the baselines and the portal alike, and
    the ratios between them hold."""
    for _, function, _ in measurements:
        for _ in range(warmup):
            function()
    samples: dict[str, list[float]] = {name: [] for name, _, _ in measurements}
    for turn in range(max(runs for _, _, runs in measurements)):
        for name, function, runs in measurements:
            if turn < runs:
                start = time.perf_counter()
                function()
                samples[name].append((time.perf_counter() - start) * 1000)
    return [(name, statistics.median(samples[name])) for name, _, _ in measurements]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=50, help="runs per measurement")
    args = parser.parse_args(argv)
    n = args.n

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    from portal.core.pdf import FONT_DIR, register_fonts
    from portal.signing import core, documents, pki

    load_before = os.getloadavg()[0]
    ca = pki.make_ca("Bench CA")
    tsa = pki.issue(ca, "Bench TSA", tsa=True)
    user = pki.issue(ca, "Trần Văn Đức", title="Chủ tịch", unit="UBND Phường Ba Đình")
    p12 = pki.to_pkcs12(user, ca, PIN)
    timestamper = core.TsaConfig(cert=tsa.cert, key=tsa.key, chain=(ca.cert,)).timestamper()
    signer = core.signer_from_pkcs12(p12, PIN)  # parsed once for the batch
    register_fonts()
    for name, file in (
        ("BareSerif", "NotoSerif-Regular.ttf"),
        ("BareSerif-Bold", "NotoSerif-Bold.ttf"),
    ):
        # Into the registry directly: registerFont would make the font an alias of the
        # portal's font of the same face.
        pdfmetrics._fonts[name] = TTFont(name, str(FONT_DIR / file))

    province = SimpleNamespace(name="Thành phố Hà Nội", division_type="thành phố")
    commune = SimpleNamespace(name="Phường Ba Đình", division_type="Phường", province=province)
    heading = documents.commune_heading(commune, "Số: 1/CN-UBND", date(2026, 12, 3))
    person = {
        "full_name": "Nguyễn Thị Hương",
        "sex": "female",
        "birth_date": "1990-02-03",
        "birth_precision": "day",
        "id_number": "001190000001",
        "status": "matched",
        "doses": 3,
    }
    doses = [
        {
            "dose_number": i,
            "vaccinated_on_text": f"0{i}/08/2021",
            "vaccine": "Pfizer",
            "lot": f"FA{i}23",
            "site": "Trạm Y tế Phường Ba Đình",
        }
        for i in (1, 2, 3)
    ]
    url = "http://127.0.0.1:5000/verify/Abcdefghijklmnopqrstuvwx"

    def bare_page() -> bytes:
        buffer = BytesIO()
        page = canvas.Canvas(buffer, pagesize=A4, invariant=1, initialFontName="BareSerif")
        page.setFont("BareSerif", 12)
        page.drawString(100, 700, "Chứng nhận tiêm chủng – Nguyễn Thị Hương")
        page.setFont("BareSerif-Bold", 12)
        page.drawString(100, 680, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
        page.showPage()
        page.save()
        return buffer.getvalue()

    # A batch: each certificate for another person (the letters of the names differ, and so
    # would the fonts' subsets) with its own verification code.
    family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Đặng", "Bùi"]
    middle = ["Thị", "Văn", "Hữu", "Đức", "Ngọc", "Xuân", "Quốc", "Minh"]
    given = [
        "Hương",
        "Dũng",
        "Yến",
        "Khánh",
        "Thuỷ",
        "Phượng",
        "Tuấn",
        "Ánh",
        "Quỳnh",
        "Lợi",
        "Nghĩa",
        "Sơn",
        "Trường",
    ]
    batch = [
        (
            {
                **person,
                "id_number": f"0011900{i:05d}",
                "full_name": f"{family[i % len(family)]} {middle[i % len(middle)]} "
                f"{given[i % len(given)]}",
            },
            f"Abcdefghijklmnopqrst{i:04d}",
        )
        for i in range(200)
    ]
    turn = iter(range(10**9))

    def certificate() -> documents.Built:
        someone, code = batch[next(turn) % len(batch)]
        return documents.certificate(
            heading,
            someone,
            doses,
            f"{url[:-24]}{code}",
            code,
            "Trần Văn Đức",
            ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
        )

    built = certificate()

    def bare_pyhanko() -> bytes:
        meta = signers.PdfSignatureMetadata(
            field_name="Sig", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
        )
        writer = IncrementalPdfFileWriter(BytesIO(built.content))
        return signers.sign_pdf(writer, meta, signer=signer, bytes_reserved=8192).getvalue()

    def stock_pyhanko() -> bytes:
        stock = signers.SimpleSigner.load_pkcs12_data(p12, other_certs=[], passphrase=PIN.encode())
        meta = signers.PdfSignatureMetadata(
            field_name="Sig", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
        )
        writer = IncrementalPdfFileWriter(BytesIO(built.content))
        return signers.sign_pdf(writer, meta, signer=stock).getvalue()

    def stamp(b: documents.Built) -> core.Stamp:
        return core.Stamp(
            "Trần Văn Đức", "Chủ tịch", "UBND Phường Ba Đình", b.slot.page, b.slot.box
        )

    def portal_certificate(level: str) -> Callable[[], bytes]:
        def run() -> bytes:
            b = certificate()
            return core.sign_pdf(
                b.content, signer, stamp(b), timestamper if level != "B-B" else None, level=level
            )

        return run

    persons = [{**person, "full_name": f"Nguyễn Thị Hương {i}"} for i in range(500)]

    def list_500() -> bytes:
        b = documents.committee_list(
            commune, persons, "Trần Văn Đức", "Chủ tịch", "Số: 1/DS-UBND", date(2026, 12, 3)
        )
        return core.sign_pdf(b.content, signer, stamp(b), timestamper, level="B-T")

    def qr_code() -> object:
        _someone, code = batch[next(turn) % len(batch)]
        return documents.qr_matrix(f"{url[:-24]}{code}")

    rows = timed_together(
        [
            ("QR matrix of a verification link (segno, part of the certificate)", qr_code, n),
            ("bare reportlab page", bare_page, n),
            ("certificate PDF generated (portal)", certificate, n),
            ("bare pyHanko signature, B-B (key parsed once, bytes reserved)", bare_pyhanko, n),
            (
                "stock pyHanko call, B-B (PKCS#12 loaded per document, dry-run size)",
                stock_pyhanko,
                max(5, n // 5),
            ),
            (
                "certificate generated + signed, B-B with stamp (portal)",
                portal_certificate("B-B"),
                n,
            ),
            (
                "certificate generated + signed, B-T with stamp (portal, in-process TSA)",
                portal_certificate("B-T"),
                n,
            ),
            ("500-person list generated + signed, B-T (portal)", list_500, 5),
        ]
    )
    values = dict(rows)
    bare = values["bare pyHanko signature, B-B (key parsed once, bytes reserved)"]
    generated = values["certificate PDF generated (portal)"]
    signed_bb = values["certificate generated + signed, B-B with stamp (portal)"]
    listed = values["500-person list generated + signed, B-T (portal)"]
    checks = [
        ("one-page certificate generated <= 10 ms", f"{generated:.1f} ms", generated <= 10),
        (
            "certificates generated + signed (B-B) at >= 70 % of the bare pyHanko rate",
            f"{bare / signed_bb:.0%}",
            bare / signed_bb >= 0.70,
        ),
        (
            "500-person list generated + signed at B-T <= 1 s",
            f"{listed / 1000:.2f} s",
            listed <= 1000,
        ),
    ]
    load_after = os.getloadavg()[0]
    lines = [
        START,
        "",
        "# Benchmark: signed documents (issue 5)",
        "",
        f"Run {datetime.now(UTC).isoformat(timespec='seconds')}, `python -m bench.signing -n {n}`"
        f" (two warm-ups, then runs in turns, a round runs each measurement once; median of n,"
        f" of n/5 for the stock call, of 5 for the list), Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, load average {load_before:.2f} "
        f"before, {load_after:.2f} after. ECDSA P-256 signer, RSA-2048 TSA in-process.",
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
    elif MATCHING_MARKER in text:
        at = text.index(MATCHING_MARKER)
        text = text[:at] + section + "\n" + text[at:]
    else:
        text += "\n" + section
    Path(path).write_text(text)
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())

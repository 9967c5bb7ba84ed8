"""Time a 100,000-row Excel import (dry run plus commit) against a bare read-and-insert.

    python -m bench.imports [--db sqlite|postgresql|both] [--rows 100000]

The workbook is the import template's layout (``portal.imports.parser.COLUMNS``) filled
with 50,000 persons of two doses each (names and ID numbers from ``portal.demo.generator``;
birth dates half as date cells, half as dd/mm/yyyy text; vaccination dates as date cells),
made once into bench/data/. For each database a fresh one is built from the real
migrations (SQLite in bench/data/, PostgreSQL in a throwaway database, by default
``portal_imports_bench``), the official areas are loaded, and, in the same run:

- **baseline**: the file read with python-calamine, then its rows inserted as they are
  into a bare table with the file's 13 columns (no key, no index), by the driver's
  ``executemany``, then the commit;
- **portal**: what the upload and the commit button do: ``create_batch`` + ``check_batch``
  (the dry run, which keeps its file checks with the batch) and its commit, then
  ``commit_batch`` (those checks taken back, the database checks run again, 50,000 persons
  and 100,000 doses written, the audit event) and its commit. It runs in a child process,
  whose peak resident memory (``ru_maxrss``) is reported.

Target: portal ≤ 3 × baseline, peak memory ≤ 500 MB. Prints the figures and writes its
section of bench/RESULTS.md (between its markers, placed before the matching section).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench import BENCH_DIR, DATA_DIR, MATCHING_MARKER, throwaway_database

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1/portal_imports_bench"
SQLITE_FILE = DATA_DIR / "imports.sqlite3"
COMMUNE = "00004"
SEED = 2021
TARGET_RATIO = 3.0
TARGET_MB = 500
BEGIN = "<!-- bench.imports: begin (written by python -m bench.imports) -->"
END = "<!-- bench.imports: end -->"


def workbook_path(rows: int) -> Path:
    return DATA_DIR / f"imports-{rows}.xlsx"


def generate(rows: int, log=print) -> Path:
    from openpyxl import Workbook

    from portal.demo.generator import cccd, vietnamese_name
    from portal.imports.parser import COLUMNS

    # The names of the template's drop-down (the vaccine table of migration 0019).
    vaccines = (
        "Comirnaty (Pfizer-BioNTech)",
        "Vaxzevria (AstraZeneca)",
        "Spikevax (Moderna)",
        "Vero Cell (Sinopharm BBIBP-CorV)",
        "Sputnik V (Gam-COVID-Vac)",
        "Hayat-Vax",
        "Abdala",
        "Jcovden (Janssen)",
    )

    path = workbook_path(rows)
    if path.exists():
        return path
    started = time.perf_counter()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Danh sách")
    sheet.append([header for _key, header, _mandatory in COLUMNS])
    used: set[str] = set()
    for n in range(rows // 2):
        sex = rng.choice(("male", "female"))
        name = vietnamese_name(rng, sex)
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(80 * 365))
        number = cccd(rng, sex, birth, used)
        first = date(2021, 6, 1) + timedelta(days=rng.randrange(120))
        born: object = birth if n % 2 else birth.strftime("%d/%m/%Y")
        vaccine = rng.choice(vaccines)
        phone = f"09{rng.randrange(10**8):08d}"
        for dose, on in ((1, first), (2, first + timedelta(days=28 + rng.randrange(60)))):
            sheet.append(
                [
                    name,
                    "Nam" if sex == "male" else "Nữ",
                    born,
                    number,
                    "VN",
                    phone,
                    COMMUNE,
                    f"Số {n % 200 + 1}, phố Đội Cấn",
                    dose,
                    vaccine,
                    f"L{rng.randrange(10**5):05d}",
                    on,
                    None,
                ]
            )
    partial = path.with_suffix(".partial")
    workbook.save(partial)
    partial.rename(path)
    log(
        f"generated {path.name} ({path.stat().st_size / 1e6:.1f} MB) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return path


def fresh_database(kind: str) -> str:
    return throwaway_database(kind, SQLITE_FILE, "BENCH_IMPORTS_DATABASE_URL", DEFAULT_PG_URL)


def baseline(engine: sa.Engine, kind: str, path: Path) -> float:
    """calamine reads the sheet; its rows go as they are into a bare 13-column table."""
    from python_calamine import CalamineWorkbook

    columns = 13
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        cursor = conn.cursor()
        cursor.execute(
            "CREATE TABLE bare_import (" + ", ".join(f"c{i} text" for i in range(columns)) + ")"
        )
        conn.commit()
        mark = "?" if kind == "sqlite" else "%s"
        started = time.perf_counter()
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        values = [tuple(None if v == "" else str(v) for v in r[:columns]) for r in rows[1:]]
        cursor.executemany(
            f"INSERT INTO bare_import VALUES ({', '.join([mark] * columns)})", values
        )
        conn.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bare_import")
        conn.commit()
        return elapsed
    finally:
        raw.close()


def child(url: str, path: Path) -> None:
    """The import as the portal does it, alone in this process; prints JSON."""
    from portal import create_app
    from portal.areas.services import area_by_code
    from portal.extensions import db
    from portal.imports import services

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PORTAL_ENV": "testing"})
    with app.app_context():
        commune = area_by_code(COMMUNE)
        assert commune is not None
        data = path.read_bytes()
        started = time.perf_counter()
        batch = services.create_batch(data, path.name, commune)
        services.check_batch(batch)
        db.session.commit()
        checked = time.perf_counter()
        summary = services.commit_batch(batch)
        db.session.commit()
        done = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        print(
            json.dumps(
                {
                    "dry_run": checked - started,
                    "commit": done - checked,
                    "total": done - started,
                    "peak_mb": peak,
                    "summary": summary,
                    "errors": batch.error_rows,
                }
            )
        )


def run_database(kind: str, path: Path, log=print) -> dict:
    from flask_migrate import upgrade

    from portal import create_app
    from portal.areas.services import load_official_areas
    from portal.extensions import db

    url = fresh_database(kind)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PORTAL_ENV": "testing"})
    with app.app_context():
        upgrade(directory=os.path.join(app.root_path, "..", "migrations"))
        load_official_areas()
        db.session.commit()
        if kind == "sqlite":
            import sqlite3

            version = f"SQLite {sqlite3.sqlite_version}"
        else:
            with db.engine.connect() as conn:
                version = "PostgreSQL " + conn.exec_driver_sql("SHOW server_version").scalar()
        bare = baseline(db.engine, kind, path)
        db.engine.dispose()
    log(f"{kind}: baseline {bare:.2f} s")
    output = subprocess.run(
        [sys.executable, "-m", "bench.imports", "--child", url, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=BENCH_DIR.parent,
    ).stdout
    portal = json.loads(output.strip().splitlines()[-1])
    with app.app_context():
        persons = db.session.scalar(sa.text("SELECT count(*) FROM person"))
        doses = db.session.scalar(sa.text("SELECT count(*) FROM dose"))
        db.engine.dispose()
    result = {
        "kind": kind,
        "version": version,
        "baseline": bare,
        **portal,
        "ratio": portal["total"] / bare,
        "persons": persons,
        "doses": doses,
    }
    log(
        f"{kind}: dry run {portal['dry_run']:.2f} s, commit {portal['commit']:.2f} s, "
        f"total {portal['total']:.2f} s = {result['ratio']:.2f} × baseline; peak "
        f"{portal['peak_mb']:.0f} MB; {persons} persons, {doses} doses"
    )
    return result


def section(results: list[dict], rows: int) -> str:
    lines = [
        BEGIN,
        "",
        f"# Benchmark: importing a {rows:,}-row Excel file",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores "
        "(shared with other work). `python -m bench.imports`: "
        f"{rows // 2:,} persons with two doses each, one row per dose, in the import "
        "template's layout. Baseline, same run: python-calamine reads the sheet and "
        "the rows go as they are into a bare 13-column table (no key, no index) by "
        "the driver's executemany. Portal: upload + dry run (which keeps its file checks "
        "with the batch), then commit (those checks taken back, the database checks "
        "run again, persons and doses inserted with their indexes, the audit event), "
        "each with its commit, in a child process whose peak RSS is measured. "
        f"Targets: ≤ {TARGET_RATIO:g} × baseline, ≤ {TARGET_MB} MB.",
        "",
        "Each database: fresh database and full run repeated; the run with the median "
        "ratio is shown, with every run's ratio.",
        "",
        "| database | baseline | dry run | commit | portal total | ratio (median) | "
        "all runs | peak RSS | persons / doses | targets |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for r in results:
        met = r["ratio"] <= TARGET_RATIO and r["peak_mb"] <= TARGET_MB
        lines.append(
            f"| {r['version']} | {r['baseline']:.2f} s | {r['dry_run']:.2f} s | "
            f"{r['commit']:.2f} s | {r['total']:.2f} s | {r['ratio']:.2f} × | "
            f"{', '.join(f'{x:.2f}' for x in r.get('ratios', [r['ratio']]))} | "
            f"{r['peak_mb']:.0f} MB | {r['persons']:,} / {r['doses']:,} | "
            f"{'met' if met else 'MISSED'} |"
        )
    lines += [
        "",
        "Where the time goes (each step timed alone on this shared machine, "
        "CPU seconds, good to ±30 %): the dry run reads the sheet with calamine (as "
        "the baseline does, ~40 % of the baseline), checks every row (each distinct "
        "date, name, sex, dose number, vaccine and site cell read once), stores its "
        "file checks with the batch (zlib-compressed JSON, ~2.3 MB, ~0.3 s) and checks "
        "the database (~0.2 s). The commit takes the stored checks back (~0.2 s), "
        "checks the database again (~0.2 s) and inserts 50,000 persons (8 indexes, 3 "
        "foreign keys) and 100,000 doses (3 indexes, 2 foreign keys): on SQLite by "
        "executemany with the per-row counter triggers dropped for the inserts and a "
        "64 MiB page cache; on PostgreSQL by binary COPY, the values streamed as they "
        "are worked out. There the commit is the server's work: measured as the "
        "backend's CPU time, ~1.4-2.0 s for the persons and ~1.0-1.5 s for the doses "
        "(55 and 29 MB of WAL), against ~0.4 s of client CPU; with the foreign-key "
        "triggers disabled (a measurement on a rolled-back transaction only) ~0.9-1.3 "
        "and ~0.3-0.45 s. The baseline "
        "reads once, checks nothing and inserts into an unindexed table. Single "
        "runs move by ±30 % on this shared machine (other engineers' tests and "
        "benchmarks run beside it).",
        "",
        END,
    ]
    return "\n".join(lines)


def write_results(text: str) -> None:
    path = BENCH_DIR / "RESULTS.md"
    content = path.read_text(encoding="utf-8")
    if BEGIN in content:
        head, rest = content.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        content = head + text + tail
    else:
        head, tail = content.split(MATCHING_MARKER, 1)
        content = head + text + "\n\n" + MATCHING_MARKER + tail
    path.write_text(content, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="fresh database and full run this many times; the median is kept",
    )
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    path = generate(args.rows)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = []
    for kind in kinds:
        runs = sorted(
            (run_database(kind, path) for _ in range(args.repeat)), key=lambda r: r["ratio"]
        )
        median = dict(runs[len(runs) // 2])
        median["ratios"] = [r["ratio"] for r in runs]
        results.append(median)
    write_results(section(results, args.rows))


if __name__ == "__main__":
    main()

"""Time the record list on 1,000,000 persons, against the bare SQL it runs.

    python -m bench.run [--db sqlite|postgresql|both] [-n 200]

Each scenario is a real request through the app (login through the real /login, then
``app.test_client().get``): in-process, so its wall time is the server time, without any
network. The baseline is the very SQL on ``person`` that the request ran (the count and the
page query, captured from the engine while the portal served it), replayed alone on a raw
driver connection. The ratio portal/baseline is the portal's own overhead: session lookup,
form, the dose and commune look-ups, ORM loading and the template.

Seeds the database first when it is missing (see ``bench/seed.py``). Prints a table and
rewrites bench/RESULTS.md; a run on one database keeps the other's last figures there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

from bench import (
    AUTHORITY_USER,
    BENCH_DIR,
    BIG_COMMUNE,
    DATA_DIR,
    PASSWORD,
    PROVINCE,
    SQLITE_PATH,
    STATION_USER,
    TOTAL_PERSONS,
    database_url,
)

TARGET_MS = 50.0
DEEP_OFFSET = 50_000
PERSON_SQL = re.compile(r"\bFROM person\b", re.IGNORECASE)
COUNT_TEXT = re.compile(r'data-testid="result-count">([^<]*)<')
ROW_LINK = re.compile(r'<td><a href="/records/([0-9]+)">')


@dataclass
class Scenario:
    name: str
    user: str
    q: str = ""
    after: tuple[str, int] | None = None  # (name_sort, id) of the row before the page
    note: str = ""
    required: bool = True  # part of the requirement (the 100,000-person commune)

    @property
    def path(self) -> str:
        from portal.core.ids import encode_cursor

        args = {"q": self.q} if self.q else {}
        if self.after:
            args["after"] = encode_cursor(*self.after)
        return "/records" + ("?" + urlencode(args) if args else "")


@dataclass
class Result:
    scenario: str
    user: str
    path: str
    shown: str
    rows_on_page: int
    portal_p50: float
    portal_p95: float
    baseline_p50: float
    baseline_p95: float
    statements: int
    note: str = ""
    required: bool = True
    plans: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.portal_p95 / self.baseline_p95 if self.baseline_p95 else float("nan")

    @property
    def ok(self) -> bool:
        return self.portal_p95 <= TARGET_MS


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


# --- the database --------------------------------------------------------------------------


def seeded(kind: str) -> bool:
    """The full data set is there: the users exist (made last) and all persons are loaded."""
    url = database_url(kind)
    if kind == "sqlite" and not SQLITE_PATH.exists():
        return False
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            users = conn.execute(
                sa.text("SELECT count(*) FROM user_account WHERE username IN (:a, :b)"),
                {"a": STATION_USER, "b": AUTHORITY_USER},
            ).scalar()
            persons = conn.execute(sa.text("SELECT max(id) FROM person")).scalar() or 0
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()
    return users == 2 and persons >= TOTAL_PERSONS


def database_version(engine: sa.Engine) -> str:
    if engine.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with engine.connect() as conn:
        return "PostgreSQL " + conn.exec_driver_sql("SHOW server_version").scalar()


def explain(conn, kind: str, statement: str, parameters) -> str:
    if kind == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        return "\n".join(f"{'  ' * 0}{row[-1]}" for row in rows)
    rows = conn.exec_driver_sql(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters
    ).fetchall()
    return "\n".join(row[0] for row in rows)


@contextmanager
def captured(engine: sa.Engine):
    """The (statement, parameters) the engine sends to the driver meanwhile."""
    seen: list[tuple[str, object]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


# --- timing --------------------------------------------------------------------------------


def time_portal(client, path: str, n: int, warmup: int) -> list[float]:
    samples = []
    for i in range(warmup + n):
        started = time.perf_counter()
        response = client.get(path)
        response.get_data()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}")
        if i >= warmup:
            samples.append(elapsed)
    return samples


def time_baseline(engine: sa.Engine, statements, n: int, warmup: int) -> list[float]:
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        samples = []
        for i in range(warmup + n):
            started = time.perf_counter()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                cursor.fetchall()
            elapsed = (time.perf_counter() - started) * 1000
            if i >= warmup:
                samples.append(elapsed)
        raw.driver_connection.rollback()
        cursor.close()
    finally:
        raw.close()
    return samples


def log_in(app, username: str):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    if response.status_code != 303:
        raise SystemExit(f"login as {username} failed: {response.status_code}")
    return client


def deep_key(conn) -> tuple[str, int]:
    """(name_sort, id) of the row at offset 50,000 of the big commune, by name."""
    name_sort, row_id = conn.execute(
        sa.text(
            "SELECT name_sort, id FROM person WHERE commune_id = "
            "(SELECT id FROM area WHERE code = :code) ORDER BY name_sort, id "
            "LIMIT 1 OFFSET :offset"
        ),
        {"code": BIG_COMMUNE, "offset": DEEP_OFFSET},
    ).one()
    return name_sort, row_id


def scenarios(deep: tuple[str, int], with_province: bool) -> list[Scenario]:
    station = [
        Scenario("page 1", STATION_USER),
        Scenario("deep page (row 50,000)", STATION_USER, after=deep, note="keyset cursor"),
        Scenario("search 'nguyen van'", STATION_USER, "nguyen van", note="common"),
        Scenario(
            "search 'thi huong'",
            STATION_USER,
            "thi huong",
            note="first match 40% into the name order",
        ),
        Scenario(
            "search 'huong thi'",
            STATION_USER,
            "huong thi",
            note="rare: the whole commune is read twice",
        ),
        Scenario("search 'nguyen vna'", STATION_USER, "nguyen vna", note="typo, no match"),
    ]
    province = [
        Scenario("page 1", AUTHORITY_USER, note="province, 300,000", required=False),
        Scenario(
            "search 'nguyen van'",
            AUTHORITY_USER,
            "nguyen van",
            note="province, 300,000",
            required=False,
        ),
    ]
    return station + (province if with_province else [])


def check(conn, scenario: Scenario, html: str, page_size: int) -> None:
    """The page shows what plain SQL, written independently of the portal, says it should."""
    scope = (
        "commune_id = (SELECT id FROM area WHERE code = :area)"
        if scenario.user == STATION_USER
        else "province_id = (SELECT id FROM area WHERE code = :area)"
    )
    where = scope + (" AND name_folded LIKE :pattern" if scenario.q else "")
    params = {
        "area": BIG_COMMUNE if scenario.user == STATION_USER else PROVINCE,
        "pattern": f"%{scenario.q}%",
    }
    total = conn.execute(sa.text(f"SELECT count(*) FROM person WHERE {where}"), params).scalar()
    if scenario.after:
        # Spelled out rather than as a row value: an independent reading of the cursor.
        where += " AND (name_sort > :s OR (name_sort = :s AND id > :i))"
        params |= {"s": scenario.after[0], "i": scenario.after[1]}
    ids = (
        conn.execute(
            sa.text(
                f"SELECT id FROM person WHERE {where} ORDER BY name_sort, id LIMIT {page_size}"
            ),
            params,
        )
        .scalars()
        .all()
    )
    shown = COUNT_TEXT.search(html)
    shown_total = int(re.sub(r"[^0-9]", "", shown.group(1))) if shown else None
    shown_ids = [int(i) for i in ROW_LINK.findall(html)]
    if shown_total != total or shown_ids != ids:
        raise SystemExit(
            f"{scenario.name} ({scenario.user}) shows {shown_total} records and "
            f"ids {shown_ids[:5]}..., plain SQL says {total} and {ids[:5]}..."
        )


def run_database(
    kind: str, n: int, warmup: int, with_province: bool, auto_seed: bool, log=print
) -> dict:
    from portal import create_app
    from portal.extensions import db

    if not seeded(kind):
        command = f".venv/bin/python -m bench.seed --db {kind}"
        if not auto_seed:
            raise SystemExit(f"the {kind} bench database is missing; create it with: {command}")
        log(f"[{kind}] no complete bench database: seeding it first ({command})")
        from bench.seed import seed

        seed(kind)

    url = database_url(kind)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "PORTAL_ENV": "testing", "WTF_CSRF_ENABLED": False}
    )
    results: list[Result] = []
    with app.app_context():
        engine = db.engine
        version = database_version(engine)
        with engine.connect() as conn:
            deep = deep_key(conn)
            persons = conn.execute(sa.text("SELECT max(id) FROM person")).scalar()
        page_size = app.config["RECORDS_PAGE_SIZE"]
    clients = {user: log_in(app, user) for user in (STATION_USER, AUTHORITY_USER)}
    load_before = os.getloadavg()[0]
    log(
        f"\n[{kind}] {version}, {persons:,} persons; n={n} after {warmup} warm-up requests; "
        f"load average {load_before:.2f}"
    )
    for scenario in scenarios(deep, with_province):
        client = clients[scenario.user]
        with app.app_context():
            with captured(db.engine) as seen:
                response = client.get(scenario.path)
            html = response.get_data(as_text=True)
            statements = [(s, p) for s, p in seen if PERSON_SQL.search(s)]
            shown = COUNT_TEXT.search(html)
            rows_on_page = len(ROW_LINK.findall(html))
            with db.engine.connect() as conn:
                check(conn, scenario, html, page_size)
                plans = [explain(conn, kind, s, p) for s, p in statements]
            portal = time_portal(client, scenario.path, n, warmup)
            baseline = time_baseline(db.engine, statements, n, warmup)
        result = Result(
            scenario=scenario.name,
            user=scenario.user,
            path=scenario.path,
            shown=shown.group(1).strip() if shown else "?",
            rows_on_page=rows_on_page,
            portal_p50=percentile(portal, 50),
            portal_p95=percentile(portal, 95),
            baseline_p50=percentile(baseline, 50),
            baseline_p95=percentile(baseline, 95),
            statements=len(seen),
            note=scenario.note,
            required=scenario.required,
            plans=[
                f"-- {s.strip()}\n{plan}" for (s, _), plan in zip(statements, plans, strict=True)
            ],
        )
        results.append(result)
        log(row(result))
    with app.app_context():
        db.engine.dispose()
    return {
        "database": kind,
        "version": version,
        "persons": persons,
        "n": n,
        "warmup": warmup,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
        "results": [asdict(r) | {"ratio": r.ratio, "ok": r.ok} for r in results],
    }


# --- reporting -----------------------------------------------------------------------------

HEADER = (
    f"{'scenario':<24} {'user':<17} {'portal p50':>10} {'p95':>7} "
    f"{'baseline p50':>12} {'p95':>7} {'ratio p95':>9}  {'≤50ms':<5} shown"
)


def row(r: Result) -> str:
    return (
        f"{r.scenario:<24} {r.user:<17} {r.portal_p50:>10.1f} {r.portal_p95:>7.1f} "
        f"{r.baseline_p50:>12.1f} {r.baseline_p95:>7.1f} {r.ratio:>9.1f}  "
        f"{'yes' if r.ok else 'NO' if r.required else 'no':<5} {r.shown}"
    )


RECORDS_BEGIN = "<!-- bench.records: begin (written by python -m bench.run) -->"
RECORDS_END = "<!-- bench.records: end -->"


def replace_section(begin: str, end: str, section: str) -> None:
    """Put a benchmark's section (its markers included) into RESULTS.md: in place of its
    previous version, else at the end. Every other benchmark's section stays as it is."""
    path = BENCH_DIR / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    start, stop = text.find(begin), text.find(end)
    if start >= 0 and stop > start:
        text = text[:start] + section + text[stop + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text.lstrip("\n"))


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=BENCH_DIR.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "portal", "migrations"],
            cwd=BENCH_DIR.parent,
            capture_output=True,
            text=True,
        ).stdout.strip()
        commit += " (with uncommitted changes in portal/ or migrations/)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    import psycopg

    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlalchemy": sa.__version__,
        "psycopg": psycopg.__version__,
        "commit": commit,
    }


def seed_line(kind: str) -> str:
    path = DATA_DIR / f"seed-{kind}.json"
    if not path.exists():
        return ""
    seed = json.loads(path.read_text())
    return (
        f"Seeded {seed['finished'][:10]}: {seed['persons']:,} persons and "
        f"{seed['doses']:,} doses in {seed['total_seconds']:.0f} s "
        f"(bulk load and index rebuild {seed['load_seconds']:.0f} s, "
        f"ANALYZE {seed['analyze_seconds']:.0f} s, {seed['workers']} generator processes)."
    )


def verdict(r: dict) -> str:
    if r["ok"]:
        return "yes"
    return "**no**" if r.get("required", True) else "no (not required)"


def markdown(runs: dict[str, dict], env: dict) -> str:
    out = [
        "# Benchmark: the record list on 1,000,000 persons",
        "",
        "Requirement: with 1,000,000 persons in the database (100,000 in one commune), "
        "`/records` page 1, a deep page and a name search each answer in ≤ 50 ms server time "
        "(p95) on PostgreSQL and on SQLite.",
        "",
        "- **Portal**: a real request through the app (`app.test_client().get`, logged in "
        "through the real `/login`), in process: its wall time is the server time, no network. "
        "The full page is rendered (layout, filter form, table).",
        "- **Baseline**: the same SQL on `person` that the request ran (count and page query, "
        "captured from the engine while the portal served it, same parameters), replayed "
        "alone on a raw driver connection and fetched.",
        "- **Ratio** = portal p95 / baseline p95: what the portal adds (session check, filter "
        "form with its commune and site choices, dose counts, commune names, ORM, template).",
        "- Before timing, each page is checked against plain SQL written independently of "
        "the portal (`LIKE`, the cursor spelled out): the count shown and the ids listed.",
        "- Times in milliseconds. `station` is the health station of Phường Ba Đình (00004), "
        "100,000 persons; `authority` the Hà Nội health authority (province 01, 300,000 "
        "persons in 21 communes).",
        "- Data: `bench/seed.py` — 100,000 persons in 00004, 90 other communes of 10,000 in "
        "Hà Nội and seven other provinces; 1–3 doses each (every person has doses); rows "
        "from `portal.demo.generator`.",
        "",
        f"Machine: {env['cores']} cores ({env['cpu']}), {env['memory']}, {env['os']}; "
        f"Python {env['python']}, SQLAlchemy {env['sqlalchemy']}, psycopg {env['psycopg']}; "
        f"commit {env['commit']}.",
        "",
        "What makes it fast (see `portal/records/queries.py` and the indexes of `Person`): "
        "the page is found in two steps, its ids by walking the scope's sort index, then "
        "its rows by id; the sort indexes end with `name_folded`, so a name search is "
        "tested on index entries only (an index-only scan, no table read per person); the "
        "search is a plain substring test (`instr` / `strpos`), evaluated on the scope's "
        "index entries, so its cost is bounded by the scope (PostgreSQL no longer picks the "
        "trigram index, whose posting lists are national and whose trigrams, in Vietnamese "
        "names, are all common); a search with no match skips the page query. The counts "
        "are exact.",
        "",
    ]
    for kind in ("sqlite", "postgresql"):
        run = runs.get(kind)
        if not run:
            continue
        out += [
            f"## {run['version']}",
            "",
            f"Run {run['date']}, `{run['command']}` (n={run['n']} timed requests per "
            f"scenario after {run['warmup']} warm-up; load average "
            f"{run.get('load', ['?'])[0]} before, {run.get('load', ['?', '?'])[1]} after). "
            f"{seed_line(kind)}",
            "",
            "| scenario | user | shown | portal p50 | portal p95 | baseline p50 | "
            "baseline p95 | ratio p95 | ≤ 50 ms |",
            "|---|---|---|--:|--:|--:|--:|--:|:-:|",
        ]
        for r in run["results"]:
            user = "station" if r["user"] == STATION_USER else "authority"
            note = f" ({r['note']})" if r["note"] else ""
            out.append(
                f"| {r['scenario']}{note} | {user} | {r['shown']} | {r['portal_p50']:.1f} | "
                f"{r['portal_p95']:.1f} | {r['baseline_p50']:.1f} | {r['baseline_p95']:.1f} | "
                f"{r['ratio']:.1f} | {verdict(r)} |"
            )
        out += ["", "<details><summary>Query plans</summary>", ""]
        for r in run["results"]:
            user = "station" if r["user"] == STATION_USER else "authority"
            out += [f"### {r['scenario']} ({user})", "", "```"]
            out += [plan for plan in r["plans"]]
            out += ["```", ""]
        out += ["</details>", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("-n", type=int, default=200, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--no-province", action="store_true", help="skip the province-wide scenarios"
    )
    parser.add_argument(
        "--no-seed", action="store_true", help="stop instead of seeding a missing database"
    )
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)

    print(HEADER)
    runs = {}
    for kind in kinds:
        runs[kind] = run_database(kind, args.n, args.warmup, not args.no_province, not args.no_seed)
        (DATA_DIR / f"results-{kind}.json").write_text(json.dumps(runs[kind], indent=2))
    # A run on one database keeps the other's last figures.
    for kind in ("sqlite", "postgresql"):
        path = DATA_DIR / f"results-{kind}.json"
        if kind not in runs and path.exists():
            runs[kind] = json.loads(path.read_text())
    # Only this benchmark's own section is replaced; the others' stay as they are.
    replace_section(
        RECORDS_BEGIN,
        RECORDS_END,
        RECORDS_BEGIN + "\n" + markdown(runs, machine()).rstrip("\n") + "\n" + RECORDS_END,
    )

    print(f"\nwritten {BENCH_DIR / 'RESULTS.md'}")
    status = 0
    for required in (True, False):
        over = [
            f"{kind} {r['scenario']} ({r['user']})"
            for kind in kinds
            for r in runs[kind]["results"]
            if not r["ok"] and r.get("required", True) == required
        ]
        if over:
            print(
                ("REQUIREMENT MISSED, " if required else "beyond the requirement, ")
                + "over 50 ms p95: "
                + "; ".join(over)
            )
            status = status or int(required)
    return status


if __name__ == "__main__":
    sys.exit(main())

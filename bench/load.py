"""The portal under load, on gunicorn: the record list against a bare page, then the mixed
locust scenario.

    python -m bench.load [--db sqlite|postgresql|both] [--clients 8] [--seconds 10]
                         [--rounds 3] [--users 32] [--run-time 60] [--fresh] [--skip-locust]

The database is the demo's (``flask db upgrade`` then ``flask demo --accounts``), made once
and kept: SQLite in ``bench/data/load.sqlite3``; PostgreSQL in ``BENCH_LOAD_DATABASE_URL``
(default ``postgresql://postgres@127.0.0.1/portal_bench_load``, dropped and created again
with ``--fresh`` or when it has no demo; its name must contain "bench").

1. **Throughput.** gunicorn with 2 sync workers serves the portal; ``--clients`` threads,
   each logged in as the police of Phường Ba Đình (2,200 persons), GET ``/records`` as fast
   as answers come, for ``--seconds``. Then the same clients GET the bare page
   (``bench/bare.py``: Flask, one 50-row query of the same commune on the same database, a
   table; 2 sync workers too) as long. Alternated ``--rounds`` times, in the same run, so
   that whatever else the machine does weighs on both alike; printed: requests per second,
   p50 and p99 of each, and the ratio records / bare (the target: ≥ 50 %).
2. **The mixed scenario** (``bench/locustfile.py``): gunicorn as the README deploys it
   (``--workers``/``--threads``: SQLite 1 worker × 4 threads, PostgreSQL 4 workers),
   ``--users`` locust users for ``--run-time`` seconds, headless, with ``--csv``
   (``bench/data/locust-<db>_*.csv``). Then ``flask audit verify``, and what locust says it
   saved against the database: ``person.correct`` audit events (saves), complaints filed,
   ``records.export`` audit events, signed documents (the committee's signatures), each
   counted before and after. Printed: p95 of pages, of saves and of signatures, errors
   (failed requests, 5xx answers), the counts.

Writes its section of bench/RESULTS.md (a run on one database keeps the other's).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench import BENCH_DIR, DATA_DIR, MATCHING_MARKER, throwaway_database

ROOT = BENCH_DIR.parent
SQLITE_FILE = DATA_DIR / "load.sqlite3"
ACCOUNTS_FILE = DATA_DIR / "load-accounts.json"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1/portal_bench_load"
USER = "police.ba_dinh"
PASSWORD = "tiem-chung-2021"
TARGET_RATIO = 0.5
RAMP_S = 30  # added to the locust run for the ramp-up (spawning and logging in)
PAGE_P95_MS = 300.0
SAVE_P95_MS = 500.0
START = "<!-- bench.load: written by python -m bench.load -->"
END = "<!-- /bench.load -->"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
# How the README runs gunicorn on each database (Makefile `serve`; "Deploying on PostgreSQL").
DOCUMENTED = {"sqlite": (1, 4), "postgresql": (4, 1)}


def bin_path(name: str) -> str:
    return str(Path(sys.executable).parent / name)


# --- the database ------------------------------------------------------------------------


def database_url(kind: str) -> str:
    if kind == "sqlite":
        return "sqlite:///" + str(SQLITE_FILE)
    url = os.environ.get("BENCH_LOAD_DATABASE_URL") or DEFAULT_PG_URL
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    if "bench" not in (make_url(url).database or ""):
        raise SystemExit("refusing a PostgreSQL database whose name lacks 'bench'")
    return url


def server_env(url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "MIGRATIONS_DATABASE_URL": url,
        "PORTAL_ENV": "development",  # plain HTTP: cookies not marked Secure
        "SECRET_KEY": "bench-load-" + "x" * 32,
        # One address plays every citizen: the per-address limit would refuse them.
        "FEEDBACK_RATE_LIMIT": "1000000",
        "FEEDBACK_FAILURE_LIMIT": "1000000",
    }


def has_demo(url: str) -> bool:
    if url.startswith("sqlite") and not SQLITE_FILE.exists():
        return False
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(
                conn.execute(
                    sa.text("SELECT count(*) FROM user_account WHERE username = :u"), {"u": USER}
                ).scalar()
            )
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def prepare(kind: str, fresh: bool, log=print) -> str:
    url = database_url(kind)
    if not fresh and has_demo(url) and ACCOUNTS_FILE.exists():
        log(f"{kind}: the demo database is there ({make_url(url).render_as_string()})")
        return url
    if kind == "sqlite":
        url = throwaway_database(kind, SQLITE_FILE, "", "")
    else:
        url = throwaway_database(kind, SQLITE_FILE, "BENCH_LOAD_DATABASE_URL", DEFAULT_PG_URL)
    env = {**os.environ, **server_env(url)}
    started = time.perf_counter()
    for args in (["db", "upgrade"], ["demo", "--accounts", str(ACCOUNTS_FILE)]):
        subprocess.run(
            [bin_path("flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    log(f"{kind}: demo database made in {time.perf_counter() - started:.0f} s")
    return url


def db_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:

            def events(action: str) -> int:
                return int(
                    conn.execute(
                        sa.text("SELECT count(*) FROM audit_event WHERE action = :a"), {"a": action}
                    ).scalar()
                )

            return {
                "saves": events("person.correct"),
                "complaints": int(conn.execute(sa.text("SELECT count(*) FROM feedback")).scalar()),
                "exports": events("records.export"),
                # Only the committee signs in the scenario: every new signed document is one.
                "signatures": int(
                    conn.execute(sa.text("SELECT count(*) FROM signed_document")).scalar()
                ),
            }
    finally:
        engine.dispose()


# --- servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(
    app_path: str,
    env: dict[str, str],
    workers: int,
    threads: int = 1,
) -> tuple[subprocess.Popen, int]:
    port = free_port()
    args = [
        bin_path("gunicorn"),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    if threads > 1:
        # Threads keep connections alive (2 s by default): longer than a user's pause
        # (LOAD_WAIT, up to 3 s), or a request sent as gunicorn closes the connection is
        # reset — a race of the benchmark's client, not an answer of the portal.
        args += ["--threads", str(threads), "--keep-alive", "10"]
    # The servers' own log (a 500's traceback, say) goes to a file, not into the figures.
    log = (DATA_DIR / "load-gunicorn.log").open("a")
    process = subprocess.Popen(
        [*args, app_path],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/records")
            connection.getresponse().read()
            return process, port
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise SystemExit(f"{app_path} did not start")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


# --- 1. throughput -----------------------------------------------------------------------


class Client:
    """One browser: its cookies, a connection that reopens when gunicorn closes it."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return response.status, text

    def log_in(self, username: str, password: str) -> None:
        _status, page = self.request("GET", "/login")
        token = CSRF.search(page)
        status, _ = self.request(
            "POST",
            "/login",
            urlencode(
                {
                    "username": username,
                    "password": password,
                    "csrf_token": token.group(1) if token else "",
                }
            ),
        )
        if status != 303:
            raise SystemExit(f"login of {username} answered {status}")


def hammer(clients: list[Client], path: str, seconds: float) -> dict:
    """Every client GETs ``path`` in a loop for ``seconds``; latencies of the answers."""
    samples: list[list[float]] = [[] for _ in clients]
    errors = [0]
    barrier = threading.Barrier(len(clients) + 1)
    deadline = [0.0]

    def run(i: int) -> None:
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            started = time.perf_counter()
            status, _ = clients[i].request("GET", path)
            if status != 200:
                errors[0] += 1
            samples[i].append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds
    barrier.wait()
    for t in threads:
        t.join()
    flat = [s for per in samples for s in per]
    return {"requests": len(flat), "seconds": seconds, "errors": errors[0], "samples": flat}


def summary(runs: list[dict]) -> dict:
    flat = [s for r in runs for s in r["samples"]]
    seconds = sum(r["seconds"] for r in runs)
    q = statistics.quantiles(flat, n=100, method="inclusive")
    return {
        "rps": len(flat) / seconds,
        "p50": q[49],
        "p99": q[98],
        "requests": len(flat),
        "errors": sum(r["errors"] for r in runs),
    }  # the samples are left out


def throughput(kind: str, url: str, clients: int, seconds: float, rounds: int, log=print) -> dict:
    env = server_env(url)
    portal, portal_port = serve("wsgi:app", env, workers=2)
    bare, bare_port = serve("bench.bare:app", env, workers=2)
    try:
        portal_clients = [Client(portal_port) for _ in range(clients)]
        for client in portal_clients:
            client.log_in(USER, PASSWORD)
        bare_clients = [Client(bare_port) for _ in range(clients)]
        hammer(portal_clients, "/records", 2)  # warm-up: imports, caches, pools
        hammer(bare_clients, "/records", 2)
        portal_runs, bare_runs = [], []
        for _ in range(rounds):
            portal_runs.append(hammer(portal_clients, "/records", seconds))
            bare_runs.append(hammer(bare_clients, "/records", seconds))
    finally:
        stop(portal)
        stop(bare)
    result = {
        "records": summary(portal_runs),
        "bare": summary(bare_runs),
        "clients": clients,
        "seconds": seconds,
        "rounds": rounds,
    }
    result["ratio"] = result["records"]["rps"] / result["bare"]["rps"]
    for name in ("records", "bare"):
        r = result[name]
        log(
            f"{kind} {name:>7}: {r['rps']:6.1f} req/s  p50 {r['p50']:6.1f} ms  "
            f"p99 {r['p99']:6.1f} ms  ({r['requests']} requests, {r['errors']} not 200)"
        )
    log(f"{kind}   ratio: {result['ratio']:.0%} (target ≥ {TARGET_RATIO:.0%})")
    return result


# --- 2. the mixed scenario ---------------------------------------------------------------


def p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def mixed(kind: str, url: str, users: int, run_time: int, log=print) -> dict:
    workers, threads = DOCUMENTED[kind]
    env = server_env(url)
    before = db_counts(url)
    server, port = serve("wsgi:app", env, workers=workers, threads=threads)
    counts_file = DATA_DIR / f"locust-{kind}-counts.json"
    counts_file.unlink(missing_ok=True)
    try:
        completed = subprocess.run(
            [
                bin_path("locust"),
                "-f",
                str(BENCH_DIR / "locustfile.py"),
                "--headless",
                "--host",
                f"http://127.0.0.1:{port}",
                "--users",
                str(users),
                # The logins of the start (a slow password hash each) are the ramp-up: the
                # times are kept once every user is logged in, for ``run_time`` seconds.
                "--spawn-rate",
                str(max(1, users // 4)),
                "--run-time",
                f"{run_time + RAMP_S}s",
                # Users finish the action under way at the end: a save the server made is one
                # locust counts.
                "--stop-timeout",
                "30",
                "--csv",
                str(DATA_DIR / f"locust-{kind}"),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "LOAD_ACCOUNTS": str(ACCOUNTS_FILE),
                "LOAD_COUNTS": str(counts_file),
            },
            capture_output=True,
            text=True,
        )
    finally:
        stop(server)
    if not counts_file.exists():
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit("locust wrote no counts")
    found = json.loads(counts_file.read_text())
    after = db_counts(url)
    verify = subprocess.run(
        [bin_path("flask"), "--app", "wsgi", "audit", "verify"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    said = found["counts"]
    times = found["times"]
    errors = sum(v for k, v in said.items() if k == "failures")
    server_errors = {k: v for k, v in said.items() if k.startswith("http_5")}
    saved = {k: after[k] - before[k] for k in after}
    result = {
        "users": users,
        "run_time": run_time,
        "workers": workers,
        "threads": threads,
        "steady_seconds": found.get("steady_seconds", 0),
        "ramp_seconds": found.get("ramp_seconds", 0),
        "requests": sum(len(v) for k, v in times.items() if k != "login"),
        "page_p95": p95(times.get("page", [])),
        "save_p95": p95(times.get("save", [])),
        "export_p95": p95(times.get("export", [])),
        "errors": errors,
        "server_errors": server_errors,
        "sign_p95": p95(times.get("sign", [])),
        "locust": {k: said.get(k, 0) for k in ("saves", "complaints", "exports", "signatures")},
        "conflicts": said.get("conflicts", 0),
        "database": saved,
        "nothing_to_sign": said.get("nothing_to_sign", 0),
        "verify_ok": verify.returncode == 0,
        "verify": (verify.stdout + verify.stderr).strip().splitlines()[-1:],
        "locust_exit": completed.returncode,
    }
    result["counts_match"] = result["locust"] == saved
    log(
        f"{kind} mixed: {users} users, {result['steady_seconds']:.0f} s steady after "
        f"{result['ramp_seconds']:.0f} s ramp-up, {workers} worker(s) × {threads} "
        f"thread(s): {result['requests']} requests, p95 pages {result['page_p95']:.0f} ms "
        f"(≤ {PAGE_P95_MS:.0f}), saves {result['save_p95']:.0f} ms (≤ {SAVE_P95_MS:.0f}), "
        f"signatures {result['sign_p95']:.0f} ms, errors {errors} {server_errors or ''}"
    )
    log(
        f"{kind} mixed: locust saved {result['locust']}, database {saved} "
        f"({'match' if result['counts_match'] else 'MISMATCH'}); conflicts "
        f"{result['conflicts']}; nothing to sign {result['nothing_to_sign']}; "
        f"audit verify {'passes' if result['verify_ok'] else 'FAILS'}"
    )
    return result


# --- RESULTS.md --------------------------------------------------------------------------


def machine_line() -> str:
    from bench.run import machine

    m = machine()
    return (
        f"Machine: {m.get('cores', '?')} cores ({m.get('cpu', '?')}), {m.get('memory', '')}; "
        f"Python {m.get('python', '?')}; commit {m.get('commit', '?')}"
    )


def section(
    kind: str, when: str, load: tuple[float, float], tp: dict | None, mix: dict | None, args
) -> str:
    lines = [
        f"### {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}",
        "",
        f"Run {when}, `python -m bench.load --db {kind}` (load average "
        f"{load[0]:.2f} before, {load[1]:.2f} after; other work shared the machine).",
    ]
    if tp:
        lines += [
            "",
            f"Throughput, {tp['clients']} clients, {tp['rounds']} × "
            f"{tp['seconds']:.0f} s each, alternated, 2 sync workers each:",
            "",
            "| page | req/s | p50 ms | p99 ms | requests | not 200 |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for name, label in (
            ("records", "`/records` (police, 2,200 persons)"),
            ("bare", "bare Flask page, 50-row query"),
        ):
            r = tp[name]
            lines.append(
                f"| {label} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                f"{r['requests']} | {r['errors']} |"
            )
        lines += [
            "",
            f"**Ratio records / bare: {tp['ratio']:.0%}** (target ≥ "
            f"{TARGET_RATIO:.0%}: {'met' if tp['ratio'] >= TARGET_RATIO else 'not met'}).",
        ]
    if mix:
        ok = (
            mix["errors"] == 0
            and not mix["server_errors"]
            and mix["page_p95"] <= PAGE_P95_MS
            and mix["save_p95"] <= SAVE_P95_MS
            and mix["verify_ok"]
            and mix["counts_match"]
        )
        lines += [
            "",
            f"Mixed scenario, {mix['users']} users, gunicorn {mix['workers']} "
            f"worker(s) × {mix['threads']} thread(s); times over the "
            f"{mix['steady_seconds']:.0f} s of steady load after a ramp-up (spawning, "
            f"logging in) of {mix['ramp_seconds']:.0f} s; errors over the whole run:",
            "",
            "| requests | p95 pages | p95 saves | p95 exports | p95 signing | errors | 5xx "
            "| saved (locust) | saved (database) | conflicts (409) | audit verify |",
            "|--:|--:|--:|--:|--:|--:|---|---|---|--:|---|",
            f"| {mix['requests']} | {mix['page_p95']:.0f} ms | {mix['save_p95']:.0f} ms | "
            f"{mix['export_p95']:.0f} ms | {mix.get('sign_p95', float('nan')):.0f} ms | "
            f"{mix['errors']} | "
            f"{mix['server_errors'] or 'none'} | {mix['locust']} | {mix['database']} | "
            f"{mix['conflicts']} | {'passes' if mix['verify_ok'] else 'FAILS'} |",
            "",
            f"Target (0 errors, p95 ≤ {PAGE_P95_MS:.0f} ms pages, ≤ {SAVE_P95_MS:.0f} "
            f"ms saves, verify passes, counts match): {'met' if ok else 'not met'}.",
        ]
    return "\n".join(lines) + "\n"


def write_results(sections: dict[str, str]) -> None:
    path = BENCH_DIR / "RESULTS.md"
    previous = path.read_text() if path.exists() else ""
    kept: dict[str, str] = {}
    if START in previous and END in previous:
        head, rest = previous.split(START, 1)
        body, tail = rest.split(END, 1)
        for kind, title in (("sqlite", "### SQLite"), ("postgresql", "### PostgreSQL")):
            if title in body:
                part = body.split(title, 1)[1]
                for other in ("### SQLite", "### PostgreSQL"):
                    if other != title and other in part:
                        part = part.split(other, 1)[0]
                kept[kind] = title + part.rstrip("\n") + "\n"
    else:
        at = previous.find(MATCHING_MARKER)
        head, tail = (previous, "") if at < 0 else (previous[:at], previous[at:])
        head = head.rstrip("\n") + "\n\n"
        tail = "\n" + tail if tail else ""
    kept.update(sections)
    text = (
        START + "\n# Benchmark: the portal under load (gunicorn)\n\n"
        "`python -m bench.load` — see its docstring. "
        + machine_line()
        + "\n\n"
        + "\n".join(kept[k] for k in ("sqlite", "postgresql") if k in kept)
        + END
    )
    path.write_text(head + text + tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--run-time", type=int, default=60)
    parser.add_argument("--fresh", action="store_true", help="make the demo database again")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-locust", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    args = parser.parse_args()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    sections = {}
    for kind in kinds:
        url = prepare(kind, args.fresh)
        load_before = os.getloadavg()[0]
        when = datetime.now(UTC).isoformat(timespec="seconds")
        tp = (
            None
            if args.skip_throughput
            else throughput(kind, url, args.clients, args.seconds, args.rounds)
        )
        mix = None if args.skip_locust else mixed(kind, url, args.users, args.run_time)
        sections[kind] = section(kind, when, (load_before, os.getloadavg()[0]), tp, mix, args)
        (DATA_DIR / f"load-{kind}.json").write_text(
            json.dumps(
                {"when": when, "throughput": {k: v for k, v in (tp or {}).items()}, "mixed": mix},
                default=str,
            )
        )
    if not args.no_write:
        write_results(sections)


if __name__ == "__main__":
    main()

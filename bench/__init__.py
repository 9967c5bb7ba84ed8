"""Benchmarks: ``python -m bench.seed`` builds the large databases, ``python -m bench.run`` times.

The shared settings live here so that the seed and the run agree on names and sizes.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
SQLITE_PATH = DATA_DIR / "bench.sqlite3"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1/portal_bench"

# bench.run rewrites RESULTS.md up to this line; bench.matching writes what follows it.
MATCHING_MARKER = "<!-- bench.matching: everything below is written by python -m bench.matching -->"
# bench.feedback writes its section between these, before the matching marker.
FEEDBACK_MARKER = "<!-- bench.feedback: written by python -m bench.feedback -->"
FEEDBACK_END = "<!-- /bench.feedback -->"

BIG_COMMUNE = "00004"  # Phường Ba Đình, Hà Nội: the 100,000-person commune
PROVINCE = "01"  # Thành phố Hà Nội
STATION_USER = "health.ba_dinh"
AUTHORITY_USER = "authority.ha_noi"
PASSWORD = "bench-2021-mat-khau"

BIG_COMMUNE_PERSONS = 100_000
# The other 900,000 persons: 90 communes of 10,000, in Hà Nội and seven other provinces.
OTHER_COMMUNES = {"01": 20, "79": 10, "31": 10, "48": 10, "38": 10, "40": 10, "92": 10, "04": 10}
PERSONS_PER_OTHER_COMMUNE = 10_000
TOTAL_PERSONS = BIG_COMMUNE_PERSONS + sum(OTHER_COMMUNES.values()) * PERSONS_PER_OTHER_COMMUNE


def database_url(kind: str) -> str:
    """The SQLAlchemy URL of the bench database of ``kind`` (sqlite or postgresql).

    PostgreSQL: BENCH_DATABASE_URL, else DATABASE_URL when it names a PostgreSQL database,
    else postgresql://postgres@127.0.0.1/portal_bench.
    """
    if kind == "sqlite":
        return "sqlite:///" + str(SQLITE_PATH)
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    if not url.startswith(("postgresql:", "postgresql+psycopg:", "postgres:")):
        url = DEFAULT_PG_URL
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    name = make_url(url).database or ""
    if "bench" not in name:
        # The seed drops and recreates this database: never let it touch a real one.
        raise SystemExit(
            f"refusing to use PostgreSQL database {name!r}: its name lacks 'bench' "
            "(the seed drops it); set BENCH_DATABASE_URL"
        )
    return url


def throwaway_database(kind: str, sqlite_file: Path, env_var: str, default_pg_url: str) -> str:
    """An empty database for a benchmark that loads its own data: the SQLite file removed,
    or the PostgreSQL database (URL from ``env_var``; its name must contain "bench")
    dropped and created again. Returns its SQLAlchemy URL."""
    import sqlalchemy as sa

    if kind == "sqlite":
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(sqlite_file) + suffix).unlink(missing_ok=True)
        return "sqlite:///" + str(sqlite_file)
    url = os.environ.get(env_var) or default_pg_url
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    target = make_url(url)
    if "bench" not in (target.database or ""):
        raise SystemExit("refusing to drop a PostgreSQL database whose name lacks 'bench'")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()
    return url

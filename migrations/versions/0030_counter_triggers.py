"""counter triggers: every counter trigger (re)created from one SQL file per database

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 17:30:00

The triggers that keep person_tally, dose_tally and feedback_open_count were written in
five migrations (0004, 0010, 0011, 0012, 0014), each with its own copy of the SQL. Their
current definition now lives in migrations/sql/counters.sqlite.sql and
counters.postgresql.sql; this migration loads the file of its database, so that the
triggers are exactly what the file says (the bodies are the same as 0029 left them).

SQLite drops a table's triggers when a batch migration rebuilds the table. No migration
on the way up has lost one (0009 added its columns in place for that reason; its
downgrade now keeps them through its rebuild). A database that lacks any of them anyway
(a table rebuilt by hand) has counters that missed changes: they are counted again from
the tables, as ``flask dashboard recount`` does.
"""
from alembic import op

from migrations.helpers import defined_triggers, run_sql_file


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


RECOUNT = [
    "DELETE FROM person_tally",
    "INSERT INTO person_tally (commune_id, status, n) "
    "SELECT commune_id, status, count(*) FROM person GROUP BY commune_id, status",
    "DELETE FROM dose_tally",
    "INSERT INTO dose_tally (commune_id, site_id, vaccine, n) "
    "SELECT p.commune_id, coalesce(d.site_id, 0), d.vaccine, count(*) "
    "FROM dose d JOIN person p ON p.id = d.person_id GROUP BY 1, 2, 3",
    "DELETE FROM feedback_open_count",
    "INSERT INTO feedback_open_count (unit_key, n) SELECT unit_key, count(*) "
    "FROM feedback WHERE answered_at IS NULL GROUP BY unit_key",
]


def _existing_triggers(bind) -> set[str]:
    if bind.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    return set(bind.exec_driver_sql(sql).scalars())


def upgrade():
    bind = op.get_bind()
    missing = defined_triggers("counters", bind.dialect.name) - _existing_triggers(bind)
    run_sql_file("counters")
    if missing:
        print("0030: counter triggers were missing, counters counted again:",
              ", ".join(sorted(missing)))
        for statement in RECOUNT:
            op.execute(statement)


def downgrade():
    # 0029 had the same triggers with the same bodies: nothing to take back.
    pass

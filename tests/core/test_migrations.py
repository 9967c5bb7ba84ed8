"""Issue 16, database upkeep: the counters' triggers are exactly what the SQL files in
migrations/sql define, and every migration goes down and up again without losing one
(SQLite drops a table's triggers when a batch migration rebuilds it)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from flask_migrate import check, downgrade, upgrade

from migrations import helpers
from migrations.helpers import defined_triggers, sql_path, statements
from portal import create_app
from portal.core.roles import owner_engine
from portal.extensions import db
from tests.live import PROJECT, TEST_CONFIG, live_config

MIGRATIONS = str(PROJECT / "migrations")

# The audit trail's guards (migrations 0001 and 0026): triggers, but not counters.
GUARDS = {
    "sqlite": {
        "audit_event_no_update",
        "audit_event_no_delete",
        "audit_head_forward_only",
        "audit_head_no_delete",
    },
    "postgresql": {
        "audit_event_append_only",
        "audit_event_no_truncate",
        "audit_head_forward_only",
        "audit_head_no_truncate",
    },
}


def _triggers(connection: sa.Connection) -> dict[str, str]:
    """Every trigger of the database with its definition; on PostgreSQL also every PL/pgSQL
    function with its source (a trigger's body is its function's)."""
    if connection.dialect.name == "sqlite":
        return dict(
            connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            ).all()
        )
    found = dict(
        connection.exec_driver_sql(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"
        ).all()
    )
    found.update(
        (f"{name}()", source)
        for name, source in connection.exec_driver_sql(
            "SELECT proname, prosrc FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
            "WHERE l.lanname = 'plpgsql' AND p.pronamespace = 'public'::regnamespace"
        ).all()
    )
    return found


def _layout_aside(sql: str) -> str:
    """The same definition, whatever its layout and comments (0030 rewrote the layout)."""
    sql = " ".join(re.sub(r"--[^\n]*", "", sql).split())
    return re.sub(r"\s*;\s*", "; ", sql).strip()


def test_the_database_at_head_has_exactly_the_counter_triggers_of_the_sql_files():
    connection = db.session.connection()
    dialect = connection.dialect.name
    everything = _triggers(connection)
    found = {name: sql for name, sql in everything.items() if not name.endswith("()")}
    functions = {name[:-2]: sql for name, sql in everything.items() if name.endswith("()")}
    defined = defined_triggers("counters", dialect)
    assert defined >= {
        "tally_person_moved",
        "tally_dose_ai" if dialect == "sqlite" else "tally_dose_insert",
    }
    assert set(found) - GUARDS[dialect] == defined
    # And the bodies are the files' own, as they are written there.
    file = statements(sql_path("counters", dialect).read_text(encoding="utf-8"), dialect)
    if dialect == "sqlite":
        for statement in file:
            name = re.match(r"CREATE TRIGGER (\w+)", statement)
            if name:
                assert found[name[1]] == statement.removesuffix(";"), name[1]
    else:
        for statement in file:
            function = re.match(r"CREATE OR REPLACE FUNCTION (\w+)\(\)", statement)
            if function:
                assert functions[function[1]] == statement.split("$$")[1], function[1]


@pytest.mark.committing
def test_every_migration_goes_down_and_up_again_with_its_triggers(tmp_path):
    """Upgrade an empty database to head, noting its triggers after each revision;
    downgrade it to the base, where each revision must have again the triggers it had on
    the way up; then upgrade to head again, where autogenerate finds nothing left."""
    notes: dict[str, dict[str, dict[str, str]]] = {"up": {}, "down": {}}

    def note(ctx, step, heads, run_args) -> None:
        # Alembic calls it after each step, on the migration's own connection.
        notes["up" if step.is_upgrade else "down"][next(iter(heads), "base")] = {
            name: _layout_aside(sql) for name, sql in _triggers(ctx.connection).items()
        }

    with live_config(tmp_path) as config:
        app = create_app({**TEST_CONFIG, **config})
        migrate = app.extensions["migrate"]
        migrate.configure_args = {**migrate.configure_args, "on_version_apply": note}
        try:
            with app.app_context():
                upgrade(directory=MIGRATIONS)
                up, notes["up"] = notes["up"], {}
                head = list(up)[-1]
                downgrade(directory=MIGRATIONS, revision="base")
                assert list(notes["down"]) == list(reversed(up))[1:] + ["base"]
                for revision, triggers in notes["down"].items():
                    assert triggers == up.get(revision, {}), f"down to {revision}"
                upgrade(directory=MIGRATIONS)
                assert notes["up"][head] == up[head]
                check(directory=MIGRATIONS)
        finally:
            with app.app_context():
                db.engine.dispose()


def test_an_index_on_a_big_table_is_built_concurrently_on_postgresql(tmp_path):
    """migrations/helpers.py's create_index: CONCURRENTLY (outside the transaction) on a
    big table on PostgreSQL, a plain CREATE INDEX on another table and on SQLite."""
    with live_config(tmp_path) as config:
        url = sa.make_url(config["MIGRATIONS_DATABASE_URL"] or config["SQLALCHEMY_DATABASE_URI"])
        if url.get_backend_name() == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        sent: list[str] = []
        sa.event.listen(
            engine,
            "before_cursor_execute",
            lambda _conn, _cursor, statement, *_: sent.append(statement),
        )
        try:
            with engine.begin() as connection:
                for table in ("person", "worklist"):
                    connection.exec_driver_sql(
                        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, phone VARCHAR(20))"
                    )
            with engine.connect() as connection:
                context = MigrationContext.configure(connection)
                with Operations.context(context), context.begin_transaction():
                    helpers.create_index("ix_person_phone", "person", ["phone"])
                    helpers.create_index("ix_worklist_phone", "worklist", ["phone"])
            with engine.connect() as connection:
                inspector = sa.inspect(connection)
                assert [i["name"] for i in inspector.get_indexes("person")] == ["ix_person_phone"]
                assert [i["name"] for i in inspector.get_indexes("worklist")] == [
                    "ix_worklist_phone"
                ]
            concurrent = [" ".join(s.split()) for s in sent if "CONCURRENTLY" in s]
            if url.get_backend_name() == "postgresql":
                assert concurrent == [
                    "DROP INDEX CONCURRENTLY IF EXISTS ix_person_phone",
                    "CREATE INDEX CONCURRENTLY ix_person_phone ON person (phone)",
                ]
            else:
                assert concurrent == []
            with engine.connect() as connection:
                context = MigrationContext.configure(connection)
                with Operations.context(context), context.begin_transaction():
                    helpers.drop_index("ix_person_phone", "person")
                    helpers.drop_index("ix_worklist_phone", "worklist")
            with engine.connect() as connection:
                assert sa.inspect(connection).get_indexes("person") == []
        finally:
            engine.dispose()


@pytest.mark.committing
def test_migration_0030_puts_back_a_lost_trigger_and_counts_again(tmp_path):
    with live_config(tmp_path) as config:
        app = create_app({**TEST_CONFIG, **config})
        try:
            with app.app_context(), owner_engine() as engine:
                upgrade(directory=MIGRATIONS, revision="0029")
                dialect = engine.dialect.name
                lost = "tally_person_ai" if dialect == "sqlite" else "tally_person_insert"
                with engine.begin() as connection:
                    connection.exec_driver_sql(
                        f"DROP TRIGGER {lost}" + ("" if dialect == "sqlite" else " ON person")
                    )
                    # What a counter without its trigger drifts to (there are no persons).
                    connection.exec_driver_sql(
                        "INSERT INTO person_tally (commune_id, status, n) "
                        "VALUES (1, 'unverified', 3)"
                    )
                upgrade(directory=MIGRATIONS, revision="0030")
                with engine.connect() as connection:
                    assert lost in _triggers(connection)
                    assert (
                        connection.exec_driver_sql("SELECT count(*) FROM person_tally").scalar()
                        == 0
                    )
        finally:
            with app.app_context():
                db.engine.dispose()


def test_migrations_from_0030_index_big_tables_through_the_helper():
    """The rule of the README's "Writing a migration": from 0030 on, an index on a big table
    is made by migrations/helpers.py (CONCURRENTLY on PostgreSQL), never by op directly."""
    tables = "|".join(sorted(helpers.BIG_TABLES))
    direct = re.compile(
        r"(op|batch_op)\.(create|drop)_index\(\s*[^,()]+(\([^()]*\))?,\s*"
        rf"(table_name=)?['\"]({tables})['\"]"
    )
    batched = re.compile(rf"batch_alter_table\(\s*['\"]({tables})['\"]")
    for path in sorted((PROJECT / "migrations" / "versions").glob("0*.py")):
        if int(path.name[:4]) < 30:
            continue
        text = path.read_text(encoding="utf-8")
        assert not direct.search(text), path.name
        assert not (batched.search(text) and "batch_op.create_index" in text), path.name


def test_migration_0031_names_the_letter_in_the_routing_notes_0007_wrote(tmp_path):
    """Issue 16: the national routing rules' notes cited a seed file ("Seed 000: …"); they
    name letter 9458/BYT-CNTT after 0031, on a database 0007 filled before it did. A note an
    administrator changed is left alone; the downgrade puts the old notes back."""
    rule = sa.table(
        "feedback_routing_rule",
        sa.column("precision"),
        sa.column("province_id"),
        sa.column("note"),
    )
    old = {
        "site": "Seed 000: site and dose details",
        "commune": "Seed 000: the province handles or delegates",
        "district": "Seed 000: district health centre, else the province",
        "province": "Seed 000: provincial health authority",
        "none": "Seed 000: common pool, triaged daily",
    }

    def notes(connection: sa.Connection) -> dict[str, str]:
        return dict(connection.execute(sa.select(rule.c.precision, rule.c.note)).all())

    with live_config(tmp_path) as config:
        app = create_app({**TEST_CONFIG, **config})
        try:
            with app.app_context(), owner_engine() as engine:
                upgrade(directory=MIGRATIONS, revision="0030")
                with engine.begin() as connection:
                    new = notes(connection)  # what 0007 writes now, on a new database
                    for precision, note in old.items():  # what it wrote before
                        connection.execute(
                            rule.update().where(rule.c.precision == precision).values(note=note)
                        )
                    connection.execute(
                        rule.update()
                        .where(rule.c.precision == "none")
                        .values(note="Sở Y tế phân loại lúc 8 giờ")
                    )
                upgrade(directory=MIGRATIONS, revision="0031")
                with engine.connect() as connection:
                    after = notes(connection)
                assert after == {**new, "none": "Sở Y tế phân loại lúc 8 giờ"}
                assert all(
                    n.startswith("Công văn 9458/BYT-CNTT: ")
                    for p, n in after.items()
                    if p != "none"
                )
                assert not any("seed" in n.lower() for n in after.values())
                downgrade(directory=MIGRATIONS, revision="0030")
                with engine.connect() as connection:
                    assert notes(connection) == {**old, "none": "Sở Y tế phân loại lúc 8 giờ"}
        finally:
            with app.app_context():
                db.engine.dispose()

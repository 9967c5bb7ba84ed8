"""dashboard: counters kept by triggers, daily snapshots, deadlines

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 07:30:00

person_tally (commune, status) and dose_tally (person's commune, site, vaccine) are kept
in the same transaction as every change by triggers. PostgreSQL: statement-level triggers
with transition tables, one set-based aggregate per statement (a matching run that
changes a million statuses adds one GROUP BY, not a million counter updates); the delta
rows are applied in key order so that two writers lock counter rows in the same order.
SQLite: row triggers. SQLite drops a table's triggers with the table, and Alembic's batch
mode rebuilds a table to alter it: a later migration that alters person or dose on SQLite
must do it in place (ALTER TABLE … ADD COLUMN) or create these triggers again.
"""
from alembic import op

import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


PG_FUNCTIONS = {
    # Each function is bound to one event, so it names only the transition tables its
    # event has.
    "tally_person_insert": """
        INSERT INTO person_tally AS t (commune_id, status, n)
        SELECT commune_id, status, count(*) FROM new_rows
        GROUP BY commune_id, status ORDER BY commune_id, status
        ON CONFLICT (commune_id, status) DO UPDATE SET n = t.n + EXCLUDED.n;
        INSERT INTO dose_tally AS t (commune_id, site_id, vaccine, n)
        SELECT n.commune_id, coalesce(d.site_id, 0), d.vaccine, count(*)
        FROM new_rows n JOIN dose d ON d.person_id = n.id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = t.n + EXCLUDED.n;
    """,
    "tally_person_update": """
        INSERT INTO person_tally AS t (commune_id, status, n)
        SELECT commune_id, status, sum(d) FROM (
            SELECT commune_id, status, 1 AS d FROM new_rows
            UNION ALL SELECT commune_id, status, -1 FROM old_rows
        ) x GROUP BY commune_id, status HAVING sum(d) <> 0 ORDER BY commune_id, status
        ON CONFLICT (commune_id, status) DO UPDATE SET n = t.n + EXCLUDED.n;
        -- A person who moves takes their doses' counts along.
        INSERT INTO dose_tally AS t (commune_id, site_id, vaccine, n)
        SELECT c, s, v, sum(k) FROM (
            SELECT m.new_commune AS c, coalesce(d.site_id, 0) AS s, d.vaccine AS v, 1 AS k
            FROM (SELECT n.id, n.commune_id AS new_commune, o.commune_id AS old_commune
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                  WHERE o.commune_id <> n.commune_id) m JOIN dose d ON d.person_id = m.id
            UNION ALL
            SELECT m.old_commune, coalesce(d.site_id, 0), d.vaccine, -1
            FROM (SELECT n.id, n.commune_id AS new_commune, o.commune_id AS old_commune
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                  WHERE o.commune_id <> n.commune_id) m JOIN dose d ON d.person_id = m.id
        ) x GROUP BY c, s, v HAVING sum(k) <> 0 ORDER BY c, s, v
        ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = t.n + EXCLUDED.n;
    """,
    "tally_person_delete": """
        INSERT INTO person_tally AS t (commune_id, status, n)
        SELECT commune_id, status, -count(*) FROM old_rows
        GROUP BY commune_id, status ORDER BY commune_id, status
        ON CONFLICT (commune_id, status) DO UPDATE SET n = t.n + EXCLUDED.n;
    """,
    "tally_dose_insert": """
        INSERT INTO dose_tally AS t (commune_id, site_id, vaccine, n)
        SELECT p.commune_id, coalesce(d.site_id, 0), d.vaccine, count(*)
        FROM new_rows d JOIN person p ON p.id = d.person_id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = t.n + EXCLUDED.n;
    """,
    "tally_dose_update": """
        INSERT INTO dose_tally AS t (commune_id, site_id, vaccine, n)
        SELECT c, s, v, sum(k) FROM (
            SELECT p.commune_id AS c, coalesce(d.site_id, 0) AS s, d.vaccine AS v, 1 AS k
            FROM new_rows d JOIN person p ON p.id = d.person_id
            UNION ALL
            SELECT p.commune_id, coalesce(d.site_id, 0), d.vaccine, -1
            FROM old_rows d JOIN person p ON p.id = d.person_id
        ) x GROUP BY c, s, v HAVING sum(k) <> 0 ORDER BY c, s, v
        ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = t.n + EXCLUDED.n;
    """,
    # Doses deleted with their person (ON DELETE CASCADE) no longer find the person; the
    # portal deletes neither, and `flask dashboard recount` rebuilds the counters.
    "tally_dose_delete": """
        INSERT INTO dose_tally AS t (commune_id, site_id, vaccine, n)
        SELECT p.commune_id, coalesce(d.site_id, 0), d.vaccine, -count(*)
        FROM old_rows d JOIN person p ON p.id = d.person_id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = t.n + EXCLUDED.n;
    """,
}

PG_TRIGGERS = [
    ("person", "INSERT", "REFERENCING NEW TABLE AS new_rows", "tally_person_insert"),
    ("person", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
     "tally_person_update"),
    ("person", "DELETE", "REFERENCING OLD TABLE AS old_rows", "tally_person_delete"),
    ("dose", "INSERT", "REFERENCING NEW TABLE AS new_rows", "tally_dose_insert"),
    ("dose", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
     "tally_dose_update"),
    ("dose", "DELETE", "REFERENCING OLD TABLE AS old_rows", "tally_dose_delete"),
]

_PERSON_UP = """INSERT INTO person_tally (commune_id, status, n) VALUES ({c}, {s}, {k})
    ON CONFLICT (commune_id, status) DO UPDATE SET n = n + {k};"""
_DOSE_UP = """INSERT INTO dose_tally (commune_id, site_id, vaccine, n)
    SELECT p.commune_id, coalesce({d}.site_id, 0), {d}.vaccine, {k} FROM person p
    WHERE p.id = {d}.person_id
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = n + {k};"""
_MOVE_DOSES = """INSERT INTO dose_tally (commune_id, site_id, vaccine, n)
    SELECT {c}, coalesce(site_id, 0), vaccine, {sign}count(*) FROM dose
    WHERE person_id = NEW.id GROUP BY coalesce(site_id, 0), vaccine
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = n + excluded.n;"""

SQLITE_TRIGGERS = {
    "tally_person_ai": "AFTER INSERT ON person BEGIN "
    + _PERSON_UP.format(c="NEW.commune_id", s="NEW.status", k=1) + " END",
    "tally_person_au": "AFTER UPDATE OF status, commune_id ON person "
    "WHEN OLD.status IS NOT NEW.status OR OLD.commune_id IS NOT NEW.commune_id BEGIN "
    + _PERSON_UP.format(c="OLD.commune_id", s="OLD.status", k=-1)
    + _PERSON_UP.format(c="NEW.commune_id", s="NEW.status", k=1) + " END",
    "tally_person_moved": "AFTER UPDATE OF commune_id ON person "
    "WHEN OLD.commune_id IS NOT NEW.commune_id BEGIN "
    + _MOVE_DOSES.format(c="OLD.commune_id", sign="-")
    + _MOVE_DOSES.format(c="NEW.commune_id", sign="") + " END",
    "tally_person_ad": "AFTER DELETE ON person BEGIN "
    + _PERSON_UP.format(c="OLD.commune_id", s="OLD.status", k=-1) + " END",
    "tally_dose_ai": "AFTER INSERT ON dose BEGIN " + _DOSE_UP.format(d="NEW", k=1) + " END",
    "tally_dose_au": "AFTER UPDATE OF site_id, vaccine, person_id ON dose BEGIN "
    + _DOSE_UP.format(d="OLD", k=-1) + _DOSE_UP.format(d="NEW", k=1) + " END",
    "tally_dose_ad": "AFTER DELETE ON dose BEGIN " + _DOSE_UP.format(d="OLD", k=-1) + " END",
}


def upgrade():
    op.create_table('person_tally',
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('commune_id', 'status', name=op.f('pk_person_tally'))
    )
    op.create_table('dose_tally',
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('vaccine', sa.String(length=80), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('commune_id', 'site_id', 'vaccine', name=op.f('pk_dose_tally'))
    )
    op.create_table('daily_tally',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'commune_id', 'status', name=op.f('pk_daily_tally'))
    )
    op.create_table('target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.Enum('cleaned', 'confirmed', name='target_metric', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_target_area_id_area')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_target_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target'))
    )
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_target_area_id'), ['area_id'], unique=False)

    # Counters of the rows already there, then the triggers that keep them.
    op.execute("INSERT INTO person_tally (commune_id, status, n) "
               "SELECT commune_id, status, count(*) FROM person GROUP BY commune_id, status")
    op.execute("INSERT INTO dose_tally (commune_id, site_id, vaccine, n) "
               "SELECT p.commune_id, coalesce(d.site_id, 0), d.vaccine, count(*) "
               "FROM dose d JOIN person p ON p.id = d.person_id GROUP BY 1, 2, 3")
    if op.get_bind().dialect.name == "postgresql":
        for name, body in PG_FUNCTIONS.items():
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                       f"BEGIN {body} RETURN NULL; END $$")
        for table, event, referencing, function in PG_TRIGGERS:
            op.execute(f"CREATE TRIGGER {function} AFTER {event} ON {table} {referencing} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, _event, _referencing, function in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {function} ON {table}")
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table('target', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_target_area_id'))
    op.drop_table('target')
    op.drop_table('daily_tally')
    op.drop_table('dose_tally')
    op.drop_table('person_tally')

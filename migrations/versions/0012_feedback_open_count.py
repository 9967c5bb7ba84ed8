"""feedback open count: unanswered complaints per unit, kept by triggers, for the queue's total

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# PostgreSQL: one trigger per statement, over its transition tables (a bulk insert adds its
# counts at once); the counter rows are taken in unit_key order, so two transactions that
# move complaints between the same units cannot deadlock.
PG_FUNCTIONS = {
    "feedback_open_insert": """
        INSERT INTO feedback_open_count AS t (unit_key, n)
        SELECT unit_key, count(*) FROM new_rows WHERE answered_at IS NULL
        GROUP BY unit_key ORDER BY unit_key
        ON CONFLICT (unit_key) DO UPDATE SET n = t.n + EXCLUDED.n;
    """,
    # Every update fires it (a trigger with transition tables takes no column list); one
    # that neither answers nor moves a complaint sums to nothing and touches no counter.
    "feedback_open_update": """
        INSERT INTO feedback_open_count AS t (unit_key, n)
        SELECT unit_key, sum(k) FROM (
            SELECT unit_key, 1 AS k FROM new_rows WHERE answered_at IS NULL
            UNION ALL
            SELECT unit_key, -1 FROM old_rows WHERE answered_at IS NULL
        ) x GROUP BY unit_key HAVING sum(k) <> 0 ORDER BY unit_key
        ON CONFLICT (unit_key) DO UPDATE SET n = t.n + EXCLUDED.n;
    """,
    "feedback_open_delete": """
        INSERT INTO feedback_open_count AS t (unit_key, n)
        SELECT unit_key, -count(*) FROM old_rows WHERE answered_at IS NULL
        GROUP BY unit_key ORDER BY unit_key
        ON CONFLICT (unit_key) DO UPDATE SET n = t.n + EXCLUDED.n;
    """,
}

PG_TRIGGERS = [
    ("INSERT", "REFERENCING NEW TABLE AS new_rows", "feedback_open_insert"),
    ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
     "feedback_open_update"),
    ("DELETE", "REFERENCING OLD TABLE AS old_rows", "feedback_open_delete"),
]

_UP = """INSERT INTO feedback_open_count (unit_key, n) SELECT {row}.unit_key, {k}
    WHERE {row}.answered_at IS NULL
    ON CONFLICT (unit_key) DO UPDATE SET n = n + excluded.n;"""

SQLITE_TRIGGERS = {
    "feedback_open_ai": "AFTER INSERT ON feedback BEGIN " + _UP.format(row="NEW", k=1) + " END",
    "feedback_open_au": "AFTER UPDATE OF unit_key, answered_at ON feedback "
    "WHEN OLD.unit_key IS NOT NEW.unit_key "
    "OR (OLD.answered_at IS NULL) <> (NEW.answered_at IS NULL) BEGIN "
    + _UP.format(row="OLD", k=-1) + _UP.format(row="NEW", k=1) + " END",
    "feedback_open_ad": "AFTER DELETE ON feedback BEGIN " + _UP.format(row="OLD", k=-1)
    + " END",
}


def upgrade():
    op.create_table('feedback_open_count',
    sa.Column('unit_key', sa.String(length=40), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('unit_key', name=op.f('pk_feedback_open_count'))
    )
    # The counts of the complaints already there, then the triggers that keep them.
    op.execute("INSERT INTO feedback_open_count (unit_key, n) SELECT unit_key, count(*) "
               "FROM feedback WHERE answered_at IS NULL GROUP BY unit_key")
    if op.get_bind().dialect.name == "postgresql":
        for name, body in PG_FUNCTIONS.items():
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                       f"BEGIN {body} RETURN NULL; END $$")
        for event, referencing, function in PG_TRIGGERS:
            op.execute(f"CREATE TRIGGER {function} AFTER {event} ON feedback {referencing} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for _event, _referencing, function in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {function} ON feedback")
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('feedback_open_count')

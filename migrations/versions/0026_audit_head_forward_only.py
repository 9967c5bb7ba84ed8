"""the audit chain's head only moves forward, to an event appended after it

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 12:00:00

``audit_head`` gets the protection ``audit_event`` has had since 0001 (issue 14, item 4):
no DELETE or TRUNCATE, and an UPDATE either leaves the row as it is (an appender taking
the row's lock) or moves it forward to an existing event with that hash whose chain
continues from the old head. Setting the head back, after removing events from the end,
is refused. The application's database role is not the tables' owner
(``flask db grant-app-role``), so it cannot disable these triggers.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

# The same rule on both databases: the event the head moves to exists with that hash, and
# the event after the old head links to it.
FORWARD = ("NEW.seq > OLD.seq "
           "AND EXISTS (SELECT 1 FROM audit_event WHERE seq = NEW.seq AND hash = NEW.hash) "
           "AND EXISTS (SELECT 1 FROM audit_event WHERE seq = OLD.seq + 1 "
           "AND prev_hash = OLD.hash)")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_head_guard() RETURNS trigger AS $$
            BEGIN
                IF TG_OP <> 'UPDATE' THEN
                    RAISE EXCEPTION 'audit_head only moves forward (% refused)', TG_OP;
                END IF;
                IF NEW.id = OLD.id AND NEW.seq = OLD.seq AND NEW.hash = OLD.hash THEN
                    RETURN NEW;
                END IF;
                IF NEW.id = OLD.id AND {FORWARD} THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION 'audit_head only moves forward (% -> % refused)',
                    OLD.seq, NEW.seq;
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute("CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head "
                   "FOR EACH ROW EXECUTE FUNCTION audit_head_guard()")
        op.execute("CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_head_guard()")
    else:
        op.execute(
            "CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head "
            "WHEN NOT (NEW.id = OLD.id AND NEW.seq = OLD.seq AND NEW.hash = OLD.hash) "
            f"AND NOT (NEW.id = OLD.id AND {FORWARD}) "
            "BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward (UPDATE refused)'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
            "BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward (DELETE refused)'); END"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_head")
        op.execute("DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head")
        op.execute("DROP FUNCTION IF EXISTS audit_head_guard()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_head_forward_only")
        op.execute("DROP TRIGGER IF EXISTS audit_head_no_delete")

"""tally moves by row: on PostgreSQL a person's move carries their doses' counts through a row trigger

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:00:00

The statement-level update trigger of 0004 also looked for moved persons by joining the
statement's old and new rows on id — for every UPDATE of person, a hash join of two
transition tables as large as the statement. A matching run's status update of 1,000,000
persons spent 8.6 of its 14.3 s there, though matching never moves anybody. Moves are rare
and one at a time (a correction), so they now go through a row trigger that fires only
when commune_id is in the UPDATE's SET list and actually changes (as SQLite's
tally_person_moved has done since 0004); the statement trigger keeps the status counts.
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

STATUS_COUNTS = """
    INSERT INTO person_tally AS t (commune_id, status, n)
    SELECT commune_id, status, sum(d) FROM (
        SELECT commune_id, status, 1 AS d FROM new_rows
        UNION ALL SELECT commune_id, status, -1 FROM old_rows
    ) x GROUP BY commune_id, status HAVING sum(d) <> 0 ORDER BY commune_id, status
    ON CONFLICT (commune_id, status) DO UPDATE SET n = t.n + EXCLUDED.n;
"""

# 0004's body, for the downgrade.
MOVES_BY_STATEMENT = """
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
"""

MOVE_ROW = """
    INSERT INTO dose_tally AS t (commune_id, site_id, vaccine, n)
    SELECT c, s, v, sum(k) FROM (
        SELECT NEW.commune_id AS c, coalesce(site_id, 0) AS s, vaccine AS v, 1 AS k
        FROM dose WHERE person_id = NEW.id
        UNION ALL
        SELECT OLD.commune_id, coalesce(site_id, 0), vaccine, -1
        FROM dose WHERE person_id = NEW.id
    ) x GROUP BY c, s, v ORDER BY c, s, v
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = t.n + EXCLUDED.n;
"""


def _function(name: str, body: str) -> str:
    return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_function("tally_person_update", STATUS_COUNTS))
    op.execute(_function("tally_person_moved", MOVE_ROW))
    op.execute("CREATE TRIGGER tally_person_moved AFTER UPDATE OF commune_id ON person "
               "FOR EACH ROW WHEN (OLD.commune_id IS DISTINCT FROM NEW.commune_id) "
               "EXECUTE FUNCTION tally_person_moved()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS tally_person_moved ON person")
    op.execute("DROP FUNCTION IF EXISTS tally_person_moved()")
    op.execute(_function("tally_person_update", STATUS_COUNTS + MOVES_BY_STATEMENT))

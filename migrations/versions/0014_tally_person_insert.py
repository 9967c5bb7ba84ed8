"""tally person insert: the person counter only (PostgreSQL)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:30:00

0004's statement trigger on person inserts also joined the new persons with the whole dose
table. New persons have no doses, except when one statement inserts both (a data-modifying
CTE), and then the dose's own trigger counts them too: the join was a double count at
worst and, on a large database, a scan of dose per insert statement at best (0.6 s for a
50,000-person insert beside 2,000,000 doses). SQLite's row trigger never did it.
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

PERSONS = """
        INSERT INTO person_tally AS t (commune_id, status, n)
        SELECT commune_id, status, count(*) FROM new_rows
        GROUP BY commune_id, status ORDER BY commune_id, status
        ON CONFLICT (commune_id, status) DO UPDATE SET n = t.n + EXCLUDED.n;
"""
# 0004's second statement, put back by the downgrade (migrations are frozen snapshots).
DOSES = """
        INSERT INTO dose_tally AS t (commune_id, site_id, vaccine, n)
        SELECT n.commune_id, coalesce(d.site_id, 0), d.vaccine, count(*)
        FROM new_rows n JOIN dose d ON d.person_id = n.id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = t.n + EXCLUDED.n;
"""


def _replace(body: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION tally_person_insert() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$")


def upgrade():
    _replace(PERSONS)


def downgrade():
    _replace(PERSONS + DOSES)

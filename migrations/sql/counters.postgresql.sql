-- The counters kept by triggers, on PostgreSQL: the whole current definition, in one place.
--
-- Loaded by migration 0030 (counter_triggers) through migrations/helpers.py
-- (run_sql_file), which runs every statement below in the migration's transaction.
-- Migrations 0004, 0011, 0012 and 0014 created these functions and triggers before, each
-- with its own copy; they are history and stay as they were. Functions are replaced and
-- each trigger is dropped and created again, so loading this file makes the triggers
-- exactly what it says, whatever was there.
--
-- To change a counter: edit this file and its SQLite twin (counters.sqlite.sql), and add
-- a migration that loads them again. tests/core/test_migrations.py checks that the
-- database at head has exactly the triggers these files define.
-- Every migration that loads the file runs it on its own schema, 0030's included: when a
-- change needs a column that 0030's schema lacks, copy the file as it was to
-- counters-0030.postgresql.sql first and point 0030 at the copy (history stays as it ran).
--
-- Statement-level triggers with transition tables: one set-based aggregate per statement
-- (a matching run that changes a million statuses adds one GROUP BY, not a million
-- counter updates). The delta rows are applied in key order, so two writers lock counter
-- rows in the same order. A person's move is rare and one at a time (a correction): it
-- goes through a row trigger that fires only when commune_id changes.
--
-- person_tally: persons by (commune, status); dose_tally: doses by (person's commune,
-- site or 0, vaccine); feedback_open_count: unanswered complaints by unit.

-- person_tally ------------------------------------------------------------------------

-- Persons only: a new person has no doses, and a dose inserted in the same statement is
-- counted by the dose's own trigger.
CREATE OR REPLACE FUNCTION tally_person_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO person_tally AS t (commune_id, status, n)
    SELECT commune_id, status, count(*) FROM new_rows
    GROUP BY commune_id, status ORDER BY commune_id, status
    ON CONFLICT (commune_id, status) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tally_person_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO person_tally AS t (commune_id, status, n)
    SELECT commune_id, status, sum(d) FROM (
        SELECT commune_id, status, 1 AS d FROM new_rows
        UNION ALL SELECT commune_id, status, -1 FROM old_rows
    ) x GROUP BY commune_id, status HAVING sum(d) <> 0 ORDER BY commune_id, status
    ON CONFLICT (commune_id, status) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tally_person_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO person_tally AS t (commune_id, status, n)
    SELECT commune_id, status, -count(*) FROM old_rows
    GROUP BY commune_id, status ORDER BY commune_id, status
    ON CONFLICT (commune_id, status) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS tally_person_insert ON person;
CREATE TRIGGER tally_person_insert AFTER INSERT ON person
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_person_insert();

DROP TRIGGER IF EXISTS tally_person_update ON person;
CREATE TRIGGER tally_person_update AFTER UPDATE ON person
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_person_update();

DROP TRIGGER IF EXISTS tally_person_delete ON person;
CREATE TRIGGER tally_person_delete AFTER DELETE ON person
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_person_delete();

-- dose_tally --------------------------------------------------------------------------

-- A person who moves takes their doses' counts along.
CREATE OR REPLACE FUNCTION tally_person_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dose_tally AS t (commune_id, site_id, vaccine, n)
    SELECT c, s, v, sum(k) FROM (
        SELECT NEW.commune_id AS c, coalesce(site_id, 0) AS s, vaccine AS v, 1 AS k
        FROM dose WHERE person_id = NEW.id
        UNION ALL
        SELECT OLD.commune_id, coalesce(site_id, 0), vaccine, -1
        FROM dose WHERE person_id = NEW.id
    ) x GROUP BY c, s, v ORDER BY c, s, v
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tally_dose_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dose_tally AS t (commune_id, site_id, vaccine, n)
    SELECT p.commune_id, coalesce(d.site_id, 0), d.vaccine, count(*)
    FROM new_rows d JOIN person p ON p.id = d.person_id
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tally_dose_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dose_tally AS t (commune_id, site_id, vaccine, n)
    SELECT c, s, v, sum(k) FROM (
        SELECT p.commune_id AS c, coalesce(d.site_id, 0) AS s, d.vaccine AS v, 1 AS k
        FROM new_rows d JOIN person p ON p.id = d.person_id
        UNION ALL
        SELECT p.commune_id, coalesce(d.site_id, 0), d.vaccine, -1
        FROM old_rows d JOIN person p ON p.id = d.person_id
    ) x GROUP BY c, s, v HAVING sum(k) <> 0 ORDER BY c, s, v
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

-- Doses deleted with their person (ON DELETE CASCADE) no longer find the person; the
-- portal deletes neither, and `flask dashboard recount` rebuilds the counters.
CREATE OR REPLACE FUNCTION tally_dose_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dose_tally AS t (commune_id, site_id, vaccine, n)
    SELECT p.commune_id, coalesce(d.site_id, 0), d.vaccine, -count(*)
    FROM old_rows d JOIN person p ON p.id = d.person_id
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS tally_person_moved ON person;
CREATE TRIGGER tally_person_moved AFTER UPDATE OF commune_id ON person
    FOR EACH ROW WHEN (OLD.commune_id IS DISTINCT FROM NEW.commune_id)
    EXECUTE FUNCTION tally_person_moved();

DROP TRIGGER IF EXISTS tally_dose_insert ON dose;
CREATE TRIGGER tally_dose_insert AFTER INSERT ON dose
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_dose_insert();

DROP TRIGGER IF EXISTS tally_dose_update ON dose;
CREATE TRIGGER tally_dose_update AFTER UPDATE ON dose
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_dose_update();

DROP TRIGGER IF EXISTS tally_dose_delete ON dose;
CREATE TRIGGER tally_dose_delete AFTER DELETE ON dose
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_dose_delete();

-- feedback_open_count -----------------------------------------------------------------

CREATE OR REPLACE FUNCTION feedback_open_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feedback_open_count AS t (unit_key, n)
    SELECT unit_key, count(*) FROM new_rows WHERE answered_at IS NULL
    GROUP BY unit_key ORDER BY unit_key
    ON CONFLICT (unit_key) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

-- Every update fires it (a trigger with transition tables takes no column list); one that
-- neither answers nor moves a complaint sums to nothing and touches no counter.
CREATE OR REPLACE FUNCTION feedback_open_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feedback_open_count AS t (unit_key, n)
    SELECT unit_key, sum(k) FROM (
        SELECT unit_key, 1 AS k FROM new_rows WHERE answered_at IS NULL
        UNION ALL
        SELECT unit_key, -1 FROM old_rows WHERE answered_at IS NULL
    ) x GROUP BY unit_key HAVING sum(k) <> 0 ORDER BY unit_key
    ON CONFLICT (unit_key) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION feedback_open_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feedback_open_count AS t (unit_key, n)
    SELECT unit_key, -count(*) FROM old_rows WHERE answered_at IS NULL
    GROUP BY unit_key ORDER BY unit_key
    ON CONFLICT (unit_key) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS feedback_open_insert ON feedback;
CREATE TRIGGER feedback_open_insert AFTER INSERT ON feedback
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_open_insert();

DROP TRIGGER IF EXISTS feedback_open_update ON feedback;
CREATE TRIGGER feedback_open_update AFTER UPDATE ON feedback
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_open_update();

DROP TRIGGER IF EXISTS feedback_open_delete ON feedback;
CREATE TRIGGER feedback_open_delete AFTER DELETE ON feedback
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_open_delete();

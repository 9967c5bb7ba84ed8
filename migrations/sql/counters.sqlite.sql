-- The counters kept by triggers, on SQLite: the whole current definition, in one place.
--
-- Loaded by migration 0030 (counter_triggers) through migrations/helpers.py
-- (run_sql_file), which runs every statement below in the migration's transaction.
-- Migrations 0004, 0010 and 0012 created these triggers before, each with its own copy;
-- they are history and stay as they were. Each trigger is dropped and created again, so
-- loading this file makes the triggers exactly what it says, whatever was there.
--
-- To change a counter: edit this file and its PostgreSQL twin (counters.postgresql.sql),
-- and add a migration that loads them again. tests/core/test_migrations.py checks that
-- the database at head has exactly the triggers these files define.
-- Every migration that loads the file runs it on its own schema, 0030's included: when a
-- change needs a column that 0030's schema lacks, copy the file as it was to
-- counters-0030.sqlite.sql first and point 0030 at the copy (history stays as it ran).
--
-- SQLite drops a table's triggers with the table, and a batch migration
-- (op.batch_alter_table) rebuilds the table to alter it: a migration that rebuilds
-- person, dose or feedback runs it inside migrations/helpers.py's triggers_kept(), or
-- loads this file afterwards.
--
-- Row triggers. person_tally: persons by (commune, status); dose_tally: doses by
-- (person's commune, site or 0, vaccine); feedback_open_count: unanswered complaints by
-- unit. portal/records/tallies.py pauses tally_person_au for a commune (a row in
-- tally_pause) while matching updates its statuses, and drops tally_person_ai and
-- tally_dose_ai around an import's bulk insert; both count the difference themselves.

-- person_tally ------------------------------------------------------------------------

DROP TRIGGER IF EXISTS tally_person_ai;
CREATE TRIGGER tally_person_ai AFTER INSERT ON person BEGIN
    INSERT INTO person_tally (commune_id, status, n) VALUES (NEW.commune_id, NEW.status, 1)
    ON CONFLICT (commune_id, status) DO UPDATE SET n = n + 1;
END;

DROP TRIGGER IF EXISTS tally_person_au;
CREATE TRIGGER tally_person_au AFTER UPDATE OF status, commune_id ON person
WHEN (OLD.status IS NOT NEW.status OR OLD.commune_id IS NOT NEW.commune_id)
    AND NOT EXISTS (SELECT 1 FROM tally_pause
                    WHERE commune_id IN (OLD.commune_id, NEW.commune_id))
BEGIN
    INSERT INTO person_tally (commune_id, status, n) VALUES (OLD.commune_id, OLD.status, -1)
    ON CONFLICT (commune_id, status) DO UPDATE SET n = n + -1;
    INSERT INTO person_tally (commune_id, status, n) VALUES (NEW.commune_id, NEW.status, 1)
    ON CONFLICT (commune_id, status) DO UPDATE SET n = n + 1;
END;

DROP TRIGGER IF EXISTS tally_person_ad;
CREATE TRIGGER tally_person_ad AFTER DELETE ON person BEGIN
    INSERT INTO person_tally (commune_id, status, n) VALUES (OLD.commune_id, OLD.status, -1)
    ON CONFLICT (commune_id, status) DO UPDATE SET n = n + -1;
END;

-- dose_tally --------------------------------------------------------------------------

-- A person who moves takes their doses' counts along.
DROP TRIGGER IF EXISTS tally_person_moved;
CREATE TRIGGER tally_person_moved AFTER UPDATE OF commune_id ON person
WHEN OLD.commune_id IS NOT NEW.commune_id
BEGIN
    INSERT INTO dose_tally (commune_id, site_id, vaccine, n)
    SELECT OLD.commune_id, coalesce(site_id, 0), vaccine, -count(*) FROM dose
    WHERE person_id = NEW.id GROUP BY coalesce(site_id, 0), vaccine
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = n + excluded.n;
    INSERT INTO dose_tally (commune_id, site_id, vaccine, n)
    SELECT NEW.commune_id, coalesce(site_id, 0), vaccine, count(*) FROM dose
    WHERE person_id = NEW.id GROUP BY coalesce(site_id, 0), vaccine
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = n + excluded.n;
END;

DROP TRIGGER IF EXISTS tally_dose_ai;
CREATE TRIGGER tally_dose_ai AFTER INSERT ON dose BEGIN
    INSERT INTO dose_tally (commune_id, site_id, vaccine, n)
    SELECT p.commune_id, coalesce(NEW.site_id, 0), NEW.vaccine, 1 FROM person p
    WHERE p.id = NEW.person_id
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = n + 1;
END;

DROP TRIGGER IF EXISTS tally_dose_au;
CREATE TRIGGER tally_dose_au AFTER UPDATE OF site_id, vaccine, person_id ON dose BEGIN
    INSERT INTO dose_tally (commune_id, site_id, vaccine, n)
    SELECT p.commune_id, coalesce(OLD.site_id, 0), OLD.vaccine, -1 FROM person p
    WHERE p.id = OLD.person_id
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = n + -1;
    INSERT INTO dose_tally (commune_id, site_id, vaccine, n)
    SELECT p.commune_id, coalesce(NEW.site_id, 0), NEW.vaccine, 1 FROM person p
    WHERE p.id = NEW.person_id
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = n + 1;
END;

DROP TRIGGER IF EXISTS tally_dose_ad;
CREATE TRIGGER tally_dose_ad AFTER DELETE ON dose BEGIN
    INSERT INTO dose_tally (commune_id, site_id, vaccine, n)
    SELECT p.commune_id, coalesce(OLD.site_id, 0), OLD.vaccine, -1 FROM person p
    WHERE p.id = OLD.person_id
    ON CONFLICT (commune_id, site_id, vaccine) DO UPDATE SET n = n + -1;
END;

-- feedback_open_count -----------------------------------------------------------------

DROP TRIGGER IF EXISTS feedback_open_ai;
CREATE TRIGGER feedback_open_ai AFTER INSERT ON feedback BEGIN
    INSERT INTO feedback_open_count (unit_key, n) SELECT NEW.unit_key, 1
    WHERE NEW.answered_at IS NULL
    ON CONFLICT (unit_key) DO UPDATE SET n = n + excluded.n;
END;

DROP TRIGGER IF EXISTS feedback_open_au;
CREATE TRIGGER feedback_open_au AFTER UPDATE OF unit_key, answered_at ON feedback
WHEN OLD.unit_key IS NOT NEW.unit_key
    OR (OLD.answered_at IS NULL) <> (NEW.answered_at IS NULL)
BEGIN
    INSERT INTO feedback_open_count (unit_key, n) SELECT OLD.unit_key, -1
    WHERE OLD.answered_at IS NULL
    ON CONFLICT (unit_key) DO UPDATE SET n = n + excluded.n;
    INSERT INTO feedback_open_count (unit_key, n) SELECT NEW.unit_key, 1
    WHERE NEW.answered_at IS NULL
    ON CONFLICT (unit_key) DO UPDATE SET n = n + excluded.n;
END;

DROP TRIGGER IF EXISTS feedback_open_ad;
CREATE TRIGGER feedback_open_ad AFTER DELETE ON feedback BEGIN
    INSERT INTO feedback_open_count (unit_key, n) SELECT OLD.unit_key, -1
    WHERE OLD.answered_at IS NULL
    ON CONFLICT (unit_key) DO UPDATE SET n = n + excluded.n;
END;

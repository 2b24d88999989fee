-- The write path at the database's floor (issue 21; the measurements are in BENCHMARKS.md,
-- *The write path on PostgreSQL*). The same tables and meaning; what changes is how they are
-- stored:
--
-- * Phone numbers are 64-bit integers: the E.164 digits without the '+'. E.164 has at most 15
--   digits and a country code never starts with 0, so "+<digits>" and the integer are one to
--   one; the server converts at the boundary (`store/postgres.rs`, `phone_key`). Every row,
--   index entry and key comparison on a phone shrinks (13-byte text with its header → 8 bytes).
--   A phone that is not "+" and 1 to 15 digits cannot be stored: existing contacts and
--   memberships (written by the server, always E.164) convert or the migration fails; the
--   provider stand-ins' rows for such keys (`carrier_verdicts`, `validation_results`), which
--   no lookup of a checked phone can reach, are dropped.
-- * A journey enrollment is an event, appended each time a membership enrolls (SPEC §5: a new
--   membership, or an existing one sent with `skip_journey_if_exists` false): no surrogate id,
--   no sequence, no index. The server never reads enrollments back; a reader of a member's
--   enrollments adds the index it needs.
-- * The foreign keys of memberships and enrollments go. Each checked row cost a lookup, and
--   each contact a row lock (a WAL record): 2,500 checks, a third of the database's work per
--   batch. What they guarded holds by the write path: the server is the only writer of these
--   tables; it writes a membership only under its phone's lock, after the prefetch found the
--   contact or in the transaction that inserts it (server/README.md, *Concurrency*), and the
--   prefetch takes a key-share lock on each list of the batch (one per list, not one per
--   row), so a list cannot be deleted under a batch. Once written, a list with members or
--   enrollments cannot be deleted (`refuse_deleting_lists_in_use` below, run on a DELETE of
--   lists, which the server never does). The tests check that no membership lacks its
--   contact and no enrollment its membership.
CREATE FUNCTION pg_temp.phone_key(phone text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN phone ~ '^\+[1-9][0-9]{0,14}$' THEN substr(phone, 2)::bigint END
$$;

ALTER TABLE memberships DROP CONSTRAINT memberships_phone_fkey;
ALTER TABLE memberships DROP CONSTRAINT memberships_list_id_fkey;
ALTER TABLE journey_enrollments DROP CONSTRAINT journey_enrollments_phone_fkey;

ALTER TABLE contacts ALTER COLUMN phone TYPE bigint USING pg_temp.phone_key(phone);
ALTER TABLE memberships ALTER COLUMN phone TYPE bigint USING pg_temp.phone_key(phone);

DELETE FROM carrier_verdicts WHERE pg_temp.phone_key(phone) IS NULL;
ALTER TABLE carrier_verdicts ALTER COLUMN phone TYPE bigint USING pg_temp.phone_key(phone);
DELETE FROM validation_results WHERE pg_temp.phone_key(phone) IS NULL;
ALTER TABLE validation_results ALTER COLUMN phone TYPE bigint USING pg_temp.phone_key(phone);

CREATE TABLE journey_enrollments_appended (
    phone       bigint NOT NULL,
    list_id     bigint NOT NULL,
    journey     integer NOT NULL CHECK (journey >= 1),
    enrolled_at timestamptz NOT NULL
);
INSERT INTO journey_enrollments_appended (phone, list_id, journey, enrolled_at)
    SELECT pg_temp.phone_key(phone), list_id, journey, enrolled_at
    FROM journey_enrollments ORDER BY id;
DROP TABLE journey_enrollments;
ALTER TABLE journey_enrollments_appended RENAME TO journey_enrollments;

CREATE FUNCTION refuse_deleting_lists_in_use() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM memberships WHERE list_id = OLD.id)
       OR EXISTS (SELECT 1 FROM journey_enrollments WHERE list_id = OLD.id) THEN
        RAISE EXCEPTION 'sending list % has members or enrollments', OLD.list_number
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER refuse_deleting_lists_in_use BEFORE DELETE ON sending_lists
    FOR EACH ROW EXECUTE FUNCTION refuse_deleting_lists_in_use();

-- Memberships are updated in place when a list is imported again (custom fields merged):
-- pages kept 30 % free let an updated row stay on its page (a HOT update: no new index entry,
-- no lock record, a smaller WAL record). Applies to the pages written from now on; `VACUUM
-- FULL memberships` rewrites the existing ones.
ALTER TABLE memberships SET (fillfactor = 70);

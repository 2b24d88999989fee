-- The same logical schema as PostgreSQL's V4 (issue 21; see that file for why): journey
-- enrollments are events appended without a surrogate id or an index; memberships and
-- enrollments have no foreign keys, and a list with members or enrollments cannot be deleted
-- (a trigger). Phones stay TEXT here: the integer key is PostgreSQL's storage of the same E.164
-- number (SQLite compares short texts as cheaply). SQLite cannot drop a constraint in place:
-- each table is rebuilt, its rows copied in order.
CREATE TABLE memberships_v4 (
    list_id       INTEGER NOT NULL,
    phone         TEXT NOT NULL,
    custom_fields TEXT NOT NULL DEFAULT '{}',
    signup_date   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (phone, list_id)
);
INSERT INTO memberships_v4 (list_id, phone, custom_fields, signup_date, created_at, updated_at)
    SELECT list_id, phone, custom_fields, signup_date, created_at, updated_at
    FROM memberships ORDER BY rowid;
DROP TABLE memberships;
ALTER TABLE memberships_v4 RENAME TO memberships;

CREATE TABLE journey_enrollments_v4 (
    phone       TEXT NOT NULL,
    list_id     INTEGER NOT NULL,
    journey     INTEGER NOT NULL CHECK (journey >= 1),
    enrolled_at TEXT NOT NULL
);
INSERT INTO journey_enrollments_v4 (phone, list_id, journey, enrolled_at)
    SELECT phone, list_id, journey, enrolled_at FROM journey_enrollments ORDER BY id;
DROP TABLE journey_enrollments;
ALTER TABLE journey_enrollments_v4 RENAME TO journey_enrollments;

CREATE TRIGGER refuse_deleting_lists_in_use BEFORE DELETE ON sending_lists
WHEN EXISTS (SELECT 1 FROM memberships WHERE list_id = OLD.id)
     OR EXISTS (SELECT 1 FROM journey_enrollments WHERE list_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'the sending list has members or enrollments');
END;

-- The schema of the reference server on SQLite. Applied once by refinery (embedded in the
-- binary, recorded in refinery_schema_history); a later change is a new V<n>__<name>.sql file.
--
-- Contacts are global (one row per phone number), memberships are per sending list, lists
-- belong to an account. The two provider tables stand in for the carrier lookup and the paid
-- validation: a row decides, no row means `sendable` / disposition `ok`.
CREATE TABLE accounts (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    billing TEXT NOT NULL DEFAULT 'active' CHECK (billing IN
            ('active', 'no_billing_config', 'no_payment_method', 'payment_failed', 'suspended'))
);
CREATE TABLE api_keys (
    key        TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id)
);
CREATE INDEX api_keys_by_account ON api_keys (account_id);
CREATE TABLE sending_lists (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    list_number      TEXT NOT NULL,
    welcome_journeys INTEGER NOT NULL DEFAULT 0 CHECK (welcome_journeys >= 0),
    UNIQUE (account_id, list_number)
);
CREATE TABLE contacts (
    phone       TEXT PRIMARY KEY,
    signup_date TEXT NOT NULL,
    ip_address  TEXT,
    url         TEXT,
    extra       TEXT NOT NULL DEFAULT '{}',
    validation  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE memberships (
    list_id       INTEGER NOT NULL REFERENCES sending_lists (id),
    phone         TEXT NOT NULL REFERENCES contacts (phone),
    custom_fields TEXT NOT NULL DEFAULT '{}',
    signup_date   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    -- phone first: it is also the index of the foreign key to contacts.
    PRIMARY KEY (phone, list_id)
);
CREATE TABLE journey_enrollments (
    id          INTEGER PRIMARY KEY,
    list_id     INTEGER NOT NULL REFERENCES sending_lists (id),
    phone       TEXT NOT NULL REFERENCES contacts (phone),
    journey     INTEGER NOT NULL CHECK (journey >= 1),
    enrolled_at TEXT NOT NULL
);
CREATE INDEX journey_enrollments_by_member ON journey_enrollments (phone, list_id);
CREATE TABLE carrier_verdicts (
    phone   TEXT PRIMARY KEY,
    verdict TEXT NOT NULL CHECK (verdict IN ('sendable', 'not_sendable'))
);
CREATE TABLE validation_results (
    phone  TEXT PRIMARY KEY,
    result TEXT NOT NULL
);

-- The schema of the reference server on PostgreSQL: the same tables as on SQLite, with native
-- types (timestamptz, jsonb). Applied once by refinery (embedded in the binary, recorded in
-- refinery_schema_history, under an advisory lock so that instances starting together
-- migrate once); a later change is a new V<n>__<name>.sql file.
CREATE TABLE accounts (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    text NOT NULL UNIQUE,
    billing text NOT NULL DEFAULT 'active' CHECK (billing IN
            ('active', 'no_billing_config', 'no_payment_method', 'payment_failed', 'suspended'))
);
CREATE TABLE api_keys (
    key        text PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id)
);
CREATE INDEX api_keys_by_account ON api_keys (account_id);
CREATE TABLE sending_lists (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       bigint NOT NULL REFERENCES accounts (id),
    list_number      text NOT NULL,
    welcome_journeys integer NOT NULL DEFAULT 0 CHECK (welcome_journeys >= 0),
    UNIQUE (account_id, list_number)
);
CREATE TABLE contacts (
    phone       text PRIMARY KEY,
    signup_date timestamptz NOT NULL,
    ip_address  text,
    url         text,
    extra       jsonb NOT NULL DEFAULT '{}',
    validation  jsonb,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE TABLE memberships (
    list_id       bigint NOT NULL REFERENCES sending_lists (id),
    phone         text NOT NULL REFERENCES contacts (phone),
    custom_fields jsonb NOT NULL DEFAULT '{}',
    signup_date   timestamptz NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    -- phone first: it is also the index of the foreign key to contacts.
    PRIMARY KEY (phone, list_id)
);
CREATE TABLE journey_enrollments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    list_id     bigint NOT NULL REFERENCES sending_lists (id),
    phone       text NOT NULL REFERENCES contacts (phone),
    journey     integer NOT NULL CHECK (journey >= 1),
    enrolled_at timestamptz NOT NULL
);
CREATE INDEX journey_enrollments_by_member ON journey_enrollments (phone, list_id);
CREATE TABLE carrier_verdicts (
    phone   text PRIMARY KEY,
    verdict text NOT NULL CHECK (verdict IN ('sendable', 'not_sendable'))
);
CREATE TABLE validation_results (
    phone  text PRIMARY KEY,
    result text NOT NULL
);

-- RFC 7396 JSON merge patch, as SQLite's json_patch: how a contact's other members sent
-- again are merged into the stored ones (objects merged recursively, null removes a member).
-- When no member of the patch is an object or null, it is jsonb's `||` (the common case).
CREATE FUNCTION json_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    merged jsonb;
    member record;
BEGIN
    IF jsonb_typeof(patch) IS DISTINCT FROM 'object' THEN
        RETURN patch;
    END IF;
    IF jsonb_typeof(target) IS DISTINCT FROM 'object' THEN
        merged := '{}';
    ELSE
        merged := target;
    END IF;
    FOR member IN SELECT key, value FROM jsonb_each(patch) LOOP
        IF jsonb_typeof(member.value) = 'null' THEN
            merged := merged - member.key;
        ELSE
            merged := jsonb_set(merged, ARRAY[member.key],
                                json_merge_patch(merged -> member.key, member.value));
        END IF;
    END LOOP;
    RETURN merged;
END
$$;

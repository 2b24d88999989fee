-- Idempotency-Key (SPEC §10.1): the answer of a processed request, written in the batch's
-- own transaction, per account. `created_at`: Unix seconds; the server deletes rows older
-- than 24 hours, a few hundred at a time (see the README, *Idempotency-Key*).
CREATE TABLE idempotency_keys (
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    key            TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status         INTEGER NOT NULL,
    body           BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- API keys are stored as the SHA-256 of the key (lower-case hex), never the key: a copy of
-- the database holds no usable key. Existing keys are hashed in place; `sha256_hex` is the
-- function the server registers on its connection before migrating.
CREATE TABLE api_keys_hashed (
    key_sha256 TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id)
);
INSERT INTO api_keys_hashed (key_sha256, account_id)
    SELECT sha256_hex(key), account_id FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_hashed RENAME TO api_keys;
CREATE INDEX api_keys_by_account ON api_keys (account_id);

-- API keys are stored as the SHA-256 of the key (lower-case hex), never the key: a copy of
-- the database holds no usable key. Existing keys are hashed into a new table and the old
-- one dropped (its files are removed; an UPDATE in place would leave the old row versions
-- on disk until a vacuum).
CREATE TABLE api_keys_hashed (
    key_sha256 text PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id)
);
INSERT INTO api_keys_hashed (key_sha256, account_id)
    SELECT encode(sha256(convert_to(key, 'UTF8')), 'hex'), account_id FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_hashed RENAME TO api_keys;
CREATE INDEX api_keys_by_account ON api_keys (account_id);

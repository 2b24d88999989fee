//! API keys at rest: stored as their SHA-256 only, looked up by hash; a store created by the
//! previous schema (keys in plaintext) is migrated in place by V2; the SQLite file is
//! private to its owner.

mod common;

use bulk_contacts::testing::World;
use bulk_contacts_server::demo;
use bulk_contacts_server::store::key_hash;
use bulk_contacts_server::{PgStore, SqliteStore, Store};
use common::{Backend, Db, KEY};

mod sqlite_migrations {
    refinery::embed_migrations!("migrations/sqlite");
}

mod postgres_migrations {
    refinery::embed_migrations!("migrations/postgres");
}

/// Every text of every row of `api_keys`.
async fn key_rows(db: &Db) -> Vec<String> {
    db.rows_of("SELECT * FROM api_keys", &[])
        .await
        .into_iter()
        .flatten()
        .flatten()
        .collect()
}

async fn no_plaintext_key_is_stored_only_its_sha256(backend: Backend) {
    let db = Db::new(backend, &World::builtin()).await;
    let rows = key_rows(&db).await;
    assert!(rows.iter().all(|text| !text.contains(KEY)), "{rows:?}");
    assert!(rows.contains(&key_hash(KEY)), "{rows:?}");
    let account = match &db {
        Db::Sqlite(store) => store.find_account(KEY).await,
        Db::Postgres(store) => store.find_account(KEY).await,
    }
    .expect("lookup");
    assert!(account.is_some(), "the key is found by its hash");
    let other = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p7";
    let unknown = match &db {
        Db::Sqlite(store) => store.find_account(other).await,
        Db::Postgres(store) => store.find_account(other).await,
    }
    .expect("lookup");
    assert_eq!(unknown, None);
}

on_both_stores!(no_plaintext_key_is_stored_only_its_sha256);

#[test]
fn sha256_is_the_lower_case_hex_digest() {
    // The SHA-256 of "abc" (FIPS 180-2, appendix B.1).
    assert_eq!(
        key_hash("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

/// A file database at version 1 with a plaintext key, opened by this server: V2 hashes the
/// key in place, and the key still authenticates.
#[tokio::test]
async fn a_sqlite_store_with_plaintext_keys_is_migrated_to_hashes() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.join(format!("keys-v1-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    {
        let mut connection = rusqlite::Connection::open(&file).expect("open");
        sqlite_migrations::migrations::runner()
            .set_target(refinery::Target::Version(1))
            .run(&mut connection)
            .expect("V1");
        connection
            .execute_batch(&format!(
                "INSERT INTO accounts (name, billing) VALUES ('old', 'active');
                 INSERT INTO api_keys (key, account_id) VALUES ('{KEY}', 1);"
            ))
            .expect("a plaintext key");
    }
    let store = SqliteStore::open(&file).expect("open and migrate");
    let db = Db::Sqlite(store.clone());
    assert_eq!(key_rows(&db).await, vec![key_hash(KEY), "1".to_owned()]);
    let account = store.find_account(KEY).await.expect("lookup");
    assert_eq!(account.map(|row| row.id), Some(1));
    drop(db);
    drop(store);
    let bytes = std::fs::read(&file).expect("read the file");
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(KEY), "no plaintext key left in the file");
}

#[tokio::test]
async fn a_postgres_store_with_plaintext_keys_is_migrated_to_hashes() {
    if common::skip_postgres("a_postgres_store_with_plaintext_keys_is_migrated_to_hashes") {
        return;
    }
    let url = common::fresh_postgres_url().await;
    let (mut client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let connection = tokio::spawn(connection);
    postgres_migrations::migrations::runner()
        .set_target(refinery::Target::Version(1))
        .run_async(&mut client)
        .await
        .expect("V1");
    client
        .batch_execute(&format!(
            "INSERT INTO accounts (name, billing) VALUES ('old', 'active');
             INSERT INTO api_keys (key, account_id) VALUES ('{KEY}', 1);"
        ))
        .await
        .expect("a plaintext key");
    drop(client);
    let _ = connection.await;
    let store = PgStore::connect(&url, 2)
        .await
        .expect("connect and migrate");
    let db = Db::Postgres(store.clone());
    let rows = key_rows(&db).await;
    assert!(rows.contains(&key_hash(KEY)), "{rows:?}");
    assert!(rows.iter().all(|text| !text.contains(KEY)), "{rows:?}");
    let account = store.find_account(KEY).await.expect("lookup");
    assert_eq!(account.map(|row| row.id), Some(1));
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_file_and_its_wal_are_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.join(format!("keys-mode-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let store = SqliteStore::open(&file).expect("open");
    demo::seed_demo(&store).await.expect("seed");
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", file.display());
        let mode = std::fs::metadata(&path).expect(&path).permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{path}: {mode:o}");
    }
}

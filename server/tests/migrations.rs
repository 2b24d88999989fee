//! An existing database migrates (issue 21's migration V4): a database left at V3 by an
//! earlier server, with contacts, memberships, enrollments and provider rows in V3's schema,
//! is opened by today's binary, which migrates it; what was stored reads back the same, the
//! provider rows still decide, and a batch over old and new phones is answered and written as
//! on a database that never migrated.

mod common;

use bulk_contacts_harness::client::Client;
use common::{Backend, Db, KEY, Process};
use serde_json::json;

mod postgres_migrations {
    refinery::embed_migrations!("migrations/postgres");
}
mod sqlite_migrations {
    refinery::embed_migrations!("migrations/sqlite");
}

const LIST: &str = "+18005551234";

/// V3's rows: an account with the test key, a list with one welcome journey, contact
/// +14155550000 (other members, IP) in the list with custom fields and one enrollment, a
/// `not_sendable` verdict on +14155550002, a validation result on +14155550003, and provider
/// rows under keys that are no E.164 number (kept as text before V4).
fn v3_rows(key_sha256: &str) -> String {
    format!(
        "INSERT INTO accounts (name) VALUES ('demo');
         INSERT INTO api_keys (key_sha256, account_id) SELECT '{key_sha256}', id FROM accounts;
         INSERT INTO sending_lists (account_id, list_number, welcome_journeys)
             SELECT id, '{LIST}', 1 FROM accounts;
         INSERT INTO contacts (phone, signup_date, ip_address, url, extra, validation,
                               created_at, updated_at)
             VALUES ('+14155550000', '2025-01-01T00:00:00Z', '192.0.2.1', NULL,
                     '{{\"source\":\"crm\"}}', NULL, '2025-01-01T00:00:00Z',
                     '2025-01-01T00:00:00Z');
         INSERT INTO memberships (list_id, phone, custom_fields, signup_date, created_at,
                                  updated_at)
             SELECT id, '+14155550000', '{{\"first_name\":\"Jane\"}}', '2025-01-01T00:00:00Z',
                    '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z' FROM sending_lists;
         INSERT INTO journey_enrollments (list_id, phone, journey, enrolled_at)
             SELECT id, '+14155550000', 1, '2025-01-01T00:00:00Z' FROM sending_lists;
         INSERT INTO carrier_verdicts (phone, verdict)
             VALUES ('+14155550002', 'not_sendable'), ('not a phone', 'not_sendable');
         INSERT INTO validation_results (phone, result)
             VALUES ('+14155550003', 'provider_error'), ('+0415', 'provider_error');"
    )
}

fn key_sha256() -> String {
    bulk_contacts_server::store::key_hash(KEY)
}

/// A database at V3 with [`v3_rows`]; the server's arguments to open it.
async fn database_at_v3(backend: Backend, dir: &std::path::Path) -> Vec<String> {
    match backend {
        Backend::Postgres => {
            let url = common::fresh_postgres_url().await;
            let (mut client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            let driver = tokio::spawn(connection);
            postgres_migrations::migrations::runner()
                .set_target(refinery::Target::Version(3))
                .run_async(&mut client)
                .await
                .expect("migrate to V3");
            client
                .batch_execute(&v3_rows(&key_sha256()))
                .await
                .expect("V3 rows");
            drop(client);
            let _ = driver.await;
            vec!["--database-url".to_owned(), url]
        }
        Backend::Sqlite => {
            let path = dir.join("v3.db");
            let mut connection = rusqlite::Connection::open(&path).expect("open");
            // V2 hashes existing keys with the function the server registers.
            connection
                .create_scalar_function(
                    "sha256_hex",
                    1,
                    rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
                    |context| {
                        let key: String = context.get(0)?;
                        Ok(bulk_contacts_server::store::key_hash(&key))
                    },
                )
                .expect("sha256_hex");
            sqlite_migrations::migrations::runner()
                .set_target(refinery::Target::Version(3))
                .run(&mut connection)
                .expect("migrate to V3");
            connection
                .execute_batch(&v3_rows(&key_sha256()))
                .expect("V3 rows");
            vec!["--db".to_owned(), path.to_str().expect("utf-8").to_owned()]
        }
    }
}

async fn a_database_left_at_v3_migrates_and_keeps_its_rows(backend: Backend) {
    let dir = std::env::temp_dir().join(format!(
        "bulk-contacts-migrations-{}-{backend:?}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("a directory");
    let args = database_at_v3(backend, &dir).await;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Process::start(&args);

    // Old and new phones in one batch: the old contact and membership are found (not
    // created), the old verdict still refuses +14155550002, the old validation result still
    // fails +14155550003, the new phone is created.
    let body = json!({"contacts": [
        {"phone_number": "+14155550000", "list_number": LIST, "use_journeys": true,
         "skip_journey_if_exists": false, "custom_fields": {"last_name": "Doe"}},
        {"phone_number": "+14155550001", "list_number": LIST, "use_journeys": true},
        {"phone_number": "+14155550002", "list_number": LIST},
        {"phone_number": "+14155550003", "list_number": LIST, "use_validation": true},
    ]});
    let mut client = Client::new(server.addr).expect("client");
    let reply = client
        .post(
            Some(KEY.as_bytes()),
            serde_json::to_vec(&body).expect("json"),
        )
        .await
        .expect("an answer");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let summary = reply.json();
    assert_eq!(summary["success_count"], 2, "{summary}");
    assert_eq!(summary["errors"][0]["index"], 2, "{summary}");
    assert_eq!(summary["errors"][0]["code"], "not_sendable", "{summary}");
    assert_eq!(summary["errors"][1]["index"], 3, "{summary}");
    assert_eq!(summary["errors"][1]["code"], "provider_error", "{summary}");
    assert_eq!(summary["contacts_created"], 1, "{summary}");
    assert_eq!(summary["list_contacts_created"], 1, "{summary}");
    // The old membership enrolls again (skip_journey_if_exists false), the new one once.
    assert_eq!(summary["journeys_enrolled"], 2, "{summary}");
    drop(server);

    let db = match backend {
        Backend::Postgres => Db::Postgres(
            bulk_contacts_server::PgStore::connect(args[1], 2)
                .await
                .expect("connect"),
        ),
        Backend::Sqlite => Db::Sqlite(
            bulk_contacts_server::SqliteStore::open(std::path::Path::new(args[1])).expect("open"),
        ),
    };
    assert_eq!(
        db.query_i64("SELECT count(*) AS n FROM refinery_schema_history")
            .await,
        common::migrations(backend),
        "migrated from V3 to the latest"
    );
    let phone = db.phone("phone");
    let contact = db
        .rows_of(
            &format!("SELECT signup_date, ip_address, extra FROM contacts WHERE {phone} = $1"),
            &["+14155550000"],
        )
        .await;
    assert_eq!(contact.len(), 1, "the old contact is there once");
    assert!(
        contact[0][0]
            .as_deref()
            .is_some_and(|date| date.starts_with("2025-01-01")),
        "its first signup date kept: {contact:?}"
    );
    assert_eq!(contact[0][1].as_deref(), Some("192.0.2.1"));
    let extra: serde_json::Value =
        serde_json::from_str(contact[0][2].as_deref().expect("extra")).expect("json");
    assert_eq!(extra, json!({"source": "crm"}));
    let fields = db
        .json(
            &format!("SELECT custom_fields FROM memberships WHERE {phone} = $1"),
            &["+14155550000"],
        )
        .await;
    assert_eq!(
        fields,
        Some(json!({"first_name": "Jane", "last_name": "Doe"})),
        "the old membership's fields, merged with the new ones"
    );
    let enrollments = db
        .rows_of(
            &format!("SELECT {phone}, journey FROM journey_enrollments ORDER BY 1, enrolled_at"),
            &[],
        )
        .await;
    let enrollments: Vec<(String, String)> = enrollments
        .into_iter()
        .map(|row| {
            (
                row[0].clone().expect("phone"),
                row[1].clone().expect("journey"),
            )
        })
        .collect();
    assert_eq!(
        enrollments,
        [
            ("+14155550000".to_owned(), "1".to_owned()),
            ("+14155550000".to_owned(), "1".to_owned()),
            ("+14155550001".to_owned(), "1".to_owned()),
        ],
        "the old enrollment kept, the two new ones appended"
    );
    assert_eq!(db.count("contacts").await, 2);
    assert_eq!(db.count("memberships").await, 2);
    let verdicts = db.count("carrier_verdicts").await;
    let results = db.count("validation_results").await;
    match backend {
        // Keys that are no E.164 number cannot be stored as integers; no checked phone
        // reaches them.
        Backend::Postgres => assert_eq!((verdicts, results), (1, 1)),
        Backend::Sqlite => assert_eq!((verdicts, results), (2, 2)),
    }
    // No foreign keys on memberships and enrollments since V4: a list in use still cannot
    // be deleted (a trigger); an unused one can.
    let refused = match &db {
        Db::Postgres(store) => store
            .client()
            .await
            .expect("client")
            .batch_execute("DELETE FROM sending_lists")
            .await
            .map_err(|e| format!("{e:?}")),
        Db::Sqlite(store) => store
            .with_connection(|c| c.execute_batch("DELETE FROM sending_lists"))
            .await
            .map_err(|e| e.to_string()),
    };
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("members or enrollments")),
        "{refused:?}"
    );
    assert_eq!(db.count("sending_lists").await, 1);
    db.execute("INSERT INTO sending_lists (account_id, list_number) SELECT id, '+18005550000' FROM accounts")
        .await;
    db.execute("DELETE FROM sending_lists WHERE list_number = '+18005550000'")
        .await;
    assert_eq!(
        db.count("sending_lists").await,
        1,
        "an unused list is deleted"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_database_left_at_v3_migrates_and_keeps_its_rows_on_sqlite() {
    a_database_left_at_v3_migrates_and_keeps_its_rows(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_database_left_at_v3_migrates_and_keeps_its_rows_on_postgres() {
    if common::skip_postgres("a_database_left_at_v3_migrates_and_keeps_its_rows_on_postgres") {
        return;
    }
    a_database_left_at_v3_migrates_and_keeps_its_rows(Backend::Postgres).await;
}

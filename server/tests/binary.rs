//! The real binary, as the README runs it: `--db FILE` or `--database-url URL`, with
//! `--seed-demo --listen 127.0.0.1:0`, then the documented request.

mod common;

use std::time::Duration;

use bulk_contacts_harness::client::Client;
use bulk_contacts_server::{PgStore, SqliteStore};
use common::{Backend, Db, Process};

async fn the_binary_seeds_the_demo_and_answers_the_documented_example(backend: Backend) {
    seeds_the_demo_and_answers_the_documented_example(backend, &[]).await
}

/// The same on one thread (`--worker-threads 1`): the engine's calls, and SQLite's, inline
/// on the runtime's only thread.
async fn the_binary_on_one_thread_answers_the_documented_example(backend: Backend) {
    seeds_the_demo_and_answers_the_documented_example(backend, &["--worker-threads", "1"]).await
}

async fn seeds_the_demo_and_answers_the_documented_example(backend: Backend, args: &[&str]) {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    // One file per test (the tests of this binary may run in one process at once).
    let file = dir.join(format!(
        "binary-test-{}{}.db",
        std::process::id(),
        args.concat()
    ));
    let (option, target) = match backend {
        Backend::Sqlite => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            ("--db", file.to_str().expect("utf-8 path").to_owned())
        }
        Backend::Postgres => ("--database-url", common::fresh_postgres_url().await),
    };
    let server = Process::start(&[&[option, &target, "--seed-demo"], args].concat());
    if !args.is_empty() {
        assert!(
            server.listening.ends_with(", 1 worker thread)"),
            "{:?}",
            server.listening
        );
    }

    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/request.json"
    ))
    .expect("examples/request.json");
    let mut client = Client::new(server.addr).expect("loopback");
    let reply = tokio::time::timeout(
        common::TIMEOUT,
        client.post(Some(common::KEY.as_bytes()), body),
    )
    .await
    .expect("timed out")
    .expect("request");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.text(),
        r#"{"success_count":2,"error_count":1,"errors":[{"index":2,"phone_number":"+13105558888","code":"not_sendable","error":"Phone number failed carrier validation"}],"contacts_created":2,"list_contacts_created":2,"journeys_enrolled":1}"#
    );
    // One structured (JSON) log event per request: status, contacts, duration, request id.
    let log = (0..20)
        .map_while(|_| server.lines.recv_timeout(Duration::from_secs(10)).ok())
        .find(|line| line.contains("\"status\""))
        .expect("a log event with the status");
    let event: serde_json::Value = serde_json::from_str(&log).expect("a JSON log line");
    assert_eq!(event["fields"]["status"], 200, "{log}");
    assert_eq!(event["fields"]["contacts"], 3, "{log}");
    assert!(event["fields"]["duration_ms"].is_f64(), "{log}");
    assert_eq!(event["span"]["path"], "/v2/contacts/bulk", "{log}");
    assert_eq!(
        event["span"]["request_id"].as_str().map(str::len),
        Some(36),
        "a UUID request id: {log}"
    );

    // The database holds what was written (the store migrated already: opening it again
    // applies nothing).
    let db = match backend {
        Backend::Sqlite => Db::Sqlite(SqliteStore::open(&file).expect("open the file")),
        Backend::Postgres => Db::Postgres(PgStore::connect(&target, 2).await.expect("connect")),
    };
    assert_eq!(db.count("contacts").await, 2);
    assert_eq!(
        db.query_i64("SELECT count(*) AS n FROM refinery_schema_history")
            .await,
        common::migrations(backend),
        "every migration, each applied once"
    );
}

on_both_stores!(
    the_binary_seeds_the_demo_and_answers_the_documented_example,
    the_binary_on_one_thread_answers_the_documented_example
);

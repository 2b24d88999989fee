//! Batch-sized queries on both stores: a batch of 1000 contacts costs the same five prefetch
//! queries as a batch of one (lists, carrier verdicts, contacts, memberships, validation
//! results) and a few multi-row writes (at most four per round of repeated phones, plus the
//! enrollments), whatever the store already holds. SQLite: the statement trace (its own test
//! binary: the hook is process-wide); PostgreSQL: `pg_stat_statements`.

mod common;

use std::sync::Mutex;

use bulk_contacts::testing::World;
use common::{Backend, Db, Server, phone};
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use serde_json::json;

static STATEMENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record(event: TraceEvent<'_>) {
    if let TraceEvent::Stmt(statement, _) = event {
        STATEMENTS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(statement.sql().into_owned());
    }
}

/// Statements executed since the last call: (SQL, times).
async fn taken(db: &Db) -> Vec<(String, u64)> {
    match db {
        Db::Sqlite(_) => std::mem::take(&mut *STATEMENTS.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .map(|sql| (sql, 1))
            .collect(),
        Db::Postgres(_) => {
            let rows = db
                .rows_of(
                    "SELECT query, calls FROM pg_stat_statements
                     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
                    &[],
                )
                .await;
            db.execute("SELECT pg_stat_statements_reset()").await;
            rows.into_iter()
                .map(|row| {
                    let sql = row[0].clone().unwrap_or_default();
                    let calls = row[1].as_deref().and_then(|n| n.parse().ok()).unwrap_or(0);
                    (sql, calls)
                })
                .collect()
        }
    }
}

const TABLES: [&str; 5] = [
    "sending_lists",
    "carrier_verdicts",
    "contacts",
    "memberships",
    "validation_results",
];

fn starts_with(sql: &str, word: &str) -> bool {
    sql.trim_start().to_ascii_uppercase().starts_with(word)
}

async fn a_batch_of_1000_costs_five_prefetch_queries_and_a_few_multi_row_writes(backend: Backend) {
    let server = Server::start(backend, &World::builtin()).await;
    match &server.db {
        Db::Sqlite(store) => {
            store
                .with_connection(|c| c.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(record)))
                .await
        }
        Db::Postgres(_) => {
            // Some distributions ship it separately (Fedora: postgresql-contrib); the
            // cluster preloads it only when its library is installed.
            let loaded = server
                .db
                .rows_of(
                    "SELECT current_setting('shared_preload_libraries') AS preload",
                    &[],
                )
                .await;
            if !loaded
                .iter()
                .flatten()
                .flatten()
                .any(|l| l.contains("pg_stat_statements"))
            {
                common::skip_because(
                    "a_batch_of_1000_costs_five_prefetch_queries_and_a_few_multi_row_writes::postgres",
                    "the pg_stat_statements extension is not installed (Fedora: dnf install \
                     postgresql-contrib; Debian/Ubuntu and Homebrew ship it with the server)",
                );
                return;
            }
            server
                .db
                .execute("CREATE EXTENSION pg_stat_statements")
                .await
        }
    }
    // 900 distinct phones, the first 100 twice: two rounds of writes.
    let contacts: Vec<_> = (0..1000)
        .map(|i| {
            json!({"phone_number": phone(i % 900), "list_number": "+18005551234",
                   "use_validation": i % 10 == 0, "use_journeys": true})
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "contacts": contacts })).expect("json");
    for round in 0..2 {
        taken(&server.db).await;
        let reply = server.post(body.clone()).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["success_count"], 1000);
        let statements = taken(&server.db).await;
        let calls = |keep: &dyn Fn(&str) -> bool| -> u64 {
            statements
                .iter()
                .filter(|(sql, _)| keep(sql))
                .map(|(_, calls)| calls)
                .sum()
        };
        // (SQLite's `SELECT count(*)` before an update counts the rows the update is about:
        // part of the write, below.)
        let prefetch = calls(&|sql| {
            starts_with(sql, "SELECT")
                && !starts_with(sql, "SELECT COUNT(*)")
                && !sql.contains("api_keys")
                && TABLES.iter().any(|table| sql.contains(table))
        });
        assert_eq!(prefetch, 5, "round {round}: {statements:#?}");
        let account = calls(&|sql| starts_with(sql, "SELECT") && sql.contains("api_keys"));
        // The account, by the hash of its key: one query.
        assert_eq!(account, 1, "round {round}: {statements:#?}");
        let locks = calls(&|sql| sql.contains("pg_advisory_xact_lock"));
        let expected = match backend {
            Backend::Sqlite => 0,
            Backend::Postgres => 1,
        };
        assert_eq!(
            locks, expected,
            "round {round}: one statement locks every phone"
        );
        // Rows inserted (INSERT, or PostgreSQL's COPY of the new rows) and updated (UPDATE,
        // or PostgreSQL's `WITH … UPDATE … SELECT count(*)`).
        let writes = calls(&|sql| {
            starts_with(sql, "INSERT")
                || starts_with(sql, "UPDATE")
                || starts_with(sql, "SELECT COUNT(*)")
                || starts_with(sql, "COPY")
                || (starts_with(sql, "WITH") && sql.contains("UPDATE"))
        });
        assert!(
            (1..=9).contains(&writes),
            "round {round}: {writes} writes: {statements:#?}"
        );
    }
}

on_both_stores!(a_batch_of_1000_costs_five_prefetch_queries_and_a_few_multi_row_writes);

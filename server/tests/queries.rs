//! One query per lookup kind: a batch of 1000 contacts costs the same five prefetch queries
//! as a batch of one (lists, carrier verdicts, contacts, memberships, validation results),
//! whatever the store already holds. Its own test binary: the trace hook is process-wide.

mod common;

use std::sync::Mutex;

use bulk_contacts::testing::World;
use common::{Server, phone};
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

fn taken() -> Vec<String> {
    std::mem::take(&mut *STATEMENTS.lock().unwrap_or_else(|p| p.into_inner()))
}

#[tokio::test]
async fn a_batch_of_1000_is_fetched_in_one_query_per_kind() {
    let server = Server::start(&World::builtin()).await;
    server
        .store
        .with_connection(|c| c.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(record)));
    let contacts: Vec<_> = (0..1000)
        .map(|i| {
            json!({"phone_number": phone(i % 900), "list_number": "+18005551234",
                   "use_validation": i % 10 == 0, "use_journeys": true})
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "contacts": contacts })).expect("json");
    for round in 0..2 {
        taken();
        let reply = server.post(body.clone()).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["success_count"], 1000);
        let statements = taken();
        let prefetch: Vec<_> = statements
            .iter()
            .filter(|sql| sql.contains("json_each"))
            .collect();
        assert_eq!(prefetch.len(), 5, "round {round}: {prefetch:#?}");
        let account = statements
            .iter()
            .filter(|sql| sql.contains("api_keys"))
            .count();
        assert_eq!(account, 2, "round {round}: the account, then its keys");
        let reads = statements
            .iter()
            .filter(|sql| sql.trim_start().starts_with("SELECT"))
            .count();
        assert_eq!(reads, 7, "round {round}: no other read");
    }
}

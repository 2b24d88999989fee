//! What the integration tests share: a real server on 127.0.0.1:0 over an in-memory store,
//! the engine's own answers to compare with, and row counts.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bulk_contacts::testing::World;
use bulk_contacts::{Engine, Limits, Rejection, Response};
use bulk_contacts_server::client::{Client, Reply};
use bulk_contacts_server::{App, Store};

/// The demo key (SPEC §8).
pub const KEY: &str = bulk_contacts::testing::DEFAULT_API_KEY;

/// Every request of the tests gets this long at most.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A running server and its store.
pub struct Server {
    pub addr: SocketAddr,
    pub store: Arc<Store>,
}

impl Server {
    /// A server over a fresh in-memory store seeded with `world` as account "demo".
    pub async fn start(world: &World) -> Server {
        let store = Arc::new(Store::open(":memory:").expect("open the store"));
        store.seed_world("demo", world).expect("seed the world");
        let app = Arc::new(App {
            engine: Engine::default(),
            store: Arc::clone(&store),
        });
        let addr = bulk_contacts_server::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), app)
            .await
            .expect("bind 127.0.0.1:0");
        Server { addr, store }
    }

    pub fn client(&self) -> Client {
        Client::new(self.addr).expect("loopback")
    }

    /// One request on a fresh connection, with the demo key.
    pub async fn post(&self, body: impl Into<axum::body::Body>) -> Reply {
        self.post_with(Some(KEY.as_bytes()), body).await
    }

    pub async fn post_with(&self, key: Option<&[u8]>, body: impl Into<axum::body::Body>) -> Reply {
        let mut client = self.client();
        tokio::time::timeout(TIMEOUT, client.post(key, body))
            .await
            .expect("the request timed out")
            .expect("the request failed")
    }

    /// `SELECT count(*) FROM table`.
    pub fn count(&self, table: &str) -> i64 {
        self.query_i64(&format!("SELECT count(*) FROM {table}"))
    }

    pub fn query_i64(&self, sql: &str) -> i64 {
        self.store
            .with_connection(|c| c.query_row(sql, [], |row| row.get(0)))
            .expect("query")
    }

    pub fn query_text(&self, sql: &str, param: &str) -> Option<String> {
        use rusqlite::OptionalExtension;
        self.store
            .with_connection(|c| c.query_row(sql, [param], |row| row.get(0)).optional())
            .expect("query")
    }

    /// Rows of the tables a request writes.
    pub fn rows(&self) -> Rows {
        Rows {
            contacts: self.count("contacts"),
            memberships: self.count("memberships"),
            enrollments: self.count("journey_enrollments"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rows {
    pub contacts: i64,
    pub memberships: i64,
    pub enrollments: i64,
}

impl Rows {
    /// The summary's counters must be exactly the rows inserted since `before`.
    pub fn assert_counters(self, before: Rows, summary: &serde_json::Value) {
        let counter = |name: &str| summary[name].as_i64().expect("a counter");
        assert_eq!(
            (
                counter("contacts_created"),
                counter("list_contacts_created"),
                counter("journeys_enrolled")
            ),
            (
                self.contacts - before.contacts,
                self.memberships - before.memberships,
                self.enrollments - before.enrollments
            ),
            "counters vs rows inserted, summary {summary}"
        );
    }
}

/// The engine's exact answer to a rejected request.
pub fn rejected(rejection: Rejection) -> Response {
    Response::rejected(rejection, &Limits::default())
}

/// Asserts the reply is exactly the engine's answer, as JSON.
pub fn assert_answer(reply: &Reply, expected: &Response) {
    assert_eq!(
        (reply.status, reply.text()),
        (
            expected.status,
            String::from_utf8_lossy(&expected.body).into_owned()
        )
    );
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
}

/// A valid US number: +1 (415|212|310|646) 555 dddd, `n` < 40,000.
pub fn phone(n: usize) -> String {
    let area = ["415", "212", "312", "646"][n / 10_000 % 4];
    format!("+1{area}555{:04}", n % 10_000)
}

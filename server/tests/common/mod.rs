//! What the integration tests share: a real server on 127.0.0.1:0 over either store (an
//! in-memory SQLite, or a fresh database of the test binary's throwaway PostgreSQL cluster),
//! the engine's own answers to compare with, row counts, and the overlapping batches of the
//! concurrency tests.
#![allow(dead_code)]

pub mod overlap;
pub mod world;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bulk_contacts::testing::World;
use bulk_contacts::{Limits, Rejection, Response};
use bulk_contacts_harness::client::{Client, Reply};
use bulk_contacts_harness::cluster::{self, Cluster};
use bulk_contacts_server::pipeline::App;
use bulk_contacts_server::{PgStore, SqliteStore, Store};

/// The demo key (SPEC §8).
pub const KEY: &str = bulk_contacts::testing::DEFAULT_API_KEY;

/// Every request of the tests gets this long at most.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How many migrations the binary applies to a new database of `backend`: one per
/// `V<n>__<name>.sql` file of its directory under `migrations/`, so that a test counting the
/// rows of `refinery_schema_history` follows a new migration without an edit.
pub fn migrations(backend: Backend) -> i64 {
    let dir = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dir);
    let files = std::fs::read_dir(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let count = files
        .map(|file| file.expect("a directory entry").file_name())
        .filter(|name| {
            let name = name.to_string_lossy();
            name.starts_with('V') && name.ends_with(".sql") && name.contains("__")
        })
        .count();
    assert!(count > 0, "no migrations in {}", path.display());
    count as i64
}

/// Runs each named `async fn(Backend)` as two tests, `NAME::sqlite` and `NAME::postgres`, on
/// tokio's test runtime (current thread: client and server interleave deterministically, so
/// an early 413 is read before the client's next body write meets the closed socket), or on
/// a multi-threaded runtime like the binary's with `multi_thread;` first.
#[macro_export]
macro_rules! on_both_stores {
    (multi_thread; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if $crate::common::skip_postgres(concat!(module_path!(), "::postgres")) {
                    return;
                }
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                if $crate::common::skip_postgres(concat!(module_path!(), "::postgres")) {
                    return;
                }
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )*};
}

/// Set (to anything but `0` or empty) by `.ci/run`: a PostgreSQL-backed test that cannot run
/// fails instead of being skipped, so that CI runs every one.
pub const REQUIRE_POSTGRES: &str = "BULK_CONTACTS_REQUIRE_POSTGRES";

/// Whether test `name` must be skipped because `missing` is: when [`REQUIRE_POSTGRES`] is
/// set it panics instead. A skip is one line on standard error, written past libtest's
/// capture so that it shows in a passing run (libtest has no run-time "ignored").
pub fn skip_because(name: &str, missing: &str) -> bool {
    let required = std::env::var(REQUIRE_POSTGRES).is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(!required, "{name}: {missing} ({REQUIRE_POSTGRES} is set)");
    let _ = writeln!(
        std::io::stderr().lock(),
        "skipped {name}: {missing} (set {REQUIRE_POSTGRES}=1 to fail instead)"
    );
    true
}

/// Whether the PostgreSQL-backed test `name` must be skipped: this machine cannot start a
/// throwaway cluster (no `initdb`/`pg_ctl`; as root, no `postgres` user or `runuser`).
pub fn skip_postgres(name: &str) -> bool {
    static UNAVAILABLE: OnceLock<Option<String>> = OnceLock::new();
    match UNAVAILABLE.get_or_init(cluster::unavailable) {
        Some(missing) => skip_because(name, missing),
        None => false,
    }
}

/// A fresh, migrated, empty PostgreSQL database of this test binary's cluster.
pub async fn fresh_postgres_url() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let cluster = Cluster::shared().expect("a throwaway PostgreSQL cluster");
    let name = format!("test_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    cluster.create_database(&name).await.expect("a database")
}

/// A store of either kind, for the tests' own queries.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Db {
    /// The SQL of a phone column as its E.164 text: SQLite stores the text, PostgreSQL the
    /// digits as a `bigint` (migration V4).
    pub fn phone(&self, column: &str) -> String {
        match self {
            Db::Sqlite(_) => column.to_owned(),
            Db::Postgres(_) => format!("('+' || {column})"),
        }
    }

    /// A fresh store seeded with `world` as account "demo".
    pub async fn new(backend: Backend, world: &World) -> Db {
        let db = match backend {
            Backend::Sqlite => Db::Sqlite(SqliteStore::open(":memory:").expect("open")),
            Backend::Postgres => {
                let url = fresh_postgres_url().await;
                Db::Postgres(PgStore::connect(&url, 8).await.expect("connect"))
            }
        };
        match &db {
            Db::Sqlite(store) => world::seed_world(store, "demo", world).await,
            Db::Postgres(store) => world::seed_world(store, "demo", world).await,
        }
        .expect("seed the world");
        db
    }

    /// Runs statements (no result).
    pub async fn execute(&self, sql: &str) {
        match self {
            Db::Sqlite(store) => store
                .with_connection(|c| c.execute_batch(sql))
                .await
                .expect(sql),
            Db::Postgres(store) => {
                let client = store.client().await.expect("client");
                client.batch_execute(sql).await.expect(sql);
            }
        }
    }

    /// Every row of `sql`, every column read as text (`$1`-style parameters, text).
    pub async fn rows_of(&self, sql: &str, params: &[&str]) -> Vec<Vec<Option<String>>> {
        match self {
            Db::Sqlite(store) => {
                store
                    .with_connection(|c| {
                        let mut query = c.prepare(sql).expect(sql);
                        let columns = query.column_count();
                        query
                            .query_map(rusqlite::params_from_iter(params), |row| {
                                (0..columns)
                                    .map(|i| {
                                        Ok(match row.get_ref(i)? {
                                            rusqlite::types::ValueRef::Null => None,
                                            rusqlite::types::ValueRef::Integer(n) => {
                                                Some(n.to_string())
                                            }
                                            value => Some(value.as_str()?.to_owned()),
                                        })
                                    })
                                    .collect()
                            })
                            .expect(sql)
                            .collect::<Result<_, _>>()
                            .expect(sql)
                    })
                    .await
            }
            Db::Postgres(store) => {
                let client = store.client().await.expect("client");
                // Every column as text, whatever its type (jsonb, bigint, timestamptz).
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                let columns: Vec<String> = client
                    .prepare(sql)
                    .await
                    .expect(sql)
                    .columns()
                    .iter()
                    .map(|c| c.name().to_owned())
                    .collect();
                let text_sql = format!(
                    "SELECT {} FROM ({sql}) AS q",
                    (1..=columns.len())
                        .map(|i| format!("q.\"{}\"::text", columns[i - 1].replace('"', "\"\"")))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                client
                    .query(&text_sql, &params)
                    .await
                    .expect(sql)
                    .iter()
                    .map(|row| (0..columns.len()).map(|i| row.get(i)).collect())
                    .collect()
            }
        }
    }

    /// The first column of the first row, as text.
    pub async fn text(&self, sql: &str, params: &[&str]) -> Option<String> {
        self.rows_of(sql, params)
            .await
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten())
    }

    /// The first column of the first row, as JSON.
    pub async fn json(&self, sql: &str, params: &[&str]) -> Option<serde_json::Value> {
        self.text(sql, params)
            .await
            .map(|text| serde_json::from_str(&text).expect("a JSON column"))
    }

    pub async fn query_i64(&self, sql: &str) -> i64 {
        self.text(sql, &[])
            .await
            .and_then(|n| n.parse().ok())
            .expect("a number")
    }

    /// `SELECT count(*) FROM table`.
    pub async fn count(&self, table: &str) -> i64 {
        self.query_i64(&format!("SELECT count(*) AS n FROM {table}"))
            .await
    }

    /// Rows of the tables a request writes.
    pub async fn rows(&self) -> Rows {
        Rows {
            contacts: self.count("contacts").await,
            memberships: self.count("memberships").await,
            enrollments: self.count("journey_enrollments").await,
        }
    }
}

/// A running server and its store.
pub struct Server {
    pub addr: SocketAddr,
    pub db: Db,
}

async fn spawn<S: Store>(store: S) -> SocketAddr {
    bulk_contacts_server::spawn(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Arc::new(App::new(store)),
    )
    .await
    .expect("bind 127.0.0.1:0")
}

impl Server {
    /// A server over a fresh store seeded with `world` as account "demo".
    pub async fn start(backend: Backend, world: &World) -> Server {
        let db = Db::new(backend, world).await;
        let addr = match &db {
            Db::Sqlite(store) => spawn(store.clone()).await,
            Db::Postgres(store) => spawn(store.clone()).await,
        };
        Server { addr, db }
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

    pub async fn count(&self, table: &str) -> i64 {
        self.db.count(table).await
    }

    pub async fn rows(&self) -> Rows {
        self.db.rows().await
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

/// The real server binary, killed when dropped (however the test ends).
pub struct Process {
    child: std::process::Child,
    pub addr: SocketAddr,
    /// Its "listening on http://ADDR (database …, N worker threads)" line.
    pub listening: String,
    /// Its standard error, line by line, after the "listening" line.
    pub lines: std::sync::mpsc::Receiver<String>,
}

impl Process {
    /// Starts `bulk-contacts-server ARGS --listen 127.0.0.1:0` and waits (30 s at most) for
    /// its "listening on http://ADDR" line.
    pub fn start(args: &[&str]) -> Process {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bulk-contacts-server"));
        command.args(args);
        Process::start_command(command)
    }

    /// [`Process::start`] with the open-files limit (`ulimit -n`, soft and hard) set to
    /// `limit` by `bash` before it runs the server.
    pub fn start_under_open_files_limit(limit: usize, args: &[&str]) -> Process {
        let mut command = std::process::Command::new("bash");
        command
            .arg("-c")
            .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_bulk-contacts-server"))
            .args(args);
        Process::start_command(command)
    }

    fn start_command(mut command: std::process::Command) -> Process {
        use std::io::{BufRead, BufReader};
        use std::process::Stdio;
        use std::time::Instant;

        let mut child = command
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let stderr = child.stderr.take().expect("stderr");
        let (lines_tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = Process {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            listening: String::new(),
            lines,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        process.addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = process
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("the server printed no address: {seen:#?}"));
            if let Some(rest) = line.strip_prefix("listening on http://") {
                let addr = rest
                    .split_whitespace()
                    .next()
                    .and_then(|addr| addr.parse().ok())
                    .expect("an address");
                process.listening = line;
                break addr;
            }
            seen.push(line);
        };
        process
    }
}

impl Process {
    /// The server's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`TERM`, `INT`) to the server with `kill`.
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal}");
    }

    /// The exit status, waiting `limit` at most (polled every 20 ms).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

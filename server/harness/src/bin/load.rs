//! `load [--addr ADDR]... [--requests N] [--clients C] [--contacts K] [--stride S] [--offset O]
//!       [--revision V] [--seconds T] [--spread]`
//! `load --suite [--requests N]`
//!
//! A load generator, loopback only, bounded in count and time. With `--addr` (repeatable):
//! C clients, spread round-robin over the addresses, send N requests in all of K contacts each
//! (batch r holds the K consecutive numbers from O + r × S: S = K gives disjoint batches, S < K
//! overlapping ones; revision V > 0 sends the same contacts with changed custom fields, a
//! re-import of what revision 0 wrote) and it reports contacts/s and the p50/p99 latency; the
//! servers there must hold the demo account (`--seed-demo`). With `--spread`, number n is
//! scattered over the whole pool of numbers (a fixed permutation), so that a batch's numbers
//! lie all over the store's indexes, as those of a list exported from a CRM do; without it a
//! batch's numbers are consecutive, the best case for the store.
//!
//! `--suite` measures everything BENCHMARKS.md reports, in one run, on throwaway stores: it
//! starts the server binary (next to this one) over a SQLite file, then over a throwaway
//! PostgreSQL cluster with 1, 2 and 4 instances, at 1, 4 and 16 clients; reads the CPU time of
//! the server processes and of PostgreSQL (the postmaster and its backends) from `/proc`
//! around each run; checks that the summed counters of the answers are the rows the store
//! gained; re-imports, on one instance, each run's contacts with changed custom fields (the
//! update case); runs two instances of one thread each (`--worker-threads 1`, one per core on
//! this 2-core machine) at 4 and 16 clients, new contacts and their re-import; runs a bare
//! `pgbench` script writing the same rows into the naive schema of
//! the server's first migrations (the floor); and times the engine alone in-process. It prints one Markdown table.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bulk_contacts::{CarrierValidationMap, DirectoryMap, Engine, SendingList, Timestamp};
use bulk_contacts_harness::client::Client;
use bulk_contacts_harness::cluster::Cluster;
use bulk_contacts_server::demo;
use bulk_contacts_server::{PgStore, SqliteStore};

const KEY: &str = demo::KEY;
const LIST: &str = "+18005551234";

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    requests: usize,
    clients: usize,
    contacts: usize,
    stride: Option<usize>,
    offset: usize,
    revision: usize,
    seconds: u64,
    addrs: Vec<SocketAddr>,
    suite: bool,
    spread: bool,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        requests: 200,
        clients: 4,
        contacts: 1000,
        stride: None,
        offset: 0,
        revision: 0,
        seconds: 120,
        addrs: Vec::new(),
        suite: false,
        spread: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let number = |text: String| text.parse::<usize>().map_err(|e| format!("{text}: {e}"));
        match arg.as_str() {
            "--requests" => options.requests = number(value()?)?.clamp(1, 100_000),
            "--clients" => options.clients = number(value()?)?.clamp(1, 64),
            "--contacts" => options.contacts = number(value()?)?.clamp(1, 1000),
            "--stride" => options.stride = Some(number(value()?)?.clamp(1, 1000)),
            "--offset" => options.offset = number(value()?)?.clamp(0, 1_000_000_000),
            "--revision" => options.revision = number(value()?)?,
            "--seconds" => options.seconds = number(value()?)?.clamp(1, 600) as u64,
            "--addr" => {
                let text = value()?;
                let addr: SocketAddr = text.parse().map_err(|e| format!("{text}: {e}"))?;
                if !addr.ip().is_loopback() {
                    return Err(format!("{addr}: only loopback addresses"));
                }
                options.addrs.push(addr);
            }
            "--suite" => options.suite = true,
            "--spread" => options.spread = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.addrs.is_empty() != options.suite {
        return Err("give --addr (one or more) or --suite".to_owned());
    }
    Ok(options)
}

/// The pool of phone numbers: the US exchanges (second group) that make valid numbers in area
/// 415, and phone `n` is `+1 415 <exchange number n / 10,000> <n % 10,000>` (after the spread,
/// with `--spread`), so the pool holds millions of distinct valid numbers. The suite's batches
/// are consecutive.
struct Numbers {
    exchanges: Vec<u32>,
    /// Whether number n is first moved to `n × SPREAD` modulo the pool's size.
    spread: bool,
}

/// A prime, so coprime with the pool's size (the exchanges' count × 10,000, fewer than 1000
/// exchanges): multiplying by it modulo the size permutes the pool, and consecutive numbers
/// land about a seventh of the pool apart.
const SPREAD: u128 = 1_000_003;

impl Numbers {
    fn new(spread: bool) -> Numbers {
        let exchanges = (200..1000)
            .filter(|exchange| bulk_contacts::e164::is_valid(&format!("+1415{exchange}0000")))
            .collect();
        Numbers { exchanges, spread }
    }

    fn phone(&self, n: usize) -> String {
        let size = self.exchanges.len() * 10_000;
        let n = if self.spread {
            ((n % size) as u128 * SPREAD % size as u128) as usize
        } else {
            n
        };
        let exchange = self.exchanges[n / 10_000 % self.exchanges.len()];
        format!("+1415{exchange}{:04}", n % 10_000)
    }
}

/// Batch `r`: `k` contacts with the consecutive numbers from `first`, half with journeys;
/// revision 0 is a first import, a later revision the same contacts sent again with changed
/// custom fields (a re-import: same size, another first name).
fn batch(numbers: &Numbers, r: usize, first: usize, k: usize, revision: usize) -> Vec<u8> {
    let first_name = ["Jane", "Joan"][revision % 2];
    let contacts: Vec<serde_json::Value> = (0..k)
        .map(|i| {
            serde_json::json!({
                "phone_number": numbers.phone(first + i),
                "list_number": LIST,
                "use_journeys": i % 2 == 0,
                "signup_date": "2025-03-15T14:30:00Z",
                "ip_address": "198.51.100.17",
                "url": "https://example.com/signup",
                "custom_fields": {"first_name": first_name, "batch": r},
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "contacts": contacts })).unwrap_or_default()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// CPU time (user + system) of the calling thread, in clock ticks.
fn thread_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return 0;
    };
    stat_ticks(&stat, false)
}

/// The engine alone on one batch (read + keys + validation keys + evaluate over maps +
/// the summary body), `runs` times on this thread: (median wall ms, CPU ms per batch from
/// `/proc`, comparable with the servers' CPU per batch).
fn engine_alone(
    numbers: &Numbers,
    contacts: usize,
    runs: usize,
    hz: f64,
) -> Result<(f64, f64), Error> {
    let engine = Engine::default();
    let body = batch(numbers, 0, 0, contacts, 0);
    let now = Timestamp::now();
    let lists = HashMap::from([(
        LIST.to_owned(),
        SendingList {
            welcome_journeys: 1,
        },
    )]);
    let (carrier, directory) = (CarrierValidationMap::default(), DirectoryMap::default());
    let mut times = Vec::new();
    let cpu_before = thread_ticks();
    for _ in 0..runs {
        let started = Instant::now();
        let batch = engine
            .read(&body, now)
            .map_err(|rejection| format!("the engine rejected the batch: {rejection}"))?;
        std::hint::black_box(batch.keys());
        let screened = batch.screen(&lists, &carrier).map_err(|e| e.to_string())?;
        std::hint::black_box(screened.validation_keys());
        let evaluation = screened
            .evaluate(&carrier, &directory)
            .map_err(|e| e.to_string())?;
        std::hint::black_box(bulk_contacts::Response::summary(&evaluation));
        times.push(started.elapsed());
    }
    let cpu = (thread_ticks() - cpu_before) as f64 / hz * 1000.0 / runs as f64;
    times.sort();
    Ok((ms(percentile(&times, 0.5)), cpu))
}

/// What one run measured.
#[derive(Debug, Default)]
struct Run {
    done: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    statuses: BTreeMap<u16, usize>,
    counters: [i64; 3],
}

impl Run {
    fn contacts_per_second(&self, k: usize) -> f64 {
        self.done as f64 * k as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn non_200(&self) -> usize {
        self.statuses
            .iter()
            .filter(|(status, _)| **status != 200)
            .map(|(_, n)| n)
            .sum()
    }
}

/// `requests` batches from `clients` clients, round-robin over `addrs`; batch r starts at
/// number `offset + r × stride`.
async fn drive(
    addrs: &[SocketAddr],
    clients: usize,
    bodies: Arc<Vec<Vec<u8>>>,
    seconds: u64,
) -> Result<Run, Error> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (bodies, next) = (Arc::clone(&bodies), Arc::clone(&next));
        let mut client = Client::new(addrs[c % addrs.len()])?;
        tasks.push(tokio::spawn(async move {
            let mut run = Run::default();
            loop {
                let r = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(r) else { break };
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let sent = Instant::now();
                match tokio::time::timeout(left, client.post(Some(KEY.as_bytes()), body.clone()))
                    .await
                {
                    Ok(Ok(reply)) => {
                        run.latencies.push(sent.elapsed());
                        *run.statuses.entry(reply.status).or_default() += 1;
                        let summary = reply.json();
                        for (i, name) in [
                            "contacts_created",
                            "list_contacts_created",
                            "journeys_enrolled",
                        ]
                        .into_iter()
                        .enumerate()
                        {
                            run.counters[i] += summary[name].as_i64().unwrap_or(0);
                        }
                    }
                    Ok(Err(error)) => {
                        eprintln!("request failed: {error}");
                        *run.statuses.entry(0).or_default() += 1;
                    }
                    Err(_) => break,
                }
            }
            run
        }));
    }
    let mut total = Run::default();
    for task in tasks {
        let run = task.await?;
        total.latencies.extend(run.latencies);
        for (status, n) in run.statuses {
            *total.statuses.entry(status).or_default() += n;
        }
        for i in 0..3 {
            total.counters[i] += run.counters[i];
        }
    }
    total.elapsed = started.elapsed();
    total.latencies.sort();
    total.done = total.latencies.len();
    Ok(total)
}

fn bodies(
    numbers: &Numbers,
    requests: usize,
    offset: usize,
    stride: usize,
    k: usize,
    revision: usize,
) -> Vec<Vec<u8>> {
    (0..requests)
        .map(|r| batch(numbers, r, offset + r * stride, k, revision))
        .collect()
}

async fn plain(options: &Options) -> Result<(), Error> {
    let numbers = Numbers::new(options.spread);
    let (wall, cpu) = engine_alone(&numbers, options.contacts, 50, clock_ticks_per_second())?;
    println!(
        "engine alone, in-process, one batch of {}: median {wall:.2} ms, CPU {cpu:.2} ms",
        options.contacts
    );
    let stride = options.stride.unwrap_or(options.contacts);
    let bodies = Arc::new(bodies(
        &numbers,
        options.requests,
        options.offset,
        stride,
        options.contacts,
        options.revision,
    ));
    let run = drive(&options.addrs, options.clients, bodies, options.seconds).await?;
    println!(
        "{} clients over {} servers: {} requests of {} contacts in {:.2} s: {:.0} contacts/s, \
         latency p50 {:.1} ms, p99 {:.1} ms; statuses {:?}; counters {:?}",
        options.clients,
        options.addrs.len(),
        run.done,
        options.contacts,
        run.elapsed.as_secs_f64(),
        run.contacts_per_second(options.contacts),
        ms(percentile(&run.latencies, 0.5)),
        ms(percentile(&run.latencies, 0.99)),
        run.statuses,
        run.counters
    );
    Ok(())
}

// ---- the suite ----

/// CPU time (user + system) of a process, in clock ticks (`/proc/PID/stat`); with
/// `children`, also that of its waited-for children (the postmaster's exited backends).
fn ticks(pid: u32, children: bool) -> u64 {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat_ticks(&stat, children),
        Err(_) => 0,
    }
}

fn stat_ticks(stat: &str, children: bool) -> u64 {
    // After the command name in parentheses: state is field 3; utime 14, stime 15,
    // cutime 16, cstime 17.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0;
    };
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let field = |n: usize| fields.get(n - 3).copied().unwrap_or(0);
    field(14) + field(15) + if children { field(16) + field(17) } else { 0 }
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// CPU ticks of PostgreSQL: the postmaster (with its exited children) and its live children.
fn postgres_ticks(postmaster: u32) -> u64 {
    let mut total = ticks(postmaster, true);
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.filter_map(Result::ok) {
            if let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok())
                && parent_of(pid) == Some(postmaster)
            {
                total += ticks(pid, false);
            }
        }
    }
    total
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_binary() -> Result<PathBuf, Error> {
    let me = std::env::current_exe()?;
    let path = me
        .parent()
        .map(|dir| dir.join("bulk-contacts-server"))
        .ok_or("no directory")?;
    if !path.is_file() {
        return Err(format!(
            "{} is missing: cargo build --release -p bulk-contacts-server -p bulk-contacts-harness",
            path.display()
        )
        .into());
    }
    Ok(path)
}

fn start_server(args: &[&str]) -> Result<Server, Error> {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(server_binary()?)
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        // The "listening" line, then drain the log lines (one per request) unread.
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            if let Some(rest) = line.strip_prefix("listening on http://") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
            line.clear();
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(60))?.parse()?;
    Ok(Server { child, addr })
}

/// The rows of the three tables a request writes.
async fn rows(db: &Db) -> Result<[i64; 3], Error> {
    let mut out = [0; 3];
    for (i, table) in ["contacts", "memberships", "journey_enrollments"]
        .into_iter()
        .enumerate()
    {
        out[i] = db.count(table).await?;
    }
    Ok(out)
}

enum Db {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Db {
    async fn count(&self, table: &str) -> Result<i64, Error> {
        let sql = format!("SELECT count(*) FROM {table}");
        Ok(match self {
            Db::Sqlite(store) => {
                store
                    .with_connection(|c| c.query_row(&sql, [], |row| row.get(0)))
                    .await?
            }
            Db::Postgres(store) => store.client().await?.query_one(&sql, &[]).await?.get(0),
        })
    }

    /// PostgreSQL's current WAL position, in bytes (None on SQLite).
    async fn wal(&self) -> Result<Option<f64>, Error> {
        Ok(match self {
            Db::Sqlite(_) => None,
            Db::Postgres(store) => Some(
                store
                    .client()
                    .await?
                    .query_one(
                        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8",
                        &[],
                    )
                    .await?
                    .get(0),
            ),
        })
    }
}

struct Line {
    setup: String,
    clients: usize,
    run: Run,
    server_ms: f64,
    postgres_ms: Option<f64>,
    wal_kb: Option<f64>,
    exact: bool,
}

#[allow(clippy::too_many_arguments)]
async fn measured(
    setup: &str,
    servers: &[Server],
    postmaster: Option<u32>,
    db: &Db,
    clients: usize,
    bodies: Vec<Vec<u8>>,
    seconds: u64,
    hz: f64,
) -> Result<Line, Error> {
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
    let before_rows = rows(db).await?;
    let server_before: u64 = servers.iter().map(|s| ticks(s.child.id(), false)).sum();
    let pg_before = postmaster.map(postgres_ticks);
    let wal_before = db.wal().await?;
    let run = drive(&addrs, clients, Arc::new(bodies), seconds).await?;
    let server_after: u64 = servers.iter().map(|s| ticks(s.child.id(), false)).sum();
    let pg_after = postmaster.map(postgres_ticks);
    let after_rows = rows(db).await?;
    let wal_after = db.wal().await?;
    let per_batch = |ticks: u64| ticks as f64 / hz * 1000.0 / run.done.max(1) as f64;
    let gained = [
        after_rows[0] - before_rows[0],
        after_rows[1] - before_rows[1],
        after_rows[2] - before_rows[2],
    ];
    let line = Line {
        setup: setup.to_owned(),
        clients,
        server_ms: per_batch(server_after - server_before),
        postgres_ms: pg_before.zip(pg_after).map(|(b, a)| per_batch(a - b)),
        wal_kb: wal_before
            .zip(wal_after)
            .map(|(b, a)| (a - b) / 1024.0 / run.done.max(1) as f64),
        exact: gained == run.counters,
        run,
    };
    eprintln!(
        "{setup}, {clients} clients: {} done, statuses {:?}, counters {:?}, rows gained {gained:?}",
        line.run.done, line.run.statuses, line.run.counters
    );
    Ok(line)
}

/// The bare floor: per transaction, the rows one batch writes (1000 new contacts with the
/// same columns, 1000 memberships with their custom fields, 500 enrollments), generated by
/// PostgreSQL itself — no prefetch, no locks, no parameters to parse — into the naive schema
/// the server started with ([`NAIVE_SCHEMA`], in a database of its own): the floor issue 21
/// measures the server's schema and statements against.
const FLOOR: &str = r#"\set k 1000
SELECT nextval('floor_batch') AS b \gset
BEGIN;
INSERT INTO contacts (phone, signup_date, ip_address, url, extra, validation, created_at, updated_at)
  SELECT '+1' || (3000000000 + :b * :k + g)::text, '2025-03-15T14:30:00Z', '198.51.100.17',
         'https://example.com/signup', '{}', NULL, now(), now()
  FROM generate_series(0, :k - 1) AS g ON CONFLICT (phone) DO NOTHING;
INSERT INTO memberships (list_id, phone, custom_fields, signup_date, created_at, updated_at)
  SELECT :list, '+1' || (3000000000 + :b * :k + g)::text,
         jsonb_build_object('first_name', 'Jane', 'batch', :b), '2025-03-15T14:30:00Z', now(), now()
  FROM generate_series(0, :k - 1) AS g ON CONFLICT (phone, list_id) DO NOTHING;
INSERT INTO journey_enrollments (list_id, phone, journey, enrolled_at)
  SELECT :list, '+1' || (3000000000 + :b * :k + g)::text, 1, now()
  FROM generate_series(0, :k - 1, 2) AS g;
END;
"#;

/// The schema the server's PostgreSQL migrations V1–V3 made (row-at-a-time `text` phones,
/// every timestamp twice, a surrogate enrollment key): the floor's schema, whatever later
/// migrations changed.
const NAIVE_SCHEMA: [&str; 3] = [
    include_str!("../../../migrations/postgres/V1__schema.sql"),
    include_str!("../../../migrations/postgres/V2__hashed_api_keys.sql"),
    include_str!("../../../migrations/postgres/V3__idempotency_keys.sql"),
];

/// A database of `cluster` with the naive schema and one list (one welcome journey): the
/// floor's URL, a connection to it and the list's id.
async fn floor_database(cluster: &Cluster) -> Result<(String, tokio_postgres::Client, i64), Error> {
    let url = cluster.create_database("floor").await?;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    for sql in NAIVE_SCHEMA {
        client.batch_execute(sql).await?;
    }
    client
        .batch_execute("INSERT INTO accounts (name) VALUES ('floor')")
        .await?;
    let list_id: i64 = client
        .query_one(
            "INSERT INTO sending_lists (account_id, list_number, welcome_journeys)
             SELECT id, $1, 1 FROM accounts WHERE name = 'floor' RETURNING id",
            &[&LIST],
        )
        .await?
        .get(0);
    Ok((url, client, list_id))
}

async fn pgbench_floor(
    clients: usize,
    cluster: &Cluster,
    url: &str,
    client: &tokio_postgres::Client,
    list_id: i64,
    transactions: usize,
    hz: f64,
) -> Result<(f64, f64, f64), Error> {
    client
        .batch_execute("CREATE SEQUENCE IF NOT EXISTS floor_batch")
        .await?;
    let dir = std::env::temp_dir().join(format!("bulk-contacts-floor-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("floor.sql");
    std::fs::write(&script, FLOOR)?;
    let pgbench = [cluster.bin().join("pgbench"), PathBuf::from("pgbench")]
        .into_iter()
        .find(|p| p.is_file() || p == Path::new("pgbench"))
        .ok_or("pgbench")?;
    let postmaster = cluster.postmaster_pid().ok_or("postmaster.pid")?;
    let per_client = transactions.div_ceil(clients);
    let wal = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8";
    let wal_before: f64 = client.query_one(wal, &[]).await?.get(0);
    let before = postgres_ticks(postmaster);
    let started = Instant::now();
    let output = Command::new(&pgbench)
        .args(["-n", "-c", &clients.to_string(), "-j", "2"])
        .args(["-t", &per_client.to_string()])
        .args(["-D", &format!("list={list_id}"), "-f"])
        .arg(&script)
        .arg(url)
        .output()?;
    let elapsed = started.elapsed();
    let after = postgres_ticks(postmaster);
    let wal_after: f64 = client.query_one(wal, &[]).await?.get(0);
    let _ = std::fs::remove_dir_all(&dir);
    if !output.status.success() {
        return Err(format!("pgbench: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let done = (per_client * clients) as f64;
    Ok((
        (after - before) as f64 / hz * 1000.0 / done,
        done / elapsed.as_secs_f64(),
        (wal_after - wal_before) / 1024.0 / done,
    ))
}

async fn suite(options: &Options) -> Result<(), Error> {
    let hz = clock_ticks_per_second();
    let numbers = Numbers::new(false);
    let k = options.contacts;
    let requests = options.requests;
    let (engine_wall, engine_ms) = engine_alone(&numbers, k, 300, hz)?;
    let mut lines = Vec::new();
    // Every run writes its own numbers: the next free region of the pool.
    let mut offset = 0;
    let mut region = |n: usize| {
        let start = offset;
        offset += n * k;
        start
    };

    // SQLite, one instance, over a file (so that this tool can count its rows).
    let dir = std::env::temp_dir().join(format!("bulk-contacts-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("load.db");
    {
        let path = file.to_str().ok_or("utf-8 path")?;
        let server = start_server(&["--db", path, "--seed-demo"])?;
        let db = Db::Sqlite(SqliteStore::open(&file)?);
        for clients in [1, 4, 16] {
            let bodies = bodies(&numbers, requests, region(requests), k, k, 0);
            lines.push(
                measured(
                    "SQLite, 1 instance",
                    std::slice::from_ref(&server),
                    None,
                    &db,
                    clients,
                    bodies,
                    options.seconds,
                    hz,
                )
                .await?,
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    let cluster = Cluster::start()?;
    let url = cluster.create_database("load").await?;
    let postmaster = cluster.postmaster_pid().ok_or("postmaster.pid")?;
    let store = PgStore::connect(&url, 2).await?;
    demo::seed_demo(&store).await?;
    let db = Db::Postgres(store.clone());
    // (instances, one thread each?): the last is one instance per core, each on one thread
    // (`--worker-threads 1`), the deployment the server's README suggests for throughput per
    // core.
    for (instances, one_thread) in [(1, false), (2, false), (4, false), (2, true)] {
        let mut args = vec!["--database-url", &url, "--pool-size", "8"];
        if one_thread {
            args.extend(["--worker-threads", "1"]);
        }
        let servers = (0..instances)
            .map(|_| start_server(&args))
            .collect::<Result<Vec<_>, _>>()?;
        let setup = format!(
            "PostgreSQL, {instances} instance{}{}",
            if instances > 1 { "s" } else { "" },
            if one_thread { " of 1 thread" } else { "" }
        );
        let client_counts: &[usize] = match (instances, one_thread) {
            (4, _) => &[16],
            (_, true) => &[4, 16],
            _ => &[1, 4, 16],
        };
        for &clients in client_counts {
            let start = region(requests);
            // New contacts; on one instance and on the one-thread ones, then the re-import:
            // the same contacts again, with changed custom fields (every contact and
            // membership updated, nothing inserted).
            let revisions: &[usize] = if instances == 1 || one_thread {
                &[0, 1]
            } else {
                &[0]
            };
            for &revision in revisions {
                let name = if revision == 0 {
                    setup.clone()
                } else {
                    format!("{setup}, re-import (same phones, changed custom fields)")
                };
                let bodies = bodies(&numbers, requests, start, k, k, revision);
                lines.push(
                    measured(
                        &name,
                        &servers,
                        Some(postmaster),
                        &db,
                        clients,
                        bodies,
                        options.seconds,
                        hz,
                    )
                    .await?,
                );
            }
        }
        if instances > 1 && !one_thread {
            // Overlapping batches: each number is in two consecutive batches, which run on
            // different instances at the same time.
            let start = region(requests / 2 + 1);
            let bodies = bodies(&numbers, requests, start, k / 2, k, 0);
            lines.push(
                measured(
                    &format!("{setup}, overlapping batches"),
                    &servers,
                    Some(postmaster),
                    &db,
                    16,
                    bodies,
                    options.seconds,
                    hz,
                )
                .await?,
            );
        }
    }
    let (floor_url, floor_client, floor_list) = floor_database(&cluster).await?;
    let (floor_ms, floor_tps, floor_wal) = pgbench_floor(
        4,
        &cluster,
        &floor_url,
        &floor_client,
        floor_list,
        requests,
        hz,
    )
    .await?;
    let (floor16_ms, floor16_tps, _) = pgbench_floor(
        16,
        &cluster,
        &floor_url,
        &floor_client,
        floor_list,
        requests,
        hz,
    )
    .await?;

    println!(
        "engine alone, in-process, one batch of {k}: median {engine_wall:.2} ms wall, \
         {engine_ms:.2} ms CPU; pgbench floor, 4 clients: {floor_tps:.1} transactions/s, \
         PostgreSQL CPU {floor_ms:.2} ms and WAL {floor_wal:.0} kB per transaction; \
         16 clients: {floor16_tps:.1} transactions/s, PostgreSQL CPU {floor16_ms:.2} ms"
    );
    println!();
    println!(
        "| setup | clients | batches | contacts/s | p50 ms | p99 ms | non-200 | counters = rows | server CPU ms/batch | ÷ engine | PostgreSQL CPU ms/batch | ÷ floor | WAL kB/batch |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for line in &lines {
        println!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {} | {} | {:.2} | {:.2} | {} | {} | {} |",
            line.setup,
            line.clients,
            line.run.done,
            line.run.contacts_per_second(k),
            ms(percentile(&line.run.latencies, 0.5)),
            ms(percentile(&line.run.latencies, 0.99)),
            line.run.non_200(),
            if line.exact { "yes" } else { "**no**" },
            line.server_ms,
            line.server_ms / engine_ms,
            line.postgres_ms
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.2}")),
            line.postgres_ms
                .map_or_else(|| "–".to_owned(), |v| format!("{:.2}", v / floor_ms)),
            line.wal_kb
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.0}")),
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let options = parse().map_err(|message| {
        format!(
            "{message}\nusage: load --addr ADDR [--addr ADDR]... [--requests N] [--clients C] \
             [--contacts K] [--stride S] [--offset O] [--revision V] [--seconds T]\n       load --suite [--requests N]"
        )
    })?;
    if options.suite {
        suite(&options).await
    } else {
        plain(&options).await
    }
}

//! `load [--requests N] [--clients C] [--contacts K] [--seconds S] [--addr ADDR]`
//!
//! A small load generator, loopback only, bounded in count and time: C clients send N
//! requests in all of K contacts each (default 200 × 1000 over 4 clients, 120 s at most) and
//! it reports requests/s and the p50/p99 latency. Without `--addr` it starts the server
//! in-process on an in-memory database seeded with the demo world; with `--addr` the server
//! there must hold the demo account (`--seed-demo`).
//!
//! It also times, in-process and without HTTP, the engine alone (`read` → `keys` →
//! `evaluate` over maps) and the store's transaction (`Store::apply`: prefetch, evaluate,
//! write) on one batch of the same shape, so that the share of each is visible.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bulk_contacts::testing::World;
use bulk_contacts::{CarrierValidationMap, DirectoryMap, Engine, SendingList, Timestamp};
use bulk_contacts_server::client::Client;
use bulk_contacts_server::{App, Store};

const KEY: &str = bulk_contacts::testing::DEFAULT_API_KEY;
const LIST: &str = "+18005551234";
/// Distinct phone numbers the batches cycle through: the first batches create contacts,
/// the later ones find them.
const POOL: usize = 40_000;

struct Options {
    requests: usize,
    clients: usize,
    contacts: usize,
    seconds: u64,
    addr: Option<SocketAddr>,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        requests: 200,
        clients: 4,
        contacts: 1000,
        seconds: 120,
        addr: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let number = |text: String| text.parse::<usize>().map_err(|e| format!("{text}: {e}"));
        match arg.as_str() {
            "--requests" => options.requests = number(value()?)?.min(100_000),
            "--clients" => options.clients = number(value()?)?.clamp(1, 64),
            "--contacts" => options.contacts = number(value()?)?.clamp(1, 1000),
            "--seconds" => options.seconds = number(value()?)?.clamp(1, 600) as u64,
            "--addr" => {
                let text = value()?;
                let addr: SocketAddr = text.parse().map_err(|e| format!("{text}: {e}"))?;
                if !addr.ip().is_loopback() {
                    return Err(format!("{addr}: only loopback addresses"));
                }
                options.addr = Some(addr);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// A phone number of the pool: +1 (415|212|312|646) 555 dddd.
fn phone(n: usize) -> String {
    let area = ["415", "212", "312", "646"][n / 10_000 % 4];
    format!("+1{area}555{:04}", n % 10_000)
}

/// Batch `r`: `k` contacts with consecutive numbers of the pool, half with journeys.
fn batch(r: usize, k: usize) -> Vec<u8> {
    let contacts: Vec<serde_json::Value> = (0..k)
        .map(|i| {
            serde_json::json!({
                "phone_number": phone((r * k + i) % POOL),
                "list_number": LIST,
                "use_journeys": i % 2 == 0,
                "signup_date": "2025-03-15T14:30:00Z",
                "ip_address": "198.51.100.17",
                "url": "https://example.com/signup",
                "custom_fields": {"first_name": "Jane", "batch": r},
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

/// The median of `runs` timings of `f`.
fn median_of(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    percentile(&times, 0.5)
}

fn in_process_figures(contacts: usize) -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let body = batch(0, contacts);
    let now = Timestamp::now();
    let lists = HashMap::from([(
        LIST.to_owned(),
        SendingList {
            welcome_journeys: 1,
        },
    )]);
    let (carrier, directory) = (CarrierValidationMap::default(), DirectoryMap::default());
    let mut failed = None;
    let engine_time = median_of(50, || {
        let outcome = engine.read(&body, now).and_then(|batch| {
            std::hint::black_box(batch.keys());
            batch
                .evaluate(&lists, &carrier, &directory)
                .map(|evaluation| evaluation.counts())
                .map_err(|_| bulk_contacts::Rejection::InternalError)
        });
        if let Err(rejection) = outcome {
            failed = Some(rejection);
        }
    });
    if let Some(rejection) = failed {
        return Err(format!("the engine rejected the batch: {rejection}").into());
    }
    let store = Store::open(":memory:")?;
    let account = store.seed_world("demo", &World::builtin())?;
    let parsed = engine.read(&body, now)?;
    let mut store_failed = None;
    // First run inserts; the median is over the runs that find every contact.
    let store_time = median_of(21, || {
        if let Err(error) = store.apply(account, &parsed) {
            store_failed = Some(error.to_string());
        }
    });
    if let Some(error) = store_failed {
        return Err(error.into());
    }
    println!(
        "in-process, one batch of {contacts}: engine alone (read + keys + evaluate over maps) \
         median {:.2} ms; store transaction (prefetch + evaluate + write, existing contacts) \
         median {:.2} ms",
        ms(engine_time),
        ms(store_time)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = parse().map_err(|message| {
        format!("{message}\nusage: load [--requests N] [--clients C] [--contacts K] [--seconds S] [--addr ADDR]")
    })?;
    in_process_figures(options.contacts)?;

    let addr = match options.addr {
        Some(addr) => addr,
        None => {
            let store = Store::open(":memory:")?;
            store.seed_world("demo", &World::builtin())?;
            let app = Arc::new(App {
                engine: Engine::default(),
                store: Arc::new(store),
            });
            bulk_contacts_server::spawn(SocketAddr::from(([127, 0, 0, 1], 0)), app).await?
        }
    };
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..options.requests)
            .map(|r| batch(r, options.contacts))
            .collect(),
    );
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..options.clients {
        let (bodies, next) = (Arc::clone(&bodies), Arc::clone(&next));
        let mut client = Client::new(addr).map_err(|error| error.to_string())?;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut statuses: HashMap<u16, usize> = HashMap::new();
            loop {
                let r = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = bodies.get(r) else { break };
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let sent = Instant::now();
                let reply =
                    tokio::time::timeout(left, client.post(Some(KEY.as_bytes()), body.clone()))
                        .await;
                match reply {
                    Ok(Ok(reply)) => {
                        latencies.push(sent.elapsed());
                        *statuses.entry(reply.status).or_default() += 1;
                    }
                    Ok(Err(error)) => {
                        eprintln!("request failed: {error}");
                        *statuses.entry(0).or_default() += 1;
                    }
                    Err(_) => break,
                }
            }
            (latencies, statuses)
        }));
    }
    let mut latencies = Vec::new();
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for task in tasks {
        let (mine, counts) = task.await?;
        latencies.extend(mine);
        for (status, n) in counts {
            *statuses.entry(status).or_default() += n;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let done = latencies.len();
    let rate = done as f64 / elapsed.as_secs_f64();
    println!(
        "HTTP, {} clients: {done} requests of {} contacts in {:.2} s: {:.1} requests/s \
         ({:.0} contacts/s), latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; statuses {:?}",
        options.clients,
        options.contacts,
        elapsed.as_secs_f64(),
        rate,
        rate * options.contacts as f64,
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
        statuses
    );
    Ok(())
}

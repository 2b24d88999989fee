//! `GET /metrics`: a few counters and histograms in the Prometheus text format, kept in
//! atomics (no registry crate: nine metrics, written out by hand), and [`TimedStore`], the
//! store wrapper that splits a request's time between the store and the engine.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bulk_contacts::{ContactCode, Evaluation, Keys, Timestamp, WritePlan};

use crate::store::{
    AccountRow, Prefetch, Remember, Seed, Store, StoreError, StoredAnswer, Transaction,
    Validations, Written,
};

/// The upper bounds of the latency histograms, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A histogram: one count per bucket (cumulative when written), the sum and the count.
#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    /// The sum, in nanoseconds.
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        if let Some(bucket) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// What `/metrics` reports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Bulk requests answered, by status.
    requests: Mutex<BTreeMap<u16, u64>>,
    /// Contacts of 200 answers, by outcome: `accepted` or the error code.
    contacts: Mutex<BTreeMap<String, u64>>,
    /// Bulk requests being handled.
    in_flight: AtomicI64,
    /// Requests refused by load shedding (also counted as 503 in `requests`).
    shed: AtomicU64,
    /// Client connections open.
    connections: AtomicI64,
    /// Connections closed to make room for a new one.
    evicted: AtomicU64,
    latency: Histogram,
    engine: Histogram,
    store: Histogram,
}

/// A bulk request in flight: counted in the gauge until dropped.
#[derive(Debug)]
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An open client connection: counted in the gauge until dropped.
#[derive(Debug)]
pub struct Open<'a>(&'a Metrics);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Counts a client connection in the open-connections gauge while the guard lives.
    pub fn connection(&self) -> Open<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        Open(self)
    }

    /// A connection closed to make room for a new one (it waited longest for a head).
    pub fn evicted(&self) {
        self.evicted.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request in the in-flight gauge while the guard lives.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// A request refused by load shedding.
    pub fn shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    /// A bulk request answered: its status, latency, and for a 200 the outcomes of its
    /// contacts — `outcomes`, counted by the pipeline from the evaluation, or for a 200 sent
    /// without them (a stored answer replayed) read back from the summary `body`
    /// (`success_count` and each error's `code`).
    pub fn answered(
        &self,
        status: u16,
        latency: Duration,
        body: &[u8],
        outcomes: Option<&Outcomes>,
    ) {
        *lock(&self.requests).entry(status).or_default() += 1;
        self.latency.observe(latency);
        if status != 200 {
            return;
        }
        match outcomes {
            Some(outcomes) => {
                let mut contacts = lock(&self.contacts);
                add(&mut contacts, "accepted", outcomes.accepted);
                for (code, &failed) in ContactCode::ALL.iter().zip(&outcomes.failed) {
                    if failed > 0 {
                        add(&mut contacts, code.as_str(), failed);
                    }
                }
            }
            None => self.read_back(body),
        }
    }

    /// The outcomes of a 200 answer's summary `body`, counted.
    fn read_back(&self, body: &[u8]) {
        let Ok(summary) = serde_json::from_slice::<serde_json::Value>(body) else {
            return;
        };
        let mut contacts = lock(&self.contacts);
        if let Some(accepted) = summary["success_count"].as_u64() {
            add(&mut contacts, "accepted", accepted);
        }
        for error in summary["errors"].as_array().into_iter().flatten() {
            if let Some(code) = error["code"].as_str() {
                add(&mut contacts, code, 1);
            }
        }
    }

    /// A processed batch's split: time in store calls, and the rest of the processing
    /// (the engine's reading and evaluation, and the plan).
    pub fn processed(&self, engine: Duration, store: Duration) {
        self.engine.observe(engine);
        self.store.observe(store);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP bulk_contacts_requests_total Bulk requests answered, by status.\n\
             # TYPE bulk_contacts_requests_total counter\n",
        );
        for (status, count) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "bulk_contacts_requests_total{{status=\"{status}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP bulk_contacts_contacts_total Contacts of 200 answers, by outcome \
             (accepted or the error code).\n\
             # TYPE bulk_contacts_contacts_total counter\n",
        );
        for (outcome, count) in lock(&self.contacts).iter() {
            let _ = writeln!(
                out,
                "bulk_contacts_contacts_total{{outcome=\"{outcome}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP bulk_contacts_shed_total Bulk requests refused with 503 by load shedding.\n\
             # TYPE bulk_contacts_shed_total counter\n\
             bulk_contacts_shed_total {}",
            self.shed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP bulk_contacts_in_flight Bulk requests being handled.\n\
             # TYPE bulk_contacts_in_flight gauge\n\
             bulk_contacts_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP bulk_contacts_connections_open Client connections open.\n\
             # TYPE bulk_contacts_connections_open gauge\n\
             bulk_contacts_connections_open {}",
            self.connections.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP bulk_contacts_connections_evicted_total Connections closed past \
             --max-connections to make room for a new one (each the one waiting longest \
             for a request head).\n\
             # TYPE bulk_contacts_connections_evicted_total counter\n\
             bulk_contacts_connections_evicted_total {}",
            self.evicted.load(Ordering::Relaxed)
        );
        self.latency.write(
            &mut out,
            "bulk_contacts_request_duration_seconds",
            "Bulk request latency, from the handler's start to the answer.",
        );
        self.engine.write(
            &mut out,
            "bulk_contacts_engine_duration_seconds",
            "Per processed batch: the time outside store calls (the engine, the plan).",
        );
        self.store.write(
            &mut out,
            "bulk_contacts_store_duration_seconds",
            "Per processed batch: the time in store calls (locks, queries, commit).",
        );
        out
    }
}

/// The outcomes of a summary's contacts: accepted, and failed by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcomes {
    /// Accepted contacts (`success_count`).
    pub accepted: u64,
    /// Failed contacts, by code, in the order of [`ContactCode::ALL`].
    pub failed: [u64; ContactCode::ALL.len()],
}

impl Outcomes {
    /// The outcomes of `evaluation` (what its summary body says).
    pub fn of(evaluation: &Evaluation<'_>) -> Outcomes {
        let mut outcomes = Outcomes {
            accepted: evaluation.counts().success_count as u64,
            ..Outcomes::default()
        };
        for failed in evaluation.errors() {
            let code = failed.error.code();
            let at = ContactCode::ALL.iter().position(|known| *known == code);
            if let Some(count) = at.and_then(|at| outcomes.failed.get_mut(at)) {
                *count += 1;
            }
        }
        outcomes
    }
}

/// Adds `count` to `outcome`'s counter (a new name is copied once, when first counted).
fn add(contacts: &mut BTreeMap<String, u64>, outcome: &str, count: u64) {
    match contacts.get_mut(outcome) {
        Some(total) => *total += count,
        None => {
            contacts.insert(outcome.to_owned(), count);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

tokio::task_local! {
    /// The store time of the request running on this task.
    static STORE_TIME: Cell<Duration>;
}

/// Runs `future` (one request's processing) and returns its output with the time it spent
/// in the store calls of a [`TimedStore`].
pub async fn with_store_time<F: Future>(future: F) -> (F::Output, Duration) {
    STORE_TIME
        .scope(Cell::new(Duration::ZERO), async {
            let output = future.await;
            (output, STORE_TIME.with(Cell::get))
        })
        .await
}

async fn timed<F: Future>(future: F) -> F::Output {
    let started = Instant::now();
    let output = future.await;
    let _ = STORE_TIME.try_with(|time| time.set(time.get() + started.elapsed()));
    output
}

/// A store that adds the time of each of its calls to the current request's store time.
#[derive(Debug, Clone)]
pub struct TimedStore<S>(pub S);

/// The transaction of a [`TimedStore`].
#[derive(Debug)]
pub struct TimedTx<T>(T);

impl<S: Store> Store for TimedStore<S> {
    type Tx = TimedTx<S::Tx>;

    async fn find_account(&self, key: &str) -> Result<Option<AccountRow>, StoreError> {
        timed(self.0.find_account(key)).await
    }

    async fn begin(&self, phones: &[&str]) -> Result<Self::Tx, StoreError> {
        timed(self.0.begin(phones)).await.map(TimedTx)
    }

    async fn seed(&self, seed: &Seed) -> Result<i64, StoreError> {
        self.0.seed(seed).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }

    async fn find_answer(
        &self,
        account: i64,
        key: &str,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        timed(self.0.find_answer(account, key)).await
    }

    async fn expire_answers(&self, before: i64, limit: usize) -> Result<u64, StoreError> {
        self.0.expire_answers(before, limit).await
    }
}

impl<T: Transaction> Transaction for TimedTx<T> {
    async fn prefetch(&mut self, account: i64, keys: &Keys<'_>) -> Result<Prefetch, StoreError> {
        timed(self.0.prefetch(account, keys)).await
    }

    async fn validate<'p>(&mut self, phones: &[&'p str]) -> Result<Validations<'p>, StoreError> {
        timed(self.0.validate(phones)).await
    }

    async fn write(&mut self, plan: &WritePlan<'_>, now: Timestamp) -> Result<Written, StoreError> {
        timed(self.0.write(plan, now)).await
    }

    async fn remember(&mut self, entry: &Remember<'_>) -> Result<bool, StoreError> {
        timed(self.0.remember(entry)).await
    }

    async fn commit(self) -> Result<(), StoreError> {
        timed(self.0.commit()).await
    }

    async fn rollback(self) -> Result<(), StoreError> {
        timed(self.0.rollback()).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bulk_contacts::{
        Carrier, CarrierValidationMap, DirectoryMap, Engine, Response, SendingList,
    };

    use super::*;

    /// The `bulk_contacts_contacts_total` lines of `metrics`.
    fn contact_lines(metrics: &Metrics) -> Vec<String> {
        let rendered = metrics.render();
        let lines = rendered
            .lines()
            .filter(|l| l.starts_with("bulk_contacts_contacts_total{"));
        lines.map(str::to_owned).collect()
    }

    #[test]
    fn outcomes_counted_from_the_evaluation_are_those_read_back_from_its_summary() {
        let list = "+18005551234";
        let contact = |phone: &str, more: &str| {
            format!(r#"{{"phone_number": "{phone}", "list_number": "{list}"{more}}}"#)
        };
        let batches = [
            vec![
                contact("+14155550000", ""),
                contact("+14155550001", ""),
                contact("+14155550002", ""), // not sendable
                contact("+14155550003", r#", "use_validation": true"#), // provider_error
                contact("+1415", ""),
                r#"{"list_number": "+18005551234"}"#.to_owned(),
                contact("+14155550004", r#", "url": 1"#),
                contact("+14155550005", "").replace(list, "+18005550000"),
                contact("+14155550006", r#", "url": 2"#),
            ],
            // Nothing accepted: `accepted` counts 0 all the same.
            vec![contact("+1415", "")],
        ];
        let lists = HashMap::from([(list.to_owned(), SendingList::default())]);
        let mut carrier = CarrierValidationMap::default();
        carrier
            .carrier_verdicts
            .insert("+14155550002".to_owned(), Carrier::NotSendable);
        let (counted, read_back) = (Metrics::default(), Metrics::default());
        for contacts in batches {
            let body = format!(r#"{{"contacts": [{}]}}"#, contacts.join(","));
            let batch = Engine::default()
                .read(body.as_bytes(), Timestamp::UNIX_EPOCH)
                .expect("a batch");
            let evaluation = batch
                .evaluate(&lists, &carrier, &DirectoryMap::default())
                .expect("evaluated");
            let summary = Response::summary(&evaluation).body;
            let latency = Duration::from_millis(3);
            let outcomes = Outcomes::of(&evaluation);
            counted.answered(200, latency, &summary, Some(&outcomes));
            read_back.answered(200, latency, &summary, None);
        }
        assert_eq!(
            contact_lines(&counted),
            [
                r#"bulk_contacts_contacts_total{outcome="accepted"} 2"#,
                r#"bulk_contacts_contacts_total{outcome="invalid_field"} 2"#,
                r#"bulk_contacts_contacts_total{outcome="invalid_phone"} 2"#,
                r#"bulk_contacts_contacts_total{outcome="list_not_found"} 1"#,
                r#"bulk_contacts_contacts_total{outcome="missing_phone_number"} 1"#,
                r#"bulk_contacts_contacts_total{outcome="not_sendable"} 1"#,
                r#"bulk_contacts_contacts_total{outcome="provider_error"} 1"#,
            ]
        );
        assert_eq!(counted.render(), read_back.render());
    }
}

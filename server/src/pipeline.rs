//! The request path, written once over any [`Store`], and the only module that calls the
//! engine: SPEC §3's order — the key's format, the account and its keys, the body limit
//! (for [`crate::http`]), the JSON and rules 1–8, billing — then, in one transaction: the
//! write locks of the batch's phones, one prefetch query per key kind (into the engine's
//! maps), the validation results of the contacts that pass rules 9 and 10, `evaluate`, the
//! engine's write plan, and a check that the rows written are the counters of the summary.
//! Any store error rolls back and answers 500, or 503 `store_unavailable` when the store could
//! not be reached within the store timeout (every store call is bounded by it).

use std::time::Duration;

use bulk_contacts::{Batch, Engine, Keys, Limits, Rejection, Response, Timestamp, WritePlan};

use crate::blocking;
use crate::metrics::Outcomes;
use std::collections::HashSet;
use std::sync::Mutex;

use crate::store::{
    AccountRow, DEFAULT_STORE_TIMEOUT, Remember, Store, StoreError, StoredAnswer, Transaction,
    expect_counters,
};

/// The body of a 422: an `Idempotency-Key` already used with a different request body.
pub const IDEMPOTENCY_KEY_REUSED_BODY: &str = r#"{"error":"Idempotency-Key was already used with a different request body","code":"idempotency_key_reused"}"#;

/// How long a stored answer is kept at least: 24 hours (SPEC §10.1).
pub const IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// Stored answers are deleted this many at a time, each batch in its own short transaction,
/// so that the sweep never holds the store for long.
pub const EXPIRY_BATCH: usize = 500;

/// The current time in Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// The body of a 503 when the store could not be reached or did not answer within the store
/// timeout (SPEC §10.1; with `Retry-After`).
pub const STORE_UNAVAILABLE_BODY: &str =
    r#"{"error":"The contact store is unavailable, retry later","code":"store_unavailable"}"#;

/// Bounds a store call by `timeout`: past it, [`StoreError::Unavailable`].
pub async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::Unavailable(format!(
            "no answer within the store timeout ({timeout:?})"
        ))),
    }
}

/// An answer: status, JSON body, and the batch's size when it was read (for the log line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Vec<u8>,
    /// The number of contacts, when the body was read as a batch.
    pub contacts: Option<usize>,
    /// A stored answer sent again for an `Idempotency-Key` (`Idempotent-Replayed: true`).
    pub replayed: bool,
    /// The outcomes of a summary's contacts, for the metrics, when this request evaluated
    /// the batch (a replayed summary has none: the metrics read its body).
    pub outcomes: Option<Outcomes>,
}

/// The `X-Api-Key` header as a request carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHeader<'h> {
    /// No `X-Api-Key` header.
    Absent,
    /// One header: its value.
    One(&'h [u8]),
    /// Two or more headers.
    Repeated,
}

/// The engine and a store: what every request shares.
#[derive(Debug)]
pub struct App<S> {
    engine: Engine,
    /// The database.
    pub store: S,
    /// The most each store call may take (`--store-timeout`).
    store_timeout: Duration,
    /// The (account, `Idempotency-Key`) of the requests being processed by this instance.
    keys_in_flight: Mutex<HashSet<(i64, String)>>,
    /// Test hook (`--pause-after-commit`): sleep this long after each COMMIT, before the
    /// answer, so that a test can kill the process between the two.
    pause_after_commit: Option<Duration>,
}

/// An `Idempotency-Key` being processed; released when dropped.
#[derive(Debug)]
pub struct KeyInFlight<'a> {
    keys: &'a Mutex<HashSet<(i64, String)>>,
    entry: (i64, String),
}

impl Drop for KeyInFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.remove(&self.entry);
        }
    }
}

impl<S: Store> App<S> {
    /// The engine with its default limits over `store`.
    pub fn new(store: S) -> App<S> {
        App::with_limits(store, Limits::default())
    }

    /// The engine with `limits` over `store`.
    pub fn with_limits(store: S, limits: Limits) -> App<S> {
        let engine = Engine::new(limits);
        App {
            engine,
            store,
            store_timeout: DEFAULT_STORE_TIMEOUT,
            keys_in_flight: Mutex::new(HashSet::new()),
            pause_after_commit: None,
        }
    }

    /// Test hook: sleeps `pause` after each COMMIT, before answering (`--pause-after-commit`).
    pub fn with_pause_after_commit(mut self, pause: Option<Duration>) -> App<S> {
        self.pause_after_commit = pause;
        self
    }

    /// Marks `key` of `account` as being processed by this instance, or `None` when it
    /// already is (the request is answered 409 `idempotency_key_in_progress`).
    pub fn key_in_flight(&self, account: i64, key: &str) -> Option<KeyInFlight<'_>> {
        let entry = (account, key.to_owned());
        let inserted = self.keys_in_flight.lock().ok()?.insert(entry.clone());
        // (The guard is made after the lock is released: its drop takes the lock.)
        inserted.then_some(KeyInFlight {
            keys: &self.keys_in_flight,
            entry,
        })
    }

    /// Deletes the stored answers older than the retention (24 h) at `now` (Unix seconds),
    /// [`EXPIRY_BATCH`] at a time; returns how many.
    pub async fn expire_answers(&self, now: i64) -> Result<u64, StoreError> {
        let before = now - IDEMPOTENCY_RETENTION.as_secs() as i64;
        let mut total = 0;
        loop {
            let deleted = self
                .bounded(self.store.expire_answers(before, EXPIRY_BATCH))
                .await?;
            total += deleted;
            if deleted < EXPIRY_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// Every store call bounded by `timeout` (`--store-timeout`; 5 s by default).
    pub fn with_store_timeout(mut self, timeout: Duration) -> App<S> {
        self.store_timeout = timeout;
        self
    }

    /// The store timeout.
    pub fn store_timeout(&self) -> Duration {
        self.store_timeout
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        bounded(self.store_timeout, call).await
    }

    fn answer(&self, response: Result<Response, Rejection>, contacts: Option<usize>) -> Answer {
        let response = response.unwrap_or_else(|no| Response::rejected(no, self.engine.limits()));
        let (status, body) = (response.status, response.body);
        Answer {
            status,
            body,
            contacts,
            replayed: false,
            outcomes: None,
        }
    }

    /// A store error, logged and answered: 503 `store_unavailable` when the store could not
    /// be reached in time (the client may retry), else 500. Nothing was written — unless the
    /// COMMIT itself failed, which is logged apart (`store_batch`).
    fn internal(&self, error: StoreError, contacts: Option<usize>) -> Answer {
        if error.is_unavailable() {
            tracing::warn!(%error, "store unavailable");
            return Answer {
                status: 503,
                body: STORE_UNAVAILABLE_BODY.as_bytes().to_vec(),
                contacts,
                replayed: false,
                outcomes: None,
            };
        }
        tracing::error!(%error, "database error, nothing written");
        self.answer(Err(Rejection::InternalError), contacts)
    }

    /// Check 1: the header is present, once, and well formed (no database access), then the
    /// account owning the key (its billing status read by the store), compared in constant
    /// time with all its keys.
    pub async fn account(&self, header: KeyHeader<'_>) -> Result<AccountRow, Answer> {
        let rejected = |no| self.answer(Err(no), None);
        let header = match header {
            KeyHeader::Absent => None,
            KeyHeader::One(value) => Some(value),
            // Two keys are not one well-formed key: "Invalid API key", whatever they hold.
            KeyHeader::Repeated => return Err(rejected(Rejection::InvalidApiKey)),
        };
        let key = self.engine.check_key_format(header).map_err(rejected)?;
        let key = String::from_utf8_lossy(key);
        let row = match self.bounded(self.store.find_account(&key)).await {
            Ok(Some(row)) => row,
            Ok(None) => return Err(rejected(Rejection::InvalidApiKey)),
            Err(error) => return Err(self.internal(error, None)),
        };
        let keys = &row.account.api_keys;
        self.engine
            .authenticate(Some(key.as_bytes()), keys)
            .map_err(rejected)?;
        Ok(row)
    }

    /// Check 2's limit, in bytes.
    pub fn body_limit(&self) -> usize {
        self.engine.limits().max_body_bytes()
    }

    /// Check 2's answer.
    pub fn too_large(&self) -> Answer {
        self.answer(Err(Rejection::PayloadTooLarge), None)
    }

    /// The stored answer for a request with an `Idempotency-Key`: the same body gets the
    /// stored status and body byte for byte; another body, 422.
    fn replay(stored: StoredAnswer, request_sha256: &str) -> Answer {
        if stored.request_sha256 == request_sha256 {
            Answer {
                status: stored.status,
                body: stored.body,
                contacts: None,
                replayed: true,
                outcomes: None,
            }
        } else {
            Answer {
                status: 422,
                body: IDEMPOTENCY_KEY_REUSED_BODY.as_bytes().to_vec(),
                contacts: None,
                replayed: false,
                outcomes: None,
            }
        }
    }

    /// Checks 3 to 7 and the write. With an `Idempotency-Key` (validated, and held in flight
    /// by the caller): a stored answer for it is sent again (or 422), and a batch that is
    /// written stores its answer under the key in the same transaction.
    pub async fn process(
        &self,
        account: &AccountRow,
        body: &[u8],
        now: Timestamp,
        idempotency_key: Option<&str>,
    ) -> Answer {
        let key = idempotency_key.map(|key| (key, key_hash_bytes(body)));
        if let Some((key, hash)) = &key {
            match self.bounded(self.store.find_answer(account.id, key)).await {
                Ok(Some(stored)) => return Self::replay(stored, hash),
                Ok(None) => {}
                Err(error) => return self.internal(error, None),
            }
        }
        // The CPU-heavy part (JSON, E.164, dates, URLs) off the async workers' queue.
        let batch = match blocking(|| self.engine.read(body, now)) {
            Ok(batch) => batch,
            Err(no) => return self.answer(Err(no), None),
        };
        let contacts = Some(batch.len());
        if let Err(no) = batch.check_billing(account.account.billing) {
            return self.answer(Err(no), contacts);
        }
        let remember = key.as_ref().map(|(key, hash)| (*key, hash.as_str()));
        match self.store_batch(account.id, &batch, remember).await {
            Ok(Some((response, outcomes))) => Answer {
                outcomes: Some(outcomes),
                ..self.answer(Ok(response), contacts)
            },
            // Another request with this key committed meanwhile (another instance): its answer.
            Ok(None) => {
                let Some((key, hash)) = &key else {
                    let error = StoreError::Data("no Idempotency-Key to remember".to_owned());
                    return self.internal(error, contacts);
                };
                match self.bounded(self.store.find_answer(account.id, key)).await {
                    Ok(Some(stored)) => Self::replay(stored, hash),
                    Ok(None) => {
                        let error =
                            StoreError::Data("the Idempotency-Key's answer vanished".to_owned());
                        self.internal(error, contacts)
                    }
                    Err(error) => self.internal(error, contacts),
                }
            }
            Err(error) => self.internal(error, contacts),
        }
    }

    /// One transaction: locks, prefetch, evaluate, write, check, the answer stored under the
    /// `Idempotency-Key` if any, commit; rolled back on any error. `None`: the key was taken
    /// by a request that committed meanwhile (nothing written).
    async fn store_batch(
        &self,
        account: i64,
        batch: &Batch<'_>,
        key: Option<(&str, &str)>,
    ) -> Result<Option<(Response, Outcomes)>, StoreError> {
        let keys = batch.keys();
        let mut tx = self.bounded(self.store.begin(&keys.phones)).await?;
        let written = async {
            let (response, outcomes) =
                in_transaction(&mut tx, account, batch, &keys, self.store_timeout).await?;
            if let Some((key, hash)) = key {
                let answer = StoredAnswer {
                    request_sha256: hash.to_owned(),
                    status: response.status,
                    body: response.body.clone(),
                };
                let entry = Remember {
                    account,
                    key,
                    answer: &answer,
                    created_at: unix_now(),
                };
                if !self.bounded(tx.remember(&entry)).await? {
                    return Ok(None);
                }
            }
            Ok(Some((response, outcomes)))
        }
        .await;
        match written {
            Ok(Some(answer)) => match self.bounded(tx.commit()).await {
                Ok(()) => {
                    if let Some(pause) = self.pause_after_commit {
                        tracing::warn!("test hook: committed, pausing before the answer");
                        tokio::time::sleep(pause).await;
                    }
                    Ok(Some(answer))
                }
                Err(error) => {
                    // The COMMIT may have reached the store and succeeded before the error
                    // (a connection cut, a timeout): whether the batch was written is unknown.
                    tracing::error!(%error, "COMMIT failed: outcome unknown, the batch may be written");
                    Err(error)
                }
            },
            Ok(None) => {
                let _ = self.bounded(tx.rollback()).await;
                Ok(None)
            }
            Err(error) => {
                // If even the rollback fails, dropping the transaction discards it.
                let _ = self.bounded(tx.rollback()).await;
                Err(error)
            }
        }
    }
}

/// The lower-case hex SHA-256 of a request body.
fn key_hash_bytes(body: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(body)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

async fn in_transaction<T: Transaction>(
    tx: &mut T,
    account: i64,
    batch: &Batch<'_>,
    keys: &Keys<'_>,
    timeout: Duration,
) -> Result<(Response, Outcomes), StoreError> {
    let mut fetched = bounded(timeout, tx.prefetch(account, keys)).await?;
    // Rules 9 and 10 once; the paid validation is asked only about contacts that pass them.
    let screened = batch.screen(&fetched.lists, &fetched.carrier);
    let screened = screened.map_err(StoreError::data)?;
    let wanted = screened.validation_keys();
    if !wanted.is_empty() {
        fetched
            .carrier
            .extend(bounded(timeout, tx.validate(&wanted)).await?);
    }
    let (plan, counts, response, outcomes) = blocking(|| {
        let evaluation = screened.evaluate(&fetched.carrier, &fetched.directory);
        let evaluation = evaluation.map_err(StoreError::data)?;
        let response = Response::summary(&evaluation);
        let outcomes = Outcomes::of(&evaluation);
        Ok::<_, StoreError>((
            WritePlan::new(&evaluation),
            evaluation.counts(),
            response,
            outcomes,
        ))
    })?;
    // Every statement touches exactly the rows planned, and the rows are the counters.
    let written = bounded(timeout, tx.write(&plan, batch.now())).await?;
    expect_counters(written, counts)?;
    Ok((response, outcomes))
}

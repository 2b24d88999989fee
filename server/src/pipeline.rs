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
use crate::store::{
    AccountRow, DEFAULT_STORE_TIMEOUT, Store, StoreError, Transaction, expect_counters,
};

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
}

/// The engine and a store: what every request shares.
#[derive(Debug)]
pub struct App<S> {
    engine: Engine,
    /// The database.
    pub store: S,
    /// The most each store call may take (`--store-timeout`).
    store_timeout: Duration,
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
            };
        }
        tracing::error!(%error, "database error, nothing written");
        self.answer(Err(Rejection::InternalError), contacts)
    }

    /// Check 1: the header is present and well formed (no database access), then the
    /// account owning the key (its billing status read by the store), compared in constant
    /// time with all its keys.
    pub async fn account(&self, header: Option<&[u8]>) -> Result<AccountRow, Answer> {
        let rejected = |no| self.answer(Err(no), None);
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
        self.engine.limits().max_body_bytes
    }

    /// Check 2's answer.
    pub fn too_large(&self) -> Answer {
        self.answer(Err(Rejection::PayloadTooLarge), None)
    }

    /// Checks 3 to 7 and the write.
    pub async fn process(&self, account: &AccountRow, body: &[u8], now: Timestamp) -> Answer {
        // The CPU-heavy part (JSON, E.164, dates, URLs) off the async workers' queue.
        let batch = match blocking(|| self.engine.read(body, now)) {
            Ok(batch) => batch,
            Err(no) => return self.answer(Err(no), None),
        };
        let contacts = Some(batch.len());
        if let Err(no) = batch.check_billing(account.account.billing) {
            return self.answer(Err(no), contacts);
        }
        match self.store_batch(account.id, &batch).await {
            Ok(response) => self.answer(Ok(response), contacts),
            Err(error) => self.internal(error, contacts),
        }
    }

    /// One transaction: locks, prefetch, evaluate, write, check, commit; rolled back on any
    /// error.
    async fn store_batch(&self, account: i64, batch: &Batch<'_>) -> Result<Response, StoreError> {
        let keys = batch.keys();
        let mut tx = self.bounded(self.store.begin(&keys.phones)).await?;
        match in_transaction(&mut tx, account, batch, &keys, self.store_timeout).await {
            Ok(response) => match self.bounded(tx.commit()).await {
                Ok(()) => Ok(response),
                Err(error) => {
                    // The COMMIT may have reached the store and succeeded before the error
                    // (a connection cut, a timeout): whether the batch was written is unknown.
                    tracing::error!(%error, "COMMIT failed: outcome unknown, the batch may be written");
                    Err(error)
                }
            },
            Err(error) => {
                // If even the rollback fails, dropping the transaction discards it.
                let _ = self.bounded(tx.rollback()).await;
                Err(error)
            }
        }
    }
}

async fn in_transaction<T: Transaction>(
    tx: &mut T,
    account: i64,
    batch: &Batch<'_>,
    keys: &Keys<'_>,
    timeout: Duration,
) -> Result<Response, StoreError> {
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
    let (plan, counts, response) = blocking(|| {
        let evaluation = screened.evaluate(&fetched.carrier, &fetched.directory);
        let evaluation = evaluation.map_err(StoreError::data)?;
        let response = Response::summary(&evaluation);
        Ok::<_, StoreError>((WritePlan::new(&evaluation), evaluation.counts(), response))
    })?;
    // Every statement touches exactly the rows planned, and the rows are the counters.
    let written = bounded(timeout, tx.write(&plan, batch.now())).await?;
    expect_counters(written, counts)?;
    Ok(response)
}

//! The request path, written once over any [`Store`], and the only module that calls the
//! engine: SPEC §3's order — the key's format, the account and its keys, the body limit
//! (for [`crate::http`]), the JSON and rules 1–8, billing — then, in one transaction: the
//! write locks of the batch's phones, one prefetch query per key kind (into the engine's
//! maps), the validation results of the contacts that pass rules 9 and 10, `evaluate`, the
//! engine's write plan, and a check that the rows written are the counters of the summary.
//! Any store error rolls back and answers 500.

use bulk_contacts::{Batch, Engine, Keys, Limits, Rejection, Response, Timestamp, WritePlan};

use crate::blocking;
use crate::store::{AccountRow, Store, StoreError, Transaction, expect_counters};

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
}

impl<S: Store> App<S> {
    /// The engine with its default limits over `store`.
    pub fn new(store: S) -> App<S> {
        App::with_limits(store, Limits::default())
    }

    /// The engine with `limits` over `store`.
    pub fn with_limits(store: S, limits: Limits) -> App<S> {
        let engine = Engine::new(limits);
        App { engine, store }
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

    /// A store error, logged and answered 500: nothing was written.
    fn internal(&self, error: StoreError, contacts: Option<usize>) -> Answer {
        eprintln!("database error, nothing written: {error}");
        self.answer(Err(Rejection::InternalError), contacts)
    }

    /// Check 1: the header is present and well formed (no database access), then the
    /// account owning the key (its billing status read by the store), compared in constant
    /// time with all its keys.
    pub async fn account(&self, header: Option<&[u8]>) -> Result<AccountRow, Answer> {
        let rejected = |no| self.answer(Err(no), None);
        let key = self.engine.check_key_format(header).map_err(rejected)?;
        let key = String::from_utf8_lossy(key);
        let row = match self.store.find_account(&key).await {
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
        let mut tx = self.store.begin(&keys.phones).await?;
        match in_transaction(&mut tx, account, batch, &keys).await {
            Ok(response) => tx.commit().await.map(|()| response),
            Err(error) => {
                // If even the rollback fails, dropping the transaction discards it.
                let _ = tx.rollback().await;
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
) -> Result<Response, StoreError> {
    let mut fetched = tx.prefetch(account, keys).await?;
    // Rules 9 and 10 once; the paid validation is asked only about contacts that pass them.
    let screened = batch.screen(&fetched.lists, &fetched.carrier);
    let screened = screened.map_err(StoreError::data)?;
    let wanted = screened.validation_keys();
    if !wanted.is_empty() {
        fetched.carrier.extend(tx.validate(&wanted).await?);
    }
    let (plan, counts, response) = blocking(|| {
        let evaluation = screened.evaluate(&fetched.carrier, &fetched.directory);
        let evaluation = evaluation.map_err(StoreError::data)?;
        let response = Response::summary(&evaluation);
        Ok::<_, StoreError>((WritePlan::new(&evaluation), evaluation.counts(), response))
    })?;
    // Every statement touches exactly the rows planned, and the rows are the counters.
    expect_counters(tx.write(&plan, batch.now()).await?, counts)?;
    Ok(response)
}

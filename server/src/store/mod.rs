//! The stores behind the request path: what a backend must do, in plain owned rows, so that
//! the request path ([`crate::pipeline`]) is written once over both.
//!
//! A request is one [`Transaction`]: [`Store::begin`] takes the write locks of the batch's
//! phone numbers (SQLite: the whole database; PostgreSQL: one advisory lock per phone, in
//! sorted order), then the prefetch reads one query per key kind, the engine evaluates, and
//! [`Transaction::write`] applies the engine's [`WritePlan`] with a few multi-row statements.
//! The rows each statement reports are checked against the plan before
//! [`Transaction::commit`].
//!
//! The stores speak the engine's types where it has them: the prefetch collects its rows
//! into the engine's maps and into [`Existing`], the server's directory of the rows found
//! ([`Prefetch`]), and the write binds the plan's rows to statements.

mod flow;
pub use flow::{Existing, RowMap};
pub mod postgres;
pub mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;

use bulk_contacts::{
    Account, Billing, Carrier, CarrierValidationMap, Counts, Keys, ProviderError, SendingList,
    Timestamp, ValidationResult, WritePlan, WriteRound,
};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// The stored key of a phone number: its E.164 digits as an integer (`+14155550123` →
/// 14155550123), or `None` when `phone` is not `+` and 1 to 15 digits, the first not 0 (no
/// such phone is stored, see migration V4). One to one with the text (`postgres::phone_text`).
pub fn phone_key(phone: &str) -> Option<i64> {
    let digits = phone.strip_prefix('+')?.as_bytes();
    if !(1..=15).contains(&digits.len()) || digits.first() == Some(&b'0') {
        return None;
    }
    // At most 15 digits: below 10^15, no overflow. One pass, no `str::parse` (a profile
    // found the parse at 5 % of the server's instructions: 3,500 phones a batch).
    digits.iter().try_fold(0_i64, |key, &digit| {
        digit
            .is_ascii_digit()
            .then(|| key * 10 + i64::from(digit - b'0'))
    })
}

/// The key of a phone the write plan or a seed stores, or a stored row holds: a phone that
/// cannot be stored is an error of the data, never written or read under another key.
fn stored_key(phone: &str) -> Result<i64, StoreError> {
    phone_key(phone).ok_or_else(|| {
        StoreError::Data(format!(
            "{phone:?} is not an E.164 number (+ and 1 to 15 digits) and cannot be stored"
        ))
    })
}

/// How a key is stored and looked up: the lower-case hex SHA-256 of its bytes. The database
/// never holds a usable key, and the lookup by hash (an index probe on a value the client
/// cannot steer) reveals nothing about stored keys through its timing.
pub fn key_hash(key: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(key.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The default of `--store-timeout`: the most any store call (a connection attempt, the wait
/// for a pooled connection, a statement) may take before the request is answered 503.
pub const DEFAULT_STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What `validation_results.result` holds for a number the provider cannot be reached for.
pub const PROVIDER_ERROR: &str = "provider_error";

/// Why a request could not be stored: the transaction is rolled back, and the request is
/// answered 503 `store_unavailable` when the store could not be reached in time
/// ([`StoreError::is_unavailable`]), else 500 `internal_error`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store did not answer within the store timeout, or could not be reached.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed: its SQLSTATE and message when the server answered.
    #[error("postgres: {}", postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool.
    #[error("postgres pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A migration failed.
    #[error("migration: {0}")]
    Migration(#[from] refinery::Error),
    /// A value read from the store is not what the schema promises, or a configuration error.
    #[error("{0}")]
    Data(String),
    /// The rows a statement touched differ from what the engine's evaluation planned.
    #[error("{what}: the store reports {actual} rows where the evaluation planned {planned}")]
    Mismatch {
        /// Which statement.
        what: &'static str,
        /// The rows planned.
        planned: u64,
        /// The rows the store reported.
        actual: u64,
    },
}

/// A PostgreSQL error as logged: `SQLSTATE: message` when the server answered.
fn postgres_message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => error.to_string(),
    }
}

impl StoreError {
    /// A value read from the store is not what the schema promises.
    pub fn data(error: impl std::fmt::Display) -> StoreError {
        StoreError::Data(error.to_string())
    }

    /// Whether the store could not be reached or did not answer in time — retryable, answered
    /// 503 `store_unavailable` — rather than something unexpected (500): a timeout; a pool
    /// that could not open or hand out a connection in time; PostgreSQL's connection closed,
    /// refused or reset, or one of its SQLSTATEs for the same (class 08 connection exception,
    /// 57P01–57P03 shutdown and start-up, 53300 too many connections); SQLite busy or locked
    /// (another process holds the file's write lock past the timeout), interrupted at the
    /// statement deadline, or unable to open its file.
    pub fn is_unavailable(&self) -> bool {
        use rusqlite::ErrorCode;
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Pool(error) => match error {
                deadpool_postgres::PoolError::Backend(error) => postgres_unreachable(error),
                deadpool_postgres::PoolError::Timeout(_) | deadpool_postgres::PoolError::Closed => {
                    true
                }
                _ => false,
            },
            StoreError::Postgres(error) => postgres_unreachable(error),
            StoreError::Sqlite(error) => matches!(
                error.sqlite_error_code(),
                Some(
                    ErrorCode::DatabaseBusy
                        | ErrorCode::DatabaseLocked
                        | ErrorCode::OperationInterrupted
                        | ErrorCode::CannotOpen
                )
            ),
            _ => false,
        }
    }
}

fn postgres_unreachable(error: &tokio_postgres::Error) -> bool {
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        return code.starts_with("08") || ["57P01", "57P02", "57P03", "53300"].contains(&code);
    }
    use std::error::Error as _;
    error.is_closed()
        || error
            .source()
            .is_some_and(|source| source.is::<std::io::Error>())
}

/// Rows inserted by one request's write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    /// Rows inserted into `contacts`.
    pub contacts: u64,
    /// Rows inserted into `memberships`.
    pub memberships: u64,
    /// Rows inserted into `journey_enrollments`.
    pub enrollments: u64,
}

/// The rows the summary's counters say a write inserts.
impl From<Counts> for Written {
    fn from(counts: Counts) -> Written {
        Written {
            contacts: counts.contacts_created as u64,
            memberships: counts.list_contacts_created as u64,
            enrollments: counts.journeys_enrolled,
        }
    }
}

/// An account as stored: found by the SHA-256 of one of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Its row id.
    pub id: i64,
    /// What the engine needs: the keys the header is compared with (the store holds only
    /// their hashes, so this is the key whose hash matched, and the engine's constant-time
    /// comparison then agrees) and the billing status, read from its column.
    pub account: Account,
}

/// What the free lookups found for a batch's keys, one query per kind: the lists and verdicts
/// in the engine's map-backed lookups (collected straight from the rows), the contacts and
/// memberships in [`Existing`].
#[derive(Debug, Clone, Default)]
pub struct Prefetch {
    /// The account's lists among the batch's list numbers.
    pub lists: HashMap<String, SendingList>,
    /// The carrier verdicts on record (the validation results are added later).
    pub carrier: CarrierValidationMap,
    /// The contacts and memberships that exist (shared with the transaction, whose write
    /// needs them too).
    pub directory: Arc<Existing>,
}

/// The paid validation's answer for each phone asked, in the order asked.
pub type Validations<'p> = Vec<(&'p str, Result<ValidationResult, ProviderError>)>;

/// The validation provider's stand-in (`validation_results`): for each of `phones`, the
/// result on record (`rows`: phone, result JSON or [`PROVIDER_ERROR`]); no row is disposition
/// `ok`, and a row that does not read as a result is the provider failing for that number
/// (a per-contact `provider_error`, never a 500).
pub fn stand_in_results<'p>(phones: &[&'p str], rows: Vec<(String, String)>) -> Validations<'p> {
    let found: HashMap<String, String> = rows.into_iter().collect();
    let result = |phone: &str| match found.get(phone) {
        None => Ok(ValidationResult::ok(phone)),
        Some(text) if text == PROVIDER_ERROR => Err(ProviderError),
        Some(text) => serde_json::from_str(text).map_err(|_| ProviderError),
    };
    phones.iter().map(|&phone| (phone, result(phone))).collect()
}

/// The row id of an accepted contact's list, from the ids the prefetch found (the engine
/// accepts only contacts whose list the prefetch found).
pub fn list_id(ids: &RowMap<String, i64>, list_number: &str) -> Result<i64, StoreError> {
    ids.get(list_number)
        .copied()
        .ok_or_else(|| StoreError::Data(format!("no list row for {list_number}")))
}

/// The rows a plan inserts, once every statement reported the rows planned.
pub fn inserts(plan: &WritePlan<'_>) -> Written {
    let sum = |f: fn(&WriteRound<'_>) -> usize| plan.rounds.iter().map(f).sum::<usize>() as u64;
    Written {
        contacts: sum(|round| round.insert_contacts.len()),
        memberships: sum(|round| round.insert_memberships.len()),
        enrollments: plan.enrollments.len() as u64,
    }
}

/// Checks that the rows a write inserted are the summary's counters (the engine's plan
/// inserts exactly those, and each statement reported the rows planned): otherwise the
/// transaction is rolled back and the request answered 500.
pub fn expect_counters(written: Written, counts: Counts) -> Result<(), StoreError> {
    if written == Written::from(counts) {
        Ok(())
    } else {
        Err(StoreError::Data(format!(
            "rows inserted {written:?} differ from the counters {counts:?}"
        )))
    }
}

/// Checks that a statement touched the rows planned.
pub fn expect_rows(what: &'static str, planned: usize, actual: u64) -> Result<(), StoreError> {
    if planned as u64 == actual {
        Ok(())
    } else {
        Err(StoreError::Mismatch {
            what,
            planned: planned as u64,
            actual,
        })
    }
}

/// An answer stored under an `Idempotency-Key` (SPEC §10.1): the SHA-256 of the request body
/// it answered, and the status and body sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// Lower-case hex SHA-256 of the request body.
    pub request_sha256: String,
    /// The HTTP status.
    pub status: u16,
    /// The body, byte for byte.
    pub body: Vec<u8>,
}

/// A world (SPEC §8) as rows, for [`Store::seed`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seed {
    /// The account's name (unique).
    pub name: String,
    /// The account's billing status.
    pub billing: Billing,
    /// Its keys.
    pub api_keys: Vec<String>,
    /// (list number, welcome journeys).
    pub lists: Vec<(String, u32)>,
    /// Phones with a contact (those of `memberships` included).
    pub contacts: Vec<String>,
    /// (phone, list number).
    pub memberships: Vec<(String, String)>,
    /// The carrier verdicts on record.
    pub verdicts: Vec<(String, Carrier)>,
    /// The validation provider's answers on record: a result, or the provider failing for
    /// that number (stored as [`PROVIDER_ERROR`]).
    pub validations: Vec<(String, Result<ValidationResult, ProviderError>)>,
    /// The world's `now` (the seeded contacts' dates).
    pub now: Timestamp,
}

/// An answer to store under an `Idempotency-Key`, with what it is stored under
/// ([`Transaction::remember`]).
#[derive(Debug, Clone, Copy)]
pub struct Remember<'a> {
    /// The account's row id.
    pub account: i64,
    /// The `Idempotency-Key`.
    pub key: &'a str,
    /// The request's hash and the answer.
    pub answer: &'a StoredAnswer,
    /// When, in Unix seconds (the expiry's clock).
    pub created_at: i64,
}

/// A database the server can run on.
pub trait Store: Send + Sync + 'static {
    /// One request's transaction.
    type Tx: Transaction;

    /// The account owning `key`, with all its keys and its billing status.
    fn find_account(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<AccountRow>, StoreError>> + Send;

    /// Begins a request's transaction holding the write locks of `phones` (distinct): no
    /// other request can write a contact, membership or enrollment of these phones until it
    /// ends. The locks are held before the transaction's first statement runs; a store may
    /// send them with that statement (PostgreSQL: `BEGIN`, the locks and the prefetch in one
    /// round trip), so a wait for them can fall in the first call after this one.
    fn begin(&self, phones: &[&str]) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;

    /// Writes a seed as account `seed.name`; idempotent. Returns the account's id.
    fn seed(&self, seed: &Seed) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Whether the store answers (a trivial query).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The answer stored under `key` for `account`, if any (committed).
    fn find_answer(
        &self,
        account: i64,
        key: &str,
    ) -> impl Future<Output = Result<Option<StoredAnswer>, StoreError>> + Send;

    /// Deletes at most `limit` stored answers created before `before` (Unix seconds), in one
    /// short transaction of its own; returns how many.
    fn expire_answers(
        &self,
        before: i64,
        limit: usize,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// One request's transaction; dropped without [`Transaction::commit`], it rolls back.
pub trait Transaction: Send {
    /// The free lookups of rules 9 and 10 and the directory, for the batch's `keys`: one
    /// query per kind. The transaction remembers the lists' row ids for [`Transaction::write`].
    fn prefetch(
        &mut self,
        account: i64,
        keys: &Keys<'_>,
    ) -> impl Future<Output = Result<Prefetch, StoreError>> + Send;

    /// The paid validation of `phones` (its stand-in: [`stand_in_results`] over the rows on
    /// record), one query.
    fn validate<'p>(
        &mut self,
        phones: &[&'p str],
    ) -> impl Future<Output = Result<Validations<'p>, StoreError>> + Send;

    /// Applies the engine's write plan (`now`: `created_at`, `updated_at`, `enrolled_at`) and
    /// checks that every statement touched the rows planned; returns the rows inserted.
    fn write(
        &mut self,
        plan: &WritePlan<'_>,
        now: Timestamp,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// Stores `entry.answer` under (`entry.account`, `entry.key`) in this transaction; `false`
    /// (nothing written) when the key is already taken — by a request that committed
    /// meanwhile. On PostgreSQL, waits for a transaction that holds the same key uncommitted.
    fn remember(
        &mut self,
        entry: &Remember<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Commits.
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Rolls back (dropping the transaction does too, less gracefully).
    fn rollback(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_validation_stand_in_answers_every_phone_asked_and_only_those() {
        let result = r#"{"phone":"+12125550000","valid":true,"line_type":"fixed line","carrier":"F","carrier_raw":"F","ported":false,"country":"US","state":"NY","city":"","on_dnc":false,"disposition":"unreachable","cost":1.50,"cached":false}"#;
        let rows = vec![
            ("+12125550000".to_owned(), result.to_owned()),
            ("+12125550001".to_owned(), PROVIDER_ERROR.to_owned()),
            ("+12125550002".to_owned(), "{not json".to_owned()),
            ("+19999999999".to_owned(), PROVIDER_ERROR.to_owned()),
        ];
        let phones = [
            "+12125550000",
            "+12125550001",
            "+12125550002",
            "+12125550003",
        ];
        let answers = stand_in_results(&phones, rows);
        let phones_answered: Vec<&str> = answers.iter().map(|(phone, _)| *phone).collect();
        assert_eq!(phones_answered, phones, "each phone asked, once, in order");
        let stored = answers[0].1.as_ref().expect("the stored result");
        assert_eq!(stored.cost.as_str(), "1.50");
        assert_eq!(answers[1].1, Err(ProviderError));
        assert_eq!(answers[2].1, Err(ProviderError), "an unreadable row");
        assert_eq!(
            answers[3].1,
            Ok(ValidationResult::ok("+12125550003")),
            "no row"
        );
    }
}

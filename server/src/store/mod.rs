//! The stores behind the request path: what a backend must do, in plain owned rows, so that
//! the request path ([`crate::pipeline`]) is written once over both.
//!
//! A request is one [`Transaction`]: [`Store::begin`] takes the write locks of the batch's
//! phone numbers (SQLite: the whole database; PostgreSQL: one advisory lock per phone, in
//! sorted order), then the prefetch reads one query per key kind, the engine evaluates, and
//! [`Transaction::write`] applies a [`WritePlan`] with a few multi-row statements. The rows
//! each statement reports are checked against the plan before [`Transaction::commit`].
//!
//! Nothing here knows the engine's types: [`crate::pipeline`] turns them into these rows.

pub mod postgres;
pub mod sqlite;

use std::fmt;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

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

/// What `validation_results.result` holds for a number the provider cannot be reached for.
pub const PROVIDER_ERROR: &str = "provider_error";

/// Why a request could not be stored: it is answered with 500 `internal_error`, and the
/// transaction is rolled back.
#[derive(Debug)]
pub enum StoreError {
    /// SQLite failed.
    Sqlite(rusqlite::Error),
    /// PostgreSQL failed.
    Postgres(tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool.
    Pool(deadpool_postgres::PoolError),
    /// A migration failed.
    Migration(refinery::Error),
    /// A value read from the store is not what the schema promises, or a configuration error.
    Data(String),
    /// The rows a statement touched differ from what the engine's evaluation planned.
    Mismatch {
        /// Which statement.
        what: &'static str,
        /// The rows planned.
        planned: u64,
        /// The rows the store reported.
        actual: u64,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Sqlite(error) => write!(f, "sqlite: {error}"),
            StoreError::Postgres(error) => match error.as_db_error() {
                Some(db) => write!(f, "postgres: {}: {}", db.code().code(), db.message()),
                None => write!(f, "postgres: {error}"),
            },
            StoreError::Pool(error) => write!(f, "postgres pool: {error}"),
            StoreError::Migration(error) => write!(f, "migration: {error}"),
            StoreError::Data(message) => f.write_str(message),
            StoreError::Mismatch {
                what,
                planned,
                actual,
            } => write!(
                f,
                "{what}: the store reports {actual} rows where the evaluation planned {planned}"
            ),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Sqlite(error)
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        StoreError::Postgres(error)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        StoreError::Pool(error)
    }
}

impl From<refinery::Error> for StoreError {
    fn from(error: refinery::Error) -> Self {
        StoreError::Migration(error)
    }
}

/// Rows inserted by one request (or predicted by the engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    /// Rows inserted into `contacts`.
    pub contacts: u64,
    /// Rows inserted into `memberships`.
    pub memberships: u64,
    /// Rows inserted into `journey_enrollments`.
    pub enrollments: u64,
}

/// An account as stored: found by the SHA-256 of one of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Its row id.
    pub id: i64,
    /// The keys the header is compared with: the store holds only their hashes, so this is
    /// the key whose hash matched (the engine's constant-time comparison then agrees).
    pub api_keys: Vec<String>,
    /// Its billing status, as the column holds it (`active`, `suspended`, …).
    pub billing: String,
}

/// A sending list found by the prefetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRow {
    /// Its canonical number.
    pub number: String,
    /// Its row id (the memberships' and enrollments' `list_id`).
    pub id: i64,
    /// Its active welcome journeys.
    pub welcome_journeys: u32,
}

/// The keys of the free lookups, distinct (the engine's `Batch::keys`).
#[derive(Debug, Clone, Copy)]
pub struct FreeKeys<'k> {
    /// List numbers.
    pub lists: &'k [&'k str],
    /// Phone numbers.
    pub phones: &'k [&'k str],
    /// (phone, list number) pairs.
    pub memberships: &'k [(&'k str, &'k str)],
}

/// What the free lookups found: one query per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Free {
    /// The lists that exist in the account.
    pub lists: Vec<ListRow>,
    /// Carrier verdicts on record: (phone, `sendable` | `not_sendable`).
    pub verdicts: Vec<(String, String)>,
    /// The phones that have a contact.
    pub contacts: Vec<String>,
    /// The (phone, list number) memberships that exist.
    pub memberships: Vec<(String, String)>,
}

/// A contact to insert, or the values to update an existing one with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    /// The canonical phone number.
    pub phone: String,
    /// `signup_date` in UTC, RFC 3339 (used on insert only: a contact keeps its first).
    pub signup_date: String,
    /// `ip_address`, when sent (replaces the stored one).
    pub ip_address: Option<String>,
    /// `url`, when sent (replaces the stored one).
    pub url: Option<String>,
    /// The other members, a JSON object (merged into the stored ones, RFC 7396).
    pub extra: String,
    /// The validation result, JSON, when validated (replaces the stored one).
    pub validation: Option<String>,
}

/// A membership to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRow {
    /// The list's row id.
    pub list_id: i64,
    /// The canonical phone number.
    pub phone: String,
    /// The custom fields, a JSON object (`{}` when none were sent).
    pub custom_fields: String,
    /// `signup_date` in UTC, RFC 3339.
    pub signup_date: String,
}

/// Custom fields sent for an existing membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldsUpdate {
    /// The list's row id.
    pub list_id: i64,
    /// The canonical phone number.
    pub phone: String,
    /// The custom fields sent, a JSON object of scalars.
    pub custom_fields: String,
    /// Replace the stored fields (`replace_custom_fields`), or merge into them.
    pub replace: bool,
}

/// One journey enrollment (a row per event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentRow {
    /// The list's row id.
    pub list_id: i64,
    /// The canonical phone number.
    pub phone: String,
    /// The journey, 1..=the list's welcome journeys.
    pub journey: u32,
}

/// One round of writes: the n-th accepted occurrence of each key of the batch, so that no
/// multi-row statement touches the same row twice and rounds apply in index order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// New contacts (first occurrence, `is_new_contact`).
    pub insert_contacts: Vec<ContactRow>,
    /// Existing contacts, or later occurrences of a new one.
    pub update_contacts: Vec<ContactRow>,
    /// New memberships (first occurrence, `is_new_list_contact`).
    pub insert_memberships: Vec<MembershipRow>,
    /// Custom fields sent for existing memberships.
    pub update_memberships: Vec<FieldsUpdate>,
}

/// Everything one request writes, planned from the engine's evaluation. The counts each
/// statement must report follow from the plan: every insert inserts, every update finds its
/// row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WritePlan {
    /// The request's `now`, RFC 3339 (`created_at`, `updated_at`, `enrolled_at`).
    pub now: String,
    /// Rounds, in order.
    pub rounds: Vec<Round>,
    /// Every enrollment.
    pub enrollments: Vec<EnrollmentRow>,
}

impl WritePlan {
    /// The rows the plan inserts.
    pub fn inserts(&self) -> Written {
        let sum = |f: fn(&Round) -> usize| self.rounds.iter().map(f).sum::<usize>() as u64;
        Written {
            contacts: sum(|round| round.insert_contacts.len()),
            memberships: sum(|round| round.insert_memberships.len()),
            enrollments: self.enrollments.len() as u64,
        }
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

/// A world (SPEC §8) as rows, for [`Store::seed`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seed {
    /// The account's name (unique).
    pub name: String,
    /// The billing column value.
    pub billing: String,
    /// Its keys.
    pub api_keys: Vec<String>,
    /// (list number, welcome journeys).
    pub lists: Vec<(String, u32)>,
    /// Phones with a contact (those of `memberships` included).
    pub contacts: Vec<String>,
    /// (phone, list number).
    pub memberships: Vec<(String, String)>,
    /// (phone, `sendable` | `not_sendable`).
    pub verdicts: Vec<(String, String)>,
    /// (phone, result JSON or [`PROVIDER_ERROR`]).
    pub validations: Vec<(String, String)>,
    /// The world's `now`, RFC 3339 (the seeded contacts' dates).
    pub now: String,
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
    /// ends.
    fn begin(&self, phones: &[&str]) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;

    /// Writes a seed as account `seed.name`; idempotent. Returns the account's id.
    fn seed(&self, seed: &Seed) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Whether the store answers (a trivial query).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One request's transaction; dropped without [`Transaction::commit`], it rolls back.
pub trait Transaction: Send {
    /// The free lookups of rules 9 and 10 and the directory: one query per kind.
    fn free(
        &mut self,
        account: i64,
        keys: FreeKeys<'_>,
    ) -> impl Future<Output = Result<Free, StoreError>> + Send;

    /// The validation results on record for `phones`: (phone, result JSON or
    /// [`PROVIDER_ERROR`]), one query.
    fn validations(
        &mut self,
        phones: &[&str],
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;

    /// Applies the plan and checks that every statement touched the rows planned; returns
    /// the rows inserted.
    fn write(
        &mut self,
        plan: &WritePlan,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// Commits.
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Rolls back (dropping the transaction does too, less gracefully).
    fn rollback(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

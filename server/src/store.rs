//! The SQLite store: the schema, seeding from a `World`, finding an account by key, and one
//! request's prefetch, evaluation and write — all three inside one `BEGIN IMMEDIATE`
//! transaction on the store's single connection, so that the counters the engine predicts
//! are the rows the transaction inserts, whatever other requests do at the same time.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use bulk_contacts::testing::{Entry, Validation, World};
use bulk_contacts::{
    Batch, Billing, Carrier, CarrierValidationMap, Counts, DirectoryMap, Evaluation, ProviderError,
    Response, SendingList, ValidationResult,
};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

/// The schema, created at start when absent.
///
/// Contacts are global (one row per phone number), memberships are per sending list, lists
/// belong to an account. The two provider tables stand in for the carrier lookup and the paid
/// validation: a row decides, no row means `sendable` / disposition `ok`.
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS accounts (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    billing TEXT NOT NULL DEFAULT 'active' CHECK (billing IN
            ('active', 'no_billing_config', 'no_payment_method', 'payment_failed', 'suspended'))
);
CREATE TABLE IF NOT EXISTS api_keys (
    key        TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id)
);
CREATE INDEX IF NOT EXISTS api_keys_by_account ON api_keys (account_id);
CREATE TABLE IF NOT EXISTS sending_lists (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    list_number      TEXT NOT NULL,
    welcome_journeys INTEGER NOT NULL DEFAULT 0 CHECK (welcome_journeys >= 0),
    UNIQUE (account_id, list_number)
);
CREATE TABLE IF NOT EXISTS contacts (
    phone       TEXT PRIMARY KEY,
    signup_date TEXT NOT NULL,
    ip_address  TEXT,
    url         TEXT,
    extra       TEXT NOT NULL DEFAULT '{}',
    validation  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memberships (
    list_id       INTEGER NOT NULL REFERENCES sending_lists (id),
    phone         TEXT NOT NULL REFERENCES contacts (phone),
    custom_fields TEXT NOT NULL DEFAULT '{}',
    signup_date   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    -- phone first: it is also the index of the foreign key to contacts.
    PRIMARY KEY (phone, list_id)
);
CREATE TABLE IF NOT EXISTS journey_enrollments (
    id          INTEGER PRIMARY KEY,
    list_id     INTEGER NOT NULL REFERENCES sending_lists (id),
    phone       TEXT NOT NULL REFERENCES contacts (phone),
    journey     INTEGER NOT NULL CHECK (journey >= 1),
    enrolled_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journey_enrollments_by_member ON journey_enrollments (phone, list_id);
CREATE TABLE IF NOT EXISTS carrier_verdicts (
    phone   TEXT PRIMARY KEY,
    verdict TEXT NOT NULL CHECK (verdict IN ('sendable', 'not_sendable'))
);
CREATE TABLE IF NOT EXISTS validation_results (
    phone  TEXT PRIMARY KEY,
    result TEXT NOT NULL
);
"#;

/// What `validation_results.result` holds for a number the provider cannot be reached for.
pub const PROVIDER_ERROR: &str = "provider_error";

/// Why a request could not be stored: it is answered with 500 `internal_error`, and the
/// transaction is rolled back.
#[derive(Debug)]
pub enum StoreError {
    /// SQLite failed.
    Sqlite(rusqlite::Error),
    /// The engine reported a failed lookup (never with maps, kept for completeness).
    Lookup(bulk_contacts::LookupError),
    /// The rows inserted differ from the counters the engine predicted.
    Mismatch {
        /// What the engine predicted.
        predicted: Written,
        /// What the transaction inserted.
        inserted: Written,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Sqlite(error) => write!(f, "sqlite: {error}"),
            StoreError::Lookup(error) => write!(f, "lookup: {error}"),
            StoreError::Mismatch {
                predicted,
                inserted,
            } => write!(
                f,
                "counters differ from the rows inserted: predicted {predicted:?}, inserted {inserted:?}"
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

/// Rows inserted by one request (or predicted by the engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    /// Rows inserted into `contacts`.
    pub contacts: usize,
    /// Rows inserted into `memberships`.
    pub memberships: usize,
    /// Rows inserted into `journey_enrollments`.
    pub enrollments: u64,
}

impl From<Counts> for Written {
    fn from(counts: Counts) -> Self {
        Written {
            contacts: counts.contacts_created,
            memberships: counts.list_contacts_created,
            enrollments: counts.journeys_enrolled,
        }
    }
}

/// An account found by one of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its row id.
    pub id: i64,
    /// All its keys, for `Engine::authenticate`.
    pub api_keys: Vec<String>,
    /// Its billing status.
    pub billing: Billing,
}

/// The database, behind one connection and one mutex (see the server's README).
pub struct Store {
    connection: Mutex<Connection>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the database at `path` — `:memory:` for a private in-memory one —
    /// and creates the schema if absent.
    pub fn open(path: impl AsRef<Path>) -> rusqlite::Result<Store> {
        let path = path.as_ref();
        let connection = if path == Path::new(":memory:") {
            Connection::open_in_memory()?
        } else {
            let connection = Connection::open(path)?;
            // WAL: readers (a `sqlite3` shell, the tests) never block the writer.
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "synchronous", "NORMAL")?;
            connection
        };
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.pragma_update(None, "foreign_keys", true)?;
        connection.execute_batch(SCHEMA)?;
        Ok(Store {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock dropped its transaction, which rolled it back: the
        // connection is still sound.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the store's connection, serialized with the requests (tests, tools).
    pub fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        f(&mut self.lock())
    }

    /// Writes a world (SPEC §8) as account `name`: its keys, billing, lists, contacts,
    /// memberships, carrier verdicts and validation results. Idempotent. Entries that make a
    /// lookup fail (`"error"`, `failures`) have no row form and are skipped.
    pub fn seed_world(&self, name: &str, world: &World) -> rusqlite::Result<i64> {
        let mut connection = self.lock();
        let tx = connection.transaction()?;
        tx.execute(
            "INSERT INTO accounts (name, billing) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET billing = excluded.billing",
            params![name, billing_name(world.billing)],
        )?;
        let account: i64 =
            tx.query_row("SELECT id FROM accounts WHERE name = ?1", [name], |row| {
                row.get(0)
            })?;
        for key in &world.api_keys {
            tx.execute(
                "INSERT OR IGNORE INTO api_keys (key, account_id) VALUES (?1, ?2)",
                params![key, account],
            )?;
        }
        for (number, entry) in &world.lists {
            if let Entry::Answer(list) = entry {
                tx.execute(
                    "INSERT INTO sending_lists (account_id, list_number, welcome_journeys)
                     VALUES (?1, ?2, ?3) ON CONFLICT (account_id, list_number)
                     DO UPDATE SET welcome_journeys = excluded.welcome_journeys",
                    params![account, number, list.welcome_journeys],
                )?;
            }
        }
        let now = world.now.to_string();
        let member_phones = world.list_contacts.keys();
        for phone in world.contacts.iter().chain(member_phones) {
            tx.execute(
                "INSERT OR IGNORE INTO contacts (phone, signup_date, created_at, updated_at)
                 VALUES (?1, ?2, ?2, ?2)",
                params![phone, now],
            )?;
        }
        for (phone, lists) in &world.list_contacts {
            for list in lists {
                tx.execute(
                    "INSERT OR IGNORE INTO memberships
                         (list_id, phone, signup_date, created_at, updated_at)
                     SELECT id, ?3, ?4, ?4, ?4 FROM sending_lists
                     WHERE account_id = ?1 AND list_number = ?2",
                    params![account, list, phone, now],
                )?;
            }
        }
        for (phone, entry) in &world.carrier {
            if let Entry::Answer(verdict) = entry {
                let verdict = match verdict {
                    Carrier::Sendable => "sendable",
                    Carrier::NotSendable => "not_sendable",
                };
                tx.execute(
                    "INSERT OR REPLACE INTO carrier_verdicts (phone, verdict) VALUES (?1, ?2)",
                    params![phone, verdict],
                )?;
            }
        }
        for (phone, validation) in &world.validation {
            let result = match validation {
                Validation::ProviderError(_) => PROVIDER_ERROR.to_owned(),
                Validation::Result(result) => serde_json::to_string(result)
                    .map_err(|error| rusqlite::Error::ToSqlConversionFailure(error.into()))?,
            };
            tx.execute(
                "INSERT OR REPLACE INTO validation_results (phone, result) VALUES (?1, ?2)",
                params![phone, result],
            )?;
        }
        tx.commit()?;
        Ok(account)
    }

    /// The account owning `key`, with all its keys and its billing status.
    pub fn find_account(&self, key: &str) -> rusqlite::Result<Option<Account>> {
        let connection = self.lock();
        let found = connection
            .query_row(
                "SELECT a.id, a.billing FROM api_keys AS k JOIN accounts AS a ON a.id = k.account_id
                 WHERE k.key = ?1",
                [key],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
            )
            .optional()?;
        let Some((id, billing)) = found else {
            return Ok(None);
        };
        let billing = parse_billing(&billing).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                format!("unknown billing status {billing:?}").into(),
            )
        })?;
        let mut keys =
            connection.prepare_cached("SELECT key FROM api_keys WHERE account_id = ?1")?;
        let api_keys = keys
            .query_map([id], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(Account {
            id,
            api_keys,
            billing,
        }))
    }

    /// Rules 9 to 12 and the write, atomically: in one `BEGIN IMMEDIATE` transaction, fetch
    /// every key the batch needs (one query per kind), evaluate, write every accepted
    /// contact, check that the rows inserted are the counters of the summary, commit.
    /// Any error rolls everything back.
    pub fn apply(&self, account: i64, batch: &Batch<'_>) -> Result<Response, StoreError> {
        let mut connection = self.lock();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut fetched = prefetch(&tx, account, batch)?;
        let screened = batch
            .screen(&fetched.lists, &fetched.carrier)
            .map_err(StoreError::Lookup)?;
        // The paid validation is asked only about contacts that pass rules 9 and 10.
        fetch_validations(&tx, &screened.validation_keys(), &mut fetched.carrier)?;
        let evaluation = screened
            .evaluate(&fetched.carrier, &fetched.directory)
            .map_err(StoreError::Lookup)?;
        let now = batch.now().to_string();
        let inserted = write(&tx, &fetched.list_ids, &evaluation, &now)?;
        let predicted = Written::from(evaluation.counts());
        if inserted != predicted {
            return Err(StoreError::Mismatch {
                predicted,
                inserted,
            });
        }
        tx.commit()?;
        Ok(Response::summary(&evaluation))
    }
}

/// What the engine needs, fetched in one query per kind.
struct Fetched {
    lists: HashMap<String, SendingList>,
    list_ids: HashMap<String, i64>,
    carrier: CarrierValidationMap,
    directory: DirectoryMap,
}

fn prefetch(tx: &Transaction<'_>, account: i64, batch: &Batch<'_>) -> rusqlite::Result<Fetched> {
    let keys = batch.keys();
    let mut lists = HashMap::new();
    let mut list_ids = HashMap::new();
    let mut query = tx.prepare_cached(
        "SELECT l.list_number, l.id, l.welcome_journeys FROM json_each(?2) AS k
         JOIN sending_lists AS l ON l.account_id = ?1 AND l.list_number = k.value",
    )?;
    let mut rows = query.query(params![account, to_json(&keys.lists)?])?;
    while let Some(row) = rows.next()? {
        let number: String = row.get(0)?;
        let welcome_journeys = row.get(2)?;
        list_ids.insert(number.clone(), row.get(1)?);
        lists.insert(number, SendingList { welcome_journeys });
    }

    let phones = to_json(&keys.phones)?;
    let mut carrier = CarrierValidationMap::default();
    let mut query = tx.prepare_cached(
        "SELECT v.phone, v.verdict FROM json_each(?1) AS k
         JOIN carrier_verdicts AS v ON v.phone = k.value",
    )?;
    let mut rows = query.query([&phones])?;
    while let Some(row) = rows.next()? {
        let verdict = match row.get_ref(1)?.as_str()? {
            "not_sendable" => Carrier::NotSendable,
            _ => Carrier::Sendable,
        };
        carrier.carrier_verdicts.insert(row.get(0)?, verdict);
    }

    let mut directory = DirectoryMap::default();
    let mut query = tx.prepare_cached(
        "SELECT c.phone FROM json_each(?1) AS k JOIN contacts AS c ON c.phone = k.value",
    )?;
    let mut rows = query.query([&phones])?;
    while let Some(row) = rows.next()? {
        directory.contact_phones.insert(row.get(0)?);
    }
    let mut query = tx.prepare_cached(
        "SELECT m.phone, l.list_number FROM json_each(?2) AS k
         JOIN sending_lists AS l ON l.account_id = ?1 AND l.list_number = k.value ->> 1
         JOIN memberships AS m ON m.list_id = l.id AND m.phone = k.value ->> 0",
    )?;
    let mut rows = query.query(params![account, to_json(&keys.memberships)?])?;
    while let Some(row) = rows.next()? {
        directory.add_membership(row.get_ref(0)?.as_str()?, row.get_ref(1)?.as_str()?);
    }

    Ok(Fetched {
        lists,
        list_ids,
        carrier,
        directory,
    })
}

/// The paid validation's results for `wanted`, in one query.
fn fetch_validations(
    tx: &Transaction<'_>,
    wanted: &[&str],
    carrier: &mut CarrierValidationMap,
) -> rusqlite::Result<()> {
    if wanted.is_empty() {
        return Ok(());
    }
    let mut found = HashMap::new();
    let mut query = tx.prepare_cached(
        "SELECT v.phone, v.result FROM json_each(?1) AS k
         JOIN validation_results AS v ON v.phone = k.value",
    )?;
    let mut rows = query.query([to_json(wanted)?])?;
    while let Some(row) = rows.next()? {
        found.insert(row.get::<_, String>(0)?, row.get::<_, String>(1)?);
    }
    for &phone in wanted {
        let result = match found.get(phone) {
            None => Ok(ValidationResult::ok(phone)),
            Some(text) if text == PROVIDER_ERROR => Err(ProviderError),
            // A row the provider stand-in cannot read is the provider failing for that
            // number — a per-contact `provider_error`, never a 500.
            Some(text) => serde_json::from_str(text).map_err(|_| ProviderError),
        };
        carrier.validation_results.insert(phone.to_owned(), result);
    }
    Ok(())
}

/// Writes the accepted contacts in index order; returns the rows inserted.
fn write(
    tx: &Transaction<'_>,
    list_ids: &HashMap<String, i64>,
    evaluation: &Evaluation<'_>,
    now: &str,
) -> Result<Written, StoreError> {
    let mut written = Written::default();
    let mut insert_contact = tx.prepare_cached(
        "INSERT INTO contacts
             (phone, signup_date, ip_address, url, extra, validation, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT (phone) DO NOTHING",
    )?;
    // An existing contact keeps its first signup date; consent data and validation sent
    // now replace the stored ones, other members are merged.
    let mut update_contact = tx.prepare_cached(
        "UPDATE contacts SET ip_address = coalesce(?2, ip_address), url = coalesce(?3, url),
             extra = json_patch(extra, ?4), validation = coalesce(?5, validation),
             updated_at = ?6
         WHERE phone = ?1",
    )?;
    let mut insert_membership = tx.prepare_cached(
        "INSERT INTO memberships (list_id, phone, custom_fields, signup_date, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (phone, list_id) DO NOTHING",
    )?;
    let mut merge_fields = tx.prepare_cached(
        "UPDATE memberships SET custom_fields = json_patch(custom_fields, ?3), updated_at = ?4
         WHERE list_id = ?1 AND phone = ?2",
    )?;
    let mut replace_fields = tx.prepare_cached(
        "UPDATE memberships SET custom_fields = json(?3), updated_at = ?4
         WHERE list_id = ?1 AND phone = ?2",
    )?;
    let mut enroll = tx.prepare_cached(
        "INSERT INTO journey_enrollments (list_id, phone, journey, enrolled_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for contact in evaluation.accepted() {
        let Some(&list_id) = list_ids.get(contact.list_number) else {
            // Accepted means its list was found, in this very transaction.
            return Err(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows));
        };
        let phone = contact.phone;
        let signup_date = contact.signup_date.to_string();
        let extra = to_json(&contact.other_members_map())?;
        let validation = match &contact.validation {
            Some(result) => Some(to_json(result)?),
            None => None,
        };
        let (ip, url) = (contact.ip_address, contact.url);
        if insert_contact.execute(params![phone, signup_date, ip, url, extra, validation, now])?
            == 1
        {
            written.contacts += 1;
        } else {
            update_contact.execute(params![phone, ip, url, extra, validation, now])?;
        }
        let fields = match contact.custom_fields {
            Some(fields) => Some(to_json(fields)?),
            None => None,
        };
        let initial = fields.as_deref().unwrap_or("{}");
        if insert_membership.execute(params![list_id, phone, initial, signup_date, now])? == 1 {
            written.memberships += 1;
        } else if let Some(fields) = &fields {
            // Without `custom_fields` there is nothing to merge, nor to replace with: the
            // stored fields are kept even when `replace_custom_fields` is true.
            let update = if contact.flags.replace_custom_fields {
                &mut replace_fields
            } else {
                &mut merge_fields
            };
            update.execute(params![list_id, phone, fields, now])?;
        }
        for journey in 1..=contact.journeys {
            written.enrollments += enroll.execute(params![list_id, phone, journey, now])? as u64;
        }
    }
    Ok(written)
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value)
        .map_err(|error| rusqlite::Error::ToSqlConversionFailure(error.into()))
}

fn billing_name(billing: Billing) -> &'static str {
    match billing {
        Billing::Active => "active",
        Billing::NoBillingConfig => "no_billing_config",
        Billing::NoPaymentMethod => "no_payment_method",
        Billing::PaymentFailed => "payment_failed",
        Billing::Suspended => "suspended",
    }
}

fn parse_billing(name: &str) -> Option<Billing> {
    [
        Billing::Active,
        Billing::NoBillingConfig,
        Billing::NoPaymentMethod,
        Billing::PaymentFailed,
        Billing::Suspended,
    ]
    .into_iter()
    .find(|billing| billing_name(*billing) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_billing_status_round_trips_through_its_column_value() {
        for billing in [
            Billing::Active,
            Billing::NoBillingConfig,
            Billing::NoPaymentMethod,
            Billing::PaymentFailed,
            Billing::Suspended,
        ] {
            assert_eq!(parse_billing(billing_name(billing)), Some(billing));
        }
        assert_eq!(parse_billing("Active"), None);
    }

    #[test]
    fn the_schema_is_created_once_and_reopening_keeps_the_data() {
        let store = Store::open(":memory:").expect("open");
        store.seed_world("demo", &World::builtin()).expect("seed");
        store
            .seed_world("demo", &World::builtin())
            .expect("seed again");
        store
            .with_connection(|c| c.execute_batch(SCHEMA))
            .expect("the schema again is a no-op");
        let account = store
            .find_account(bulk_contacts::testing::DEFAULT_API_KEY)
            .expect("query")
            .expect("the demo account");
        assert_eq!(account.billing, Billing::Active);
        assert_eq!(account.api_keys, [bulk_contacts::testing::DEFAULT_API_KEY]);
        assert_eq!(store.find_account("trk_unknown").expect("query"), None);
    }
}

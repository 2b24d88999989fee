//! What the two stores do alike, written once: the write of a request's plan, the seed of an
//! account, the prefetch's rows gathered into the engine's maps, and the statements both
//! speak in the same SQL. Each backend brings only its SQL and how it binds the rows
//! ([`WriteStatements`], [`SeedStatements`]): `sqlite.rs` one JSON array per statement (or
//! one statement per row for a seed), `postgres.rs` one array per column.
//!
//! The flows are `async` because PostgreSQL's statements are. SQLite's are synchronous: the
//! futures of its statements are ready when first polled, so `sqlite.rs` runs a whole flow
//! with one poll inside one blocking call, under one statement deadline (`sqlite::ready`):
//! one flow, no second copy for the synchronous driver, and the same timeouts as one call.

use std::collections::HashMap;

use bulk_contacts::{
    Account, Carrier, ContactWrite, CustomFieldsUpdate, DirectoryMap, Enrollment, MembershipInsert,
    SendingList, Timestamp, WritePlan,
};

use super::{
    AccountRow, PROVIDER_ERROR, Prefetch, Seed, StoreError, Written, expect_rows, inserts,
    key_hash, list_id,
};

/// The account owning a key, found by the key's hash (`$1`): id and billing column. SQLite
/// reads `$1` as a named parameter, the first and only one: bound by position as on
/// PostgreSQL.
pub const ACCOUNT_BY_KEY: &str = "SELECT a.id, a.billing FROM api_keys AS k
     JOIN accounts AS a ON a.id = k.account_id WHERE k.key_sha256 = $1";

/// The answer stored under (`$1` account, `$2` key).
pub const ANSWER_BY_KEY: &str = "SELECT request_sha256, status, body FROM idempotency_keys
     WHERE account_id = $1 AND key = $2";

/// Stores an answer under (account, key) unless the key is taken: one row inserted, or none.
pub const REMEMBER_ANSWER: &str = "INSERT INTO idempotency_keys
         (account_id, key, request_sha256, status, body, created_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, key) DO NOTHING";

/// The account row of `key`, from what [`ACCOUNT_BY_KEY`] found: the key itself is the one
/// the engine compares the header with (the store holds only hashes), and the billing column
/// must name a status.
pub fn account_row(key: &str, id: i64, billing: &str) -> Result<AccountRow, StoreError> {
    let billing = billing.parse().map_err(StoreError::data)?;
    let api_keys = vec![key.to_owned()];
    Ok(AccountRow {
        id,
        account: Account { api_keys, billing },
    })
}

/// The consent data a contact holds (`ip_address`, `url`), as the prefetch read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consent {
    /// `ip_address` as stored.
    pub ip_address: Option<String>,
    /// `url` as stored.
    pub url: Option<String>,
}

/// What a transaction's prefetch found that its write needs: the row ids of the batch's lists,
/// by number, and the consent data of the batch's contacts that exist, by phone.
#[derive(Debug, Default)]
pub struct Found {
    /// The lists' row ids.
    pub list_ids: HashMap<String, i64>,
    /// The existing contacts' consent data.
    pub contacts: HashMap<String, Consent>,
}

impl Found {
    /// Whether updating the existing contact with `row` would leave it as it is: no IP or URL
    /// but the stored ones, no other members, no validation result. Such an update is not
    /// sent to the store (the contact is known to exist: the locked prefetch found it).
    fn leaves_unchanged(&self, row: &ContactWrite<'_>) -> bool {
        let Some(stored) = self.contacts.get(row.phone) else {
            return false;
        };
        row.ip_address
            .is_none_or(|ip| Some(ip) == stored.ip_address.as_deref())
            && row.url.is_none_or(|url| Some(url) == stored.url.as_deref())
            && &*row.other_members == "{}"
            && row.validation.is_none()
    }
}

/// The rows of the prefetch's four queries, as a backend read them.
#[derive(Debug, Default)]
pub struct PrefetchRows {
    /// The account's lists among the batch's: (list number, row id, welcome journeys).
    pub lists: Vec<(String, i64, u32)>,
    /// The carrier verdicts on record: (phone, `sendable` | `not_sendable`).
    pub verdicts: Vec<(String, String)>,
    /// The phones that have a contact, with their consent data.
    pub contacts: Vec<(String, Consent)>,
    /// The memberships that exist: (phone, list number).
    pub memberships: Vec<(String, String)>,
}

impl PrefetchRows {
    /// The engine's maps of these rows; the lists' row ids and the contacts' consent data go
    /// to `found`, for the write.
    pub fn into_prefetch(self, found: &mut Found) -> Result<Prefetch, StoreError> {
        let mut prefetch = Prefetch::default();
        for (number, id, welcome_journeys) in self.lists {
            found.list_ids.insert(number.clone(), id);
            prefetch
                .lists
                .insert(number, SendingList { welcome_journeys });
        }
        for (phone, verdict) in self.verdicts {
            let verdict: Carrier = verdict.parse().map_err(StoreError::data)?;
            prefetch.carrier.extend([(phone, verdict)]);
        }
        let phones: Vec<String> = self
            .contacts
            .iter()
            .map(|(phone, _)| phone.clone())
            .collect();
        found.contacts = self.contacts.into_iter().collect();
        prefetch.directory = DirectoryMap::from_rows(phones, self.memberships);
        Ok(prefetch)
    }
}

/// The statements of a write, one multi-row statement per kind of row; each returns the rows
/// it touched. `now` is the request's time: `created_at`, `updated_at`, `enrolled_at`; `lists`
/// holds the list row id of each row, in order.
pub trait WriteStatements {
    /// Inserts the contacts the prefetch found new. A row that exists after all is never
    /// written twice: SQLite skips it (`ON CONFLICT DO NOTHING`, so the count falls short),
    /// PostgreSQL's `COPY` fails on the key.
    async fn insert_contacts(
        &mut self,
        rows: &[ContactWrite<'_>],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Updates existing contacts: the first signup date kept, consent data and validation
    /// sent now replacing the stored ones, other members merged (RFC 7396).
    async fn update_contacts(
        &mut self,
        rows: &[&ContactWrite<'_>],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Inserts the memberships the prefetch found new (a conflict as for contacts).
    async fn insert_memberships(
        &mut self,
        rows: &[MembershipInsert<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Merges custom fields into existing memberships, or replaces them.
    async fn update_memberships(
        &mut self,
        rows: &[CustomFieldsUpdate<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Inserts the journey enrollments.
    async fn insert_enrollments(
        &mut self,
        rows: &[Enrollment<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError>;
}

/// Applies the engine's write plan: round after round, the contacts inserted, then updated,
/// then the memberships inserted, then updated; the enrollments last (their memberships
/// exist). A kind without rows runs no statement; every statement must touch exactly the rows
/// planned, or the write stops there ([`StoreError::Mismatch`], the transaction rolled back).
/// In the first round, an update that would leave its contact as the prefetch found it is not
/// sent ([`Found::leaves_unchanged`]; in a later round the contact may have changed since).
/// `found`: what the prefetch found. Returns the rows inserted.
pub async fn write_plan<S: WriteStatements>(
    statements: &mut S,
    plan: &WritePlan<'_>,
    now: Timestamp,
    found: &Found,
) -> Result<Written, StoreError> {
    let list_ids = &found.list_ids;
    for (n, round) in plan.rounds.iter().enumerate() {
        let rows = &round.insert_contacts;
        if !rows.is_empty() {
            let inserted = statements.insert_contacts(rows, now).await?;
            expect_rows("insert contacts", rows.len(), inserted)?;
        }
        let rows: Vec<&ContactWrite<'_>> = round
            .update_contacts
            .iter()
            .filter(|row| n > 0 || !found.leaves_unchanged(row))
            .collect();
        if !rows.is_empty() {
            let updated = statements.update_contacts(&rows, now).await?;
            expect_rows("update contacts", rows.len(), updated)?;
        }
        let rows = &round.insert_memberships;
        if !rows.is_empty() {
            let lists = list_ids_of(list_ids, rows, |row| row.list_number)?;
            let inserted = statements.insert_memberships(rows, &lists, now).await?;
            expect_rows("insert memberships", rows.len(), inserted)?;
        }
        let rows = &round.update_memberships;
        if !rows.is_empty() {
            let lists = list_ids_of(list_ids, rows, |row| row.list_number)?;
            let updated = statements.update_memberships(rows, &lists, now).await?;
            expect_rows("update memberships", rows.len(), updated)?;
        }
    }
    let rows = &plan.enrollments;
    if !rows.is_empty() {
        let lists = list_ids_of(list_ids, rows, |row| row.list_number)?;
        let inserted = statements.insert_enrollments(rows, &lists, now).await?;
        expect_rows("insert enrollments", rows.len(), inserted)?;
    }
    Ok(inserts(plan))
}

/// The list row id of each row, from its list number and the ids the prefetch found.
fn list_ids_of<'r, R>(
    list_ids: &HashMap<String, i64>,
    rows: &'r [R],
    number: impl Fn(&'r R) -> &'r str,
) -> Result<Vec<i64>, StoreError> {
    rows.iter()
        .map(|row| list_id(list_ids, number(row)))
        .collect()
}

/// The statements of a seed ([`write_seed`]); each is idempotent.
pub trait SeedStatements {
    /// Inserts account `name`, or sets its billing column; returns its id.
    async fn account(&mut self, name: &str, billing: &str) -> Result<i64, StoreError>;

    /// Adds the keys (by hash) that no account has yet.
    async fn api_keys(&mut self, account: i64, hashes: &[String]) -> Result<(), StoreError>;

    /// Inserts the lists, or sets their welcome journeys: (list number, welcome journeys).
    async fn lists(&mut self, account: i64, lists: &[(String, u32)]) -> Result<(), StoreError>;

    /// Inserts the contacts not there yet, dated `now`.
    async fn contacts(&mut self, phones: &[String], now: &str) -> Result<(), StoreError>;

    /// Inserts the memberships not there yet, (phone, list number) of the account's lists,
    /// dated `now`.
    async fn memberships(
        &mut self,
        account: i64,
        memberships: &[(String, String)],
        now: &str,
    ) -> Result<(), StoreError>;

    /// Inserts or replaces the carrier verdicts: (phone, `sendable` | `not_sendable`).
    async fn verdicts(&mut self, verdicts: &[(&str, &str)]) -> Result<(), StoreError>;

    /// Inserts or replaces the validation results: (phone, result JSON or
    /// [`PROVIDER_ERROR`]).
    async fn validations(&mut self, results: &[(&str, String)]) -> Result<(), StoreError>;
}

/// Writes `seed` as account `seed.name` (inside the caller's transaction); returns the
/// account's id. Idempotent: a second run changes nothing.
pub async fn write_seed<S: SeedStatements>(
    statements: &mut S,
    seed: &Seed,
) -> Result<i64, StoreError> {
    let account = statements
        .account(&seed.name, seed.billing.as_str())
        .await?;
    let hashes: Vec<String> = seed.api_keys.iter().map(|key| key_hash(key)).collect();
    statements.api_keys(account, &hashes).await?;
    statements.lists(account, &seed.lists).await?;
    let now = seed.now.to_string();
    statements.contacts(&seed.contacts, &now).await?;
    statements
        .memberships(account, &seed.memberships, &now)
        .await?;
    let verdicts: Vec<(&str, &str)> = seed
        .verdicts
        .iter()
        .map(|(phone, verdict)| (phone.as_str(), verdict.as_str()))
        .collect();
    statements.verdicts(&verdicts).await?;
    let results = seed
        .validations
        .iter()
        .map(|(phone, result)| {
            let text = match result {
                Ok(result) => serde_json::to_string(result).map_err(StoreError::data)?,
                Err(_) => PROVIDER_ERROR.to_owned(),
            };
            Ok((phone.as_str(), text))
        })
        .collect::<Result<Vec<(&str, String)>, StoreError>>()?;
    statements.validations(&results).await?;
    Ok(account)
}

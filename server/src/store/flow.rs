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

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::task::Poll;

use bulk_contacts::{
    Account, Carrier, ContactWrite, Directory, Enrollment, LookupError, MembershipInsert,
    SendingList, Timestamp, WritePlan,
};

use super::{
    AccountRow, PROVIDER_ERROR, Prefetch, Seed, StoreError, Written, expect_rows, inserts,
    key_hash, list_id, phone_key,
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

/// A map of one request's prefetched rows, keyed by phone or list number: foldhash, seeded
/// per map, instead of SipHash. As for the engine's own maps (`bulk_contacts`' `hashing`),
/// a request holds at most `max_contacts` contacts, so even keys chosen to collide cost at
/// most `max_contacts`² comparisons; SipHash was a tenth of the server's instructions on a
/// re-import.
pub type RowMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The batch's lists, contacts and memberships that exist, as the prefetch read them: the
/// engine's [`Directory`] for the evaluation, and what the write needs of them (the lists' row
/// ids, the contacts' consent data, the memberships' custom fields). One copy of each row,
/// shared by the evaluation and the transaction. Phones are keyed by their stored integer
/// ([`phone_key`]), lists by row id: no phone or list number is copied per row found.
#[derive(Debug, Default)]
pub struct Existing {
    /// The batch's lists' row ids, by list number.
    pub list_ids: RowMap<String, i64>,
    /// The existing contacts' consent data, by phone key.
    pub contacts: RowMap<i64, Consent>,
    /// The existing memberships' custom fields (the stored JSON object's text), by phone key
    /// and list row id.
    pub memberships: RowMap<(i64, i64), String>,
}

impl Existing {
    /// The custom fields the prefetch read for membership (`phone`, `list_number`).
    fn custom_fields(&self, phone: &str, list_number: &str) -> Option<&str> {
        // A batch of new contacts finds none: no key is worked out for it.
        if self.memberships.is_empty() {
            return None;
        }
        let list = *self.list_ids.get(list_number)?;
        let fields = self.memberships.get(&(phone_key(phone)?, list))?;
        Some(fields)
    }

    /// The consent data the prefetch read for the contact of `phone`.
    fn contact(&self, phone: &str) -> Option<&Consent> {
        if self.contacts.is_empty() {
            return None;
        }
        self.contacts.get(&phone_key(phone)?)
    }
}

impl Directory for Existing {
    fn contact_exists(&self, phone: &str) -> Result<bool, LookupError> {
        Ok(self.contact(phone).is_some())
    }
    fn is_member(&self, phone: &str, list_number: &str) -> Result<bool, LookupError> {
        Ok(self.custom_fields(phone, list_number).is_some())
    }
}

/// What a transaction's prefetch found that its write needs: the batch's lists, contacts and
/// memberships that exist.
#[derive(Debug, Default)]
pub struct Found {
    /// The rows found (the same rows as the evaluation's directory).
    pub existing: Arc<Existing>,
}

impl Found {
    /// Whether updating the existing contact with `row` would leave it as it is: no IP or URL
    /// but the stored ones, no other members, no validation result. Such an update is not
    /// sent to the store (the contact is known to exist: the locked prefetch found it).
    fn leaves_unchanged(&self, row: &ContactWrite<'_>) -> bool {
        let Some(stored) = self.existing.contact(row.phone) else {
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
    /// The contacts that exist: (phone key, consent data).
    pub contacts: Vec<(i64, Consent)>,
    /// The memberships that exist: (phone key, list row id, custom fields as a JSON object's
    /// text).
    pub memberships: Vec<(i64, i64, String)>,
}

impl PrefetchRows {
    /// The engine's maps of these rows; the lists' row ids, the contacts' consent data and the
    /// memberships' custom fields go to `found`, for the write.
    pub fn into_prefetch(self, found: &mut Found) -> Result<Prefetch, StoreError> {
        let mut prefetch = Prefetch::default();
        let mut existing = Existing {
            list_ids: RowMap::with_capacity_and_hasher(self.lists.len(), Default::default()),
            contacts: RowMap::with_capacity_and_hasher(self.contacts.len(), Default::default()),
            memberships: RowMap::with_capacity_and_hasher(
                self.memberships.len(),
                Default::default(),
            ),
        };
        for (number, id, welcome_journeys) in self.lists {
            existing.list_ids.insert(number.clone(), id);
            prefetch
                .lists
                .insert(number, SendingList { welcome_journeys });
        }
        for (phone, verdict) in self.verdicts {
            let verdict: Carrier = verdict.parse().map_err(StoreError::data)?;
            prefetch.carrier.extend([(phone, verdict)]);
        }
        existing.contacts.extend(self.contacts);
        existing.memberships.extend(
            self.memberships
                .into_iter()
                .map(|(phone, list, fields)| ((phone, list), fields)),
        );
        let existing = Arc::new(existing);
        found.existing = Arc::clone(&existing);
        prefetch.directory = existing;
        Ok(prefetch)
    }
}

/// The statements of a write, one multi-row statement per kind of row; each returns the rows
/// it touched. `now` is the request's time: `created_at`, `updated_at`, `enrolled_at`; `lists`
/// holds the list row id of each row, in order.
///
/// [`write_plan`] starts every statement of a plan before it awaits the first's count: a
/// statement must be sent (or run) when its future is first polled, so that the statements
/// reach the store in the plan's order. SQLite's run then; PostgreSQL's are sent then, all
/// prepared beforehand, and its connection runs them in the order sent (a pipeline).
pub trait WriteStatements {
    /// Inserts the contacts the prefetch found new. A row that exists after all is never
    /// written twice: SQLite skips it (`ON CONFLICT DO NOTHING`, so the count falls short),
    /// PostgreSQL's `COPY` fails on the key.
    async fn insert_contacts(
        &self,
        rows: &[ContactWrite<'_>],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Updates existing contacts: the first signup date kept, consent data and validation
    /// sent now replacing the stored ones, other members merged (RFC 7396).
    async fn update_contacts(
        &self,
        rows: &[&ContactWrite<'_>],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Inserts the memberships the prefetch found new (a conflict as for contacts).
    async fn insert_memberships(
        &self,
        rows: &[MembershipInsert<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Sets the custom fields of existing memberships to the ones given ([`write_plan`] has
    /// merged or replaced them, and left out the memberships they would not change).
    async fn update_memberships(
        &self,
        rows: &[FieldsWrite<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Inserts the journey enrollments.
    async fn insert_enrollments(
        &self,
        rows: &[Enrollment<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError>;
}

/// Applies the engine's write plan: round after round, the contacts inserted, then updated,
/// then the memberships inserted, then updated; the enrollments last (their memberships
/// exist). A kind without rows runs no statement; every statement must touch exactly the rows
/// planned, or the write fails ([`StoreError::Mismatch`], the transaction rolled back).
/// In the first round, an update that would leave its contact as the prefetch found it is not
/// sent ([`Found::leaves_unchanged`]; in a later round the contact may have changed since).
/// A membership's custom fields are merged (or replaced) here, over the fields it holds: the
/// ones the prefetch read, or the ones an earlier round of this plan wrote, by the engine's
/// [`CustomFieldsUpdate::applied_to`](bulk_contacts::CustomFieldsUpdate::applied_to); a
/// membership whose fields would not change is left out. `found`: what the prefetch found.
///
/// Every statement's rows are worked out first (no statement's outcome changes another's
/// rows: only its count is checked), then all the statements are started in order and their
/// counts checked in order ([`in_order`]): on PostgreSQL one pipeline, so a batch of new
/// contacts costs one round trip per `COPY` and one more, not two per `COPY`. Returns the rows
/// inserted.
pub async fn write_plan<S: WriteStatements>(
    statements: &S,
    plan: &WritePlan<'_>,
    now: Timestamp,
    found: &Found,
) -> Result<Written, StoreError> {
    let steps = write_steps(plan, found)?;
    in_order(steps.iter().map(|step| step.run(statements, now))).await?;
    Ok(inserts(plan))
}

/// One statement of a write: its rows, and the list row id of each where it has a list.
enum WriteStep<'a> {
    InsertContacts(&'a [ContactWrite<'a>]),
    UpdateContacts(Vec<&'a ContactWrite<'a>>),
    InsertMemberships(&'a [MembershipInsert<'a>], Vec<i64>),
    UpdateMemberships(Vec<FieldsWrite<'a>>, Vec<i64>),
    InsertEnrollments(&'a [Enrollment<'a>], Vec<i64>),
}

impl WriteStep<'_> {
    /// Runs the statement and checks its count.
    async fn run<S: WriteStatements>(
        &self,
        statements: &S,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (what, planned, actual) = match self {
            WriteStep::InsertContacts(rows) => (
                "insert contacts",
                rows.len(),
                statements.insert_contacts(rows, now).await?,
            ),
            WriteStep::UpdateContacts(rows) => (
                "update contacts",
                rows.len(),
                statements.update_contacts(rows, now).await?,
            ),
            WriteStep::InsertMemberships(rows, lists) => (
                "insert memberships",
                rows.len(),
                statements.insert_memberships(rows, lists, now).await?,
            ),
            WriteStep::UpdateMemberships(rows, lists) => (
                "update memberships",
                rows.len(),
                statements.update_memberships(rows, lists, now).await?,
            ),
            WriteStep::InsertEnrollments(rows, lists) => (
                "insert enrollments",
                rows.len(),
                statements.insert_enrollments(rows, lists, now).await?,
            ),
        };
        expect_rows(what, planned, actual)
    }
}

/// The statements of `plan`, in the order they run ([`write_plan`]).
fn write_steps<'a>(
    plan: &'a WritePlan<'_>,
    found: &Found,
) -> Result<Vec<WriteStep<'a>>, StoreError> {
    let list_ids = &found.existing.list_ids;
    let mut steps = Vec::new();
    // The custom fields this plan has written so far, by (phone, list number).
    let mut written: RowMap<(&str, &str), Cow<'_, str>> = RowMap::default();
    for (n, round) in plan.rounds.iter().enumerate() {
        let later_rounds = plan.rounds.len() > n + 1;
        if !round.insert_contacts.is_empty() {
            steps.push(WriteStep::InsertContacts(&round.insert_contacts));
        }
        let rows: Vec<&ContactWrite<'_>> = round
            .update_contacts
            .iter()
            .filter(|row| n > 0 || !found.leaves_unchanged(row))
            .collect();
        if !rows.is_empty() {
            steps.push(WriteStep::UpdateContacts(rows));
        }
        let rows = &round.insert_memberships;
        if !rows.is_empty() {
            let lists = list_ids_of(list_ids, rows, |row| row.list_number)?;
            if later_rounds {
                for row in rows {
                    let fields = Cow::Borrowed(&*row.custom_fields);
                    written.insert((row.phone, row.list_number), fields);
                }
            }
            steps.push(WriteStep::InsertMemberships(rows, lists));
        }
        let mut rows = Vec::new();
        for row in &round.update_memberships {
            let held = match written.get(&(row.phone, row.list_number)) {
                Some(fields) => fields,
                None => found
                    .existing
                    .custom_fields(row.phone, row.list_number)
                    .ok_or_else(|| StoreError::Data(format!(
                        "no custom fields for membership ({}, {}): the prefetch did not find it",
                        row.phone, row.list_number
                    )))?,
            };
            if let Some(fields) = row.applied_to(held).map_err(StoreError::data)? {
                rows.push(FieldsWrite {
                    phone: row.phone,
                    list_number: row.list_number,
                    custom_fields: fields,
                });
            }
        }
        if !rows.is_empty() {
            let lists = list_ids_of(list_ids, &rows, |row| row.list_number)?;
            if later_rounds {
                for row in &rows {
                    written.insert((row.phone, row.list_number), row.custom_fields.clone());
                }
            }
            steps.push(WriteStep::UpdateMemberships(rows, lists));
        }
    }
    let rows = &plan.enrollments;
    if !rows.is_empty() {
        let lists = list_ids_of(list_ids, rows, |row| row.list_number)?;
        steps.push(WriteStep::InsertEnrollments(rows, lists));
    }
    Ok(steps)
}

/// Awaits `futures` as one: each is polled once, in order, before any is awaited (each starts
/// its statement then), then each is awaited in order; the first error is the result (the
/// futures after it are dropped: the caller rolls the transaction back).
pub async fn in_order<F>(futures: impl IntoIterator<Item = F>) -> Result<(), StoreError>
where
    F: Future<Output = Result<(), StoreError>>,
{
    let mut futures = Some(futures);
    let mut started = Vec::new();
    std::future::poll_fn(|cx| {
        for future in futures.take().into_iter().flatten() {
            let mut future = Box::pin(future);
            match future.as_mut().poll(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => started.push(future),
            }
        }
        Poll::Ready(Ok(()))
    })
    .await?;
    for future in started {
        future.await?;
    }
    Ok(())
}

/// The custom fields a membership is to hold after an update, for
/// [`WriteStatements::update_memberships`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldsWrite<'p> {
    /// The canonical phone number.
    pub phone: &'p str,
    /// The canonical list number.
    pub list_number: &'p str,
    /// The whole object to store, as JSON text: the fields sent when they replace the stored
    /// ones, the merge otherwise
    /// ([`applied_to`](bulk_contacts::CustomFieldsUpdate::applied_to)).
    pub custom_fields: Cow<'p, str>,
}

/// The list row id of each row, from its list number and the ids the prefetch found.
fn list_ids_of<'r, R>(
    list_ids: &RowMap<String, i64>,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement's stand-in for [`in_order`]: logs `start` when first polled, is pending
    /// once, then logs `end` and yields `result`.
    async fn step(
        log: &std::cell::RefCell<Vec<String>>,
        name: &str,
        result: Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        log.borrow_mut().push(format!("start {name}"));
        let mut pending = true;
        std::future::poll_fn(|cx| {
            if std::mem::take(&mut pending) {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        log.borrow_mut().push(format!("end {name}"));
        result
    }

    fn block_on<T>(future: impl Future<Output = T>) -> T {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
    }

    #[test]
    fn in_order_starts_every_statement_before_awaiting_the_first() {
        let log = std::cell::RefCell::new(Vec::new());
        let steps = ["a", "b", "c"].map(|name| step(&log, name, Ok(())));
        block_on(in_order(steps)).expect("no step fails");
        let expected = ["start a", "start b", "start c", "end a", "end b", "end c"];
        assert_eq!(*log.borrow(), expected);
    }

    #[test]
    fn in_order_returns_the_first_error_in_order_and_awaits_nothing_after_it() {
        let log = std::cell::RefCell::new(Vec::new());
        let steps = [
            step(&log, "a", Ok(())),
            step(&log, "b", Err(StoreError::Data("b failed".to_owned()))),
            step(&log, "c", Err(StoreError::Data("c failed".to_owned()))),
        ];
        let error = block_on(in_order(steps)).unwrap_err();
        assert_eq!(error.to_string(), "b failed");
        let expected = ["start a", "start b", "start c", "end a", "end b"];
        assert_eq!(*log.borrow(), expected);
    }

    #[test]
    fn the_rows_found_are_the_directory_and_the_writes_one_copy() {
        let rows = PrefetchRows {
            lists: vec![
                ("+18005551234".to_owned(), 7, 1),
                ("+18005550000".to_owned(), 8, 0),
            ],
            contacts: vec![(14155550000, Consent::default())],
            memberships: vec![(14155550000, 7, r#"{"a": 1}"#.to_owned())],
            ..PrefetchRows::default()
        };
        let mut found = Found::default();
        let prefetch = rows.into_prefetch(&mut found).unwrap();
        let directory = &prefetch.directory;
        assert!(Arc::ptr_eq(directory, &found.existing));
        assert!(directory.contact_exists("+14155550000").unwrap());
        assert!(!directory.contact_exists("+14155550001").unwrap());
        // A phone that has no key is in no table.
        assert!(!directory.contact_exists("14155550000").unwrap());
        assert!(directory.is_member("+14155550000", "+18005551234").unwrap());
        assert!(!directory.is_member("+14155550000", "+18005550000").unwrap());
        assert!(!directory.is_member("+14155550000", "+18005559999").unwrap());
        assert!(!directory.is_member("+14155550001", "+18005551234").unwrap());
        let fields = found.existing.custom_fields("+14155550000", "+18005551234");
        assert_eq!(fields, Some(r#"{"a": 1}"#));
        assert_eq!(found.existing.list_ids.get("+18005551234"), Some(&7));
    }
}

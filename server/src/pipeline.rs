//! The request path, written once over any [`Store`], and the only module that calls the
//! engine: SPEC §3's order — the key's format, the account and its keys, the body limit
//! (for [`crate::http`]), the JSON and rules 1–8, billing — then, in one transaction: the
//! write locks of the batch's phones, one prefetch query per key kind, the validation results
//! of the contacts that pass rules 9 and 10, `evaluate`, the write, and a check that the rows
//! written are the counters of the summary. Any store error rolls back and answers 500.

use std::collections::HashMap;

use bulk_contacts::testing::{Entry, Validation, World};
use bulk_contacts::{
    Billing, Carrier, CarrierValidationMap, DirectoryMap, Engine, Evaluation, ProviderError,
    Rejection, Response, SendingList, Timestamp, ValidationResult,
};

use crate::blocking;
use crate::store::{
    ContactRow, EnrollmentRow, FieldsUpdate, Free, FreeKeys, MembershipRow, PROVIDER_ERROR, Round,
    Seed, Store, StoreError, Transaction, WritePlan, Written,
};

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

/// An account found by its key, ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its row id.
    pub id: i64,
    billing: Billing,
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
        App {
            engine: Engine::default(),
            store,
        }
    }

    /// The engine with `limits` over `store`.
    pub fn with_limits(store: S, limits: bulk_contacts::Limits) -> App<S> {
        App {
            engine: Engine::new(limits),
            store,
        }
    }

    /// The request's time: read once, here; the engine never reads a clock.
    pub fn now() -> Timestamp {
        Timestamp::now()
    }

    fn rejected(&self, rejection: Rejection, contacts: Option<usize>) -> Answer {
        let Response { status, body } = Response::rejected(rejection, self.engine.limits());
        Answer {
            status,
            body,
            contacts,
        }
    }

    /// Check 1, first half: the header is present and well formed (no database access).
    pub fn check_key_format(&self, header: Option<&[u8]>) -> Result<String, Answer> {
        match self.engine.check_key_format(header) {
            Ok(key) => Ok(String::from_utf8_lossy(key).into_owned()),
            Err(rejection) => Err(self.rejected(rejection, None)),
        }
    }

    /// Check 1, second half: the account owning the key, compared in constant time with
    /// all its keys.
    pub async fn account(&self, key: &str) -> Result<Account, Answer> {
        let row = match self.store.find_account(key).await {
            Ok(Some(row)) => row,
            Ok(None) => return Err(self.rejected(Rejection::InvalidApiKey, None)),
            Err(error) => {
                eprintln!("database error finding the account: {error}");
                return Err(self.rejected(Rejection::InternalError, None));
            }
        };
        let Some(billing) = parse_billing(&row.billing) else {
            eprintln!("unknown billing status {:?} in the database", row.billing);
            return Err(self.rejected(Rejection::InternalError, None));
        };
        if let Err(rejection) = self
            .engine
            .authenticate(Some(key.as_bytes()), &row.api_keys)
        {
            return Err(self.rejected(rejection, None));
        }
        Ok(Account {
            id: row.id,
            billing,
        })
    }

    /// Check 2's limit, in bytes.
    pub fn body_limit(&self) -> usize {
        self.engine.limits().max_body_bytes
    }

    /// Check 2's answer.
    pub fn too_large(&self) -> Answer {
        self.rejected(Rejection::PayloadTooLarge, None)
    }

    /// A body that did not arrive whole is not one JSON text (check 3's answer).
    pub fn aborted(&self) -> Answer {
        self.rejected(Rejection::InvalidJson, None)
    }

    /// Checks 3 to 7 and the write.
    pub async fn process(&self, account: &Account, body: &[u8], now: Timestamp) -> Answer {
        // The CPU-heavy part (JSON, E.164, dates, URLs) off the async workers' queue.
        let batch = match blocking(|| self.engine.read(body, now)) {
            Ok(batch) => batch,
            Err(rejection) => return self.rejected(rejection, None),
        };
        let contacts = Some(batch.len());
        if let Err(rejection) = batch.check_billing(account.billing) {
            return self.rejected(rejection, contacts);
        }
        match self.store_batch(account, &batch).await {
            Ok(Response { status, body }) => Answer {
                status,
                body,
                contacts,
            },
            Err(error) => {
                eprintln!("database error, nothing written: {error}");
                self.rejected(Rejection::InternalError, contacts)
            }
        }
    }

    /// One transaction: locks, prefetch, evaluate, write, check, commit; rolled back on any
    /// error.
    async fn store_batch(
        &self,
        account: &Account,
        batch: &bulk_contacts::Batch<'_>,
    ) -> Result<Response, StoreError> {
        let keys = batch.keys();
        let mut tx = self.store.begin(&keys.phones).await?;
        match self.in_transaction(&mut tx, account, batch, &keys).await {
            Ok(response) => {
                tx.commit().await?;
                Ok(response)
            }
            Err(error) => {
                // If even the rollback fails, dropping the transaction discards it.
                let _ = tx.rollback().await;
                Err(error)
            }
        }
    }

    async fn in_transaction(
        &self,
        tx: &mut S::Tx,
        account: &Account,
        batch: &bulk_contacts::Batch<'_>,
        keys: &bulk_contacts::Keys<'_>,
    ) -> Result<Response, StoreError> {
        let free = tx
            .free(
                account.id,
                FreeKeys {
                    lists: &keys.lists,
                    phones: &keys.phones,
                    memberships: &keys.memberships,
                },
            )
            .await?;
        let mut fetched = Fetched::from(free);
        // Rules 9 and 10 once; the paid validation is asked only about contacts that pass them.
        let screened = batch
            .screen(&fetched.lists, &fetched.carrier)
            .map_err(|error| StoreError::Data(format!("lookup: {error}")))?;
        let wanted = screened.validation_keys();
        if !wanted.is_empty() {
            let found: HashMap<String, String> =
                tx.validations(&wanted).await?.into_iter().collect();
            for phone in wanted {
                let result = match found.get(phone) {
                    None => Ok(ValidationResult::ok(phone)),
                    Some(text) if text == PROVIDER_ERROR => Err(ProviderError),
                    // A row the provider stand-in cannot read is the provider failing for
                    // that number: a per-contact `provider_error`, never a 500.
                    Some(text) => serde_json::from_str(text).map_err(|_| ProviderError),
                };
                fetched
                    .carrier
                    .validation_results
                    .insert(phone.to_owned(), result);
            }
        }
        let now = batch.now().to_string();
        let (plan, predicted, response) = blocking(|| {
            let evaluation = screened
                .evaluate(&fetched.carrier, &fetched.directory)
                .map_err(|error| StoreError::Data(format!("lookup: {error}")))?;
            let plan = plan(&evaluation, &fetched.list_ids, now)?;
            let counts = evaluation.counts();
            let predicted = Written {
                contacts: counts.contacts_created as u64,
                memberships: counts.list_contacts_created as u64,
                enrollments: counts.journeys_enrolled,
            };
            Ok::<_, StoreError>((plan, predicted, Response::summary(&evaluation)))
        })?;
        // The plan inserts exactly what the engine counted, and `write` checks that every
        // statement touched exactly the rows planned: the counters are the rows written.
        let planned = plan.inserts();
        if planned != predicted {
            return Err(StoreError::Data(format!(
                "the write plan {planned:?} differs from the counters {predicted:?}"
            )));
        }
        let written = tx.write(&plan).await?;
        if written != predicted {
            return Err(StoreError::Data(format!(
                "rows inserted {written:?} differ from the counters {predicted:?}"
            )));
        }
        Ok(response)
    }
}

/// The prefetch in the engine's map-backed lookups.
struct Fetched {
    lists: HashMap<String, SendingList>,
    list_ids: HashMap<String, i64>,
    carrier: CarrierValidationMap,
    directory: DirectoryMap,
}

impl From<Free> for Fetched {
    fn from(free: Free) -> Fetched {
        let mut fetched = Fetched {
            lists: HashMap::with_capacity(free.lists.len()),
            list_ids: HashMap::with_capacity(free.lists.len()),
            carrier: CarrierValidationMap::default(),
            directory: DirectoryMap::default(),
        };
        for list in free.lists {
            let welcome_journeys = list.welcome_journeys;
            fetched.list_ids.insert(list.number.clone(), list.id);
            fetched
                .lists
                .insert(list.number, SendingList { welcome_journeys });
        }
        for (phone, verdict) in free.verdicts {
            let verdict = match verdict.as_str() {
                "not_sendable" => Carrier::NotSendable,
                _ => Carrier::Sendable,
            };
            fetched.carrier.carrier_verdicts.insert(phone, verdict);
        }
        fetched.directory.contact_phones.extend(free.contacts);
        for (phone, list) in free.memberships {
            fetched.directory.add_membership(&phone, &list);
        }
        fetched
    }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Data(error.to_string()))
}

/// The rows of the accepted contacts, in index order, in rounds: round n holds the n-th
/// accepted occurrence of each phone (contacts) and of each (phone, list) (memberships), so
/// that a multi-row statement never touches a row twice and each row sees its updates in
/// index order.
fn plan(
    evaluation: &Evaluation<'_>,
    list_ids: &HashMap<String, i64>,
    now: String,
) -> Result<WritePlan, StoreError> {
    let mut plan = WritePlan {
        now,
        ..WritePlan::default()
    };
    let mut contact_seen: HashMap<&str, usize> = HashMap::new();
    let mut member_seen: HashMap<(&str, i64), usize> = HashMap::new();
    for contact in evaluation.accepted() {
        let Some(&list_id) = list_ids.get(contact.list_number) else {
            return Err(StoreError::Data(format!(
                "accepted contact {} has no list row",
                contact.index
            )));
        };
        let phone = contact.phone;
        let signup_date = contact.signup_date.to_string();
        let row = ContactRow {
            phone: phone.to_owned(),
            signup_date: signup_date.clone(),
            ip_address: contact.ip_address.map(str::to_owned),
            url: contact.url.map(str::to_owned),
            extra: to_json(&contact.other_members_map())?,
            validation: match &contact.validation {
                Some(result) => Some(to_json(result)?),
                None => None,
            },
        };
        let occurrence = next(&mut contact_seen, phone);
        let round = round(&mut plan.rounds, occurrence);
        if occurrence == 0 && contact.is_new_contact {
            round.insert_contacts.push(row);
        } else {
            round.update_contacts.push(row);
        }

        let fields = match contact.custom_fields_map() {
            Some(fields) => Some(to_json(&fields)?),
            None => None,
        };
        let occurrence = next(&mut member_seen, (phone, list_id));
        let round = self::round(&mut plan.rounds, occurrence);
        if occurrence == 0 && contact.is_new_list_contact {
            round.insert_memberships.push(MembershipRow {
                list_id,
                phone: phone.to_owned(),
                custom_fields: fields.unwrap_or_else(|| "{}".to_owned()),
                signup_date,
            });
        } else if let Some(fields) = fields {
            // Without `custom_fields` there is nothing to merge, nor to replace with: the
            // stored fields are kept even when `replace_custom_fields` is true.
            round.update_memberships.push(FieldsUpdate {
                list_id,
                phone: phone.to_owned(),
                custom_fields: fields,
                replace: contact.flags.replace_custom_fields,
            });
        }
        for journey in 1..=contact.journeys {
            plan.enrollments.push(EnrollmentRow {
                list_id,
                phone: phone.to_owned(),
                journey,
            });
        }
    }
    Ok(plan)
}

/// How many times `key` was seen before (and counts this time).
fn next<K: std::hash::Hash + Eq>(seen: &mut HashMap<K, usize>, key: K) -> usize {
    let count = seen.entry(key).or_insert(0);
    *count += 1;
    *count - 1
}

fn round(rounds: &mut Vec<Round>, n: usize) -> &mut Round {
    if rounds.len() <= n {
        rounds.resize_with(n + 1, Round::default);
    }
    &mut rounds[n]
}

fn parse_billing(name: &str) -> Option<Billing> {
    Billing::ALL
        .into_iter()
        .find(|billing| billing.as_str() == name)
}

/// A world (SPEC §8) as the rows of account `name`. Entries that make a lookup fail
/// (`"error"`, `failures`) have no row form and are skipped.
pub fn seed(name: &str, world: &World) -> Seed {
    let mut seed = Seed {
        name: name.to_owned(),
        billing: world.billing.as_str().to_owned(),
        api_keys: world.api_keys.clone(),
        now: world.now.to_string(),
        ..Seed::default()
    };
    for (number, entry) in &world.lists {
        if let Entry::Answer(list) = entry {
            seed.lists.push((number.clone(), list.welcome_journeys));
        }
    }
    seed.contacts.extend(world.contacts.iter().cloned());
    for (phone, lists) in &world.list_contacts {
        seed.contacts.push(phone.clone());
        for list in lists {
            seed.memberships.push((phone.clone(), list.clone()));
        }
    }
    for (phone, entry) in &world.carrier {
        if let Entry::Answer(verdict) = entry {
            let verdict = match verdict {
                Carrier::Sendable => "sendable",
                Carrier::NotSendable => "not_sendable",
            };
            seed.verdicts.push((phone.clone(), verdict.to_owned()));
        }
    }
    for (phone, validation) in &world.validation {
        let result = match validation {
            Validation::ProviderError(_) => PROVIDER_ERROR.to_owned(),
            // A result that does not serialize has no row form either.
            Validation::Result(result) => match serde_json::to_string(result) {
                Ok(text) => text,
                Err(_) => continue,
            },
        };
        seed.validations.push((phone.clone(), result));
    }
    // Deterministic order (the world's maps are hash maps), distinct contacts.
    seed.contacts.sort();
    seed.contacts.dedup();
    for rows in [
        &mut seed.memberships,
        &mut seed.verdicts,
        &mut seed.validations,
    ] {
        rows.sort();
    }
    seed.lists.sort();
    seed
}

/// Seeds `world` as account `name` (what `--seed-demo` and the tests use).
pub async fn seed_world<S: Store>(store: &S, name: &str, world: &World) -> Result<i64, StoreError> {
    store.seed(&seed(name, world)).await
}

/// The demo world (SPEC §8's built-in world) and its first key, for `--seed-demo`.
pub fn demo() -> (World, String) {
    let world = World::builtin();
    let key = world.api_keys.first().cloned().unwrap_or_default();
    (world, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_billing_status_round_trips_through_its_column_value() {
        for billing in Billing::ALL {
            assert_eq!(parse_billing(billing.as_str()), Some(billing));
        }
        assert_eq!(parse_billing("Active"), None);
    }

    #[test]
    fn a_phone_sent_three_times_is_inserted_once_then_updated_in_two_later_rounds() {
        let engine = Engine::default();
        let body = br#"{"contacts": [
            {"phone_number": "+14155550000", "list_number": "+18005551234", "custom_fields": {"a": 1}},
            {"phone_number": "+14155550000", "list_number": "+18005551234", "custom_fields": {"b": 2}},
            {"phone_number": "+14155550001", "list_number": "+18005551234", "use_journeys": true},
            {"phone_number": "+14155550000", "list_number": "+18005551234"}
        ]}"#;
        let batch = engine.read(body, Timestamp::UNIX_EPOCH).expect("batch");
        let lists = HashMap::from([(
            "+18005551234".to_owned(),
            SendingList {
                welcome_journeys: 2,
            },
        )]);
        let evaluation = batch
            .evaluate(
                &lists,
                &CarrierValidationMap::default(),
                &DirectoryMap::default(),
            )
            .expect("evaluation");
        let ids = HashMap::from([("+18005551234".to_owned(), 7)]);
        let plan = plan(&evaluation, &ids, "now".to_owned()).expect("plan");
        let shape: Vec<_> = plan
            .rounds
            .iter()
            .map(|r| {
                (
                    r.insert_contacts.len(),
                    r.update_contacts.len(),
                    r.insert_memberships.len(),
                    r.update_memberships.len(),
                )
            })
            .collect();
        // Round 0: both phones inserted with their memberships; round 1: the second
        // occurrence updates the contact and merges {"b": 2}; round 2: the third updates the
        // contact only (no custom fields to merge).
        assert_eq!(shape, [(2, 0, 2, 0), (0, 1, 0, 1), (0, 1, 0, 0)]);
        assert_eq!(plan.enrollments.len(), 2);
        let counts = evaluation.counts();
        assert_eq!(
            plan.inserts(),
            Written {
                contacts: counts.contacts_created as u64,
                memberships: counts.list_contacts_created as u64,
                enrollments: counts.journeys_enrolled,
            }
        );
    }
}

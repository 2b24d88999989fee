//! The engine: the batch-level checks of SPEC §3 and the lookups of rules 9 to 12, in order.
//!
//! The steps a server takes, each one a method, so that it can do its I/O between them:
//!
//! 1. [`Engine::authenticate`] — the `X-Api-Key` header against the account's keys;
//! 2. [`Engine::read`] — the body: size, JSON, `contacts`, count, then rules 1 to 8 per contact;
//! 3. [`Batch::check_billing`] — the 402 pre-check;
//! 4. [`Batch::keys`] and [`Batch::validation_keys`] — what to fetch, each key once;
//! 5. [`Batch::evaluate`] — rules 9 to 12 through the lookup traits, then the summary.
//!
//! [`Engine::handle`] runs all of them for callers whose lookups are synchronous.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use subtle::ConstantTimeEq;

use crate::ContactError;
use crate::codes::{ContactCode, Field, Rejection};
use crate::json::Json;
use crate::limits::Limits;
use crate::lookup::{
    Carrier, CarrierCheck, Directory, ListLookup, LookupError, SendingList, ValidationResult,
};
use crate::request;
use crate::response::Response;
use crate::rules::{self, Valid};
use crate::summary::{Acceptance, ContactOutcome, Evaluation};

/// The account's billing status (SPEC §3, check 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    /// Billing works: validation may be used.
    #[default]
    Active,
    /// No billing configuration.
    NoBillingConfig,
    /// No payment method on file.
    NoPaymentMethod,
    /// The last payment failed.
    PaymentFailed,
    /// Billing is suspended.
    Suspended,
}

impl Billing {
    fn rejection(self) -> Option<Rejection> {
        match self {
            Billing::Active => None,
            Billing::NoBillingConfig => Some(Rejection::NoBillingConfig),
            Billing::NoPaymentMethod => Some(Rejection::NoPaymentMethod),
            Billing::PaymentFailed => Some(Rejection::PaymentFailed),
            Billing::Suspended => Some(Rejection::Suspended),
        }
    }
}

/// The account a request is made for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Account {
    /// The account's API keys.
    pub api_keys: Vec<String>,
    /// The account's billing status.
    pub billing: Billing,
}

/// One request as the HTTP layer received it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The `X-Api-Key` header's value, `None` when absent.
    pub api_key: Option<&'a [u8]>,
    /// The request body.
    pub body: &'a [u8],
    /// The time the request is evaluated at.
    pub now: Timestamp,
}

/// The decision logic, configured with its limits. Cheap to copy, shareable across threads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Engine {
    limits: Limits,
}

const KEY_PREFIX: &[u8] = b"trk_";
const KEY_SUFFIX_LEN: usize = 32;

impl Engine {
    /// An engine with these limits.
    pub const fn new(limits: Limits) -> Self {
        Engine { limits }
    }

    /// The configured limits.
    pub const fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Check 1, format only: the header is present, non-empty, and `trk_` followed by exactly
    /// 32 ASCII letters or digits. Servers that find the account by its key call this first.
    pub fn check_key_format<'k>(&self, header: Option<&'k [u8]>) -> Result<&'k [u8], Rejection> {
        let key = header
            .filter(|k| !k.is_empty())
            .ok_or(Rejection::MissingApiKey)?;
        let well_formed = key.len() == KEY_PREFIX.len() + KEY_SUFFIX_LEN
            && key.starts_with(KEY_PREFIX)
            && key
                .iter()
                .skip(KEY_PREFIX.len())
                .all(u8::is_ascii_alphanumeric);
        if well_formed {
            Ok(key)
        } else {
            Err(Rejection::InvalidApiKey)
        }
    }

    /// Check 1: the header is well formed and is one of `account_keys`. Keys are compared in
    /// constant time, and all of them are compared, so timing tells nothing about a key.
    pub fn authenticate<K: AsRef<[u8]>>(
        &self,
        header: Option<&[u8]>,
        account_keys: &[K],
    ) -> Result<(), Rejection> {
        let key = self.check_key_format(header)?;
        let found = account_keys
            .iter()
            .fold(subtle::Choice::from(0), |found, candidate| {
                found | candidate.as_ref().ct_eq(key)
            });
        if bool::from(found) {
            Ok(())
        } else {
            Err(Rejection::InvalidApiKey)
        }
    }

    /// Checks 2 to 5 on the body, then rules 1 to 8 on each contact. Needs no lookup at all:
    /// a client SDK can call this alone to catch every error it can before sending
    /// (`now` matters only to `signup_date`).
    pub fn read<'a>(&self, body: &'a [u8], now: Timestamp) -> Result<Batch<'a>, Rejection> {
        let contacts = request::read_contacts(body, &self.limits)?;
        let mut memo = rules::Memo::default();
        let checks = contacts
            .iter()
            .map(|contact| rules::check(contact, &self.limits, now, &mut memo))
            .collect();
        let wants_validation = contacts.iter().any(|contact| {
            contact
                .as_object()
                .and_then(|object| object.get(Field::UseValidation.as_str()))
                == Some(&Json::Bool(true))
        });
        Ok(Batch {
            limits: self.limits,
            now,
            contacts,
            checks,
            wants_validation,
        })
    }

    /// The whole request, with synchronous lookups: status and body.
    pub fn handle(
        &self,
        request: &Request<'_>,
        account: &Account,
        lists: &impl ListLookup,
        carrier: &impl CarrierCheck,
        directory: &impl Directory,
    ) -> Response {
        let rejected = |rejection: Rejection| Response::rejected(rejection, &self.limits);
        if let Err(rejection) = self.authenticate(request.api_key, &account.api_keys) {
            return rejected(rejection);
        }
        let batch = match self.read(request.body, request.now) {
            Ok(batch) => batch,
            Err(rejection) => return rejected(rejection),
        };
        if let Err(rejection) = batch.check_billing(account.billing) {
            return rejected(rejection);
        }
        match batch.evaluate(lists, carrier, directory) {
            Ok(evaluation) => Response::summary(&evaluation),
            Err(_) => rejected(Rejection::InternalError),
        }
    }
}

/// A request that passed checks 2 to 5, with rules 1 to 8 applied to each contact.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    limits: Limits,
    now: Timestamp,
    contacts: Vec<Json<'a>>,
    checks: Vec<Result<Valid<'a>, ContactError>>,
    wants_validation: bool,
}

/// The distinct keys a batch may need, in order of first appearance, so that a server can
/// fetch each kind in one round trip. They cover every contact that passed rules 1 to 8 — a
/// superset of what evaluation asks, since a contact may still fail rule 9 or 10 — and none
/// of them costs money: the paid validation's keys come from [`Batch::validation_keys`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys<'b> {
    /// List numbers, for [`ListLookup`].
    pub lists: Vec<&'b str>,
    /// Phone numbers, for [`CarrierCheck::carrier`] and [`Directory::contact_exists`].
    pub phones: Vec<&'b str>,
    /// (phone, list) pairs, for [`Directory::is_member`].
    pub memberships: Vec<(&'b str, &'b str)>,
}

/// Where a contact stands after rules 9 and 10.
enum Stage<'b> {
    Failed(ContactError),
    Passed(&'b Valid<'b>, SendingList),
}

impl<'a> Batch<'a> {
    /// The number of contacts.
    pub fn len(&self) -> usize {
        self.contacts.len()
    }

    /// Whether the batch has no contact (never true: an empty `contacts` is rejected).
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty()
    }

    /// The contacts as sent.
    pub fn contacts(&self) -> &[Json<'a>] {
        &self.contacts
    }

    /// The result of rules 1 to 8 for each contact.
    pub fn checks(&self) -> &[Result<Valid<'a>, ContactError>] {
        &self.checks
    }

    /// The errors of rules 1 to 8, by index: the pre-check a client can run before sending.
    pub fn precheck_errors(&self) -> impl Iterator<Item = (usize, &ContactError)> {
        self.checks
            .iter()
            .enumerate()
            .filter_map(|(index, check)| check.as_ref().err().map(|error| (index, error)))
    }

    /// The time this batch is evaluated at.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The limits this batch was read with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether some contact is an object whose `use_validation` is `true`.
    pub fn wants_validation(&self) -> bool {
        self.wants_validation
    }

    /// Check 6: a batch asking for validation needs working billing.
    pub fn check_billing(&self, billing: Billing) -> Result<(), Rejection> {
        match billing.rejection() {
            Some(rejection) if self.wants_validation => Err(rejection),
            _ => Ok(()),
        }
    }

    fn valid(&self) -> impl Iterator<Item = &Valid<'a>> {
        self.checks.iter().filter_map(|check| check.as_ref().ok())
    }

    /// The distinct free lookup keys this batch may need (see [`Keys`]).
    pub fn keys(&self) -> Keys<'_> {
        let mut keys = Keys::default();
        let (mut lists, mut phones, mut pairs) = (HashSet::new(), HashSet::new(), HashSet::new());
        for valid in self.valid() {
            let (phone, list) = (valid.phone.as_ref(), valid.list.as_ref());
            if lists.insert(list) {
                keys.lists.push(list);
            }
            if phones.insert(phone) {
                keys.phones.push(phone);
            }
            if pairs.insert((phone, list)) {
                keys.memberships.push((phone, list));
            }
        }
        keys
    }

    /// The distinct numbers the paid validation will be asked about, given the answers of the
    /// free lookups: contacts with `use_validation` that pass rules 9 and 10.
    pub fn validation_keys(
        &self,
        lists: &impl ListLookup,
        carrier: &impl CarrierCheck,
    ) -> Result<Vec<&str>, LookupError> {
        let mut seen = HashSet::new();
        Ok(self
            .free_stages(lists, carrier)?
            .into_iter()
            .filter_map(|stage| match stage {
                Stage::Passed(valid, _) if valid.flags.use_validation => Some(valid.phone.as_ref()),
                _ => None,
            })
            .filter(|phone| seen.insert(*phone))
            .collect())
    }

    /// Rules 9 and 10 for every contact that passed rules 1 to 8: all list lookups, then all
    /// carrier lookups, each distinct key once. Any failure ends the batch before anything
    /// is paid for.
    fn free_stages<'b>(
        &'b self,
        lists: &impl ListLookup,
        carrier: &impl CarrierCheck,
    ) -> Result<Vec<Stage<'b>>, LookupError> {
        let mut found: HashMap<&str, Option<SendingList>> = HashMap::with_capacity(self.len());
        let mut stages = Vec::with_capacity(self.checks.len());
        for check in &self.checks {
            stages.push(match check {
                Err(error) => Stage::Failed(error.clone()),
                Ok(valid) => match memo(&mut found, &valid.list, |k| lists.list(k))? {
                    None => Stage::Failed(ContactCode::ListNotFound.into()),
                    Some(list) => Stage::Passed(valid, list),
                },
            });
        }
        let mut verdicts: HashMap<&str, Carrier> = HashMap::with_capacity(self.len());
        for stage in &mut stages {
            if let Stage::Passed(valid, _) = stage
                && memo(&mut verdicts, &valid.phone, |k| carrier.carrier(k))?
                    == Carrier::NotSendable
            {
                *stage = Stage::Failed(ContactCode::NotSendable.into());
            }
        }
        Ok(stages)
    }

    /// Rules 9 to 12, then the summary (SPEC §5). A failed list, carrier or directory lookup
    /// is returned as the error, to be answered with 500 `internal_error`.
    pub fn evaluate<'b>(
        &'b self,
        lists: &impl ListLookup,
        carrier: &impl CarrierCheck,
        directory: &impl Directory,
    ) -> Result<Evaluation<'b, 'a>, LookupError> {
        let stages = self.free_stages(lists, carrier)?;
        let mut validations: HashMap<&str, Result<ValidationResult, crate::ProviderError>> =
            HashMap::new();
        let mut passed = Vec::with_capacity(stages.len());
        for stage in stages {
            passed.push(match stage {
                Stage::Failed(error) => Err(error),
                Stage::Passed(valid, list) if !valid.flags.use_validation => {
                    Ok((valid, list, None))
                }
                Stage::Passed(valid, list) => {
                    let result = validations
                        .entry(valid.phone.as_ref())
                        .or_insert_with_key(|phone| carrier.validate(phone));
                    match result {
                        Err(_) => Err(ContactCode::ProviderError.into()),
                        Ok(result) if result.disposition.fails() => {
                            Err(ContactError::validation_failed(result.clone()))
                        }
                        Ok(result) => Ok((valid, list, Some(Box::new(result.clone())))),
                    }
                }
            });
        }
        let outcomes = apply(passed, directory)?;
        Ok(Evaluation::new(self, outcomes))
    }
}

type Passed<'b> = Result<(&'b Valid<'b>, SendingList, Option<Box<ValidationResult>>), ContactError>;

/// Applies the accepted contacts in index order, as a store would (SPEC §5).
fn apply<'b>(
    passed: Vec<Passed<'b>>,
    directory: &impl Directory,
) -> Result<Vec<ContactOutcome>, LookupError> {
    let mut phones_seen: HashSet<&str> = HashSet::with_capacity(passed.len());
    let mut pairs_seen: HashMap<(&str, &str), usize> = HashMap::with_capacity(passed.len());
    let mut outcomes = Vec::with_capacity(passed.len());
    for (index, item) in passed.into_iter().enumerate() {
        let (valid, list, validation) = match item {
            Err(error) => {
                outcomes.push(ContactOutcome::Failed(error));
                continue;
            }
            Ok(accepted) => accepted,
        };
        let (phone, list_number) = (valid.phone.as_ref(), valid.list.as_ref());
        let is_new_contact = phones_seen.insert(phone) && !directory.contact_exists(phone)?;
        let (is_new_list_contact, duplicate_of) = match pairs_seen.entry((phone, list_number)) {
            Entry::Occupied(first) => (false, Some(*first.get())),
            Entry::Vacant(slot) => {
                slot.insert(index);
                (!directory.is_member(phone, list_number)?, None)
            }
        };
        let enrolls = valid.flags.use_journeys
            && (is_new_list_contact || !valid.flags.skip_journey_if_exists);
        outcomes.push(ContactOutcome::Accepted(Acceptance {
            list,
            is_new_contact,
            is_new_list_contact,
            journeys: if enrolls { list.welcome_journeys } else { 0 },
            duplicate_of,
            validation,
        }));
    }
    Ok(outcomes)
}

/// Asks `lookup` about `key` unless this batch already did.
fn memo<'k, T: Copy>(
    cache: &mut HashMap<&'k str, T>,
    key: &'k str,
    lookup: impl FnOnce(&str) -> Result<T, LookupError>,
) -> Result<T, LookupError> {
    match cache.entry(key) {
        Entry::Occupied(known) => Ok(*known.get()),
        Entry::Vacant(slot) => Ok(*slot.insert(lookup(key)?)),
    }
}

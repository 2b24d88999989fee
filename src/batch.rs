//! A read batch and its stages: the free lookups of rules 9 and 10 ([`Batch::screen`]), then
//! the paid validation of rules 11 and 12 and the directory ([`Screened::evaluate`]).
//!
//! Each stage is a value, so that a server can do its I/O between two of them, and no rule
//! runs twice: the [`Screened`] batch both names the numbers to validate and evaluates.

use std::borrow::Cow;
use std::collections::hash_map::Entry;

use jiff::Timestamp;
use yoke::{Yoke, Yokeable};

use crate::account::Billing;
use crate::codes::{ContactCode, ContactError, Rejection};
use crate::hashing::{self, Map, Recall};
use crate::limits::Limits;
use crate::lookup::{
    Carrier, CarrierCheck, Directory, ListLookup, LookupError, ProviderError, SendingList,
    ValidationResult,
};
use crate::request::Read;
use crate::rules::Valid;
use crate::summary::{Applied, Borrowed, Evaluation, Outcome};

/// A request body that passed checks 2 to 5, with rules 1 to 8 applied to each contact.
///
/// Made by [`Engine::read`](crate::Engine::read) (borrowing the body) or
/// [`Engine::read_owned`](crate::Engine::read_owned) (owning it, see [`OwnedBatch`]). Next
/// steps: [`Batch::check_billing`], [`Batch::keys`], [`Batch::screen`] (or
/// [`Batch::evaluate`] to run both remaining stages at once).
///
/// ```
/// use bulk_contacts::{ContactCode, Engine, Timestamp};
///
/// let body = br#"{"contacts": [
///     {"phone_number": "+14155559876", "list_number": "+18005551234"},
///     {"phone_number": "415-555-9876", "list_number": "+18005551234"}
/// ]}"#;
/// let now: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
/// let batch = Engine::default().read(body, now).unwrap();
/// // The lookup-free pre-check a client SDK runs before sending:
/// let errors: Vec<_> = batch.precheck_errors().map(|(i, e)| (i, e.code())).collect();
/// assert_eq!(errors, [(1, ContactCode::InvalidPhone)]);
/// // What a server fetches, each key once:
/// assert_eq!(batch.keys().phones, ["+14155559876"]);
/// ```
#[derive(Debug, Clone, Yokeable)]
pub struct Batch<'a> {
    limits: Limits,
    now: Timestamp,
    texts: Vec<&'a str>,
    failed_phones: Vec<(usize, Cow<'a, str>)>,
    checks: Vec<Result<Valid<'a>, ContactError>>,
    wants_validation: bool,
}

/// The distinct keys a batch may need, in order of first appearance, so that a server can
/// fetch each kind in one round trip. They cover every contact that passed rules 1 to 8 — a
/// superset of what evaluation asks, since a contact may still fail rule 9 or 10 — and none
/// of them costs money: the paid validation's keys come from [`Screened::validation_keys`].
///
/// Fetch `lists` (and `memberships`, which belong to lists) among the **authenticated
/// account's** rows only: see the scoping rule on [`ListLookup`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys<'b> {
    /// List numbers, for [`ListLookup`].
    pub lists: Vec<&'b str>,
    /// Phone numbers, for [`CarrierCheck::carrier`] and [`Directory::contact_exists`].
    pub phones: Vec<&'b str>,
    /// (phone, list) pairs, for [`Directory::is_member`].
    pub memberships: Vec<(&'b str, &'b str)>,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(limits: Limits, now: Timestamp, read: Read<'a>) -> Self {
        Batch {
            limits,
            now,
            texts: read.texts,
            failed_phones: read.failed_phones,
            checks: read.checks,
            wants_validation: read.wants_validation,
        }
    }

    /// The number of contacts.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether the batch has no contact (never true: an empty `contacts` is rejected).
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Each contact's JSON text, exactly as sent (a slice of the body).
    pub fn contacts(&self) -> &[&'a str] {
        &self.texts
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
        let (mut lists, mut phones, mut pairs) =
            (hashing::set(0), hashing::set(0), hashing::set(0));
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

    /// Rules 9 and 10 for every contact that passed rules 1 to 8: all list lookups, then all
    /// carrier verdicts ([`CarrierCheck::carrier`] only), each distinct key once. A failed
    /// lookup ends the batch (500 `internal_error`) before anything is paid for.
    pub fn screen<'b>(
        &'b self,
        lists: &impl ListLookup,
        carrier: &impl CarrierCheck,
    ) -> Result<Screened<'b>, LookupError> {
        let mut found: Recall<'_, Option<SendingList>> = Recall::default();
        let mut stages = Vec::with_capacity(self.checks.len());
        for check in &self.checks {
            stages.push(match check {
                Err(error) => Stage::Failed(error.clone()),
                Ok(valid) => match found.get_or(&valid.list, |k| lists.list(k))? {
                    None => Stage::Failed(ContactCode::ListNotFound.into()),
                    Some(list) => Stage::Passed(valid, list),
                },
            });
        }
        let mut verdicts: Recall<'_, Carrier> = Recall::default();
        for stage in &mut stages {
            if let Stage::Passed(valid, _) = stage
                && verdicts.get_or(&valid.phone, |k| carrier.carrier(k))? == Carrier::NotSendable
            {
                *stage = Stage::Failed(ContactCode::NotSendable.into());
            }
        }
        Ok(Screened {
            batch: self,
            stages,
        })
    }

    /// [`Batch::screen`] then [`Screened::evaluate`], for lookups that can answer anything
    /// when asked (synchronous ones, or maps holding everything). A failed list, carrier or
    /// directory lookup is the error, to be answered with 500 `internal_error`.
    pub fn evaluate<'b>(
        &'b self,
        lists: &impl ListLookup,
        carrier: &impl CarrierCheck,
        directory: &impl Directory,
    ) -> Result<Evaluation<'b>, LookupError> {
        self.screen(lists, carrier)?.evaluate(carrier, directory)
    }
}

/// A batch after rules 9 and 10 ([`Batch::screen`]): which contacts still need the paid
/// validation, and the last stage.
///
/// A server that fetches asynchronously asks [`Screened::validation_keys`], has those numbers
/// validated (and paid for) in one round trip, then calls [`Screened::evaluate`] with the
/// results in a [`CarrierValidationMap`](crate::CarrierValidationMap).
#[derive(Debug, Clone)]
pub struct Screened<'b> {
    batch: &'b Batch<'b>,
    stages: Vec<Stage<'b>>,
}

/// Where a contact stands after rules 9 and 10.
#[derive(Debug, Clone)]
enum Stage<'b> {
    Failed(ContactError),
    Passed(&'b Valid<'b>, SendingList),
}

impl<'b> Screened<'b> {
    /// The distinct numbers the paid validation will be asked about, in order of first
    /// appearance: those of contacts with `use_validation` that passed rules 1 to 10. Nothing
    /// else is ever validated, so nothing else is paid for.
    pub fn validation_keys(&self) -> Vec<&'b str> {
        let mut seen = hashing::set(0);
        self.stages
            .iter()
            .filter_map(|stage| match stage {
                Stage::Passed(valid, _) if valid.flags.use_validation => Some(valid.phone.as_ref()),
                _ => None,
            })
            .filter(|phone| seen.insert(*phone))
            .collect()
    }

    /// Rules 11 and 12 ([`CarrierCheck::validate`] only, each number once) and the accepted
    /// contacts applied against the `directory` (SPEC §5), contact by contact in index order.
    /// A failed directory lookup is the error, to be answered with 500 `internal_error` (the
    /// contacts after it are not validated); a provider failure is the contact's
    /// `provider_error`.
    pub fn evaluate(
        &self,
        validator: &impl CarrierCheck,
        directory: &impl Directory,
    ) -> Result<Evaluation<'b>, LookupError> {
        let mut validations: Map<&str, Result<ValidationResult, ProviderError>> = hashing::map(0);
        let passed = self.stages.iter().map(|stage| match stage {
            Stage::Failed(error) => Err(error.clone()),
            Stage::Passed(valid, list) if !valid.flags.use_validation => Ok((*valid, *list, None)),
            Stage::Passed(valid, list) => {
                let result = validations
                    .entry(valid.phone.as_ref())
                    .or_insert_with_key(|phone| validator.validate(phone));
                match result {
                    Err(_) => Err(ContactCode::ProviderError.into()),
                    Ok(result) if result.disposition.fails() => {
                        Err(ContactError::ValidationFailed(Box::new(result.clone())))
                    }
                    Ok(result) => Ok((*valid, *list, Some(Box::new(result.clone())))),
                }
            }
        });
        apply(self.batch, passed, directory)
    }
}

type Passed<'b> = Result<(&'b Valid<'b>, SendingList, Option<Box<ValidationResult>>), ContactError>;

/// Applies the accepted contacts in index order, as a store would (SPEC §5), as each one's
/// stages end.
fn apply<'b>(
    batch: &'b Batch<'b>,
    passed: impl ExactSizeIterator<Item = Passed<'b>>,
    directory: &impl Directory,
) -> Result<Evaluation<'b>, LookupError> {
    let mut phones_seen = hashing::set::<&str>(passed.len());
    let mut pairs_seen = hashing::map::<(&str, &str), usize>(passed.len());
    let mut outcomes = Vec::with_capacity(passed.len());
    for (index, item) in passed.enumerate() {
        let (valid, list, validation) = match item {
            Ok(accepted) => accepted,
            Err(error) => {
                outcomes.push(Outcome::Failed(error));
                continue;
            }
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
        outcomes.push(Outcome::Accepted(
            valid,
            Applied {
                list,
                is_new_contact,
                is_new_list_contact,
                journeys: if enrolls { list.welcome_journeys } else { 0 },
                duplicate_of,
                validation,
            },
        ));
    }
    let read = Borrowed {
        limits: batch.limits,
        now: batch.now,
        texts: &batch.texts,
        checks: &batch.checks,
        failed_phones: &batch.failed_phones,
    };
    Ok(Evaluation::new(read, outcomes))
}

/// A [`Batch`] that owns the body it was read from: `Send + 'static`, so that reading (a few
/// milliseconds for a body of several megabytes) can run on a blocking thread and the batch
/// come back to the async task. The contacts still borrow from the body, which the batch
/// holds: nothing is copied.
///
/// ```
/// use bulk_contacts::{Engine, OwnedBatch, Timestamp};
///
/// let body: Vec<u8> = br#"{"contacts": [{"phone_number": "+14155559876"}]}"#.to_vec();
/// let now: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
/// let owned: OwnedBatch = std::thread::spawn(move || Engine::default().read_owned(body, now))
///     .join()
///     .unwrap()
///     .unwrap();
/// assert_eq!(owned.batch().precheck_errors().count(), 1); // no list_number
/// ```
pub struct OwnedBatch(Yoke<Batch<'static>, Vec<u8>>);

impl OwnedBatch {
    pub(crate) fn read(
        body: Vec<u8>,
        read: impl for<'a> FnOnce(&'a [u8]) -> Result<Batch<'a>, Rejection>,
    ) -> Result<Self, Rejection> {
        Yoke::<Batch<'static>, Vec<u8>>::try_attach_to_cart(body, |body: &[u8]| read(body))
            .map(OwnedBatch)
    }

    /// The batch, borrowing from the body this value holds.
    pub fn batch(&self) -> &Batch<'_> {
        self.0.get()
    }

    /// The body the batch was read from.
    pub fn body(&self) -> &[u8] {
        self.0.backing_cart()
    }
}

impl std::fmt::Debug for OwnedBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OwnedBatch").field(self.batch()).finish()
    }
}

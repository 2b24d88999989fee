//! The result of a batch (SPEC §5): one outcome per contact, the counters, and for each
//! accepted contact everything a store needs to write it.

use jiff::Timestamp;
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

use crate::batch::Batch;
use crate::codes::ContactError;
use crate::limits::Limits;
use crate::lookup::{SendingList, ValidationResult};
use crate::member::Member;
use crate::rules::{Flags, Valid};

/// What happened to one contact.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactOutcome<'b> {
    /// Accepted: what the store writes.
    Accepted(AcceptedContact<'b>),
    /// Rejected with one error.
    Failed(FailedContact<'b>),
}

/// A rejected contact: what its entry in `errors` says.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedContact<'b> {
    /// Its index in `contacts`.
    pub index: usize,
    /// `phone_number` exactly as sent, when it was a string.
    pub phone_number: Option<&'b str>,
    /// Its one error.
    pub error: ContactError,
}

/// An accepted contact, ready to be written: the numbers, the flags and members it was sent
/// with (checked, borrowed from the body), and how it lands in the store, applied in index
/// order.
///
/// # Writing it
///
/// The counters of the summary are the rows a store that follows these rules inserts (the
/// reference server writes exactly this way, and checks it):
///
/// * **contact** (one per phone number): insert when [`is_new_contact`](Self::is_new_contact),
///   with `signup_date`, `ip_address`, `url` and the [other members](Self::other_members_map).
///   An existing contact keeps its first `signup_date`; an `ip_address` or `url` sent now
///   replaces the stored one (it is the consent of this signup), an absent one keeps it; the
///   other members are merged into the stored ones, a member sent now replacing the same name.
/// * **membership** (one per phone number and list): insert when
///   [`is_new_list_contact`](Self::is_new_list_contact), with
///   [`custom_fields`](Self::custom_fields_map) (empty when absent). For an existing
///   membership, `custom_fields` sent now are merged into the stored ones, or replace them
///   all when `flags.replace_custom_fields` is `true`; absent `custom_fields` leave them as
///   they are, whatever the flag.
/// * **journeys**: enroll the membership in [`journeys`](Self::journeys) welcome journeys.
/// * **duplicates**: a contact with [`duplicate_of`](Self::duplicate_of) repeats an earlier
///   accepted contact of the batch (same phone, same list). Apply it all the same, in index
///   order, as an update of what the earlier one wrote: it is new neither as a contact nor as
///   a membership, and it enrolls only when `use_journeys` and not `skip_journey_if_exists`.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedContact<'b> {
    /// Its index in `contacts`.
    pub index: usize,
    /// The canonical phone number.
    pub phone: &'b str,
    /// The canonical list number.
    pub list_number: &'b str,
    /// The flags, defaults applied.
    pub flags: Flags,
    /// `signup_date` in UTC, or `now` when absent.
    pub signup_date: Timestamp,
    /// `ip_address`, when sent (a valid IPv4 or IPv6 address).
    pub ip_address: Option<&'b str>,
    /// `url`, when sent (a valid absolute http or https URL).
    pub url: Option<&'b str>,
    /// The JSON text of `custom_fields` as sent, when sent (an object of string, number or
    /// boolean values; [`custom_fields_map`](Self::custom_fields_map) reads it).
    pub custom_fields: Option<&'b str>,
    /// Its sending list.
    pub list: SendingList,
    /// No contact with this phone number existed, in the store or earlier in the batch.
    pub is_new_contact: bool,
    /// No membership of this phone in this list existed, in the store or earlier in the batch.
    pub is_new_list_contact: bool,
    /// How many welcome journeys it is enrolled in.
    pub journeys: u32,
    /// The index of the first earlier accepted contact with the same phone and list.
    pub duplicate_of: Option<usize>,
    /// The paid validation's result, when `use_validation` was `true`.
    pub validation: Option<Box<ValidationResult>>,
    /// The contact's JSON text, as sent.
    pub(crate) text: &'b str,
    /// Whether the contact has a member the rules do not read (the reader saw its name).
    pub(crate) other_members: bool,
}

impl<'b> AcceptedContact<'b> {
    /// The contact's JSON text, exactly as sent.
    pub fn json(&self) -> &'b str {
        self.text
    }

    /// Whether the contact has a member the rules do not read (`ad_network_source`, an
    /// unknown name…): whether [`other_members_map`](Self::other_members_map) is non-empty,
    /// known without reading the contact again.
    pub fn has_other_members(&self) -> bool {
        self.other_members
    }

    /// The members the rules do not read (`ad_network_source`, unknown names…), as a JSON
    /// object ready for a store column: what `serde_json` reads from the contact (a repeated
    /// name keeps its last value), without the members the rules read. Empty, without
    /// reading the contact, when it [has none](Self::has_other_members).
    pub fn other_members_map(&self) -> serde_json::Map<String, serde_json::Value> {
        if !self.other_members {
            return serde_json::Map::new();
        }
        let mut members = read_object(self.text);
        members.retain(|name, _| Member::from_name(name).is_none());
        members
    }

    /// `custom_fields` as a JSON object, ready for a store column, when sent.
    pub fn custom_fields_map(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        self.custom_fields.map(read_object)
    }
}

/// The object `text` holds, as `serde_json` reads it. The reader accepted `text` as an object,
/// so `serde_json` does too.
fn read_object(text: &str) -> serde_json::Map<String, serde_json::Value> {
    let object = serde_json::from_str(text);
    debug_assert!(object.is_ok(), "the reader accepted {text} as an object");
    object.unwrap_or_default()
}

/// The counters of the summary body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Accepted contacts.
    pub success_count: usize,
    /// Failed contacts.
    pub error_count: usize,
    /// Accepted contacts that are new contacts.
    pub contacts_created: usize,
    /// Accepted contacts that are new list memberships.
    pub list_contacts_created: usize,
    /// Total journey enrollments.
    pub journeys_enrolled: u64,
}

/// How one contact ended, as the screen and the evaluation keep it (one record per contact,
/// made by [`Batch::screen`], completed in place by the evaluation); what a view of it shows
/// besides is in the batch, at the same index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// It failed one of SPEC §4's rules.
    Failed(ContactError),
    /// It passed rules 1 to 10 (after the screen) or 1 to 12 (after the evaluation, which
    /// also applied it).
    Passed(Applied),
}

/// How an accepted contact lands in the store (SPEC §5).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Applied {
    /// The paid validation's result, when `use_validation` was `true`.
    pub(crate) validation: Option<Box<ValidationResult>>,
    /// The index of the first accepted contact with the same phone and list: its own index
    /// when there is none before it.
    pub(crate) first_of_pair: usize,
    pub(crate) list: SendingList,
    pub(crate) journeys: u32,
    pub(crate) is_new_contact: bool,
    pub(crate) is_new_list_contact: bool,
}

impl Applied {
    /// A contact at `index` that passed the screen with its `list`: not applied yet.
    pub(crate) fn screened(index: usize, list: SendingList) -> Self {
        Applied {
            validation: None,
            first_of_pair: index,
            list,
            journeys: 0,
            is_new_contact: false,
            is_new_list_contact: false,
        }
    }
}

/// The evaluated batch: one outcome per contact, in index order, and the counters. It keeps
/// one small record per contact and borrows the rest from the batch; serialized, it is the
/// summary body.
#[derive(Debug, Clone)]
pub struct Evaluation<'b> {
    batch: &'b Batch<'b>,
    outcomes: Vec<Outcome>,
    counts: Counts,
}

impl<'b> Evaluation<'b> {
    pub(crate) fn new(batch: &'b Batch<'b>, outcomes: Vec<Outcome>) -> Self {
        debug_assert_eq!(outcomes.len(), batch.len());
        let mut counts = Counts::default();
        for outcome in &outcomes {
            match outcome {
                Outcome::Failed(_) => counts.error_count += 1,
                Outcome::Passed(applied) => {
                    counts.success_count += 1;
                    counts.contacts_created += usize::from(applied.is_new_contact);
                    counts.list_contacts_created += usize::from(applied.is_new_list_contact);
                    counts.journeys_enrolled += u64::from(applied.journeys);
                }
            }
        }
        Evaluation {
            batch,
            outcomes,
            counts,
        }
    }

    /// The counters of the summary.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// One outcome per contact, in index order.
    pub fn outcomes(&self) -> impl ExactSizeIterator<Item = ContactOutcome<'b>> {
        let batch = self.batch;
        self.records().map(move |(index, record)| match record {
            Record::Failed(error) => ContactOutcome::Failed(failed(batch, index, error)),
            Record::Accepted(valid, applied) => {
                ContactOutcome::Accepted(accepted(batch, index, valid, applied))
            }
        })
    }

    /// The failed contacts, in ascending index.
    pub fn errors(&self) -> impl Iterator<Item = FailedContact<'b>> {
        let batch = self.batch;
        self.records()
            .filter_map(move |(index, record)| match record {
                Record::Failed(error) => Some(failed(batch, index, error)),
                Record::Accepted(..) => None,
            })
    }

    /// The accepted contacts, in index order, with what a store needs to write them.
    pub fn accepted(&self) -> impl Iterator<Item = AcceptedContact<'b>> {
        let batch = self.batch;
        self.records()
            .filter_map(move |(index, record)| match record {
                Record::Accepted(valid, applied) => Some(accepted(batch, index, valid, applied)),
                Record::Failed(_) => None,
            })
    }

    /// Each outcome with its index and, when accepted, the contact's checked members.
    fn records(&self) -> impl ExactSizeIterator<Item = (usize, Record<'_, 'b>)> {
        let checks = self.batch.checks();
        self.outcomes
            .iter()
            .enumerate()
            .map(move |(index, outcome)| {
                let record = match (outcome, checks.get(index)) {
                    (Outcome::Failed(error), _) => Record::Failed(error),
                    (Outcome::Passed(applied), Some(Ok(valid))) => Record::Accepted(valid, applied),
                    (Outcome::Passed(_), check) => {
                        // Not reached: only a contact that passed rules 1 to 8 is accepted.
                        debug_assert!(false, "contact {index} accepted with {check:?}");
                        match check {
                            Some(Err(error)) => Record::Failed(error),
                            _ => Record::Failed(&ContactError::InvalidContact),
                        }
                    }
                };
                (index, record)
            })
    }
}

/// An outcome seen with its contact.
enum Record<'e, 'b> {
    Failed(&'e ContactError),
    Accepted(&'b Valid<'b>, &'e Applied),
}

/// The view of a failed contact.
fn failed<'b>(batch: &'b Batch<'b>, index: usize, error: &ContactError) -> FailedContact<'b> {
    FailedContact {
        index,
        phone_number: batch.phone_sent(index),
        error: error.clone(),
    }
}

/// The view of an accepted contact: its checked members, from the batch, and how it lands.
fn accepted<'b>(
    batch: &'b Batch<'b>,
    index: usize,
    valid: &'b Valid<'b>,
    applied: &Applied,
) -> AcceptedContact<'b> {
    let text = batch.contacts().get(index).copied();
    debug_assert!(text.is_some(), "contact {index} of {}", batch.len());
    AcceptedContact {
        index,
        phone: valid.phone.as_ref(),
        list_number: valid.list.as_ref(),
        flags: valid.flags,
        signup_date: valid.signup_date.unwrap_or(batch.now()),
        ip_address: valid.ip_address.as_deref(),
        url: valid.url.as_deref(),
        custom_fields: valid.custom_fields,
        text: text.unwrap_or_default(),
        other_members: valid.other_members,
        list: applied.list,
        is_new_contact: applied.is_new_contact,
        is_new_list_contact: applied.is_new_list_contact,
        journeys: applied.journeys,
        duplicate_of: (applied.first_of_pair != index).then_some(applied.first_of_pair),
        validation: applied.validation.clone(),
    }
}

/// The summary body, members in the SPEC's order.
impl Serialize for Evaluation<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut body = serializer.serialize_struct("Summary", 6)?;
        body.serialize_field("success_count", &self.counts.success_count)?;
        body.serialize_field("error_count", &self.counts.error_count)?;
        body.serialize_field("errors", &ErrorEntries(self))?;
        body.serialize_field("contacts_created", &self.counts.contacts_created)?;
        body.serialize_field("list_contacts_created", &self.counts.list_contacts_created)?;
        body.serialize_field("journeys_enrolled", &self.counts.journeys_enrolled)?;
        body.end()
    }
}

struct ErrorEntries<'e, 'b>(&'e Evaluation<'b>);

impl Serialize for ErrorEntries<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let limits = self.0.batch.limits();
        serializer.collect_seq(self.0.errors().map(|failed| ErrorEntry { failed, limits }))
    }
}

/// `{index, phone_number, code, error[, field | validation]}`.
struct ErrorEntry<'e, 'b> {
    failed: FailedContact<'b>,
    limits: &'e Limits,
}

impl Serialize for ErrorEntry<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let FailedContact {
            index,
            phone_number,
            error,
        } = &self.failed;
        let mut entry = serializer.serialize_map(None)?;
        entry.serialize_entry("index", index)?;
        entry.serialize_entry("phone_number", phone_number)?;
        entry.serialize_entry("code", error.code().as_str())?;
        entry.serialize_entry("error", &error.message(self.limits))?;
        match error {
            ContactError::InvalidField(field) => entry.serialize_entry("field", field.as_str())?,
            ContactError::ValidationFailed(result) => {
                entry.serialize_entry("validation", result)?
            }
            _ => {}
        }
        entry.end()
    }
}

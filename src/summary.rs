//! The result of a batch (SPEC §5): one outcome per contact, the counters, and for each
//! accepted contact everything a store needs to write it.

use std::borrow::Cow;

use jiff::Timestamp;
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

use crate::codes::{ContactError, is_known_member};
use crate::limits::Limits;
use crate::lookup::{SendingList, ValidationResult};
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
}

impl<'b> AcceptedContact<'b> {
    /// The contact's JSON text, exactly as sent.
    pub fn json(&self) -> &'b str {
        self.text
    }

    /// The members the rules do not read (`ad_network_source`, unknown names…), as a JSON
    /// object ready for a store column: what `serde_json` reads from the contact (a repeated
    /// name keeps its last value), without the members the rules read.
    pub fn other_members_map(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut members = read_object(self.text);
        members.retain(|name, _| !is_known_member(name));
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
    serde_json::from_str(text).unwrap_or_default()
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

/// How one contact ended, as the evaluation keeps it; the rest of what a view of it shows is
/// in the batch it borrows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome<'b> {
    Failed(ContactError),
    Accepted(&'b Valid<'b>, Applied),
}

/// How an accepted contact lands in the store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Applied {
    pub(crate) list: SendingList,
    pub(crate) is_new_contact: bool,
    pub(crate) is_new_list_contact: bool,
    pub(crate) journeys: u32,
    pub(crate) duplicate_of: Option<usize>,
    pub(crate) validation: Option<Box<ValidationResult>>,
}

/// What an evaluation borrows from its batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Borrowed<'b> {
    pub(crate) limits: Limits,
    pub(crate) now: Timestamp,
    pub(crate) texts: &'b [&'b str],
    pub(crate) checks: &'b [Result<Valid<'b>, ContactError>],
    pub(crate) failed_phones: &'b [(usize, Cow<'b, str>)],
}

/// The evaluated batch: one outcome per contact, in index order, and the counters. It keeps
/// one small record per contact and borrows the rest from the batch; serialized, it is the
/// summary body.
#[derive(Debug, Clone)]
pub struct Evaluation<'b> {
    read: Borrowed<'b>,
    outcomes: Vec<Outcome<'b>>,
    counts: Counts,
}

impl<'b> Evaluation<'b> {
    pub(crate) fn new(read: Borrowed<'b>, outcomes: Vec<Outcome<'b>>) -> Self {
        let mut counts = Counts::default();
        for outcome in &outcomes {
            match outcome {
                Outcome::Failed(_) => counts.error_count += 1,
                Outcome::Accepted(_, applied) => {
                    counts.success_count += 1;
                    counts.contacts_created += usize::from(applied.is_new_contact);
                    counts.list_contacts_created += usize::from(applied.is_new_list_contact);
                    counts.journeys_enrolled += u64::from(applied.journeys);
                }
            }
        }
        Evaluation {
            read,
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
        self.outcomes
            .iter()
            .enumerate()
            .map(|(index, outcome)| match outcome {
                Outcome::Failed(error) => ContactOutcome::Failed(self.failed(index, error)),
                Outcome::Accepted(valid, applied) => {
                    ContactOutcome::Accepted(self.accepted_at(index, valid, applied))
                }
            })
    }

    /// The failed contacts, in ascending index.
    pub fn errors(&self) -> impl Iterator<Item = FailedContact<'b>> {
        self.outcomes
            .iter()
            .enumerate()
            .filter_map(|(index, outcome)| match outcome {
                Outcome::Failed(error) => Some(self.failed(index, error)),
                Outcome::Accepted(..) => None,
            })
    }

    /// The accepted contacts, in index order, with what a store needs to write them.
    pub fn accepted(&self) -> impl Iterator<Item = AcceptedContact<'b>> {
        self.outcomes
            .iter()
            .enumerate()
            .filter_map(|(index, outcome)| match outcome {
                Outcome::Accepted(valid, applied) => Some(self.accepted_at(index, valid, applied)),
                Outcome::Failed(_) => None,
            })
    }

    fn failed(&self, index: usize, error: &ContactError) -> FailedContact<'b> {
        FailedContact {
            index,
            phone_number: self.phone_sent(index),
            error: error.clone(),
        }
    }

    /// `phone_number` as sent, when it was a string: the canonical number of a contact that
    /// passed rules 1 to 8 (it is the string sent), else what the reader kept.
    fn phone_sent(&self, index: usize) -> Option<&'b str> {
        let read = self.read;
        match read.checks.get(index)? {
            Ok(valid) => Some(valid.phone.as_ref()),
            Err(_) => {
                let at = read
                    .failed_phones
                    .binary_search_by_key(&index, |(at, _)| *at)
                    .ok()?;
                read.failed_phones.get(at).map(|(_, phone)| phone.as_ref())
            }
        }
    }

    /// The view of an accepted contact: its checked members, from the batch, and how it
    /// lands.
    fn accepted_at(
        &self,
        index: usize,
        valid: &'b Valid<'b>,
        applied: &Applied,
    ) -> AcceptedContact<'b> {
        let read = self.read;
        AcceptedContact {
            index,
            phone: valid.phone.as_ref(),
            list_number: valid.list.as_ref(),
            flags: valid.flags,
            signup_date: valid.signup_date.unwrap_or(read.now),
            ip_address: valid.ip_address.as_deref(),
            url: valid.url.as_deref(),
            custom_fields: valid.custom_fields,
            text: read.texts.get(index).copied().unwrap_or_default(),
            list: applied.list,
            is_new_contact: applied.is_new_contact,
            is_new_list_contact: applied.is_new_list_contact,
            journeys: applied.journeys,
            duplicate_of: applied.duplicate_of,
            validation: applied.validation.clone(),
        }
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
        let limits = &self.0.read.limits;
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
            ContactError::Code(_) => {}
        }
        entry.end()
    }
}

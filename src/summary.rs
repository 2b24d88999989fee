//! The result of a batch (SPEC §5): one outcome per contact, the counters, and for each
//! accepted contact everything a store needs to write it.

use std::borrow::Cow;

use jiff::Timestamp;
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

use crate::codes::{ContactCode, Field};
use crate::engine::Batch;
use crate::json::{Json, Object};
use crate::limits::Limits;
use crate::lookup::{SendingList, ValidationResult};
use crate::rules::Flags;

/// Why one contact failed: its code, and the field or validation result its entry carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactError {
    /// The code.
    pub code: ContactCode,
    /// For `invalid_field`: the first field that failed.
    pub field: Option<Field>,
    /// For `validation_failed`: the provider's result, echoed in the entry.
    pub validation: Option<Box<ValidationResult>>,
}

impl From<ContactCode> for ContactError {
    fn from(code: ContactCode) -> Self {
        ContactError {
            code,
            field: None,
            validation: None,
        }
    }
}

impl ContactError {
    pub(crate) fn invalid_field(field: Field) -> Self {
        ContactError {
            code: ContactCode::InvalidField,
            field: Some(field),
            validation: None,
        }
    }

    pub(crate) fn validation_failed(result: ValidationResult) -> Self {
        ContactError {
            code: ContactCode::ValidationFailed,
            field: None,
            validation: Some(Box::new(result)),
        }
    }

    /// The human-readable message of the entry.
    pub fn message(&self, limits: &Limits) -> Cow<'static, str> {
        if let Some(field) = self.field {
            return Cow::Borrowed(field.message());
        }
        if let Some(validation) = &self.validation {
            return Cow::Owned(ContactCode::validation_failed_message(
                validation.disposition.as_str(),
            ));
        }
        self.code
            .fixed_message(limits)
            .unwrap_or(Cow::Borrowed(self.code.as_str()))
    }
}

/// What happened to one contact.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactOutcome {
    /// Accepted: what the store will do with it.
    Accepted(Acceptance),
    /// Rejected with one error.
    Failed(ContactError),
}

/// How an accepted contact lands in the store, applied in index order.
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptance {
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

/// The evaluated batch: one outcome per contact, in index order.
#[derive(Debug, Clone)]
pub struct Evaluation<'b, 'a> {
    batch: &'b Batch<'a>,
    outcomes: Vec<ContactOutcome>,
    counts: Counts,
}

impl<'b, 'a> Evaluation<'b, 'a> {
    pub(crate) fn new(batch: &'b Batch<'a>, outcomes: Vec<ContactOutcome>) -> Self {
        let mut counts = Counts::default();
        for outcome in &outcomes {
            match outcome {
                ContactOutcome::Failed(_) => counts.error_count += 1,
                ContactOutcome::Accepted(accepted) => {
                    counts.success_count += 1;
                    counts.contacts_created += usize::from(accepted.is_new_contact);
                    counts.list_contacts_created += usize::from(accepted.is_new_list_contact);
                    counts.journeys_enrolled += u64::from(accepted.journeys);
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
    pub fn outcomes(&self) -> &[ContactOutcome] {
        &self.outcomes
    }

    /// The failed contacts, in ascending index.
    pub fn errors(&self) -> impl Iterator<Item = (usize, &ContactError)> {
        self.outcomes
            .iter()
            .enumerate()
            .filter_map(|(index, outcome)| match outcome {
                ContactOutcome::Failed(error) => Some((index, error)),
                ContactOutcome::Accepted(_) => None,
            })
    }

    /// The accepted contacts, in index order, with what a store needs to write them.
    pub fn accepted(&self) -> impl Iterator<Item = AcceptedContact<'_>> {
        self.outcomes
            .iter()
            .zip(self.batch.checks())
            .zip(self.batch.contacts())
            .enumerate()
            .filter_map(|(index, ((outcome, check), contact))| {
                let ContactOutcome::Accepted(acceptance) = outcome else {
                    return None;
                };
                let valid = check.as_ref().ok()?;
                Some(AcceptedContact {
                    index,
                    phone: &valid.phone,
                    list_number: &valid.list,
                    flags: valid.flags,
                    signup_date: valid.signup_date.unwrap_or(self.batch.now()),
                    contact: contact.as_object()?,
                    acceptance,
                })
            })
    }

    /// The phone number of a contact as sent, when it was a string.
    fn phone_number_sent(&self, index: usize) -> Option<&str> {
        self.batch
            .contacts()
            .get(index)?
            .as_object()?
            .get("phone_number")?
            .as_str()
    }
}

/// Members of a contact that the rules read; everything else is "other members".
const KNOWN_MEMBERS: [&str; 10] = [
    "phone_number",
    "list_number",
    "use_journeys",
    "skip_journey_if_exists",
    "use_validation",
    "replace_custom_fields",
    "signup_date",
    "ip_address",
    "url",
    "custom_fields",
];

/// An accepted contact, ready to be written.
#[derive(Debug, Clone, Copy)]
pub struct AcceptedContact<'e> {
    /// Its index in `contacts`.
    pub index: usize,
    /// The canonical phone number.
    pub phone: &'e str,
    /// The canonical list number.
    pub list_number: &'e str,
    /// The flags, defaults applied.
    pub flags: Flags,
    /// `signup_date` in UTC, or `now` when absent.
    pub signup_date: Timestamp,
    /// The contact object as sent.
    pub contact: &'e Object<'e>,
    /// New or existing, journeys, duplicate, validation.
    pub acceptance: &'e Acceptance,
}

impl<'e> AcceptedContact<'e> {
    /// `ip_address`, when sent.
    pub fn ip_address(&self) -> Option<&'e str> {
        self.contact.field("ip_address").and_then(Json::as_str)
    }

    /// `url`, when sent.
    pub fn url(&self) -> Option<&'e str> {
        self.contact.field("url").and_then(Json::as_str)
    }

    /// `custom_fields`, when sent.
    pub fn custom_fields(&self) -> Option<&'e Object<'e>> {
        self.contact
            .field("custom_fields")
            .and_then(Json::as_object)
    }

    /// The members the rules do not read (`ad_network_source`, unknown names…), as sent.
    pub fn other_members(&self) -> impl Iterator<Item = (&'e str, &'e Json<'e>)> {
        self.contact
            .iter()
            .filter(|(name, _)| !KNOWN_MEMBERS.contains(name))
    }
}

/// The summary body, members in the SPEC's order.
impl Serialize for Evaluation<'_, '_> {
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

struct ErrorEntries<'e, 'b, 'a>(&'e Evaluation<'b, 'a>);

impl Serialize for ErrorEntries<'_, '_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.errors().map(|(index, error)| ErrorEntry {
            index,
            phone_number: self.0.phone_number_sent(index),
            error,
            limits: self.0.batch.limits(),
        }))
    }
}

/// `{index, phone_number, code, error[, field | validation]}`.
struct ErrorEntry<'e> {
    index: usize,
    phone_number: Option<&'e str>,
    error: &'e ContactError,
    limits: &'e Limits,
}

impl Serialize for ErrorEntry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entry = serializer.serialize_map(None)?;
        entry.serialize_entry("index", &self.index)?;
        entry.serialize_entry("phone_number", &self.phone_number)?;
        entry.serialize_entry("code", self.error.code.as_str())?;
        entry.serialize_entry("error", &self.error.message(self.limits))?;
        if let Some(field) = self.error.field {
            entry.serialize_entry("field", field.as_str())?;
        }
        if let Some(validation) = &self.error.validation {
            entry.serialize_entry("validation", validation)?;
        }
        entry.end()
    }
}

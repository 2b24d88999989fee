//! What the engine asks the outside world (SPEC §7), as three small synchronous traits, with
//! forwarding impls for references and smart pointers and impls over plain maps.
//!
//! A server that fetches asynchronously asks the batch for the keys it needs
//! ([`crate::Batch::keys`]), fetches them in one round trip per kind, and hands the answers in
//! through the map-backed types below: the engine itself never waits on anything.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A lookup that could not be answered (a database or network failure). The engine answers
/// the request with 500 `internal_error` and hands this error to the caller for its logs.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what} lookup failed: {detail}")]
pub struct LookupError {
    /// Which kind of lookup failed: `list`, `carrier` or `directory`.
    pub what: &'static str,
    /// The failure, as the implementation described it.
    pub detail: String,
}

impl LookupError {
    /// A failed lookup of kind `what` (`list`, `carrier` or `directory`).
    pub fn new(what: &'static str, detail: impl fmt::Display) -> Self {
        LookupError {
            what,
            detail: detail.to_string(),
        }
    }
}

/// The validation provider could not be reached for a number (rule 11, `provider_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("phone validation provider unavailable")]
pub struct ProviderError;

/// A sending list of the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendingList {
    /// How many active welcome journeys the list has.
    #[serde(default)]
    pub welcome_journeys: u32,
}

/// The default carrier lookup's verdict on a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    /// The number can be sent to.
    Sendable,
    /// The number failed carrier validation, or is a rejected VoIP number.
    NotSendable,
}

/// Line type reported by the paid validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineType {
    /// `mobile`
    #[serde(rename = "mobile")]
    Mobile,
    /// `fixed line`
    #[serde(rename = "fixed line")]
    FixedLine,
    /// `voip`
    #[serde(rename = "voip")]
    Voip,
    /// `other`
    #[serde(rename = "other")]
    Other,
    /// `unknown`
    #[serde(rename = "unknown")]
    Unknown,
}

/// The verdict of the paid validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Deliverable.
    Ok,
    /// Not reachable: fails rule 12.
    Unreachable,
    /// Not a real number: fails rule 12.
    Invalid,
    /// Deliverable with some risk.
    Risky,
    /// The provider does not know.
    Unknown,
}

impl Disposition {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Disposition::Ok => "ok",
            Disposition::Unreachable => "unreachable",
            Disposition::Invalid => "invalid",
            Disposition::Risky => "risky",
            Disposition::Unknown => "unknown",
        }
    }

    /// Whether rule 12 rejects the contact (`invalid` or `unreachable`).
    pub const fn fails(self) -> bool {
        matches!(self, Disposition::Invalid | Disposition::Unreachable)
    }
}

/// The paid validation's result (LRN + DNC), members in the SPEC's order. It is echoed, as
/// returned, in `validation_failed` entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationResult {
    /// The number validated.
    pub phone: String,
    /// Whether the provider considers the number valid.
    pub valid: bool,
    /// The line type.
    pub line_type: LineType,
    /// The carrier's name.
    pub carrier: String,
    /// The carrier's name as the provider spelled it.
    pub carrier_raw: String,
    /// Whether the number was ported.
    pub ported: bool,
    /// Country.
    pub country: String,
    /// State.
    pub state: String,
    /// City.
    pub city: String,
    /// Whether the number is on the do-not-contact list.
    pub on_dnc: bool,
    /// The verdict.
    pub disposition: Disposition,
    /// What the lookup cost, kept exactly as given (`0` stays `0`, `0.003` stays `0.003`).
    pub cost: serde_json::Number,
    /// Whether the result came from the account's cache (free).
    pub cached: bool,
}

impl ValidationResult {
    /// A result with disposition `ok` and nothing known, for providers that only say "fine".
    pub fn ok(phone: &str) -> Self {
        ValidationResult {
            phone: phone.to_owned(),
            valid: true,
            line_type: LineType::Unknown,
            carrier: String::new(),
            carrier_raw: String::new(),
            ported: false,
            country: String::new(),
            state: String::new(),
            city: String::new(),
            on_dnc: false,
            disposition: Disposition::Ok,
            cost: serde_json::Number::from(0u8),
            cached: false,
        }
    }
}

/// Finds the account's sending list by its canonical E.164 number (rule 9).
pub trait ListLookup {
    /// The list, `Ok(None)` when the account has no such list, or the lookup's failure.
    fn list(&self, list_number: &str) -> Result<Option<SendingList>, LookupError>;
}

/// The carrier lookup (rule 10) and the paid validation (rules 11 and 12).
pub trait CarrierCheck {
    /// Whether the number can be sent to, or the lookup's failure (a 500).
    fn carrier(&self, phone: &str) -> Result<Carrier, LookupError>;
    /// The paid validation (LRN + DNC); a provider failure is per contact, never a 500.
    fn validate(&self, phone: &str) -> Result<ValidationResult, ProviderError>;
}

/// What the store already holds.
pub trait Directory {
    /// Whether a contact with this phone number exists.
    fn contact_exists(&self, phone: &str) -> Result<bool, LookupError>;
    /// Whether this phone number is a member of this list.
    fn is_member(&self, phone: &str, list_number: &str) -> Result<bool, LookupError>;
}

macro_rules! forward {
    ($($wrapper:ty),+) => {$(
        impl<T: ListLookup + ?Sized> ListLookup for $wrapper {
            fn list(&self, list_number: &str) -> Result<Option<SendingList>, LookupError> {
                (**self).list(list_number)
            }
        }
        impl<T: CarrierCheck + ?Sized> CarrierCheck for $wrapper {
            fn carrier(&self, phone: &str) -> Result<Carrier, LookupError> {
                (**self).carrier(phone)
            }
            fn validate(&self, phone: &str) -> Result<ValidationResult, ProviderError> {
                (**self).validate(phone)
            }
        }
        impl<T: Directory + ?Sized> Directory for $wrapper {
            fn contact_exists(&self, phone: &str) -> Result<bool, LookupError> {
                (**self).contact_exists(phone)
            }
            fn is_member(&self, phone: &str, list_number: &str) -> Result<bool, LookupError> {
                (**self).is_member(phone, list_number)
            }
        }
    )+};
}

forward!(&T, Box<T>, Arc<T>);

/// Lists found by a prefetch: a number absent from the map has no list.
impl ListLookup for HashMap<String, SendingList> {
    fn list(&self, list_number: &str) -> Result<Option<SendingList>, LookupError> {
        Ok(self.get(list_number).copied())
    }
}

/// Carrier verdicts and validation results fetched ahead of evaluation.
///
/// A number without a verdict is sendable (carrier stores keep rows for the numbers they
/// reject). A number without a validation result gets `provider_error`: the provider was not
/// asked, so nothing is known, and nothing is charged.
#[derive(Debug, Clone, Default)]
pub struct CarrierMap {
    /// Verdicts by canonical phone number.
    pub verdicts: HashMap<String, Carrier>,
    /// Validation results by canonical phone number.
    pub validations: HashMap<String, Result<ValidationResult, ProviderError>>,
}

impl CarrierCheck for CarrierMap {
    fn carrier(&self, phone: &str) -> Result<Carrier, LookupError> {
        Ok(self
            .verdicts
            .get(phone)
            .copied()
            .unwrap_or(Carrier::Sendable))
    }
    fn validate(&self, phone: &str) -> Result<ValidationResult, ProviderError> {
        self.validations
            .get(phone)
            .cloned()
            .unwrap_or(Err(ProviderError))
    }
}

/// The store's contacts and list memberships, fetched ahead of evaluation.
#[derive(Debug, Clone, Default)]
pub struct DirectoryMap {
    /// Phone numbers of existing contacts.
    pub contacts: HashSet<String>,
    /// For each phone number, the list numbers it is a member of.
    pub memberships: HashMap<String, HashSet<String>>,
}

impl DirectoryMap {
    /// Records that `phone` is a member of `list_number`.
    pub fn add_membership(&mut self, phone: &str, list_number: &str) {
        self.memberships
            .entry(phone.to_owned())
            .or_default()
            .insert(list_number.to_owned());
    }
}

impl Directory for DirectoryMap {
    fn contact_exists(&self, phone: &str) -> Result<bool, LookupError> {
        Ok(self.contacts.contains(phone))
    }
    fn is_member(&self, phone: &str, list_number: &str) -> Result<bool, LookupError> {
        Ok(self
            .memberships
            .get(phone)
            .is_some_and(|lists| lists.contains(list_number)))
    }
}

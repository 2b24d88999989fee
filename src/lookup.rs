//! What the engine asks the outside world (SPEC §7), as three small synchronous traits, with
//! forwarding impls for references and smart pointers and impls over plain maps.
//!
//! A server that fetches asynchronously asks the batch for the keys it needs
//! ([`Batch::keys`](crate::Batch::keys), then
//! [`Screened::validation_keys`](crate::Screened::validation_keys)), fetches them in one round
//! trip per kind, and hands the answers in through the map-backed types below: the engine
//! itself never waits on anything.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

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
    /// What the lookup cost, kept exactly as the provider wrote it.
    pub cost: Cost,
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
            cost: Cost::default(),
            cached: false,
        }
    }
}

/// The cost of a validation: a JSON number, kept as the text the provider sent, so that it is
/// echoed exactly (`1.50` stays `1.50`, `0.0030` stays `0.0030`; `f64` would make them `1.5`
/// and `0.003`).
///
/// ```
/// use bulk_contacts::Cost;
/// let cost: Cost = "1.50".parse().unwrap();
/// assert_eq!(cost.as_str(), "1.50");
/// assert_eq!(serde_json::to_string(&cost).unwrap(), "1.50");
/// assert!("1.5.0".parse::<Cost>().is_err() && " 1".parse::<Cost>().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Cost(Box<RawValue>);

/// Text that is not one JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a validation cost must be a JSON number")]
pub struct InvalidCost;

impl Cost {
    /// The number as the provider wrote it.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }
}

impl Default for Cost {
    /// `0`: nothing charged.
    fn default() -> Self {
        Cost::from(0u32)
    }
}

impl From<u32> for Cost {
    fn from(n: u32) -> Self {
        // The decimal digits of an integer are a JSON number.
        let number = RawValue::from_string(n.to_string());
        debug_assert!(number.is_ok(), "{n} is a JSON number");
        Cost(number.unwrap_or_else(|_| zero()))
    }
}

fn zero() -> Box<RawValue> {
    serde_json::from_str("0").unwrap_or_else(|_| unreachable!("0 is JSON"))
}

impl std::str::FromStr for Cost {
    type Err = InvalidCost;

    /// Exactly one JSON number (RFC 8259 §6), nothing around it.
    fn from_str(text: &str) -> Result<Self, InvalidCost> {
        if !is_json_number(text.as_bytes()) {
            return Err(InvalidCost);
        }
        RawValue::from_string(text.to_owned())
            .map(Cost)
            .map_err(|_| InvalidCost)
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
fn is_json_number(text: &[u8]) -> bool {
    fn digits(text: &[u8]) -> usize {
        text.iter().take_while(|b| b.is_ascii_digit()).count()
    }
    let mut rest = text.strip_prefix(b"-").unwrap_or(text);
    match rest.first() {
        Some(b'0') => rest = &rest[1..],
        Some(b'1'..=b'9') => rest = &rest[digits(rest)..],
        _ => return false,
    }
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = digits(fraction);
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    if let Some(exponent) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exponent = exponent
            .strip_prefix(b"+")
            .or_else(|| exponent.strip_prefix(b"-"))
            .unwrap_or(exponent);
        let n = digits(exponent);
        if n == 0 {
            return false;
        }
        rest = &exponent[n..];
    }
    rest.is_empty()
}

impl PartialEq for Cost {
    /// The same text: `1.50` and `1.5` are different costs as sent.
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Cost {}

impl Serialize for Cost {
    /// The number as sent (with `serde_json`; other formats see `serde_json`'s raw-value
    /// wrapper).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Cost {
    /// A JSON number, its text kept. Only `serde_json` can hand out the text: read validation
    /// results with `serde_json::from_str` / `from_slice` / `from_reader`, not from a `Value`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        raw.get()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("cost is not a number: {}", raw.get())))
    }
}

/// Finds the account's sending list by its canonical E.164 number (rule 9).
///
/// **Scoping.** The lists are those of the account the request authenticated as, and no
/// other: in a store holding many accounts, look them up by that account's id *and* the
/// number (`WHERE account_id = $1 AND list_number = ANY($2)`); another account's list with the
/// same number is `list_not_found`. [`Account`](crate::Account) carries no id (the engine never
/// needs one): keep the store's id next to it from the key lookup, and build each request's
/// lookups from it, as the reference server does (`AccountRow { id, account }`). Memberships
/// are memberships of those lists, so they are scoped with them.
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

/// Both halves of [`CarrierCheck`], fetched ahead of evaluation: the carrier verdicts
/// (rule 10, from [`Batch::keys`](crate::Batch::keys)`.phones`) and the paid validation's
/// results (rules 11 and 12, from [`Screened::validation_keys`](crate::Screened::validation_keys)).
///
/// A number without a verdict is sendable (carrier stores keep rows for the numbers they
/// reject). A number without a validation result gets `provider_error`: the provider was not
/// asked, so nothing is known, and nothing is charged.
#[derive(Debug, Clone, Default)]
pub struct CarrierValidationMap {
    /// Carrier verdicts, by canonical phone number.
    pub carrier_verdicts: HashMap<String, Carrier>,
    /// The paid validation's results (or the provider's failure), by canonical phone number.
    pub validation_results: HashMap<String, Result<ValidationResult, ProviderError>>,
}

impl CarrierCheck for CarrierValidationMap {
    fn carrier(&self, phone: &str) -> Result<Carrier, LookupError> {
        Ok(self
            .carrier_verdicts
            .get(phone)
            .copied()
            .unwrap_or(Carrier::Sendable))
    }
    fn validate(&self, phone: &str) -> Result<ValidationResult, ProviderError> {
        self.validation_results
            .get(phone)
            .cloned()
            .unwrap_or(Err(ProviderError))
    }
}

/// The store's contacts and list memberships, fetched ahead of evaluation (from
/// [`Batch::keys`](crate::Batch::keys)`.phones` and `.memberships`).
#[derive(Debug, Clone, Default)]
pub struct DirectoryMap {
    /// The phone numbers that already have a contact.
    pub contact_phones: HashSet<String>,
    /// For each phone number, the list numbers it is already a member of.
    pub list_numbers_by_phone: HashMap<String, HashSet<String>>,
}

impl DirectoryMap {
    /// Records that `phone` is a member of `list_number`.
    pub fn add_membership(&mut self, phone: &str, list_number: &str) {
        self.list_numbers_by_phone
            .entry(phone.to_owned())
            .or_default()
            .insert(list_number.to_owned());
    }
}

impl Directory for DirectoryMap {
    fn contact_exists(&self, phone: &str) -> Result<bool, LookupError> {
        Ok(self.contact_phones.contains(phone))
    }
    fn is_member(&self, phone: &str, list_number: &str) -> Result<bool, LookupError> {
        Ok(self
            .list_numbers_by_phone
            .get(phone)
            .is_some_and(|lists| lists.contains(list_number)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_keeps_the_providers_text_through_a_round_trip() {
        for text in [
            "0",
            "1.50",
            "0.0030",
            "-0",
            "1e-3",
            "2E+10",
            "12345678901234567890.000",
        ] {
            let json = format!(r#"{{"cost": {text}}}"#);
            #[derive(Deserialize, Serialize)]
            struct Holder {
                cost: Cost,
            }
            let holder: Holder = serde_json::from_str(&json).expect("a number");
            assert_eq!(holder.cost.as_str(), text);
            assert_eq!(
                serde_json::to_string(&holder).expect("serializes"),
                json.replace(' ', "")
            );
        }
    }

    #[test]
    fn cost_refuses_what_is_not_one_json_number() {
        for text in [
            "", "-", "01", "1.", ".5", "1e", "+1", " 1", "1 ", "\"1\"", "NaN", "1.5.0", "0x10",
        ] {
            assert_eq!(text.parse::<Cost>(), Err(InvalidCost), "{text:?}");
        }
        assert!(serde_json::from_str::<Cost>("\"1.5\"").is_err());
        assert_eq!(Cost::default().as_str(), "0");
        assert_eq!(Cost::from(7).as_str(), "7");
    }
}

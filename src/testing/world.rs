//! The in-memory world of SPEC §8: one account and its surroundings, from JSON, implementing
//! all three lookup traits. Used by the `bulk` example, the conformance cases and tests.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use serde::{Deserialize, Deserializer};

use crate::account::{Account, Billing};
use crate::formats;
use crate::lookup::{
    Carrier, CarrierCheck, Directory, ListLookup, LookupError, ProviderError, SendingList,
    ValidationResult,
};

/// The API key of the default world.
pub const DEFAULT_API_KEY: &str = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6";

/// The `now` of the default world.
pub const DEFAULT_NOW: &str = "2025-06-01T00:00:00Z";

/// One account, its lists, its store and its providers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct World {
    /// The time requests are evaluated at.
    #[serde(deserialize_with = "rfc3339")]
    pub now: Timestamp,
    /// The account's keys; the first is the one the example sends.
    pub api_keys: Vec<String>,
    /// The account's billing status.
    pub billing: Billing,
    /// Sending lists by number, or a failing lookup.
    pub lists: HashMap<String, Entry<SendingList>>,
    /// Phone numbers of existing contacts.
    pub contacts: HashSet<String>,
    /// Existing memberships: for each phone number, its lists (JSON: `[[phone, list], …]`).
    #[serde(deserialize_with = "pairs")]
    pub list_contacts: HashMap<String, HashSet<String>>,
    /// Carrier verdicts by phone number (absent: sendable), or a failing lookup.
    pub carrier: HashMap<String, Entry<Carrier>>,
    /// Validation results by phone number (absent: disposition `ok`).
    pub validation: HashMap<String, Validation>,
    /// Lookups that always fail.
    pub failures: Vec<Failure>,
}

/// A list or carrier entry: an answer, or `"error"` for a failing lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Entry<T> {
    /// `"error"`: the lookup fails.
    Error(ErrorMarker),
    /// The answer.
    Answer(T),
}

/// The string `"error"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorMarker {
    /// `"error"`
    Error,
}

/// A validation entry: a complete result, or `"provider_error"`.
#[derive(Debug, Clone, PartialEq)]
pub enum Validation {
    /// `"provider_error"`: the provider cannot be reached for this number.
    ProviderError(ProviderErrorMarker),
    /// The result, echoed unchanged in `validation_failed` entries.
    Result(ValidationResult),
}

/// Read by hand rather than `untagged`: an untagged enum buffers its input, and the result's
/// [`Cost`](crate::Cost) needs `serde_json`'s own text to keep the number as written.
impl<'de> Deserialize<'de> for Validation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        if let Ok(marker) = serde_json::from_str::<ProviderErrorMarker>(raw.get()) {
            return Ok(Validation::ProviderError(marker));
        }
        serde_json::from_str(raw.get())
            .map(Validation::Result)
            .map_err(|error| {
                serde::de::Error::custom(format!(
                    "a validation entry is \"provider_error\" or a complete result: {error}"
                ))
            })
    }
}

/// The string `"provider_error"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderErrorMarker {
    /// `"provider_error"`
    ProviderError,
}

/// A kind of lookup that always fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// Every `Directory` call fails.
    Directory,
}

fn rfc3339<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(deserializer)?;
    formats::parse_rfc3339(&text)
        .map(|value| value.at)
        .ok_or_else(|| {
            serde::de::Error::custom(format!("`now` is not an RFC 3339 date-time: {text:?}"))
        })
}

fn pairs<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<HashMap<String, HashSet<String>>, D::Error> {
    let mut memberships: HashMap<String, HashSet<String>> = HashMap::new();
    for (phone, list) in Vec::<(String, String)>::deserialize(deserializer)? {
        memberships.entry(phone).or_default().insert(list);
    }
    Ok(memberships)
}

impl Default for World {
    fn default() -> Self {
        World {
            now: formats::parse_rfc3339(DEFAULT_NOW)
                .map(|value| value.at)
                .unwrap_or(Timestamp::UNIX_EPOCH),
            api_keys: vec![DEFAULT_API_KEY.to_owned()],
            billing: Billing::Active,
            lists: HashMap::new(),
            contacts: HashSet::new(),
            list_contacts: HashMap::new(),
            carrier: HashMap::new(),
            validation: HashMap::new(),
            failures: Vec::new(),
        }
    }
}

impl World {
    /// Reads a world from its JSON text.
    pub fn from_json(text: &str) -> Result<World, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The `bulk` example's built-in world: the defaults, plus the list `+18005551234` with
    /// one welcome journey and `+13105558888` not sendable — the documented example's world.
    pub fn builtin() -> World {
        let mut world = World::default();
        world.lists.insert(
            "+18005551234".to_owned(),
            Entry::Answer(SendingList {
                welcome_journeys: 1,
            }),
        );
        world.carrier.insert(
            "+13105558888".to_owned(),
            Entry::Answer(Carrier::NotSendable),
        );
        world
    }

    /// The account: its keys and billing status.
    pub fn account(&self) -> Account {
        Account {
            api_keys: self.api_keys.clone(),
            billing: self.billing,
        }
    }

    fn directory_fails(&self) -> Result<(), LookupError> {
        if self.failures.contains(&Failure::Directory) {
            Err(LookupError::new("directory", "the world's directory fails"))
        } else {
            Ok(())
        }
    }
}

impl ListLookup for World {
    fn list(&self, list_number: &str) -> Result<Option<SendingList>, LookupError> {
        match self.lists.get(list_number) {
            None => Ok(None),
            Some(Entry::Answer(list)) => Ok(Some(*list)),
            Some(Entry::Error(_)) => Err(LookupError::new("list", list_number)),
        }
    }
}

impl CarrierCheck for World {
    fn carrier(&self, phone: &str) -> Result<Carrier, LookupError> {
        match self.carrier.get(phone) {
            None => Ok(Carrier::Sendable),
            Some(Entry::Answer(verdict)) => Ok(*verdict),
            Some(Entry::Error(_)) => Err(LookupError::new("carrier", phone)),
        }
    }

    fn validate(&self, phone: &str) -> Result<ValidationResult, ProviderError> {
        match self.validation.get(phone) {
            None => Ok(ValidationResult::ok(phone)),
            Some(Validation::Result(result)) => Ok(result.clone()),
            Some(Validation::ProviderError(_)) => Err(ProviderError),
        }
    }
}

impl Directory for World {
    fn contact_exists(&self, phone: &str) -> Result<bool, LookupError> {
        self.directory_fails()?;
        Ok(self.contacts.contains(phone))
    }

    fn is_member(&self, phone: &str, list_number: &str) -> Result<bool, LookupError> {
        self.directory_fails()?;
        Ok(self
            .list_contacts
            .get(phone)
            .is_some_and(|lists| lists.contains(list_number)))
    }
}

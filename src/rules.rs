//! The lookup-free per-contact rules 1 to 8 of SPEC §4, in the SPEC's order.
//!
//! Each rule is one small function; [`check`] runs them in the table's order and stops at the
//! first that fails. What passes is a [`Valid`] contact: the canonical numbers, the flags with
//! their defaults, and the signup date, ready for the lookups of rules 9 to 12.

use std::borrow::Cow;
use std::collections::HashMap;

use jiff::Timestamp;

use crate::codes::{ContactCode, ContactError, Field, member};
use crate::e164;
use crate::formats;
use crate::json::{Json, Object};
use crate::limits::Limits;

/// The flags of a contact, with the SPEC's defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    /// `use_journeys` (default `false`).
    pub use_journeys: bool,
    /// `skip_journey_if_exists` (default `true`).
    pub skip_journey_if_exists: bool,
    /// `use_validation` (default `false`).
    pub use_validation: bool,
    /// `replace_custom_fields` (default `false`).
    pub replace_custom_fields: bool,
}

/// A contact that passed rules 1 to 8.
#[derive(Debug, Clone, PartialEq)]
pub struct Valid<'a> {
    /// The canonical E.164 phone number.
    pub phone: Cow<'a, str>,
    /// The canonical E.164 number of the sending list.
    pub list: Cow<'a, str>,
    /// The flags, defaults applied.
    pub flags: Flags,
    /// `signup_date` in UTC, when sent.
    pub signup_date: Option<Timestamp>,
    /// Where the optional members the rules checked are in the contact object, so that the
    /// accepted contact hands them out without looking them up by name again.
    pub(crate) members: Members,
}

/// Positions in the contact object of the optional members a store writes, when present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Members {
    pub(crate) ip_address: Option<usize>,
    pub(crate) url: Option<usize>,
    pub(crate) custom_fields: Option<usize>,
}

/// Verdicts already reached in this batch on values that repeat from contact to contact (the
/// list number, the signup page's URL), so that each distinct value is checked once.
#[derive(Debug, Default)]
pub(crate) struct Memo<'c> {
    lists: HashMap<&'c str, bool>,
    urls: HashMap<&'c str, bool>,
}

/// Runs rules 1 to 8 on one element of `contacts`.
pub(crate) fn check<'a: 'c, 'c>(
    contact: &'c Json<'a>,
    limits: &Limits,
    now: Timestamp,
    memo: &mut Memo<'c>,
) -> Result<Valid<'a>, ContactError> {
    if contact.compact_len() > limits.max_contact_bytes {
        return Err(ContactCode::PayloadTooLarge.into());
    }
    let Json::Object(object) = contact else {
        return Err(ContactCode::InvalidContact.into());
    };
    let phone = required(
        object,
        member::PHONE_NUMBER,
        ContactCode::MissingPhoneNumber,
    )?;
    let list = required(object, member::LIST_NUMBER, ContactCode::MissingListNumber)?;
    let phone = e164_number(phone, ContactCode::InvalidPhone, e164::is_valid)?;
    let list = e164_number(list, ContactCode::InvalidListNumber, |s| {
        *memo.lists.entry(s).or_insert_with(|| e164::is_valid(s))
    })?;
    let (flags, signup_date, mut members) = optional_fields(object, now, &mut memo.urls)?;
    members.custom_fields = custom_fields(object)?;
    Ok(Valid {
        phone,
        list,
        flags,
        signup_date,
        members,
    })
}

/// Rules 3 and 4: present, and not a blank string. Any other type passes on to rules 5 and 6.
fn required<'j, 'a>(
    object: &'j Object<'a>,
    name: &str,
    missing: ContactCode,
) -> Result<&'j Json<'a>, ContactError> {
    match object.field(name) {
        None => Err(missing.into()),
        Some(Json::String(s)) if s.trim().is_empty() => Err(missing.into()),
        Some(value) => Ok(value),
    }
}

/// Rules 5 and 6: a string holding a valid, canonical E.164 number.
fn e164_number<'a: 'c, 'c>(
    value: &'c Json<'a>,
    invalid: ContactCode,
    is_valid: impl FnOnce(&'c str) -> bool,
) -> Result<Cow<'a, str>, ContactError> {
    match value {
        Json::String(s) if is_valid(s) => Ok(s.clone()),
        _ => Err(invalid.into()),
    }
}

/// Rule 7: the optional fields, each checked in the SPEC's order.
fn optional_fields<'c>(
    object: &'c Object<'_>,
    now: Timestamp,
    urls: &mut HashMap<&'c str, bool>,
) -> Result<(Flags, Option<Timestamp>, Members), ContactError> {
    let flags = Flags {
        use_journeys: boolean(object, Field::UseJourneys, false)?,
        skip_journey_if_exists: boolean(object, Field::SkipJourneyIfExists, true)?,
        use_validation: boolean(object, Field::UseValidation, false)?,
        replace_custom_fields: boolean(object, Field::ReplaceCustomFields, false)?,
    };
    let signup_date = formatted(object, Field::SignupDate, |s| {
        formats::signup_date_ok(s, now)
    })?
    .map(|(_, at)| at);
    let ip_address = formatted(object, Field::IpAddress, |s| {
        formats::ip_address_ok(s).then_some(())
    })?;
    let url = formatted(object, Field::Url, |s| {
        urls.entry(s)
            .or_insert_with(|| formats::url_ok(s))
            .then_some(())
    })?;
    let members = Members {
        ip_address: ip_address.map(|(at, ())| at),
        url: url.map(|(at, ())| at),
        custom_fields: None,
    };
    Ok((flags, signup_date, members))
}

fn boolean(object: &Object<'_>, field: Field, default: bool) -> Result<bool, ContactError> {
    match object.field(field.as_str()) {
        None => Ok(default),
        Some(Json::Bool(b)) => Ok(*b),
        Some(_) => Err(ContactError::InvalidField(field)),
    }
}

/// A string field in a given format; `parse` returns what the format yields, or `None`.
/// Present and well formed: the field's position in the object and what `parse` yielded.
fn formatted<'c, T>(
    object: &'c Object<'_>,
    field: Field,
    parse: impl FnOnce(&'c str) -> Option<T>,
) -> Result<Option<(usize, T)>, ContactError> {
    match object.find_field(field.as_str()) {
        None => Ok(None),
        Some((at, Json::String(s))) => parse(s)
            .map(|value| Some((at, value)))
            .ok_or(ContactError::InvalidField(field)),
        Some(_) => Err(ContactError::InvalidField(field)),
    }
}

/// Rule 8: `custom_fields`, when present, is an object of non-empty names whose values are
/// strings, numbers or booleans. Present and well formed: its position in the object.
fn custom_fields(object: &Object<'_>) -> Result<Option<usize>, ContactError> {
    let Some((at, value)) = object.find_field(member::CUSTOM_FIELDS) else {
        return Ok(None);
    };
    let fine = value.as_object().is_some_and(|fields| {
        fields.iter().all(|(name, value)| {
            !name.is_empty() && matches!(value, Json::String(_) | Json::Number(_) | Json::Bool(_))
        })
    });
    if fine {
        Ok(Some(at))
    } else {
        Err(ContactCode::InvalidCustomFields.into())
    }
}

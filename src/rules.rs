//! The lookup-free per-contact rules 1 to 8 of SPEC §4, in the SPEC's order.
//!
//! Each rule is one small function; [`check`] runs them in the table's order and stops at the
//! first that fails. What passes is a [`Valid`] contact: the canonical numbers, the flags with
//! their defaults, and the signup date, ready for the lookups of rules 9 to 12.

use std::borrow::Cow;
use std::collections::HashMap;

use jiff::Timestamp;

use crate::ContactError;
use crate::codes::{ContactCode, Field};
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
    let phone = required(object, "phone_number", ContactCode::MissingPhoneNumber)?;
    let list = required(object, "list_number", ContactCode::MissingListNumber)?;
    let phone = e164_number(phone, ContactCode::InvalidPhone, e164::is_valid)?;
    let list = e164_number(list, ContactCode::InvalidListNumber, |s| {
        *memo.lists.entry(s).or_insert_with(|| e164::is_valid(s))
    })?;
    let (flags, signup_date) = optional_fields(object, now, &mut memo.urls)?;
    custom_fields(object)?;
    Ok(Valid {
        phone,
        list,
        flags,
        signup_date,
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
) -> Result<(Flags, Option<Timestamp>), ContactError> {
    let flags = Flags {
        use_journeys: boolean(object, Field::UseJourneys, false)?,
        skip_journey_if_exists: boolean(object, Field::SkipJourneyIfExists, true)?,
        use_validation: boolean(object, Field::UseValidation, false)?,
        replace_custom_fields: boolean(object, Field::ReplaceCustomFields, false)?,
    };
    let signup_date = formatted(object, Field::SignupDate, |s| {
        formats::signup_date_ok(s, now)
    })?;
    formatted(object, Field::IpAddress, |s| {
        formats::ip_address_ok(s).then_some(())
    })?;
    formatted(object, Field::Url, |s| {
        urls.entry(s)
            .or_insert_with(|| formats::url_ok(s))
            .then_some(())
    })?;
    Ok((flags, signup_date))
}

fn boolean(object: &Object<'_>, field: Field, default: bool) -> Result<bool, ContactError> {
    match object.field(field.as_str()) {
        None => Ok(default),
        Some(Json::Bool(b)) => Ok(*b),
        Some(_) => Err(ContactError::invalid_field(field)),
    }
}

/// A string field in a given format; `parse` returns what the format yields, or `None`.
fn formatted<'c, T>(
    object: &'c Object<'_>,
    field: Field,
    parse: impl FnOnce(&'c str) -> Option<T>,
) -> Result<Option<T>, ContactError> {
    match object.field(field.as_str()) {
        None => Ok(None),
        Some(Json::String(s)) => parse(s)
            .map(Some)
            .ok_or_else(|| ContactError::invalid_field(field)),
        Some(_) => Err(ContactError::invalid_field(field)),
    }
}

/// Rule 8: `custom_fields`, when present, is an object of non-empty names whose values are
/// strings, numbers or booleans.
fn custom_fields(object: &Object<'_>) -> Result<(), ContactError> {
    let Some(value) = object.field("custom_fields") else {
        return Ok(());
    };
    let fine = value.as_object().is_some_and(|fields| {
        fields.iter().all(|(name, value)| {
            !name.is_empty() && matches!(value, Json::String(_) | Json::Number(_) | Json::Bool(_))
        })
    });
    if fine {
        Ok(())
    } else {
        Err(ContactCode::InvalidCustomFields.into())
    }
}

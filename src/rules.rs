//! The lookup-free per-contact rules 1 to 8 of SPEC §4, in the SPEC's order.
//!
//! Each rule is one small function; [`check`] runs them in the table's order and stops at the
//! first that fails. They read a contact as the reader left it ([`Scanned`]: its text and the
//! tokens of the members they read), so nothing is parsed twice. What passes is a [`Valid`]
//! contact: the canonical numbers, the flags with their defaults, the signup date and the
//! members a store writes, ready for the lookups of rules 9 to 12.

use std::borrow::Cow;
use std::convert::Infallible;

use jiff::Timestamp;

use crate::codes::ContactError;
use crate::e164;
use crate::formats;
use crate::hashing::Recall;
use crate::limits::Limits;
use crate::member::{Field, Member};
use crate::scan::{self, Scanned, Str, Token};

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
    /// `ip_address`, when sent.
    pub(crate) ip_address: Option<Cow<'a, str>>,
    /// `url`, when sent.
    pub(crate) url: Option<Cow<'a, str>>,
    /// The JSON text of `custom_fields`, when sent.
    pub(crate) custom_fields: Option<&'a str>,
    /// Whether it has a member the rules do not read.
    pub(crate) other_members: bool,
}

/// Verdicts already reached in this batch on values that repeat from contact to contact (the
/// list number, the signup page's URL), so that each distinct value is checked once.
#[derive(Debug, Default)]
pub(crate) struct Memo<'a> {
    lists: Recall<'a, bool>,
    urls: Recall<'a, bool>,
}

/// `check(value)`, recalled when `value` is borrowed from the body (an escaped value, decoded,
/// is checked each time).
#[allow(clippy::ptr_arg)] // the variant matters: only text borrowed from the body is kept
fn recalled<'a>(
    recall: &mut Recall<'a, bool>,
    value: &Cow<'a, str>,
    check: fn(&str) -> bool,
) -> bool {
    match value {
        Cow::Borrowed(text) => recall
            .get_or(text, |text| Ok::<_, Infallible>(check(text)))
            .unwrap_or_else(|never| match never {}),
        Cow::Owned(text) => check(text),
    }
}

/// Runs rules 1 to 8 on one element of `contacts`.
pub(crate) fn check<'a>(
    contact: &Scanned<'a>,
    limits: &Limits,
    now: Timestamp,
    memo: &mut Memo<'a>,
) -> Result<Valid<'a>, ContactError> {
    if !fits(contact, limits.max_contact_bytes()) {
        return Err(ContactError::PayloadTooLarge);
    }
    if !contact.object {
        return Err(ContactError::InvalidContact);
    }
    let phone = required(
        contact,
        Member::PhoneNumber,
        ContactError::MissingPhoneNumber,
    )?;
    let list = required(contact, Member::ListNumber, ContactError::MissingListNumber)?;
    let phone = e164_number(phone, ContactError::InvalidPhone, |s| e164::is_valid(s))?;
    let list = e164_number(list, ContactError::InvalidListNumber, |s| {
        recalled(&mut memo.lists, s, e164::is_valid)
    })?;
    let flags = Flags {
        use_journeys: boolean(contact, Field::UseJourneys, false)?,
        skip_journey_if_exists: boolean(contact, Field::SkipJourneyIfExists, true)?,
        use_validation: boolean(contact, Field::UseValidation, false)?,
        replace_custom_fields: boolean(contact, Field::ReplaceCustomFields, false)?,
    };
    let mut signup_date = None;
    formatted(contact, Field::SignupDate, |s| {
        signup_date = formats::signup_date_ok(s, now);
        signup_date.is_some()
    })?;
    let ip_address = formatted(contact, Field::IpAddress, |s| formats::ip_address_ok(s))?;
    let url = formatted(contact, Field::Url, |s| {
        recalled(&mut memo.urls, s, formats::url_ok)
    })?;
    let custom_fields = custom_fields(contact)?;
    Ok(Valid {
        phone,
        list,
        flags,
        signup_date,
        ip_address,
        url,
        custom_fields,
        other_members: contact.other_members,
    })
}

/// Rule 1: compact JSON is never longer than the text it was read from, unless a number is
/// written back in a longer form; only then, or when the text itself is over the limit, is
/// the compact form measured.
fn fits(contact: &Scanned<'_>, limit: usize) -> bool {
    (!contact.longer_numbers && contact.text.len() <= limit)
        || scan::compact_len(contact.text) <= limit
}

/// What rules 3 and 4 let through to rules 5 and 6: a string, or any other present value.
enum Present<'a> {
    String(Cow<'a, str>),
    Other,
}

/// Rules 3 and 4: present, and not a blank string. Any other type passes on to rules 5 and 6.
fn required<'a>(
    contact: &Scanned<'a>,
    member: Member,
    missing: ContactError,
) -> Result<Present<'a>, ContactError> {
    match contact.field(member) {
        None => Err(missing),
        Some(Token::String(s)) => {
            let s = s.decode();
            // Most values start with a character that is not whitespace: no need to trim.
            let blank = !s.starts_with(|c: char| c.is_ascii_graphic()) && s.trim().is_empty();
            if blank {
                Err(missing)
            } else {
                Ok(Present::String(s))
            }
        }
        Some(_) => Ok(Present::Other),
    }
}

/// Rules 5 and 6: a string holding a valid, canonical E.164 number.
fn e164_number<'a>(
    value: Present<'a>,
    invalid: ContactError,
    is_valid: impl FnOnce(&Cow<'a, str>) -> bool,
) -> Result<Cow<'a, str>, ContactError> {
    match value {
        Present::String(s) if is_valid(&s) => Ok(s),
        _ => Err(invalid),
    }
}

/// Rule 7, a flag: a JSON boolean when present.
fn boolean(contact: &Scanned<'_>, field: Field, default: bool) -> Result<bool, ContactError> {
    match contact.field(Member::Field(field)) {
        None => Ok(default),
        Some(Token::Bool(b)) => Ok(b),
        Some(_) => Err(ContactError::InvalidField(field)),
    }
}

/// Rule 7, a formatted field: a string that `well_formed` accepts, when present.
fn formatted<'a>(
    contact: &Scanned<'a>,
    field: Field,
    well_formed: impl FnOnce(&Cow<'a, str>) -> bool,
) -> Result<Option<Cow<'a, str>>, ContactError> {
    match contact.field(Member::Field(field)) {
        None => Ok(None),
        Some(Token::String(s)) => {
            let s = Str::decode(s);
            if well_formed(&s) {
                Ok(Some(s))
            } else {
                Err(ContactError::InvalidField(field))
            }
        }
        Some(_) => Err(ContactError::InvalidField(field)),
    }
}

/// Rule 8: `custom_fields`, when present, is an object of non-empty names whose values are
/// strings, numbers or booleans. Present and well formed: its JSON text.
fn custom_fields<'a>(contact: &Scanned<'a>) -> Result<Option<&'a str>, ContactError> {
    match contact.field(Member::CustomFields) {
        None => Ok(None),
        Some(Token::Object { raw, flat: true }) => Ok(Some(raw)),
        // A repeated name keeps its last value: only the object as `serde_json` reads it
        // says whether a bad member was replaced by a good one.
        Some(Token::Object { raw, flat: false }) if flat_as_read(raw) => Ok(Some(raw)),
        Some(_) => Err(ContactError::InvalidCustomFields),
    }
}

fn flat_as_read(raw: &str) -> bool {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw).is_ok_and(|fields| {
        fields.iter().all(|(name, value)| {
            !name.is_empty()
                && matches!(
                    value,
                    serde_json::Value::String(_)
                        | serde_json::Value::Number(_)
                        | serde_json::Value::Bool(_)
                )
        })
    })
}

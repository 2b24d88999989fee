//! Request bytes → the `contacts` elements (SPEC §3, checks 2 to 5) and rules 1 to 8 on each,
//! in one pass over the bytes.
//!
//! The [`Reader`] checks the whole body as `serde_json` would and stops at nothing it does not
//! need: each of the first `max_contacts` elements of the last top-level `contacts` member is
//! read as a contact and checked by the rules right away, while its bytes are still in cache;
//! the elements after them, and the other top-level members, are only checked, so an oversized
//! request costs neither time nor memory per element beyond the reading itself.

use std::borrow::Cow;

use jiff::Timestamp;

use crate::codes::{ContactError, Rejection};
use crate::limits::Limits;
use crate::member::{Field, Member};
use crate::rules::{self, Valid};
use crate::scan::{Invalid, Reader, Scanned, Token};

/// What [`Engine::check_contact_with_numbers`](crate::Engine::check_contact_with_numbers) returns: rules 1 to 8 on one contact, and its
/// numbers when they are JSON strings (unescaped, untrimmed, as sent).
#[derive(Debug)]
pub struct CheckedContact<'t> {
    /// What [`Engine::check_contact`](crate::Engine::check_contact) returns for the contact.
    pub check: Result<Valid<'t>, ContactError>,
    /// `phone_number`, when a string.
    pub phone_number: Option<Cow<'t, str>>,
    /// `list_number`, when a string.
    pub list_number: Option<Cow<'t, str>>,
}

/// A contact's text that is not one JSON value that could stand in a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not one valid JSON value (syntax, UTF-8, number range or nesting)")]
pub struct NotJson;

/// Rules 1 to 8 on one contact given as its own JSON text, as an element of `contacts` (the
/// body's object and array around it count toward the nesting limit).
pub(crate) fn check_one<'t>(
    text: &'t [u8],
    limits: &Limits,
    now: Timestamp,
) -> Result<Result<Valid<'t>, ContactError>, NotJson> {
    let contact = one(text)?;
    Ok(rules::check(
        &contact,
        limits,
        now,
        &mut rules::Memo::default(),
    ))
}

/// [`check_one`], with the contact's `phone_number` and `list_number` when they are strings
/// (unescaped), read from the same scan.
pub(crate) fn check_one_with_numbers<'t>(
    text: &'t [u8],
    limits: &Limits,
    now: Timestamp,
) -> Result<CheckedContact<'t>, NotJson> {
    let contact = one(text)?;
    let string = |member: Member| match contact.field(member) {
        Some(Token::String(s)) => Some(s.decode()),
        _ => None,
    };
    Ok(CheckedContact {
        phone_number: string(Member::PhoneNumber),
        list_number: string(Member::ListNumber),
        check: rules::check(&contact, limits, now, &mut rules::Memo::default()),
    })
}

/// The arrays and objects around a contact in a body: the body's object and `contacts`.
const AROUND_A_CONTACT: usize = Limits::MAX_BODY_NESTING - Limits::MAX_CONTACT_NESTING;

fn one(text: &[u8]) -> Result<Scanned<'_>, NotJson> {
    let mut reader = Reader::new(text, AROUND_A_CONTACT).map_err(|_| NotJson)?;
    let contact = reader.contact().map_err(|_| NotJson)?;
    reader.end().map_err(|_| NotJson)?;
    Ok(contact)
}

/// The contacts of a body that passed checks 2 to 5, each with the result of rules 1 to 8:
/// what the reader builds and the [`Batch`](crate::Batch) then owns (and every later stage
/// borrows).
#[derive(Debug, Clone, Default)]
pub(crate) struct Read<'a> {
    /// Each contact's text, as sent.
    pub(crate) texts: Vec<&'a str>,
    /// `phone_number` as sent, when a string, of the contacts that failed rules 1 to 8, by
    /// index: what their error entries echo (a contact that passed has it as its number).
    pub(crate) failed_phones: Vec<(usize, Cow<'a, str>)>,
    /// Each contact's result of rules 1 to 8.
    pub(crate) checks: Vec<Result<Valid<'a>, ContactError>>,
    /// Whether some contact is an object whose `use_validation` is `true` (check 6).
    pub(crate) wants_validation: bool,
}

impl<'a> Read<'a> {
    /// `phone_number` as sent, when it was a string: the canonical number of a contact that
    /// passed rules 1 to 8 (it is the string sent), else what the reader kept.
    pub(crate) fn phone_sent(&self, index: usize) -> Option<&str> {
        match self.checks.get(index)? {
            Ok(valid) => Some(valid.phone.as_ref()),
            Err(_) => {
                let at = self
                    .failed_phones
                    .binary_search_by_key(&index, |(at, _)| *at)
                    .ok()?;
                self.failed_phones.get(at).map(|(_, phone)| phone.as_ref())
            }
        }
    }

    fn reserve(&mut self, more: usize) {
        self.texts.reserve_exact(more);
        self.checks.reserve_exact(more);
    }

    /// Room for one more contact, growing by half (not doubling) and never past `max`: the
    /// old and new buffers held at once during a move stay within 1.5 times the final size.
    fn make_room(&mut self, max: usize) {
        let len = self.texts.len();
        if len == self.texts.capacity() || len == self.checks.capacity() {
            self.reserve((len / 2).max(16).min(max.saturating_sub(len).max(1)));
        }
    }

    fn push(&mut self, contact: &Scanned<'a>, check: Result<Valid<'a>, ContactError>) {
        let member = |m: Member| contact.members.get(m.index()).copied().flatten();
        self.wants_validation |=
            member(Member::Field(Field::UseValidation)) == Some(Token::Bool(true));
        if check.is_err()
            && let Some(Token::String(s)) = member(Member::PhoneNumber)
        {
            self.failed_phones.push((self.texts.len(), s.decode()));
        }
        self.texts.push(contact.text);
        self.checks.push(check);
    }
}

/// The value of the top-level `contacts` member, as far as the checks need it.
enum Contacts<'a> {
    /// Absent, `null`, or not an array.
    Missing,
    /// An array: its first `max` elements, read, and how many it has in all.
    Array { read: Read<'a>, total: usize },
}

/// Reads the body: 413 when too long, 400 when not JSON or without a non-empty `contacts`
/// array, 413 when `contacts` has too many elements; else the contacts, with rules 1 to 8
/// applied at `now`.
pub(crate) fn read_contacts<'a>(
    body: &'a [u8],
    limits: &Limits,
    now: Timestamp,
) -> Result<Read<'a>, Rejection> {
    if body.len() > limits.max_body_bytes() {
        return Err(Rejection::PayloadTooLarge);
    }
    let contacts = Reader::new(body, 0)
        .and_then(|mut reader| {
            let contacts = top_level(&mut reader, limits, now)?;
            reader.end().map(|()| contacts)
        })
        .map_err(|Invalid| Rejection::InvalidJson)?;
    match contacts {
        Contacts::Missing | Contacts::Array { total: 0, .. } => Err(Rejection::MissingContacts),
        Contacts::Array { total, .. } if total > limits.max_contacts() => {
            Err(Rejection::TooManyContacts)
        }
        Contacts::Array { read, .. } => Ok(read),
    }
}

/// The top-level value: an object's last `contacts` member, anything else checked only.
fn top_level<'a>(
    reader: &mut Reader<'a>,
    limits: &Limits,
    now: Timestamp,
) -> Result<Contacts<'a>, Invalid> {
    if reader.peek() != Some(b'{') {
        reader.value()?;
        return Ok(Contacts::Missing);
    }
    let mut contacts = Contacts::Missing;
    if !reader.open(b'{', b'}')? {
        loop {
            if reader.key()?.decode() == "contacts" {
                contacts = contacts_array(reader, limits, now)?;
            } else {
                reader.value()?;
            }
            if !reader.more(b'}')? {
                break;
            }
        }
        reader.close();
    }
    Ok(contacts)
}

/// The value of a `contacts` member: its first `max_contacts` elements read and checked.
fn contacts_array<'a>(
    reader: &mut Reader<'a>,
    limits: &Limits,
    now: Timestamp,
) -> Result<Contacts<'a>, Invalid> {
    if reader.peek() != Some(b'[') {
        reader.value()?;
        return Ok(Contacts::Missing);
    }
    let mut read = Read::default();
    let mut memo = rules::Memo::default();
    let mut contact = Scanned::default();
    let mut total = 0usize;
    if !reader.open(b'[', b']')? {
        loop {
            if total < limits.max_contacts() {
                reader.contact_into(&mut contact)?;
                let check = rules::check(&contact, limits, now, &mut memo);
                if total == 0 {
                    // Room for as many contacts as the first one's size says the body holds
                    // (at most the limit): no regrowth on a regular body.
                    let guess = reader.remaining() / (contact.text.len() + 1) + 1;
                    read.reserve(guess.min(limits.max_contacts()));
                }
                read.make_room(limits.max_contacts());
                read.push(&contact, check);
            } else {
                reader.value()?;
            }
            total += 1;
            if !reader.more(b']')? {
                break;
            }
        }
        reader.close();
    }
    Ok(Contacts::Array { read, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2025-06-01T00:00:00Z".parse().expect("timestamp")
    }

    fn read(body: &str) -> Result<usize, Rejection> {
        read_contacts(body.as_bytes(), &Limits::default(), now()).map(|c| c.texts.len())
    }

    #[test]
    fn shapes_without_a_non_empty_contacts_array_are_missing_contacts() {
        for body in [
            "[]",
            "\"x\"",
            "1",
            "null",
            "{}",
            r#"{"contacts": null}"#,
            r#"{"contacts": {}}"#,
            r#"{"contacts": "x"}"#,
            r#"{"contacts": []}"#,
            r#"{"contacts": [1], "contacts": null}"#,
        ] {
            assert_eq!(read(body), Err(Rejection::MissingContacts), "{body}");
        }
    }

    #[test]
    fn malformed_bodies_are_invalid_json() {
        let deep = format!(
            r#"{{"x": {}{}, "contacts": [{{}}]}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        for body in [
            "",
            "{",
            r#"{"contacts": [1]} x"#,
            r#"{"contacts": [1e400]}"#,
            &deep,
        ] {
            assert_eq!(read(body), Err(Rejection::InvalidJson), "{body}");
        }
        assert_eq!(
            read_contacts(b"{\"contacts\": [\"\xff\"]}", &Limits::default(), now())
                .map(|c| c.texts.len()),
            Err(Rejection::InvalidJson)
        );
    }

    #[test]
    fn invalid_json_past_the_contact_limit_is_still_invalid_json() {
        let mut body = String::from("{\"contacts\": [");
        body.push_str(&"{},".repeat(1500));
        body.push_str("[1e400]]}");
        assert_eq!(read(&body), Err(Rejection::InvalidJson));
    }

    #[test]
    fn every_contact_count_up_to_a_small_limit_is_read() {
        for max_contacts in 1..40 {
            let limits = Limits::DEFAULT
                .with_max_contacts(max_contacts)
                .expect("at least one");
            for n in 1..=max_contacts + 1 {
                // The first contact is large, so that the room guessed from it is too small.
                let contacts: Vec<&str> = (0..n)
                    .map(|i| if i == 0 { "[1, 2, 3, 4, 5]" } else { "1" })
                    .collect();
                let body = format!("{{\"contacts\": [{}]}}", contacts.join(","));
                let read = read_contacts(body.as_bytes(), &limits, now()).map(|c| c.texts.len());
                let expected = if n > max_contacts {
                    Err(Rejection::TooManyContacts)
                } else {
                    Ok(n)
                };
                assert_eq!(read, expected, "{n} contacts, limit {max_contacts}");
            }
        }
    }

    #[test]
    fn contact_count_limit_is_inclusive() {
        let body = |n: usize| format!("{{\"contacts\": [{}]}}", vec!["{}"; n].join(","));
        assert_eq!(read(&body(1000)), Ok(1000));
        assert_eq!(read(&body(1001)), Err(Rejection::TooManyContacts));
    }

    #[test]
    fn body_limit_is_inclusive_and_checked_first() {
        let limits = Limits::DEFAULT
            .with_max_body_bytes(20)
            .expect("over the minimum");
        assert!(read_contacts(br#"{"contacts": [1]}   "#, &limits, now()).is_ok());
        assert_eq!(
            read_contacts(br#"{"contacts": [1]}    "#, &limits, now()).map(|c| c.texts.len()),
            Err(Rejection::PayloadTooLarge)
        );
        assert_eq!(
            read_contacts(b"not json at all, and long", &limits, now()).map(|c| c.texts.len()),
            Err(Rejection::PayloadTooLarge)
        );
    }

    #[test]
    fn the_smallest_limits_read_the_smallest_body_holding_an_object() {
        let limits = Limits::new(
            Limits::MIN_CONTACTS,
            Limits::MIN_CONTACT_BYTES,
            Limits::MIN_BODY_BYTES,
        )
        .expect("the minimums");
        let read = read_contacts(br#"{"contacts":[{}]}"#, &limits, now()).expect("read");
        // Past rules 1 (2 bytes) and 2 (an object): the first rule with something to say.
        assert_eq!(read.checks, [Err(ContactError::MissingPhoneNumber)]);
        assert_eq!(
            read_contacts(br#"{"contacts":[{},{}]}"#, &limits, now()).map(|r| r.checks.len()),
            Err(Rejection::PayloadTooLarge)
        );
    }

    #[test]
    fn one_contact_is_read_with_the_nesting_it_would_have_in_a_body() {
        let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        let deepest = Limits::MAX_CONTACT_NESTING;
        assert_eq!(deepest, 125);
        assert!(one(nested(deepest).as_bytes()).is_ok());
        assert_eq!(one(nested(deepest + 1).as_bytes()), Err(NotJson));
        let in_body = |levels: usize| format!("{{\"contacts\": [{}]}}", nested(levels));
        assert!(read(&in_body(deepest)).is_ok());
        assert_eq!(read(&in_body(deepest + 1)), Err(Rejection::InvalidJson));
    }

    #[test]
    fn one_contact_must_be_exactly_one_json_value() {
        for text in ["", "{", "{} {}", "1, 2", "[1e400]"] {
            assert_eq!(one(text.as_bytes()), Err(NotJson), "{text}");
        }
        assert_eq!(one(b"\"\xff\""), Err(NotJson));
        assert!(one(b" {\"a\": 1} ").is_ok());
        assert!(one(br#"{"a": [1, {"b": "\u00e9"}]}"#).is_ok());
    }
}

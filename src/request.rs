//! Request bytes → the `contacts` elements (SPEC §3, checks 2 to 5), in one pass.
//!
//! The body is parsed by `serde_json` into borrowed [`Json`] trees, but only for the first
//! `max_contacts` elements: the elements after them are walked with [`Skip`], which checks that
//! they are valid JSON and keeps nothing, so an oversized request costs neither time nor memory
//! per element beyond the parse itself. Top-level members other than `contacts` are skipped the
//! same way. A repeated `contacts` member keeps its last value, as `serde_json::Value` would.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::codes::{ContactError, Rejection};
use crate::json::{Json, Key, Skip, SkipVisitor};
use crate::limits::Limits;
use crate::rules::{self, Valid};
use jiff::Timestamp;

/// A contact's text that is not one JSON value that could stand in a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not one valid JSON value (syntax, UTF-8, number range or nesting)")]
pub struct NotJson;

/// Rules 1 to 8 on one contact given as its own JSON text, as an element of `contacts`.
pub(crate) fn check_one<'t>(
    text: &'t [u8],
    limits: &Limits,
    now: Timestamp,
) -> Result<Result<Valid<'t>, ContactError>, NotJson> {
    let contact = read_one(text)?;
    let mut memo = rules::Memo::default();
    Ok(rules::check(&contact, limits, now, &mut memo))
}

/// The text as one element of `contacts`: one JSON value, at most 125 levels deep (serde_json
/// reads at most 127 nested arrays and objects, and the body's object and array take two).
fn read_one(text: &[u8]) -> Result<Json<'_>, NotJson> {
    let contact: Json<'_> = serde_json::from_slice(text).map_err(|_| NotJson)?;
    if nesting(&contact) > 125 {
        return Err(NotJson);
    }
    Ok(contact)
}

/// How many arrays and objects deep a value goes (a scalar is 0). serde_json's parser bounds
/// it to 128, so the recursion is bounded too.
fn nesting(value: &Json<'_>) -> usize {
    match value {
        Json::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Json::Object(object) => 1 + object.iter().map(|(_, v)| nesting(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// The value of the top-level `contacts` member, as far as the checks need it.
enum Contacts<'a> {
    /// Absent, `null`, or not an array.
    Missing,
    /// An array: its first `max` elements, and how many it has in all.
    Array { kept: Vec<Json<'a>>, total: usize },
}

/// Reads the body: 413 when too long, 400 when not JSON or without a non-empty `contacts`
/// array, 413 when `contacts` has too many elements; else the elements.
pub(crate) fn read_contacts<'a>(
    body: &'a [u8],
    limits: &Limits,
) -> Result<Vec<Json<'a>>, Rejection> {
    if body.len() > limits.max_body_bytes {
        return Err(Rejection::PayloadTooLarge);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let contacts = TopLevel {
        max: limits.max_contacts,
    }
    .deserialize(&mut deserializer)
    .and_then(|contacts| deserializer.end().map(|()| contacts))
    .map_err(|_| Rejection::InvalidJson)?;
    match contacts {
        Contacts::Missing => Err(Rejection::MissingContacts),
        Contacts::Array { total: 0, .. } => Err(Rejection::MissingContacts),
        Contacts::Array { total, .. } if total > limits.max_contacts => {
            Err(Rejection::TooManyContacts)
        }
        Contacts::Array { kept, .. } => Ok(kept),
    }
}

/// A scalar where an object (top level) or an array (`contacts`) is needed: valid JSON, and
/// no contacts.
macro_rules! scalars_are_missing {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Contacts::Missing)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Contacts::Missing)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Contacts::Missing)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Contacts::Missing)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Contacts::Missing)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Contacts::Missing)
        }
    };
}

struct TopLevel {
    max: usize,
}

impl<'de> DeserializeSeed<'de> for TopLevel {
    type Value = Contacts<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel {
    type Value = Contacts<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut contacts = Contacts::Missing;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if key.0 == "contacts" {
                contacts = map.next_value_seed(ContactsArray { max: self.max })?;
            } else {
                map.next_value::<Skip>()?;
            }
        }
        Ok(contacts)
    }

    // Any other top-level value is valid JSON without `contacts`: walk it, report it missing.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        SkipVisitor.visit_seq(seq).map(|_| Contacts::Missing)
    }
    scalars_are_missing!();
}

struct ContactsArray {
    max: usize,
}

impl<'de> DeserializeSeed<'de> for ContactsArray {
    type Value = Contacts<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ContactsArray {
    type Value = Contacts<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut kept = Vec::new();
        let mut total = 0usize;
        loop {
            let more = if total < self.max {
                seq.next_element::<Json<'de>>()?.map(|item| kept.push(item))
            } else {
                seq.next_element::<Skip>()?.map(drop)
            };
            if more.is_none() {
                break;
            }
            total += 1;
        }
        Ok(Contacts::Array { kept, total })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        SkipVisitor.visit_map(map).map(|_| Contacts::Missing)
    }
    scalars_are_missing!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Result<usize, Rejection> {
        read_contacts(body.as_bytes(), &Limits::default()).map(|c| c.len())
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
            read_contacts(b"{\"contacts\": [\"\xff\"]}", &Limits::default()),
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
    fn contact_count_limit_is_inclusive() {
        let body = |n: usize| format!("{{\"contacts\": [{}]}}", vec!["{}"; n].join(","));
        assert_eq!(read(&body(1000)), Ok(1000));
        assert_eq!(read(&body(1001)), Err(Rejection::TooManyContacts));
    }

    #[test]
    fn body_limit_is_inclusive_and_checked_first() {
        let limits = Limits {
            max_body_bytes: 20,
            ..Limits::default()
        };
        assert!(read_contacts(br#"{"contacts": [1]}   "#, &limits).is_ok());
        assert_eq!(
            read_contacts(br#"{"contacts": [1]}    "#, &limits),
            Err(Rejection::PayloadTooLarge)
        );
        assert_eq!(
            read_contacts(b"not json at all, and long", &limits),
            Err(Rejection::PayloadTooLarge)
        );
    }

    #[test]
    fn one_contact_is_read_with_the_nesting_it_would_have_in_a_body() {
        let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert!(read_one(nested(125).as_bytes()).is_ok());
        assert_eq!(read_one(nested(126).as_bytes()), Err(NotJson));
        let in_body = |levels: usize| format!("{{\"contacts\": [{}]}}", nested(levels));
        assert!(read(&in_body(125)).is_ok());
        assert_eq!(read(&in_body(126)), Err(Rejection::InvalidJson));
    }

    #[test]
    fn one_contact_must_be_exactly_one_json_value() {
        for text in ["", "{", "{} {}", "1, 2", "[1e400]"] {
            assert_eq!(read_one(text.as_bytes()), Err(NotJson), "{text}");
        }
        assert_eq!(read_one(b"\"\xff\""), Err(NotJson));
        assert!(read_one(b" {\"a\": 1} ").is_ok());
    }
}

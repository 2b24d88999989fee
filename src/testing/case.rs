//! The conformance case format of SPEC §8: a world, a key, a body, and the expected answer.
//!
//! Used by the `bulk --case` example and by the conformance test runner, so that both read a
//! case the same way.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::world::World;
use crate::engine::{Engine, Request};
use crate::response::Response;

/// A case that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The file is not JSON, or a member has the wrong shape.
    #[error("malformed case: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Neither or both of `body` and `body_raw`.
    #[error("a case needs exactly one of `body` and `body_raw`")]
    Body,
}

/// One conformance case.
#[derive(Debug, Clone)]
pub struct Case {
    /// What the case pins.
    pub description: String,
    /// The world it runs in.
    pub world: World,
    /// The `X-Api-Key` header, `None` for no header.
    pub api_key: Option<String>,
    /// The request body's bytes.
    pub body: Vec<u8>,
    /// The expected answer, when the case gives one.
    pub expect: Option<Expected>,
}

/// The expected status and body.
#[derive(Debug, Clone, Deserialize)]
pub struct Expected {
    /// The HTTP status.
    pub status: u16,
    /// The body, as written in the case.
    pub body: Box<RawValue>,
}

#[derive(Deserialize)]
struct CaseFile {
    #[serde(default)]
    description: String,
    #[serde(default)]
    world: World,
    #[serde(default, deserialize_with = "present")]
    api_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "present_raw")]
    body: Option<Box<RawValue>>,
    body_raw: Option<String>,
    expect: Option<Expected>,
}

/// Tells a member given as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `body` is raw JSON, so `"body": null` is the body `null`, not an absent body.
fn present_raw<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(deserializer).map(Some)
}

impl Case {
    /// Reads a case from its JSON text.
    pub fn from_json(text: &str) -> Result<Case, CaseError> {
        let file: CaseFile = serde_json::from_str(text)?;
        let body = match (file.body, file.body_raw) {
            (Some(json), None) => minify(json.get()),
            (None, Some(raw)) => raw.into_bytes(),
            _ => return Err(CaseError::Body),
        };
        let api_key = match file.api_key {
            None => file.world.api_keys.first().cloned(),
            Some(given) => given,
        };
        Ok(Case {
            description: file.description,
            world: file.world,
            api_key,
            body,
            expect: file.expect,
        })
    }

    /// Runs the case with the default limits against its world.
    pub fn run(&self) -> Response {
        let request = Request {
            api_key: self.api_key.as_deref().map(str::as_bytes),
            body: &self.body,
            now: self.world.now,
        };
        let world = &self.world;
        Engine::default().handle(&request, &world.account(), world, world, world)
    }

    /// Why `response` differs from the expected answer (status, body content, or member
    /// order), or `None` when it matches or the case expects nothing.
    pub fn mismatch(&self, response: &Response) -> Option<String> {
        let expect = self.expect.as_ref()?;
        let expected_body = Ordered::read(expect.body.get());
        let actual_body = std::str::from_utf8(&response.body)
            .map_err(|_| ())
            .and_then(|body| Ordered::read(body).map_err(|_| ()));
        let same = expect.status == response.status
            && matches!((&expected_body, &actual_body), (Ok(e), Ok(a)) if e == a);
        (!same).then(|| {
            format!(
                "expected: {{\"status\":{},\"body\":{}}}\n  actual: {}",
                expect.status,
                minify_str(expect.body.get()),
                envelope(response)
            )
        })
    }
}

/// A JSON value whose objects keep their members in order, so that comparing two of them
/// also compares the order of members (SPEC §5 fixes it), and whose numbers keep the text they
/// are written with: a `cost` of `1.50` echoed as `1.5`, or `3` as `3.0`, is a difference (the
/// engine echoes validation results unchanged, SPEC §7). Strings compare by value (`"\u00e9"`
/// and `"é"` are the same string).
#[derive(Debug, PartialEq)]
enum Ordered {
    Null,
    Bool(bool),
    /// The number as written.
    Number(String),
    String(String),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

/// An object's members in the order they are written, each value still as raw text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> serde::de::Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

impl Ordered {
    /// Reads one JSON text (serde_json checks its syntax at each level).
    fn read(text: &str) -> Result<Ordered, serde_json::Error> {
        let raw: &RawValue = serde_json::from_str(text)?;
        Ordered::of(raw)
    }

    fn of(raw: &RawValue) -> Result<Ordered, serde_json::Error> {
        let text = raw.get();
        Ok(match text.as_bytes().first() {
            Some(b'{') => {
                let Members(members) = serde_json::from_str(text)?;
                Ordered::Object(
                    members
                        .into_iter()
                        .map(|(name, value)| Ok((name, Ordered::of(value)?)))
                        .collect::<Result<_, serde_json::Error>>()?,
                )
            }
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(text)?;
                Ordered::Array(
                    items
                        .into_iter()
                        .map(Ordered::of)
                        .collect::<Result<_, _>>()?,
                )
            }
            Some(b'-' | b'0'..=b'9') => Ordered::Number(text.to_owned()),
            _ => match serde_json::from_str::<serde_json::Value>(text)? {
                serde_json::Value::Bool(b) => Ordered::Bool(b),
                serde_json::Value::String(s) => Ordered::String(s),
                _ => Ordered::Null,
            },
        })
    }
}

/// `{"status":<int>,"body":<json>}` on one line, as the `bulk` example prints it.
pub fn envelope(response: &Response) -> String {
    format!(
        "{{\"status\":{},\"body\":{}}}",
        response.status,
        String::from_utf8_lossy(&response.body)
    )
}

fn minify_str(json: &str) -> String {
    String::from_utf8_lossy(&minify(json)).into_owned()
}

/// The JSON text without whitespace between tokens; strings and numbers kept as written.
fn minify(json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in json.as_bytes() {
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            in_string = b == b'"';
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minify_keeps_strings_and_drops_whitespace_between_tokens() {
        let text = "{ \"a b\" : [ 1 , \"x \\\" y\" ],\n\t\"c\": \"\\\\\" }";
        assert_eq!(
            minify_str(text),
            "{\"a b\":[1,\"x \\\" y\"],\"c\":\"\\\\\"}"
        );
    }

    /// A case expecting `body`, against a 200 response with `actual`.
    fn mismatch(expected: &str, actual: &str) -> Option<String> {
        let case = Case::from_json(&format!(
            r#"{{"body": {{"contacts": []}}, "expect": {{"status": 200, "body": {expected}}}}}"#
        ))
        .expect("case");
        let response = Response {
            status: 200,
            body: actual.as_bytes().to_vec(),
        };
        case.mismatch(&response)
    }

    #[test]
    fn numbers_compare_as_written_members_in_order_strings_by_value() {
        let validation = r#"{"phone": "+1", "cost": 1.50, "cached": false}"#;
        assert_eq!(
            mismatch(validation, r#"{"phone":"+1","cost":1.50,"cached":false}"#),
            None
        );
        // The same values, other texts: a number re-serialized, members reordered.
        assert!(mismatch(validation, r#"{"phone":"+1","cost":1.5,"cached":false}"#).is_some());
        assert!(mismatch(r#"{"n": 3}"#, r#"{"n":3.0}"#).is_some());
        assert!(mismatch(r#"{"n": 1e2}"#, r#"{"n":100}"#).is_some());
        assert!(mismatch(validation, r#"{"cost":1.50,"phone":"+1","cached":false}"#).is_some());
        // A string is its value however it is escaped; whitespace between tokens is nothing.
        assert_eq!(
            mismatch(
                r#"{"s": "\u00e9", "a": [1, -2]}"#,
                r#"{"s":"é","a":[1,-2]}"#
            ),
            None
        );
        assert!(mismatch(r#"{"a": [1, 2]}"#, r#"{"a":[2,1]}"#).is_some());
        assert!(mismatch(r#"{"a": null}"#, r#"{"a":false}"#).is_some());
        assert!(mismatch(r#"{"a": 1}"#, "not json").is_some());
    }

    #[test]
    fn api_key_absent_means_first_key_and_null_means_no_header() {
        let absent = Case::from_json(r#"{"body": {"contacts": []}}"#).expect("case");
        assert_eq!(
            absent.api_key.as_deref(),
            Some(super::super::world::DEFAULT_API_KEY)
        );
        let null = Case::from_json(r#"{"api_key": null, "body": {}}"#).expect("case");
        assert_eq!(null.api_key, None);
        let null_body = Case::from_json(r#"{"body": null}"#).expect("case");
        assert_eq!(null_body.body, b"null");
        assert!(matches!(
            Case::from_json(r#"{"world": {}}"#),
            Err(CaseError::Body)
        ));
    }
}

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
        let expected_body: Result<Ordered, _> = serde_json::from_str(expect.body.get());
        let actual_body: Result<Ordered, _> = serde_json::from_slice(&response.body);
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
/// also compares the order of members (SPEC §5 fixes it).
#[derive(Debug, PartialEq)]
enum Ordered {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;
        impl<'de> serde::de::Visitor<'de> for OrderedVisitor {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Bool(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Number(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Number(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Ordered::Null, Ordered::Number))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::String(v.to_owned()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Ordered, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Ordered::Object(members))
            }
        }
        deserializer.deserialize_any(OrderedVisitor)
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

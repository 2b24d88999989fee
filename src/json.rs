//! A borrowed JSON tree with exactly the semantics of `serde_json::Value`, without its cost.
//!
//! The request is parsed once, by `serde_json`'s own deserializer, into [`Json`]: strings
//! without escapes borrow from the body, objects are vectors of members. Everything the SPEC
//! defines through `serde_json::Value` is kept exactly:
//!
//! * the parser is the same, so what is invalid JSON (syntax, bad UTF-8, trailing data, nesting
//!   deeper than 128 levels, numbers outside the `f64` range) is the same;
//! * a member name repeated in one object keeps its last value, at the place of its first
//!   occurrence, as `Value`'s map does;
//! * [`Json::compact_len`] is the length of `serde_json::to_vec` of the same value.
//!
//! [`Skip`] walks a value with the same checks and keeps nothing: it is used where the request
//! holds more than the engine needs (elements past the contact limit, unknown top-level
//! members), so that an oversized request costs no allocation per element.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Number;

/// Objects with more members than this find repeated names through a hash map instead of a
/// linear scan, so a crafted object of 100,000 members stays linear.
const LINEAR_SCAN_MEMBERS: usize = 16;

/// One JSON value of the request, borrowing from the request body where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as `serde_json` reads it (integer when it fits `u64`/`i64`, else `f64`).
    Number(Number),
    /// A string, decoded.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Json<'a>>),
    /// An object: member names are unique, in order of first occurrence.
    Object(Object<'a>),
}

/// The members of a JSON object, names unique, in order of first occurrence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object<'a> {
    members: Vec<(Cow<'a, str>, Json<'a>)>,
}

impl<'a> Object<'a> {
    /// The object without members.
    pub const EMPTY: Object<'static> = Object {
        members: Vec::new(),
    };

    /// The value of member `name`, if present (a `null` value is returned as [`Json::Null`]).
    pub fn get(&self, name: &str) -> Option<&Json<'a>> {
        self.members
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The value of member `name`, with `null` counted as absent (SPEC §4).
    pub fn field(&self, name: &str) -> Option<&Json<'a>> {
        self.get(name).filter(|value| !matches!(value, Json::Null))
    }

    /// Where member `name` is, and its value, with `null` counted as absent: the rules keep
    /// the position, so that what they checked is found again without a search by name.
    pub(crate) fn find_field(&self, name: &str) -> Option<(usize, &Json<'a>)> {
        self.members
            .iter()
            .position(|(key, _)| key == name)
            .and_then(|at| Some((at, &self.members.get(at)?.1)))
            .filter(|(_, value)| !matches!(value, Json::Null))
    }

    /// The value of the member at `position` (as [`Object::find_field`] gave it).
    pub(crate) fn value_at(&self, position: usize) -> Option<&Json<'a>> {
        self.members.get(position).map(|(_, value)| value)
    }

    /// The object as a `serde_json` map, ready for a store that keeps JSON.
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        self.iter()
            .map(|(name, value)| (name.to_owned(), serde_json::Value::from(value)))
            .collect()
    }

    /// The members, in order of first occurrence.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json<'a>)> {
        self.members
            .iter()
            .map(|(key, value)| (key.as_ref(), value))
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the object has no member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    fn from_members(mut members: Vec<(Cow<'a, str>, Json<'a>)>) -> Self {
        if members.len() > 1 {
            members = dedup_last_wins(members);
        }
        Object { members }
    }
}

/// Keeps, for a repeated name, the last value at the position of the first occurrence.
fn dedup_last_wins<'a>(members: Vec<(Cow<'a, str>, Json<'a>)>) -> Vec<(Cow<'a, str>, Json<'a>)> {
    let mut out: Vec<(Cow<'a, str>, Json<'a>)> = Vec::with_capacity(members.len());
    if members.len() <= LINEAR_SCAN_MEMBERS {
        for (key, value) in members {
            match out.iter_mut().find(|(seen, _)| *seen == key) {
                Some(slot) => slot.1 = value,
                None => out.push((key, value)),
            }
        }
        return out;
    }
    let mut position: HashMap<Cow<'a, str>, usize> = HashMap::with_capacity(members.len());
    for (key, value) in members {
        match position.get(&key) {
            Some(&at) => {
                if let Some(slot) = out.get_mut(at) {
                    slot.1 = value;
                }
            }
            None => {
                position.insert(key.clone(), out.len());
                out.push((key, value));
            }
        }
    }
    out
}

impl From<&Json<'_>> for serde_json::Value {
    /// The value `serde_json` parses from the same text.
    fn from(json: &Json<'_>) -> Self {
        match json {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Number(n) => serde_json::Value::Number(n.clone()),
            Json::String(s) => serde_json::Value::String(s.as_ref().to_owned()),
            Json::Array(items) => items.iter().map(serde_json::Value::from).collect(),
            Json::Object(object) => serde_json::Value::Object(object.to_map()),
        }
    }
}

impl<'a> Json<'a> {
    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The object, if this is an object.
    pub fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Json::Object(object) => Some(object),
            _ => None,
        }
    }

    /// The length in bytes of this value's compact serialization, as `serde_json::to_vec`
    /// writes it (no whitespace, UTF-8 written raw, `serde_json`'s escapes and number forms).
    pub fn compact_len(&self) -> usize {
        match self {
            Json::Null => 4,
            Json::Bool(true) => 4,
            Json::Bool(false) => 5,
            Json::Number(n) => number_len(n),
            Json::String(s) => string_len(s),
            Json::Array(items) => {
                2 + items.iter().map(Json::compact_len).sum::<usize>()
                    + items.len().saturating_sub(1)
            }
            Json::Object(object) => {
                let members: usize = object
                    .members
                    .iter()
                    .map(|(key, value)| string_len(key) + 1 + value.compact_len())
                    .sum();
                2 + members + object.members.len().saturating_sub(1)
            }
        }
    }
}

/// Length of a string as `serde_json` writes it: quoted, with `"` `\` and control characters
/// escaped (`\b \t \n \f \r` in two bytes, the others as `\u00XX`), everything else raw.
fn string_len(s: &str) -> usize {
    // Almost no string needs an escape: count them branch-free (this loop vectorizes), and
    // only look closer when there is one.
    let special = s.bytes().fold(0usize, |n, b| {
        n + usize::from(b < 0x20 || b == b'"' || b == b'\\')
    });
    if special == 0 {
        return s.len() + 2;
    }
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | 0x09 | 0x0a | 0x0c | 0x0d => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Length of a number as `serde_json` writes it (itoa for integers, ryu for floats).
fn number_len(n: &Number) -> usize {
    let digits = |v: u64| v.checked_ilog10().map_or(1, |log| log as usize + 1);
    if let Some(v) = n.as_u64() {
        return digits(v);
    }
    if let Some(v) = n.as_i64() {
        return 1 + digits(v.unsigned_abs());
    }
    float_len(n)
}

fn float_len(n: &Number) -> usize {
    struct Count(usize);
    impl fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(0);
    // `Number`'s Display writes the same digits as its serializer; writing cannot fail.
    let _ = fmt::write(&mut count, format_args!("{n}"));
    count.0
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // serde_json never hands out a non-finite float; keep `Value`'s answer if it did.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let value = map.next_value()?;
            members.push((key.0, value));
        }
        Ok(Json::Object(Object::from_members(members)))
    }
}

/// A member name, borrowed when it has no escapes.
pub(crate) struct Key<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Walks any JSON value with the checks of `serde_json::Value` (depth, number range) and keeps
/// nothing. Unlike `serde::de::IgnoredAny`, which `serde_json` skips without those checks.
pub(crate) struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

pub(crate) struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_key::<Skip>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => n.serialize(serializer),
            Json::String(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(object) => object.serialize(serializer),
        }
    }
}

impl Serialize for Object<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.members.len()))?;
        for (key, value) in &self.members {
            map.serialize_entry(key.as_ref(), value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Json<'_> {
        serde_json::from_str(text).expect("valid JSON")
    }

    fn value_len(text: &str) -> usize {
        let value: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        serde_json::to_vec(&value).expect("serializable").len()
    }

    #[test]
    fn compact_len_matches_serde_json_value_serialization() {
        for text in [
            r#"{"a": 1, "b": [true, false, null], "c": "x\ny\u0001\"\\/é"}"#,
            r#"[1.0, 1e2, 1E20, -0.5, 12345678901234567890, -9223372036854775808, 0.1]"#,
            r#"{"k": "\ud83d\ude00", "\u00e9": {"nested": [[], {}]}}"#,
            r#"{"a": 1, "a": "longer value", "b": 2}"#,
            "123456789012345678901234567890",
            "[0, 9, 10, 99, 100, 18446744073709551615, -1, -10, -9223372036854775808, 1e-7, 2.5e300]",
            "\"\u{7f}\"",
        ] {
            assert_eq!(parse(text).compact_len(), value_len(text), "{text}");
        }
    }

    #[test]
    fn repeated_member_keeps_last_value_at_first_position() {
        let json = parse(r#"{"a": 1, "b": 2, "a": 3}"#);
        let object = json.as_object().expect("object");
        let members: Vec<_> = object
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
        assert_eq!(
            members,
            vec![
                ("a".to_owned(), Json::Number(3.into())),
                ("b".to_owned(), Json::Number(2.into()))
            ]
        );
    }

    #[test]
    fn repeated_member_in_large_object_keeps_last_value() {
        let mut text = String::from("{");
        for i in 0..40 {
            text.push_str(&format!("\"k{}\": {i},", i % 20));
        }
        text.push_str("\"end\": 0}");
        let json = parse(&text);
        let object = json.as_object().expect("object");
        assert_eq!(object.len(), 21);
        assert_eq!(object.get("k3"), Some(&Json::Number(23.into())));
        assert_eq!(json.compact_len(), value_len(&text));
    }

    #[test]
    fn skip_applies_the_depth_limit_and_number_range_of_value() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(serde_json::from_str::<Skip>(&deep).is_err());
        assert!(serde_json::from_str::<serde_json::Value>(&deep).is_err());
        assert!(serde_json::from_str::<Skip>("[1e400]").is_err());
        assert!(serde_json::from_str::<Skip>(&("[".repeat(100) + &"]".repeat(100))).is_ok());
    }

    #[test]
    fn serializing_the_tree_gives_value_serialization() {
        let text = r#"{"z": 1, "a": [1.5, "x\ty"], "m": {"k": null}}"#;
        let mine = serde_json::to_value(parse(text)).expect("serializable");
        let theirs: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(mine, theirs);
    }

    #[test]
    fn converting_the_tree_gives_the_value_serde_json_parses() {
        let text = r#"{"z": 1, "a": [1.5, "x\ty", -3], "m": {"k": null, "b": true}, "z": 2}"#;
        let theirs: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(serde_json::Value::from(&parse(text)), theirs);
    }
}

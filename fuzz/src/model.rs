//! The structured target's input: an [`arbitrary`] model of a world and a batch, biased
//! toward contacts that are nearly valid, so that fuzzing reaches the deep rules (5 to 12) and
//! the summary instead of stopping at "invalid JSON".
//!
//! * numbers come from small pools of real valid E.164 numbers and of near misses
//!   ([`crate::worlds`]), so phones, lists, carrier verdicts, validations and memberships of
//!   the world and of the batch meet;
//! * each field is absent, `null`, right (typed and formatted), right-typed with a wrong value
//!   (a date 5 minutes and 1 second ahead, an IP with a leading zero or a zone, a URL of
//!   2049 bytes), or of a wrong type;
//! * contacts can be copies of earlier ones (duplicates), be padded to a compact size within
//!   a few bytes of the per-contact limit, and a batch can be replicated to the contact limit
//!   give or take ten.

use std::fmt::Write as _;

use arbitrary::{Arbitrary, Unstructured};
use bulk_contacts::testing::{Entry, ErrorMarker, Failure, ProviderErrorMarker, Validation, World};
use bulk_contacts::{
    Billing, Carrier, Cost, Disposition, Limits, LineType, SendingList, ValidationResult,
};
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::worlds::{INVALID_NUMBERS, VALID_NUMBERS};

/// One structured input: a world, the contacts of a batch, and how the body is laid out.
#[derive(Debug, Arbitrary)]
pub struct Input {
    world: WorldModel,
    contacts: Vec<ContactModel>,
    /// Replicate the contacts, cyclically, to `limit - 10 + grow % 21` of them (with the
    /// default limits only when `grow % 4 == 0`).
    grow: Option<u8>,
    /// Members around `contacts` at the top level.
    before: Option<Scalar>,
    after: Option<Scalar>,
    /// Whitespace between tokens.
    spaced: bool,
    /// Use [`crate::SMALL_LIMITS`] instead of the defaults.
    pub small_limits: bool,
}

#[derive(Debug, Arbitrary)]
struct WorldModel {
    billing: u8,
    now_hours: i8,
    lists: Vec<(u8, ListModel)>,
    contacts: Vec<u8>,
    memberships: Vec<(u8, u8)>,
    carrier: Vec<(u8, CarrierModel)>,
    validation: Vec<(u8, ValidationModel)>,
    directory_fails: bool,
    /// Leave out the default lists ([`LIST_NUMBERS`], with 1, 0 and 2 journeys).
    no_default_lists: bool,
}

#[derive(Debug, Arbitrary)]
enum ListModel {
    Journeys(u8),
    Error,
}

#[derive(Debug, Arbitrary)]
enum CarrierModel {
    Sendable,
    NotSendable,
    Error,
}

#[derive(Debug, Arbitrary)]
enum ValidationModel {
    ProviderError,
    Result {
        disposition: u8,
        line_type: u8,
        valid: bool,
        on_dnc: bool,
        cached: bool,
        cost_thousandths: u16,
        carrier: String,
    },
}

/// A contact: an object when `kind < 208`, a copy of the contact `copy % index + 1` places
/// before when `kind < 232` (an empty object for the first), else `other`.
#[derive(Debug, Arbitrary)]
struct ContactModel {
    kind: u8,
    object: ObjectModel,
    copy: u8,
    other: Scalar,
}

/// A field that is usually right: `pick` below a threshold chooses the usual value (a valid
/// number, an absent optional field, a boolean), else `value` is used. Random bytes then give
/// mostly near-valid contacts, and the fuzzer can still reach every variant.
#[derive(Debug, Arbitrary)]
struct Biased<T> {
    pick: u8,
    value: T,
}

#[derive(Debug, Arbitrary)]
struct ObjectModel {
    phone: Biased<NumberField>,
    list: Biased<NumberField>,
    use_journeys: Biased<BoolField>,
    skip_journey_if_exists: Biased<BoolField>,
    use_validation: Biased<BoolField>,
    replace_custom_fields: Biased<BoolField>,
    signup_date: Biased<DateField>,
    ip_address: Biased<IpField>,
    url: Biased<UrlField>,
    custom_fields: Biased<CustomFields>,
    extra: Vec<(Name, Scalar)>,
    /// Pad to a compact size of `limit - 10 + pad % 21` bytes.
    pad: Option<u8>,
    /// Repeat one member at the end with another value (the last one wins).
    repeat: Option<(u8, Scalar)>,
    /// Rotate the members by this much.
    rotate: u8,
}

#[derive(Debug, Arbitrary)]
enum NumberField {
    Absent,
    Null,
    Valid(u8),
    Invalid(u8),
    Blank(u8),
    Text(String),
    Wrong(Scalar),
}

#[derive(Debug, Arbitrary)]
enum BoolField {
    Absent,
    Null,
    Bool(bool),
    Wrong(Scalar),
}

#[derive(Debug, Arbitrary)]
enum DateField {
    Absent,
    Null,
    /// `now` shifted by `seconds` (and `millis`), written in UTC or with an offset.
    Relative {
        seconds: i32,
        millis: Option<u16>,
        offset_minutes: Option<i16>,
    },
    /// Near the 5-minute boundary: `now + 300 s + delta`.
    Boundary(i8),
    Text(String),
    Wrong(Scalar),
}

#[derive(Debug, Arbitrary)]
enum IpField {
    Absent,
    Null,
    V4([u8; 4]),
    V4LeadingZero([u8; 4]),
    V6([u16; 8]),
    V6Compressed([u16; 8], u8),
    V6Zone([u16; 8]),
    Mapped([u8; 4]),
    Text(String),
    Wrong(Scalar),
}

#[derive(Debug, Arbitrary)]
enum UrlField {
    Absent,
    Null,
    Web {
        scheme: u8,
        host: u8,
        port: Option<u16>,
        path: String,
    },
    /// An `https` URL of `2040 + n % 16` bytes.
    Long(u8),
    Text(String),
    Wrong(Scalar),
}

#[derive(Debug, Arbitrary)]
enum CustomFields {
    Absent,
    Null,
    Fields(Vec<(Name, Scalar)>),
    EmptyName(Scalar),
    Nested,
    NotObject(Scalar),
}

/// A member name: usually a plain one, sometimes any string.
#[derive(Debug, Arbitrary)]
enum Name {
    Known(u8),
    Any(String),
}

/// A JSON value of any type, written as raw text (so that `1e400` and 400-digit integers,
/// which no `f64` holds, can be sent too).
#[derive(Debug, Arbitrary)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    BoolText(bool),
    /// An integer of `n` digits (past 309 digits, outside the range of `f64`).
    Digits(u16),
    /// `1e<n>`.
    Exponent(i16),
    EmptyArray,
    EmptyObject,
}

const NAMES: [&str; 8] = [
    "first_name",
    "ad_network_source",
    "phone_number",
    "use_validation",
    "custom_fields",
    "",
    "url",
    "é\u{1F600}\n\"\\",
];

const HOSTS: [&str; 8] = [
    "example.com",
    "a.b.example.org",
    "127.0.0.1",
    "[::1]",
    "xn--bcher-kva.example",
    "",
    "bücher.example",
    "exa mple.com",
];

const SCHEMES: [&str; 6] = ["https", "http", "HTTPS", "ftp", "mailto", ""];

const BLANKS: [&str; 5] = ["", " ", "\t\n", "\u{a0}", "\u{3000} "];

impl Input {
    /// Decodes an input as the fuzz target does.
    pub fn decode(data: &[u8]) -> arbitrary::Result<Input> {
        Input::arbitrary_take_rest(Unstructured::new(data))
    }

    /// The world of this input (always with the default API key).
    pub fn world(&self) -> World {
        let model = &self.world;
        let mut world = World {
            billing: match model.billing % 8 {
                4 => Billing::NoBillingConfig,
                5 => Billing::NoPaymentMethod,
                6 => Billing::PaymentFailed,
                7 => Billing::Suspended,
                _ => Billing::Active,
            },
            ..World::default()
        };
        world.now += SignedDuration::from_hours(i64::from(model.now_hours));
        if !model.no_default_lists {
            for (number, journeys) in LIST_NUMBERS.iter().zip([1, 0, 2]) {
                let list = SendingList {
                    welcome_journeys: journeys,
                };
                world
                    .lists
                    .insert((*number).to_owned(), Entry::Answer(list));
            }
        }
        for (number, list) in &model.lists {
            let entry = match list {
                ListModel::Journeys(n) => Entry::Answer(SendingList {
                    welcome_journeys: u32::from(*n % 4),
                }),
                ListModel::Error => Entry::Error(ErrorMarker::Error),
            };
            world.lists.insert(list_number(*number).to_owned(), entry);
        }
        for number in &model.contacts {
            world.contacts.insert(valid(*number).to_owned());
        }
        for (phone, list) in &model.memberships {
            world
                .list_contacts
                .entry(valid(*phone).to_owned())
                .or_default()
                .insert(list_number(*list).to_owned());
        }
        for (number, verdict) in &model.carrier {
            let entry = match verdict {
                CarrierModel::Sendable => Entry::Answer(Carrier::Sendable),
                CarrierModel::NotSendable => Entry::Answer(Carrier::NotSendable),
                CarrierModel::Error => Entry::Error(ErrorMarker::Error),
            };
            world.carrier.insert(valid(*number).to_owned(), entry);
        }
        for (number, validation) in &model.validation {
            let phone = valid(*number);
            let entry = match validation {
                ValidationModel::ProviderError => {
                    Validation::ProviderError(ProviderErrorMarker::ProviderError)
                }
                ValidationModel::Result {
                    disposition,
                    line_type,
                    valid,
                    on_dnc,
                    cached,
                    cost_thousandths,
                    carrier,
                } => Validation::Result(ValidationResult {
                    disposition: [
                        Disposition::Ok,
                        Disposition::Unreachable,
                        Disposition::Invalid,
                        Disposition::Risky,
                        Disposition::Unknown,
                    ][usize::from(*disposition % 5)],
                    line_type: [
                        LineType::Mobile,
                        LineType::FixedLine,
                        LineType::Voip,
                        LineType::Other,
                        LineType::Unknown,
                    ][usize::from(*line_type % 5)],
                    valid: *valid,
                    on_dnc: *on_dnc,
                    cached: *cached,
                    // Trailing zeros kept (`0.500`): the cost is echoed as the provider wrote it.
                    cost: format!("{}.{:03}", cost_thousandths / 1000, cost_thousandths % 1000)
                        .parse::<Cost>()
                        .unwrap_or_default(),
                    carrier: carrier.clone(),
                    carrier_raw: carrier.to_uppercase(),
                    ..ValidationResult::ok(phone)
                }),
            };
            world.validation.insert(phone.to_owned(), entry);
        }
        if model.directory_fails {
            world.failures.push(Failure::Directory);
        }
        world
    }

    /// The request body of this input, for an engine with `limits`.
    pub fn body(&self, limits: &Limits) -> Vec<u8> {
        let now = self.world().now;
        let mut contacts: Vec<String> = Vec::with_capacity(self.contacts.len());
        for (index, contact) in self.contacts.iter().enumerate() {
            let text = match contact.kind {
                0..208 => contact.object.render(now, limits),
                208..232 if index > 0 => {
                    contacts[index - 1 - usize::from(contact.copy) % index].clone()
                }
                208..232 => "{}".to_owned(),
                _ => contact.other.render(),
            };
            contacts.push(text);
        }
        // Growing to the default limit makes an input slow: only one `grow` value in four does.
        let grows = |grow: u8| self.small_limits || grow.is_multiple_of(4);
        if let (Some(grow), false) = (self.grow.filter(|g| grows(*g)), contacts.is_empty()) {
            let target = limits.max_contacts().saturating_sub(10) + usize::from(grow % 21);
            let original = contacts.len();
            while contacts.len() < target {
                contacts.push(contacts[contacts.len() % original].clone());
            }
        }
        let (sep, colon) = if self.spaced {
            (",\n ", ": ")
        } else {
            (",", ":")
        };
        let mut body = String::from("{");
        if let Some(before) = &self.before {
            let _ = write!(body, "\"before\"{colon}{}{sep}", before.render());
        }
        let _ = write!(body, "\"contacts\"{colon}[{}]", contacts.join(sep));
        if let Some(after) = &self.after {
            let _ = write!(body, "{sep}\"after\"{colon}{}", after.render());
        }
        body.push('}');
        body.into_bytes()
    }
}

/// The numbers most list numbers are drawn from, so that lists of the batch and of the world
/// meet.
const LIST_NUMBERS: [&str; 3] = ["+18005551234", "+442079460000", "+61891521234"];

fn valid(n: u8) -> &'static str {
    VALID_NUMBERS[usize::from(n) % VALID_NUMBERS.len()]
}

/// A list number: three times in four from [`LIST_NUMBERS`], else any valid number.
fn list_number(n: u8) -> &'static str {
    if n % 4 == 3 {
        valid(n / 4)
    } else {
        LIST_NUMBERS[usize::from(n) % LIST_NUMBERS.len()]
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

impl ObjectModel {
    fn render(&self, now: Timestamp, limits: &Limits) -> String {
        let mut members: Vec<(String, String)> = Vec::new();
        let mut put = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                members.push((name.to_owned(), value));
            }
        };
        let number = |field: &Biased<NumberField>, pool: fn(u8) -> &'static str| match field.pick {
            0..192 => Some(quoted(pool(field.pick))),
            _ => field.value.render(pool),
        };
        let flag = |field: &Biased<BoolField>| match field.pick {
            0..160 => None,
            160..240 => Some(field.pick.is_multiple_of(2).to_string()),
            _ => field.value.render(),
        };
        let rare = |pick: u8| pick >= 224;
        put("phone_number", number(&self.phone, valid));
        put("list_number", number(&self.list, list_number));
        put("use_journeys", flag(&self.use_journeys));
        put("skip_journey_if_exists", flag(&self.skip_journey_if_exists));
        put("use_validation", flag(&self.use_validation));
        put("replace_custom_fields", flag(&self.replace_custom_fields));
        let date = &self.signup_date;
        put(
            "signup_date",
            rare(date.pick).then(|| date.value.render(now)).flatten(),
        );
        let ip = &self.ip_address;
        put(
            "ip_address",
            rare(ip.pick).then(|| ip.value.render()).flatten(),
        );
        let url = &self.url;
        put("url", rare(url.pick).then(|| url.value.render()).flatten());
        let custom = &self.custom_fields;
        put(
            "custom_fields",
            rare(custom.pick).then(|| custom.value.render()).flatten(),
        );
        for (name, value) in &self.extra {
            put(&name.text(), Some(value.render()));
        }
        if !members.is_empty() {
            let by = usize::from(self.rotate) % members.len();
            members.rotate_left(by);
        }
        if let (Some((which, value)), false) = (&self.repeat, members.is_empty()) {
            let name = members[usize::from(*which) % members.len()].0.clone();
            members.push((name, value.render()));
        }
        let text = object_text(&members);
        let Some(pad) = self.pad else {
            return text;
        };
        // Pad with a member of its own name to an exact compact size near the limit.
        let Some(size) = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|value| serde_json::to_vec(&value).ok())
            .map(|bytes| bytes.len())
        else {
            return text;
        };
        let target = limits.max_contact_bytes().saturating_sub(10) + usize::from(pad % 21);
        let overhead = usize::from(!members.is_empty()) + "\"zz_padding\":\"\"".len();
        if let Some(fill) = target.checked_sub(size + overhead) {
            members.push(("zz_padding".to_owned(), quoted(&"p".repeat(fill))));
        }
        object_text(&members)
    }
}

fn object_text(members: &[(String, String)]) -> String {
    let mut text = String::from("{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&quoted(name));
        text.push(':');
        text.push_str(value);
    }
    text.push('}');
    text
}

impl NumberField {
    fn render(&self, pool: fn(u8) -> &'static str) -> Option<String> {
        match self {
            NumberField::Absent => None,
            NumberField::Null => Some("null".to_owned()),
            NumberField::Valid(n) => Some(quoted(pool(*n))),
            NumberField::Invalid(n) => Some(quoted(
                INVALID_NUMBERS[usize::from(*n) % INVALID_NUMBERS.len()],
            )),
            NumberField::Blank(n) => Some(quoted(BLANKS[usize::from(*n) % BLANKS.len()])),
            NumberField::Text(s) => Some(quoted(s)),
            NumberField::Wrong(scalar) => Some(scalar.render()),
        }
    }
}

impl BoolField {
    fn render(&self) -> Option<String> {
        match self {
            BoolField::Absent => None,
            BoolField::Null => Some("null".to_owned()),
            BoolField::Bool(b) => Some(b.to_string()),
            BoolField::Wrong(scalar) => Some(scalar.render()),
        }
    }
}

impl DateField {
    fn render(&self, now: Timestamp) -> Option<String> {
        let at = |seconds: i64, millis: i64, offset_minutes: Option<i16>| {
            let shifted = now
                .checked_add(
                    SignedDuration::from_secs(seconds) + SignedDuration::from_millis(millis),
                )
                .unwrap_or(now);
            match offset_minutes.and_then(|m| Offset::from_seconds(i32::from(m % 1440) * 60).ok()) {
                Some(offset) => shifted.display_with_offset(offset).to_string(),
                None => shifted.to_string(),
            }
        };
        match self {
            DateField::Absent => None,
            DateField::Null => Some("null".to_owned()),
            DateField::Relative {
                seconds,
                millis,
                offset_minutes,
            } => Some(quoted(&at(
                i64::from(*seconds),
                millis.map_or(0, |m| i64::from(m % 1000)),
                *offset_minutes,
            ))),
            DateField::Boundary(delta) => Some(quoted(&at(300 + i64::from(*delta), 0, None))),
            DateField::Text(s) => Some(quoted(s)),
            DateField::Wrong(scalar) => Some(scalar.render()),
        }
    }
}

impl IpField {
    fn render(&self) -> Option<String> {
        let v6 = |groups: &[u16; 8]| {
            groups
                .iter()
                .map(|g| format!("{g:x}"))
                .collect::<Vec<_>>()
                .join(":")
        };
        let text = match self {
            IpField::Absent => return None,
            IpField::Null => return Some("null".to_owned()),
            IpField::V4([a, b, c, d]) => format!("{a}.{b}.{c}.{d}"),
            IpField::V4LeadingZero([a, b, c, d]) => format!("{a}.0{b}.{c}.{d}"),
            IpField::V6(groups) => v6(groups),
            IpField::V6Compressed(groups, at) => {
                let full = v6(groups);
                let parts: Vec<&str> = full.split(':').collect();
                let at = usize::from(*at) % parts.len();
                format!("{}::{}", parts[..at].join(":"), parts[at + 1..].join(":"))
            }
            IpField::V6Zone(groups) => format!("{}%eth0", v6(groups)),
            IpField::Mapped([a, b, c, d]) => format!("::ffff:{a}.{b}.{c}.{d}"),
            IpField::Text(s) => s.clone(),
            IpField::Wrong(scalar) => return Some(scalar.render()),
        };
        Some(quoted(&text))
    }
}

impl UrlField {
    fn render(&self) -> Option<String> {
        let text = match self {
            UrlField::Absent => return None,
            UrlField::Null => return Some("null".to_owned()),
            UrlField::Web {
                scheme,
                host,
                port,
                path,
            } => {
                let mut url = format!(
                    "{}://{}",
                    SCHEMES[usize::from(*scheme) % SCHEMES.len()],
                    HOSTS[usize::from(*host) % HOSTS.len()]
                );
                if let Some(port) = port {
                    let _ = write!(url, ":{port}");
                }
                url.push('/');
                url.push_str(path);
                url
            }
            UrlField::Long(n) => {
                let length = 2040 + usize::from(n % 16);
                let mut url = String::from("https://example.com/");
                url.push_str(&"a".repeat(length - url.len()));
                url
            }
            UrlField::Text(s) => s.clone(),
            UrlField::Wrong(scalar) => return Some(scalar.render()),
        };
        Some(quoted(&text))
    }
}

impl CustomFields {
    fn render(&self) -> Option<String> {
        Some(match self {
            CustomFields::Absent => return None,
            CustomFields::Null => "null".to_owned(),
            CustomFields::Fields(fields) => object_text(
                &fields
                    .iter()
                    .map(|(name, value)| (name.text(), value.render()))
                    .collect::<Vec<_>>(),
            ),
            CustomFields::EmptyName(value) => format!("{{\"\":{}}}", value.render()),
            CustomFields::Nested => "{\"a\":{\"b\":1}}".to_owned(),
            CustomFields::NotObject(scalar) => scalar.render(),
        })
    }
}

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Known(n) => NAMES[usize::from(*n) % NAMES.len()].to_owned(),
            Name::Any(s) => s.clone(),
        }
    }
}

impl Scalar {
    fn render(&self) -> String {
        match self {
            Scalar::Null => "null".to_owned(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => serde_json::to_string(f).unwrap_or_else(|_| "null".to_owned()),
            Scalar::Text(s) => quoted(s),
            Scalar::BoolText(b) => quoted(&b.to_string()),
            Scalar::Digits(n) => "9".repeat(usize::from(n % 512).max(1)),
            Scalar::Exponent(e) => format!("1e{e}"),
            Scalar::EmptyArray => "[]".to_owned(),
            Scalar::EmptyObject => "{}".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn right<T>(value: T) -> Biased<T> {
        Biased { pick: 0, value }
    }

    #[test]
    fn decoded_inputs_render_json_objects_with_their_contacts() {
        // The structured target exists to reach rules 5 to 12: its bodies parse, but for the
        // out-of-range numbers it writes on purpose. (This replaces an assertion that held for
        // any non-empty body, so could not fail.)
        let (mut decoded, mut parsed) = (0, 0);
        for seed in 0..64u32 {
            let data: Vec<u8> = (0..4096u32)
                .map(|i| {
                    ((i ^ seed.wrapping_mul(0x9e37_79b9)).wrapping_mul(2654435761) >> 13) as u8
                })
                .collect();
            let Ok(input) = Input::decode(&data) else {
                continue;
            };
            decoded += 1;
            let body = input.body(&Limits::default());
            match serde_json::from_slice::<Value>(&body) {
                Ok(value) => {
                    parsed += 1;
                    let contacts = value["contacts"].as_array().expect("a contacts array");
                    assert!(contacts.len() >= input.contacts.len(), "seed {seed}");
                }
                // The one invalidity the model makes on purpose: a number past the f64 range.
                Err(error) => assert!(
                    error.to_string().contains("number out of range"),
                    "seed {seed}: {error}: {}",
                    String::from_utf8_lossy(&body)
                ),
            }
        }
        assert!(parsed * 2 > decoded, "{parsed} of {decoded} bodies parse");
        assert!(decoded > 0, "no seed decoded");
    }

    #[test]
    fn padding_reaches_the_exact_size() {
        let object = ObjectModel {
            phone: right(NumberField::Valid(1)),
            list: right(NumberField::Valid(0)),
            use_journeys: Biased {
                pick: 160,
                value: BoolField::Absent,
            },
            skip_journey_if_exists: right(BoolField::Absent),
            use_validation: right(BoolField::Absent),
            replace_custom_fields: right(BoolField::Absent),
            signup_date: Biased {
                pick: 255,
                value: DateField::Boundary(0),
            },
            ip_address: Biased {
                pick: 255,
                value: IpField::V4([1, 2, 3, 4]),
            },
            url: right(UrlField::Absent),
            custom_fields: right(CustomFields::Absent),
            extra: vec![],
            pad: Some(10),
            repeat: None,
            rotate: 0,
        };
        let text = object.render(crate::worlds::default_now(), &Limits::default());
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(serde_json::to_vec(&value).expect("serializes").len(), 4000);
    }
}

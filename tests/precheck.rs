//! The SDK pre-check (`Precheck`, `Contact`, `ErrorEntry::for_contact`): the same codes,
//! messages and error entries as the engine's response for the same contacts, and the typed
//! contact's exact serialization.

use bulk_contacts::testing::{DEFAULT_API_KEY, World};
use bulk_contacts::{
    Contact, Engine, Limits, ListLookup, LookupError, Precheck, Request, SendingList, Timestamp,
    UnsendableContact,
};
use proptest::prelude::*;
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// Every list exists: with `World::default()`'s carrier (sendable) and directory, no contact
/// fails a rule after 8, so the engine's errors are exactly rules 1 to 8's.
struct EveryList;

impl ListLookup for EveryList {
    fn list(&self, _: &str) -> Result<Option<SendingList>, LookupError> {
        Ok(Some(SendingList::default()))
    }
}

fn now() -> Timestamp {
    "2025-06-01T00:00:00Z".parse().unwrap()
}

/// The text of the `errors` member of the engine's answer to a body holding `contacts`.
fn engine_errors(engine: &Engine, contacts: &[Value]) -> String {
    let body = serde_json::to_vec(&json!({ "contacts": contacts })).unwrap();
    let world = World::default();
    let request = Request {
        api_key: Some(DEFAULT_API_KEY.as_bytes()),
        body: &body,
        now: now(),
    };
    let response = engine.handle(&request, &world.account(), &EveryList, &world, &world);
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    #[derive(serde::Deserialize)]
    struct Summary<'a> {
        #[serde(borrow)]
        errors: &'a RawValue,
    }
    let summary: Summary<'_> = serde_json::from_slice(&response.body).unwrap();
    summary.errors.get().to_owned()
}

fn precheck_errors(engine: &Engine, contacts: &[Value]) -> String {
    let entries = Precheck::new(*engine, now()).errors(contacts).unwrap();
    serde_json::to_string(&entries).unwrap()
}

/// One contact failing each of rules 1 to 8 (every `invalid_field` field), and valid ones.
fn one_of_each() -> Vec<Value> {
    let ok = || json!({"phone_number": "+14155559876", "list_number": "+18005551234"});
    let with = |name: &str, value: Value| {
        let mut contact = ok();
        contact[name] = value;
        contact
    };
    vec![
        ok(),
        with("custom_fields", json!({"notes": "n".repeat(4000)})),
        json!(["not", "an", "object"]),
        json!("+14155559876"),
        json!({"list_number": "+18005551234"}),
        json!({"phone_number": "  \t", "list_number": "+18005551234"}),
        json!({"phone_number": "+14155559876"}),
        json!({"phone_number": "415-555-9876", "list_number": "+18005551234"}),
        json!({"phone_number": 14155559876u64, "list_number": "+18005551234"}),
        json!({"phone_number": "+200237082111", "list_number": "+18005551234"}),
        json!({"phone_number": "+14155559876", "list_number": "800 555 1234"}),
        with("use_journeys", json!("true")),
        with("skip_journey_if_exists", json!(1)),
        with("use_validation", json!("yes")),
        with("replace_custom_fields", json!([])),
        with("signup_date", json!("2025-06-01T00:05:01Z")),
        with("signup_date", json!("2025-02-30T00:00:00Z")),
        with("ip_address", json!("010.0.0.1")),
        with("url", json!("ftp://example.com")),
        with("custom_fields", json!({"": "x"})),
        with("custom_fields", json!({"nested": {"a": 1}})),
        with("custom_fields", json!("a string")),
        with("signup_date", json!("2025-06-01T00:05:00Z")),
        with("phone_number", json!(" +14155559876")),
        json!({"phone_number": "+14155559876", "list_number": "+18005551234", "use_journeys": null,
               "url": "https://example.com/a?b=c", "ip_address": "::1",
               "custom_fields": {"n": 1.5, "b": true, "s": "é"}, "ad_network_source": {"any": [1]}}),
    ]
}

#[test]
fn entries_are_the_engines_errors_for_each_rule() {
    let engine = Engine::default();
    let contacts = one_of_each();
    let expected = engine_errors(&engine, &contacts);
    assert_eq!(precheck_errors(&engine, &contacts), expected);
    // Every rule 1 to 8 code appears, and the field of invalid_field entries.
    for code in [
        "payload_too_large",
        "invalid_contact",
        "missing_phone_number",
        "missing_list_number",
        "invalid_phone",
        "invalid_list_number",
        "invalid_field",
        "invalid_custom_fields",
        "\"field\":\"url\"",
        "\"phone_number\":null",
        "\"phone_number\":\" +14155559876\"",
    ] {
        assert!(expected.contains(code), "{code} missing from {expected}");
    }
}

#[test]
fn entries_follow_configured_limits() {
    let engine = Engine::new(Limits::DEFAULT.with_max_contact_bytes(60).unwrap());
    let contacts = one_of_each();
    let expected = engine_errors(&engine, &contacts);
    assert!(expected.contains("Contact payload exceeds the 60 byte limit"));
    assert_eq!(precheck_errors(&engine, &contacts), expected);
}

#[test]
fn typed_contacts_check_like_their_json() {
    let engine = Engine::default();
    let typed = [
        Contact::new("+14155559876", "+18005551234").use_journeys(true),
        Contact::new("415-555-9876", "+18005551234"),
        Contact::default().list_number("+18005551234"),
        Contact::new("+14155559876", "+18005551234").member("use_validation", "yes"),
        Contact::new("+14155559876", "+18005551234").signup_at(now()),
        Contact::new("+14155559876", "+18005551234")
            .signup_at("2025-06-01T00:05:00.000000001Z".parse().unwrap()),
        Contact::new("+14155559876", "+18005551234").custom_field("", "x"),
        Contact::new("+14155559876", "+18005551234").member("custom_fields", json!([1])),
        Contact::new("+14155559876", "+18005551234")
            .ip_address("1.2.3.4")
            .url("http://a.b"),
    ];
    let as_json: Vec<Value> = typed
        .iter()
        .map(|contact| serde_json::to_value(contact).unwrap())
        .collect();
    let expected = engine_errors(&engine, &as_json);
    let entries = Precheck::new(engine, now()).errors(&typed).unwrap();
    assert_eq!(serde_json::to_string(&entries).unwrap(), expected);
    let indices: Vec<usize> = entries.iter().map(|e| e.index).collect();
    assert_eq!(indices, [1, 2, 3, 5, 6, 7]);
}

/// The engine's error entry for each index of a body holding `contacts` (`None`: accepted).
fn engine_entries(engine: &Engine, contacts: &[Value]) -> Vec<Option<Value>> {
    let errors: Vec<Value> = serde_json::from_str(&engine_errors(engine, contacts)).unwrap();
    let mut entries = vec![None; contacts.len()];
    for entry in errors {
        let index = entry["index"].as_u64().unwrap() as usize;
        entries[index] = Some(entry);
    }
    entries
}

#[test]
fn check_and_entry_give_the_engines_answer_for_each_contact() {
    // Checked one at a time, each contact gets what the server answers for it inside a body
    // of all of them: no error where it accepts one, else the same code, message, field and
    // echoed `phone_number`, at the index asked. Under the default limits and under a
    // per-contact limit of 60 bytes (messages name the configured limit).
    for engine in [
        Engine::default(),
        Engine::new(Limits::DEFAULT.with_max_contact_bytes(60).unwrap()),
    ] {
        let contacts = one_of_each();
        let expected = engine_entries(&engine, &contacts);
        assert!(expected.iter().filter(|e| e.is_some()).count() >= 20);
        let mut precheck = Precheck::new(engine, now());
        for (index, (contact, expected)) in contacts.iter().zip(&expected).enumerate() {
            let entry = precheck.entry(index, contact).unwrap();
            let entry = entry.map(|entry| serde_json::to_value(entry).unwrap());
            assert_eq!(&entry, expected, "contact {index}: {contact}");
            let checked = precheck.check(contact).unwrap();
            match (checked, expected) {
                (Ok(()), None) => {}
                (Err(error), Some(expected)) => {
                    assert_eq!(error.code().as_str(), expected["code"], "contact {index}");
                    assert_eq!(
                        error.message(engine.limits()),
                        expected["error"].as_str().unwrap()
                    );
                    let field = error.field().map(|field| field.as_str());
                    assert_eq!(field, expected["field"].as_str(), "contact {index}");
                }
                (checked, expected) => panic!("contact {index}: {checked:?} but {expected:?}"),
            }
        }
    }
}

/// A value nested `levels` arrays deep.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

#[test]
fn a_contact_too_deep_for_any_body_is_unsendable() {
    let engine = Engine::default();
    let deep =
        json!({"phone_number": "+14155559876", "list_number": "+18005551234", "x": nested(124)});
    let too_deep =
        json!({"phone_number": "+14155559876", "list_number": "+18005551234", "x": nested(125)});
    let mut precheck = Precheck::new(engine, now());
    assert_eq!(precheck.errors([&deep]).unwrap(), []);
    assert_eq!(
        precheck.errors([&deep, &too_deep]),
        Err(UnsendableContact { index: 1 })
    );
    // The server refuses a body holding it as a whole.
    let body = serde_json::to_vec(&json!({ "contacts": [too_deep] })).unwrap();
    assert_eq!(
        engine.read(&body, now()).err().map(|r| r.as_str()),
        Some("invalid_json")
    );
}

#[test]
fn contact_serializes_members_in_spec_order() {
    let contact = Contact::default()
        .member("zeta", 1)
        .custom_field("b", "2")
        .url("https://example.com")
        .ip_address("192.0.2.1")
        .signup_date("2025-03-15T14:30:00Z")
        .replace_custom_fields(false)
        .use_validation(true)
        .skip_journey_if_exists(false)
        .use_journeys(true)
        .list_number("+18005551234")
        .phone_number("+14155559876")
        .custom_field("a", true)
        .member("alpha", json!(null));
    assert_eq!(
        serde_json::to_string(&contact).unwrap(),
        concat!(
            r#"{"phone_number":"+14155559876","list_number":"+18005551234","use_journeys":true,"#,
            r#""skip_journey_if_exists":false,"use_validation":true,"replace_custom_fields":false,"#,
            r#""signup_date":"2025-03-15T14:30:00Z","ip_address":"192.0.2.1","url":"https://example.com","#,
            r#""custom_fields":{"b":"2","a":true},"zeta":1,"alpha":null}"#
        )
    );
}

#[test]
fn contact_setters_replace_in_place() {
    let contact = Contact::new("+1", "+2")
        .member("other", 1)
        .member("next", 2)
        .custom_field("x", 1)
        .custom_field("y", 2)
        .custom_field("x", "again")
        .member("other", 3)
        .member("phone_number", 5)
        .member("use_journeys", "yes");
    assert_eq!(
        serde_json::to_string(&contact).unwrap(),
        r#"{"phone_number":5,"list_number":"+2","use_journeys":"yes","custom_fields":{"x":"again","y":2},"other":3,"next":2}"#
    );
    // custom_fields as a whole, then a field: the field starts a new object.
    let whole = Contact::default().member("custom_fields", json!("text"));
    assert_eq!(
        serde_json::to_string(&whole).unwrap(),
        r#"{"custom_fields":"text"}"#
    );
    assert_eq!(
        serde_json::to_string(&whole.custom_field("k", 1)).unwrap(),
        r#"{"custom_fields":{"k":1}}"#
    );
    assert_eq!(serde_json::to_string(&Contact::default()).unwrap(), "{}");
}

#[test]
fn signup_at_writes_rfc_3339_in_utc() {
    let at: Timestamp = "2025-03-15T16:30:00.25+02:00".parse().unwrap();
    let contact = Contact::default().signup_at(at);
    assert_eq!(
        serde_json::to_string(&contact).unwrap(),
        r#"{"signup_date":"2025-03-15T14:30:00.25Z"}"#
    );
}

/// Pieces of contacts the property mixes: valid, invalid and absent values of each member.
fn member_value(name: &'static str) -> impl Strategy<Value = Option<Value>> {
    let pool: Vec<Option<Value>> = match name {
        "phone_number" => vec![
            Some(json!("+14155559876")),
            Some(json!("+447700900123")),
            Some(json!("415-555-9876")),
            Some(json!("")),
            Some(json!("  ")),
            Some(json!(4155559876u64)),
            Some(json!(null)),
            Some(json!("+200237082111")),
            None,
        ],
        "list_number" => vec![
            Some(json!("+18005551234")),
            Some(json!("+18005550000")),
            Some(json!("(800) 555-1234")),
            Some(json!("")),
            Some(json!(true)),
            None,
        ],
        "flag" => vec![
            Some(json!(true)),
            Some(json!(false)),
            Some(json!("true")),
            Some(json!(0)),
            Some(json!(null)),
            None,
        ],
        "signup_date" => vec![
            Some(json!("2025-03-15T14:30:00Z")),
            Some(json!("2025-06-01T00:05:00Z")),
            Some(json!("2025-06-01T00:05:00.000000001Z")),
            Some(json!("2025-03-15 14:30:00")),
            Some(json!("2024-02-29T23:59:60Z")),
            Some(json!(20250315)),
            None,
        ],
        "ip_address" => vec![
            Some(json!("203.0.113.9")),
            Some(json!("2001:db8::1")),
            Some(json!("1.2.3")),
            Some(json!("fe80::1%eth0")),
            None,
        ],
        "url" => vec![
            Some(json!("https://example.com/signup")),
            Some(json!("http://x")),
            Some(json!("https:///path")),
            Some(json!("mailto:a@b.c")),
            Some(json!("https://exa mple.com")),
            None,
        ],
        _ => vec![
            Some(json!({"first_name": "Ada", "score": 3, "vip": true})),
            Some(json!({})),
            Some(json!({"": 1})),
            Some(json!({"list": [1, 2]})),
            Some(json!([])),
            Some(json!({"notes": "x".repeat(3950)})),
            None,
        ],
    };
    proptest::sample::select(pool)
}

fn contact_strategy() -> impl Strategy<Value = Value> {
    let members = (
        member_value("phone_number"),
        member_value("list_number"),
        proptest::collection::vec(member_value("flag"), 4),
        member_value("signup_date"),
        member_value("ip_address"),
        member_value("url"),
        member_value("custom_fields"),
        proptest::option::of("[a-z]{1,8}"),
    );
    let object = members.prop_map(|(phone, list, flags, date, ip, url, custom, other)| {
        let mut contact = serde_json::Map::new();
        let names = [
            "use_journeys",
            "skip_journey_if_exists",
            "use_validation",
            "replace_custom_fields",
        ];
        let mut set = |name: &str, value: Option<Value>| {
            if let Some(value) = value {
                contact.insert(name.to_owned(), value);
            }
        };
        set("phone_number", phone);
        set("list_number", list);
        for (name, flag) in names.iter().zip(flags) {
            set(name, flag);
        }
        set("signup_date", date);
        set("ip_address", ip);
        set("url", url);
        set("custom_fields", custom);
        set("ad_network_source", other.map(Value::from));
        Value::Object(contact)
    });
    prop_oneof![
        9 => object,
        1 => proptest::sample::select(vec![json!(null), json!(42), json!("text"), json!([{}])]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any mix of contacts: the pre-check's entries are byte for byte the engine's `errors`.
    #[test]
    fn precheck_errors_equal_the_engines(contacts in proptest::collection::vec(contact_strategy(), 1..12)) {
        let engine = Engine::default();
        prop_assert_eq!(precheck_errors(&engine, &contacts), engine_errors(&engine, &contacts));
    }
}

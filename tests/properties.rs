//! The invariants of the engine, as properties over generated batches.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use bulk_contacts::testing::World;
use bulk_contacts::{
    Carrier, CarrierCheck, ContactCode, ContactOutcome, Directory, Engine, ListLookup, LookupError,
    ProviderError, Request, SendingList, ValidationResult,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const KEY: &str = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6";

/// A world with known lists, existing contacts, carrier and validation verdicts.
fn world() -> World {
    World::from_json(
        &json!({
            "lists": {"+18005551234": {"welcome_journeys": 2}, "+18005550000": {}},
            "contacts": ["+14155550100"],
            "list_contacts": [["+14155550100", "+18005551234"]],
            "carrier": {"+13105558888": "not_sendable"},
            "validation": {
                "+12125550199": "provider_error",
                "+12125550123": {"phone": "+12125550123", "valid": false, "line_type": "unknown",
                    "carrier": "", "carrier_raw": "", "ported": false, "country": "US",
                    "state": "NY", "city": "", "on_dnc": false, "disposition": "invalid",
                    "cost": 0.003, "cached": false}
            }
        })
        .to_string(),
    )
    .expect("valid world")
}

fn phone() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "+14155550100", "+14155550101", "+13105558888", "+12125550199", "+12125550123",
            "+442079460000", "+14155559876",
        ]).prop_map(Value::from),
        1 => prop::sample::select(vec!["", "  ", "+1415555", "14155550100", "+200237082111", " +14155550101"])
            .prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(json!(14155550100u64)),
    ]
}

fn list() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(vec!["+18005551234", "+18005550000", "+18005559999"]).prop_map(Value::from),
        1 => prop::sample::select(vec!["", "+1800", "x"]).prop_map(Value::from),
        1 => Just(Value::Null),
    ]
}

fn flag() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        3 => any::<bool>().prop_map(|b| Some(Value::Bool(b))),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!("true"))),
        1 => Just(Some(json!(1))),
    ]
}

fn text_field(values: Vec<&'static str>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => Just(None),
        3 => prop::sample::select(values).prop_map(|s| Some(Value::from(s))),
        1 => Just(Some(json!(42))),
    ]
}

fn custom_fields() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        2 => Just(Some(json!({"first_name": "Jane", "age": 31, "vip": true}))),
        1 => Just(Some(json!({"": "empty name"}))),
        1 => Just(Some(json!({"nested": {"a": 1}}))),
        1 => Just(Some(json!(["not", "an", "object"]))),
        1 => (0usize..4200).prop_map(|n| Some(json!({"padding": "x".repeat(n)}))),
    ]
}

fn contact() -> impl Strategy<Value = Value> {
    let members = (
        phone(),
        list(),
        (flag(), flag(), flag(), flag()),
        text_field(vec![
            "2025-03-10T08:00:00Z",
            "2025-06-01T00:05:00Z",
            "2025-06-01T00:05:01Z",
            "2025-02-30T00:00:00Z",
            "yesterday",
        ]),
        text_field(vec![
            "198.51.100.17",
            "2001:db8::1",
            "01.2.3.4",
            "not an ip",
        ]),
        text_field(vec![
            "https://example.com/signup",
            "ftp://example.com",
            "http://",
        ]),
        custom_fields(),
    );
    prop_oneof![
        12 => members.prop_map(|(phone, list, flags, signup, ip, url, custom)| {
            let mut object = serde_json::Map::new();
            object.insert("phone_number".into(), phone);
            object.insert("list_number".into(), list);
            let names = ["use_journeys", "skip_journey_if_exists", "use_validation", "replace_custom_fields"];
            let (a, b, c, d) = flags;
            for (name, value) in names.into_iter().zip([a, b, c, d]) {
                if let Some(value) = value {
                    object.insert(name.into(), value);
                }
            }
            for (name, value) in [("signup_date", signup), ("ip_address", ip), ("url", url), ("custom_fields", custom)] {
                if let Some(value) = value {
                    object.insert(name.into(), value);
                }
            }
            Value::Object(object)
        }),
        1 => prop::sample::select(vec![json!(null), json!(7), json!("contact"), json!([1])]),
    ]
}

fn batch() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(contact(), 1..24)
}

fn body(contacts: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "contacts": contacts })).expect("serializable")
}

/// The body with each contact object's members written in reverse order (`serde_json`
/// writes them sorted by name).
fn body_in_reverse_member_order(contacts: &[Value]) -> Vec<u8> {
    let written: Vec<String> = contacts
        .iter()
        .map(|contact| match contact.as_object() {
            Some(members) => {
                let members: Vec<String> = members
                    .iter()
                    .rev()
                    .map(|(name, value)| format!("{}:{value}", Value::from(name.as_str())))
                    .collect();
                format!("{{{}}}", members.join(","))
            }
            None => contact.to_string(),
        })
        .collect();
    format!("{{\"contacts\":[{}]}}", written.join(",")).into_bytes()
}

fn run(world: &World, body: &[u8]) -> (u16, Value) {
    let request = Request {
        api_key: Some(KEY.as_bytes()),
        body,
        now: world.now,
    };
    let response = Engine::default().handle(&request, &world.account(), world, world, world);
    (
        response.status,
        serde_json::from_slice(&response.body).expect("response is JSON"),
    )
}

/// Every (code, message) pair the SPEC's tables allow in an error entry.
fn spec_pairs() -> HashSet<(String, String)> {
    let mut pairs: HashSet<(String, String)> = [
        (
            "payload_too_large",
            "Contact payload exceeds the 4000 byte limit",
        ),
        ("invalid_contact", "Contact must be a JSON object"),
        ("missing_phone_number", "phone_number is required"),
        ("missing_list_number", "list_number is required"),
        ("invalid_phone", "phone_number must be a valid E.164 number"),
        (
            "invalid_list_number",
            "list_number must be a valid E.164 number",
        ),
        (
            "invalid_custom_fields",
            "custom_fields must be an object of string, number or boolean values",
        ),
        ("list_not_found", "Sending list not found"),
        ("not_sendable", "Phone number failed carrier validation"),
        ("provider_error", "Phone validation provider unavailable"),
        (
            "invalid_field",
            "signup_date must be an RFC 3339 date-time not in the future",
        ),
        (
            "invalid_field",
            "ip_address must be an IPv4 or IPv6 address",
        ),
        ("invalid_field", "url must be an absolute http or https URL"),
    ]
    .into_iter()
    .map(|(c, m)| (c.to_owned(), m.to_owned()))
    .collect();
    for field in [
        "use_journeys",
        "skip_journey_if_exists",
        "use_validation",
        "replace_custom_fields",
    ] {
        pairs.insert(("invalid_field".into(), format!("{field} must be a boolean")));
    }
    for disposition in ["invalid", "unreachable"] {
        pairs.insert((
            "validation_failed".into(),
            format!("Phone validation failed: {disposition}"),
        ));
    }
    pairs
}

fn errors(body: &Value) -> &Vec<Value> {
    body["errors"].as_array().expect("errors array")
}

/// The code each contact ends with (`"accepted"` for none), by index.
fn codes(body: &Value, n: usize) -> Vec<String> {
    let mut codes = vec!["accepted".to_owned(); n];
    for entry in errors(body) {
        let index = entry["index"].as_u64().expect("index") as usize;
        codes[index] = entry["code"].as_str().expect("code").to_owned();
    }
    codes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn counts_add_up_and_errors_are_sorted_unique_and_in_range(contacts in batch()) {
        let (status, body) = run(&world(), &body(&contacts));
        prop_assert_eq!(status, 200);
        let (success, error) = (body["success_count"].as_u64().unwrap(), body["error_count"].as_u64().unwrap());
        prop_assert_eq!(success + error, contacts.len() as u64);
        prop_assert_eq!(errors(&body).len() as u64, error);
        let indexes: Vec<u64> = errors(&body).iter().map(|e| e["index"].as_u64().unwrap()).collect();
        prop_assert!(indexes.windows(2).all(|w| w[0] < w[1]), "{:?}", indexes);
        prop_assert!(indexes.iter().all(|&i| (i as usize) < contacts.len()));
    }

    #[test]
    fn the_order_of_a_contacts_members_never_changes_the_outcome(contacts in batch()) {
        // A contact is an object: which member comes first carries no meaning (JSON objects are unordered; SPEC §4 orders the rules, not the members), so
        // the answer is the same with every contact's members in reverse order, whichever of
        // them are missing, invalid or ignored.
        let world = world();
        let (forward, backward) = (body(&contacts), body_in_reverse_member_order(&contacts));
        prop_assert_eq!(run(&world, &forward), run(&world, &backward));
    }

    #[test]
    fn every_code_and_message_pair_comes_from_the_spec_tables(contacts in batch()) {
        let allowed = spec_pairs();
        let (_, body) = run(&world(), &body(&contacts));
        for entry in errors(&body) {
            let pair = (entry["code"].as_str().unwrap().to_owned(), entry["error"].as_str().unwrap().to_owned());
            prop_assert!(allowed.contains(&pair), "{:?}", pair);
            prop_assert_eq!(entry.get("field").is_some(), pair.0 == "invalid_field");
            prop_assert_eq!(entry.get("validation").is_some(), pair.0 == "validation_failed");
        }
    }

    #[test]
    fn a_contacts_code_does_not_depend_on_the_other_contacts(contacts in batch()) {
        let world = world();
        let (_, together) = run(&world, &body(&contacts));
        let in_batch = codes(&together, contacts.len());
        for (index, contact) in contacts.iter().enumerate() {
            let (status, alone) = run(&world, &body(std::slice::from_ref(contact)));
            prop_assert_eq!(status, 200);
            prop_assert_eq!(&codes(&alone, 1)[0], &in_batch[index], "contact {}", index);
        }
    }

    #[test]
    fn duplicates_are_the_only_way_contacts_affect_each_others_counters(contacts in batch()) {
        // Every phone number made distinct — each contact gets a fresh number that the world
        // answers about exactly as about the number it replaces — and each contact counts
        // exactly as it would alone. Asserted on every generated batch.
        let (world, distinct) = with_distinct_phones(world(), &contacts);
        let phones: Vec<&str> = distinct
            .iter()
            .filter_map(|c| c.get("phone_number").and_then(Value::as_str))
            .filter(|p| bulk_contacts::e164::is_valid(p))
            .collect();
        prop_assert_eq!(phones.len(), phones.iter().collect::<HashSet<_>>().len());
        let (_, together) = run(&world, &body(&distinct));
        let mut sums = [0u64; 3];
        for contact in &distinct {
            let (_, alone) = run(&world, &body(std::slice::from_ref(contact)));
            for (sum, name) in sums.iter_mut().zip(COUNTERS) {
                *sum += alone[name].as_u64().unwrap();
            }
        }
        for (sum, name) in sums.into_iter().zip(COUNTERS) {
            prop_assert_eq!(sum, together[name].as_u64().unwrap(), "{}", name);
        }
    }

    #[test]
    fn whitespace_in_the_body_never_changes_the_outcome(contacts in batch()) {
        let world = world();
        let compact = body(&contacts);
        let pretty = serde_json::to_vec_pretty(&json!({ "contacts": contacts })).unwrap();
        prop_assert_eq!(run(&world, &compact), run(&world, &pretty));
    }

    #[test]
    fn lookups_are_asked_once_per_key_and_never_for_rejected_contacts(contacts in batch()) {
        let counting = Counting::new(world());
        let bytes = body(&contacts);
        let engine = Engine::default();
        let batch = engine.read(&bytes, counting.world.now).expect("readable batch");
        let evaluation = batch.evaluate(&counting, &counting, &counting).expect("no lookup fails");
        for (kind, calls) in counting.calls.borrow().iter() {
            prop_assert!(calls.values().all(|&n| n == 1), "{} asked twice: {:?}", kind, calls);
        }
        // Every validated number belongs to a contact with use_validation that passed rules 1-10.
        let reached: HashSet<&str> = batch.checks().iter().zip(evaluation.outcomes()).filter_map(|(check, outcome)| {
            let valid = check.as_ref().ok()?;
            let passed_10 = match outcome {
                ContactOutcome::Accepted(_) => true,
                ContactOutcome::Failed(failed) => matches!(failed.error.code(), ContactCode::ProviderError | ContactCode::ValidationFailed),
            };
            (passed_10 && valid.flags.use_validation).then_some(valid.phone.as_ref())
        }).collect();
        let calls = counting.calls.borrow();
        let validated: HashSet<&str> = calls.get("validate").map(|c| c.keys().map(String::as_str).collect()).unwrap_or_default();
        prop_assert_eq!(validated, reached);
    }
}

const COUNTERS: [&str; 3] = [
    "contacts_created",
    "list_contacts_created",
    "journeys_enrolled",
];

/// The batch with each valid phone number replaced by a fresh one (`+1650555XXXX`), and the
/// world extended so that it answers about each fresh number as about the one it replaces:
/// the same carrier verdict, validation result, existing contact and memberships.
fn with_distinct_phones(mut world: World, contacts: &[Value]) -> (World, Vec<Value>) {
    let mut distinct = contacts.to_vec();
    for (i, contact) in distinct.iter_mut().enumerate() {
        let Some(phone) = contact.get_mut("phone_number") else {
            continue;
        };
        let Some(original) = phone.as_str().map(str::to_owned) else {
            continue;
        };
        if !bulk_contacts::e164::is_valid(&original) {
            continue;
        }
        let fresh = format!("+1650555{:04}", 1000 + i);
        assert!(bulk_contacts::e164::is_valid(&fresh), "{fresh}");
        if let Some(verdict) = world.carrier.get(&original).cloned() {
            world.carrier.insert(fresh.clone(), verdict);
        }
        if let Some(validation) = world.validation.get(&original).cloned() {
            world.validation.insert(fresh.clone(), validation);
        }
        if world.contacts.contains(&original) {
            world.contacts.insert(fresh.clone());
        }
        if let Some(lists) = world.list_contacts.get(&original).cloned() {
            world.list_contacts.insert(fresh.clone(), lists);
        }
        *phone = Value::from(fresh);
    }
    (world, distinct)
}

/// A world that counts every call by kind and key.
struct Counting {
    world: World,
    calls: RefCell<HashMap<&'static str, HashMap<String, usize>>>,
}

impl Counting {
    fn new(world: World) -> Self {
        Counting {
            world,
            calls: RefCell::default(),
        }
    }
    fn count(&self, kind: &'static str, key: String) {
        *self
            .calls
            .borrow_mut()
            .entry(kind)
            .or_default()
            .entry(key)
            .or_default() += 1;
    }
}

impl ListLookup for Counting {
    fn list(&self, list_number: &str) -> Result<Option<SendingList>, LookupError> {
        self.count("list", list_number.to_owned());
        self.world.list(list_number)
    }
}

impl CarrierCheck for Counting {
    fn carrier(&self, phone: &str) -> Result<Carrier, LookupError> {
        self.count("carrier", phone.to_owned());
        self.world.carrier(phone)
    }
    fn validate(&self, phone: &str) -> Result<ValidationResult, ProviderError> {
        self.count("validate", phone.to_owned());
        self.world.validate(phone)
    }
}

impl Directory for Counting {
    fn contact_exists(&self, phone: &str) -> Result<bool, LookupError> {
        self.count("contact_exists", phone.to_owned());
        self.world.contact_exists(phone)
    }
    fn is_member(&self, phone: &str, list_number: &str) -> Result<bool, LookupError> {
        self.count("is_member", format!("{phone} {list_number}"));
        self.world.is_member(phone, list_number)
    }
}

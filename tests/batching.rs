//! Batching for clients: the splitter and the merger, as properties over generated contacts
//! and limits, and their edge cases.

use bulk_contacts::testing::World;
use bulk_contacts::{
    ContactCode, Counts, Engine, ErrorEntry, Limits, MergeError, Merger, Pushed, Rejection, Report,
    Request, Response, Split, Splitter, split,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A world where every rule 1–12 can fire: lists, a non-sendable number, a provider error and
/// a failed validation, an existing contact and membership.
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

fn send(engine: &Engine, world: &World, body: &[u8]) -> Response {
    let key = world.api_keys[0].as_bytes();
    let request = Request {
        api_key: Some(key),
        body,
        now: world.now,
    };
    engine.handle(&request, &world.account(), world, world, world)
}

fn contact() -> impl Strategy<Value = Value> {
    let phone = prop_oneof![
        4 => prop::sample::select(vec![
            "+14155550100", "+14155550101", "+13105558888", "+12125550199", "+12125550123",
            "+442079460000", "+14155559876", "+1415555", "", "14155550100",
        ]).prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(json!(14155550100u64)),
    ];
    let list = prop::sample::select(vec![
        json!("+18005551234"),
        json!("+18005550000"),
        json!("+18005559999"),
        json!(""),
        json!("x"),
        Value::Null,
    ]);
    let flag = prop::sample::select(vec![
        None,
        Some(json!(true)),
        Some(json!(false)),
        Some(json!("true")),
    ]);
    let extra = prop_oneof![
        3 => Just(None),
        1 => Just(Some(("signup_date", json!("yesterday")))),
        1 => Just(Some(("ip_address", json!("198.51.100.17")))),
        1 => Just(Some(("custom_fields", json!({"vip": true, "name": "Zoë"})))),
        1 => Just(Some(("custom_fields", json!([1])))),
        2 => (0usize..300).prop_map(|n| Some(("ad_network_source", json!("é".repeat(n))))),
    ];
    prop_oneof![
        10 => (phone, list, flag.clone(), flag, extra).prop_map(|(phone, list, journeys, validation, extra)| {
            let mut object = serde_json::Map::new();
            object.insert("phone_number".into(), phone);
            object.insert("list_number".into(), list);
            if let Some(value) = journeys {
                object.insert("use_journeys".into(), value);
            }
            if let Some(value) = validation {
                object.insert("use_validation".into(), value);
            }
            if let Some((name, value)) = extra {
                object.insert(name.into(), value);
            }
            Value::Object(object)
        }),
        1 => prop::sample::select(vec![json!(null), json!(7), json!("contact"), json!([1])]),
    ]
}

/// Small limits, so that every boundary is crossed often; sometimes pathological (one contact
/// per body, contacts or bodies too small for any real contact), down to the smallest that
/// `Limits` allows.
fn limits() -> impl Strategy<Value = Limits> {
    let usual = (1usize..6, 300usize..900, 200usize..3000);
    let any = (
        Limits::MIN_CONTACTS..6,
        Limits::MIN_CONTACT_BYTES..700,
        Limits::MIN_BODY_BYTES..1600,
    );
    prop_oneof![2 => usual, 1 => any].prop_map(
        |(max_contacts, max_contact_bytes, max_body_bytes)| {
            Limits::new(max_contacts, max_contact_bytes, max_body_bytes)
                .expect("each at least its minimum")
        },
    )
}

fn compact_len(contact: &Value) -> usize {
    serde_json::to_vec(contact).expect("serializable").len()
}

/// What happened to one contact: `ok`, or the (code, message) of its entry or of the
/// rejection of its body.
fn outcome_alone(engine: &Engine, world: &World, contact: &Value) -> (String, String) {
    let body = serde_json::to_vec(&json!({ "contacts": [contact] })).expect("serializable");
    let response = send(engine, world, &body);
    let answer: Value = serde_json::from_slice(&response.body).expect("JSON answer");
    if response.status != 200 {
        return (
            answer["code"].as_str().expect("code").to_owned(),
            answer["error"].as_str().expect("error").to_owned(),
        );
    }
    match answer["errors"].as_array().expect("errors").first() {
        None => ("ok".to_owned(), String::new()),
        Some(entry) => (
            entry["code"].as_str().expect("code").to_owned(),
            entry["error"].as_str().expect("error").to_owned(),
        ),
    }
}

fn outcomes_merged(report: &Report, n: usize) -> Vec<Option<(String, String)>> {
    let mut outcomes = vec![None; n];
    let mut place = |index: usize, outcome: (String, String)| {
        assert!(
            outcomes[index].is_none(),
            "caller index {index} reported twice"
        );
        outcomes[index] = Some(outcome);
    };
    for entry in &report.errors {
        place(entry.index, (entry.code.clone(), entry.error.clone()));
    }
    for rejected in &report.rejected {
        for &index in &rejected.indices {
            let code = rejected.code.clone().expect("a rejection code");
            place(index, (code, rejected.error.clone().expect("a message")));
        }
    }
    outcomes
}

fn add_counts(total: &mut Counts, summary: &Value) {
    let get = |name: &str| summary[name].as_u64().expect("counter");
    total.success_count += get("success_count") as usize;
    total.error_count += get("error_count") as usize;
    total.contacts_created += get("contacts_created") as usize;
    total.list_contacts_created += get("list_contacts_created") as usize;
    total.journeys_enrolled += get("journeys_enrolled");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_contact_lands_in_exactly_one_body_or_one_local_error(
        contacts in prop::collection::vec(contact(), 0..40),
        limits in limits(),
    ) {
        let Split { bodies, local } = split(&contacts, limits);
        let mut seen = vec![0u32; contacts.len()];
        for body in &bodies {
            prop_assert!(!body.indices.is_empty(), "an empty body");
            prop_assert!(body.indices.windows(2).all(|w| w[0] < w[1]), "indices not ascending");
            // The body holds exactly the caller's contacts at its indices, in order.
            let parsed: Value = serde_json::from_slice(&body.bytes).expect("body is JSON");
            let sent = parsed["contacts"].as_array().expect("contacts array");
            prop_assert_eq!(sent.len(), body.indices.len());
            for (sent, &index) in sent.iter().zip(&body.indices) {
                prop_assert_eq!(sent, &contacts[index]);
                seen[index] += 1;
            }
        }
        for entry in &local {
            seen[entry.index] += 1;
        }
        prop_assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
        // Bodies follow the caller's order.
        let order: Vec<usize> = bodies.iter().flat_map(|b| b.indices.iter().copied()).collect();
        prop_assert!(order.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn bodies_never_exceed_any_limit(
        contacts in prop::collection::vec(contact(), 0..40),
        limits in limits(),
    ) {
        let Split { bodies, local } = split(&contacts, limits);
        for body in &bodies {
            prop_assert!(body.indices.len() <= limits.max_contacts());
            prop_assert!(body.bytes.len() <= limits.max_body_bytes());
            for &index in &body.indices {
                prop_assert!(compact_len(&contacts[index]) <= limits.max_contact_bytes());
            }
        }
        // A local error is only for a contact that could not be sent.
        for entry in &local {
            let size = compact_len(&contacts[entry.index]);
            let alone = size + br#"{"contacts":[]}"#.len();
            prop_assert!(
                size > limits.max_contact_bytes() || alone > limits.max_body_bytes(),
                "contact {} of {size} bytes kept back", entry.index
            );
        }
    }

    #[test]
    fn bodies_are_full_before_a_new_one_starts(
        contacts in prop::collection::vec(contact(), 0..40),
        limits in limits(),
    ) {
        let Split { bodies, .. } = split(&contacts, limits);
        for pair in bodies.windows(2) {
            let next = compact_len(&contacts[pair[1].indices[0]]);
            prop_assert!(
                pair[0].indices.len() == limits.max_contacts()
                    || pair[0].bytes.len() + 1 + next > limits.max_body_bytes(),
                "a body was closed with room for the next contact"
            );
        }
    }

    #[test]
    fn merging_the_engines_answers_gives_each_caller_index_its_own_outcome(
        contacts in prop::collection::vec(contact(), 0..30),
        limits in limits(),
    ) {
        let world = world();
        let engine = Engine::new(limits);
        let Split { bodies, local } = split(&contacts, limits);
        let mut merger = Merger::new();
        for entry in local {
            merger.local(entry);
        }
        let mut summed = Counts::default();
        let mut rejected_contacts = 0;
        for body in &bodies {
            let response = send(&engine, &world, &body.bytes);
            if response.status == 200 {
                add_counts(&mut summed, &serde_json::from_slice(&response.body).expect("JSON"));
            } else {
                rejected_contacts += body.indices.len();
            }
            prop_assert_eq!(merger.add(&body.indices, response.status, &response.body), Ok(()));
        }
        let local_count = contacts.len() - bodies.iter().map(|b| b.indices.len()).sum::<usize>();
        let report = merger.finish();

        // Every caller index has exactly one outcome, the one it has alone.
        let merged = outcomes_merged(&report, contacts.len());
        for (index, contact) in contacts.iter().enumerate() {
            // Rule 1 comes first, even where the limits are so small that the engine would
            // reject a body holding this contact alone before reading it.
            let alone = if compact_len(contact) > limits.max_contact_bytes() {
                let code = ContactCode::PayloadTooLarge;
                (code.as_str().to_owned(), code.fixed_message(&limits).unwrap().into_owned())
            } else {
                outcome_alone(&engine, &world, contact)
            };
            let expected = if alone.0 == "ok" { None } else { Some(alone) };
            prop_assert_eq!(&merged[index], &expected, "contact {}: {}", index, contact);
        }
        // Error indices are the caller's, sorted, each once.
        prop_assert!(report.errors.windows(2).all(|w| w[0].index < w[1].index));
        // The counters are the sums of the answers' counters, local errors counted as errors.
        summed.error_count += local_count;
        prop_assert_eq!(report.counts, summed);
        prop_assert_eq!(
            report.counts.success_count + report.counts.error_count + rejected_contacts,
            contacts.len()
        );
    }
}

fn contacts(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"phone_number": format!("+1415555{i:04}"), "list_number": "+18005551234"}))
        .collect()
}

#[test]
fn no_contacts_make_no_body_and_an_empty_report() {
    let Split { bodies, local } = split(std::iter::empty(), Limits::default());
    assert!(bodies.is_empty() && local.is_empty());
    assert_eq!(Splitter::new(Limits::default()).finish(), None);
    let report = Merger::new().finish();
    assert_eq!(
        serde_json::to_string(&report).unwrap(),
        r#"{"success_count":0,"error_count":0,"errors":[],"contacts_created":0,"list_contacts_created":0,"journeys_enrolled":0,"rejected":[]}"#
    );
}

#[test]
fn a_one_contact_limit_sends_each_contact_alone_as_soon_as_it_is_pushed() {
    let limits = Limits::DEFAULT.with_max_contacts(1).unwrap();
    let mut splitter = Splitter::new(limits);
    for (index, contact) in contacts(3).iter().enumerate() {
        match splitter.push(contact) {
            Pushed::Body(body) => assert_eq!(body.indices, [index]),
            other => panic!("contact {index}: {other:?}"),
        }
    }
    assert_eq!(splitter.pushed(), 3);
    assert_eq!(splitter.finish(), None);
}

#[test]
fn the_default_count_limit_splits_2500_contacts_into_1000_1000_500() {
    let Split { bodies, local } = split(&contacts(2500), Limits::default());
    assert!(local.is_empty());
    let sizes: Vec<usize> = bodies.iter().map(|b| b.indices.len()).collect();
    assert_eq!(sizes, [1000, 1000, 500]);
    assert_eq!(bodies[2].indices[0], 2000);
}

#[test]
fn a_contact_exactly_at_the_per_contact_limit_is_sent_one_byte_more_is_not() {
    let at = json!({"phone_number": "+14155550100", "pad": "x".repeat(100)});
    let size = serde_json::to_vec(&at).unwrap().len();
    let limits = Limits::DEFAULT.with_max_contact_bytes(size).unwrap();
    let over = json!({"phone_number": "+14155550100", "pad": "x".repeat(101)});
    let Split { bodies, local } = split([&at, &over], limits);
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0].indices, [0]);
    assert_eq!(local.len(), 1);
    let entry = &local[0];
    assert_eq!(entry.index, 1);
    assert_eq!(entry.phone_number.as_deref(), Some("+14155550100"));
    assert_eq!(entry.code, ContactCode::PayloadTooLarge.as_str());
    assert_eq!(
        entry.error,
        format!("Contact payload exceeds the {size} byte limit")
    );
}

#[test]
fn a_too_large_contact_gets_the_engines_own_entry() {
    // Rule 1 as the engine writes it, for the same contact sent alone.
    let big = json!({"phone_number": "+14155550100", "list_number": "+18005551234",
                     "custom_fields": {"notes": "n".repeat(4000)}});
    let Split { bodies, local } = split([&big], Limits::default());
    assert!(bodies.is_empty());
    let world = world();
    let engine = Engine::default();
    let body = serde_json::to_vec(&json!({ "contacts": [big] })).unwrap();
    let answer: Value = serde_json::from_slice(&send(&engine, &world, &body).body).unwrap();
    let mut merger = Merger::new();
    merger.local(local[0].clone());
    let report = serde_json::to_value(merger.finish()).unwrap();
    assert_eq!(report["errors"], answer["errors"]);
}

#[test]
fn a_body_exactly_at_the_body_limit_is_one_body_one_byte_less_makes_two() {
    let two = contacts(2);
    let whole = serde_json::to_vec(&json!({ "contacts": two }))
        .unwrap()
        .len();
    let at = Limits::DEFAULT.with_max_body_bytes(whole).unwrap();
    let Split { bodies, .. } = split(&two, at);
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0].bytes.len(), whole);
    let under = Limits::DEFAULT.with_max_body_bytes(whole - 1).unwrap();
    let Split { bodies, local } = split(&two, under);
    assert!(local.is_empty());
    assert_eq!(bodies.len(), 2);
}

#[test]
fn a_contact_no_body_can_carry_gets_the_rejection_its_body_would_get() {
    let contact = &contacts(1)[0];
    let size = serde_json::to_vec(contact).unwrap().len();
    // One byte short of `{"contacts":[` + contact + `]}`.
    let small_body = Limits::DEFAULT.with_max_body_bytes(size + 14).unwrap();
    let Split { local, .. } = split([contact], small_body);
    assert_eq!(local[0].code, Rejection::PayloadTooLarge.as_str());
    assert_eq!(
        local[0].error,
        Rejection::PayloadTooLarge.message(&small_body)
    );

    // No limit lets no contact through: a body of one contact is always allowed.
    assert!(Limits::DEFAULT.with_max_contacts(0).is_err());
}

#[test]
fn a_rejected_body_keeps_every_caller_index_it_covered() {
    let world = World {
        billing: bulk_contacts::Billing::Suspended,
        ..world()
    };
    let mut batch = contacts(3);
    batch[1]["use_validation"] = json!(true);
    let limits = Limits::DEFAULT.with_max_contacts(2).unwrap();
    let engine = Engine::new(limits);
    let Split { bodies, .. } = split(&batch, limits);
    let mut merger = Merger::new();
    for body in &bodies {
        let response = send(&engine, &world, &body.bytes);
        merger
            .add(&body.indices, response.status, &response.body)
            .unwrap();
    }
    let report = serde_json::to_string(&merger.finish()).unwrap();
    assert_eq!(
        report,
        r#"{"success_count":1,"error_count":0,"errors":[],"contacts_created":1,"list_contacts_created":1,"journeys_enrolled":0,"rejected":[{"indices":[0,1],"status":402,"code":"suspended","error":"Billing is suspended for this account"}]}"#
    );
}

#[test]
fn error_entries_keep_their_members_and_take_the_callers_index() {
    let summary = br#"{"success_count":0,"error_count":2,"errors":[
        {"index":0,"phone_number":null,"code":"invalid_field","error":"url must be an absolute http or https URL","field":"url"},
        {"index":1,"phone_number":"+12125550123","code":"validation_failed","error":"Phone validation failed: invalid","validation":{"cost":0.0030,"disposition":"invalid"}}
    ],"contacts_created":0,"list_contacts_created":0,"journeys_enrolled":0}"#;
    let mut merger = Merger::new();
    merger.add(&[7, 9], 200, summary).unwrap();
    let report = merger.finish();
    assert_eq!(
        serde_json::to_string(&report.errors).unwrap(),
        r#"[{"index":7,"phone_number":null,"code":"invalid_field","error":"url must be an absolute http or https URL","field":"url"},{"index":9,"phone_number":"+12125550123","code":"validation_failed","error":"Phone validation failed: invalid","validation":{"cost":0.0030,"disposition":"invalid"}}]"#
    );
}

#[test]
fn an_answer_that_is_not_a_summary_of_the_body_is_reported_not_merged() {
    let mut merger = Merger::new();
    let not_json = merger.add(&[0, 1], 200, b"<html>");
    assert!(matches!(not_json, Err(MergeError::NotASummary(_))));
    let out_of_range = br#"{"success_count":1,"error_count":1,"errors":[{"index":5,"phone_number":null,"code":"invalid_contact","error":"Contact must be a JSON object"}],"contacts_created":0,"list_contacts_created":0,"journeys_enrolled":0}"#;
    let mismatch = merger.add(&[2, 3], 200, out_of_range);
    assert!(matches!(
        mismatch,
        Err(MergeError::Mismatch { contacts: 2, .. })
    ));
    let wrong_count = br#"{"success_count":5,"error_count":0,"errors":[],"contacts_created":0,"list_contacts_created":0,"journeys_enrolled":0}"#;
    assert!(merger.add(&[4], 200, wrong_count).is_err());
    let report = merger.finish();
    assert_eq!(report.counts, Counts::default());
    let covered: Vec<usize> = report
        .rejected
        .iter()
        .flat_map(|r| r.indices.clone())
        .collect();
    assert_eq!(covered, [0, 1, 2, 3, 4]);
    assert!(
        report
            .rejected
            .iter()
            .all(|r| r.status == 200 && r.code.is_none())
    );
}

#[test]
fn a_non_json_rejection_is_still_reported_with_its_status() {
    let mut merger = Merger::new();
    merger.add(&[0], 502, b"Bad Gateway").unwrap();
    let report = merger.finish();
    assert_eq!(report.rejected[0].status, 502);
    assert_eq!(report.rejected[0].code, None);
}

#[test]
fn local_and_server_errors_are_sorted_by_caller_index() {
    let mut merger = Merger::new();
    let entry = |index: usize| ErrorEntry {
        index,
        phone_number: None,
        code: "invalid_contact".into(),
        error: "Contact must be a JSON object".into(),
        field: None,
        validation: None,
    };
    merger.local(entry(4));
    let summary = br#"{"success_count":1,"error_count":1,"errors":[{"index":1,"phone_number":null,"code":"invalid_contact","error":"Contact must be a JSON object"}],"contacts_created":1,"list_contacts_created":1,"journeys_enrolled":0}"#;
    merger.add(&[0, 2], 200, summary).unwrap();
    merger.local(entry(1));
    let report = merger.finish();
    let indices: Vec<usize> = report.errors.iter().map(|e| e.index).collect();
    assert_eq!(indices, [1, 2, 4]);
    assert_eq!(report.counts.error_count, 3);
    assert_eq!(report.counts.success_count, 1);
}

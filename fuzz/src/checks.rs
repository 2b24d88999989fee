//! Every assertion of the fuzz targets, in one place: the targets and the CI replay both call
//! these functions, so a property checked while fuzzing is checked on every CI run too.
//!
//! Beyond "no panic", for each request:
//!
//! * the body of every response re-parses as JSON and has the SPEC's shape: `{error, code}`
//!   with the status of the code, or the six members of the summary in the SPEC's order;
//! * for status 200: `success_count + error_count` = number of contacts, `errors` sorted by
//!   `index`, unique, each index in range, each entry with the members its code calls for;
//! * `Engine::handle` agrees with the step-by-step API (`read`, `check_billing`, `evaluate`,
//!   `Response`), and answering or evaluating twice gives byte-identical results;
//! * the pre-check's errors (rules 1–8) are exactly the full evaluation's errors whose code is
//!   a rule 1–8 code;
//! * the counters (and each accepted contact's `is_new_*`, `journeys`, `duplicate_of`) are
//!   recomputed from the world's directory and lists and the body as `serde_json` reads it,
//!   given only which contacts were accepted — never from the engine's own bookkeeping;
//! * each distinct lookup key is asked at most once per evaluation, every key asked is among
//!   `Batch::keys`, and the paid validation is asked about exactly
//!   `Screened::validation_keys`;
//! * the sans-I/O path (prefetch `keys()` into the map-backed impls, then evaluate) gives the
//!   same body as evaluating against the world directly;
//! * `Engine::read` agrees with a reference reading through `serde_json::Value` (which
//!   rejection, how many contacts, each contact's value and compact size);
//! * a valid E.164 verdict implies the syntax of SPEC §6 rule 1;
//! * `CustomFieldsUpdate::applied_to` reads the held and the sent fields exactly when
//!   `serde_json` reads each as an object, its result means to `serde_json` what the merge
//!   (or the replacement) of the two means, "unchanged" is never wrong, and applying the same
//!   update to its result changes nothing.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use bulk_contacts::e164;
use bulk_contacts::testing::{Entry, World};
use bulk_contacts::{
    Batch, Carrier, CarrierCheck, CarrierValidationMap, ContactCode, ContactError,
    CustomFieldsUpdate, Directory, DirectoryMap, Engine, Evaluation, ListLookup, LookupError,
    NotAnObject, ProviderError, Rejection, Request, Response, SendingList, Timestamp,
    ValidationResult,
};
use serde_json::Value;

/// The rule number (1 to 12) of a per-contact code: its position in the SPEC's table.
pub fn rule(code: ContactCode) -> usize {
    ContactCode::ALL
        .iter()
        .position(|c| *c == code)
        .expect("every code is in ContactCode::ALL")
        + 1
}

/// The key `full` authenticates with: the account's last key, so that a match after
/// non-matching keys is exercised whenever the account has several.
fn account_key(world: &World) -> Option<&[u8]> {
    world.api_keys.last().map(String::as_bytes)
}

/// One request body in one world, through every path, with every assertion.
pub fn full(engine: &Engine, world: &World, body: &[u8]) {
    let account = world.account();
    let request = Request {
        api_key: account_key(world),
        body,
        now: world.now,
    };
    let response = engine.handle(&request, &account, world, world, world);
    response_shape(&response);
    assert_eq!(
        engine.handle(&request, &account, world, world, world),
        response,
        "answering the same request twice gave different responses"
    );
    let rejected = |rejection: Rejection| Response::rejected(rejection, engine.limits());

    if world.api_keys.is_empty() {
        assert_eq!(response.status, 401);
        return;
    }
    let batch = match engine.read(body, world.now) {
        Ok(batch) => batch,
        Err(rejection) => {
            assert_eq!(response, rejected(rejection), "handle differs from read");
            return;
        }
    };
    batch_invariants(engine, &batch);
    if let Err(rejection) = batch.check_billing(world.billing) {
        assert!(batch.wants_validation(), "402 without use_validation: true");
        assert_eq!(rejection.status(), 402);
        assert_eq!(
            response,
            rejected(rejection),
            "handle differs from check_billing"
        );
        return;
    }

    let recorder = Recorder::new(world);
    let first = batch.evaluate(&recorder, &recorder, &recorder);
    let second = batch.evaluate(world, world, world);
    match (&first, &second) {
        (Err(a), Err(b)) => {
            assert_eq!(
                a.to_string(),
                b.to_string(),
                "two evaluations failed differently"
            );
            assert_eq!(response, rejected(Rejection::InternalError));
            recorder.assert_each_key_once();
        }
        (Ok(a), Ok(b)) => {
            assert!(a.outcomes().eq(b.outcomes()), "two evaluations differ");
            let summary = Response::summary(a);
            assert_eq!(summary, Response::summary(b), "two summaries differ");
            assert_eq!(summary, response, "handle differs from evaluate");
            evaluation_invariants(&batch, a, &response);
            counters_from_the_directory(world, body, a);
            recorder.assert_each_key_once();
            recorder.assert_within_keys(&batch, world);
            prefetched_agrees(&batch, world, &response);
        }
        _ => panic!("one evaluation failed and the other did not: {first:?} / {second:?}"),
    }
}

/// A request without a key and with a wrong key: 401 with the SPEC's messages, whatever the
/// body.
pub fn unauthenticated(engine: &Engine, world: &World, body: &[u8]) {
    let account = world.account();
    let ask = |api_key: Option<&[u8]>| {
        let request = Request {
            api_key,
            body,
            now: world.now,
        };
        engine.handle(&request, &account, world, world, world)
    };
    let limits = engine.limits();
    for (key, rejection) in [
        (None, Rejection::MissingApiKey),
        (Some(&b""[..]), Rejection::MissingApiKey),
        (
            Some(&b"trk_0000000000000000000000000000000X"[..]),
            Rejection::InvalidApiKey,
        ),
        (Some(body), Rejection::InvalidApiKey),
    ] {
        if key.is_some_and(|k| world.api_keys.iter().any(|a| a.as_bytes() == k)) {
            continue;
        }
        let rejection = if key == Some(b"") || key.is_none() {
            Rejection::MissingApiKey
        } else {
            rejection
        };
        let response = ask(key);
        response_shape(&response);
        assert_eq!(response, Response::rejected(rejection, limits));
    }
}

/// The body re-parses as JSON and has the shape of its status.
pub fn response_shape(response: &Response) {
    let body: Value = serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!(
            "response body is not JSON ({e}): {}",
            String::from_utf8_lossy(&response.body)
        )
    });
    let object = body.as_object().expect("response body is an object");
    if response.status != 200 {
        assert_eq!(object.len(), 2, "rejection body has two members");
        let code = object["code"].as_str().expect("code is a string");
        let message = object["error"].as_str().expect("error is a string");
        assert!(
            Rejection::ALL.iter().any(|r| r.as_str() == code
                && r.status() == response.status
                && !message.is_empty()),
            "unknown code {code} for status {}",
            response.status
        );
        return;
    }
    let names: Vec<&str> = [
        "success_count",
        "error_count",
        "errors",
        "contacts_created",
        "list_contacts_created",
        "journeys_enrolled",
    ]
    .into();
    assert_eq!(object.len(), names.len(), "summary has six members");
    let text = std::str::from_utf8(&response.body).expect("summary is UTF-8");
    assert!(
        text.starts_with("{\"success_count\":"),
        "summary order: {text}"
    );
    let mut last = 0;
    for name in names {
        let at = text
            .find(&format!("\"{name}\":"))
            .unwrap_or_else(|| panic!("summary lacks {name}"));
        assert!(at >= last, "summary members out of order: {text}");
        last = at;
    }
    for name in ["success_count", "error_count", "contacts_created"] {
        assert!(object[name].is_u64(), "{name} is a count");
    }
}

/// What holds of a batch that passed checks 2 to 5, whatever the world.
pub fn batch_invariants(engine: &Engine, batch: &Batch<'_>) {
    let limits = engine.limits();
    assert!(!batch.is_empty() && batch.len() <= limits.max_contacts());
    assert_eq!(batch.contacts().len(), batch.len());
    assert_eq!(batch.checks().len(), batch.len());
    let mut wants_validation = false;
    for (text, check) in batch.contacts().iter().zip(batch.checks()) {
        let contact: Value = serde_json::from_str(text).expect("a contact's text is JSON");
        let size = serde_json::to_vec(&contact)
            .expect("a contact serializes")
            .len();
        let object = contact.as_object();
        wants_validation |=
            object.and_then(|o| o.get("use_validation")) == Some(&Value::Bool(true));
        let field = |name: &str| {
            object
                .and_then(|o| o.get(name))
                .filter(|value| !value.is_null())
        };
        match check {
            Ok(valid) => {
                assert!(size <= limits.max_contact_bytes());
                assert!(object.is_some(), "a valid contact is an object");
                for (name, number) in [("phone_number", &valid.phone), ("list_number", &valid.list)]
                {
                    assert_eq!(field(name).and_then(Value::as_str), Some(number.as_ref()));
                    assert!(e164::is_valid(number), "{number:?} passed rules 5/6");
                    assert!(e164::has_e164_syntax(number), "{number:?} passed rules 5/6");
                }
                let flag = |name: &str, default: bool| match field(name) {
                    None => default,
                    Some(Value::Bool(b)) => *b,
                    Some(other) => panic!("{name} = {other:?} passed rule 7"),
                };
                assert_eq!(valid.flags.use_journeys, flag("use_journeys", false));
                assert_eq!(
                    valid.flags.skip_journey_if_exists,
                    flag("skip_journey_if_exists", true)
                );
                assert_eq!(valid.flags.use_validation, flag("use_validation", false));
                assert_eq!(
                    valid.flags.replace_custom_fields,
                    flag("replace_custom_fields", false)
                );
            }
            Err(error) => {
                let code = error.code();
                assert!(rule(code) <= 8, "pre-check gave {code:?}");
                assert!(error.validation().is_none());
                let too_large = size > limits.max_contact_bytes();
                assert_eq!(too_large, code == ContactCode::PayloadTooLarge, "rule 1");
                if !too_large && object.is_none() {
                    assert_eq!(code, ContactCode::InvalidContact, "rule 2");
                }
                if !too_large && object.is_some() && field("phone_number").is_none() {
                    assert_eq!(code, ContactCode::MissingPhoneNumber, "rule 3");
                }
            }
        }
    }
    assert_eq!(batch.wants_validation(), wants_validation);

    let keys = batch.keys();
    assert_distinct(&keys.lists, "keys().lists");
    assert_distinct(&keys.phones, "keys().phones");
    assert_distinct(&keys.memberships, "keys().memberships");
    for number in keys.lists.iter().chain(&keys.phones) {
        assert!(e164::is_valid(number), "key {number:?}");
    }
    let precheck: Vec<usize> = batch.precheck_errors().map(|(index, _)| index).collect();
    assert!(
        precheck.windows(2).all(|w| w[0] < w[1]),
        "pre-check errors unsorted"
    );
}

/// What holds of a successful evaluation and its 200 response.
pub fn evaluation_invariants(batch: &Batch<'_>, evaluation: &Evaluation<'_>, response: &Response) {
    let count = batch.len();
    let counts = evaluation.counts();
    assert_eq!(evaluation.outcomes().len(), count);
    assert_eq!(counts.success_count + counts.error_count, count);
    assert_eq!(evaluation.accepted().count(), counts.success_count);
    assert_eq!(evaluation.errors().count(), counts.error_count);

    // The pre-check's errors are exactly the evaluation's errors of rules 1 to 8.
    let precheck: Vec<(usize, ContactError)> = batch
        .precheck_errors()
        .map(|(index, error)| (index, error.clone()))
        .collect();
    let early: Vec<(usize, ContactError)> = evaluation
        .errors()
        .filter(|failed| rule(failed.error.code()) <= 8)
        .map(|failed| (failed.index, failed.error))
        .collect();
    assert_eq!(
        precheck, early,
        "pre-check and evaluation disagree on rules 1-8"
    );
    for (position, outcome) in evaluation.outcomes().enumerate() {
        let index = match outcome {
            bulk_contacts::ContactOutcome::Accepted(accepted) => accepted.index,
            bulk_contacts::ContactOutcome::Failed(failed) => failed.index,
        };
        assert_eq!(index, position, "outcomes in index order");
    }
    for failed in evaluation.errors() {
        let code = failed.error.code();
        if rule(code) > 8 {
            assert!(
                batch.checks()[failed.index].is_ok(),
                "rule {} after a rule 1-8 failure",
                rule(code)
            );
        }
    }

    let (mut created, mut list_created, mut journeys) = (0, 0, 0u64);
    let mut phones = HashSet::new();
    let mut pairs = HashMap::new();
    for accepted in evaluation.accepted() {
        assert!(e164::is_valid(accepted.phone) && e164::is_valid(accepted.list_number));
        let a = &accepted;
        assert_eq!(a.json(), batch.contacts()[a.index]);
        let contact: Value = serde_json::from_str(a.json()).expect("a contact's text is JSON");
        let object = contact
            .as_object()
            .expect("an accepted contact is an object");
        let sent = |name: &str| object.get(name).filter(|value| !value.is_null());
        assert_eq!(a.ip_address, sent("ip_address").and_then(Value::as_str));
        assert_eq!(a.url, sent("url").and_then(Value::as_str));
        assert_eq!(
            a.custom_fields_map().as_ref(),
            sent("custom_fields").and_then(Value::as_object)
        );
        let others = a.other_members_map();
        assert_eq!(
            a.has_other_members(),
            !others.is_empty(),
            "the reader's flag"
        );
        for (name, value) in &others {
            assert_eq!(object.get(name), Some(value), "other member {name} as sent");
        }
        let mut members: Vec<&str> = others.keys().map(String::as_str).collect();
        members.extend(object.keys().map(String::as_str).filter(|name| {
            [
                "phone_number",
                "list_number",
                "use_journeys",
                "skip_journey_if_exists",
                "use_validation",
                "replace_custom_fields",
                "signup_date",
                "ip_address",
                "url",
                "custom_fields",
            ]
            .contains(name)
        }));
        assert_eq!(members.len(), object.len(), "other members + known = all");
        created += usize::from(a.is_new_contact);
        list_created += usize::from(a.is_new_list_contact);
        journeys += u64::from(a.journeys);
        if !phones.insert(accepted.phone) {
            assert!(!a.is_new_contact, "a phone already accepted is new again");
        }
        let pair = (accepted.phone, accepted.list_number);
        match pairs.get(&pair) {
            Some(&first) => {
                assert_eq!(a.duplicate_of, Some(first));
                assert!(!a.is_new_list_contact);
            }
            None => {
                assert_eq!(a.duplicate_of, None);
                pairs.insert(pair, accepted.index);
            }
        }
        if !accepted.flags.use_journeys {
            assert_eq!(a.journeys, 0);
        }
        assert_eq!(a.validation.is_some(), accepted.flags.use_validation);
        if let Some(validation) = &a.validation {
            assert!(!validation.disposition.fails());
        }
    }
    assert_eq!(counts.contacts_created, created);
    assert_eq!(counts.list_contacts_created, list_created);
    assert_eq!(counts.journeys_enrolled, journeys);

    // The 200 body.
    assert_eq!(response.status, 200);
    let body: Value = serde_json::from_slice(&response.body).expect("summary is JSON");
    assert_eq!(body["success_count"], counts.success_count);
    assert_eq!(body["error_count"], counts.error_count);
    assert_eq!(body["contacts_created"], counts.contacts_created);
    assert_eq!(body["list_contacts_created"], counts.list_contacts_created);
    assert_eq!(body["journeys_enrolled"], counts.journeys_enrolled);
    let entries = body["errors"].as_array().expect("errors is an array");
    assert_eq!(entries.len(), counts.error_count);
    let mut previous = None;
    for (entry, failed) in entries.iter().zip(evaluation.errors()) {
        let (index, error) = (failed.index, &failed.error);
        let at = entry["index"].as_u64().expect("index is a count") as usize;
        assert_eq!(at, index);
        assert!(at < count, "index {at} out of range");
        assert!(
            previous.is_none_or(|p| p < at),
            "errors unsorted or repeated"
        );
        previous = Some(at);
        assert_eq!(entry["code"], error.code().as_str());
        let contact: Value =
            serde_json::from_str(batch.contacts()[at]).expect("a contact's text is JSON");
        let sent = contact.get("phone_number").and_then(Value::as_str);
        assert_eq!(entry["phone_number"].as_str(), sent, "phone_number as sent");
        assert_eq!(failed.phone_number, sent);
        let members: Vec<&str> = entry
            .as_object()
            .expect("entry is an object")
            .keys()
            .map(String::as_str)
            .collect();
        let extra =
            usize::from(error.field().is_some()) + usize::from(error.validation().is_some());
        assert_eq!(members.len(), 4 + extra, "entry members: {members:?}");
        if let Some(field) = error.field() {
            assert_eq!(entry["field"], field.as_str());
            assert_eq!(entry["error"], field.message());
        }
        if let Some(validation) = error.validation() {
            assert_eq!(
                serde_json::to_string(&entry["validation"]["cost"]).expect("a number"),
                serde_json::to_string(
                    &serde_json::from_str::<Value>(validation.cost.as_str()).expect("a number")
                )
                .expect("a number"),
            );
            let text = std::str::from_utf8(&response.body).expect("UTF-8");
            assert!(
                text.contains(&format!("\"cost\":{},", validation.cost.as_str())),
                "cost echoed as sent: {}",
                validation.cost.as_str()
            );
        }
        if error.code() == ContactCode::ValidationFailed {
            let disposition = entry["validation"]["disposition"]
                .as_str()
                .expect("disposition");
            assert!(matches!(disposition, "invalid" | "unreachable"));
            assert_eq!(
                entry["error"],
                format!("Phone validation failed: {disposition}")
            );
        }
    }
}

/// The counters, recomputed from the world's directory and lists and the body as
/// `serde_json` reads it, knowing only which contacts the engine accepted: SPEC §5 applied by
/// hand, in index order. Each accepted contact's `is_new_contact`, `is_new_list_contact`,
/// `journeys` and `duplicate_of` are checked against the same recomputation.
pub fn counters_from_the_directory(world: &World, body: &[u8], evaluation: &Evaluation<'_>) {
    let value: Value = serde_json::from_slice(body).expect("an evaluated body is JSON");
    let contacts = value["contacts"]
        .as_array()
        .expect("an evaluated body has contacts");
    let (mut created, mut list_created, mut journeys) = (0usize, 0usize, 0u64);
    let mut phones: HashSet<&str> = HashSet::new();
    let mut pairs: HashMap<(&str, &str), usize> = HashMap::new();
    for accepted in evaluation.accepted() {
        let contact = &contacts[accepted.index];
        let phone = contact["phone_number"].as_str().expect("a string phone");
        let list = contact["list_number"]
            .as_str()
            .expect("a string list number");
        let is_new_contact = !world.contacts.contains(phone) && phones.insert(phone);
        let member = world
            .list_contacts
            .get(phone)
            .is_some_and(|lists| lists.contains(list));
        let first = pairs.get(&(phone, list)).copied();
        let is_new_list_contact = first.is_none() && !member;
        pairs.entry((phone, list)).or_insert(accepted.index);
        let use_journeys = contact["use_journeys"] == Value::Bool(true);
        let skip = contact["skip_journey_if_exists"] != Value::Bool(false);
        let welcome = match world.lists.get(list) {
            Some(Entry::Answer(found)) => found.welcome_journeys,
            other => panic!("an accepted contact's list {list} is {other:?}"),
        };
        let enrolled = if use_journeys && (is_new_list_contact || !skip) {
            welcome
        } else {
            0
        };
        assert_eq!(
            accepted.is_new_contact, is_new_contact,
            "is_new_contact of {}",
            accepted.index
        );
        assert_eq!(
            accepted.is_new_list_contact, is_new_list_contact,
            "is_new_list_contact of {}",
            accepted.index
        );
        assert_eq!(
            accepted.journeys, enrolled,
            "journeys of {}",
            accepted.index
        );
        assert_eq!(
            accepted.duplicate_of, first,
            "duplicate_of of {}",
            accepted.index
        );
        created += usize::from(is_new_contact);
        list_created += usize::from(is_new_list_contact);
        journeys += u64::from(enrolled);
    }
    let counts = evaluation.counts();
    assert_eq!(
        (
            counts.contacts_created,
            counts.list_contacts_created,
            counts.journeys_enrolled
        ),
        (created, list_created, journeys),
        "counters vs the directory"
    );
}

/// The sans-I/O path: prefetch every key of `keys()` (and then `validation_keys`) from the
/// world into the map-backed impls, evaluate against the maps: the same body. Skipped when a
/// prefetch fails (the prefetch asks a superset of what evaluation asks).
pub fn prefetched_agrees(batch: &Batch<'_>, world: &World, expected: &Response) {
    let keys = batch.keys();
    let mut lists: HashMap<String, SendingList> = HashMap::new();
    let mut carrier = CarrierValidationMap::default();
    let mut directory = DirectoryMap::default();
    for &list in &keys.lists {
        match world.list(list) {
            Ok(Some(found)) => {
                lists.insert(list.to_owned(), found);
            }
            Ok(None) => {}
            Err(_) => return,
        }
    }
    for &phone in &keys.phones {
        let (Ok(verdict), Ok(exists)) = (world.carrier(phone), world.contact_exists(phone)) else {
            return;
        };
        carrier.carrier_verdicts.insert(phone.to_owned(), verdict);
        if exists {
            directory.contact_phones.insert(phone.to_owned());
        }
    }
    for &(phone, list) in &keys.memberships {
        match world.is_member(phone, list) {
            Ok(true) => directory.add_membership(phone, list),
            Ok(false) => {}
            Err(_) => return,
        }
    }
    let screened = batch
        .screen(&lists, &carrier)
        .expect("map-backed lookups never fail");
    for phone in screened.validation_keys() {
        carrier
            .validation_results
            .insert(phone.to_owned(), world.validate(phone));
    }
    let evaluation = screened
        .evaluate(&carrier, &directory)
        .expect("map-backed lookups never fail");
    assert_eq!(
        &Response::summary(&evaluation),
        expected,
        "prefetched maps and the world disagree"
    );
}

/// The lookup-free pre-check on raw bytes, against a reference reading through
/// `serde_json::Value`.
pub fn precheck(engine: &Engine, body: &[u8], now: Timestamp) {
    let limits = engine.limits();
    let read = engine.read(body, now);
    let again = engine.read(body, now);
    match (&read, &again) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.checks(), b.checks(), "reading twice differs");
            assert_eq!(a.contacts(), b.contacts(), "reading twice differs");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "reading twice differs"),
        _ => panic!("reading twice differs"),
    }
    let reference: Result<Vec<Value>, Rejection> = if body.len() > limits.max_body_bytes() {
        Err(Rejection::PayloadTooLarge)
    } else {
        match serde_json::from_slice::<Value>(body) {
            Err(_) => Err(Rejection::InvalidJson),
            Ok(value) => match value.get("contacts").and_then(Value::as_array) {
                None => Err(Rejection::MissingContacts),
                Some(items) if items.is_empty() => Err(Rejection::MissingContacts),
                Some(items) if items.len() > limits.max_contacts() => {
                    Err(Rejection::TooManyContacts)
                }
                Some(items) => Ok(items.clone()),
            },
        }
    };
    match (read, reference) {
        (Err(actual), Err(expected)) => assert_eq!(actual, expected, "rejection"),
        (Ok(batch), Ok(items)) => {
            assert_eq!(batch.len(), items.len(), "number of contacts");
            for (text, item) in batch.contacts().iter().zip(&items) {
                let value: Value = serde_json::from_str(text).expect("a contact's text is JSON");
                assert_eq!(&value, item, "contact differs from serde_json::Value's");
                let inside = (text.as_ptr() as usize).checked_sub(body.as_ptr() as usize);
                assert_eq!(
                    inside.and_then(|at| body.get(at..at + text.len())),
                    Some(text.as_bytes()),
                    "a contact's text is the slice of the body it was read from"
                );
            }
            batch_invariants(engine, &batch);
        }
        (actual, expected) => panic!(
            "read gave {:?}, serde_json::Value says {:?}",
            actual.map(|b| b.len()),
            expected.map(|v| v.len())
        ),
    }
}

/// The phone rule on one candidate.
pub fn e164(candidate: &str) {
    let valid = e164::is_valid(candidate);
    assert_eq!(
        valid,
        e164::is_valid(candidate),
        "is_valid is not deterministic"
    );
    let info = e164::classify(candidate);
    assert_eq!(
        info.is_some(),
        valid,
        "classify and is_valid disagree on {candidate:?}"
    );
    if let Some(info) = info {
        assert!(
            e164::has_e164_syntax(candidate),
            "valid without the syntax: {candidate:?}"
        );
        let code = info.country_code.to_string();
        assert!(
            candidate[1..].starts_with(&code),
            "{candidate:?} classified with calling code {code}"
        );
    }
}

fn assert_distinct<T: std::hash::Hash + Eq + std::fmt::Debug>(items: &[T], what: &str) {
    let mut seen = HashSet::new();
    for item in items {
        assert!(seen.insert(item), "{what}: {item:?} twice");
    }
}

/// The world, recording every lookup asked of it.
struct Recorder<'w> {
    world: &'w World,
    log: RefCell<Log>,
}

#[derive(Default)]
struct Log {
    lists: Vec<String>,
    carrier: Vec<String>,
    validate: Vec<String>,
    exists: Vec<String>,
    member: Vec<(String, String)>,
}

impl<'w> Recorder<'w> {
    fn new(world: &'w World) -> Self {
        Recorder {
            world,
            log: RefCell::default(),
        }
    }

    /// SPEC §7: each distinct key at most once per batch.
    fn assert_each_key_once(&self) {
        let log = self.log.borrow();
        assert_distinct(&log.lists, "list lookups");
        assert_distinct(&log.carrier, "carrier lookups");
        assert_distinct(&log.validate, "validations");
        assert_distinct(&log.exists, "contact lookups");
        assert_distinct(&log.member, "membership lookups");
    }

    /// Every free key asked is among `keys()`; the paid validation is asked about exactly
    /// `validation_keys()`, in the same order.
    fn assert_within_keys(&self, batch: &Batch<'_>, world: &World) {
        let log = self.log.borrow();
        let keys = batch.keys();
        for list in &log.lists {
            assert!(
                keys.lists.contains(&list.as_str()),
                "list {list} not in keys()"
            );
        }
        for phone in log.carrier.iter().chain(&log.exists) {
            assert!(
                keys.phones.contains(&phone.as_str()),
                "phone {phone} not in keys()"
            );
        }
        for (phone, list) in &log.member {
            assert!(
                keys.memberships.contains(&(phone.as_str(), list.as_str())),
                "membership ({phone}, {list}) not in keys()"
            );
        }
        let expected = batch
            .screen(world, world)
            .expect("the evaluation's free lookups succeeded")
            .validation_keys();
        assert_eq!(
            log.validate, expected,
            "validations asked vs validation_keys()"
        );
    }
}

impl ListLookup for Recorder<'_> {
    fn list(&self, list_number: &str) -> Result<Option<SendingList>, LookupError> {
        self.log.borrow_mut().lists.push(list_number.to_owned());
        self.world.list(list_number)
    }
}

impl CarrierCheck for Recorder<'_> {
    fn carrier(&self, phone: &str) -> Result<Carrier, LookupError> {
        self.log.borrow_mut().carrier.push(phone.to_owned());
        self.world.carrier(phone)
    }
    fn validate(&self, phone: &str) -> Result<ValidationResult, ProviderError> {
        self.log.borrow_mut().validate.push(phone.to_owned());
        self.world.validate(phone)
    }
}

impl Directory for Recorder<'_> {
    fn contact_exists(&self, phone: &str) -> Result<bool, LookupError> {
        self.log.borrow_mut().exists.push(phone.to_owned());
        self.world.contact_exists(phone)
    }
    fn is_member(&self, phone: &str, list_number: &str) -> Result<bool, LookupError> {
        self.log
            .borrow_mut()
            .member
            .push((phone.to_owned(), list_number.to_owned()));
        self.world.is_member(phone, list_number)
    }
}

/// How many arrays and objects deep a value goes (a scalar is 0).
fn nesting(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

/// One contact's text: `Engine::check_contact` reads it exactly when `serde_json` parses it
/// into a `Value` that could stand in a body (at most 125 levels deep, the body's object and
/// array taking two of the 127 serde_json reads), and then decides as the same text read as
/// the only element of a body does.
pub fn reader(engine: &Engine, data: &[u8], now: Timestamp) {
    let checked = engine.check_contact(data, now);
    let reference = serde_json::from_slice::<Value>(data)
        .ok()
        .filter(|value| nesting(value) <= 125);
    let Some(value) = reference else {
        assert!(
            checked.is_err(),
            "check_contact read what serde_json does not"
        );
        return;
    };
    let checked = checked.expect("check_contact refused what serde_json reads");
    let mut body = b"{\"contacts\":[".to_vec();
    body.extend_from_slice(data);
    body.extend_from_slice(b"]}");
    if body.len() > engine.limits().max_body_bytes() {
        return;
    }
    let batch = engine
        .read(&body, now)
        .expect("one readable contact is a readable body");
    let text = std::str::from_utf8(data).expect("UTF-8");
    assert_eq!(
        batch.contacts(),
        [text.trim_matches([' ', '\n', '\t', '\r'])]
    );
    assert_eq!(
        batch.checks(),
        std::slice::from_ref(&checked),
        "alone and inside a body decide alike"
    );
    let size = serde_json::to_vec(&value).expect("serializes").len();
    assert_eq!(
        checked.as_ref().err().map(ContactError::code) == Some(ContactCode::PayloadTooLarge),
        size > engine.limits().max_contact_bytes(),
        "rule 1 on the compact size ({size} bytes)"
    );
}

/// How `serde_json` reads `text`: `None` when it reads a value nested deeper than a body's
/// contact may be (over 125 levels: there the crate's reader may refuse what `serde_json`
/// reads, see [`reader`]), otherwise the object it reads, if it reads one.
fn object(text: &str) -> Option<Option<serde_json::Map<String, Value>>> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) if nesting(&value) > 125 => None,
        Ok(Value::Object(members)) => Some(Some(members)),
        _ => Some(None),
    }
}

/// `CustomFieldsUpdate::applied_to(held)` with `sent` (the server's merge of a re-imported
/// membership's custom fields, SPEC §5):
///
/// * `NotAnObject::Held` exactly when `serde_json` does not read `held` as an object, then
///   `NotAnObject::Sent` exactly when it does not read `sent` as one;
/// * a new text means to `serde_json` `sent`'s members over `held`'s (RFC 7396 for the
///   members sent; a repeated name's last value), or `sent`'s alone with `replace`, and with
///   `replace` it is `sent` as sent;
/// * `None` (unchanged) only when `held` already means that;
/// * the same update applied to the new text changes nothing.
pub fn merge(held: &str, sent: &str, replace: bool) {
    let update = CustomFieldsUpdate {
        index: 0,
        phone: "+14155550000",
        list_number: "+18005551234",
        custom_fields: Cow::Borrowed(sent),
        replace,
    };
    let result = update.applied_to(held);
    // The members `serde_json` reads in `text`; `None` ends the check: `text` nests too deep
    // to compare, or is no object and `result` must be `error`.
    let members = |text: &str, error: NotAnObject| match object(text)? {
        Some(members) => Some(members),
        None => {
            assert_eq!(result.as_ref().err(), Some(&error), "{text:?}");
            None
        }
    };
    let Some(held_members) = members(held, NotAnObject::Held) else {
        return;
    };
    let Some(sent_members) = members(sent, NotAnObject::Sent) else {
        return;
    };
    let mut expected = if replace {
        serde_json::Map::new()
    } else {
        held_members.clone()
    };
    expected.extend(sent_members);
    let expected = Value::Object(expected);
    match result.expect("both are objects to serde_json") {
        None => assert_eq!(
            Value::Object(held_members),
            expected,
            "unchanged, but the update means otherwise: held {held:?}, sent {sent:?}"
        ),
        Some(text) => {
            let read: Value = serde_json::from_str(&text).expect("the result is JSON");
            assert_eq!(read, expected, "held {held:?}, sent {sent:?}: {text:?}");
            if replace {
                assert_eq!(text, sent, "a replacement is the text sent");
            }
            assert_eq!(
                update.applied_to(&text),
                Ok(None),
                "the same update again changes {text:?}"
            );
        }
    }
}

//! The server end to end: a real server on 127.0.0.1:0, a real HTTP client, the engine's
//! exact answers, and the rows the store holds afterwards.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bulk_contacts::testing::Entry;
use bulk_contacts::testing::World;
use bulk_contacts::{Billing, Engine, Rejection, Request, SendingList, Timestamp};
use common::{Backend, KEY, Server, assert_answer, phone, rejected};
use serde_json::json;

const LIMIT: usize = 5 * 1024 * 1024;

fn documented_request() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/request.json");
    std::fs::read(path).expect("examples/request.json")
}

/// The engine alone on the world: the oracle of what the server must answer.
fn engine_answer(world: &World, request: &[u8]) -> bulk_contacts::Response {
    let request = Request {
        api_key: Some(KEY.as_bytes()),
        body: request,
        now: Timestamp::now(),
    };
    Engine::default().handle(&request, &world.account(), world, world, world)
}

fn body(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).expect("json")
}

async fn documented_example_gives_the_documented_response_and_writes_it(backend: Backend) {
    let world = World::builtin();
    let server = Server::start(backend, &world).await;
    let request = documented_request();
    let reply = server.post(request.clone()).await;

    // The engine alone, on the built-in world, is the oracle.
    let expected = engine_answer(&world, &request);
    assert_answer(&reply, &expected);
    assert_eq!(
        reply.text(),
        r#"{"success_count":2,"error_count":1,"errors":[{"index":2,"phone_number":"+13105558888","code":"not_sendable","error":"Phone number failed carrier validation"}],"contacts_created":2,"list_contacts_created":2,"journeys_enrolled":1}"#
    );
    assert_eq!(
        server.rows().await,
        common::Rows {
            contacts: 2,
            memberships: 2,
            enrollments: 1
        }
    );
    assert_eq!(
        server
            .db
            .json(
                &format!(
                    "SELECT custom_fields FROM memberships WHERE {} = $1",
                    server.db.phone("phone")
                ),
                &["+14155559876"]
            )
            .await,
        Some(json!({"first_name": "Jane"}))
    );
    assert_eq!(
        server
            .db
            .text(
                &format!(
                    "SELECT {0} FROM journey_enrollments WHERE {0} = $1",
                    server.db.phone("phone")
                ),
                &["+14155559876"]
            )
            .await,
        Some("+14155559876".to_owned())
    );

    // The same request again: everything exists, nothing is created.
    let before = server.rows().await;
    let again = server.post(request).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["contacts_created"], 0);
    server.rows().await.assert_counters(before, &again.json());
}

async fn every_batch_level_status_is_the_engines_answer(backend: Backend) {
    let mut world = World::builtin();
    world
        .api_keys
        .push("trk_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ2".to_owned());
    let server = Server::start(backend, &world).await;
    let valid = documented_request();

    // 401: absent, empty, malformed, well formed but no account's key.
    let cases: [(Option<&[u8]>, Rejection); 4] = [
        (None, Rejection::MissingApiKey),
        (Some(b""), Rejection::MissingApiKey),
        (Some(b"trk_short"), Rejection::InvalidApiKey),
        (
            Some(b"trk_00000000000000000000000000000000"),
            Rejection::InvalidApiKey,
        ),
    ];
    for (key, rejection) in cases {
        let reply = server.post_with(key, valid.clone()).await;
        assert_answer(&reply, &rejected(rejection));
    }
    // The account's second key works.
    let reply = server
        .post_with(Some(b"trk_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ2"), valid.clone())
        .await;
    assert_eq!(reply.status, 200);

    // 413: one byte over the limit, with a content-length; exactly the limit is read.
    let mut over = valid.clone();
    over.resize(LIMIT + 1, b' ');
    assert_answer(
        &server.post(over).await,
        &rejected(Rejection::PayloadTooLarge),
    );
    let mut exactly = valid.clone();
    exactly.resize(LIMIT, b' ');
    assert_eq!(server.post(exactly).await.status, 200);

    // 400 and 413 from the body.
    let cases = [
        (b"{\"contacts\": [".to_vec(), Rejection::InvalidJson),
        (b"{} {}".to_vec(), Rejection::InvalidJson),
        (Vec::new(), Rejection::InvalidJson),
        (body(json!({"contacts": []})), Rejection::MissingContacts),
        (body(json!([1])), Rejection::MissingContacts),
        (
            body(json!({"contacts": vec![json!({}); 1001]})),
            Rejection::TooManyContacts,
        ),
    ];
    for (request, rejection) in cases {
        assert_answer(&server.post(request).await, &rejected(rejection));
    }
    assert_eq!(server.rows().await.contacts, 2, "only the two 200s wrote");
}

async fn billing_statuses_are_402_only_when_validation_is_asked_for(backend: Backend) {
    let asks = body(json!({"contacts": [
        {"phone_number": "+14155559876", "list_number": "+18005551234"},
        {"phone_number": "+14155559877", "list_number": "+18005551234", "use_validation": true},
    ]}));
    let does_not_ask = body(json!({"contacts": [
        {"phone_number": "+14155559876", "list_number": "+18005551234", "use_validation": false},
    ]}));
    let statuses = [
        (Billing::NoBillingConfig, Rejection::NoBillingConfig),
        (Billing::NoPaymentMethod, Rejection::NoPaymentMethod),
        (Billing::PaymentFailed, Rejection::PaymentFailed),
        (Billing::Suspended, Rejection::Suspended),
    ];
    for (billing, rejection) in statuses {
        let mut world = World::builtin();
        world.billing = billing;
        let server = Server::start(backend, &world).await;
        assert_answer(&server.post(asks.clone()).await, &rejected(rejection));
        assert_eq!(server.rows().await.contacts, 0);
        assert_eq!(server.post(does_not_ask.clone()).await.status, 200);
    }
    // Active billing: the validation stand-in answers (no row: disposition ok).
    let server = Server::start(backend, &World::builtin()).await;
    let reply = server.post(asks).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["success_count"], 2);
    let stored = server
        .db
        .json(
            &format!(
                "SELECT validation FROM contacts WHERE {} = $1",
                server.db.phone("phone")
            ),
            &["+14155559877"],
        )
        .await
        .expect("the validation result is stored with the contact");
    assert_eq!(stored["disposition"], "ok", "{stored}");
}

async fn validation_results_and_provider_errors_come_from_the_provider_table(backend: Backend) {
    let world = World::from_json(
        r#"{"lists": {"+18005551234": {}},
            "validation": {
              "+12125550000": {"phone": "+12125550000", "valid": true, "line_type": "fixed line", "carrier": "Frontier", "carrier_raw": "FRONTIER", "ported": true, "country": "US", "state": "NY", "city": "", "on_dnc": false, "disposition": "unreachable", "cost": 0.003, "cached": false},
              "+12125550001": "provider_error"}}"#,
    )
    .expect("world");
    let server = Server::start(backend, &world).await;
    let request = body(json!({"contacts": [
        {"phone_number": "+12125550000", "list_number": "+18005551234", "use_validation": true},
        {"phone_number": "+12125550001", "list_number": "+18005551234", "use_validation": true},
        {"phone_number": "+12125550002", "list_number": "+18005551234", "use_validation": true},
    ]}));
    let reply = server.post(request.clone()).await;
    let expected = engine_answer(&world, &request);
    assert_answer(&reply, &expected);
    assert_eq!(server.rows().await.contacts, 1);
}

async fn database_failures_answer_500_and_write_nothing(backend: Backend) {
    let server = Server::start(backend, &World::builtin()).await;
    let request = documented_request();

    // Failing at the write (after the prefetch succeeded): the whole batch is rolled back.
    server.db.execute("DROP TABLE journey_enrollments").await;
    assert_answer(
        &server.post(request.clone()).await,
        &rejected(Rejection::InternalError),
    );
    assert_eq!(server.count("contacts").await, 0);
    assert_eq!(server.count("memberships").await, 0);
    // The failed write's connection did not go back to the pool out of step with the
    // server (PostgreSQL: a refused COPY): every pooled connection still answers.
    for _ in 0..24 {
        assert_eq!(server.db.query_i64("SELECT 1 AS n").await, 1);
    }

    // Failing at the prefetch.
    server.db.execute("DROP TABLE memberships").await;
    assert_answer(
        &server.post(request).await,
        &rejected(Rejection::InternalError),
    );
    assert_eq!(server.count("contacts").await, 0);

    // Failing at the account lookup.
    server.db.execute("DROP TABLE api_keys").await;
    assert_answer(
        &server.post(b"{}".to_vec()).await,
        &rejected(Rejection::InternalError),
    );
}

/// Every write statement must touch exactly the rows the engine planned (the shared write
/// flow, `src/store/flow.rs`): a trigger that silently skips the enrollment rows makes the
/// last statement report 0 rows where 1 was planned, and the whole batch — the contacts and
/// memberships already inserted before it — is rolled back and answered 500.
async fn a_statement_touching_fewer_rows_than_planned_is_500_and_writes_nothing(backend: Backend) {
    let trigger = match backend {
        Backend::Sqlite => Trigger {
            create: "CREATE TRIGGER skip_enrollments BEFORE INSERT ON journey_enrollments
                     BEGIN SELECT RAISE(IGNORE); END",
            drop: "DROP TRIGGER skip_enrollments",
        },
        Backend::Postgres => Trigger {
            create: "CREATE FUNCTION skip_row() RETURNS trigger LANGUAGE plpgsql
                         AS $$ BEGIN RETURN NULL; END $$;
                     CREATE TRIGGER skip_enrollments BEFORE INSERT ON journey_enrollments
                         FOR EACH ROW EXECUTE FUNCTION skip_row()",
            drop: "DROP TRIGGER skip_enrollments ON journey_enrollments",
        },
    };
    a_trigger_fails_the_documented_batch_whole(backend, trigger).await;
}

/// A statement that fails in the middle of a write, with the write's later statements already
/// on their way (PostgreSQL: the enrollments' `COPY` sent behind the memberships' one, one
/// pipeline): the batch is answered 500 and nothing of it is written, as above.
async fn a_statement_failing_mid_write_is_500_and_writes_nothing(backend: Backend) {
    let trigger = match backend {
        Backend::Sqlite => Trigger {
            create: "CREATE TRIGGER refuse_memberships BEFORE INSERT ON memberships
                     BEGIN SELECT RAISE(ABORT, 'memberships refused'); END",
            drop: "DROP TRIGGER refuse_memberships",
        },
        Backend::Postgres => Trigger {
            create: "CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql
                         AS $$ BEGIN RAISE EXCEPTION 'memberships refused'; END $$;
                     CREATE TRIGGER refuse_memberships BEFORE INSERT ON memberships
                         FOR EACH ROW EXECUTE FUNCTION refuse_row()",
            drop: "DROP TRIGGER refuse_memberships ON memberships",
        },
    };
    a_trigger_fails_the_documented_batch_whole(backend, trigger).await;
}

/// A trigger's SQL: created to make a write fail, dropped to let it through.
struct Trigger {
    create: &'static str,
    drop: &'static str,
}

/// With `trigger` in place the documented batch is answered 500 three times and nothing of it
/// is written; every pooled connection still answers afterwards (none is left out of step by
/// the failed writes); once the trigger is dropped the same batch is written whole: it was the
/// trigger that failed it.
async fn a_trigger_fails_the_documented_batch_whole(backend: Backend, trigger: Trigger) {
    let world = World::builtin();
    let server = Server::start(backend, &world).await;
    let request = documented_request();
    server.db.execute(trigger.create).await;
    for _ in 0..3 {
        assert_answer(
            &server.post(request.clone()).await,
            &rejected(Rejection::InternalError),
        );
    }
    let nothing = common::Rows {
        contacts: 0,
        memberships: 0,
        enrollments: 0,
    };
    assert_eq!(server.rows().await, nothing);
    for _ in 0..24 {
        assert_eq!(server.db.query_i64("SELECT 1 AS n").await, 1);
    }

    server.db.execute(trigger.drop).await;
    assert_answer(
        &server.post(request.clone()).await,
        &engine_answer(&world, &request),
    );
    let written = common::Rows {
        contacts: 2,
        memberships: 2,
        enrollments: 1,
    };
    assert_eq!(server.rows().await, written);
}

async fn duplicates_and_existing_data_count_exactly_the_rows_inserted(backend: Backend) {
    let mut world = World::builtin();
    world.lists.insert(
        "+18005551234".to_owned(),
        Entry::Answer(SendingList {
            welcome_journeys: 2,
        }),
    );
    world.lists.insert(
        "+18005550001".to_owned(),
        Entry::Answer(SendingList::default()),
    );
    world.contacts.insert("+14155550000".to_owned());
    world.contacts.insert("+14155550001".to_owned());
    world.list_contacts = HashMap::from([(
        "+14155550000".to_owned(),
        ["+18005551234".to_owned()].into(),
    )]);
    let server = Server::start(backend, &world).await;
    server
        .db
        .execute("UPDATE memberships SET custom_fields = '{\"a\":\"old\",\"keep\":1}'")
        .await;

    let list = "+18005551234";
    let request = body(json!({"contacts": [
        // existing contact, existing membership: no journey (skip_journey_if_exists)
        {"phone_number": "+14155550000", "list_number": list, "use_journeys": true,
         "custom_fields": {"a": "new", "b": true}},
        // existing contact, new membership: 2 journeys
        {"phone_number": "+14155550001", "list_number": list, "use_journeys": true},
        // new contact, twice in the same list: created once, journeys twice (skip false)
        {"phone_number": "+14155550002", "list_number": list, "use_journeys": true,
         "skip_journey_if_exists": false, "custom_fields": {"x": 1}},
        {"phone_number": "+14155550002", "list_number": list, "use_journeys": true,
         "skip_journey_if_exists": false, "custom_fields": {"y": 2}},
        // the same new contact in a second list
        {"phone_number": "+14155550002", "list_number": "+18005550001", "ip_address": "192.0.2.1"},
        // a duplicate that fails is not written
        {"phone_number": "+14155550003", "list_number": "+18005559999"},
        // existing membership, fields replaced (after the merge above, in index order)
        {"phone_number": "+14155550000", "list_number": list, "replace_custom_fields": true,
         "custom_fields": {"only": "this"}},
        // skip false on an existing membership: enrolled again
        {"phone_number": "+14155550000", "list_number": list, "use_journeys": true,
         "skip_journey_if_exists": false},
    ]}));
    let before = server.rows().await;
    let reply = server.post(request.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let summary = reply.json();
    assert_eq!(
        summary,
        json!({"success_count": 7, "error_count": 1,
               "errors": [{"index": 5, "phone_number": "+14155550003", "code": "list_not_found",
                           "error": "Sending list not found"}],
               "contacts_created": 1, "list_contacts_created": 3, "journeys_enrolled": 8})
    );
    server.rows().await.assert_counters(before, &summary);
    let fields = async |phone: &str, list: &str| {
        server
            .db
            .json(
                &format!(
                    "SELECT m.custom_fields FROM memberships m
                     JOIN sending_lists l ON l.id = m.list_id
                     WHERE {} = $1 AND l.list_number = $2",
                    server.db.phone("m.phone")
                ),
                &[phone, list],
            )
            .await
            .expect("membership")
    };
    assert_eq!(fields("+14155550000", list).await, json!({"only": "this"}));
    assert_eq!(fields("+14155550002", list).await, json!({"x": 1, "y": 2}));
    assert_eq!(fields("+14155550002", "+18005550001").await, json!({}));

    // The same batch again: no contact nor membership is new; only the skip-false journeys.
    let before = server.rows().await;
    let reply = server.post(request).await;
    let summary = reply.json();
    assert_eq!(
        (
            &summary["contacts_created"],
            &summary["list_contacts_created"],
            &summary["journeys_enrolled"]
        ),
        (&json!(0), &json!(0), &json!(6))
    );
    server.rows().await.assert_counters(before, &summary);
}

/// A lazily generated chunked body of `total` bytes, counting what the client pulled.
fn streamed(total: usize, pulled: Arc<AtomicUsize>, prefix: &'static [u8]) -> axum::body::Body {
    const CHUNK: usize = 64 * 1024;
    let chunks = total.div_ceil(CHUNK);
    let stream = futures_util::stream::iter((0..chunks).map(move |i| {
        let size = CHUNK.min(total - i * CHUNK);
        let mut chunk = vec![b' '; size];
        if i == 0 {
            chunk[..prefix.len()].copy_from_slice(prefix);
        }
        pulled.fetch_add(size, Ordering::Relaxed);
        Ok::<_, std::io::Error>(chunk)
    }));
    axum::body::Body::from_stream(stream)
}

async fn a_streamed_50_mb_body_is_cut_off_at_the_limit_and_answered_413(backend: Backend) {
    let server = Server::start(backend, &World::builtin()).await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let total = 50 * 1000 * 1000;
    let reply = server
        .post(streamed(total, Arc::clone(&pulled), b"{\"contacts\":["))
        .await;
    assert_answer(&reply, &rejected(Rejection::PayloadTooLarge));
    let pulled = pulled.load(Ordering::Relaxed);
    assert!(
        pulled < total,
        "the client sent the whole body ({pulled} bytes)"
    );
    eprintln!("the client got to send {pulled} of {total} bytes");
}

async fn a_streamed_body_of_exactly_the_limit_is_read(backend: Backend) {
    let server = Server::start(backend, &World::builtin()).await;
    let request = br#"{"contacts":[{"phone_number":"+14155559876","list_number":"+18005551234"}]}"#;
    let pulled = Arc::new(AtomicUsize::new(0));
    let reply = server.post(streamed(LIMIT, pulled, request)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["contacts_created"], 1);

    let pulled = Arc::new(AtomicUsize::new(0));
    let reply = server.post(streamed(LIMIT + 1, pulled, request)).await;
    assert_answer(&reply, &rejected(Rejection::PayloadTooLarge));
}

/// Custom fields are handed to the store as sent when that is the same object, and as
/// `serde_json` reads them otherwise: a repeated name, an escaped name or a number in another
/// form must mean in the store what they mean to `serde_json`, to SQL too (`->>`).
async fn custom_fields_mean_in_the_store_what_serde_json_reads_whatever_their_form(
    backend: Backend,
) {
    let server = Server::start(backend, &World::builtin()).await;
    let list = "+18005551234";
    let post = async |contacts: Vec<(usize, &str, bool)>| {
        let contacts: Vec<String> = contacts
            .iter()
            .map(|(n, fields, replace)| {
                format!(
                    r#"{{"phone_number": "{}", "list_number": "{list}", "replace_custom_fields": {replace}, "custom_fields": {fields}}}"#,
                    phone(*n)
                )
            })
            .collect();
        let body = format!(r#"{{"contacts": [{}]}}"#, contacts.join(","));
        let reply = server.post(body.into_bytes()).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["error_count"], 0, "{}", reply.text());
    };
    // New memberships: inserted.
    post(vec![
        (100, r#"{"a": "first", "a": "last"}"#, false),
        (101, r#"{"\u0061": "x", "b": "\u00e9"}"#, false),
        (
            102,
            r#"{ "b" : "2" ,
                   "a" : "1" }"#,
            false,
        ),
        (103, r#"{"a": "0", "n": 1.50, "m": 1e2}"#, false),
        (104, r#"{"a": "0"}"#, false),
    ])
    .await;
    // Existing memberships: merged, or replaced.
    post(vec![
        (101, r#"{"a": "y"}"#, false),
        (103, r#"{"a": "p", "a": "q"}"#, false),
        (104, r#"{"z": "1", "z": "2"}"#, true),
    ])
    .await;
    let member = async |n: usize, name: &str| {
        let sql = format!(
            "SELECT custom_fields ->> '{name}' FROM memberships WHERE {} = $1",
            server.db.phone("phone")
        );
        server.db.text(&sql, &[&phone(n)]).await
    };
    let fields = async |n: usize| {
        let sql = &format!(
            "SELECT custom_fields FROM memberships WHERE {} = $1",
            server.db.phone("phone")
        );
        server
            .db
            .json(sql, &[&phone(n)])
            .await
            .expect("a membership")
    };
    assert_eq!(member(100, "a").await.as_deref(), Some("last"));
    assert_eq!(member(101, "a").await.as_deref(), Some("y"));
    assert_eq!(member(103, "a").await.as_deref(), Some("q"));
    assert_eq!(member(104, "z").await.as_deref(), Some("2"));
    assert_eq!(fields(100).await, json!({"a": "last"}));
    assert_eq!(fields(101).await, json!({"a": "y", "b": "é"}));
    assert_eq!(fields(102).await, json!({"a": "1", "b": "2"}));
    assert_eq!(fields(103).await, json!({"a": "q", "n": 1.5, "m": 100.0}));
    assert_eq!(fields(104).await, json!({"z": "2"}));
}

#[test]
fn the_phones_of_the_tests_are_valid() {
    for n in [0, 9_999, 10_000, 39_999] {
        assert!(bulk_contacts::e164::is_valid(&phone(n)), "{}", phone(n));
    }
}

on_both_stores!(
    documented_example_gives_the_documented_response_and_writes_it,
    every_batch_level_status_is_the_engines_answer,
    billing_statuses_are_402_only_when_validation_is_asked_for,
    validation_results_and_provider_errors_come_from_the_provider_table,
    database_failures_answer_500_and_write_nothing,
    a_statement_touching_fewer_rows_than_planned_is_500_and_writes_nothing,
    a_statement_failing_mid_write_is_500_and_writes_nothing,
    duplicates_and_existing_data_count_exactly_the_rows_inserted,
    a_streamed_50_mb_body_is_cut_off_at_the_limit_and_answered_413,
    a_streamed_body_of_exactly_the_limit_is_read,
    custom_fields_mean_in_the_store_what_serde_json_reads_whatever_their_form,
);

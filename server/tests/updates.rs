//! Updates of existing rows (migration V4's write path, the same on both stores): a contact
//! or membership sent again with nothing new is not rewritten — its `updated_at` stays when
//! its values last changed — while one sent with a change is; either way the counters are
//! exact and the answer the same.

mod common;

use bulk_contacts::testing::World;
use common::{Backend, Server};
use serde_json::json;

const PHONE: &str = "+14155550000";

/// (contact's `updated_at`, ip, membership's `updated_at`, custom fields) as stored.
async fn stored(server: &Server) -> (String, String, String, serde_json::Value) {
    let phone = server.db.phone("phone");
    let contact = server
        .db
        .rows_of(
            &format!("SELECT updated_at, ip_address FROM contacts WHERE {phone} = $1"),
            &[PHONE],
        )
        .await;
    let membership = server
        .db
        .rows_of(
            &format!("SELECT updated_at, custom_fields FROM memberships WHERE {phone} = $1"),
            &[PHONE],
        )
        .await;
    let text = |rows: &Vec<Vec<Option<String>>>, i: usize| rows[0][i].clone().expect("a value");
    (
        text(&contact, 0),
        text(&contact, 1),
        text(&membership, 0),
        serde_json::from_str(&text(&membership, 1)).expect("json"),
    )
}

async fn an_unchanged_row_is_not_rewritten_and_a_changed_one_is(backend: Backend) {
    let server = Server::start(backend, &World::builtin()).await;
    let send = async |ip: &str, fields: serde_json::Value| {
        let body = json!({"contacts": [{"phone_number": PHONE, "list_number": "+18005551234",
                                        "ip_address": ip, "custom_fields": fields}]});
        let reply = server.post(serde_json::to_vec(&body).expect("json")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    };
    let first = send("192.0.2.1", json!({"a": 1})).await;
    assert_eq!(first["contacts_created"], 1);
    let before = stored(&server).await;

    // The same again: found, nothing created, nothing rewritten.
    let again = send("192.0.2.1", json!({"a": 1})).await;
    assert_eq!(
        (
            again["success_count"].clone(),
            again["contacts_created"].clone()
        ),
        (json!(1), json!(0))
    );
    assert_eq!(
        stored(&server).await,
        before,
        "an unchanged re-send rewrites nothing"
    );

    // A new IP and a changed field: both rows rewritten.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let changed = send("192.0.2.2", json!({"a": 2})).await;
    assert_eq!(changed["list_contacts_created"], 0);
    let after = stored(&server).await;
    assert_eq!(after.1, "192.0.2.2");
    assert_eq!(after.3, json!({"a": 2}));
    assert_ne!(after.0, before.0, "the contact's updated_at moved");
    assert_ne!(after.2, before.2, "the membership's updated_at moved");
}

/// An update that leaves its contact as the prefetch found it is not sent — but only for the
/// first occurrence of a phone in the batch: a later one applies to what the earlier ones
/// wrote. Stored IP A; the batch sends B then A for the same phone: A is stored.
async fn a_repeated_phone_is_applied_in_order_even_back_to_what_was_stored(backend: Backend) {
    let server = Server::start(backend, &World::builtin()).await;
    let contact =
        |ip: &str| json!({"phone_number": PHONE, "list_number": "+18005551234", "ip_address": ip});
    let post = async |contacts: Vec<serde_json::Value>| {
        let body = json!({ "contacts": contacts });
        let reply = server.post(serde_json::to_vec(&body).expect("json")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    };
    post(vec![contact("192.0.2.1")]).await;
    let summary = post(vec![contact("192.0.2.2"), contact("192.0.2.1")]).await;
    assert_eq!(summary["success_count"], 2, "{summary}");
    assert_eq!(
        stored(&server).await.1,
        "192.0.2.1",
        "the last one sent wins"
    );
    // And the other way: A stored, A then B sent: B.
    post(vec![contact("192.0.2.1"), contact("192.0.2.2")]).await;
    assert_eq!(stored(&server).await.1, "192.0.2.2");
}

/// Custom fields are merged by the server over what each membership holds: the stored fields
/// for the first occurrence of a (phone, list) in a batch, what the earlier occurrence wrote for
/// a later one — also when that is a membership the same batch created, and when a later
/// occurrence goes back to the stored fields.
async fn custom_fields_merge_over_what_each_earlier_occurrence_wrote(backend: Backend) {
    let server = Server::start(backend, &World::builtin()).await;
    let contact = |fields: serde_json::Value, replace: bool| {
        json!({"phone_number": PHONE, "list_number": "+18005551234", "custom_fields": fields,
               "replace_custom_fields": replace, "ip_address": "192.0.2.1"})
    };
    let post = async |contacts: Vec<serde_json::Value>| {
        let body = json!({ "contacts": contacts });
        let reply = server.post(serde_json::to_vec(&body).expect("json")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let summary = reply.json();
        assert_eq!(summary["success_count"], contacts.len(), "{summary}");
        stored(&server).await.3
    };
    // Created with {a}, then merged in the same batch.
    let fields = post(vec![
        contact(json!({"a": 1, "b": "x"}), false),
        contact(json!({"b": "y", "c": true}), false),
    ])
    .await;
    assert_eq!(fields, json!({"a": 1, "b": "y", "c": true}));
    // Merged, replaced, merged again: the last two apply to what the one before wrote.
    let fields = post(vec![
        contact(json!({"a": 2}), false),
        contact(json!({"d": 4}), true),
        contact(json!({"e": 5.5}), false),
    ])
    .await;
    assert_eq!(fields, json!({"d": 4, "e": 5.5}));
    // Away from what is stored and back: the second is a change from the first.
    let fields = post(vec![
        contact(json!({"d": 5}), false),
        contact(json!({"d": 4}), false),
    ])
    .await;
    assert_eq!(fields, json!({"d": 4, "e": 5.5}));
    // A replacement with the fields held, and a merge of nothing new: as stored.
    let before = stored(&server).await;
    let fields = post(vec![
        contact(json!({"e": 5.5, "d": 4}), true),
        contact(json!({"d": 4}), false),
    ])
    .await;
    assert_eq!(fields, json!({"d": 4, "e": 5.5}));
    assert_eq!(stored(&server).await.2, before.2, "not rewritten");
}

/// The timestamps written in binary (PostgreSQL's COPY) are the instants sent: a signup date
/// with microseconds reads back as the same instant.
async fn a_signup_date_is_stored_to_the_microsecond(backend: Backend) {
    let server = Server::start(backend, &World::builtin()).await;
    let body = json!({"contacts": [{"phone_number": PHONE, "list_number": "+18005551234",
                                    "signup_date": "2025-03-15T16:30:00.123456+02:00"}]});
    let reply = server.post(serde_json::to_vec(&body).expect("json")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let phone = server.db.phone("phone");
    let seconds = match backend {
        Backend::Postgres => {
            "to_char(signup_date AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        }
        Backend::Sqlite => "signup_date",
    };
    for table in ["contacts", "memberships"] {
        let stored = server
            .db
            .text(
                &format!("SELECT {seconds} FROM {table} WHERE {phone} = $1"),
                &[PHONE],
            )
            .await;
        assert_eq!(
            stored.as_deref(),
            Some("2025-03-15T14:30:00.123456Z"),
            "{table}"
        );
    }
}

on_both_stores!(
    a_signup_date_is_stored_to_the_microsecond,
    an_unchanged_row_is_not_rewritten_and_a_changed_one_is,
    custom_fields_merge_over_what_each_earlier_occurrence_wrote,
    a_repeated_phone_is_applied_in_order_even_back_to_what_was_stored
);

//! 8 clients × 50 requests of 100 contacts over overlapping phone numbers, at the same time,
//! on one in-process server, on each store: every answer is the engine's, and the store ends
//! up holding exactly the union of the accepted contacts, with the summed counters equal to
//! the rows inserted. (`processes.rs`: the same across two server processes.) And merges of
//! custom fields into one membership from many requests at once: none is lost.

mod common;

use common::overlap::{self, Tally};
use common::{Backend, Server};
use serde_json::{Value, json};

const CLIENTS: usize = 8;
const REQUESTS: usize = 50;
const CONTACTS: usize = 100;

async fn concurrent_batches_leave_exactly_the_union_of_accepted_contacts(backend: Backend) {
    let world = overlap::world();
    let server = Server::start(backend, &world).await;
    assert_eq!(server.rows().await.contacts, 0);

    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let bodies = (0..REQUESTS)
                .map(|request| overlap::batch(client, request, CONTACTS, true))
                .collect();
            tokio::spawn(overlap::send_all(server.addr, bodies))
        })
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        for (body, reply) in task.await.expect("a client panicked") {
            tally.add(&world, &body, &reply);
        }
    }
    assert_eq!(tally.answers, CLIENTS * REQUESTS);
    tally.assert_store(&server.db).await;
    // Every membership's custom fields hold at least one client's write.
    assert_eq!(
        server
            .db
            .query_i64("SELECT count(*) AS n FROM memberships WHERE custom_fields = '{}'")
            .await,
        0
    );
}

/// The server merges custom fields over what the prefetch read (`store/flow.rs`,
/// `CustomFieldsUpdate::applied_to`), so the read and the write must not interleave with another request's:
/// 8 clients × 12 requests, each merging its own field into the same membership at once, and
/// the membership ends up holding all 96.
async fn concurrent_merges_into_one_membership_lose_no_field(backend: Backend) {
    const MERGES: usize = 12;
    let server = Server::start(backend, &overlap::world()).await;
    let phone = common::phone(7);
    // The membership exists first: every request below is a merge, none an insert.
    let first = json!({"contacts": [{"phone_number": phone, "list_number": overlap::LISTS[0]}]});
    let reply = server.post(serde_json::to_vec(&first).expect("json")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let bodies = (0..MERGES)
                .map(|request| {
                    let contact = json!({"phone_number": phone, "list_number": overlap::LISTS[0],
                                         "custom_fields": {format!("c{client}r{request}"): request}});
                    serde_json::to_vec(&json!({ "contacts": [contact] })).expect("json")
                })
                .collect();
            tokio::spawn(overlap::send_all(server.addr, bodies))
        })
        .collect();
    for task in tasks {
        for (_, reply) in task.await.expect("a client panicked") {
            assert_eq!(reply.status, 200, "{}", reply.text());
            assert_eq!(reply.json()["success_count"], 1);
        }
    }
    let column = server.db.phone("phone");
    let stored = server
        .db
        .text(
            &format!("SELECT custom_fields FROM memberships WHERE {column} = $1"),
            &[&phone],
        )
        .await
        .expect("the membership");
    let stored: Value = serde_json::from_str(&stored).expect("json");
    let expected: serde_json::Map<String, Value> = (0..CLIENTS)
        .flat_map(|client| (0..MERGES).map(move |r| (format!("c{client}r{r}"), json!(r))))
        .collect();
    assert_eq!(stored, Value::Object(expected), "every merge kept");
}

on_both_stores!(multi_thread; concurrent_batches_leave_exactly_the_union_of_accepted_contacts,
    concurrent_merges_into_one_membership_lose_no_field);

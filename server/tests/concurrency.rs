//! 8 clients × 50 requests of 100 contacts over overlapping phone numbers, at the same time:
//! every answer is the engine's, and the store ends up holding exactly the union of the
//! accepted contacts, with the summed counters equal to the rows inserted.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use bulk_contacts::testing::{Entry, World};
use bulk_contacts::{Carrier, Engine, Request, SendingList, Timestamp};
use common::{KEY, Server, phone};
use serde_json::{Value, json};

const CLIENTS: usize = 8;
const REQUESTS: usize = 50;
const CONTACTS: usize = 100;
const PHONES: usize = 700;
const LISTS: [&str; 3] = ["+18005551234", "+18005550001", "+18005559999"]; // the last: none

fn world() -> World {
    let mut world = World::builtin();
    world.lists.insert(
        LISTS[1].to_owned(),
        Entry::Answer(SendingList {
            welcome_journeys: 2,
        }),
    );
    for n in (0..PHONES).step_by(50) {
        world
            .carrier
            .insert(phone(n), Entry::Answer(Carrier::NotSendable));
    }
    world
}

/// A deterministic, well-mixed sequence (splitmix64).
struct Mix(u64);

impl Mix {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % bound as u64) as usize
    }
}

fn batch(client: usize, request: usize) -> Value {
    let mut mix = Mix((client * 1000 + request) as u64);
    let contacts: Vec<Value> = (0..CONTACTS)
        .map(|_| {
            let list = LISTS[if mix.next(20) == 0 { 2 } else { mix.next(2) }];
            json!({
                "phone_number": phone(mix.next(PHONES)),
                "list_number": list,
                "use_journeys": mix.next(2) == 0,
                "skip_journey_if_exists": mix.next(4) != 0,
                "custom_fields": {format!("c{client}"): request},
            })
        })
        .collect();
    json!({ "contacts": contacts })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_leave_exactly_the_union_of_accepted_contacts() {
    let world = world();
    let server = Server::start(&world).await;
    let before = server.rows();
    assert_eq!(before.contacts, 0);

    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let mut http = server.client();
        tasks.push(tokio::spawn(async move {
            let mut replies = Vec::with_capacity(REQUESTS);
            for request in 0..REQUESTS {
                let body = serde_json::to_vec(&batch(client, request)).expect("json");
                let reply = tokio::time::timeout(
                    Duration::from_secs(60),
                    http.post(Some(KEY.as_bytes()), body.clone()),
                )
                .await
                .expect("a request timed out")
                .expect("a request failed");
                replies.push((body, reply));
            }
            replies
        }));
    }

    let engine = Engine::default();
    let (mut phones, mut pairs) = (HashSet::new(), HashSet::new());
    let (mut created, mut list_created, mut journeys) = (0, 0, 0);
    for task in tasks {
        for (body, reply) in task.await.expect("a client panicked") {
            assert_eq!(reply.status, 200, "{}", reply.text());
            // The per-contact outcome does not depend on the store: the engine alone, on the
            // same world, gives the same errors.
            let alone = engine.handle(
                &Request {
                    api_key: Some(KEY.as_bytes()),
                    body: &body,
                    now: Timestamp::now(),
                },
                &world.account(),
                &world,
                &world,
                &world,
            );
            let alone: Value = serde_json::from_slice(&alone.body).expect("json");
            let summary = reply.json();
            for member in ["success_count", "error_count", "errors"] {
                assert_eq!(summary[member], alone[member], "{member}");
            }
            created += summary["contacts_created"].as_i64().expect("counter");
            list_created += summary["list_contacts_created"].as_i64().expect("counter");
            journeys += summary["journeys_enrolled"].as_i64().expect("counter");

            let failed: HashSet<u64> = summary["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .map(|entry| entry["index"].as_u64().expect("index"))
                .collect();
            let request: Value = serde_json::from_slice(&body).expect("json");
            for (index, contact) in request["contacts"]
                .as_array()
                .expect("contacts")
                .iter()
                .enumerate()
            {
                if !failed.contains(&(index as u64)) {
                    let phone = contact["phone_number"].as_str().expect("phone").to_owned();
                    let list = contact["list_number"].as_str().expect("list").to_owned();
                    phones.insert(phone.clone());
                    pairs.insert((phone, list));
                }
            }
        }
    }

    let stored_phones: HashSet<String> = server.store.with_connection(|c| {
        let mut query = c.prepare("SELECT phone FROM contacts").expect("prepare");
        query
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    });
    let stored_pairs: HashSet<(String, String)> = server.store.with_connection(|c| {
        let mut query = c
            .prepare(
                "SELECT m.phone, l.list_number FROM memberships m
                 JOIN sending_lists l ON l.id = m.list_id",
            )
            .expect("prepare");
        query
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    });
    assert_eq!(
        stored_phones, phones,
        "contacts = the union of accepted phones"
    );
    assert_eq!(
        stored_pairs, pairs,
        "memberships = the union of accepted (phone, list)"
    );
    let rows = server.rows();
    assert_eq!(
        rows.memberships as usize,
        pairs.len(),
        "no doubled membership"
    );
    assert_eq!(
        (rows.contacts, rows.memberships, rows.enrollments),
        (created, list_created, journeys),
        "summed counters = rows inserted"
    );
    // Every membership's custom fields hold at least one client's write.
    assert_eq!(
        server.query_i64("SELECT count(*) FROM memberships WHERE custom_fields = '{}'"),
        0
    );
}

//! Overlapping batches from several clients at once, and what the store must hold afterwards:
//! exactly the union of the accepted contacts and memberships, with the summed counters equal
//! to the rows.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use bulk_contacts::testing::Entry;
use bulk_contacts::testing::World;
use bulk_contacts::{Carrier, Engine, Request, SendingList, Timestamp};
use bulk_contacts_harness::client::{Client, Reply};
use serde_json::{Value, json};

use super::{Db, KEY, phone};

pub const PHONES: usize = 700;
pub const LISTS: [&str; 3] = ["+18005551234", "+18005550001", "+18005559999"]; // the last: none

pub fn world() -> World {
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

/// Request `request` of client `client`: `contacts` contacts over the shared phones and
/// lists. With `re_enrol`, a quarter set `skip_journey_if_exists: false` (enrolled again on
/// an existing membership); without, a re-send of the same batch creates nothing.
pub fn batch(client: usize, request: usize, contacts: usize, re_enrol: bool) -> Vec<u8> {
    let mut mix = Mix((client * 1000 + request) as u64);
    let contacts: Vec<Value> = (0..contacts)
        .map(|_| {
            let list = LISTS[if mix.next(20) == 0 { 2 } else { mix.next(2) }];
            let mut contact = json!({
                "phone_number": phone(mix.next(PHONES)),
                "list_number": list,
                "use_journeys": mix.next(2) == 0,
                "custom_fields": {format!("c{client}"): request},
            });
            if re_enrol && mix.next(4) == 0 {
                contact["skip_journey_if_exists"] = json!(false);
            }
            contact
        })
        .collect();
    serde_json::to_vec(&json!({ "contacts": contacts })).expect("json")
}

/// `bodies.len()` requests from one client, in order, each bounded in time.
pub async fn send_all(addr: SocketAddr, bodies: Vec<Vec<u8>>) -> Vec<(Vec<u8>, Reply)> {
    let mut http = Client::new(addr).expect("loopback");
    let mut replies = Vec::with_capacity(bodies.len());
    for body in bodies {
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
}

/// The sum of the answered counters and the union of what was accepted.
#[derive(Debug, Default)]
pub struct Tally {
    pub phones: HashSet<String>,
    pub pairs: HashSet<(String, String)>,
    pub created: i64,
    pub list_created: i64,
    pub journeys: i64,
    pub answers: usize,
}

impl Tally {
    /// Adds one answer: it must be 200 with exactly the errors the engine alone gives on the
    /// same world (the per-contact outcome does not depend on the store).
    pub fn add(&mut self, world: &World, body: &[u8], reply: &Reply) {
        assert_eq!(reply.status, 200, "{}", reply.text());
        let alone = Engine::default().handle(
            &Request {
                api_key: Some(KEY.as_bytes()),
                body,
                now: Timestamp::now(),
            },
            &world.account(),
            world,
            world,
            world,
        );
        let alone: Value = serde_json::from_slice(&alone.body).expect("json");
        let summary = reply.json();
        for member in ["success_count", "error_count", "errors"] {
            assert_eq!(summary[member], alone[member], "{member}");
        }
        self.answers += 1;
        self.created += summary["contacts_created"].as_i64().expect("counter");
        self.list_created += summary["list_contacts_created"].as_i64().expect("counter");
        self.journeys += summary["journeys_enrolled"].as_i64().expect("counter");

        let failed: HashSet<u64> = summary["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|entry| entry["index"].as_u64().expect("index"))
            .collect();
        let request: Value = serde_json::from_slice(body).expect("json");
        for (index, contact) in request["contacts"]
            .as_array()
            .expect("contacts")
            .iter()
            .enumerate()
        {
            if !failed.contains(&(index as u64)) {
                let phone = contact["phone_number"].as_str().expect("phone").to_owned();
                let list = contact["list_number"].as_str().expect("list").to_owned();
                self.phones.insert(phone.clone());
                self.pairs.insert((phone, list));
            }
        }
    }

    /// The store holds exactly the union of the accepted contacts and memberships (none
    /// lost, none doubled), and the summed counters are the rows.
    pub async fn assert_store(&self, db: &Db) {
        let stored_phones: HashSet<String> = db
            .rows_of(&format!("SELECT {} FROM contacts", db.phone("phone")), &[])
            .await
            .into_iter()
            .map(|row| row[0].clone().expect("phone"))
            .collect();
        let stored_pairs: HashSet<(String, String)> = db
            .rows_of(
                &format!(
                    "SELECT {}, l.list_number FROM memberships m
                     JOIN sending_lists l ON l.id = m.list_id",
                    db.phone("m.phone")
                ),
                &[],
            )
            .await
            .into_iter()
            .map(|row| {
                (
                    row[0].clone().expect("phone"),
                    row[1].clone().expect("list"),
                )
            })
            .collect();
        assert_eq!(
            stored_phones, self.phones,
            "contacts = the union of accepted phones"
        );
        assert_eq!(
            stored_pairs, self.pairs,
            "memberships = the union of accepted (phone, list)"
        );
        // No foreign key on phones since migration V4: the write path's order and locks keep
        // every membership with its contact and every enrollment with its membership.
        let orphans = db
            .query_i64(
                "SELECT count(*) AS n FROM memberships m
                 WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.phone = m.phone)",
            )
            .await;
        assert_eq!(orphans, 0, "every membership has its contact");
        let orphans = db
            .query_i64(
                "SELECT count(*) AS n FROM journey_enrollments e WHERE NOT EXISTS
                 (SELECT 1 FROM memberships m WHERE m.phone = e.phone AND m.list_id = e.list_id)",
            )
            .await;
        assert_eq!(orphans, 0, "every enrollment has its membership");
        let rows = db.rows().await;
        assert_eq!(
            rows.memberships as usize,
            self.pairs.len(),
            "no doubled membership"
        );
        assert_eq!(
            (rows.contacts, rows.memberships, rows.enrollments),
            (self.created, self.list_created, self.journeys),
            "summed counters = rows inserted"
        );
    }
}

//! 8 clients × 50 requests of 100 contacts over overlapping phone numbers, at the same time,
//! on one in-process server, on each store: every answer is the engine's, and the store ends
//! up holding exactly the union of the accepted contacts, with the summed counters equal to
//! the rows inserted. (`processes.rs`: the same across two server processes.)

mod common;

use common::overlap::{self, Tally};
use common::{Backend, Server};

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

on_both_stores!(multi_thread; concurrent_batches_leave_exactly_the_union_of_accepted_contacts);

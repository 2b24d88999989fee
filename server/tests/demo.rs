//! `--seed-demo` writes the server's own demo rows (`bulk_contacts_server::demo`, no
//! `testing` feature in the production build): they are SPEC §8's built-in world, and writing
//! them again changes nothing.

mod common;

use bulk_contacts::testing::World;
use bulk_contacts_server::demo;
use common::{Backend, Db};

#[test]
fn the_demo_seed_is_the_builtin_worlds_account_list_and_verdict() {
    assert_eq!(demo::seed(), common::world::seed("demo", &World::builtin()));
    assert_eq!(demo::KEY, common::KEY);
}

const TABLES: [&str; 7] = [
    "accounts",
    "api_keys",
    "sending_lists",
    "carrier_verdicts",
    "validation_results",
    "contacts",
    "memberships",
];

async fn seeding_the_demo_again_changes_nothing(backend: Backend) {
    // The built-in world through the tests' own seeding, then the demo seed twice.
    let db = Db::new(backend, &World::builtin()).await;
    let mut before = Vec::new();
    for table in TABLES {
        before.push(db.count(table).await);
    }
    assert_eq!(before, [1, 1, 1, 1, 0, 0, 0]);
    let id = db
        .query_i64("SELECT id FROM accounts WHERE name = 'demo'")
        .await;
    for _ in 0..2 {
        let seeded = match &db {
            Db::Sqlite(store) => demo::seed_demo(store).await,
            Db::Postgres(store) => demo::seed_demo(store).await,
        };
        assert_eq!(seeded.expect("seed"), id, "the same account");
        let mut after = Vec::new();
        for table in TABLES {
            after.push(db.count(table).await);
        }
        assert_eq!(after, before);
    }
    let list = db
        .query_i64("SELECT welcome_journeys FROM sending_lists WHERE list_number = '+18005551234'")
        .await;
    assert_eq!(list, 1);
}

on_both_stores!(seeding_the_demo_again_changes_nothing);

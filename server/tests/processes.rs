//! Scale-out on PostgreSQL: two server processes (the real binary) on one database, started
//! together on an empty database (the migration runs once), then 8 clients sending
//! overlapping batches to both at once. Every answer is 200 with the engine's errors (no
//! unique violation, no deadlock), the summed counters are exactly the distinct phones,
//! memberships and enrollments in the store, and a re-send of everything creates nothing.
//! Twice: with the default runtime (a worker per CPU), and as one instance per core is
//! deployed (`--worker-threads 1`: each process on one thread, the engine inline).

mod common;

use bulk_contacts_server::PgStore;
use common::overlap::{self, Tally};
use common::{Db, Process};

const CLIENTS: usize = 8;
const REQUESTS: usize = 25;
const CONTACTS: usize = 100;

/// Every client's batches, client `c` to process `c % 2`; the replies in any order.
async fn send(
    addrs: [std::net::SocketAddr; 2],
) -> Vec<(Vec<u8>, bulk_contacts_harness::client::Reply)> {
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let bodies = (0..REQUESTS)
                .map(|request| overlap::batch(client, request, CONTACTS, false))
                .collect();
            tokio::spawn(overlap::send_all(addrs[client % 2], bodies))
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.extend(task.await.expect("a client panicked"));
    }
    replies
}

/// Two processes started together with `args` and `--database-url URL` on a fresh database;
/// each process's "listening" line must contain `workers`.
async fn two_processes_count_exactly_and_a_resend_creates_nothing(args: &[&str], workers: &str) {
    let url = common::fresh_postgres_url().await;
    let args = [args, &["--database-url", &url]].concat();
    let processes: Vec<Process> = std::thread::scope(|scope| {
        let starting: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| Process::start(&args)))
            .collect();
        starting
            .into_iter()
            .map(|thread| thread.join().expect("a server started"))
            .collect()
    });
    for process in &processes {
        assert!(
            process.listening.contains(workers),
            "{args:?}: {:?} should say {workers:?}",
            process.listening
        );
    }
    let store = PgStore::connect(&url, 4).await.expect("connect");
    let world = overlap::world();
    common::world::seed_world(&store, "demo", &world)
        .await
        .expect("seed");
    let db = Db::Postgres(store);
    assert_eq!(
        db.query_i64("SELECT count(*) AS n FROM refinery_schema_history")
            .await,
        common::migrations(common::Backend::Postgres),
        "two instances starting together apply each migration once"
    );
    let addrs = [processes[0].addr, processes[1].addr];

    let mut tally = Tally::default();
    for (body, reply) in send(addrs).await {
        tally.add(&world, &body, &reply);
    }
    assert_eq!(tally.answers, CLIENTS * REQUESTS);
    tally.assert_store(&db).await;
    assert!(tally.created > 0 && tally.journeys > 0, "{tally:?}");

    // Everything again, the same way: it all exists, nothing is created.
    let before = db.rows().await;
    let mut again = Tally::default();
    for (body, reply) in send(addrs).await {
        again.add(&world, &body, &reply);
    }
    assert_eq!(again.answers, CLIENTS * REQUESTS);
    assert_eq!(
        (again.created, again.list_created, again.journeys),
        (0, 0, 0),
        "a re-send creates nothing"
    );
    assert_eq!(db.rows().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_server_processes_on_one_postgres_count_exactly_and_a_resend_creates_nothing() {
    if common::skip_postgres(
        "two_server_processes_on_one_postgres_count_exactly_and_a_resend_creates_nothing",
    ) {
        return;
    }
    // The default: a worker thread per CPU, however many this machine has.
    two_processes_count_exactly_and_a_resend_creates_nothing(&[], "worker thread").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_single_threaded_processes_on_one_postgres_count_exactly() {
    if common::skip_postgres("two_single_threaded_processes_on_one_postgres_count_exactly") {
        return;
    }
    two_processes_count_exactly_and_a_resend_creates_nothing(
        &["--worker-threads", "1"],
        "1 worker thread)",
    )
    .await;
}

#[test]
fn three_worker_threads_are_three() {
    // A multi-threaded runtime of the size asked, whatever this machine's CPU count; SQLite,
    // so that no PostgreSQL is needed to read the runtime's own count.
    let server = Process::start(&["--worker-threads", "3"]);
    assert!(
        server.listening.ends_with(", 3 worker threads)"),
        "{:?}",
        server.listening
    );
}

#[test]
fn worker_threads_must_be_from_1_to_1024() {
    for bad in ["0", "1025", "-1", "two", ""] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_bulk-contacts-server"))
            .args([
                &format!("--worker-threads={bad}"),
                "--listen",
                "127.0.0.1:0",
            ])
            .output()
            .expect("run the server");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(
            stderr.contains("--worker-threads"),
            "{bad:?}: the error names the option: {stderr}"
        );
    }
}

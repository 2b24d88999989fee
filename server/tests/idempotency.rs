//! `Idempotency-Key` (SPEC §10.1), on both stores: a replay gets the stored status and body
//! byte for byte and writes nothing — also after the server was killed between COMMIT and
//! answer; another body with the same key is 422; a key in flight is 409; the header is
//! validated; keys are per account; old answers expire in small batches.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bulk_contacts::testing::World;
use bulk_contacts_server::http::{IDEMPOTENCY_KEY_IN_PROGRESS_BODY, INVALID_IDEMPOTENCY_KEY_BODY};
use bulk_contacts_server::pipeline::{EXPIRY_BATCH, IDEMPOTENCY_KEY_REUSED_BODY};
use bulk_contacts_server::store::Seed;
use bulk_contacts_server::{PgStore, SqliteStore, Store};
use common::{Backend, Db, KEY, Process, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const REQUEST: &[u8] = include_bytes!("../../examples/request.json");

/// A second account's key.
const OTHER_KEY: &str = "trk_OTHER000000000000000000000000000";

#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

fn request(body: &[u8], api_key: &str, extra: &str) -> Vec<u8> {
    let mut bytes = format!(
        "POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nX-Api-Key: {api_key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads a response whole; `None` when the connection ended without one.
async fn read(stream: &mut TcpStream) -> Option<Raw> {
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(common::TIMEOUT, stream.read_to_end(&mut bytes))
        .await
        .expect("neither an answer nor a close");
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..split]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some(Raw {
        status,
        head,
        body: bytes[split + 4..].to_vec(),
    })
}

async fn send(addr: SocketAddr, bytes: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    read(&mut stream).await.expect("an answer")
}

async fn post(addr: SocketAddr, body: &[u8], key: &str) -> Raw {
    send(
        addr,
        &request(body, KEY, &format!("Idempotency-Key: {key}\r\n")),
    )
    .await
}

async fn seed_other_account(db: &Db) {
    let seed = Seed {
        name: "other".to_owned(),
        billing: bulk_contacts::Billing::Active,
        api_keys: vec![OTHER_KEY.to_owned()],
        lists: vec![("+18005551234".to_owned(), 1)],
        now: "2026-01-01T00:00:00Z".parse().expect("a timestamp"),
        ..Seed::default()
    };
    match db {
        Db::Sqlite(store) => store.seed(&seed).await,
        Db::Postgres(store) => store.seed(&seed).await,
    }
    .expect("seed the other account");
}

async fn a_replay_is_byte_identical_writes_nothing_and_another_body_is_422(backend: Backend) {
    let server = Server::start(backend, &World::builtin()).await;
    let first = post(server.addr, REQUEST, "import-2026-12-03").await;
    assert_eq!(first.status, 200, "{first:?}");
    assert!(!first.head.contains("idempotent-replayed"), "{first:?}");
    let rows = server.rows().await;

    for _ in 0..3 {
        let again = post(server.addr, REQUEST, "import-2026-12-03").await;
        assert_eq!(
            (again.status, &again.body),
            (200, &first.body),
            "byte for byte"
        );
        assert!(
            again.head.contains("idempotent-replayed: true"),
            "{again:?}"
        );
    }
    assert_eq!(server.rows().await, rows, "a replay writes nothing");
    // Without the key, the same request is processed again: nothing new to create.
    let unkeyed = send(server.addr, &request(REQUEST, KEY, "")).await;
    assert_eq!(unkeyed.status, 200);
    assert_ne!(
        unkeyed.body, first.body,
        "the stored answer is the first one's"
    );

    // The same key with another body: 422, nothing written.
    let other = br#"{"contacts":[{"phone_number":"+14155550100","list_number":"+18005551234"}]}"#;
    let reused = post(server.addr, other, "import-2026-12-03").await;
    assert_eq!(
        (reused.status, reused.body.as_slice()),
        (422, IDEMPOTENCY_KEY_REUSED_BODY.as_bytes())
    );
    assert_eq!(server.rows().await, rows);

    // Keys are per account: the other account's same key is its own request.
    seed_other_account(&server.db).await;
    let theirs = send(
        server.addr,
        &request(other, OTHER_KEY, "Idempotency-Key: import-2026-12-03\r\n"),
    )
    .await;
    assert_eq!(theirs.status, 200, "{theirs:?}");
    assert!(!theirs.head.contains("idempotent-replayed"));
    assert_eq!(server.rows().await.contacts, rows.contacts + 1);

    // A rejected request (400) stores nothing: the key is free for a good body afterwards.
    let bad = post(server.addr, b"{}", "fresh-key").await;
    assert_eq!(bad.status, 400);
    let good = post(server.addr, other, "fresh-key").await;
    assert_eq!(good.status, 200, "{good:?}");
}

async fn a_bad_idempotency_key_is_400_and_255_visible_characters_are_fine(backend: Backend) {
    let server = Server::start(backend, &World::builtin()).await;
    let long = "k".repeat(256);
    for extra in [
        "Idempotency-Key: \r\n".to_owned(),
        format!("Idempotency-Key: {long}\r\n"),
        "Idempotency-Key: two words\r\n".to_owned(),
        "Idempotency-Key: caf\u{e9}\r\n".to_owned(),
        "Idempotency-Key: a\r\nIdempotency-Key: a\r\n".to_owned(),
    ] {
        let reply = send(server.addr, &request(REQUEST, KEY, &extra)).await;
        assert_eq!(
            (reply.status, reply.body.as_slice()),
            (400, INVALID_IDEMPOTENCY_KEY_BODY.as_bytes()),
            "{extra:?}"
        );
    }
    assert_eq!(server.rows().await.contacts, 0, "nothing written");
    let visible: String = (0x21u8..=0x7e).map(char::from).cycle().take(255).collect();
    let reply = post(server.addr, REQUEST, &visible).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let again = post(server.addr, REQUEST, &visible).await;
    assert_eq!(again.body, reply.body);
}

async fn a_key_in_flight_is_409_until_its_request_is_answered(backend: Backend) {
    let server = Server::start(backend, &World::builtin()).await;
    // A request with the key, held after its head and part of its body, and polls with the same
    // key and a body answered 400 (which stores nothing), so a poll never takes the key for
    // good. Which of the two takes the key first is a race the test cannot order from outside:
    // when a poll was in flight as the held request arrived, the held one is answered 409
    // itself (the same rule, seen from the other side), and the round is run again with a
    // fresh key.
    for round in 0..10 {
        let key = format!("held-{round}");
        let whole = request(REQUEST, KEY, &format!("Idempotency-Key: {key}\r\n"));
        let split = whole.len() - REQUEST.len() + 10;
        let mut held = TcpStream::connect(server.addr).await.expect("connect");
        held.write_all(&whole[..split]).await.expect("write");
        let mut busy = None;
        for _ in 0..100 {
            let reply = post(server.addr, b"{}", &key).await;
            assert!(matches!(reply.status, 400 | 409), "{reply:?}");
            if reply.status == 409 {
                busy = Some(reply);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let Some(busy) = busy else {
            // The held request lost the race: it must have been answered 409 itself.
            let lost = read(&mut held).await.expect("the held request's answer");
            assert_eq!(lost.body, IDEMPOTENCY_KEY_IN_PROGRESS_BODY.as_bytes());
            continue;
        };
        assert_eq!(busy.body, IDEMPOTENCY_KEY_IN_PROGRESS_BODY.as_bytes());
        held.write_all(&whole[split..])
            .await
            .expect("write the rest");
        let first = read(&mut held).await.expect("the first's answer");
        assert_eq!(first.status, 200);
        let replay = post(server.addr, REQUEST, &key).await;
        assert_eq!((replay.status, replay.body), (200, first.body));
        return;
    }
    panic!("the held request lost the race for its key 10 times in a row");
}

async fn answers_older_than_24_hours_expire_in_small_batches(backend: Backend) {
    let world = World::builtin();
    let db = Db::new(backend, &world).await;
    let now = bulk_contacts_server::pipeline::unix_now();
    let day = 24 * 60 * 60;
    // 1,200 answers a day and a minute old, 3 an hour old, in one statement each.
    let insert = |n: usize, age: i64| {
        format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {n})
             INSERT INTO idempotency_keys
                 (account_id, key, request_sha256, status, body, created_at)
             SELECT (SELECT id FROM accounts WHERE name = 'demo'), 'k{age}-' || n, 'h', 200,
                    CAST('{{}}' AS {blob}), {}
             FROM g",
            now - age,
            blob = if backend == Backend::Sqlite {
                "BLOB"
            } else {
                "bytea"
            }
        )
    };
    db.execute(&insert(1200, day + 60)).await;
    db.execute(&insert(3, 3600)).await;
    assert_eq!(db.count("idempotency_keys").await, 1203);
    // One batch at a time: never more than EXPIRY_BATCH rows per transaction.
    let before = now - day;
    let deleted = match &db {
        Db::Sqlite(store) => store.expire_answers(before, EXPIRY_BATCH).await,
        Db::Postgres(store) => store.expire_answers(before, EXPIRY_BATCH).await,
    }
    .expect("expire");
    assert_eq!(deleted, EXPIRY_BATCH as u64);
    // The sweep the server runs: batch after batch until none is left.
    let app = match &db {
        Db::Sqlite(store) => {
            bulk_contacts_server::App::new(store.clone())
                .expire_answers(now)
                .await
        }
        Db::Postgres(store) => {
            bulk_contacts_server::App::new(store.clone())
                .expire_answers(now)
                .await
        }
    };
    assert_eq!(app.expect("the sweep"), 1200 - EXPIRY_BATCH as u64);
    assert_eq!(
        db.count("idempotency_keys").await,
        3,
        "the recent ones stay"
    );
}

on_both_stores!(
    multi_thread;
    a_replay_is_byte_identical_writes_nothing_and_another_body_is_422,
    a_bad_idempotency_key_is_400_and_255_visible_characters_are_fine,
    a_key_in_flight_is_409_until_its_request_is_answered,
    answers_older_than_24_hours_expire_in_small_batches,
);

/// Batch `i` of the crash test: a new phone (accepted, written, enrolled) and the demo's
/// not-sendable one.
fn batch(i: usize) -> Vec<u8> {
    format!(
        r#"{{"contacts":[{{"phone_number":"+1415555{i:04}","list_number":"+18005551234","use_journeys":true}},{{"phone_number":"+13105558888","list_number":"+18005551234"}}]}}"#
    )
    .into_bytes()
}

/// The real binary, killed (SIGKILL) after its COMMIT and before its answer (the hidden
/// `--pause-after-commit` hook), ten times: started again on the same store, the same request
/// with the same key gets the answer the first would have got, byte for byte, and writes
/// nothing.
async fn a_replay_after_kill_9_between_commit_and_answer_is_the_original_answer(backend: Backend) {
    let control = Server::start(Backend::Sqlite, &World::builtin()).await;
    let (option, target) = match backend {
        Backend::Sqlite => {
            let file = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("idempotency-{}.db", std::process::id()));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            ("--db", file.to_str().expect("utf-8").to_owned())
        }
        Backend::Postgres => ("--database-url", common::fresh_postgres_url().await),
    };
    for i in 0..10 {
        let body = batch(i);
        let key = format!("crash-{i}");
        let mut server =
            Process::start(&[option, &target, "--seed-demo", "--pause-after-commit", "60"]);
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        let bytes = request(&body, KEY, &format!("Idempotency-Key: {key}\r\n"));
        stream.write_all(&bytes).await.expect("write");
        let paused = (0..50)
            .map_while(|_| server.lines.recv_timeout(Duration::from_secs(30)).ok())
            .any(|line| line.contains("committed, pausing before the answer"));
        assert!(paused, "round {i}: the server committed and paused");
        server.signal("KILL");
        assert!(
            server.wait_exit(Duration::from_secs(30)).is_some(),
            "killed"
        );
        assert!(
            read(&mut stream).await.is_none(),
            "round {i}: no answer reached the client"
        );
        drop(server);

        let server = Process::start(&[option, &target]);
        let db = match backend {
            Backend::Sqlite => Db::Sqlite(SqliteStore::open(&target).expect("open")),
            Backend::Postgres => Db::Postgres(PgStore::connect(&target, 1).await.expect("connect")),
        };
        let rows = db.rows().await;
        assert_eq!(
            rows.contacts,
            i as i64 + 1,
            "round {i}: the batch was committed"
        );
        let replay = send(server.addr, &bytes).await;
        let original = send(control.addr, &request(&body, KEY, "")).await;
        assert_eq!(original.status, 200);
        assert_eq!(
            (replay.status, String::from_utf8_lossy(&replay.body)),
            (200, String::from_utf8_lossy(&original.body)),
            "round {i}: byte for byte"
        );
        assert!(replay.head.contains("idempotent-replayed: true"));
        assert_eq!(db.rows().await, rows, "round {i}: the replay wrote nothing");
    }
}

on_both_stores!(
    multi_thread;
    a_replay_after_kill_9_between_commit_and_answer_is_the_original_answer,
);

//! The real binary, as the README runs it: `--db FILE --seed-demo --listen 127.0.0.1:0`,
//! then the documented request.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bulk_contacts_server::client::Client;

/// Kills the server when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_seeds_the_demo_and_answers_the_documented_example() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let db = dir.join(format!("binary-test-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_bulk-contacts-server"))
        .args(["--db", db.to_str().expect("utf-8 path")])
        .args(["--seed-demo", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let stderr = child.stderr.take().expect("stderr");
    let _running = Running(child);

    // "listening on http://ADDR (database …)", within a bounded number of lines and time.
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr: SocketAddr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines_rx
            .recv_timeout(left)
            .expect("the server printed its address");
        if let Some(rest) = line.strip_prefix("listening on http://") {
            break rest
                .split_whitespace()
                .next()
                .and_then(|addr| addr.parse().ok())
                .expect("an address");
        }
    };

    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/request.json"
    ))
    .expect("examples/request.json");
    let mut client = Client::new(addr).expect("loopback");
    let reply = tokio::time::timeout(
        common::TIMEOUT,
        client.post(Some(common::KEY.as_bytes()), body),
    )
    .await
    .expect("timed out")
    .expect("request");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.text(),
        r#"{"success_count":2,"error_count":1,"errors":[{"index":2,"phone_number":"+13105558888","code":"not_sendable","error":"Phone number failed carrier validation"}],"contacts_created":2,"list_contacts_created":2,"journeys_enrolled":1}"#
    );
    // One log line per request: status, contacts, duration.
    let log = lines_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a log line");
    assert!(
        log.contains("status=200") && log.contains("contacts=3") && log.contains("duration_ms="),
        "{log}"
    );

    // The file holds what was written.
    let connection = rusqlite::Connection::open(&db).expect("open the file");
    let contacts: i64 = connection
        .query_row("SELECT count(*) FROM contacts", [], |row| row.get(0))
        .expect("count");
    assert_eq!(contacts, 2);
}

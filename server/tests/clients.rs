//! Real clients against early answers (SPEC §10.1, "every answer can be read"): Python's
//! `http.client` — which writes the whole body before it reads, like `requests` and most SDKs
//! — and curl, sending multi-megabyte bodies that the server answers before reading them
//! (401, 413, 415, 503). Each must read the server's answer, not a broken pipe or a reset:
//! the server drains the unread body before it closes (lingering close).
//! (`server/scripts/real_clients.sh` runs the same cases with `requests` and Node's `http`,
//! and the load goals.)

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bulk_contacts::Rejection;
use bulk_contacts_server::config::Config;
use bulk_contacts_server::demo;
use bulk_contacts_server::http::{OVERLOADED_BODY, UNSUPPORTED_MEDIA_TYPE_BODY};
use bulk_contacts_server::metrics::TimedStore;
use bulk_contacts_server::pipeline::App;
use bulk_contacts_server::{SqliteStore, spawn_with};
use common::KEY;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The documented request.
const REQUEST_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/request.json");

const POST_PY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/post.py");

/// 4 MB: far more than the sockets buffer between client and server on loopback, so a
/// server that closed without draining would cut the client mid-write.
const FOUR_MB: usize = 4_000_000;

async fn server(config: Config) -> SocketAddr {
    let store = SqliteStore::open(":memory:").expect("open");
    demo::seed_demo(&store).await.expect("seed");
    let app = App::with_limits(TimedStore(store), config.limits().expect("valid limits"));
    spawn_with(SocketAddr::from(([127, 0, 0, 1], 0)), Arc::new(app), config)
        .await
        .expect("bind")
}

/// `server/scripts/post.py ADDR ARGS…`: one POST through `http.client`, its answer as JSON.
async fn python(addr: SocketAddr, args: &[&str]) -> Value {
    let mut command = Command::new("python3");
    command.arg(POST_PY).arg(addr.to_string()).args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("python3 runs");
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("one JSON line")
}

/// curl, with `Expect:` emptied so that it writes the whole body before reading (as it
/// otherwise waits for `100 Continue`); returns (status, headers, body).
async fn curl(addr: SocketAddr, headers: &[String], body: Vec<u8>) -> (u16, String, String) {
    let dir = std::env::temp_dir().join(format!("bulk-clients-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join(format!("body-{}", body.len()));
    std::fs::write(&file, &body).expect("write the body");
    let mut command = Command::new("curl");
    command
        .args(["-sS", "-D", "-", "--max-time", "60", "-H", "Expect:"])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()));
    for header in headers {
        command.arg("-H").arg(header);
    }
    command.arg(format!("http://{addr}/v2/contacts/bulk"));
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("curl runs");
    assert!(output.status.success(), "curl: {output:?}");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    let status = head.split_whitespace().nth(1).expect("a status").parse();
    (
        status.expect("a number"),
        head.to_ascii_lowercase(),
        body.to_owned(),
    )
}

fn body_of(rejection: Rejection) -> String {
    String::from_utf8(common::rejected(rejection).body).expect("utf-8")
}

fn padded(size: usize) -> Vec<u8> {
    let mut body = b"{\"contacts\":[]".to_vec();
    body.resize(size - 1, b' ');
    body.push(b'}');
    body
}

/// Asserts the client read `status` and `body` (not an exception), with `Connection: close`.
fn assert_read(reply: &Value, status: u16, body: &str) {
    assert_eq!(
        (reply["status"].as_u64(), reply["body"].as_str()),
        (Some(u64::from(status)), Some(body)),
        "the client's result: {reply}"
    );
    assert_eq!(reply["connection"].as_str(), Some("close"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_client_reads_401_415_and_413_sent_before_its_body() {
    let addr = server(Config::default()).await;
    let wrong_key = "trk_00000000000000000000000000000000";
    let size = FOUR_MB.to_string();
    let reply = python(addr, &["--key", wrong_key, "--bytes", &size]).await;
    assert_read(&reply, 401, &body_of(Rejection::InvalidApiKey));
    let reply = python(addr, &["--key", "", "--bytes", &size]).await;
    assert_read(&reply, 401, &body_of(Rejection::MissingApiKey));
    let reply = python(addr, &["--content-type", "text/csv", "--bytes", &size]).await;
    assert_read(&reply, 415, UNSUPPORTED_MEDIA_TYPE_BODY);
    // Declared over the 5 MiB limit: answered from the head, before any byte is read.
    let reply = python(addr, &["--bytes", "6000000"]).await;
    assert_read(&reply, 413, &body_of(Rejection::PayloadTooLarge));
    // Chunked: read up to the limit, then answered, the rest drained.
    let reply = python(addr, &["--bytes", "8000000", "--chunked"]).await;
    assert_read(&reply, 413, &body_of(Rejection::PayloadTooLarge));
    // And the server still answers a good request.
    let reply = python(addr, &["--file", REQUEST_FILE]).await;
    assert_eq!(reply["status"], 200, "{reply}");
}

/// Holds one request mid-body on a server with one slot, so that the next gets 503.
async fn hold_the_only_slot(addr: SocketAddr) -> TcpStream {
    let mut held = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nX-Api-Key: {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    held.write_all(head.as_bytes()).await.expect("write");
    // The head is read and the slot taken within moments; poll until a probe is shed.
    for _ in 0..250 {
        let probe = python(addr, &["--bytes", "100"]).await;
        if probe["status"] == 503 {
            return held;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the slot was never taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_client_reads_503_shed_before_its_body() {
    let addr = server(Config {
        max_in_flight: 1,
        body_idle_timeout: Duration::from_secs(60),
        body_timeout: Duration::from_secs(60),
        ..Config::default()
    })
    .await;
    let _held = hold_the_only_slot(addr).await;
    for _ in 0..3 {
        let reply = python(addr, &["--bytes", &FOUR_MB.to_string()]).await;
        assert_read(&reply, 503, OVERLOADED_BODY);
        assert_eq!(reply["retry_after"], "1", "{reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_reads_every_early_answer_after_writing_its_body() {
    let addr = server(Config {
        max_in_flight: 1,
        body_idle_timeout: Duration::from_secs(60),
        body_timeout: Duration::from_secs(60),
        ..Config::default()
    })
    .await;
    let json = "Content-Type: application/json".to_owned();
    let key = format!("X-Api-Key: {KEY}");
    let wrong = "X-Api-Key: trk_00000000000000000000000000000000".to_owned();
    let (status, head, body) = curl(addr, &[json.clone(), wrong], padded(FOUR_MB)).await;
    assert_eq!((status, body), (401, body_of(Rejection::InvalidApiKey)));
    assert!(head.contains("connection: close"), "{head}");
    let csv = "Content-Type: text/csv".to_owned();
    let (status, _, body) = curl(addr, &[csv, key.clone()], padded(FOUR_MB)).await;
    assert_eq!((status, body.as_str()), (415, UNSUPPORTED_MEDIA_TYPE_BODY));
    let headers = [json.clone(), key.clone()];
    let (status, _, body) = curl(addr, &headers, padded(6_000_000)).await;
    assert_eq!((status, body), (413, body_of(Rejection::PayloadTooLarge)));
    let _held = hold_the_only_slot(addr).await;
    let (status, head, body) = curl(addr, &headers, padded(FOUR_MB)).await;
    assert_eq!((status, body.as_str()), (503, OVERLOADED_BODY));
    assert!(head.contains("retry-after: 1"), "{head}");
}

//! New connections under an idle flood (issue 19, item 4): past `--max-connections` the
//! server keeps accepting, closing the connection that has waited longest for a request head
//! (idle keep-alive, or an unfinished head) — never one whose request is in progress. Raw TCP
//! clients; the header timeout is an hour, so without that eviction a connection that sends
//! nothing would hold its slot for the whole test and the legitimate requests here would
//! never be answered.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bulk_contacts_server::config::Config;
use bulk_contacts_server::demo;
use bulk_contacts_server::metrics::TimedStore;
use bulk_contacts_server::pipeline::App;
use bulk_contacts_server::{SqliteStore, spawn_with};
use common::{KEY, Process};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The documented request (`examples/request.json`).
const REQUEST: &[u8] = include_bytes!("../../examples/request.json");

/// `GET /healthz`, keeping the connection open.
const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

/// The body of its answer.
const OK: &str = r#"{"status":"ok"}"#;

/// Half a request head, as a slow or hostile client leaves it.
const HALF_HEAD: &[u8] = b"POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nX-Api-";

/// A server over a fresh in-memory SQLite store seeded with the demo world: at most `cap`
/// connections, and timeouts of an hour (an idle connection, or a request held mid-body, is
/// never cut by time).
async fn server(cap: usize) -> SocketAddr {
    let config = Config {
        max_connections: cap,
        header_timeout: Duration::from_secs(3600),
        body_idle_timeout: Duration::from_secs(3600),
        body_timeout: Duration::from_secs(3600),
        ..Config::default()
    };
    let store = SqliteStore::open(":memory:").expect("open");
    demo::seed_demo(&store).await.expect("seed");
    let app = App::with_limits(TimedStore(store), config.limits().expect("valid limits"));
    spawn_with(SocketAddr::from(([127, 0, 0, 1], 0)), Arc::new(app), config)
        .await
        .expect("bind")
}

/// The documented request with the demo key, its head and body, `Connection: close`.
fn post() -> Vec<u8> {
    let mut bytes = format!(
        "POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nX-Api-Key: {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        REQUEST.len()
    )
    .into_bytes();
    bytes.extend_from_slice(REQUEST);
    bytes
}

/// The status and body of what the server sends until it closes (60 s at most); `None` when
/// it closed (or reset) without a byte.
async fn read_answer(stream: &mut TcpStream) -> Option<(u16, String)> {
    let mut bytes = Vec::new();
    tokio::time::timeout(common::TIMEOUT, stream.read_to_end(&mut bytes))
        .await
        .expect("the server neither answered nor closed")
        .ok();
    parse(&bytes)
}

fn parse(bytes: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// Sends `request` on a new connection and reads the answer, from a thread of its own with
/// blocking I/O: under the tests' floods (tasks of the test's runtime), a task could be held
/// up between its connect and its write, and a connection that has not sent its head is
/// fair game for eviction.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Option<(u16, String)> {
    use std::io::{ErrorKind, Read, Write};
    let request = request.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.write_all(&request).expect("write");
        stream
            .set_read_timeout(Some(common::TIMEOUT))
            .expect("a timeout");
        let mut bytes = Vec::new();
        if let Err(error) = stream.read_to_end(&mut bytes) {
            let late = matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
            assert!(!late, "the server neither answered nor closed");
        }
        parse(&bytes)
    })
    .await
    .expect("the client's thread")
}

/// A keep-alive connection that has been answered one `GET /healthz` and now waits for its
/// next request.
async fn keep_alive(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    healthz_again(&mut stream).await;
    stream
}

/// Sends `GET /healthz` on `stream` and reads its answer (the connection stays open).
async fn healthz_again(stream: &mut TcpStream) {
    stream.write_all(HEALTHZ).await.expect("write");
    let mut bytes = Vec::new();
    let mut buffer = [0; 1024];
    while !bytes.ends_with(OK.as_bytes()) {
        let read = tokio::time::timeout(common::TIMEOUT, stream.read(&mut buffer))
            .await
            .expect("no answer");
        match read {
            Ok(0) | Err(_) => panic!("closed before the answer: {bytes:?}"),
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
        }
    }
    assert!(bytes.starts_with(b"HTTP/1.1 200 "), "{bytes:?}");
}

/// A bulk request whose handler is running: its head sent with `Expect: 100-continue`, the
/// `100 Continue` read (hyper sends it when the handler starts reading the body), then the
/// first `sent` bytes of the body. Its connection is busy until the rest is sent.
async fn mid_body(addr: SocketAddr, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nX-Api-Key: {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\
         Expect: 100-continue\r\n\r\n",
        REQUEST.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut bytes = Vec::new();
    let mut buffer = [0; 256];
    while !bytes.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(common::TIMEOUT, stream.read(&mut buffer))
            .await
            .expect("no 100 Continue")
            .expect("read");
        assert!(n > 0, "closed before 100 Continue");
        bytes.extend_from_slice(&buffer[..n]);
    }
    assert!(bytes.starts_with(b"HTTP/1.1 100 "), "{bytes:?}");
    stream.write_all(&REQUEST[..sent]).await.expect("write");
    stream
}

/// Sends the rest of `mid_body`'s body and reads its answer: the documented 200.
async fn finish(mut stream: TcpStream, sent: usize) {
    stream.write_all(&REQUEST[sent..]).await.expect("write");
    let (status, body) = read_answer(&mut stream).await.expect("an answer");
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with(r#"{"success_count":2,"#), "{body}");
}

/// Whether the server has closed `stream` without sending anything more.
async fn closed(stream: &mut TcpStream) -> bool {
    read_answer(stream).await.is_none()
}

/// The value of `name` in `/metrics`.
async fn metric(addr: SocketAddr, name: &str) -> f64 {
    let request = b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    let (status, text) = exchange(addr, request).await.expect("metrics");
    assert_eq!(status, 200);
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_cap_the_connection_waiting_longest_for_a_head_makes_room() {
    let addr = server(2).await;
    // Two idle keep-alive connections: the first has waited longer.
    let mut first = keep_alive(addr).await;
    let mut second = keep_alive(addr).await;
    // A third client is served: the first was closed for it.
    let mut third = keep_alive(addr).await;
    assert!(closed(&mut first).await, "the connection waiting longest");
    // The second answers again: the third has now waited longest, and a connection that
    // sends half a head takes its place.
    healthz_again(&mut second).await;
    let mut half = TcpStream::connect(addr).await.expect("connect");
    half.write_all(HALF_HEAD).await.expect("write");
    assert!(
        closed(&mut third).await,
        "the idle keep-alive waiting longest"
    );
    // An unfinished head waits from when it was accepted: once the second has answered
    // again, it is the one waiting longest.
    healthz_again(&mut second).await;
    let mut fourth = keep_alive(addr).await;
    assert!(
        closed(&mut half).await,
        "the unfinished head waiting longest"
    );
    healthz_again(&mut second).await;
    healthz_again(&mut fourth).await;
    // The metrics' own connection made room too (the fourth eviction).
    assert_eq!(
        metric(addr, "bulk_contacts_connections_evicted_total").await,
        4.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_request_is_in_progress_is_never_closed_to_make_room() {
    let addr = server(2).await;
    // The oldest connection is busy: its request's body is being read.
    let busy = mid_body(addr, 10).await;
    let mut idle = keep_alive(addr).await;
    // The new client takes the idle one's place, not the busy one's.
    let mut new = keep_alive(addr).await;
    assert!(closed(&mut idle).await);
    healthz_again(&mut new).await;
    finish(busy, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_connection_busy_a_new_one_waits_for_a_slot() {
    let addr = server(1).await;
    let busy = mid_body(addr, 10).await;
    let mut waiting = TcpStream::connect(addr).await.expect("connect");
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    // Nothing for it while the only slot is busy (neither an answer nor a close)...
    let mut byte = [0; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), waiting.read(&mut byte)).await;
    assert!(early.is_err(), "answered or closed while the slot was busy");
    // ...then the busy request ends, and the waiting connection is served.
    finish(busy, 10).await;
    assert_eq!(read_answer(&mut waiting).await, Some((200, OK.to_owned())));
}

/// `sockets` connections kept open to `addr`, each re-opened as soon as the server closes
/// it; every other one sends half a request head, the rest nothing. Until `stop`.
fn flood(
    addr: SocketAddr,
    sockets: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<usize>> {
    (0..sockets)
        .map(|i| {
            let stop = Arc::clone(stop);
            tokio::spawn(async move {
                let mut opened = 0;
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut stream) = TcpStream::connect(addr).await else {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    };
                    opened += 1;
                    if i % 2 == 1 && stream.write_all(HALF_HEAD).await.is_err() {
                        continue;
                    }
                    // Until the server closes it (or the flood stops).
                    let mut sink = [0; 256];
                    loop {
                        tokio::select! {
                            read = stream.read(&mut sink) => match read {
                                Ok(0) | Err(_) => break,
                                Ok(_) => {}
                            },
                            () = tokio::time::sleep(Duration::from_millis(100)) => {
                                if stop.load(Ordering::Relaxed) {
                                    break;
                                }
                            }
                        }
                    }
                }
                opened
            })
        })
        .collect()
}

/// 200 re-opening sockets against a cap of 32: 20 of 20 legitimate requests get their 200,
/// a request mid-body throughout the flood is never closed, and the server never holds more
/// than 32 connections. (Each legitimate request waits about (200 − 32) / 32 × the 100 ms
/// grace in the backlog: the flood's sockets ahead of it are let in as fast as the cap's
/// connections reach the grace.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_flood_above_the_cap_cannot_keep_legitimate_connections_out() {
    let cap = 32;
    let addr = server(cap).await;
    let busy = mid_body(addr, 10).await;
    let stop = Arc::new(AtomicBool::new(false));
    let flooders = flood(addr, 200, &stop);
    // The flood has filled every slot and keeps re-opening.
    while metric(addr, "bulk_contacts_connections_evicted_total").await < 200.0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut most_open = 0.0_f64;
    for i in 0..20 {
        let (status, body) = exchange(addr, &post()).await.expect("an answer");
        assert_eq!(status, 200, "{body}");
        if i % 5 == 4 {
            most_open = most_open.max(metric(addr, "bulk_contacts_connections_open").await);
        }
    }
    assert!(most_open <= cap as f64, "{most_open} connections open");
    finish(busy, 10).await;
    stop.store(true, Ordering::Relaxed);
    let mut reopened = 0;
    for flooder in flooders {
        reopened += flooder.await.expect("flooder");
    }
    assert!(
        reopened > 200,
        "the flood re-opened its sockets: {reopened}"
    );
}

/// The binary under a low open-files limit (`ulimit -n 200`), asked for 1,000 connections:
/// it lowers the cap to leave 64 descriptors for the rest (logged), and under a flood of
/// 300 re-opening sockets legitimate requests still get their 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_fits_its_cap_under_the_open_files_limit_and_serves_through_a_flood() {
    let server = Process::start_under_open_files_limit(
        200,
        &[
            "--seed-demo",
            "--max-connections",
            "1000",
            "--header-timeout",
            "3600",
            "--log-format",
            "json",
        ],
    );
    let lowered = (0..20)
        .map_while(|_| server.lines.recv_timeout(Duration::from_secs(10)).ok())
        .find(|line| line.contains("--max-connections lowered"))
        .expect("a warning that the cap was lowered");
    let event: serde_json::Value = serde_json::from_str(&lowered).expect("a JSON log line");
    assert_eq!(event["fields"]["max_connections"], 136, "{lowered}");
    assert_eq!(event["fields"]["open_files_limit"], 200, "{lowered}");
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let flooders = flood(addr, 300, &stop);
    while metric(addr, "bulk_contacts_connections_evicted_total").await < 300.0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..20 {
        let (status, body) = exchange(addr, &post()).await.expect("an answer");
        assert_eq!(status, 200, "{body}");
    }
    assert!(metric(addr, "bulk_contacts_connections_open").await <= 136.0);
    stop.store(true, Ordering::Relaxed);
    for flooder in flooders {
        flooder.await.expect("flooder");
    }
}

/// Out of file descriptors: the binary's open-files limit lowered under its connection cap
/// while it runs (`prlimit --pid`, soft limit 100 against the default cap of 768), so that
/// `accept` fails with `EMFILE` under a flood of 300 re-opening sockets. The server logs it,
/// closes the connection waiting longest to free a descriptor, and goes on: 20 of 20
/// legitimate requests get their 200, and it still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_the_server_makes_room_and_goes_on() {
    let mut server = Process::start(&[
        "--seed-demo",
        "--header-timeout",
        "3600",
        "--log-format",
        "json",
    ]);
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &server.id().to_string(), "--nofile=100:"])
        .status()
        .expect("run prlimit (util-linux)");
    assert!(status.success(), "prlimit --nofile=100:");
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let flooders = flood(addr, 300, &stop);
    let failed = (0..1000)
        .map_while(|_| server.lines.recv_timeout(Duration::from_secs(30)).ok())
        .find(|line| line.contains("accept failed"))
        .expect("accept fails for want of descriptors");
    assert!(failed.contains("Too many open files"), "{failed}");
    for _ in 0..20 {
        let (status, body) = exchange(addr, &post()).await.expect("an answer");
        assert_eq!(status, 200, "{body}");
    }
    assert!(metric(addr, "bulk_contacts_connections_evicted_total").await > 0.0);
    stop.store(true, Ordering::Relaxed);
    for flooder in flooders {
        flooder.await.expect("flooder");
    }
    assert!(
        server.wait_exit(Duration::ZERO).is_none(),
        "the server is still running"
    );
}

//! The server under attack and under an operator: slow clients cut off by the timeouts, load
//! shed with 503 before the body is read, SIGTERM draining the request in flight, the
//! health, readiness and metrics endpoints, and the HTTP hygiene checks (415, two keys,
//! broken framing). Raw TCP clients, so every byte and every pause is the test's.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bulk_contacts::Rejection;
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

/// Its documented answer.
const ANSWER: &str = r#"{"success_count":2,"error_count":1,"errors":[{"index":2,"phone_number":"+13105558888","code":"not_sendable","error":"Phone number failed carrier validation"}],"contacts_created":2,"list_contacts_created":2,"journeys_enrolled":1}"#;

/// A server over a fresh in-memory SQLite store seeded with the demo world, under `config`.
async fn server(config: Config) -> SocketAddr {
    let store = SqliteStore::open(":memory:").expect("open");
    demo::seed_demo(&store).await.expect("seed");
    let app = App::with_limits(TimedStore(store), config.limits().expect("valid limits"));
    spawn_with(SocketAddr::from(([127, 0, 0, 1], 0)), Arc::new(app), config)
        .await
        .expect("bind")
}

/// Small timeouts, so the tests that wait for one wait little.
fn quick() -> Config {
    Config {
        header_timeout: Duration::from_millis(300),
        body_idle_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_secs(2),
        ..Config::default()
    }
}

/// The head of a bulk request with the demo key, `Connection: close`, and `extra` headers.
fn head(length: usize, extra: &str) -> String {
    format!(
        "POST /v2/contacts/bulk HTTP/1.1\r\nHost: test\r\nX-Api-Key: {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\
         Connection: close\r\n{extra}\r\n"
    )
}

/// A parsed response: status, the head's lines (lower-cased), body.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: String,
}

/// Reads what the server sends until it closes the connection (60 s at most).
async fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    tokio::time::timeout(common::TIMEOUT, stream.read_to_end(&mut bytes))
        .await
        .expect("the server neither answered nor closed")
        .ok();
    bytes
}

fn parse(bytes: &[u8]) -> Raw {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .expect("a status");
    Raw {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

/// Sends `bytes` on a new connection and reads the response.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    parse(&read_all(&mut stream).await)
}

async fn post(addr: SocketAddr, body: &[u8], extra: &str) -> Raw {
    let mut bytes = head(body.len(), extra).into_bytes();
    bytes.extend_from_slice(body);
    exchange(addr, &bytes).await
}

async fn get(addr: SocketAddr, path: &str) -> Raw {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    exchange(addr, request.as_bytes()).await
}

/// The value of `name` in the `/metrics` text (the first sample so named).
async fn metric(addr: SocketAddr, name: &str) -> f64 {
    let text = get(addr, "/metrics").await.body;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// Waits (5 s at most, polling) until `/metrics` shows `n` bulk requests in flight.
async fn until_in_flight(addr: SocketAddr, n: f64) {
    for _ in 0..250 {
        if metric(addr, "bulk_contacts_in_flight").await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never {n} requests in flight");
}

/// Whether the server closed `stream` (EOF or reset) without answering.
async fn closed_without_answer(stream: &mut TcpStream) -> bool {
    read_all(stream).await.is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_half_its_headers_is_cut_off() {
    let addr = server(quick()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"POST /v2/contacts/bulk HTTP/1.1\r\nHost: test\r\nX-Api-")
        .await
        .expect("write");
    assert!(closed_without_answer(&mut stream).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let addr = server(quick()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .expect("write");
    // The answer, then nothing more: the server closes the idle connection.
    let reply = parse(&read_all(&mut stream).await);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_is_answered_408() {
    let addr = server(quick()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut bytes = head(REQUEST.len(), "").into_bytes();
    bytes.extend_from_slice(&REQUEST[..REQUEST.len() / 2]);
    stream.write_all(&bytes).await.expect("write");
    let reply = parse(&read_all(&mut stream).await);
    assert_eq!(reply.status, 408);
    assert_eq!(
        reply.body,
        bulk_contacts_server::http::TIMEOUT_BODY,
        "{reply:?}"
    );
    assert!(reply.head.contains("connection: close"), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickled_byte_by_byte_is_cut_off_at_the_total_timeout() {
    let config = Config {
        body_idle_timeout: Duration::from_secs(5),
        body_timeout: Duration::from_millis(500),
        ..quick()
    };
    let addr = server(config).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(head(REQUEST.len(), "").as_bytes())
        .await
        .expect("write");
    // One byte every 50 ms, never idle for the idle timeout; the server stops reading at
    // the total timeout, and the client stops writing once the server answered.
    for byte in REQUEST.iter().take(200) {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut peek = [0; 1];
        let peeked = tokio::time::timeout(Duration::from_millis(1), stream.peek(&mut peek)).await;
        if matches!(peeked, Ok(Ok(n)) if n > 0) {
            break;
        }
    }
    let reply = parse(&read_all(&mut stream).await);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (408, bulk_contacts_server::http::TIMEOUT_BODY)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_requests_in_flight_a_burst_gets_503_with_retry_after_before_its_body() {
    let addr = server(Config {
        max_in_flight: 2,
        // One account holds both slots here: the test is about the global limit.
        max_in_flight_per_account: 2,
        body_idle_timeout: Duration::from_secs(30),
        body_timeout: Duration::from_secs(30),
        // The burst's bodies never come: the server waits this long for them, then closes.
        linger_timeout: Duration::from_millis(200),
        ..Config::default()
    })
    .await;
    // Two requests held mid-body: the budget is spent.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut bytes = head(REQUEST.len(), "").into_bytes();
        bytes.extend_from_slice(&REQUEST[..10]);
        stream.write_all(&bytes).await.expect("write");
        held.push(stream);
    }
    until_in_flight(addr, 2.0).await;

    // A burst: each answered 503 at once, its body never sent (the head is enough).
    let burst: Vec<_> = (0..12)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                stream
                    .write_all(head(REQUEST.len(), "").as_bytes())
                    .await
                    .expect("write");
                parse(&read_all(&mut stream).await)
            })
        })
        .collect();
    for task in burst {
        let reply = task.await.expect("a client");
        assert_eq!(reply.status, 503, "{reply:?}");
        assert_eq!(reply.body, bulk_contacts_server::http::OVERLOADED_BODY);
        assert!(reply.head.contains("retry-after: 1"), "{reply:?}");
    }
    assert_eq!(metric(addr, "bulk_contacts_shed_total").await, 12.0);

    // The held requests finish normally.
    for (i, mut stream) in held.into_iter().enumerate() {
        stream.write_all(&REQUEST[10..]).await.expect("write");
        let reply = parse(&read_all(&mut stream).await);
        assert_eq!(reply.status, 200, "{reply:?}");
        if i == 0 {
            assert_eq!(reply.body, ANSWER);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_burst_beyond_the_limit_gets_only_200_or_503() {
    let addr = server(Config {
        max_in_flight: 2,
        ..Config::default()
    })
    .await;
    let burst: Vec<_> = (0..24)
        .map(|_| tokio::spawn(async move { post(addr, REQUEST, "").await }))
        .collect();
    let mut ok = 0;
    for task in burst {
        let reply = task.await.expect("a client");
        match reply.status {
            200 => ok += 1,
            503 => assert!(reply.head.contains("retry-after: 1"), "{reply:?}"),
            other => panic!("status {other}: {reply:?}"),
        }
    }
    assert!(ok >= 1, "at least the first requests get in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_body_bytes_in_flight_a_request_gets_503_but_a_small_one_fits() {
    let addr = server(Config {
        max_body_bytes_in_flight: 16 * 1024,
        linger_timeout: Duration::from_millis(200),
        body_idle_timeout: Duration::from_secs(30),
        body_timeout: Duration::from_secs(30),
        ..Config::default()
    })
    .await;
    // A request declaring 12,000 bytes, held after its head.
    let mut held = TcpStream::connect(addr).await.expect("connect");
    held.write_all(head(12_000, "").as_bytes())
        .await
        .expect("write");
    until_in_flight(addr, 1.0).await;

    let big = exchange(addr, head(12_000, "").as_bytes()).await;
    assert_eq!(
        (big.status, big.body.as_str()),
        (503, bulk_contacts_server::http::OVERLOADED_BODY)
    );
    let small = post(addr, b"{}", "").await;
    assert_eq!(
        (small.status, small.body),
        (400, body_of(Rejection::MissingContacts))
    );
    drop(held);
}

fn body_of(rejection: Rejection) -> String {
    String::from_utf8(common::rejected(rejection).body).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_readyz_and_metrics_answer() {
    let addr = server(Config::default()).await;
    let health = get(addr, "/healthz").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
    let ready = get(addr, "/readyz").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (200, r#"{"status":"ready"}"#)
    );

    let reply = post(addr, REQUEST, "").await;
    assert_eq!((reply.status, reply.body.as_str()), (200, ANSWER));
    let unauthorized = exchange(
        addr,
        b"POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(unauthorized.status, 401);

    let metrics = get(addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .head
            .contains("content-type: text/plain; version=0.0.4")
    );
    for line in [
        r#"bulk_contacts_requests_total{status="200"} 1"#,
        r#"bulk_contacts_requests_total{status="401"} 1"#,
        r#"bulk_contacts_contacts_total{outcome="accepted"} 2"#,
        r#"bulk_contacts_contacts_total{outcome="not_sendable"} 1"#,
        "bulk_contacts_in_flight 0",
        "bulk_contacts_shed_total 0",
        r#"bulk_contacts_request_duration_seconds_bucket{le="+Inf"} 2"#,
        "bulk_contacts_request_duration_seconds_count 2",
        "bulk_contacts_engine_duration_seconds_count 1",
        "bulk_contacts_store_duration_seconds_count 1",
    ] {
        assert!(
            metrics.body.lines().any(|l| l == line),
            "{line} in\n{}",
            metrics.body
        );
    }
    assert!(metric(addr, "bulk_contacts_store_duration_seconds_sum").await > 0.0);
    assert!(metric(addr, "bulk_contacts_engine_duration_seconds_sum").await > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id_and_a_given_one_is_echoed() {
    let addr = server(Config::default()).await;
    let made = get(addr, "/healthz").await;
    assert!(made.head.contains("x-request-id: "), "{made:?}");
    let given = exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: abc-123\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(given.head.contains("x-request-id: abc-123"), "{given:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_type_other_than_json_is_415_after_the_key_check() {
    let addr = server(Config::default()).await;
    let bytes = |content_type: &str, key: &str| {
        let mut bytes = format!(
            "POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\n{key}Content-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            REQUEST.len()
        )
        .into_bytes();
        bytes.extend_from_slice(REQUEST);
        bytes
    };
    let key = format!("X-Api-Key: {KEY}\r\n");
    let text = exchange(addr, &bytes("text/plain", &key)).await;
    assert_eq!(
        (text.status, text.body.as_str()),
        (415, bulk_contacts_server::http::UNSUPPORTED_MEDIA_TYPE_BODY)
    );
    let form = exchange(addr, &bytes("application/x-www-form-urlencoded", &key)).await;
    assert_eq!(form.status, 415);
    // The key is checked first: without one, 401.
    let anonymous = exchange(addr, &bytes("text/plain", "")).await;
    assert_eq!(
        (anonymous.status, anonymous.body),
        (401, body_of(Rejection::MissingApiKey))
    );
    // JSON with parameters, in any case, is JSON.
    let charset = exchange(addr, &bytes("Application/JSON; charset=utf-8", &key)).await;
    assert_eq!((charset.status, charset.body.as_str()), (200, ANSWER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_api_key_headers_are_401_even_when_both_are_valid() {
    let addr = server(Config::default()).await;
    let reply = post(addr, REQUEST, &format!("X-Api-Key: {KEY}\r\n")).await;
    assert_eq!(
        (reply.status, reply.body),
        (401, body_of(Rejection::InvalidApiKey))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_chunked_framing_is_a_transport_error_not_invalid_json() {
    let addr = server(Config::default()).await;
    let head = format!(
        "POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nX-Api-Key: {KEY}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(b"2\r\n{}\r\nzz-not-a-size\r\n\r\n");
    let reply = exchange(addr, &bytes).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (400, bulk_contacts_server::http::FRAMING_BODY)
    );
}

/// The real binary: SIGTERM while one request is mid-body and another client holds half a
/// request head. The request in flight gets its 200, no new connection is accepted, the
/// half-sent one is cut at the drain deadline, and the process exits 0. On the default
/// runtime and on one thread (`--worker-threads 1`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_request_in_flight_and_exits_0_despite_a_half_sent_request() {
    let runtimes: [&[&str]; 2] = [&[], &["--worker-threads", "1"]];
    for (signal, runtime) in ["TERM", "INT"]
        .into_iter()
        .flat_map(|signal| runtimes.map(|runtime| (signal, runtime)))
    {
        let args = [
            &[
                "--seed-demo",
                "--header-timeout",
                "600",
                "--drain-timeout",
                "1",
                "--log-format",
                "json",
            ][..],
            runtime,
        ]
        .concat();
        let mut server = Process::start(&args);
        let case = format!("SIG{signal} {runtime:?}");
        let addr = server.addr;
        let mut slow = TcpStream::connect(addr).await.expect("connect");
        slow.write_all(b"POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nX-Api")
            .await
            .expect("write");
        let mut in_flight = TcpStream::connect(addr).await.expect("connect");
        let mut bytes = head(REQUEST.len(), "").into_bytes();
        bytes.extend_from_slice(&REQUEST[..20]);
        in_flight.write_all(&bytes).await.expect("write");
        until_in_flight(addr, 1.0).await;

        server.signal(signal);
        let stopping = (0..50)
            .map_while(|_| server.lines.recv_timeout(Duration::from_secs(10)).ok())
            .find(|line| line.contains("stopping"));
        assert!(stopping.is_some(), "{case}: the server logs its stop");
        // No new connections (polled: the listener closes right after the log line).
        let mut refused = false;
        for _ in 0..100 {
            if TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(refused, "{case}: still accepting connections");

        in_flight.write_all(&REQUEST[20..]).await.expect("write");
        let reply = parse(&read_all(&mut in_flight).await);
        assert_eq!((reply.status, reply.body.as_str()), (200, ANSWER), "{case}");

        let status = tokio::task::block_in_place(|| server.wait_exit(Duration::from_secs(30)))
            .expect("the server exits after the drain deadline");
        assert!(status.success(), "{case}: {status:?}");
        assert!(closed_without_answer(&mut slow).await, "{case}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_when_the_store_stops_answering_while_healthz_stays_200() {
    if common::skip_postgres("readyz_is_503_when_the_store_stops_answering_while_healthz_stays_200")
    {
        return;
    }
    let url = common::fresh_postgres_url().await;
    let name = url.rsplit('/').next().expect("a database name").to_owned();
    let store = bulk_contacts_server::PgStore::connect(&url, 2)
        .await
        .expect("connect");
    let addr = spawn_with(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Arc::new(App::new(store)),
        Config::default(),
    )
    .await
    .expect("bind");
    assert_eq!(get(addr, "/readyz").await.status, 200);

    // The database goes away (its connections with it).
    let cluster = bulk_contacts_harness::cluster::Cluster::shared().expect("the cluster");
    let (admin, connection) =
        tokio_postgres::connect(&cluster.url("postgres"), tokio_postgres::NoTls)
            .await
            .expect("connect as admin");
    let driver = tokio::spawn(connection);
    admin
        .batch_execute(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop the database");
    drop(admin);
    let _ = driver.await;

    let ready = get(addr, "/readyz").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (503, r#"{"status":"unavailable"}"#)
    );
    assert_eq!(get(addr, "/healthz").await.status, 200);
}

/// The OpenAPI document is served as committed, is OpenAPI 3.1, and documents every status
/// of the endpoint with its exact bodies: each engine rejection's body (default limits) and
/// each of the server's own bodies appear among its examples.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served_and_documents_every_answer_exactly() {
    use bulk_contacts_server::http;
    let addr = server(Config::default()).await;
    let served = get(addr, "/openapi.json").await;
    assert_eq!(served.status, 200);
    assert_eq!(served.body, http::OPENAPI);
    let document: serde_json::Value = serde_json::from_str(&served.body).expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let responses = &document["paths"]["/v2/contacts/bulk"]["post"]["responses"];
    let statuses: Vec<&str> = responses
        .as_object()
        .expect("responses")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        statuses,
        [
            "200", "400", "401", "402", "408", "409", "413", "415", "422", "500", "503"
        ]
    );
    // Every example body of a status.
    let examples = |status: u16| -> Vec<serde_json::Value> {
        let content = &responses[status.to_string()]["content"]["application/json"];
        let mut bodies: Vec<serde_json::Value> = content["examples"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, example)| example["value"].clone())
            .collect();
        if !content["example"].is_null() {
            bodies.push(content["example"].clone());
        }
        bodies
    };
    let parse = |body: &str| serde_json::from_str::<serde_json::Value>(body).expect("JSON");
    for &rejection in Rejection::ALL {
        let expected = common::rejected(rejection);
        assert!(
            examples(expected.status).contains(&parse(&body_of(rejection))),
            "{rejection:?} in the {} examples",
            expected.status
        );
    }
    for (status, body) in [
        (400, http::FRAMING_BODY),
        (408, http::TIMEOUT_BODY),
        (415, http::UNSUPPORTED_MEDIA_TYPE_BODY),
        (503, http::OVERLOADED_BODY),
        (503, bulk_contacts_server::pipeline::STORE_UNAVAILABLE_BODY),
        (400, http::INVALID_IDEMPOTENCY_KEY_BODY),
        (409, http::IDEMPOTENCY_KEY_IN_PROGRESS_BODY),
        (
            422,
            bulk_contacts_server::pipeline::IDEMPOTENCY_KEY_REUSED_BODY,
        ),
    ] {
        assert!(examples(status).contains(&parse(body)), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_limits_follow_the_configuration() {
    let limits = bulk_contacts::Limits::new(2, 4000, 1000).expect("over the minimums");
    let addr = server(Config {
        max_contacts: limits.max_contacts(),
        max_contact_bytes: limits.max_contact_bytes(),
        max_body_bytes: limits.max_body_bytes(),
        ..Config::default()
    })
    .await;
    let expected = |rejection| {
        String::from_utf8(bulk_contacts::Response::rejected(rejection, &limits).body)
            .expect("utf-8")
    };
    // examples/request.json: 3 contacts, under 1000 bytes.
    assert!(REQUEST.len() <= 1000);
    let three = post(addr, REQUEST, "").await;
    assert_eq!(
        (three.status, three.body),
        (413, expected(Rejection::TooManyContacts))
    );
    assert!(expected(Rejection::TooManyContacts).contains("limit of 2 per"));
    let big = post(addr, &[b' '; 1001], "").await;
    assert_eq!(
        (big.status, big.body),
        (413, expected(Rejection::PayloadTooLarge))
    );
}

/// The README's 64 KiB head limit holds whichever way the head arrives: sent in one write, a
/// head of 66,000 or 100,000 bytes is refused with 431 and the connection closed; one of
/// 60,000 bytes is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_over_64_kib_is_431_even_in_one_write() {
    let addr = server(Config::default()).await;
    let with_filler = |size: usize| {
        let start = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Filler: ";
        let filler = "a".repeat(size - start.len() - 4);
        format!("{start}{filler}\r\n\r\n")
    };
    let fits = with_filler(60_000);
    assert_eq!(fits.len(), 60_000);
    assert_eq!(exchange(addr, fits.as_bytes()).await.status, 200);
    for size in [66_000, 100_000] {
        let head = with_filler(size);
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(head.as_bytes()).await.expect("one write");
        let reply = parse(&read_all(&mut stream).await);
        assert_eq!(reply.status, 431, "a head of {size} bytes: {reply:?}");
    }
    // The size counted is the head's as sent.
    let request = axum::http::Request::get("/healthz")
        .header("host", "t")
        .body(())
        .expect("a request");
    assert_eq!(
        bulk_contacts_server::http::head_size(&request),
        "GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n".len()
    );
}

/// One account's slow uploads hold at most its share of `--max-in-flight` (half by default):
/// past it, that account's next request is shed (503, Retry-After), while another account's
/// requests get 200 — 20 of 20.
///
/// Three uploads are started at once and which of them comes third is the scheduler's choice:
/// the shed one is found as the one answered without its body. (Waiting for two requests in
/// flight, then sending a third, raced: a request is in flight before its account's slot is
/// taken, after the account's lookup, so a third could overtake a held one.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_accounts_slow_uploads_cannot_take_every_slot() {
    use bulk_contacts_server::Store;
    let other_key = "trk_OTHER000000000000000000000000000";
    let config = Config {
        max_in_flight: 4,
        body_idle_timeout: Duration::from_secs(30),
        body_timeout: Duration::from_secs(30),
        linger_timeout: Duration::from_millis(200),
        ..Config::default()
    };
    assert_eq!(other_key.len(), 36);
    let store = SqliteStore::open(":memory:").expect("open");
    demo::seed_demo(&store).await.expect("seed");
    let other = bulk_contacts_server::store::Seed {
        name: "other".to_owned(),
        billing: bulk_contacts::Billing::Active,
        api_keys: vec![other_key.to_owned()],
        lists: vec![("+18005551234".to_owned(), 1)],
        now: "2026-01-01T00:00:00Z".parse().expect("a timestamp"),
        ..Default::default()
    };
    store.seed(&other).await.expect("seed the other account");
    let app = App::with_limits(TimedStore(store), config.limits().expect("valid limits"));
    let addr = spawn_with(SocketAddr::from(([127, 0, 0, 1], 0)), Arc::new(app), config)
        .await
        .expect("bind");
    // The demo account's slow uploads: three, each held mid-body; two take its share of 4.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut bytes = head(REQUEST.len(), "").into_bytes();
        bytes.extend_from_slice(&REQUEST[..10]);
        stream.write_all(&bytes).await.expect("write");
        held.push(stream);
    }
    // The third is answered at once, its body unread; the two held are not answered until
    // their bodies end.
    let shed = {
        let readable = held.iter().map(|stream| Box::pin(stream.readable()));
        let answered = tokio::time::timeout(
            Duration::from_secs(10),
            futures_util::future::select_all(readable),
        )
        .await
        .expect("one of the three is answered without its body");
        answered.0.expect("readable");
        answered.1
    };
    let third = parse(&read_all(&mut held.remove(shed)).await);
    assert_eq!(
        (third.status, third.body.as_str()),
        (503, bulk_contacts_server::http::OVERLOADED_BODY)
    );
    assert!(third.head.contains("retry-after: 1"), "{third:?}");
    until_in_flight(addr, 2.0).await;
    let request = |key: &str| {
        let mut bytes = format!(
            "POST /v2/contacts/bulk HTTP/1.1\r\nHost: t\r\nX-Api-Key: {key}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            REQUEST.len()
        )
        .into_bytes();
        bytes.extend_from_slice(REQUEST);
        bytes
    };
    for _ in 0..20 {
        let reply = exchange(addr, &request(other_key)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    for mut stream in held {
        stream.write_all(&REQUEST[10..]).await.expect("write");
        assert_eq!(parse(&read_all(&mut stream).await).status, 200);
    }
}

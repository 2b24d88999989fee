//! The README's axum embedding (`server/examples/axum_service.rs`), served on 127.0.0.1:0 and
//! sent real requests: the key is checked before the body is read (401 before 413), a body
//! over the engine's limit gets the engine's 413 — declared or streamed — and the documented
//! request gets the documented summary.

#[allow(dead_code)]
#[path = "../examples/axum_service.rs"]
mod axum_service;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use bulk_contacts::{Engine, Limits};
use bulk_contacts_harness::client::{Client, Reply};

const KEY: &[u8] = b"trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6";

async fn serve(limits: Limits) -> SocketAddr {
    let app = Arc::new(axum_service::App {
        engine: Engine::new(limits),
        store: tokio::sync::Mutex::new(axum_service::Store::demo()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, axum_service::router(app)).await });
    addr
}

/// A body limit of 100 bytes, small enough that a 200-byte upload is written whole before the
/// answer is read (the example does no lingering close: the reference server does).
fn small() -> Limits {
    Limits::DEFAULT
        .with_max_body_bytes(100)
        .expect("over the minimum")
}

async fn post(addr: SocketAddr, key: Option<&[u8]>, body: impl Into<Body>) -> Reply {
    let mut client = Client::new(addr).expect("client");
    client.post(key, body).await.expect("an answer")
}

#[tokio::test]
async fn an_unauthenticated_oversize_upload_gets_401_not_413() {
    let addr = serve(small()).await;
    for key in [None, Some(&b"trk_00000000000000000000000000000000"[..])] {
        let reply = post(addr, key, vec![b' '; 200]).await;
        assert_eq!(reply.status, 401, "{}", reply.text());
        assert_eq!(reply.json()["code"], "unauthorized");
    }
}

#[tokio::test]
async fn an_authenticated_oversize_upload_gets_the_engines_413_declared_or_streamed() {
    let addr = serve(small()).await;
    let expected =
        r#"{"error":"Request body exceeds the 100 byte limit","code":"payload_too_large"}"#;
    let declared = post(addr, Some(KEY), vec![b' '; 200]).await;
    assert_eq!((declared.status, declared.text().as_str()), (413, expected));
    assert_eq!(declared.content_type.as_deref(), Some("application/json"));
    // Chunked, no length: the limit is found while reading.
    let chunks = (0..4).map(|_| Ok::<_, std::io::Error>(vec![b' '; 50]));
    let streamed = post(
        addr,
        Some(KEY),
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
    .await;
    assert_eq!((streamed.status, streamed.text().as_str()), (413, expected));
}

#[tokio::test]
async fn the_documented_request_gets_the_documented_summary_then_creates_nothing_new() {
    let addr = serve(Limits::default()).await;
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/request.json"
    ))
    .expect("examples/request.json");
    let first = post(addr, Some(KEY), body.clone()).await;
    assert_eq!(
        first.text(),
        r#"{"success_count":2,"error_count":1,"errors":[{"index":2,"phone_number":"+13105558888","code":"not_sendable","error":"Phone number failed carrier validation"}],"contacts_created":2,"list_contacts_created":2,"journeys_enrolled":1}"#
    );
    let again = post(addr, Some(KEY), body).await;
    assert_eq!(again.json()["contacts_created"], 0);
    assert_eq!(again.json()["list_contacts_created"], 0);
}

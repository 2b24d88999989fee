//! The HTTP side: one route, the body read under the limit, one log line per request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use http_body_util::BodyExt;
use tokio::net::TcpListener;

use crate::pipeline::{Answer, App};
use crate::store::Store;

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The path of the endpoint.
pub const PATH: &str = "/v2/contacts/bulk";

/// The router: `POST /v2/contacts/bulk`.
pub fn router<S: Store>(app: Arc<App<S>>) -> Router {
    Router::new().route(PATH, post(bulk::<S>)).with_state(app)
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve<S: Store>(
    listener: TcpListener,
    app: Arc<App<S>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `addr` (port 0: any free port) and serves `app` on a background task; returns the
/// address bound. For tests and the load tool.
pub async fn spawn<S: Store>(addr: SocketAddr, app: Arc<App<S>>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = serve(listener, app, std::future::pending()).await {
            eprintln!("server stopped: {error}");
        }
    });
    Ok(local)
}

async fn bulk<S: Store>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    body: Body,
) -> axum::response::Response {
    let started = Instant::now();
    let answer = match handle(&app, &headers, body).await {
        Ok(answer) | Err(answer) => answer,
    };
    eprintln!(
        "POST {PATH} status={} contacts={} duration_ms={:.3}",
        answer.status,
        answer
            .contacts
            .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        started.elapsed().as_secs_f64() * 1000.0
    );
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        answer.body,
    )
        .into_response()
}

/// SPEC §3's order: 401 (format, then the account's keys), 413 on the body, then the
/// pipeline.
async fn handle<S: Store>(app: &App<S>, headers: &HeaderMap, body: Body) -> Result<Answer, Answer> {
    let now = App::<S>::now();
    let header = headers.get(API_KEY_HEADER).map(HeaderValue::as_bytes);
    let key = app.check_key_format(header)?;
    let account = app.account(&key).await?;
    let body = match read_limited(body, app.body_limit(), content_length(headers)).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return Err(app.too_large()),
        // The client went away mid-body: what arrived is not one JSON text.
        Err(BodyError::Aborted) => return Err(app.aborted()),
    };
    Ok(app.process(&account, &body, now).await)
}

/// Why a body was not read whole.
enum BodyError {
    /// More than the limit: reading stopped at the first byte past it.
    TooLarge,
    /// The connection failed mid-body.
    Aborted,
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Reads the body, frame by frame, holding at most `limit` bytes: a declared length over the
/// limit is refused before reading, and a streamed (chunked) body is cut off at the frame
/// that crosses the limit, so a 50 MB upload costs at most `limit` bytes of memory.
async fn read_limited(
    mut body: Body,
    limit: usize,
    declared: Option<u64>,
) -> Result<Vec<u8>, BodyError> {
    let declared = declared.map(|length| usize::try_from(length).unwrap_or(usize::MAX));
    if declared.is_some_and(|length| length > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Aborted)?;
        if let Ok(data) = frame.into_data() {
            if data.len() > limit - bytes.len() {
                return Err(BodyError::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

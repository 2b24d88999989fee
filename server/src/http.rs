//! The HTTP side: one route, the body read under the limit, one log line per request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::post;
use bulk_contacts::{Engine, Rejection, Response, Timestamp};
use http_body_util::BodyExt;
use tokio::net::TcpListener;

use crate::store::Store;

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The path of the endpoint.
pub const PATH: &str = "/v2/contacts/bulk";

/// What every request shares: the engine (its limits) and the store.
#[derive(Debug)]
pub struct App {
    /// The decision logic.
    pub engine: Engine,
    /// The database.
    pub store: Arc<Store>,
}

/// The router: `POST /v2/contacts/bulk`.
pub fn router(app: Arc<App>) -> Router {
    Router::new().route(PATH, post(bulk)).with_state(app)
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `addr` (port 0: any free port) and serves `app` on a background task; returns the
/// address bound. For tests and the load tool.
pub async fn spawn(addr: SocketAddr, app: Arc<App>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = serve(listener, app, std::future::pending()).await {
            eprintln!("server stopped: {error}");
        }
    });
    Ok(local)
}

/// The answer, and what the log line tells about the request.
struct Handled {
    response: Response,
    contacts: Option<usize>,
}

impl Handled {
    fn rejected(app: &App, rejection: Rejection) -> Self {
        Handled {
            response: Response::rejected(rejection, app.engine.limits()),
            contacts: None,
        }
    }
}

async fn bulk(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> axum::response::Response {
    let started = Instant::now();
    let handled = handle(&app, &headers, body).await;
    let Handled { response, contacts } = handled;
    eprintln!(
        "POST {PATH} status={} contacts={} duration_ms={:.3}",
        response.status,
        contacts.map_or_else(|| "-".to_owned(), |n| n.to_string()),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response.into_http().map(Body::from).into_response()
}

/// SPEC §3's order: 401 (format, then the account's keys), 413 on the body, then the engine
/// and the store.
async fn handle(app: &Arc<App>, headers: &HeaderMap, body: Body) -> Handled {
    // `now` is read once, here: the engine never reads a clock.
    let now = Timestamp::now();
    let header = headers.get(API_KEY_HEADER).map(HeaderValue::as_bytes);
    let key = match app.engine.check_key_format(header) {
        Ok(key) => String::from_utf8_lossy(key).into_owned(),
        Err(rejection) => return Handled::rejected(app, rejection),
    };
    let account = {
        let store = Arc::clone(&app.store);
        let lookup_key = key.clone();
        match tokio::task::spawn_blocking(move || store.find_account(&lookup_key)).await {
            Ok(Ok(Some(account))) => account,
            Ok(Ok(None)) => return Handled::rejected(app, Rejection::InvalidApiKey),
            Ok(Err(error)) => {
                eprintln!("database error finding the account: {error}");
                return Handled::rejected(app, Rejection::InternalError);
            }
            Err(error) => {
                eprintln!("account lookup task failed: {error}");
                return Handled::rejected(app, Rejection::InternalError);
            }
        }
    };
    if let Err(rejection) = app
        .engine
        .authenticate(Some(key.as_bytes()), &account.api_keys)
    {
        return Handled::rejected(app, rejection);
    }
    let limit = app.engine.limits().max_body_bytes;
    let body = match read_limited(body, limit, content_length(headers)).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return Handled::rejected(app, Rejection::PayloadTooLarge),
        // The client went away mid-body: what arrived is not one JSON text.
        Err(BodyError::Aborted) => return Handled::rejected(app, Rejection::InvalidJson),
    };
    let engine = app.engine;
    let store = Arc::clone(&app.store);
    let task = tokio::task::spawn_blocking(move || {
        let rejected = |rejection| Response::rejected(rejection, engine.limits());
        let batch = match engine.read(&body, now) {
            Ok(batch) => batch,
            Err(rejection) => {
                return Handled {
                    response: rejected(rejection),
                    contacts: None,
                };
            }
        };
        let contacts = Some(batch.len());
        if let Err(rejection) = batch.check_billing(account.billing) {
            return Handled {
                response: rejected(rejection),
                contacts,
            };
        }
        let response = match store.apply(account.id, &batch) {
            Ok(response) => response,
            Err(error) => {
                eprintln!("database error, nothing written: {error}");
                rejected(Rejection::InternalError)
            }
        };
        Handled { response, contacts }
    });
    match task.await {
        Ok(handled) => handled,
        Err(error) => {
            eprintln!("request task failed: {error}");
            Handled::rejected(app, Rejection::InternalError)
        }
    }
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

//! The HTTP side: the accept loop (the listen backlog, the connection limit — past it, the
//! connection waiting longest for a request head makes room —, the header timeout, graceful
//! stop with a drain deadline), the routes, load shedding, the body read under its limit and timeouts,
//! one structured log event per request, and the metrics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, EXPECT, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use bulk_contacts::Timestamp;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Semaphore;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::connections::{Eviction, GRACE, Registry, Tracked};
use crate::limits::{AccountShare, Shedder};
use crate::metrics::{Metrics, with_store_time};
use crate::pipeline::{Answer, App, KeyHeader};
use crate::store::Store;

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The header carrying the request id (taken from the client, or made here), echoed back.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The most bytes a connection buffers from its socket.
pub const READ_BUFFER: usize = 64 * 1024;

/// The path of the endpoint.
pub const PATH: &str = "/v2/contacts/bulk";

/// The body of a 503 from load shedding (with `Retry-After: 1`).
pub const OVERLOADED_BODY: &str =
    r#"{"error":"The server is at capacity, retry later","code":"overloaded"}"#;

/// The body of a 415: a `Content-Type` other than JSON.
pub const UNSUPPORTED_MEDIA_TYPE_BODY: &str =
    r#"{"error":"Content-Type must be application/json","code":"unsupported_media_type"}"#;

/// The header of the optional idempotency key (SPEC §10.1).
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// The body of a 400 for an `Idempotency-Key` that is not 1 to 255 visible ASCII characters,
/// or sent twice.
pub const INVALID_IDEMPOTENCY_KEY_BODY: &str = r#"{"error":"Idempotency-Key must be 1 to 255 visible ASCII characters","code":"invalid_idempotency_key"}"#;

/// The body of a 409: a request with the same `Idempotency-Key` is being processed.
pub const IDEMPOTENCY_KEY_IN_PROGRESS_BODY: &str = r#"{"error":"A request with this Idempotency-Key is in progress","code":"idempotency_key_in_progress"}"#;

/// The body of a 408: the body did not arrive within the body timeouts.
pub const TIMEOUT_BODY: &str =
    r#"{"error":"The request body did not arrive in time","code":"request_timeout"}"#;

/// The body of a 400 for a body whose transfer framing is broken (bad chunked encoding, or
/// the connection ended before the declared length): a transport error, not a JSON one.
pub const FRAMING_BODY: &str =
    r#"{"error":"The request body's transfer framing is broken","code":"bad_framing"}"#;

/// What every request shares: the application, the operating limits, the load shedder and
/// the metrics.
#[derive(Debug)]
pub struct Server<S> {
    /// The engine and the store.
    pub app: Arc<App<S>>,
    /// Timeouts and limits.
    pub config: Config,
    /// The budgets of requests and body bytes in flight.
    shedder: Shedder,
    /// Each account's share of the requests in flight.
    shares: AccountShare,
    /// What `/metrics` reports.
    pub metrics: Metrics,
}

impl<S: Store> Server<S> {
    /// `app` under `config`.
    pub fn new(app: Arc<App<S>>, config: Config) -> Server<S> {
        let shedder = Shedder::new(
            config.max_in_flight,
            config.max_body_bytes_in_flight,
            app.body_limit(),
        );
        let shares = AccountShare::new(config.max_in_flight_per_account, config.max_in_flight);
        Server {
            app,
            config,
            shedder,
            shares,
            metrics: Metrics::default(),
        }
    }
}

/// The router with the default [`Config`]: `POST /v2/contacts/bulk`, `GET /healthz`,
/// `GET /readyz`, `GET /metrics`.
pub fn router<S: Store>(app: Arc<App<S>>) -> Router {
    router_with(Arc::new(Server::new(app, Config::default())))
}

/// The router of `server`, with the per-request span carrying the request id.
pub fn router_with<S: Store>(server: Arc<Server<S>>) -> Router {
    let request_id = axum::http::HeaderName::from_static(REQUEST_ID_HEADER);
    Router::new()
        .route(PATH, post(bulk::<S>))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
        .route("/metrics", get(metrics::<S>))
        .route("/openapi.json", get(openapi))
        .with_state(server)
        .layer(axum::middleware::from_fn(head_limit))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    let id = request
                        .headers()
                        .get(REQUEST_ID_HEADER)
                        .and_then(|id| id.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %id,
                    )
                })
                // The bulk handler logs its own event with the outcome.
                .on_request(())
                .on_response(())
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// The size of a request's head as received: the request line and each header line with
/// their CRLFs, and the blank line (optional whitespace around header values not counted).
pub fn head_size<B>(request: &Request<B>) -> usize {
    let line = request.method().as_str().len() + 1 + request.uri().to_string().len() + 11;
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    line + headers + 2
}

/// A request head over [`READ_BUFFER`] (64 KiB) is refused with 431 and the connection
/// closed, however it arrived. hyper refuses a head that does not fit its read buffer, but a
/// head sent in one write can be read whole in one larger read (up to ~100 KB were accepted):
/// this check makes the limit exact.
async fn head_limit(
    request: Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if head_size(&request) > READ_BUFFER {
        return (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            [(CONNECTION, HeaderValue::from_static("close"))],
        )
            .into_response();
    }
    next.run(request).await
}

/// Serves `app` with the default [`Config`] on `listener` until `shutdown` completes, then
/// drains (see [`serve_with`]).
pub async fn serve<S: Store>(
    listener: TcpListener,
    app: Arc<App<S>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, Config::default(), shutdown).await
}

/// Serves `app` under `config` on `listener` (made by [`listen`], for its backlog) until
/// `shutdown` completes. At most `config.max_connections` connections are open at once: past
/// it, a new connection takes the place of the one that has waited longest (at least
/// [`GRACE`]) for a request head — idle keep-alive, or an unfinished head —, closed for it; a
/// connection whose request is in progress is never closed so. Then stops accepting, lets
/// the requests in flight finish (idle keep-alive connections are closed), and returns once
/// every connection is closed or `config.drain_timeout` has passed, whichever comes first. Connections still open then are the caller's to cut (the binary
/// returns and its runtime drops them).
pub async fn serve_with<S: Store>(
    listener: TcpListener,
    app: Arc<App<S>>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let drain = config.drain_timeout;
    let connections = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let registry = Arc::new(Registry::default());
    let mut http = hyper::server::conn::http1::Builder::new();
    // A connection buffers at most 64 KiB of what it reads (hyper's default is ~400 KiB): a
    // request head larger than that is refused (431), and idle or slow connections cost
    // little (see the memory bound in the README).
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_buf_size(READ_BUFFER);
    let sweep_app = Arc::clone(&app);
    let server = Arc::new(Server::new(app, config));
    let router = router_with(Arc::clone(&server));
    let graceful = GracefulShutdown::new();
    // Stored Idempotency-Key answers past their 24 hours: deleted at start and every hour, a
    // few hundred rows per short transaction, so requests never wait behind the sweep.
    let sweeper = tokio::spawn(async move {
        loop {
            match sweep_app.expire_answers(crate::pipeline::unix_now()).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "expired Idempotency-Key answers"),
                Err(error) => tracing::warn!(%error, "expiring Idempotency-Key answers failed"),
            }
            tokio::time::sleep(Duration::from_secs(60 * 60)).await;
        }
    });
    let mut accept_errors = AcceptErrors::default();
    tokio::pin!(shutdown);
    'accept: loop {
        // `biased`: the stop is looked at first, however busy the listener.
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_errors.failed(&error, &registry, &server.metrics).await;
                    continue;
                }
            },
        };
        // Room for it: a free slot; else the connection waiting longest for a request head
        // is closed and its slot taken, once it has waited the grace (until then, the new
        // one waits); else (every connection busy with a request) the first slot to come
        // free, or the first connection to wait again.
        let permit = match Arc::clone(&connections).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => loop {
                let eviction = registry.close_longest_waiting(GRACE);
                if eviction == Eviction::Closed {
                    server.metrics.evicted();
                }
                let not_before = match eviction {
                    Eviction::NotBefore(instant) => Some(instant.into()),
                    Eviction::Closed | Eviction::NoneWaiting => None,
                };
                tokio::select! {
                    biased;
                    () = &mut shutdown => break 'accept,
                    permit = Arc::clone(&connections).acquire_owned() => match permit {
                        Ok(permit) => break permit,
                        Err(_) => break 'accept,
                    },
                    () = registry.some_waiting(), if eviction == Eviction::NoneWaiting => {}
                    () = sleep_until(not_before) => {}
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (connection, closed) = registry.register();
        let tower = TowerToHyperService::new(router.clone());
        // Each request marks the connection busy until its request body and its response
        // body are both dropped (see `connections`).
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let busy = connection.busy();
            let request = request.map(|body| Tracked::new(body, Arc::clone(&busy)));
            let response = tower.call(request);
            async move {
                response
                    .await
                    .map(|response| response.map(|body| Tracked::new(body, busy)))
            }
        });
        let served = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let open = server.metrics.connection();
            tokio::select! {
                biased;
                // Closed to make room: dropping the connection closes its socket.
                _ = closed => {}
                _ = served => {}
            }
            // The gauge first: it never shows more connections than there are slots.
            drop(open);
            drop(permit);
        });
    }
    drop(listener);
    sweeper.abort();
    tracing::info!("stopped accepting connections; draining");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("drained"),
        () = tokio::time::sleep(drain) => {
            tracing::warn!("drain deadline passed: cutting the connections still open");
        }
    }
    Ok(())
}

/// The listen backlog asked of the kernel (Linux caps it at `net.core.somaxconn`, 4096 by
/// default since 5.4). tokio's `TcpListener::bind` asks for 128, as the standard library
/// does: under a flood of connection attempts the queue overflows, the kernel drops the SYNs
/// of legitimate clients, and they retry only after a second or more.
pub const LISTEN_BACKLOG: u32 = 4096;

/// A listening socket on `addr` (port 0: any free port) with [`LISTEN_BACKLOG`], and
/// `SO_REUSEADDR` on Unix as tokio's `bind` sets it.
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// What the accept loop does when `accept` fails.
#[derive(Debug, Default)]
struct AcceptErrors {
    /// When a failure was last logged (at most one warning a second).
    logged: Option<Instant>,
}

impl AcceptErrors {
    /// Out of file descriptors (`EMFILE`, `ENFILE`): the connection waiting longest for a
    /// head (at least the grace) is closed to free one, then a millisecond's pause lets its task close the socket
    /// (none waiting: 10 ms, for some connection to end). A connection that failed before it
    /// was accepted (reset, aborted): the next one at once. Anything else: 50 ms. Never a
    /// busy loop, never the end of the loop.
    async fn failed(&mut self, error: &std::io::Error, registry: &Registry, metrics: &Metrics) {
        use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
        if matches!(
            error.kind(),
            ConnectionAborted | ConnectionReset | Interrupted
        ) {
            return;
        }
        if self
            .logged
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
        {
            self.logged = Some(Instant::now());
            tracing::warn!(%error, "accept failed");
        }
        let pause = if out_of_descriptors(error) {
            if registry.close_longest_waiting(GRACE) == Eviction::Closed {
                metrics.evicted();
                Duration::from_millis(1)
            } else {
                Duration::from_millis(10)
            }
        } else {
            Duration::from_millis(50)
        };
        tokio::time::sleep(pause).await;
    }
}

/// Completes at `instant`; never when `None`.
async fn sleep_until(instant: Option<tokio::time::Instant>) {
    match instant {
        Some(instant) => tokio::time::sleep_until(instant).await,
        None => std::future::pending().await,
    }
}

/// `EMFILE` (the process's limit of open files) or `ENFILE` (the system's): 24 and 23 on
/// Linux, the BSDs and macOS.
fn out_of_descriptors(error: &std::io::Error) -> bool {
    cfg!(unix) && matches!(error.raw_os_error(), Some(23 | 24))
}

/// Binds `addr` (port 0: any free port) and serves `app` on a background task; returns the
/// address bound. For tests and the load tool.
pub async fn spawn<S: Store>(addr: SocketAddr, app: Arc<App<S>>) -> std::io::Result<SocketAddr> {
    spawn_with(addr, app, Config::default()).await
}

/// [`spawn`] under `config`.
pub async fn spawn_with<S: Store>(
    addr: SocketAddr,
    app: Arc<App<S>>,
    config: Config,
) -> std::io::Result<SocketAddr> {
    let listener = listen(addr)?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = serve_with(listener, app, config, std::future::pending()).await {
            tracing::error!(%error, "server stopped");
        }
    });
    Ok(local)
}

/// The OpenAPI 3.1 document of these endpoints (`api/openapi.json`), served as is.
pub const OPENAPI: &str = include_str!("../api/openapi.json");

async fn openapi() -> impl IntoResponse {
    json(StatusCode::OK, OPENAPI)
}

async fn healthz() -> impl IntoResponse {
    json(StatusCode::OK, r#"{"status":"ok"}"#)
}

/// 200 when the store answers a trivial query within the store timeout, else 503: the same
/// judgement as a request's (`store_unavailable`).
async fn readyz<S: Store>(State(server): State<Arc<Server<S>>>) -> impl IntoResponse {
    let timeout = server.app.store_timeout();
    match crate::pipeline::bounded(timeout, server.app.store.ping()).await {
        Ok(()) => json(StatusCode::OK, r#"{"status":"ready"}"#),
        Err(error) => {
            tracing::warn!(%error, "readiness: the store does not answer");
            let mut response = json(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"unavailable"}"#,
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
    }
}

async fn metrics<S: Store>(State(server): State<Arc<Server<S>>>) -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        server.metrics.render(),
    )
}

fn json(status: StatusCode, body: &'static str) -> axum::response::Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

/// An answer outside the engine's table, and whether the connection must close after it
/// (the body was left unread or unreadable); `unread`: the body, when the answer was given
/// before reading all of it and the rest can still be drained (lingering close).
struct Reply {
    answer: Answer,
    close: bool,
    retry_after: bool,
    unread: Option<Body>,
}

impl Reply {
    fn engine(answer: Answer) -> Reply {
        Reply {
            answer,
            close: false,
            retry_after: false,
            unread: None,
        }
    }

    fn own(status: u16, body: &'static str, close: bool) -> Reply {
        Reply {
            answer: Answer {
                status,
                body: body.as_bytes().to_vec(),
                contacts: None,
                replayed: false,
                outcomes: None,
            },
            close,
            retry_after: false,
            unread: None,
        }
    }

    /// An answer given before the body was read whole: the connection closes after it, once
    /// the rest of the body is drained.
    fn early(answer: Answer, unread: Body) -> Reply {
        Reply {
            answer,
            close: true,
            retry_after: false,
            unread: Some(unread),
        }
    }
}

async fn bulk<S: Store>(
    State(server): State<Arc<Server<S>>>,
    headers: HeaderMap,
    body: Body,
) -> axum::response::Response {
    let started = Instant::now();
    let _in_flight = server.metrics.in_flight();
    let reply = match server.shedder.admit(content_length(&headers)) {
        // Before anything else, the body unread: the client may retry the same request.
        None => {
            server.metrics.shed();
            let overloaded = Reply::own(503, OVERLOADED_BODY, true).answer;
            Reply {
                retry_after: true,
                ..Reply::early(overloaded, body)
            }
        }
        Some(_admission) => match handle(&server, &headers, body).await {
            Ok(reply) | Err(reply) => reply,
        },
    };
    let elapsed = started.elapsed();
    let Reply {
        answer,
        close,
        retry_after,
        unread,
    } = reply;
    server.metrics.answered(
        answer.status,
        elapsed,
        &answer.body,
        answer.outcomes.as_ref(),
    );
    tracing::info!(
        status = answer.status,
        contacts = answer.contacts,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        "answered"
    );
    // A client told to wait for `100 Continue` has not sent its body: nothing to drain.
    if let Some(unread) = unread.filter(|_| !headers.contains_key(EXPECT)) {
        let budget = (
            server.app.body_limit().saturating_mul(LINGER_BODIES),
            server.config.linger_timeout,
        );
        tokio::spawn(linger(unread, budget));
    }
    let (answer_status, replayed) = (answer.status, answer.replayed);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        answer.body,
    )
        .into_response();
    if replayed {
        response.headers_mut().insert(
            axum::http::HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    if close {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    // Shedding and an unreachable store: the request may be sent again unchanged.
    if retry_after || answer_status == 503 {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// A body answered early is drained up to this many times the body limit (20 MiB by default):
/// enough for a client that sends somewhat more than the limit to finish writing and read its
/// 413, and a bound on what a client can make the server read for nothing.
pub const LINGER_BODIES: usize = 4;

/// Lingering close: reads and discards what is left of a body answered early, at most
/// `bytes` of it and for at most `time`, while the answer is written. A client that writes its
/// whole request before reading (Python's `http.client`, `requests`, most SDKs) then finishes
/// writing and reads the answer; closing at once with its bytes unread would make the kernel
/// reset the connection, and such a client sees a broken pipe instead of the answer. Once the
/// body has ended, the connection closes (`Connection: close`); past either bound, it closes
/// with the rest unread.
async fn linger(mut body: Body, (bytes, time): (usize, Duration)) {
    let deadline = tokio::time::Instant::now() + time;
    let mut left = bytes;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, body.frame()).await {
        if let Ok(data) = frame.into_data() {
            match left.checked_sub(data.len()) {
                Some(rest) => left = rest,
                None => break,
            }
        }
    }
}

/// SPEC §3's order: 401 (format, then the account's keys), 415 on the `Content-Type`, 413
/// on the body, then the pipeline.
async fn handle<S: Store>(
    server: &Server<S>,
    headers: &HeaderMap,
    mut body: Body,
) -> Result<Reply, Reply> {
    let app = &server.app;
    // The request's time, read once: the engine never reads a clock.
    let now = Timestamp::now();
    let mut values = headers.get_all(API_KEY_HEADER).iter();
    let header = match (values.next(), values.next()) {
        (None, _) => KeyHeader::Absent,
        (Some(value), None) => KeyHeader::One(value.as_bytes()),
        (Some(_), Some(_)) => KeyHeader::Repeated,
    };
    let account = match app.account(header).await {
        Ok(account) => account,
        Err(answer) => return Err(Reply::early(answer, body)),
    };
    // The account's share of the slots: past it, shed like a full server (the body unread).
    let Some(_slot) = server.shares.admit(account.id) else {
        server.metrics.shed();
        let overloaded = Reply::own(503, OVERLOADED_BODY, true).answer;
        return Err(Reply::early(overloaded, body));
    };
    if !is_json(headers) {
        let unsupported = Reply::own(415, UNSUPPORTED_MEDIA_TYPE_BODY, true).answer;
        return Err(Reply::early(unsupported, body));
    }
    let Ok(key) = idempotency_key(headers) else {
        let invalid = Reply::own(400, INVALID_IDEMPOTENCY_KEY_BODY, true).answer;
        return Err(Reply::early(invalid, body));
    };
    // Held until the answer is decided: a second request with the key meanwhile gets 409.
    let _in_flight = match key {
        Some(key) => match app.key_in_flight(account.id, key) {
            Some(in_flight) => Some(in_flight),
            None => {
                let busy = Reply::own(409, IDEMPOTENCY_KEY_IN_PROGRESS_BODY, true).answer;
                return Err(Reply::early(busy, body));
            }
        },
        None => None,
    };
    let limits = (server.config.body_idle_timeout, server.config.body_timeout);
    let read = read_limited(&mut body, app.body_limit(), content_length(headers), limits).await;
    let body = match read {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => return Err(Reply::early(app.too_large(), body)),
        Err(BodyError::TimedOut) => return Err(Reply::own(408, TIMEOUT_BODY, true)),
        Err(BodyError::Framing) => return Err(Reply::own(400, FRAMING_BODY, true)),
    };
    let processing = Instant::now();
    let (answer, store) = with_store_time(app.process(&account, &body, now, key)).await;
    server
        .metrics
        .processed(processing.elapsed().saturating_sub(store), store);
    Ok(Reply::engine(answer))
}

/// The `Idempotency-Key`, if sent: 1 to 255 visible ASCII characters (`!` to `~`), sent once;
/// anything else is `Err` (400 `invalid_idempotency_key`).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ()> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY_HEADER).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => {
            let bytes = value.as_bytes();
            let visible = bytes.iter().all(|byte| (0x21..=0x7e).contains(byte));
            if (1..=255).contains(&bytes.len()) && visible {
                value.to_str().map(Some).map_err(|_| ())
            } else {
                Err(())
            }
        }
        (Some(_), Some(_)) => Err(()),
    }
}

/// No `Content-Type` (taken as JSON, as before this check existed), or `application/json`
/// with any parameters (`; charset=utf-8`), case-insensitively; anything else is not.
fn is_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    match (values.next(), values.next()) {
        (None, _) => true,
        (Some(value), None) => value.to_str().is_ok_and(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        }),
        (Some(_), Some(_)) => false,
    }
}

/// Why a body was not read whole.
enum BodyError {
    /// More than the limit: reading stopped at the first byte past it.
    TooLarge,
    /// No byte for the idle timeout, or not whole within the total timeout.
    TimedOut,
    /// The transfer framing failed: bad chunked encoding, or the connection ended early.
    Framing,
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Reads the body, frame by frame, holding at most `limit` bytes: a declared length over the
/// limit is refused before reading, and a streamed (chunked) body is cut off at the frame
/// that crosses the limit, so a 50 MB upload costs at most `limit` bytes of memory. Each
/// frame must come within `idle` of the previous one, and the whole body within `total`.
async fn read_limited(
    body: &mut Body,
    limit: usize,
    declared: Option<u64>,
    (idle, total): (Duration, Duration),
) -> Result<Vec<u8>, BodyError> {
    let declared = declared.map(|length| usize::try_from(length).unwrap_or(usize::MAX));
    if declared.is_some_and(|length| length > limit) {
        return Err(BodyError::TooLarge);
    }
    let deadline = tokio::time::Instant::now() + total;
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    loop {
        let next = tokio::time::Instant::now() + idle;
        let frame = match tokio::time::timeout_at(next.min(deadline), body.frame()).await {
            Err(_) => return Err(BodyError::TimedOut),
            Ok(None) => break,
            Ok(Some(frame)) => frame.map_err(|_| BodyError::Framing)?,
        };
        if let Ok(data) = frame.into_data() {
            if data.len() > limit - bytes.len() {
                return Err(BodyError::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

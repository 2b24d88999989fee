//! The HTTP answer: a status and the exact JSON body of SPEC §3 or §5.

use serde::Serialize;

use crate::codes::Rejection;
use crate::limits::Limits;
use crate::summary::Evaluation;
use crate::written::written_len;

/// A status and a serialized JSON body, ready to send with the content type
/// [`Response::CONTENT_TYPE`].
///
/// Web frameworks have a `Response` of their own (axum's, hyper's): import this one under
/// another name (`use bulk_contacts::Response as Answer;`) or name theirs by path
/// (`axum::response::Response`), and convert with `into_http_as` (feature `http`).
///
/// ```
/// use bulk_contacts::{Limits, Rejection, Response};
///
/// let response = Response::rejected(Rejection::TooManyContacts, &Limits::default());
/// assert_eq!(response.status, 413);
/// assert_eq!(
///     response.body,
///     br#"{"error":"contacts exceeds the limit of 1000 per request","code":"too_many_contacts"}"#
/// );
/// assert_eq!(Response::CONTENT_TYPE, "application/json");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The body: compact JSON, members in the SPEC's order.
    pub body: Vec<u8>,
}

/// `{"error": "<message>", "code": "<code>"}`.
#[derive(Serialize)]
struct RejectionBody<'m> {
    error: &'m str,
    code: &'static str,
}

impl Response {
    /// The content type of every body: `application/json`.
    pub const CONTENT_TYPE: &'static str = "application/json";

    /// The answer to a rejected request.
    pub fn rejected(rejection: Rejection, limits: &Limits) -> Self {
        Response {
            status: rejection.status(),
            body: to_json(&RejectionBody {
                error: &rejection.message(limits),
                code: rejection.as_str(),
            }),
        }
    }

    /// The 200 answer: the summary of an evaluated batch.
    pub fn summary(evaluation: &Evaluation<'_>) -> Self {
        Response {
            status: 200,
            body: to_json(evaluation),
        }
    }

    /// The same answer as an `http::Response<Vec<u8>>`, with `content-type: application/json`
    /// (feature `http`). For a framework's own body type, [`into_http_as`](Response::into_http_as).
    ///
    /// ```
    /// # use bulk_contacts::{Limits, Rejection, Response};
    /// let response = Response::rejected(Rejection::MissingApiKey, &Limits::default());
    /// let http = response.into_http();
    /// assert_eq!(http.status(), 401);
    /// assert_eq!(http.headers()["content-type"], "application/json");
    /// ```
    #[cfg(feature = "http")]
    pub fn into_http(self) -> http::Response<Vec<u8>> {
        self.into_http_as()
    }

    /// The same answer as an `http::Response` with any body type made from the bytes
    /// (feature `http`): axum's `Response` is `http::Response<axum::body::Body>`, and `Body`
    /// is `From<Vec<u8>>`, so a handler returning `axum::response::Response` ends with
    /// `answer.into_http_as()` (hyper: `Full<Bytes>`; anything `From<Vec<u8>>`).
    ///
    /// ```
    /// # use bulk_contacts::{Limits, Rejection, Response};
    /// let answer = Response::rejected(Rejection::PayloadTooLarge, &Limits::default());
    /// let http: http::Response<String> = Response::rejected(Rejection::MissingApiKey, &Limits::default())
    ///     .into_http_as::<Vec<u8>>()
    ///     .map(|body| String::from_utf8(body).unwrap());
    /// assert_eq!(http.body(), r#"{"error":"API key required","code":"unauthorized"}"#);
    /// let bytes: http::Response<std::borrow::Cow<'static, [u8]>> = answer.into_http_as();
    /// assert_eq!(bytes.status(), 413);
    /// ```
    #[cfg(feature = "http")]
    pub fn into_http_as<B: From<Vec<u8>>>(self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.body));
        // Every status the engine answers is a valid one.
        let status = http::StatusCode::from_u16(self.status);
        debug_assert!(status.is_ok(), "status {}", self.status);
        *response.status_mut() = status.unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(Self::CONTENT_TYPE),
        );
        response
    }
}

/// The body, in a buffer of exactly its size: it is measured first (a summary with many errors
/// is tens of kilobytes, and a growing buffer would hold up to twice that at once).
fn to_json(value: &impl Serialize) -> Vec<u8> {
    let mut body = Vec::with_capacity(written_len(value));
    let written = serde_json::to_writer(&mut body, value);
    // Serializing fails only for non-string map keys, which these types never have.
    debug_assert!(written.is_ok(), "{written:?}");
    body
}

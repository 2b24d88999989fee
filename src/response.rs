//! The HTTP answer: a status and the exact JSON body of SPEC §3 or §5.

use serde::Serialize;

use crate::codes::Rejection;
use crate::limits::Limits;
use crate::summary::Evaluation;

/// A status and a serialized JSON body, ready to send.
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
    /// The answer to a rejected request.
    pub fn rejected(rejection: Rejection, limits: &Limits) -> Self {
        Response {
            status: rejection.status(),
            body: rejection_body(rejection, limits),
        }
    }

    /// The 200 answer: the summary of an evaluated batch.
    pub fn summary(evaluation: &Evaluation<'_, '_>) -> Self {
        Response {
            status: 200,
            body: to_json(evaluation),
        }
    }
}

/// The body of a rejected request.
pub fn rejection_body(rejection: Rejection, limits: &Limits) -> Vec<u8> {
    to_json(&RejectionBody {
        error: &rejection.message(limits),
        code: rejection.as_str(),
    })
}

fn to_json(value: &impl Serialize) -> Vec<u8> {
    // Serializing into a Vec fails only for non-string map keys, which these types never have.
    serde_json::to_vec(value).unwrap_or_default()
}

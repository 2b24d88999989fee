//! Batching for clients: split any number of contacts into request bodies that respect the
//! engine's [`Limits`], and merge the answers to those requests into one [`Report`] with the
//! caller's indices.
//!
//! The [`Splitter`] takes contacts one at a time and hands back a [`RequestBody`] as soon as
//! one is complete, so that a caller streaming a large file holds at most one body in memory.
//! A contact that is not sent is a local [`ErrorEntry`]:
//!
//! * its compact JSON is longer than `max_contact_bytes`: `payload_too_large` with the
//!   engine's rule 1 message (the engine would answer exactly that for it);
//! * it fits the per-contact limit but no body under the configured limits could carry it
//!   (custom limits only: `max_body_bytes` smaller than the envelope plus the contact): the
//!   code and message of the [`Rejection`] the engine would answer to a body holding that
//!   contact alone, `payload_too_large` (`Request body exceeds the N byte limit`).
//!
//! The [`Merger`] takes, for each body sent, its index map and the answer (status and body
//! bytes), plus the local errors, and builds the [`Report`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::codes::{ContactError, Rejection};
use crate::limits::Limits;
use crate::member::Member;
use crate::summary::Counts;

/// `{"contacts":[`
const HEAD: &[u8] = b"{\"contacts\":[";
/// `]}`
const TAIL: &[u8] = b"]}";

/// One request body, ready to send, and the caller's index of each of its contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestBody {
    /// `{"contacts":[...]}`, compact, within every limit.
    pub bytes: Vec<u8>,
    /// `indices[i]` is the caller's index of the body's contact `i`, ascending.
    pub indices: Vec<usize>,
}

/// An error entry as the engine's summary writes it (`errors[]` items), with the caller's
/// index: `{index, phone_number, code, error[, field | validation]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorEntry {
    /// The contact's index: the caller's, once in a [`Report`].
    pub index: usize,
    /// `phone_number` as sent when it was a string, else `null`.
    pub phone_number: Option<String>,
    /// The wire code.
    pub code: String,
    /// The message.
    pub error: String,
    /// Only for `invalid_field`: the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Only for `validation_failed`: the validation result, exactly as the server wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Box<RawValue>>,
}

impl PartialEq for ErrorEntry {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
            && self.phone_number == other.phone_number
            && self.code == other.code
            && self.error == other.error
            && self.field == other.field
            && self.validation.as_ref().map(|v| v.get())
                == other.validation.as_ref().map(|v| v.get())
    }
}

impl ErrorEntry {
    fn local(index: usize, contact: &serde_json::Value, code: &str, error: Cow<'_, str>) -> Self {
        ErrorEntry {
            index,
            phone_number: contact
                .get(Member::PhoneNumber.name())
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            code: code.to_owned(),
            error: error.into_owned(),
            field: None,
            validation: None,
        }
    }
}

/// What one [`Splitter::push`] produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Pushed {
    /// The contact was added to the body being filled; nothing to send yet.
    Pending,
    /// A body is complete (the one before this contact, or the one this contact filled).
    Body(RequestBody),
    /// The contact is not sent: its local error.
    Local(ErrorEntry),
}

/// Splits contacts, pushed in the caller's order, into request bodies within the limits.
///
/// ```
/// use bulk_contacts::{Limits, Pushed, Splitter};
/// use serde_json::json;
///
/// let limits = Limits::DEFAULT.with_max_contacts(2).expect("at least one");
/// let mut splitter = Splitter::new(limits);
/// let mut bodies = Vec::new();
/// for n in 0..3 {
///     if let Pushed::Body(body) = splitter.push(&json!({"phone_number": format!("+1415555000{n}")})) {
///         bodies.push(body);
///     }
/// }
/// bodies.extend(splitter.finish());
/// assert_eq!(bodies[0].indices, [0, 1]);
/// assert_eq!(bodies[1].bytes, br#"{"contacts":[{"phone_number":"+14155550002"}]}"#);
/// assert_eq!(bodies[1].indices, [2]);
/// ```
#[derive(Debug, Clone)]
pub struct Splitter {
    limits: Limits,
    bytes: Vec<u8>,
    indices: Vec<usize>,
    next_index: usize,
    pushed: usize,
    scratch: Vec<u8>,
}

impl Splitter {
    /// A splitter for these limits (the engine's: `*engine.limits()`).
    pub fn new(limits: Limits) -> Self {
        Splitter {
            limits,
            bytes: Vec::new(),
            indices: Vec::new(),
            next_index: 0,
            pushed: 0,
            scratch: Vec::new(),
        }
    }

    /// Adds the next contact (caller index: one more than the previous contact's, 0 for the
    /// first: with `push` alone, the number of contacts pushed before it).
    ///
    /// Returns [`Pushed::Body`] when a body is complete: the body being filled when this
    /// contact does not fit in it (the contact starts the next one), or the body this contact
    /// brought to `max_contacts`. At most one body per push.
    pub fn push(&mut self, contact: &serde_json::Value) -> Pushed {
        self.push_at(self.next_index, contact)
    }

    /// Adds a contact under the caller's own `index`, e.g. its position in a list whose
    /// pre-check failures are not sent ([`Precheck::entries`](crate::Precheck::entries)):
    /// bodies, local errors and, through [`Merger::add`], the report then speak of the
    /// caller's indices with no remapping. Indices need not be contiguous; give them
    /// ascending (each body's `indices` then ascend, and no two contacts share one). Same
    /// result as [`push`](Splitter::push) otherwise.
    ///
    /// ```
    /// use bulk_contacts::{Limits, Pushed, Splitter};
    /// use serde_json::json;
    ///
    /// let mut splitter = Splitter::new(Limits::default());
    /// for index in [0, 2, 5] { // 1, 3 and 4 failed the pre-check
    ///     let contact = json!({"phone_number": format!("+1415555000{index}")});
    ///     assert_eq!(splitter.push_at(index, &contact), Pushed::Pending);
    /// }
    /// assert_eq!(splitter.finish().unwrap().indices, [0, 2, 5]);
    /// ```
    pub fn push_at(&mut self, index: usize, contact: &serde_json::Value) -> Pushed {
        self.next_index = index.saturating_add(1);
        self.pushed += 1;
        self.scratch.clear();
        let written = serde_json::to_writer(&mut self.scratch, contact);
        // Serializing a `Value` into a Vec cannot fail: its map keys are strings.
        debug_assert!(written.is_ok(), "{written:?}");
        let size = self.scratch.len();
        if size > self.limits.max_contact_bytes() {
            let error = ContactError::PayloadTooLarge;
            let message = error.message(&self.limits);
            return Pushed::Local(ErrorEntry::local(
                index,
                contact,
                error.code().as_str(),
                message,
            ));
        }
        if HEAD.len() + size + TAIL.len() > self.limits.max_body_bytes() {
            // No body can carry it: the rejection of a body holding it alone.
            let rejection = Rejection::PayloadTooLarge;
            let message = rejection.message(&self.limits);
            return Pushed::Local(ErrorEntry::local(
                index,
                contact,
                rejection.as_str(),
                message,
            ));
        }
        let mut done = None;
        let full = self.indices.len() >= self.limits.max_contacts()
            || self.bytes.len() + 1 + size + TAIL.len() > self.limits.max_body_bytes();
        if !self.indices.is_empty() && full {
            done = self.take();
        }
        if self.indices.is_empty() {
            self.bytes.extend_from_slice(HEAD);
        } else {
            self.bytes.push(b',');
        }
        self.bytes.extend_from_slice(&self.scratch);
        self.indices.push(index);
        if done.is_none() && self.indices.len() >= self.limits.max_contacts() {
            done = self.take();
        }
        done.map_or(Pushed::Pending, Pushed::Body)
    }

    /// The body being filled, if it holds any contact. Call it after the last push.
    pub fn finish(mut self) -> Option<RequestBody> {
        self.take()
    }

    /// The number of contacts pushed so far.
    pub fn pushed(&self) -> usize {
        self.pushed
    }

    fn take(&mut self) -> Option<RequestBody> {
        if self.indices.is_empty() {
            return None;
        }
        self.bytes.extend_from_slice(TAIL);
        Some(RequestBody {
            bytes: std::mem::take(&mut self.bytes),
            indices: std::mem::take(&mut self.indices),
        })
    }
}

/// All the bodies and local errors of a list of contacts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Split {
    /// The bodies, in the caller's order.
    pub bodies: Vec<RequestBody>,
    /// The contacts not sent, ascending index.
    pub local: Vec<ErrorEntry>,
}

/// Splits `contacts` (in the caller's order) at once; see [`Splitter`] to stream them.
pub fn split<'c>(
    contacts: impl IntoIterator<Item = &'c serde_json::Value>,
    limits: Limits,
) -> Split {
    let mut splitter = Splitter::new(limits);
    let mut split = Split::default();
    for contact in contacts {
        match splitter.push(contact) {
            Pushed::Pending => {}
            Pushed::Body(body) => split.bodies.push(body),
            Pushed::Local(entry) => split.local.push(entry),
        }
    }
    split.bodies.extend(splitter.finish());
    split
}

/// A body answered with something other than a readable summary: every contact it carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedBody {
    /// The caller's indices of its contacts, ascending.
    pub indices: Vec<usize>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The answer's `code`, when it is a `{"error", "code"}` body.
    pub code: Option<String>,
    /// The answer's `error` message; for an unreadable answer, what was wrong with it.
    pub error: Option<String>,
}

impl RejectedBody {
    /// Whether sending the same body again may succeed: the answer says nothing about the
    /// contacts, only about that attempt ([`retryable_status`](RejectedBody::retryable_status)).
    /// A 200 that could not be merged is not: the server may have written the contacts.
    pub fn retryable(&self) -> bool {
        Self::retryable_status(self.status)
    }

    /// The statuses after which the same body may be sent again, unchanged:
    ///
    /// * **408** `request_timeout`: the body did not arrive in time; nothing was read.
    /// * **409** `idempotency_key_in_progress`: a request with the same `Idempotency-Key` is
    ///   still running; sent again with that key it gets the first one's answer.
    /// * **429**: a proxy's or gateway's rate limit; nothing reached the server.
    /// * **500** `internal_error`: a lookup or the store failed; the server's transaction was
    ///   rolled back.
    /// * **502**, **504**: a gateway lost or timed out on the server.
    /// * **503** `overloaded` (load shedding, before the body is read) and
    ///   `store_unavailable`: both with `Retry-After`, a header, so read it from the HTTP
    ///   client and wait at least that long.
    ///
    /// Only 408, 429 and `overloaded` are certain to have written nothing. After a 500, 502,
    /// 503 `store_unavailable` or 504 the commit may have happened with the answer lost on
    /// the way: send every body with an `Idempotency-Key` (the same one on each attempt) so
    /// that a resend cannot apply it twice (without one, a resend re-enrolls
    /// `use_journeys` contacts whose `skip_journey_if_exists` is false). Every other status
    /// (400, 401, 402, 413, 415, 422) is the answer to the body itself: the same body gets it
    /// again.
    pub const fn retryable_status(status: u16) -> bool {
        matches!(status, 408 | 409 | 429 | 500 | 502 | 503 | 504)
    }
}

/// Why an answer could not be merged (it is still in the report, as a [`RejectedBody`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// A 200 answer whose body is not a summary.
    #[error("the 200 answer is not a summary body: {0}")]
    NotASummary(String),
    /// A 200 answer that does not account for the body's contacts exactly once.
    #[error("the summary does not match the body of {contacts} contacts: {problem}")]
    Mismatch {
        /// The number of contacts in the body.
        contacts: usize,
        /// What does not match.
        problem: String,
    },
}

/// The merged answers to all the bodies of one split, with the caller's indices.
///
/// Serialized, it is the engine's summary body (same members, same order) followed by
/// `rejected`: `success_count`, `error_count`, `errors`, `contacts_created`,
/// `list_contacts_created`, `journeys_enrolled`, `rejected`. `error_count` counts every entry
/// of `errors`, local ones included; `success_count` + `error_count` + the contacts of the
/// rejected bodies is the number of contacts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// The summed counters.
    pub counts: Counts,
    /// Every error entry, the server's and the local ones, by ascending caller index.
    pub errors: Vec<ErrorEntry>,
    /// The bodies rejected as a whole, in the order they were merged.
    pub rejected: Vec<RejectedBody>,
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut body = serializer.serialize_struct("Report", 7)?;
        body.serialize_field("success_count", &self.counts.success_count)?;
        body.serialize_field("error_count", &self.counts.error_count)?;
        body.serialize_field("errors", &self.errors)?;
        body.serialize_field("contacts_created", &self.counts.contacts_created)?;
        body.serialize_field("list_contacts_created", &self.counts.list_contacts_created)?;
        body.serialize_field("journeys_enrolled", &self.counts.journeys_enrolled)?;
        body.serialize_field("rejected", &self.rejected)?;
        body.end()
    }
}

/// The summary body of SPEC §5, as the merger reads it.
#[derive(Deserialize)]
struct Summary {
    success_count: usize,
    error_count: usize,
    errors: Vec<ErrorEntry>,
    contacts_created: usize,
    list_contacts_created: usize,
    journeys_enrolled: u64,
}

/// The body of a rejected request, `{"error", "code"}`, as the merger reads it.
#[derive(Deserialize)]
struct RejectionBody {
    error: Option<String>,
    code: Option<String>,
}

/// Builds a [`Report`] from the answers to the bodies of a split and its local errors.
#[derive(Debug, Clone, Default)]
pub struct Merger {
    report: Report,
}

impl Merger {
    /// An empty report.
    pub fn new() -> Self {
        Merger::default()
    }

    /// A contact that was not sent ([`Pushed::Local`], [`Split::local`]).
    pub fn local(&mut self, entry: ErrorEntry) {
        self.report.counts.error_count += 1;
        self.report.errors.push(entry);
    }

    /// The answer to one body: its index map ([`RequestBody::indices`]), the status and the
    /// body bytes as returned.
    ///
    /// `indices` are the caller's, whatever they are: the body's contact `i` is reported as
    /// `indices[i]` (any values, e.g. those of [`Splitter::push_at`]; for a readable report
    /// each caller index appears in one body only).
    ///
    /// A 200 summary adds its counters and its error entries, each index replaced by the
    /// caller's. Any other status is a [`RejectedBody`] with the answer's code and message. A
    /// 200 answer that is not a summary of exactly this body's contacts is a [`RejectedBody`]
    /// too (status 200, no code, the problem as `error`), and the problem is returned.
    pub fn add(&mut self, indices: &[usize], status: u16, body: &[u8]) -> Result<(), MergeError> {
        if status != 200 {
            let parsed = serde_json::from_slice::<RejectionBody>(body).ok();
            let (error, code) = parsed.map_or((None, None), |b| (b.error, b.code));
            self.reject(indices, status, code, error);
            return Ok(());
        }
        match Self::read_summary(indices, body) {
            Ok(summary) => {
                let counts = &mut self.report.counts;
                counts.success_count = counts.success_count.saturating_add(summary.success_count);
                counts.error_count = counts.error_count.saturating_add(summary.error_count);
                counts.contacts_created = counts
                    .contacts_created
                    .saturating_add(summary.contacts_created);
                counts.list_contacts_created = counts
                    .list_contacts_created
                    .saturating_add(summary.list_contacts_created);
                counts.journeys_enrolled = counts
                    .journeys_enrolled
                    .saturating_add(summary.journeys_enrolled);
                for mut entry in summary.errors {
                    entry.index = indices[entry.index];
                    self.report.errors.push(entry);
                }
                Ok(())
            }
            Err(problem) => {
                self.reject(indices, status, None, Some(problem.to_string()));
                Err(problem)
            }
        }
    }

    /// The report, `errors` sorted by caller index.
    pub fn finish(mut self) -> Report {
        self.report.errors.sort_by_key(|entry| entry.index);
        self.report
    }

    fn reject(
        &mut self,
        indices: &[usize],
        status: u16,
        code: Option<String>,
        error: Option<String>,
    ) {
        self.report.rejected.push(RejectedBody {
            indices: indices.to_vec(),
            status,
            code,
            error,
        });
    }

    fn read_summary(indices: &[usize], body: &[u8]) -> Result<Summary, MergeError> {
        let summary: Summary = serde_json::from_slice(body)
            .map_err(|error| MergeError::NotASummary(error.to_string()))?;
        let mismatch = |problem: String| MergeError::Mismatch {
            contacts: indices.len(),
            problem,
        };
        if summary.success_count.checked_add(summary.error_count) != Some(indices.len()) {
            return Err(mismatch(format!(
                "success_count {} + error_count {}",
                summary.success_count, summary.error_count
            )));
        }
        if summary.errors.len() != summary.error_count {
            return Err(mismatch(format!(
                "{} error entries for error_count {}",
                summary.errors.len(),
                summary.error_count
            )));
        }
        let mut previous = None;
        for entry in &summary.errors {
            if entry.index >= indices.len() || previous.is_some_and(|p| entry.index <= p) {
                return Err(mismatch(format!(
                    "error index {} out of range or out of order",
                    entry.index
                )));
            }
            previous = Some(entry.index);
        }
        Ok(summary)
    }
}

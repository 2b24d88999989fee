//! The engine: the batch-level checks of SPEC §3 in order, and [`Engine::handle`], the whole
//! request for callers whose lookups are synchronous.

use jiff::Timestamp;
use subtle::ConstantTimeEq;

use crate::account::Account;
use crate::batch::{Batch, OwnedBatch};
use crate::codes::{ContactError, Rejection};
use crate::limits::Limits;
use crate::lookup::{CarrierCheck, Directory, ListLookup};
use crate::request::{self, CheckedContact, NotJson};
use crate::response::Response;
use crate::rules::Valid;

/// One request as the HTTP layer received it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The `X-Api-Key` header's value, `None` when absent.
    pub api_key: Option<&'a [u8]>,
    /// The request body.
    pub body: &'a [u8],
    /// The time the request is evaluated at.
    pub now: Timestamp,
}

/// The decision logic, configured with its limits. Cheap to copy, shareable across threads.
///
/// The steps, in the order to call them (each one a method, so that the caller can do its
/// I/O between them; see the [crate documentation](crate) for the whole protocol):
/// [`check_key_format`](Engine::check_key_format) / [`authenticate`](Engine::authenticate),
/// [`read`](Engine::read) or [`read_owned`](Engine::read_owned), then the [`Batch`]'s
/// stages. [`handle`](Engine::handle) runs them all with synchronous lookups:
///
/// ```
/// use bulk_contacts::{Account, CarrierValidationMap, DirectoryMap, Engine, Request, SendingList};
/// use std::collections::HashMap;
///
/// let key = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6";
/// let account = Account { api_keys: vec![key.to_owned()], ..Account::default() };
/// let lists = HashMap::from([("+18005551234".to_owned(), SendingList { welcome_journeys: 1 })]);
/// let request = Request {
///     api_key: Some(key.as_bytes()),
///     body: br#"{"contacts": [{"phone_number": "+14155559876", "list_number": "+18005551234",
///                              "use_journeys": true}]}"#,
///     now: "2025-06-01T00:00:00Z".parse().unwrap(),
/// };
/// let carrier = CarrierValidationMap::default(); // every number sendable
/// let directory = DirectoryMap::default(); // an empty store
/// let response = Engine::default().handle(&request, &account, &lists, &carrier, &directory);
/// assert_eq!(response.status, 200);
/// assert_eq!(
///     response.body,
///     br#"{"success_count":1,"error_count":0,"errors":[],"contacts_created":1,"list_contacts_created":1,"journeys_enrolled":1}"#
/// );
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Engine {
    limits: Limits,
}

const KEY_PREFIX: &[u8] = b"trk_";
const KEY_SUFFIX_LEN: usize = 32;

impl Engine {
    /// An engine with these limits.
    pub const fn new(limits: Limits) -> Self {
        Engine { limits }
    }

    /// The configured limits.
    pub const fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Check 1, format only: the header is present, non-empty, and `trk_` followed by exactly
    /// 32 ASCII letters or digits. Servers that find the account by its key call this first.
    pub fn check_key_format<'k>(&self, header: Option<&'k [u8]>) -> Result<&'k [u8], Rejection> {
        let key = header
            .filter(|k| !k.is_empty())
            .ok_or(Rejection::MissingApiKey)?;
        let well_formed = key.len() == KEY_PREFIX.len() + KEY_SUFFIX_LEN
            && key.starts_with(KEY_PREFIX)
            && key
                .iter()
                .skip(KEY_PREFIX.len())
                .all(u8::is_ascii_alphanumeric);
        if well_formed {
            Ok(key)
        } else {
            Err(Rejection::InvalidApiKey)
        }
    }

    /// Check 1: the header is well formed and is one of `account_keys`. Keys are compared in
    /// constant time, and all of them are compared, so timing tells nothing about a key.
    pub fn authenticate<K: AsRef<[u8]>>(
        &self,
        header: Option<&[u8]>,
        account_keys: &[K],
    ) -> Result<(), Rejection> {
        let key = self.check_key_format(header)?;
        let found = account_keys
            .iter()
            .fold(subtle::Choice::from(0), |found, candidate| {
                found | candidate.as_ref().ct_eq(key)
            });
        if bool::from(found) {
            Ok(())
        } else {
            Err(Rejection::InvalidApiKey)
        }
    }

    /// Checks 2 to 5 on the body, then rules 1 to 8 on each contact. Needs no lookup at all:
    /// a client SDK can call this alone to catch every error it can before sending
    /// (`now` matters only to `signup_date`).
    pub fn read<'a>(&self, body: &'a [u8], now: Timestamp) -> Result<Batch<'a>, Rejection> {
        let read = request::read_contacts(body, &self.limits, now)?;
        Ok(Batch::new(self.limits, now, read))
    }

    /// [`Engine::read`] on a body the batch keeps: the result is `Send + 'static`, so it can
    /// be read on a blocking thread and sent back. A `bytes::Bytes` body converts with
    /// `Vec::from(bytes)` (without a copy when the buffer is not shared).
    pub fn read_owned(&self, body: Vec<u8>, now: Timestamp) -> Result<OwnedBatch, Rejection> {
        OwnedBatch::read(body, |body| self.read(body, now))
    }

    /// Rules 1 to 8 on one contact given as its JSON text, exactly as if it were one element
    /// of `contacts` in a request body read at `now`: what a client checking a file of
    /// contacts (one JSON value each) runs on every row. The text must be one JSON value that
    /// could stand in a body (syntax, UTF-8, number range, nesting at most
    /// [`Limits::MAX_CONTACT_NESTING`] levels); otherwise the error is [`NotJson`].
    ///
    /// ```
    /// use bulk_contacts::{ContactCode, Engine, Timestamp};
    ///
    /// let now: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
    /// let engine = Engine::default();
    /// let valid = engine
    ///     .check_contact(br#"{"phone_number": "+14155559876", "list_number": "+18005551234"}"#, now)
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(valid.phone, "+14155559876");
    /// let error = engine
    ///     .check_contact(br#"{"phone_number": "415-555-9876", "list_number": "+18005551234"}"#, now)
    ///     .unwrap()
    ///     .unwrap_err();
    /// assert_eq!(error.code(), ContactCode::InvalidPhone);
    /// assert!(engine.check_contact(b"{\"phone_number\": ", now).is_err());
    /// ```
    pub fn check_contact<'t>(
        &self,
        text: &'t [u8],
        now: Timestamp,
    ) -> Result<Result<Valid<'t>, ContactError>, NotJson> {
        request::check_one(text, &self.limits, now)
    }

    /// [`Engine::check_contact`], also handing the contact's `phone_number` and `list_number`
    /// when they are JSON strings, unescaped and as sent: what a client
    /// needs to suggest the canonical form of a rejected number (`e164::normalize`) without
    /// reading the text a second time.
    ///
    /// ```
    /// use bulk_contacts::{ContactCode, Engine, Timestamp};
    ///
    /// let now: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
    /// let text = br#"{"phone_number": "415-555-9876", "list_number": "+18005551234"}"#;
    /// let checked = Engine::default().check_contact_with_numbers(text, now).unwrap();
    /// assert_eq!(checked.check.unwrap_err().code(), ContactCode::InvalidPhone);
    /// assert_eq!(checked.phone_number.as_deref(), Some("415-555-9876"));
    /// assert_eq!(checked.list_number.as_deref(), Some("+18005551234"));
    /// ```
    pub fn check_contact_with_numbers<'t>(
        &self,
        text: &'t [u8],
        now: Timestamp,
    ) -> Result<CheckedContact<'t>, NotJson> {
        request::check_one_with_numbers(text, &self.limits, now)
    }

    /// The whole request, with synchronous lookups: status and body.
    pub fn handle(
        &self,
        request: &Request<'_>,
        account: &Account,
        lists: &impl ListLookup,
        carrier: &impl CarrierCheck,
        directory: &impl Directory,
    ) -> Response {
        let rejected = |rejection: Rejection| Response::rejected(rejection, &self.limits);
        if let Err(rejection) = self.authenticate(request.api_key, &account.api_keys) {
            return rejected(rejection);
        }
        let batch = match self.read(request.body, request.now) {
            Ok(batch) => batch,
            Err(rejection) => return rejected(rejection),
        };
        if let Err(rejection) = batch.check_billing(account.billing) {
            return rejected(rejection);
        }
        match batch.evaluate(lists, carrier, directory) {
            Ok(evaluation) => Response::summary(&evaluation),
            Err(_) => rejected(Rejection::InternalError),
        }
    }
}

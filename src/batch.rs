//! A read batch (SPEC §3 checks 2 to 6, §4 rules 1 to 8 done): what it holds, the keys a
//! server fetches for it (SPEC §7), and [`OwnedBatch`], a batch that holds its body. Its next
//! stages are in `screen.rs` ([`Batch::screen`](crate::Batch::screen)).
//!
//! The batch owns what the reader built ([`Read`]); every later stage borrows it.

use jiff::Timestamp;
use yoke::{Yoke, Yokeable};

use crate::account::Billing;
use crate::codes::{ContactError, Rejection};
use crate::hashing;
use crate::limits::Limits;
use crate::request::Read;
use crate::rules::Valid;

/// A request body that passed checks 2 to 5, with rules 1 to 8 applied to each contact.
///
/// Made by [`Engine::read`](crate::Engine::read) (borrowing the body) or
/// [`Engine::read_owned`](crate::Engine::read_owned) (owning it, see [`OwnedBatch`]). Next
/// steps: [`Batch::check_billing`], [`Batch::keys`], [`Batch::screen`] (or
/// [`Batch::evaluate`] to run both remaining stages at once).
///
/// ```
/// use bulk_contacts::{ContactCode, Engine, Timestamp};
///
/// let body = br#"{"contacts": [
///     {"phone_number": "+14155559876", "list_number": "+18005551234"},
///     {"phone_number": "415-555-9876", "list_number": "+18005551234"}
/// ]}"#;
/// let now: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
/// let batch = Engine::default().read(body, now).unwrap();
/// // The lookup-free pre-check a client SDK runs before sending:
/// let errors: Vec<_> = batch.precheck_errors().map(|(i, e)| (i, e.code())).collect();
/// assert_eq!(errors, [(1, ContactCode::InvalidPhone)]);
/// // What a server fetches, each key once:
/// assert_eq!(batch.keys().phones, ["+14155559876"]);
/// ```
#[derive(Debug, Clone, Yokeable)]
pub struct Batch<'a> {
    limits: Limits,
    now: Timestamp,
    read: Read<'a>,
}

/// The distinct keys a batch may need, in order of first appearance, so that a server can
/// fetch each kind in one round trip. They cover every contact that passed rules 1 to 8 — a
/// superset of what evaluation asks, since a contact may still fail rule 9 or 10 — and none
/// of them costs money: the paid validation's keys come from [`Screened::validation_keys`](crate::Screened::validation_keys).
///
/// Fetch `lists` (and `memberships`, which belong to lists) among the **authenticated
/// account's** rows only: see the scoping rule on [`ListLookup`](crate::ListLookup).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys<'b> {
    /// List numbers, for [`ListLookup`](crate::ListLookup).
    pub lists: Vec<&'b str>,
    /// Phone numbers, for [`CarrierCheck::carrier`](crate::CarrierCheck::carrier) and [`Directory::contact_exists`](crate::Directory::contact_exists).
    pub phones: Vec<&'b str>,
    /// (phone, list) pairs, for [`Directory::is_member`](crate::Directory::is_member).
    pub memberships: Vec<(&'b str, &'b str)>,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(limits: Limits, now: Timestamp, read: Read<'a>) -> Self {
        Batch { limits, now, read }
    }

    /// The number of contacts.
    pub fn len(&self) -> usize {
        self.read.texts.len()
    }

    /// Whether the batch has no contact (never true: an empty `contacts` is rejected).
    pub fn is_empty(&self) -> bool {
        self.read.texts.is_empty()
    }

    /// Each contact's JSON text, exactly as sent (a slice of the body).
    pub fn contacts(&self) -> &[&'a str] {
        &self.read.texts
    }

    /// The result of rules 1 to 8 for each contact.
    pub fn checks(&self) -> &[Result<Valid<'a>, ContactError>] {
        &self.read.checks
    }

    /// `phone_number` as sent, when it was a string (what the contact's error entry echoes).
    pub(crate) fn phone_sent(&self, index: usize) -> Option<&str> {
        self.read.phone_sent(index)
    }

    /// The errors of rules 1 to 8, by index: the pre-check a client can run before sending.
    pub fn precheck_errors(&self) -> impl Iterator<Item = (usize, &ContactError)> {
        self.read
            .checks
            .iter()
            .enumerate()
            .filter_map(|(index, check)| check.as_ref().err().map(|error| (index, error)))
    }

    /// The time this batch is evaluated at.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The limits this batch was read with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether some contact is an object whose `use_validation` is `true`.
    pub fn wants_validation(&self) -> bool {
        self.read.wants_validation
    }

    /// SPEC §3 check 6: a batch asking for validation needs working billing.
    pub fn check_billing(&self, billing: Billing) -> Result<(), Rejection> {
        match billing.rejection() {
            Some(rejection) if self.read.wants_validation => Err(rejection),
            _ => Ok(()),
        }
    }

    fn valid(&self) -> impl Iterator<Item = &Valid<'a>> {
        self.read
            .checks
            .iter()
            .filter_map(|check| check.as_ref().ok())
    }

    /// The distinct free lookup keys this batch may need (see [`Keys`]; SPEC §7).
    pub fn keys(&self) -> Keys<'_> {
        let mut keys = Keys::default();
        let (mut lists, mut phones, mut pairs) =
            (hashing::set(0), hashing::set(0), hashing::set(0));
        for valid in self.valid() {
            let (phone, list) = (valid.phone.as_ref(), valid.list.as_ref());
            if lists.insert(list) {
                keys.lists.push(list);
            }
            if phones.insert(phone) {
                keys.phones.push(phone);
            }
            if pairs.insert((phone, list)) {
                keys.memberships.push((phone, list));
            }
        }
        keys
    }
}

/// A [`Batch`] that owns the body it was read from: `Send + 'static`, so that reading (a few
/// milliseconds for a body of several megabytes) can run on a blocking thread and the batch
/// come back to the async task. The contacts still borrow from the body, which the batch
/// holds: nothing is copied.
///
/// ```
/// use bulk_contacts::{Engine, OwnedBatch, Timestamp};
///
/// let body: Vec<u8> = br#"{"contacts": [{"phone_number": "+14155559876"}]}"#.to_vec();
/// let now: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
/// let owned: OwnedBatch = std::thread::spawn(move || Engine::default().read_owned(body, now))
///     .join()
///     .unwrap()
///     .unwrap();
/// assert_eq!(owned.batch().precheck_errors().count(), 1); // no list_number
/// ```
pub struct OwnedBatch(Yoke<Batch<'static>, Vec<u8>>);

impl OwnedBatch {
    pub(crate) fn read(
        body: Vec<u8>,
        read: impl for<'a> FnOnce(&'a [u8]) -> Result<Batch<'a>, Rejection>,
    ) -> Result<Self, Rejection> {
        Yoke::<Batch<'static>, Vec<u8>>::try_attach_to_cart(body, |body: &[u8]| read(body))
            .map(OwnedBatch)
    }

    /// The batch, borrowing from the body this value holds.
    pub fn batch(&self) -> &Batch<'_> {
        self.0.get()
    }

    /// The body the batch was read from.
    pub fn body(&self) -> &[u8] {
        self.0.backing_cart()
    }
}

impl std::fmt::Debug for OwnedBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OwnedBatch").field(self.batch()).finish()
    }
}

//! Pre-check for client SDKs that hold contacts as values, not bytes: rules 1 to 8 of SPEC §4
//! on `serde_json::Value`s or typed [`Contact`]s, with exactly the engine's codes and messages.
//!
//! Everything goes through [`Engine::check_contact`]: a contact is serialized with
//! `serde_json::to_writer` (the compact form rule 1 measures, and the bytes an SDK sends) and
//! checked as one element of `contacts`. The errors of many contacts are the server's
//! `errors[]` items ([`ErrorEntry`]), as far as rules 1 to 8 can tell before sending.
//!
//! The clock note (the margin a client keeps) is on [`Precheck`].

use jiff::{SignedDuration, Timestamp};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::batching::{ErrorEntry, Pushed, Split, Splitter};
use crate::codes::{ContactError, Rejection};
use crate::engine::Engine;
use crate::limits::Limits;
use crate::member::{Field, Member};
use crate::request::NotJson;

/// How many members a [`Contact`] has a slot for: every member the rules read but
/// `custom_fields` (the last of [`Member::ALL`]), in that order: the numbers, then rule 7's
/// fields in the rule's order.
const SLOTS: usize = Member::ALL.len() - 1;

/// `custom_fields` of a [`Contact`]: named values in the order they were set, or any value
/// set as a whole with [`Contact::member`].
#[derive(Debug, Clone, PartialEq)]
enum CustomFields {
    Fields(Vec<(String, Value)>),
    Whole(Value),
}

/// A contact built in code, that serializes to exactly the SPEC's members, in this order:
/// `phone_number`, `list_number`, `use_journeys`, `skip_journey_if_exists`, `use_validation`,
/// `replace_custom_fields`, `signup_date`, `ip_address`, `url`, `custom_fields` (its fields in
/// the order they were first set), then the other members in the order they were first set.
/// A member never set is not written (the server's defaults apply); setting one again replaces
/// its value in place, so a name is never written twice.
///
/// The typed setters write the types the rules want; [`Contact::member`] writes any JSON value
/// under any name (a `use_journeys` of `"yes"` read from a spreadsheet), so that the check can
/// tell what the server would answer to it.
///
/// ```
/// use bulk_contacts::Contact;
///
/// let contact = Contact::new("+14155559876", "+18005551234")
///     .use_journeys(true)
///     .signup_date("2025-03-15T14:30:00Z")
///     .custom_field("first_name", "Ada")
///     .custom_field("visits", 3)
///     .member("ad_network_source", "newsletter");
/// assert_eq!(
///     serde_json::to_string(&contact).unwrap(),
///     r#"{"phone_number":"+14155559876","list_number":"+18005551234","use_journeys":true,"signup_date":"2025-03-15T14:30:00Z","custom_fields":{"first_name":"Ada","visits":3},"ad_network_source":"newsletter"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Contact {
    slots: [Option<Value>; SLOTS],
    custom_fields: Option<CustomFields>,
    others: Vec<(String, Value)>,
}

impl Contact {
    /// A contact with its two required numbers (sent as given: the check says whether they
    /// are canonical; `e164::normalize` makes them so).
    pub fn new(phone_number: impl Into<String>, list_number: impl Into<String>) -> Self {
        Contact::default()
            .phone_number(phone_number)
            .list_number(list_number)
    }

    /// `phone_number`.
    pub fn phone_number(self, number: impl Into<String>) -> Self {
        self.member(Member::PhoneNumber.name(), number.into())
    }

    /// `list_number`.
    pub fn list_number(self, number: impl Into<String>) -> Self {
        self.member(Member::ListNumber.name(), number.into())
    }

    /// `use_journeys` (the server's default: `false`).
    pub fn use_journeys(self, on: bool) -> Self {
        self.member(Field::UseJourneys.as_str(), on)
    }

    /// `skip_journey_if_exists` (the server's default: `true`).
    pub fn skip_journey_if_exists(self, on: bool) -> Self {
        self.member(Field::SkipJourneyIfExists.as_str(), on)
    }

    /// `use_validation` (the server's default: `false`; `true` asks for the paid validation).
    pub fn use_validation(self, on: bool) -> Self {
        self.member(Field::UseValidation.as_str(), on)
    }

    /// `replace_custom_fields` (the server's default: `false`).
    pub fn replace_custom_fields(self, on: bool) -> Self {
        self.member(Field::ReplaceCustomFields.as_str(), on)
    }

    /// `signup_date` as text (RFC 3339, e.g. `2025-03-15T14:30:00Z`).
    pub fn signup_date(self, date: impl Into<String>) -> Self {
        self.member(Field::SignupDate.as_str(), date.into())
    }

    /// `signup_date` from a timestamp, written in RFC 3339 in UTC (`2025-03-15T14:30:00Z`,
    /// with the fraction of a second when there is one).
    pub fn signup_at(self, at: Timestamp) -> Self {
        self.signup_date(at.to_string())
    }

    /// `ip_address`.
    pub fn ip_address(self, address: impl Into<String>) -> Self {
        self.member(Field::IpAddress.as_str(), address.into())
    }

    /// `url`.
    pub fn url(self, url: impl Into<String>) -> Self {
        self.member(Field::Url.as_str(), url.into())
    }

    /// One entry of `custom_fields` (the rules allow strings, numbers and booleans). Replaces
    /// a whole `custom_fields` set with [`Contact::member`].
    pub fn custom_field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let (name, value) = (name.into(), value.into());
        match &mut self.custom_fields {
            Some(CustomFields::Fields(fields)) => set(fields, name, value),
            _ => self.custom_fields = Some(CustomFields::Fields(vec![(name, value)])),
        }
        self
    }

    /// Any member, by name, with any JSON value: one of the SPEC's members goes to its place
    /// (`custom_fields` as a whole), any other name is an other member, kept for the store.
    pub fn member(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let (name, value) = (name.into(), value.into());
        match Member::from_name(&name) {
            Some(Member::CustomFields) => self.custom_fields = Some(CustomFields::Whole(value)),
            Some(member) => {
                if let Some(slot) = self.slots.get_mut(member.index()) {
                    *slot = Some(value);
                }
            }
            None => set(&mut self.others, name, value),
        }
        self
    }
}

/// Sets `name` in an ordered list of members: in place when present, else at the end.
fn set(members: &mut Vec<(String, Value)>, name: String, value: Value) {
    match members.iter_mut().find(|(known, _)| *known == name) {
        Some((_, slot)) => *slot = value,
        None => members.push((name, value)),
    }
}

impl Serialize for Contact {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (member, value) in Member::ALL.iter().zip(&self.slots) {
            if let Some(value) = value {
                map.serialize_entry(member.name(), value)?;
            }
        }
        match &self.custom_fields {
            Some(CustomFields::Fields(fields)) => {
                map.serialize_entry(Member::CustomFields.name(), &Ordered(fields))?
            }
            Some(CustomFields::Whole(value)) => {
                map.serialize_entry(Member::CustomFields.name(), value)?
            }
            None => {}
        }
        for (name, value) in &self.others {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// An object whose members are written in the list's order.
struct Ordered<'m>(&'m [(String, Value)]);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
}

/// A contact that no request body can carry: its JSON nests deeper than a body allows
/// ([`Limits::MAX_CONTACT_NESTING`]), so the server would answer the whole request `400 invalid_json`; or its
/// `Serialize` implementation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "contact {index} cannot stand in a request body (the server would answer 400 invalid_json)"
)]
pub struct UnsendableContact {
    /// Its index in the caller's list.
    pub index: usize,
}

/// Rules 1 to 8 on contacts held as values, at a given `now`, with an engine's limits.
///
/// ```
/// use bulk_contacts::{Contact, ContactCode, Engine, Precheck, Timestamp};
/// use serde_json::json;
///
/// let now: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
/// let mut precheck = Precheck::new(Engine::default(), now);
/// let typed = Contact::new("+14155559876", "+18005551234").url("ftp://example.com");
/// let error = precheck.check(&typed).unwrap().unwrap_err();
/// assert_eq!(error.code(), ContactCode::InvalidField);
///
/// let contacts = [
///     json!({"phone_number": "+14155559876", "list_number": "+18005551234"}),
///     json!({"phone_number": "415-555-9876", "list_number": "+18005551234"}),
/// ];
/// let errors = precheck.errors(&contacts).unwrap();
/// assert_eq!(
///     serde_json::to_string(&errors).unwrap(),
///     r#"[{"index":1,"phone_number":"415-555-9876","code":"invalid_phone","error":"phone_number must be a valid E.164 number"}]"#
/// );
/// ```
///
/// # The clock
///
/// `now` is the time the server will evaluate the request at, as far as the client knows it.
/// Only `signup_date` depends on it: the server refuses a date later than *its* `now` plus 5
/// minutes, so a client checking at its own clock's time disagrees with the server by the
/// skew between the two clocks. A client clock *ahead* of the server's by `d` accepts dates
/// up to `d` later than the server will (those contacts then fail on the server); a clock
/// behind it refuses some dates the server would take. The time between the check and the
/// request only makes the server more lenient. So a client that wants no surprise checks at
/// its clock **minus a margin** that bounds the skew: 60 seconds is ample for an
/// NTP-synchronised machine (whose skew is well under a second), and any margin under 5
/// minutes still accepts a signup that happened just now (`signup_date` = the client's now).
/// [`Precheck::for_client_clock`] applies [`Precheck::CLOCK_MARGIN`]:
///
/// ```
/// use bulk_contacts::{Engine, Precheck, Timestamp};
///
/// let client_now: Timestamp = "2025-06-01T00:01:00Z".parse().unwrap(); // Timestamp::now()
/// let precheck = Precheck::for_client_clock(Engine::default(), client_now);
/// assert_eq!(precheck.now(), "2025-06-01T00:00:00Z".parse().unwrap());
/// ```
#[derive(Debug, Clone)]
pub struct Precheck {
    engine: Engine,
    now: Timestamp,
    text: Vec<u8>,
}

impl Precheck {
    /// The margin a client subtracts from its own clock (see *The clock* above): 60 seconds.
    pub const CLOCK_MARGIN: SignedDuration = SignedDuration::from_secs(60);

    /// A pre-check with the server's engine (its limits) at `now`.
    pub fn new(engine: Engine, now: Timestamp) -> Self {
        Precheck {
            engine,
            now,
            text: Vec::new(),
        }
    }

    /// A pre-check at the client's clock minus [`CLOCK_MARGIN`](Precheck::CLOCK_MARGIN):
    /// `Precheck::for_client_clock(engine, Timestamp::now())` (no direct `jiff` dependency
    /// needed; the library reads no clock itself).
    pub fn for_client_clock(engine: Engine, client_now: Timestamp) -> Self {
        let now = client_now
            .checked_sub(Self::CLOCK_MARGIN)
            .unwrap_or(Timestamp::MIN);
        Precheck::new(engine, now)
    }

    /// The time contacts are checked at.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The limits contacts are checked against.
    pub fn limits(&self) -> &Limits {
        self.engine.limits()
    }

    /// Rules 1 to 8 on one contact (a `serde_json::Value`, a [`Contact`], or anything whose
    /// `serde_json` serialization is what will be sent). [`NotJson`] when its JSON nests
    /// deeper than a request body allows, or its serialization fails.
    pub fn check<C: Serialize + ?Sized>(
        &mut self,
        contact: &C,
    ) -> Result<Result<(), ContactError>, NotJson> {
        self.serialize(contact)?;
        let checked = self.engine.check_contact(&self.text, self.now)?;
        Ok(checked.map(|_| ()))
    }

    /// The error entry the server would write for this contact at `index`, or `None` when
    /// rules 1 to 8 accept it.
    pub fn entry<C: Serialize + ?Sized>(
        &mut self,
        index: usize,
        contact: &C,
    ) -> Result<Option<ErrorEntry>, NotJson> {
        self.serialize(contact)?;
        match self.engine.check_contact(&self.text, self.now)? {
            Ok(_) => Ok(None),
            Err(error) => Ok(Some(ErrorEntry::for_contact(
                index,
                &self.text,
                &error,
                self.engine.limits(),
            ))),
        }
    }

    /// The error entries of contacts in the caller's order (index = position), ascending:
    /// what the server's `errors` would hold for them as far as rules 1 to 8 tell (a body
    /// holding them could still be refused as a whole, e.g. for its size: see `split`).
    /// It stops at the first contact no body can carry; [`entries`](Precheck::entries)
    /// reports that contact as an entry and carries on.
    pub fn errors<'c, C: Serialize + 'c>(
        &mut self,
        contacts: impl IntoIterator<Item = &'c C>,
    ) -> Result<Vec<ErrorEntry>, UnsendableContact> {
        let mut errors = Vec::new();
        for (index, contact) in contacts.into_iter().enumerate() {
            match self.entry(index, contact) {
                Ok(Some(entry)) => errors.push(entry),
                Ok(None) => {}
                Err(NotJson) => return Err(UnsendableContact { index }),
            }
        }
        Ok(errors)
    }

    /// Like [`errors`](Precheck::errors), but a contact that no request body can carry
    /// ([`UnsendableContact`]: nested deeper than [`Limits::MAX_CONTACT_NESTING`], or a failing `Serialize`) is an
    /// entry of its own, and the other contacts are still checked. Its code and message are
    /// those of the rejection the server gives a body holding it, [`Rejection::InvalidJson`]:
    /// `invalid_json`, `Request body must be valid JSON` (as the `Splitter` reports a contact
    /// no body can carry with the rejection a body holding it alone would get). Every contact
    /// without an entry can be sent: `Splitter::push_at` takes them with these indices.
    ///
    /// ```
    /// use bulk_contacts::{Engine, Precheck, Timestamp};
    /// use serde_json::json;
    ///
    /// let mut deep = json!("x");
    /// for _ in 0..130 {
    ///     deep = json!([deep]);
    /// }
    /// let contacts = [
    ///     json!({"phone_number": "+14155559876", "list_number": "+18005551234", "notes": deep}),
    ///     json!({"phone_number": "415", "list_number": "+18005551234"}),
    /// ];
    /// let mut precheck = Precheck::new(Engine::default(), Timestamp::UNIX_EPOCH);
    /// let codes: Vec<_> = precheck.entries(&contacts).into_iter().map(|e| (e.index, e.code)).collect();
    /// assert_eq!(codes, [(0, "invalid_json".to_owned()), (1, "invalid_phone".to_owned())]);
    /// ```
    pub fn entries<'c, C: Serialize + 'c>(
        &mut self,
        contacts: impl IntoIterator<Item = &'c C>,
    ) -> Vec<ErrorEntry> {
        let mut entries = Vec::new();
        for (index, contact) in contacts.into_iter().enumerate() {
            entries.extend(self.entry_or_unsendable(index, contact));
        }
        entries
    }

    /// Pre-check, then split what passes into request bodies within the limits: the
    /// [`entries`](Precheck::entries) are the split's `local` errors (with the splitter's own,
    /// for a contact too large to send), and every other contact goes into a body under its
    /// own index ([`Splitter::push_at`]), so that [`Merger`](crate::Merger) reports every
    /// contact under the caller's index with no remapping.
    ///
    /// ```
    /// use bulk_contacts::{Engine, Precheck, Split, Timestamp};
    /// use serde_json::json;
    ///
    /// let contacts = [
    ///     json!({"phone_number": "+14155559876", "list_number": "+18005551234"}),
    ///     json!({"phone_number": "415", "list_number": "+18005551234"}),
    ///     json!({"phone_number": "+14155559877", "list_number": "+18005551234"}),
    /// ];
    /// let mut precheck = Precheck::for_client_clock(Engine::default(), Timestamp::UNIX_EPOCH);
    /// let Split { bodies, local } = precheck.split(&contacts);
    /// assert_eq!(bodies.len(), 1);
    /// assert_eq!(bodies[0].indices, [0, 2]);
    /// assert_eq!((local[0].index, local[0].code.as_str()), (1, "invalid_phone"));
    /// ```
    pub fn split<'c>(&mut self, contacts: impl IntoIterator<Item = &'c Value>) -> Split {
        let mut splitter = Splitter::new(*self.limits());
        let mut split = Split::default();
        for (index, contact) in contacts.into_iter().enumerate() {
            let pushed = match self.entry_or_unsendable(index, contact) {
                Some(entry) => Pushed::Local(entry),
                None => splitter.push_at(index, contact),
            };
            match pushed {
                Pushed::Pending => {}
                Pushed::Body(body) => split.bodies.push(body),
                Pushed::Local(entry) => split.local.push(entry),
            }
        }
        split.bodies.extend(splitter.finish());
        split
    }

    /// [`entry`](Precheck::entry), with an unsendable contact as its own entry.
    fn entry_or_unsendable<C: Serialize + ?Sized>(
        &mut self,
        index: usize,
        contact: &C,
    ) -> Option<ErrorEntry> {
        match self.entry(index, contact) {
            Ok(entry) => entry,
            Err(NotJson) => Some(self.unsendable(index, contact)),
        }
    }

    /// The entry of a contact no body can carry: `phone_number` read from its value (which
    /// has no nesting limit), the code and message of [`Rejection::InvalidJson`].
    fn unsendable<C: Serialize + ?Sized>(&self, index: usize, contact: &C) -> ErrorEntry {
        let phone_number = serde_json::to_value(contact)
            .ok()
            .and_then(|value| match value {
                Value::Object(mut object) => match object.remove(Member::PhoneNumber.name()) {
                    Some(Value::String(phone)) => Some(phone),
                    _ => None,
                },
                _ => None,
            });
        let rejection = Rejection::InvalidJson;
        ErrorEntry {
            index,
            phone_number,
            code: rejection.as_str().to_owned(),
            error: rejection.message(self.engine.limits()).into_owned(),
            field: None,
            validation: None,
        }
    }

    fn serialize<C: Serialize + ?Sized>(&mut self, contact: &C) -> Result<(), NotJson> {
        self.text.clear();
        serde_json::to_writer(&mut self.text, contact).map_err(|_| NotJson)
    }
}

impl ErrorEntry {
    /// The entry the server writes for a contact that failed with `error`, from the contact's
    /// JSON text (for `phone_number`: the value sent when it is a string, else `null`; a text
    /// that is not JSON has none) and the engine's limits (for the messages that name them).
    ///
    /// ```
    /// use bulk_contacts::{ContactError, ErrorEntry, Limits};
    ///
    /// let text = br#"{"phone_number": " +1 415", "list_number": "+18005551234"}"#;
    /// let entry = ErrorEntry::for_contact(4, text, &ContactError::InvalidPhone, &Limits::default());
    /// assert_eq!(
    ///     serde_json::to_string(&entry).unwrap(),
    ///     r#"{"index":4,"phone_number":" +1 415","code":"invalid_phone","error":"phone_number must be a valid E.164 number"}"#
    /// );
    /// ```
    pub fn for_contact(index: usize, text: &[u8], error: &ContactError, limits: &Limits) -> Self {
        let phone_number = match serde_json::from_slice::<Value>(text) {
            Ok(Value::Object(mut object)) => match object.remove(Member::PhoneNumber.name()) {
                Some(Value::String(phone)) => Some(phone),
                _ => None,
            },
            _ => None,
        };
        ErrorEntry {
            index,
            phone_number,
            code: error.code().as_str().to_owned(),
            error: error.message(limits).into_owned(),
            field: error.field().map(|field| field.as_str().to_owned()),
            validation: error.validation().and_then(|result| {
                // A validation result serializes without error (strings, booleans, unit
                // enums and the cost's raw JSON number).
                let raw = serde_json::value::to_raw_value(result);
                debug_assert!(raw.is_ok(), "{raw:?}");
                raw.ok()
            }),
        }
    }
}

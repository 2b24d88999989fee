//! # bulk-contacts
//!
//! The decision logic of a bulk "add contacts to SMS sending lists" endpoint
//! (`POST /v2/contacts/bulk`), as pure logic: which requests are rejected outright, which
//! contacts fail and with which code, and the summary a real store would report.
//!
//! The crate does no I/O. It reads no clock, file, network or environment, and holds no global
//! mutable state: `now` is an argument, and everything that needs a database or a provider
//! comes in through three small traits, [`ListLookup`], [`CarrierCheck`] and [`Directory`],
//! or as maps filled beforehand from the keys the batch lists.
//!
//! "SPEC §n" in this documentation is section n of the contract, `docs/SPEC.md` in the
//! repository.
//!
//! ## The steps of one request
//!
//! Each step is a method, so that the caller does its I/O (async or not) between two of them.
//! Each step's error is the whole answer: `Response::rejected(rejection, engine.limits())`.
//!
//! | # | call | SPEC | what it needs |
//! |---|---|---|---|
//! | 1 | [`Engine::check_key_format`] | §3 check 1 (format) | the `X-Api-Key` header |
//! | 2 | [`Engine::authenticate`] | §3 check 1 | the account's keys (found by the key) |
//! | 3 | [`Engine::read`] or [`Engine::read_owned`] → [`Batch`] | §3 checks 2–5, §4 rules 1–8 | the body (read under the limit), `now` |
//! | 4 | [`Batch::check_billing`] | §3 check 6 (402) | the account's [`Billing`] |
//! | 5 | [`Batch::keys`] → [`Keys`] | §7 | — fetch lists, carrier verdicts, contacts, memberships |
//! | 6 | [`Batch::screen`] → [`Screened`] | §4 rules 9–10 | the lists and carrier verdicts |
//! | 7 | [`Screened::validation_keys`] | §7 | — have exactly these numbers validated (paid) |
//! | 8 | [`Screened::evaluate`] → [`Evaluation`] | §4 rules 11–12, §5 | the validation results, the directory |
//! | 9 | [`Response::summary`], [`WritePlan::new`] | §5 | — answer, and write the accepted contacts |
//!
//! A lookup error at steps 6 or 8 is answered with
//! [`Rejection::InternalError`] (500). Skipping step 7 is not an error the engine can see: a
//! contact with `use_validation` whose number has no result in the map gets `provider_error`.
//! With lookups that answer anything synchronously, [`Batch::evaluate`] runs steps 6 and 8
//! together, and [`Engine::handle`] runs every step.
//!
//! A client SDK stops after step 3: [`Batch::precheck_errors`] are the errors it can catch
//! before sending; [`Precheck`] runs the same rules 1 to 8 on contacts held as values
//! (`serde_json::Value` or a typed [`Contact`]) and gives the server's error entries.
//! [`AcceptedContact`] says how to write an accepted contact (merge or replace, duplicates);
//! [`WritePlan`] is those rules applied to a whole evaluation, as rows
//! for a few multi-row statements.
//!
//! Prefetched rows go into the maps without a loop: `HashMap<String, SendingList>` and
//! [`CarrierValidationMap`] collect from `(number, value)` pairs, the validation results
//! [`extend`](Extend::extend) the latter, and [`DirectoryMap::from_rows`] takes the contact
//! and membership rows; [`Billing`] and [`Carrier`] parse from the names a column holds.
//!
//! ## Public API
//!
//! Every item has one path, at the crate root, except the phone rule's own items in [`e164`]
//! and, with the feature `testing`, the in-memory world and the case format in `testing`.
//! The feature `http` adds `Response::into_http`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![doc = include_str!("../README.md")]

mod account;
mod batch;
mod batching;
mod codes;
/// The phone rule of SPEC §6 and the lenient parse of SPEC §6a: the crate
/// `bulk-contacts-e164` (in `e164/`), usable on its own by whoever needs only phone numbers.
pub use bulk_contacts_e164 as e164;
mod engine;
mod formats;
mod hashing;
mod limits;
mod lookup;
mod member;
mod precheck;
mod prefetch;
mod request;
mod response;
mod rules;
mod scan;
mod screen;
mod summary;
mod table;
#[cfg(feature = "testing")]
pub mod testing;
mod writes;
mod written;

pub use account::{Account, Billing};
pub use batch::{Batch, Keys, OwnedBatch};
pub use batching::{
    ErrorEntry, MergeError, Merger, Pushed, RejectedBody, Report, RequestBody, Split, Splitter,
    split,
};
pub use codes::{ContactCode, ContactError, Rejection};
pub use engine::{Engine, Request};
pub use jiff::{SignedDuration, Timestamp};
pub use limits::{InvalidLimit, Limits};
pub use lookup::{
    Carrier, CarrierCheck, CarrierValidationMap, Cost, Directory, DirectoryMap, Disposition,
    InvalidCost, LineType, ListLookup, LookupError, ProviderError, SendingList, ValidationResult,
};
pub use member::{Field, Member};
pub use precheck::{Contact, Precheck, UnsendableContact};
pub use prefetch::UnknownName;
pub use request::{CheckedContact, NotJson};
pub use response::Response;
pub use rules::{Flags, Valid};
pub use screen::Screened;
pub use summary::{AcceptedContact, ContactOutcome, Counts, Evaluation, FailedContact};
pub use writes::{
    ContactWrite, CustomFieldsUpdate, Enrollment, MembershipInsert, NotAnObject, WritePlan,
    WriteRound,
};

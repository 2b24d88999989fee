//! # bulk-contacts
//!
//! The decision logic of a bulk "add contacts to SMS sending lists" endpoint
//! (`POST /v2/contacts/bulk`), as pure logic: which requests are rejected outright, which
//! contacts fail and with which code, and the summary a real store would report.
//!
//! The crate does no I/O. It reads no clock, file, network or environment, and holds no global
//! mutable state: `now` is an argument, and everything that needs a database or a provider
//! comes in through three small traits, [`ListLookup`], [`CarrierCheck`] and [`Directory`].
//! A server can instead ask a batch for the keys it needs ([`Batch::keys`]), fetch them
//! asynchronously in one round trip per kind, and hand the answers in as maps.
//!
//! The pipeline, one module a step: [`limits`] → `request` (bytes → contacts) → `rules`
//! (rules 1–8) → [`e164`] (the phone rule) → [`lookup`] (rules 9–12's traits) → `engine`
//! (the order of everything) → `summary` and `response` (the counters and the exact bodies);
//! [`world`] and [`case`] are the in-memory world and the conformance case format.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod case;
pub mod codes;
pub mod e164;
mod engine;
pub mod formats;
pub mod json;
pub mod limits;
pub mod lookup;
mod request;
mod response;
pub mod rules;
mod summary;
pub mod world;

pub use codes::{ContactCode, Field, Rejection};
pub use engine::{Account, Batch, Billing, Engine, Keys, Request};
pub use jiff::Timestamp;
pub use json::{Json, Object};
pub use limits::Limits;
pub use lookup::{
    Carrier, CarrierCheck, CarrierMap, Directory, DirectoryMap, Disposition, LineType, ListLookup,
    LookupError, ProviderError, SendingList, ValidationResult,
};
pub use response::{Response, rejection_body};
pub use rules::{Flags, Valid};
pub use summary::{Acceptance, AcceptedContact, ContactError, ContactOutcome, Counts, Evaluation};
pub use world::World;

//! The reference server of `bulk-contacts`: `POST /v2/contacts/bulk` with axum on tokio, over
//! SQLite.
//!
//! The engine decides; this crate does the I/O around it: it reads the body with the limit
//! enforced while reading ([`http`]), resolves the account, fetches every key the batch needs
//! in one query per kind, and writes the accepted contacts in the same transaction
//! ([`store`]). [`client`] is the small loopback HTTP/1 client of the tests and the load tool.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod http;
pub mod store;

pub use http::{App, router, serve, spawn};
pub use store::{Account, Store, StoreError, Written};

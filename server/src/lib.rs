//! The reference server of `bulk-contacts`: `POST /v2/contacts/bulk` with axum on tokio, over
//! SQLite (embedded, the default) or PostgreSQL (several instances on one database).
//!
//! The engine decides; this crate does the I/O around it: [`http`] reads the body with the
//! limit enforced while reading; [`pipeline`] — the only module that calls the engine —
//! resolves the account, fetches every key the batch needs in one query per kind, evaluates,
//! and writes the accepted contacts in the same transaction, over any [`store::Store`].
//! The tests' and the load tool's tooling (a throwaway PostgreSQL cluster, a loopback client)
//! is the package `bulk-contacts-harness` (`harness/`), not part of this library.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
pub mod connections;
pub mod demo;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod pipeline;
pub mod shutdown;
pub mod store;

pub use config::Config;
pub use http::{router, serve, serve_with, spawn, spawn_with};
pub use pipeline::App;
pub use store::{PgStore, SqliteStore, Store, StoreError};

/// Runs CPU-bound or blocking work (the engine's `read` and `evaluate`, SQLite) without
/// stalling the other tasks of a multi-threaded runtime (`block_in_place`); inline on a
/// current-thread runtime, where there is no other worker to hand the tasks to.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

//! The reference server's test tooling, kept out of the server's library: [`cluster`], a
//! throwaway PostgreSQL cluster, and [`client`], a small loopback HTTP/1 client. The server's
//! integration tests use both (a dev-dependency) and so does the load tool, this package's
//! `load` binary (`src/bin/load.rs`, BENCHMARKS.md's *Reference server*). The production
//! server builds neither.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod cluster;

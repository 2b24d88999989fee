//! The in-memory world and the conformance case format of SPEC §8 (feature `testing`): what
//! the `bulk` example, the conformance tests, the fuzz targets and the benches run against.
//! Not part of a production build.

mod case;
mod world;

pub use case::{Case, CaseError, Expected, envelope};
pub use world::{
    DEFAULT_API_KEY, DEFAULT_NOW, Entry, ErrorMarker, Failure, ProviderErrorMarker, Validation,
    World,
};

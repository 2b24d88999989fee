//! bulk-contacts (skeleton; the engine lands next).
#![forbid(unsafe_code)]

pub mod e164;

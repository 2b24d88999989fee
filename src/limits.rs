//! The three limits of SPEC §2. Every message that names a limit follows the configured value.

/// The configurable limits of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most contacts one request may hold (default 1000).
    pub max_contacts: usize,
    /// Most bytes of one contact's compact JSON serialization (default 4000; equal is allowed).
    pub max_contact_bytes: usize,
    /// Most bytes of a request body (default 5 MiB = 5,242,880; equal is allowed).
    pub max_body_bytes: usize,
}

impl Limits {
    /// The SPEC's defaults: 1000 contacts, 4000 bytes per contact, 5,242,880 bytes per body.
    pub const DEFAULT: Limits = Limits {
        max_contacts: 1000,
        max_contact_bytes: 4000,
        max_body_bytes: 5 * 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

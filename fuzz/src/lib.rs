//! The fuzz targets of `bulk-contacts`, as plain functions of bytes, and the assertions they
//! share.
//!
//! Each `fuzz_targets/<name>.rs` is one line that calls the function of the same name here; the
//! replay test (`tests/replay.rs`, run by CI with plain `cargo test`) feeds every file of
//! `corpus/<name>/` and `regressions/<name>/` to the same function. So a fuzz target and its
//! replay can never drift apart: there is one body of code, and every assertion lives in
//! [`checks`].
//!
//! | target | input | entry points exercised |
//! |---|---|---|
//! | [`request`] | the request body, raw bytes | `Engine::handle`, `read`, `check_billing`, `keys`, `screen`, `validation_keys`, `evaluate`, `Response` — against several fixed worlds and keys |
//! | [`structured`] | an [`arbitrary`] model of a world and a batch ([`model::Input`]) | the same, on near-valid contacts that reach rules 5 to 12 |
//! | [`precheck`] | the request body, raw bytes | `Engine::read` (checks 2–5, rules 1–8), differentially against `serde_json::Value` |
//! | [`reader`] | one contact's JSON text, raw bytes | `Engine::check_contact` differentially against `serde_json::Value` (what is JSON, nesting), and against the same text read inside a body |
//! | [`e164`] | one candidate string | `e164::is_valid`, `e164::classify`, `e164::has_e164_syntax` |
//! | [`merge`] | a flag byte, the held custom fields' text, NUL, the sent fields' text | `CustomFieldsUpdate::applied_to` differentially against `serde_json::Value` |
#![forbid(unsafe_code)]

pub mod checks;
pub mod model;
pub mod worlds;

use bulk_contacts::{Engine, Limits};

/// A fuzz target: a function of the input bytes that panics when an assertion fails.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name: what the replay test iterates over.
pub const TARGETS: [(&str, Target); 6] = [
    ("request", request),
    ("structured", structured),
    ("precheck", precheck),
    ("reader", reader),
    ("e164", e164),
    ("merge", merge),
];

/// Small limits, so that the limit paths (413s, rule 1) are reached by small inputs too.
pub const SMALL_LIMITS: Limits = match Limits::new(4, 160, 2048) {
    Ok(limits) => limits,
    Err(_) => panic!("each limit over its minimum"),
};

/// Target `request`: `data` is the request body. It is answered in each fixed world
/// ([`worlds::fixed`]) with the account's key, once without a key and once with a wrong key,
/// and once with small limits; every answer goes through [`checks::full`].
pub fn request(data: &[u8]) {
    let engine = Engine::default();
    for world in worlds::fixed() {
        checks::full(&engine, world, data);
    }
    let builtin = &worlds::fixed()[0];
    checks::unauthenticated(&engine, builtin, data);
    checks::full(&Engine::new(SMALL_LIMITS), &worlds::fixed()[1], data);
}

/// Target `structured`: `data` is decoded with [`arbitrary`] into a world and a batch
/// ([`model::Input`]), rendered as a world and a JSON body, and answered through
/// [`checks::full`].
pub fn structured(data: &[u8]) {
    let Ok(input) = model::Input::decode(data) else {
        return;
    };
    let limits = if input.small_limits {
        SMALL_LIMITS
    } else {
        Limits::default()
    };
    let world = input.world();
    let body = input.body(&limits);
    checks::full(&Engine::new(limits), &world, &body);
}

/// Target `precheck`: `data` is the request body, read by the lookup-free pre-check with the
/// default and with small limits; see [`checks::precheck`].
pub fn precheck(data: &[u8]) {
    let now = worlds::default_now();
    checks::precheck(&Engine::default(), data, now);
    checks::precheck(&Engine::new(SMALL_LIMITS), data, now);
}

/// Target `reader`: `data` is one contact's JSON text, checked on its own with the default and
/// small limits; see [`checks::reader`].
pub fn reader(data: &[u8]) {
    let now = worlds::default_now();
    checks::reader(&Engine::default(), data, now);
    checks::reader(&Engine::new(SMALL_LIMITS), data, now);
}

/// Target `e164`: `data` (lossily decoded as UTF-8) is one candidate number; also each of its
/// lines, so that a corpus of number lists is useful too. See [`checks::e164`].
pub fn e164(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    checks::e164(&text);
    if text.len() <= 64 {
        for line in text.lines() {
            checks::e164(line);
        }
    }
}

/// Target `merge`: `data` is one flag byte (bit 0: `replace_custom_fields`), then the custom
/// fields a membership holds, a NUL byte (which no JSON text holds) and the fields sent; no
/// NUL: the fields sent are `{}`. Both must be UTF-8 (the store's text and a read body are).
/// See [`checks::merge`].
pub fn merge(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (held, sent) = match rest.iter().position(|&byte| byte == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &b"{}"[..]),
    };
    let (Ok(held), Ok(sent)) = (std::str::from_utf8(held), std::str::from_utf8(sent)) else {
        return;
    };
    checks::merge(held, sent, flags & 1 == 1);
}

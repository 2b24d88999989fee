//! What the pipeline benches measure on the same bytes, in the same run: ours (the whole
//! request), the `serde_json::Value` reference, the floors below it, and the pipeline an
//! informed user would write. `benches/pipeline.rs` (criterion), `benches/memory.rs` (peak
//! heap) and `benches/examples/pipeline_profile.rs` (callgrind, `tools/callgrind_table.sh`) all run
//! these same functions.
//!
//! Ours is reached through the top-level API only (`Engine::handle` with the in-memory
//! `World`), so that a refactor of the library's internals changes nothing here.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bulk_contacts::testing::World;
use bulk_contacts::{Account, Engine, Request};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The API key every bench request carries (the built-in world's account key).
pub const KEY: &[u8] = b"trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6";

/// Ours: the engine, its world and account, built once.
pub struct Ours {
    engine: Engine,
    world: World,
    account: Account,
}

impl Default for Ours {
    fn default() -> Self {
        let world = super::world();
        let account = world.account();
        Ours {
            engine: Engine::default(),
            world,
            account,
        }
    }
}

impl Ours {
    /// The whole request: bytes in, status and response body out.
    pub fn handle(&self, body: &[u8]) -> Vec<u8> {
        let request = Request {
            api_key: Some(KEY),
            body,
            now: self.world.now,
        };
        let world = &self.world;
        self.engine
            .handle(&request, &self.account, world, world, world)
            .body
    }
}

/// One thing measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The whole request through the engine (`Engine::handle`).
    Ours,
    /// The reference: `serde_json::from_slice::<serde_json::Value>`, parsing only.
    SerdeJsonValue,
    /// A floor: `sonic_rs::from_slice::<sonic_rs::Value>`, parsing only (SIMD, no
    /// `target-cpu` flag: the build CI and a user's default `cargo build` get).
    SonicRsValue,
    /// A floor: serde_json splitting `contacts` into borrowed `&RawValue`s (validates the
    /// whole document, builds nothing but one vector of slices).
    RawValueSplit,
    /// A floor: one `memchr` pass over the bytes, counting `"` (reads every byte once).
    MemchrQuotes,
    /// What an informed user would write: the `RawValue` split, each contact into a typed
    /// `#[derive(Deserialize)]` struct of borrowed strings (a contact that does not fit is an
    /// error, not the batch), `rlibphonenumber` parse + `is_valid` + E.164 format for the
    /// phone and the list number, and custom field values checked to be scalars.
    Informed,
}

impl Subject {
    /// Everything, in table order.
    pub const ALL: [Subject; 6] = [
        Subject::Ours,
        Subject::SerdeJsonValue,
        Subject::SonicRsValue,
        Subject::RawValueSplit,
        Subject::MemchrQuotes,
        Subject::Informed,
    ];

    /// The name in bench ids, command lines and data files.
    pub fn name(self) -> &'static str {
        match self {
            Subject::Ours => "ours",
            Subject::SerdeJsonValue => "serde_json_value",
            Subject::SonicRsValue => "sonic_rs_value",
            Subject::RawValueSplit => "raw_value_split",
            Subject::MemchrQuotes => "memchr_quotes",
            Subject::Informed => "informed_typed_rlib",
        }
    }

    /// The subject of that name.
    pub fn from_name(name: &str) -> Option<Subject> {
        Subject::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Runs once on `body`; the result depends on the work done, so that none of it can be
    /// optimised away (callers still pass it through `black_box`).
    pub fn run(self, ours: &Ours, body: &[u8]) -> usize {
        match self {
            Subject::Ours => ours.handle(body).len(),
            Subject::SerdeJsonValue => serde_json_value(body),
            Subject::SonicRsValue => sonic_rs_value(body),
            Subject::RawValueSplit => raw_value_split(body),
            Subject::MemchrQuotes => memchr_quotes(body),
            Subject::Informed => informed(body),
        }
    }
}

fn serde_json_value(body: &[u8]) -> usize {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => map.len(),
        _ => 0,
    }
}

fn sonic_rs_value(body: &[u8]) -> usize {
    use sonic_rs::JsonContainerTrait;
    match sonic_rs::from_slice::<sonic_rs::Value>(body) {
        Ok(value) => value.as_object().map_or(0, |o| o.len()),
        Err(_) => 0,
    }
}

#[derive(Deserialize)]
struct Split<'a> {
    #[serde(borrow)]
    contacts: Vec<&'a RawValue>,
}

fn raw_value_split(body: &[u8]) -> usize {
    serde_json::from_slice::<Split>(body).map_or(0, |s| s.contacts.len())
}

fn memchr_quotes(body: &[u8]) -> usize {
    memchr::memchr_iter(b'"', body).count()
}

#[allow(dead_code)] // fields read by serde's typing only, as a user's struct would hold them
#[derive(Deserialize)]
struct Contact<'a> {
    #[serde(borrow)]
    phone_number: Cow<'a, str>,
    #[serde(borrow)]
    list_number: Cow<'a, str>,
    #[serde(default)]
    use_journeys: bool,
    #[serde(default)]
    skip_journey_if_exists: bool,
    #[serde(default)]
    use_validation: bool,
    #[serde(default)]
    replace_custom_fields: bool,
    #[serde(borrow)]
    signup_date: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ip_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    custom_fields: Option<BTreeMap<Cow<'a, str>, &'a RawValue>>,
}

fn e164(s: &str) -> bool {
    match rlibphonenumber::PhoneNumber::parse(s, None) {
        Ok(n) => n.is_valid() && n.format_as(rlibphonenumber::PhoneNumberFormat::E164) == s,
        Err(_) => false,
    }
}

fn informed(body: &[u8]) -> usize {
    let Ok(split) = serde_json::from_slice::<Split>(body) else {
        return 0;
    };
    split
        .contacts
        .iter()
        .filter(|raw| {
            let Ok(contact) = serde_json::from_str::<Contact>(raw.get()) else {
                return false;
            };
            let scalars = contact
                .custom_fields
                .as_ref()
                .is_none_or(|fields| fields.values().all(|v| !v.get().starts_with(['{', '['])));
            scalars && e164(&contact.phone_number) && e164(&contact.list_number)
        })
        .count()
}

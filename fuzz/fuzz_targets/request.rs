//! Fuzz target `request`: see `bulk_contacts_fuzz::request` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bulk_contacts_fuzz::request(data));

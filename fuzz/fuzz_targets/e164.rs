//! Fuzz target `e164`: see `bulk_contacts_fuzz::e164` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bulk_contacts_fuzz::e164(data));

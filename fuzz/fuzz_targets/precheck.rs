//! Fuzz target `precheck`: see `bulk_contacts_fuzz::precheck` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bulk_contacts_fuzz::precheck(data));

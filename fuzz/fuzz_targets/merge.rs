//! Fuzz target `merge`: see `bulk_contacts_fuzz::merge` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bulk_contacts_fuzz::merge(data));

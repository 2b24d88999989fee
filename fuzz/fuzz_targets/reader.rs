//! Fuzz target `reader`: see `bulk_contacts_fuzz::reader` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bulk_contacts_fuzz::reader(data));

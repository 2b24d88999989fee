//! Writes the seed inputs of every target into `fuzz/corpus/<target>/` (names are a hash of
//! the content, so running it again adds nothing twice):
//!
//! * `request`, `precheck`: the request body of every conformance case
//!   (`tests/conformance/*.json`) up to 64 KiB;
//! * `e164`: every string member of those bodies, and the two number pools of the model;
//! * `structured`: pseudo-random byte strings of a few lengths (the fuzzer finds its own way
//!   through the model from there).
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds`

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;

use bulk_contacts::testing::Case;
use bulk_contacts_fuzz::worlds::{INVALID_NUMBERS, VALID_NUMBERS};
use serde_json::Value;

const MAX_SEED: usize = 64 * 1024;

fn save(root: &Path, target: &str, data: &[u8]) {
    let dir = root.join("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus directory");
    let mut hasher = DefaultHasher::new();
    data.hash(&mut hasher);
    std::fs::write(dir.join(format!("seed-{:016x}", hasher.finish())), data).expect("seed written");
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(members) => members.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases = root.join("../tests/conformance");
    let mut paths: Vec<_> = std::fs::read_dir(&cases)
        .expect("tests/conformance")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut numbers: Vec<String> = VALID_NUMBERS
        .iter()
        .chain(&INVALID_NUMBERS)
        .map(|s| s.to_string())
        .collect();
    let mut bodies = 0;
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("a case");
        let Ok(case) = Case::from_json(&text) else {
            continue;
        };
        if case.body.len() > MAX_SEED {
            continue;
        }
        save(root, "request", &case.body);
        save(root, "precheck", &case.body);
        bodies += 1;
        if let Ok(value) = serde_json::from_slice::<Value>(&case.body) {
            strings(&value, &mut numbers);
        }
    }
    numbers.sort();
    numbers.dedup();
    for number in numbers.iter().filter(|n| n.len() <= 64) {
        save(root, "e164", number.as_bytes());
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for length in [16, 64, 256, 1024, 4096] {
        for _ in 0..4 {
            let data: Vec<u8> = (0..length)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            save(root, "structured", &data);
        }
    }
    println!(
        "{bodies} bodies, {} strings, 20 structured seeds",
        numbers.len()
    );
}

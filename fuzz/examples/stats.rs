//! How deep the committed corpus reaches: for `request` (answered in the rich fixed world) and
//! `structured` (and 2000 pseudo-random `structured` inputs, to see the model's bias), the statuses of the responses and the per-contact codes in their summaries.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --no-default-features --example stats`

use std::collections::BTreeMap;
use std::path::Path;

use bulk_contacts::{Engine, Limits, Request};
use bulk_contacts_fuzz::{SMALL_LIMITS, model::Input, worlds};
use serde_json::Value;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for target in ["request", "structured", "structured-random"] {
        let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
        let mut codes: BTreeMap<String, usize> = BTreeMap::new();
        let mut accepted = 0u64;
        let mut inputs = 0;
        let files: Vec<Vec<u8>> = if target == "structured-random" {
            random_inputs(2000)
        } else {
            let dir = std::fs::read_dir(root.join(target)).expect("corpus");
            dir.flatten()
                .map(|e| std::fs::read(e.path()).expect("input"))
                .collect()
        };
        for data in files {
            inputs += 1;
            let (world, body, limits) = if target == "request" {
                (worlds::fixed()[1].clone(), data, Limits::default())
            } else {
                let Ok(input) = Input::decode(&data) else {
                    continue;
                };
                let limits = if input.small_limits {
                    SMALL_LIMITS
                } else {
                    Limits::default()
                };
                (input.world(), input.body(&limits), limits)
            };
            let request = Request {
                api_key: world.api_keys.last().map(String::as_bytes),
                body: &body,
                now: world.now,
            };
            let response =
                Engine::new(limits).handle(&request, &world.account(), &world, &world, &world);
            *statuses.entry(response.status).or_default() += 1;
            let body: Value = serde_json::from_slice(&response.body).expect("JSON");
            if response.status == 200 {
                accepted += body["success_count"].as_u64().unwrap_or(0);
                for entry in body["errors"].as_array().into_iter().flatten() {
                    let code = entry["code"].as_str().unwrap_or("?");
                    *codes.entry(code.to_owned()).or_default() += 1;
                }
            } else {
                *codes
                    .entry(format!("{} (batch)", body["code"].as_str().unwrap_or("?")))
                    .or_default() += 1;
            }
        }
        println!("{target}: {inputs} inputs; statuses {statuses:?}; {accepted} contacts accepted");
        for (code, n) in codes {
            println!("  {code}: {n}");
        }
    }
}

fn random_inputs(count: usize) -> Vec<Vec<u8>> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let length = (next() % 2048) as usize;
            (0..length).map(|_| next() as u8).collect()
        })
        .collect()
}

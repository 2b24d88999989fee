//! Inputs shared by the pipeline benches: request bodies of four mixes, built deterministically
//! from the differential corpus's valid numbers, and the world they run against.

#![allow(dead_code)]

pub mod subjects;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

use bulk_contacts::testing::World;
use flate2::read::GzDecoder;
use serde_json::{Value, json};

const CORPUS: &[u8] = include_bytes!("../../e164/tests/data/e164_corpus.tsv.gz");

/// The list every generated contact goes to.
pub const LIST: &str = "+18005551234";

/// The four input mixes of the pipeline benches.
#[derive(Debug, Clone, Copy)]
pub enum Mix {
    /// US numbers only.
    Us,
    /// Numbers of every region of the corpus, round-robin (Canada and the Caribbean included).
    Mixed,
    /// Every other contact invalid, in varied ways.
    Garbage,
    /// Every contact close to 4000 bytes, with many custom fields.
    Worst,
}

impl Mix {
    /// All mixes.
    pub const ALL: [Mix; 4] = [Mix::Us, Mix::Mixed, Mix::Garbage, Mix::Worst];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Mix::Us => "us",
            Mix::Mixed => "mixed",
            Mix::Garbage => "garbage",
            Mix::Worst => "worst",
        }
    }
}

/// Valid numbers of the corpus by region.
pub fn numbers_by_region() -> BTreeMap<String, Vec<String>> {
    let mut by_region: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in BufReader::new(GzDecoder::new(CORPUS)).lines() {
        let line = line.expect("corpus is readable");
        let mut columns = line.split('\t');
        if let (Some(number), Some("valid"), Some(region)) =
            (columns.next(), columns.next(), columns.next())
        {
            by_region
                .entry(region.to_owned())
                .or_default()
                .push(number.to_owned());
        }
    }
    by_region
}

/// `n` valid numbers of the mix.
pub fn numbers(mix: Mix, n: usize) -> Vec<String> {
    let by_region = numbers_by_region();
    match mix {
        Mix::Us => by_region["US"].iter().cycle().take(n).cloned().collect(),
        _ => {
            let regions: Vec<&Vec<String>> = by_region.values().collect();
            (0..n)
                .map(|i| {
                    let region = regions[i % regions.len()];
                    region[(i / regions.len()) % region.len()].clone()
                })
                .collect()
        }
    }
}

fn valid_contact(phone: &str, i: usize) -> Value {
    json!({
        "phone_number": phone,
        "list_number": LIST,
        "use_journeys": i.is_multiple_of(3),
        "signup_date": "2025-03-10T08:00:00Z",
        "ip_address": "198.51.100.17",
        "url": "https://example.com/signup?campaign=spring",
        "custom_fields": {"first_name": "Jane", "last_name": "Doe", "age": 31, "vip": i.is_multiple_of(2)},
        "ad_network_source": "facebook"
    })
}

fn invalid_contact(phone: &str, i: usize) -> Value {
    let mut contact = valid_contact(phone, i);
    match (i / 2) % 8 {
        0 => contact["phone_number"] = json!(phone.replacen('+', "00", 1)),
        1 => contact["list_number"] = json!("+1800555"),
        2 => contact["signup_date"] = json!("2025-02-30T08:00:00Z"),
        3 => contact["ip_address"] = json!("198.051.100.17"),
        4 => contact["custom_fields"] = json!({"nested": {"no": true}}),
        5 => contact["list_number"] = json!("+18005550000"),
        6 => contact = json!(null),
        _ => contact["url"] = json!("ftp://example.com"),
    }
    contact
}

fn worst_contact(phone: &str, i: usize) -> Value {
    let mut contact = valid_contact(phone, i);
    let fields = contact["custom_fields"].as_object_mut().expect("object");
    for k in 0..60 {
        fields.insert(
            format!("field_{k:02}"),
            json!(format!("value {k} {}", "é".repeat(20))),
        );
    }
    let size = serde_json::to_vec(&contact).expect("json").len();
    let pad = 3990usize.saturating_sub(size + 12);
    contact["note"] = json!("x".repeat(pad));
    contact
}

/// The request body of `n` contacts of the mix.
pub fn body(mix: Mix, n: usize) -> Vec<u8> {
    let contacts: Vec<Value> = numbers(mix, n)
        .iter()
        .enumerate()
        .map(|(i, phone)| match mix {
            Mix::Us | Mix::Mixed => valid_contact(phone, i),
            Mix::Garbage if i % 2 == 1 => invalid_contact(phone, i),
            Mix::Garbage => valid_contact(phone, i),
            Mix::Worst => worst_contact(phone, i),
        })
        .collect();
    serde_json::to_vec(&json!({ "contacts": contacts })).expect("json")
}

/// The world of the benches: the list, a few existing contacts, everything sendable.
pub fn world() -> World {
    let mut world = World::builtin();
    let existing = numbers(Mix::Mixed, 50);
    world.contacts.extend(existing);
    world
}

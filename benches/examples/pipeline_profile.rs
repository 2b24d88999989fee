//! Runs one subject of the pipeline benches (ours, the `serde_json::Value` reference, a floor,
//! or the informed user's pipeline: `benches/support/subjects.rs`) on one 1000-contact batch of
//! a bench mix, for instruction counting under callgrind, which is repeatable on a shared,
//! noisy machine where wall-clock figures are not. See `tools/callgrind_table.sh`.
//!
//! ```text
//! pipeline_profile MIX SUBJECT [REPEAT]
//!     MIX: us | mixed | garbage | worst
//!     SUBJECT: ours | serde_json_value | sonic_rs_value | raw_value_split | memchr_quotes
//!              | informed_typed_rlib
//! ```
//!
//! The subject runs once to warm up (lazily built tables are per process), then `REPEAT`
//! times (default 10) inside `measured`, the one function to count:
//! `valgrind --tool=callgrind --toggle-collect='pipeline_profile::measured*'`.

#[path = "../support/mod.rs"]
mod support;

use std::hint::black_box;
use std::process::ExitCode;

use support::Mix;
use support::subjects::{Ours, Subject};

/// Everything callgrind counts: `repeat` runs of `subject` on `body`.
#[inline(never)]
fn measured(subject: Subject, ours: &Ours, body: &[u8], repeat: usize) -> usize {
    (0..repeat)
        .map(|_| subject.run(ours, black_box(body)))
        .sum()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mix = match args.first().map(String::as_str) {
        Some("us") => Mix::Us,
        Some("mixed") => Mix::Mixed,
        Some("garbage") => Mix::Garbage,
        Some("worst") => Mix::Worst,
        _ => return usage(),
    };
    let Some(subject) = args.get(1).and_then(|s| Subject::from_name(s)) else {
        return usage();
    };
    let Ok(repeat) = args.get(2).map_or(Ok(10), |r| r.parse::<usize>()) else {
        return usage();
    };
    let ours = Ours::default();
    let body = support::body(mix, 1000);
    let warm = black_box(subject.run(&ours, &body));
    let total = measured(subject, &ours, &body, repeat);
    println!("{} bytes, {warm} per run, {total} in all", body.len());
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    let subjects: Vec<&str> = Subject::ALL.iter().map(|s| s.name()).collect();
    eprintln!(
        "usage: pipeline_profile (us|mixed|garbage|worst) ({}) [REPEAT]",
        subjects.join("|")
    );
    ExitCode::from(2)
}

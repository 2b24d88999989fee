//! Runs the pipeline (or the serde_json floor) on one 1000-contact batch of a bench mix, a
//! number of times, for instruction counting under `valgrind --tool=callgrind`, which is
//! repeatable on a shared, noisy machine where wall-clock figures are not. See
//! `tools/callgrind_ratio.sh`.
//!
//! ```text
//! pipeline_profile MIX (ours|floor) [REPEAT]      MIX: us | mixed | garbage | worst
//! ```

#[path = "../benches/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::process::ExitCode;

use bulk_contacts::{Engine, Request};
use support::Mix;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mix = match args.first().map(String::as_str) {
        Some("us") => Mix::Us,
        Some("mixed") => Mix::Mixed,
        Some("garbage") => Mix::Garbage,
        Some("worst") => Mix::Worst,
        _ => return usage(),
    };
    let floor = match args.get(1).map(String::as_str) {
        Some("ours") => false,
        Some("floor") => true,
        _ => return usage(),
    };
    let Ok(repeat) = args.get(2).map_or(Ok(10), |r| r.parse::<usize>()) else {
        return usage();
    };
    let world = support::world();
    let account = world.account();
    let body = support::body(mix, 1000);
    let engine = Engine::default();
    let mut bytes = 0;
    for _ in 0..repeat {
        if floor {
            let value: serde_json::Value =
                serde_json::from_slice(black_box(&body)).unwrap_or_default();
            bytes += black_box(value).is_object() as usize;
        } else {
            let request = Request {
                api_key: Some(b"trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"),
                body: black_box(&body),
                now: world.now,
            };
            bytes += engine
                .handle(&request, &account, &world, &world, &world)
                .body
                .len();
        }
    }
    println!("{bytes}");
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: pipeline_profile (us|mixed|garbage|worst) (ours|floor) [REPEAT]");
    ExitCode::from(2)
}

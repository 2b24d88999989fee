//! Runs `e164::normalize` over the inputs of `benches/normalize.rs` (2,000 `(region, text)`
//! pairs at a fixed stride from `tests/data/normalize_corpus.tsv.gz`), for instruction
//! counting under callgrind, which is repeatable on a shared, noisy machine where wall-clock
//! figures are not. Used by `tools/e164/bench_normalize.sh`.
//!
//! ```text
//! normalize_profile [REPEAT] [INPUTS|all] [ascii|non-ascii]
//! ```
//!
//! Every input runs once to warm up (the lazily built patterns are per process), then `REPEAT`
//! times (default 10) inside `measured`, the one function to count:
//! `valgrind --tool=callgrind --toggle-collect='normalize_profile::measured*'`; instructions
//! per input = the collected total ÷ (REPEAT × inputs). `STRIDE_INPUTS` (default 2000) is the
//! number of inputs taken; `all` takes the whole corpus. The last argument keeps only the
//! inputs that are (or are not) all ASCII, to see what each kind costs.

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;

use bulk_contacts::e164::{self, Region};
use flate2::read::GzDecoder;

const CORPUS: &[u8] = include_bytes!("../tests/data/normalize_corpus.tsv.gz");

/// `n` inputs at a fixed stride (the bench's sample for `n` = 2,000), or all of them.
fn sample(n: Option<usize>) -> Vec<(Region, String)> {
    let all: Vec<(String, String)> = BufReader::new(GzDecoder::new(CORPUS))
        .lines()
        .map_while(Result::ok)
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_owned(), f.next()?.to_owned()))
        })
        .collect();
    let n = n.unwrap_or(all.len());
    let step = (all.len() / n).max(1);
    all.into_iter()
        .step_by(step)
        .take(n)
        .filter_map(|(r, text)| Some((r.parse().ok()?, text)))
        .collect()
}

/// Everything callgrind counts: `repeat` passes of `normalize` over the inputs.
#[inline(never)]
fn measured(inputs: &[(Region, String)], repeat: usize) -> usize {
    (0..repeat)
        .map(|_| {
            inputs
                .iter()
                .filter(|(r, t)| e164::normalize(black_box(t), *r).is_ok())
                .count()
        })
        .sum()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Ok(repeat) = args.first().map_or(Ok(10), |r| r.parse::<usize>()) else {
        return usage();
    };
    let n = match args.get(1).map(String::as_str) {
        None => Some(2_000),
        Some("all") => None,
        Some(n) => match n.parse() {
            Ok(n) if n > 0 => Some(n),
            _ => return usage(),
        },
    };
    let mut inputs = sample(n);
    match args.get(2).map(String::as_str) {
        None => {}
        Some("ascii") => inputs.retain(|(_, t)| t.is_ascii()),
        Some("non-ascii") => inputs.retain(|(_, t)| !t.is_ascii()),
        Some(_) => return usage(),
    }
    let warm = inputs
        .iter()
        .filter(|(r, t)| e164::normalize(t, *r).is_ok())
        .count();
    let total = measured(&inputs, repeat);
    println!(
        "{} inputs, {warm} valid, {repeat} passes, {total} valid in all",
        inputs.len()
    );
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: normalize_profile [REPEAT] [INPUTS|all] [ascii|non-ascii]");
    ExitCode::FAILURE
}

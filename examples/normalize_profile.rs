//! Runs a normalizer over the inputs of `benches/normalize.rs` (2,000 `(region, text)` pairs
//! at a fixed stride from `tests/data/normalize_corpus.tsv.gz`), for instruction counting under
//! callgrind, which is repeatable on a shared, noisy machine where wall-clock figures are not.
//! Used by `tools/e164/bench_normalize.sh`.
//!
//! ```text
//! normalize_profile [--subject ours|rlibphonenumber] [--repeat N] [--inputs N|all]
//!                   [--only ascii|non-ascii]
//! ```
//!
//! Every input runs once to warm up (lazily built tables are per process), then `--repeat`
//! times (default 10) inside `measured`, the one function to count:
//! `valgrind --tool=callgrind --toggle-collect='normalize_profile::measured*'`; instructions
//! per input = the collected total ÷ (repeat × inputs), both printed on the last line.
//! `--inputs` (default 2000) is the number of inputs taken at a fixed stride (`all`: the whole
//! corpus); `--only` keeps the inputs that are (or are not) all ASCII, to see what each kind
//! costs. `ours` is `e164::normalize`; `rlibphonenumber` is `PhoneNumber::parse` + `is_valid` +
//! E.164, as in the bench.

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;

use bulk_contacts::e164::{self, Region};
use flate2::read::GzDecoder;

const CORPUS: &[u8] = include_bytes!("../tests/data/normalize_corpus.tsv.gz");

/// `n` `(region code, text)` inputs at a fixed stride (the bench's sample for `n` = 2,000), or
/// all of them.
fn sample(n: Option<usize>) -> Vec<(String, String)> {
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
    all.into_iter().step_by(step).take(n).collect()
}

/// An input as each subject takes it.
struct Input {
    ours: Region,
    theirs: Option<rlibphonenumber::Region>,
    text: String,
}

#[derive(Clone, Copy)]
enum Subject {
    Ours,
    Rlibphonenumber,
}

impl Subject {
    fn run(self, input: &Input) -> bool {
        match self {
            Subject::Ours => e164::normalize(black_box(&input.text), input.ours).is_ok(),
            Subject::Rlibphonenumber => {
                match rlibphonenumber::PhoneNumber::parse(black_box(&input.text), input.theirs) {
                    Ok(n) => {
                        n.is_valid()
                            && !n
                                .format_as(rlibphonenumber::PhoneNumberFormat::E164)
                                .is_empty()
                    }
                    Err(_) => false,
                }
            }
        }
    }
}

/// Everything callgrind counts: `repeat` passes of the subject over the inputs.
#[inline(never)]
fn measured(subject: Subject, inputs: &[Input], repeat: usize) -> usize {
    (0..repeat)
        .map(|_| inputs.iter().filter(|i| subject.run(i)).count())
        .sum()
}

fn main() -> ExitCode {
    let mut subject = Subject::Ours;
    let mut repeat = 10usize;
    let mut n = Some(2_000);
    let mut only = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        match (flag.as_str(), value.as_deref()) {
            ("--subject", Some("ours")) => subject = Subject::Ours,
            ("--subject", Some("rlibphonenumber")) => subject = Subject::Rlibphonenumber,
            ("--repeat", Some(r)) => match r.parse() {
                Ok(r) if r > 0 => repeat = r,
                _ => return usage(),
            },
            ("--inputs", Some("all")) => n = None,
            ("--inputs", Some(k)) => match k.parse() {
                Ok(k) if k > 0 => n = Some(k),
                _ => return usage(),
            },
            ("--only", Some("ascii")) => only = Some(true),
            ("--only", Some("non-ascii")) => only = Some(false),
            _ => return usage(),
        }
    }
    let mut inputs = Vec::new();
    for (region, text) in sample(n) {
        if only.is_some_and(|ascii| text.is_ascii() != ascii) {
            continue;
        }
        let Ok(ours) = region.parse() else {
            eprintln!("normalize_profile: unknown region {region}");
            return ExitCode::FAILURE;
        };
        let theirs = rlibphonenumber::Region::from_code(&region).ok();
        inputs.push(Input { ours, theirs, text });
    }
    let warm = inputs.iter().filter(|i| subject.run(i)).count();
    let total = measured(subject, &inputs, repeat);
    println!(
        "{} inputs, {warm} valid, {repeat} passes, {total} valid in all; calls {}",
        inputs.len(),
        inputs.len() * repeat
    );
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: normalize_profile [--subject ours|rlibphonenumber] [--repeat N] \
         [--inputs N|all] [--only ascii|non-ascii]"
    );
    ExitCode::FAILURE
}

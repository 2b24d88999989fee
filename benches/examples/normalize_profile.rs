//! Runs a normalizer over the inputs of `benches/normalize.rs` (2,000 `(region, text)` pairs
//! at a fixed stride from `e164/tests/data/normalize_corpus.tsv.gz`), for instruction counting under
//! callgrind, which is repeatable on a shared, noisy machine where wall-clock figures are not.
//! Used by `tools/e164/bench_normalize.sh`.
//!
//! ```text
//! normalize_profile [--subject ours|rlibphonenumber] [--repeat N] [--inputs N|all]
//!                   [--only ascii|non-ascii] [--seconds S]
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
//!
//! `--seconds S` (not under callgrind) times instead: passes over the inputs for about `S`
//! seconds, then prints the wall-clock time and the CPU time of the process (user + system,
//! from `/proc/self/stat`, in ticks of 10 ms) per input. On a loaded machine the CPU time
//! leaves out the time the process waited for a core, which the wall-clock time counts.

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;

use bulk_contacts::e164::{self, Region};
use flate2::read::GzDecoder;

const CORPUS: &[u8] = include_bytes!("../../e164/tests/data/normalize_corpus.tsv.gz");

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
    let mut seconds = None;
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
            ("--seconds", Some(s)) => match s.parse::<f64>() {
                Ok(s) if s > 0.0 => seconds = Some(s),
                _ => return usage(),
            },
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
    if let Some(seconds) = seconds {
        return timed(subject, &inputs, seconds);
    }
    let total = measured(subject, &inputs, repeat);
    println!(
        "{} inputs, {warm} valid, {repeat} passes, {total} valid in all; calls {}",
        inputs.len(),
        inputs.len() * repeat
    );
    ExitCode::SUCCESS
}

/// User + system CPU time of this process so far, in seconds (Linux: `/proc/self/stat`, whose
/// times are in `USER_HZ` ticks, 100 a second).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// Passes over the inputs for about `seconds`; prints wall-clock and CPU nanoseconds per input.
fn timed(subject: Subject, inputs: &[Input], seconds: f64) -> ExitCode {
    let Some(cpu_start) = cpu_seconds() else {
        eprintln!("normalize_profile: no /proc/self/stat to read CPU time from");
        return ExitCode::FAILURE;
    };
    let start = std::time::Instant::now();
    let mut calls = 0usize;
    let mut valid = 0usize;
    while start.elapsed().as_secs_f64() < seconds {
        valid += measured(subject, inputs, 1);
        calls += inputs.len();
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds().map_or(f64::NAN, |c| c - cpu_start);
    let per = |s: f64| s * 1e9 / calls.max(1) as f64;
    println!(
        "{calls} calls ({valid} valid) in {wall:.2} s: wall_ns_per_input {:.1} cpu_ns_per_input {:.1}",
        per(wall),
        per(cpu)
    );
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: normalize_profile [--subject ours|rlibphonenumber] [--repeat N] \
         [--inputs N|all] [--only ascii|non-ascii] [--seconds S]"
    );
    ExitCode::FAILURE
}

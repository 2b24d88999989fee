//! E.164 validator bench: our validator against the two other ways of deciding SPEC §6 in
//! Rust, on the same inputs.
//!
//! * `ours`: `bulk_contacts::e164::is_valid`;
//! * `rlibphonenumber` (2.2.15, the peer): `PhoneNumber::parse(s, None)` + `is_valid` + E.164
//!   format == s (its metadata is 9.0.42, not `METADATA_VERSION`: a speed peer, not an oracle);
//! * `phonenumber` (0.3.10, the baseline the crate used before): `parse(None, s)` +
//!   `is_valid` + E.164 format == s.
//!
//! Inputs (taken deterministically from the differential corpus): `mixed`, 2,000 candidates
//! of all calling codes with strict E.164 syntax (valid and invalid), and `us`, 2,000 `+1`
//! candidates. Throughput is per candidate. Before the benches, a fresh process measures each
//! implementation's first call (its start-up), printed on standard error.

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use bulk_contacts::e164;
use criterion::{BenchmarkId, Criterion, Throughput};
use flate2::read::GzDecoder;

const CORPUS: &[u8] = include_bytes!("../e164/tests/data/e164_corpus.tsv.gz");
const N: usize = 2_000;

/// A SPEC §6 predicate.
type Predicate = fn(&str) -> bool;

fn ours(s: &str) -> bool {
    e164::is_valid(s)
}

fn rlib(s: &str) -> bool {
    match rlibphonenumber::PhoneNumber::parse(s, None) {
        Ok(n) => n.is_valid() && n.format_as(rlibphonenumber::PhoneNumberFormat::E164) == s,
        Err(_) => false,
    }
}

fn baseline(s: &str) -> bool {
    match phonenumber::parse(None, s) {
        Ok(n) => n.is_valid() && n.format().mode(phonenumber::Mode::E164).to_string() == s,
        Err(_) => false,
    }
}

/// Every k-th candidate of the corpus that passes `keep`, `N` of them.
fn sample(keep: impl Fn(&str) -> bool) -> Vec<String> {
    let all: Vec<String> = BufReader::new(GzDecoder::new(CORPUS))
        .lines()
        .map(|l| l.expect("corpus"))
        .filter_map(|l| l.split('\t').next().map(str::to_owned))
        .filter(|c| e164::has_e164_syntax(c) && keep(c))
        .collect();
    let step = (all.len() / N).max(1);
    all.into_iter().step_by(step).take(N).collect()
}

fn first_call(name: &str, f: Predicate) {
    let t = Instant::now();
    let v = f(black_box("+14155559876"));
    let first = t.elapsed();
    let t = Instant::now();
    let w = f(black_box("+447400123456"));
    let second = t.elapsed();
    eprintln!(
        "start-up: {name:16} first call {:>10.3} ms (then another country: {:>8.3} ms) -> {v} {w}",
        first.as_secs_f64() * 1e3,
        second.as_secs_f64() * 1e3
    );
}

fn main() {
    // Start-up first: nothing of any implementation has been touched in this process yet.
    first_call("ours", ours);
    first_call("rlibphonenumber", rlib);
    first_call("phonenumber", baseline);

    let mixed = sample(|_| true);
    let us = sample(|c| c.starts_with("+1"));
    let valid_mixed = mixed.iter().filter(|c| ours(c)).count();
    let valid_us = us.iter().filter(|c| ours(c)).count();
    eprintln!(
        "inputs: mixed {} candidates ({valid_mixed} valid), us {} ({valid_us} valid)",
        mixed.len(),
        us.len()
    );

    let mut c = Criterion::default().configure_from_args();
    for (input_name, input) in [("mixed", &mixed), ("us", &us)] {
        let mut g = c.benchmark_group(format!("e164_{input_name}"));
        g.throughput(Throughput::Elements(input.len() as u64));
        g.sample_size(30);
        g.measurement_time(Duration::from_secs(4));
        let impls: [(&str, Predicate); 2] = [("ours", ours), ("rlibphonenumber", rlib)];
        for (name, f) in impls {
            g.bench_with_input(BenchmarkId::new(name, input_name), input, |b, input| {
                b.iter(|| input.iter().filter(|s| f(black_box(s))).count())
            });
        }
        g.finish();
        // The baseline is ~1000x slower on mixed input: fewer samples.
        let mut g = c.benchmark_group(format!("e164_{input_name}_baseline"));
        g.throughput(Throughput::Elements(input.len() as u64));
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(10));
        g.bench_with_input(
            BenchmarkId::new("phonenumber", input_name),
            input,
            |b, input| b.iter(|| input.iter().filter(|s| baseline(black_box(s))).count()),
        );
        g.finish();
    }
    c.final_summary();
}

//! Normalization bench (SPEC §6a): our `e164::normalize` against `rlibphonenumber`
//! (`PhoneNumber::parse(text, region)` + `is_valid` + E.164 format), the Rust peer a user
//! would otherwise pick, on the same inputs.
//!
//! Inputs: 2,000 `(region, text)` pairs taken at a fixed stride from the differential corpus
//! (`e164/tests/data/normalize_corpus.tsv.gz`): national, international, RFC 3966, decorated,
//! extensions, Unicode digits, letters, garbage — the corpus's own mix. Throughput is per
//! input. Python's `phonenumbers` on the same inputs: `tools/e164/bench_normalize.py`;
//! `tools/e164/bench_normalize.sh` runs this bench, that script and the instruction counts
//! (`benches/examples/normalize_profile.rs`) back to back and prints one table (BENCHMARKS.md).

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use bulk_contacts::e164::{self, Region};
use criterion::{BenchmarkId, Criterion, Throughput};
use flate2::read::GzDecoder;

const CORPUS: &[u8] = include_bytes!("../e164/tests/data/normalize_corpus.tsv.gz");
const N: usize = 2_000;

/// `N` inputs at a fixed stride, with both crates' region values.
fn sample() -> Vec<(Region, Option<rlibphonenumber::Region>, String)> {
    let all: Vec<(String, String)> = BufReader::new(GzDecoder::new(CORPUS))
        .lines()
        .map(|l| l.expect("corpus"))
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_owned(), f.next()?.to_owned()))
        })
        .collect();
    let step = (all.len() / N).max(1);
    all.into_iter()
        .step_by(step)
        .take(N)
        .map(|(r, text)| {
            let ours: Region = r.parse().expect("corpus region");
            let theirs = rlibphonenumber::Region::from_code(&r).ok();
            (ours, theirs, text)
        })
        .collect()
}

fn ours(region: Region, text: &str) -> bool {
    e164::normalize(text, region).is_ok()
}

fn rlib(region: Option<rlibphonenumber::Region>, text: &str) -> bool {
    match rlibphonenumber::PhoneNumber::parse(text, region) {
        Ok(n) => {
            n.is_valid()
                && !n
                    .format_as(rlibphonenumber::PhoneNumberFormat::E164)
                    .is_empty()
        }
        Err(_) => false,
    }
}

fn main() {
    // Start-up first: nothing of either implementation has been touched in this process yet.
    let us: Region = "US".parse().expect("US");
    let t = Instant::now();
    let v = ours(us, black_box("(415) 555-9876"));
    eprintln!(
        "start-up: ours            first call {:>8.3} ms -> {v}",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let v = rlib(
        rlibphonenumber::Region::from_code("US").ok(),
        black_box("(415) 555-9876"),
    );
    eprintln!(
        "start-up: rlibphonenumber first call {:>8.3} ms -> {v}",
        t.elapsed().as_secs_f64() * 1e3
    );

    let inputs = sample();
    let valid = inputs.iter().filter(|(r, _, t)| ours(*r, t)).count();
    let agree = inputs
        .iter()
        .filter(|(r, rr, t)| ours(*r, t) == rlib(*rr, t))
        .count();
    eprintln!(
        "inputs: {} ({valid} valid by ours; rlibphonenumber agrees on {agree} — its metadata is another release)",
        inputs.len()
    );

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("normalize_mixed");
    g.throughput(Throughput::Elements(inputs.len() as u64));
    g.sample_size(30);
    g.measurement_time(Duration::from_secs(4));
    g.bench_with_input(BenchmarkId::new("ours", "mixed"), &inputs, |b, inputs| {
        b.iter(|| {
            inputs
                .iter()
                .filter(|(r, _, t)| ours(*r, black_box(t)))
                .count()
        })
    });
    g.bench_with_input(
        BenchmarkId::new("rlibphonenumber", "mixed"),
        &inputs,
        |b, inputs| {
            b.iter(|| {
                inputs
                    .iter()
                    .filter(|(_, r, t)| rlib(*r, black_box(t)))
                    .count()
            })
        },
    );
    g.finish();
    c.final_summary();
}

//! The whole pipeline — request bytes to response body bytes, with the in-memory world —
//! against, in the same run and on the same bytes (see `support::subjects`):
//!
//! * the reference: `serde_json::from_slice::<serde_json::Value>` (parsing only);
//! * the floors: `sonic-rs` parsing into its `Value`, serde_json splitting `contacts` into
//!   borrowed `&RawValue`s, and a `memchr` pass over the bytes;
//! * what an informed user would write: typed serde (borrowed strings) + `rlibphonenumber`;
//! * the naive pipeline: serde_json into a typed struct of `Value`s, then the `phonenumber`
//!   crate's parse + `is_valid` for each phone and list number.
//!
//! Four mixes (see `support`), batches of 1, 10, 100 and 1000 contacts; throughput in bytes
//! (contacts/s follow from the batch size). Then one engine and world shared by two threads
//! against one thread doing the same two batches. Instruction counts of the same subjects:
//! `tools/callgrind_table.sh`.

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use support::Mix;
use support::subjects::{Ours, Subject};

#[derive(Deserialize)]
struct NaiveRequest {
    contacts: Vec<Option<NaiveContact>>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct NaiveContact {
    phone_number: Option<serde_json::Value>,
    list_number: Option<serde_json::Value>,
    use_journeys: Option<serde_json::Value>,
    skip_journey_if_exists: Option<serde_json::Value>,
    use_validation: Option<serde_json::Value>,
    replace_custom_fields: Option<serde_json::Value>,
    signup_date: Option<serde_json::Value>,
    ip_address: Option<serde_json::Value>,
    url: Option<serde_json::Value>,
    custom_fields: Option<serde_json::Value>,
}

fn naive_valid(number: Option<&serde_json::Value>) -> bool {
    let Some(s) = number.and_then(serde_json::Value::as_str) else {
        return false;
    };
    phonenumber::parse(None, s).is_ok_and(|n| n.is_valid())
}

fn naive(body: &[u8]) -> usize {
    let Ok(request) = serde_json::from_slice::<NaiveRequest>(body) else {
        return 0;
    };
    request
        .contacts
        .iter()
        .flatten()
        .filter(|c| naive_valid(c.phone_number.as_ref()) && naive_valid(c.list_number.as_ref()))
        .count()
}

fn pipeline(c: &mut Criterion) {
    let ours = Ours::default();
    for mix in Mix::ALL {
        let mut group = c.benchmark_group(format!("pipeline/{}", mix.name()));
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        group.sample_size(20);
        for n in [1usize, 10, 100, 1000] {
            let body = support::body(mix, n);
            group.throughput(Throughput::Bytes(body.len() as u64));
            for subject in Subject::ALL {
                group.bench_with_input(BenchmarkId::new(subject.name(), n), &body, |b, body| {
                    b.iter(|| subject.run(&ours, black_box(body)))
                });
            }
            group.bench_with_input(
                BenchmarkId::new("naive_phonenumber", n),
                &body,
                |b, body| b.iter(|| naive(black_box(body))),
            );
        }
        group.finish();
    }
}

fn threads(c: &mut Criterion) {
    let ours = Ours::default();
    let bodies = [
        support::body(Mix::Mixed, 1000),
        support::body(Mix::Us, 1000),
    ];
    let mut group = c.benchmark_group("threads/two_batches_of_1000");
    group.sample_size(20);
    group.throughput(Throughput::Elements(2000));
    // Each sample runs `iters` rounds on threads started once per sample, so that thread
    // start-up and a new thread's first heap pages are not counted as engine work.
    group.bench_function("one_thread", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for body in &bodies {
                    black_box(ours.handle(body));
                }
            }
            start.elapsed()
        })
    });
    group.bench_function("two_threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|scope| {
                for body in &bodies {
                    let ours = &ours;
                    scope.spawn(move || {
                        for _ in 0..iters {
                            black_box(ours.handle(body));
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline, threads);
criterion_main!(benches);

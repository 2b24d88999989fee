//! E.164 validator bench (filled in below).
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    c.bench_function("e164/placeholder", |b| {
        b.iter(|| bulk_contacts::e164::is_valid("+14155559876"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Peak heap per 1000-contact batch, for each mix, of ours (the whole request) and of the
//! reference and floors of `support::subjects`, measured with a counting global allocator,
//! against the body's size; then ours stage by stage (what each stage holds at its peak, above
//! the body, with what the stages before it keep). Prints two tables; `cargo bench --bench
//! memory` in benches/ (add `-- --tsv FILE`, relative to benches/, to also write the figures
//! for `examples/bench_charts.rs`).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bulk_contacts::{Engine, Response};
use support::Mix;
use support::subjects::{Ours, Subject};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts the bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The heap `f` holds at its peak, above what was allocated before it ran.
fn peak_of(f: impl FnOnce() -> usize) -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    std::hint::black_box(f());
    PEAK.load(Ordering::Relaxed) - base
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tsv_path = args
        .iter()
        .position(|a| a == "--tsv")
        .and_then(|i| args.get(i + 1));
    let ours = Ours::default();
    let mut tsv = String::from("mix\tsubject\tbody_bytes\tpeak_bytes\n");
    print!("| mix | body bytes | ours: peak heap bytes | ours ÷ body |");
    for subject in &Subject::ALL[1..] {
        print!(" {} ÷ body |", subject.name());
    }
    println!(
        "\n|---|---:|---:|---:|{}",
        "---:|".repeat(Subject::ALL.len() - 1)
    );
    for mix in Mix::ALL {
        let body = support::body(mix, 1000);
        print!("| {} | {} |", mix.name(), body.len());
        for subject in Subject::ALL {
            // Warm up first: the phone rules' lazily built tables are per process, not per batch.
            std::hint::black_box(subject.run(&ours, &body));
            let peak = peak_of(|| subject.run(&ours, &body));
            let ratio = peak as f64 / body.len() as f64;
            if subject == Subject::Ours {
                print!(" {peak} | {ratio:.2} |");
                assert!(
                    ours.handle(&body).starts_with(b"{\"success_count\""),
                    "the batch is evaluated (a 200 summary), not rejected"
                );
            } else {
                print!(" {ratio:.2} |");
            }
            tsv += &format!(
                "{}\t{}\t{}\t{peak}\n",
                mix.name(),
                subject.name(),
                body.len()
            );
        }
        println!();
    }
    stages();
    if let Some(path) = tsv_path {
        std::fs::write(path, tsv).expect("the --tsv file is writable");
        println!("\nwritten: {path}");
    }
}

/// Ours stage by stage through the staged API (the same steps `Engine::handle` runs): the peak
/// of each stage and what it leaves held, both above what was allocated before the request, per
/// contact and against the body.
fn stages() {
    let engine = Engine::default();
    let world = support::world();
    println!(
        "\n| mix | read: peak (held) | screen: peak (held) | evaluate: peak (held) | response: peak | request peak per contact | ÷ body |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for mix in Mix::ALL {
        let body = support::body(mix, 1000);
        let mark = || {
            let now = CURRENT.load(Ordering::Relaxed);
            PEAK.store(now, Ordering::Relaxed);
            now
        };
        let peak = || PEAK.load(Ordering::Relaxed);
        let base = mark();
        let batch = engine.read(&body, world.now).expect("a readable body");
        let read = (peak() - base, mark() - base);
        let screened = batch.screen(&world, &world).expect("the world answers");
        let screen = (peak() - base, mark() - base);
        let evaluation = screened
            .evaluate(&world, &world)
            .expect("the world answers");
        let evaluate = (peak() - base, mark() - base);
        let response = Response::summary(&evaluation);
        let answer = peak() - base;
        let most = [read.0, screen.0, evaluate.0, answer]
            .into_iter()
            .max()
            .unwrap_or(0);
        println!(
            "| {} | {} ({}) | {} ({}) | {} ({}) | {} | {} | {:.2} |",
            mix.name(),
            read.0,
            read.1,
            screen.0,
            screen.1,
            evaluate.0,
            evaluate.1,
            answer,
            most / batch.len(),
            most as f64 / body.len() as f64
        );
        std::hint::black_box(response);
    }
}

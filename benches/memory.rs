//! Peak heap of the pipeline per 1000-contact batch, for each mix, measured with a counting
//! global allocator, against the body's size. Prints a table; `cargo bench --bench memory`.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bulk_contacts::{Engine, Request};
use support::Mix;

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

fn main() {
    let engine = Engine::default();
    let world = support::world();
    let account = world.account();
    println!("| mix | body bytes | peak heap bytes | peak / body |");
    println!("|---|---:|---:|---:|");
    for mix in Mix::ALL {
        let body = support::body(mix, 1000);
        let request = Request {
            api_key: Some(b"trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"),
            body: &body,
            now: world.now,
        };
        // Warm the phone rule's lazily built tables first: they are per process, not per batch.
        let _ = engine.handle(&request, &account, &world, &world, &world);
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let response = engine.handle(&request, &account, &world, &world, &world);
        let peak = PEAK.load(Ordering::Relaxed) - base;
        assert_eq!(response.status, 200);
        println!(
            "| {} | {} | {} | {:.2} |",
            mix.name(),
            body.len(),
            peak,
            peak as f64 / body.len() as f64
        );
    }
}

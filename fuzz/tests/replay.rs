//! CI's replay of the fuzz corpus, without cargo-fuzz: every file of `corpus/<target>/`,
//! `regressions/<target>/` (saved crash inputs, committed) and `artifacts/<target>/` (local
//! crash inputs, when present) goes through the same function as the fuzz target, with the
//! same assertions. One test per target, so that they run in parallel and fail by name.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn replay(name: &str) {
    let (_, target) = bulk_contacts_fuzz::TARGETS
        .into_iter()
        .find(|(target, _)| *target == name)
        .expect("a known target");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = files(&root.join("corpus").join(name));
    assert!(!corpus.is_empty(), "fuzz/corpus/{name} is empty or missing");
    let mut inputs = corpus;
    for dir in ["regressions", "artifacts"] {
        inputs.extend(files(&root.join(dir).join(name)));
    }
    let mut failed = Vec::new();
    for path in &inputs {
        let data = std::fs::read(path).expect("a readable input");
        if panic::catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    println!("{name}: replayed {} inputs", inputs.len());
    assert!(
        failed.is_empty(),
        "{} of {} inputs of target {name} failed:\n{}",
        failed.len(),
        inputs.len(),
        failed.join("\n")
    );
}

#[test]
fn replay_request() {
    replay("request");
}

#[test]
fn replay_structured() {
    replay("structured");
}

#[test]
fn replay_precheck() {
    replay("precheck");
}

#[test]
fn replay_reader() {
    replay("reader");
}

#[test]
fn replay_e164() {
    replay("e164");
}

#[test]
fn replay_merge() {
    replay("merge");
}

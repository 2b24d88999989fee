//! Runs every case of `tests/conformance/*.json` (SPEC §8) and names each one that fails,
//! with its description and the expected and actual answers.

use std::path::Path;

use bulk_contacts::case::Case;

#[test]
fn every_conformance_case_gives_its_expected_answer() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/conformance exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 100,
        "only {} cases in {}",
        paths.len(),
        dir.display()
    );

    let mut failures = Vec::new();
    for path in &paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).expect("case file is UTF-8");
        let case = match Case::from_json(&text) {
            Ok(case) => case,
            Err(error) => {
                failures.push(format!("{name}: {error}"));
                continue;
            }
        };
        if case.expect.is_none() {
            failures.push(format!("{name}: no `expect`"));
            continue;
        }
        if let Some(mismatch) = case.mismatch(&case.run()) {
            failures.push(format!("{name} — {}\n  {mismatch}", case.description));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}

#[test]
fn the_documented_example_is_a_conformance_case() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/doc-example.json");
    let case = Case::from_json(&std::fs::read_to_string(shared).expect("doc example present"))
        .expect("doc example is a case");
    assert_eq!(case.mismatch(&case.run()), None);
}

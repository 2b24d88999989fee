//! The conformance suite (SPEC §8): one test per case file, named after its folder and file
//! (`generated::rule09-list-not-found`, `hand::doc-example`), so that a failing case is named
//! in the output and runs alone (`cargo test --test conformance -- hand::doc-example`).
//!
//! `tests/conformance/generated/` is written by `tools/gen_conformance.py`;
//! `tests/conformance/hand/` holds the hand-written cases. Adding a behaviour means adding a
//! case file to either. One more test checks the suite itself: each code of the SPEC (every
//! per-contact code, every batch-level code, the 402s and the 500) is the answer of at least
//! five cases.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bulk_contacts::testing::Case;
use bulk_contacts::{ContactCode, Rejection};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

const FOLDERS: [&str; 2] = ["generated", "hand"];

/// Every case file, as (test name, path), in name order.
fn case_files() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files = Vec::new();
    for folder in FOLDERS {
        let dir = root.join(folder);
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
        for path in entries.filter_map(|entry| entry.ok().map(|e| e.path())) {
            if path.extension().is_some_and(|ext| ext == "json") {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                files.push((format!("{folder}::{}", stem.unwrap_or_default()), path));
            }
        }
    }
    files.sort();
    files
}

fn read_case(path: &Path) -> Result<Case, Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Case::from_json(&text).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn run_case(path: &Path) -> Result<(), Failed> {
    let case = read_case(path)?;
    if case.expect.is_none() {
        return Err("the case has no `expect`".into());
    }
    match case.mismatch(&case.run()) {
        None => Ok(()),
        Some(mismatch) => Err(format!("{}\n  {mismatch}", case.description).into()),
    }
}

/// The codes a case's expected answer holds: the rejection's code (with its status, so that
/// the 401s, 402s and 413s stay apart from the per-contact codes), or each error entry's code.
fn expected_codes(path: &Path) -> Result<Vec<String>, Failed> {
    let case = read_case(path)?;
    let expect = case.expect.ok_or("no `expect`")?;
    let body: Value = serde_json::from_str(expect.body.get()).map_err(|e| e.to_string())?;
    if expect.status != 200 {
        let code = body["code"].as_str().ok_or("a rejection without a code")?;
        let message = body["error"].as_str().unwrap_or_default();
        return Ok(vec![format!("{} {code} {message}", expect.status)]);
    }
    let errors = body["errors"]
        .as_array()
        .ok_or("a summary without errors")?;
    Ok(errors
        .iter()
        .filter_map(|entry| entry["code"].as_str().map(|code| format!("contact {code}")))
        .collect())
}

fn coverage(files: &[(String, PathBuf)]) -> Result<(), Failed> {
    let mut cases_per_code: BTreeMap<String, usize> = BTreeMap::new();
    for (_, path) in files {
        let mut codes = expected_codes(path)?;
        codes.sort();
        codes.dedup();
        for code in codes {
            *cases_per_code.entry(code).or_default() += 1;
        }
    }
    let limits = bulk_contacts::Limits::default();
    let wanted = ContactCode::ALL
        .iter()
        .map(|code| format!("contact {}", code.as_str()))
        .chain(Rejection::ALL.iter().map(|rejection| {
            let message = rejection.message(&limits);
            format!("{} {} {message}", rejection.status(), rejection.as_str())
        }));
    let thin: Vec<String> = wanted
        .filter_map(|code| {
            let n = cases_per_code.get(&code).copied().unwrap_or(0);
            (n < 5).then(|| format!("{code}: {n} cases"))
        })
        .collect();
    if thin.is_empty() {
        Ok(())
    } else {
        Err(format!("codes covered by fewer than 5 cases:\n{}", thin.join("\n")).into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let files = case_files();
    let mut trials: Vec<Trial> = files
        .iter()
        .map(|(name, path)| {
            let path = path.clone();
            Trial::test(name.clone(), move || run_case(&path))
        })
        .collect();
    let count = files.len();
    trials.push(Trial::test("suite::has_at_least_100_cases", move || {
        if count >= 100 {
            Ok(())
        } else {
            Err(format!("only {count} case files").into())
        }
    }));
    trials.push(Trial::test(
        "suite::every_spec_code_is_the_answer_of_at_least_5_cases",
        move || coverage(&files),
    ));
    libtest_mimic::run(&args, trials).exit();
}

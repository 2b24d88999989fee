//! `bulk-contacts split`, driven as a binary: bodies within the limits, index maps back to the
//! file's rows, contacts not written reported, and the bodies read by the engine giving the
//! errors `check` gives for the same rows.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use bulk_contacts::{Engine, Limits, Timestamp};
use serde_json::{Value, json};

const NOW: &str = "2025-06-01T00:00:00Z";

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_bulk-contacts"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// `(row, code)` of each line of a report.
fn codes(report: &str) -> Vec<(u64, String)> {
    report
        .lines()
        .map(|line| {
            let line: Value = serde_json::from_str(line).unwrap();
            (
                line["row"].as_u64().unwrap(),
                line["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The bodies of a split directory, in order, with their row maps.
fn bodies(dir: &Path) -> Vec<(Vec<u8>, Vec<u64>)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.ends_with(".rows.json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|name| {
            let body = std::fs::read(dir.join(name)).unwrap();
            let rows = std::fs::read(dir.join(name.replace(".json", ".rows.json"))).unwrap();
            (body, serde_json::from_slice(&rows).unwrap())
        })
        .collect()
}

/// 2,600 lines: valid contacts, rule failures, blank lines, an unreadable line and contacts
/// too large to send.
fn contacts_file() -> String {
    let mut lines = Vec::new();
    for n in 0..2600u32 {
        let line = match n % 100 {
            7 => json!({"phone_number": format!("415-555-{:04}", n % 10000), "list_number": "+18005551234"}).to_string(),
            13 => String::new(),
            21 => "{not json".to_owned(),
            42 => json!({"phone_number": "+14155559876", "list_number": "+18005551234",
                         "custom_fields": {"pad": "x".repeat(5000)}}).to_string(),
            55 => json!({"phone_number": "+14155559876", "list_number": "+18005551234", "url": "nope"}).to_string(),
            _ => json!({"phone_number": format!("+1415555{:04}", n % 10000), "list_number": "+18005551234",
                        "custom_fields": {"n": n, "notes": "y".repeat(1500)}}).to_string(),
        };
        lines.push(line);
    }
    lines.join("\n")
}

#[test]
fn bodies_are_within_the_limits_and_map_back_to_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.jsonl");
    std::fs::write(&file, contacts_file()).unwrap();
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(&[
        "split",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    // Not written: the unreadable lines and the contacts over 4000 bytes, with their rows.
    let not_written = codes(&stdout);
    let expected: Vec<(u64, String)> = (0..2600u64)
        .filter_map(|n| match n % 100 {
            21 => Some((n + 1, "unreadable_row".to_owned())),
            42 => Some((n + 1, "payload_too_large".to_owned())),
            _ => None,
        })
        .collect();
    assert_eq!(not_written, expected);

    let bodies = bodies(&out);
    let limits = Limits::default();
    let mut written = Vec::new();
    for (body, rows) in &bodies {
        assert!(
            body.len() <= limits.max_body_bytes(),
            "{} bytes",
            body.len()
        );
        let parsed: Value = serde_json::from_slice(body).unwrap();
        let contacts = parsed["contacts"].as_array().unwrap();
        assert!(!contacts.is_empty() && contacts.len() <= limits.max_contacts());
        assert_eq!(contacts.len(), rows.len());
        written.extend_from_slice(rows);
    }
    // ~1.6 KB contacts: the 5 MiB limit closes bodies before 1000 contacts.
    assert!(bodies.len() >= 2, "{} bodies", bodies.len());
    // Every readable, small enough contact once, in the file's order (blank lines are no rows).
    let expected: Vec<u64> = (0..2600u64)
        .filter(|n| ![13, 21, 42].contains(&(n % 100)))
        .map(|n| n + 1)
        .collect();
    assert_eq!(written, expected);
    assert!(
        stderr.contains(&format!(
            "{} contacts written in {} request bodies",
            expected.len(),
            bodies.len()
        )),
        "{stderr}"
    );
}

#[test]
fn the_engine_reads_the_bodies_with_the_errors_check_reports() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.jsonl");
    std::fs::write(&file, contacts_file()).unwrap();
    let out = dir.path().join("out");
    let (_, split_report, _) = run(&[
        "split",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (_, check_report, _) = run(&["check", file.to_str().unwrap(), "--now", NOW]);
    let now: Timestamp = NOW.parse().unwrap();
    let mut found: BTreeMap<u64, String> = codes(&split_report).into_iter().collect();
    for (body, rows) in bodies(&out) {
        let batch = Engine::default().read(&body, now).unwrap();
        for (index, error) in batch.precheck_errors() {
            found.insert(rows[index], error.code().as_str().to_owned());
        }
    }
    let checked: BTreeMap<u64, String> = codes(&check_report).into_iter().collect();
    assert_eq!(found, checked);
    assert!(checked.values().any(|code| code == "invalid_phone"));
    assert!(checked.values().any(|code| code == "invalid_field"));
}

#[test]
fn csv_rows_are_written_as_the_check_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.csv");
    std::fs::write(
        &file,
        "phone_number,list_number,use_journeys,use_validation,custom_fields.first_name,custom_fields.zip,source\n\
         +14155559876,+18005551234,TRUE,no,Ada,02134,\n\
         (415) 555-0100,+18005551234,,false,,,web\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(&[
        "split",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--default-region",
        "US",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("1 numbers rewritten to E.164"), "{stderr}");
    let bodies = bodies(&out);
    assert_eq!(bodies.len(), 1);
    let body: Value = serde_json::from_slice(&bodies[0].0).unwrap();
    assert_eq!(
        body,
        json!({"contacts": [
            {"phone_number": "+14155559876", "list_number": "+18005551234", "use_journeys": true,
             "use_validation": "no", "custom_fields": {"first_name": "Ada", "zip": "02134"}},
            {"phone_number": "+14155550100", "list_number": "+18005551234", "use_validation": false,
             "source": "web"},
        ]})
    );
    assert_eq!(bodies[0].1, [1, 2]);
}

#[test]
fn split_refuses_a_directory_that_holds_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.jsonl");
    std::fs::write(
        &file,
        r#"{"phone_number": "+14155559876", "list_number": "+18005551234"}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let args = [
        "split",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    assert_eq!(run(&args).0, 0);
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 2);
    assert!(stderr.contains("already holds request bodies"), "{stderr}");
}

#[test]
fn split_of_an_invalid_body_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.json");
    std::fs::write(
        &file,
        r#"{"contacts": [{"phone_number": "+14155559876"}, {]}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let (code, _, stderr) = run(&[
        "split",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a valid request body"), "{stderr}");
}

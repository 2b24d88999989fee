//! `bulk-contacts check`, driven as a binary on files in a temporary directory: each format,
//! each exit code, row numbering, unreadable rows, suggestions, CSV columns, and the streamed
//! `.json` body compared with the engine's own reading of it.

use std::path::{Path, PathBuf};
use std::process::Command;

use bulk_contacts::{Engine, Timestamp};
use serde_json::{Value, json};

const NOW: &str = "2025-06-01T00:00:00Z";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The report's lines, parsed.
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// `(row, code)` of each report line.
    fn codes(&self) -> Vec<(u64, String)> {
        self.lines()
            .iter()
            .map(|l| {
                (
                    l["row"].as_u64().unwrap(),
                    l["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

fn bulk_contacts(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_bulk-contacts"))
        .args(args)
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn check(path: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["check", path.to_str().unwrap(), "--now", NOW];
    args.extend_from_slice(extra);
    bulk_contacts(&args)
}

const VALID: &str = r#"{"phone_number": "+14155559876", "list_number": "+18005551234"}"#;

#[test]
fn jsonl_reports_each_rejected_line_with_its_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "contacts.jsonl",
        [
            VALID,
            r#"{"phone_number": "(415) 555-9876", "list_number": "+18005551234"}"#,
            "",
            "   ",
            r#"{"phone_number": "+14155559876", "list_number": "+18005551234", "url": "ftp://x"}"#,
            r#"{"phone_number": "+14155559876", "#,
            r#"{"phone_number": "+14155559876", "list_number": "800-555-1234"}"#,
            r#"{"phone_number": "not a number", "list_number": "+18005551234"}"#,
            r#"{"list_number": "+18005551234"}"#,
            "[1, 2]",
            r#"{"phone_number": "+14155559876", "list_number": "+18005551234", "signup_date": "2025-06-01T00:05:01Z"}"#,
        ]
        .join("\n"),
    );
    let run = check(&file, &["--default-region", "US"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines = run.lines();
    assert_eq!(
        lines[0],
        json!({"row": 2, "code": "invalid_phone", "error": "phone_number must be a valid E.164 number", "suggestion": "+14155559876"})
    );
    assert_eq!(
        lines[1],
        json!({"row": 5, "code": "invalid_field", "error": "url must be an absolute http or https URL", "field": "url"})
    );
    assert_eq!(lines[2]["row"], 6);
    assert_eq!(lines[2]["code"], "unreadable_row");
    let message = lines[2]["error"].as_str().unwrap();
    assert!(
        message.starts_with("line 6 is not valid JSON: "),
        "{message}"
    );
    assert_eq!(
        lines[3],
        json!({"row": 7, "code": "invalid_list_number", "error": "list_number must be a valid E.164 number", "suggestion": "+18005551234"})
    );
    // No suggestion when the number does not normalize, or for other codes.
    assert_eq!(
        lines[4],
        json!({"row": 8, "code": "invalid_phone", "error": "phone_number must be a valid E.164 number"})
    );
    assert_eq!(
        run.codes()[5..],
        [
            (9, "missing_phone_number".to_owned()),
            (10, "invalid_contact".to_owned()),
            (11, "invalid_field".to_owned()),
        ]
    );
    assert_eq!(lines.len(), 8);
    // Blank lines are no rows: 9 rows, 1 accepted.
    assert!(
        run.stderr.starts_with("9 rows: 1 accepted, 8 rejected"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("unreadable_row"), "{}", run.stderr);
    assert!(run.stderr.contains("rows/s"), "{}", run.stderr);
}

#[test]
fn no_suggestion_without_a_default_region() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "c.jsonl",
        r#"{"phone_number": "(415) 555-9876", "list_number": "+18005551234"}"#,
    );
    let run = check(&file, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(run.lines()[0].get("suggestion"), None);
}

#[test]
fn a_clean_file_exits_0_with_an_empty_report() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "c.jsonl", format!("{VALID}\r\n{VALID}\r\n"));
    let run = check(&file, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with("2 rows: 2 accepted, 0 rejected"),
        "{}",
        run.stderr
    );
    // An empty file has no rows.
    let empty = write(dir.path(), "empty.jsonl", "");
    assert_eq!(check(&empty, &[]).code, 0);
}

#[test]
fn bad_usage_and_unreadable_files_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "c.jsonl", VALID);
    let missing = dir.path().join("missing.jsonl");
    let run = check(&missing, &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read the file"),
        "{}",
        run.stderr
    );
    let unknown = write(dir.path(), "c.txt", VALID);
    let run = check(&unknown, &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--format"), "{}", run.stderr);
    assert_eq!(check(&unknown, &["--format", "jsonl"]).code, 0);
    assert_eq!(check(&file, &["--default-region", "XX"]).code, 2);
    let bad_now = bulk_contacts(&["check", file.to_str().unwrap(), "--now", "yesterday"]);
    assert_eq!(bad_now.code, 2);
    assert_eq!(bulk_contacts(&["check"]).code, 2);
    assert_eq!(bulk_contacts(&["frobnicate"]).code, 2);
}

#[test]
fn now_decides_signup_dates() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "c.jsonl",
        r#"{"phone_number": "+14155559876", "list_number": "+18005551234", "signup_date": "2030-01-01T00:00:00Z"}"#,
    );
    assert_eq!(check(&file, &[]).code, 1);
    let later = bulk_contacts(&[
        "check",
        file.to_str().unwrap(),
        "--now",
        "2029-12-31T23:55:00Z",
    ]);
    assert_eq!(later.code, 0, "{}", later.stdout);
    // Without --now, the clock (long before 2030).
    assert_eq!(bulk_contacts(&["check", file.to_str().unwrap()]).code, 1);
}

#[test]
fn an_overlong_line_is_unreadable_and_the_next_line_keeps_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!(r#"{{"phone_number": "{}"}}"#, "9".repeat(9 << 20));
    let file = write(
        dir.path(),
        "c.jsonl",
        format!("{VALID}\n{long}\n{{\"phone_number\": \"x\"}}\n"),
    );
    let run = check(&file, &[]);
    assert_eq!(run.code, 1);
    let lines = run.lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["row"], 2);
    assert_eq!(lines[0]["code"], "unreadable_row");
    assert_eq!(
        lines[1],
        json!({"row": 3, "code": "missing_list_number", "error": "list_number is required"})
    );
}

/// A body with escapes that look like structure, nested values, other members around
/// `contacts`, and whitespace everywhere.
const BODY: &str = r#" {
  "meta": {"contacts": [1, 2], "s": "]}\"{["},
  "contacts" : [
    {"phone_number": "+14155559876", "list_number": "+18005551234", "custom_fields": {"q": "a \"quoted\" ], {value}"}},
    {"phone_number": "415\u002d555\u002d9876", "list_number": "+18005551234"} ,
    [ {"nested": [[], {}]} ],
    "a string, with \\ and ]",
    {"phone_number": "+14155559876", "list_number": "+18005551234", "custom_fields": {"deep": {"a": [1, {"b": null}]}}},
    null,
    {"phone_number": "+14155559876", "list_number": "+18005551234", "ad_network_source": {"k": ["]", "}"]}, "use_journeys": "\ud83d\ude00"},
    12.5e3
  ],
  "after": [true, false, null, "x"]
}
"#;

#[test]
fn json_body_is_streamed_element_by_element_like_the_engine_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "body.json", BODY);
    let run = check(&file, &["--default-region", "US"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let now: Timestamp = NOW.parse().unwrap();
    let batch = Engine::default().read(BODY.as_bytes(), now).unwrap();
    let expected: Vec<(u64, String)> = batch
        .precheck_errors()
        .map(|(index, error)| (index as u64 + 1, error.code().as_str().to_owned()))
        .collect();
    assert_eq!(run.codes(), expected);
    assert_eq!(
        expected.iter().map(|(row, _)| *row).collect::<Vec<_>>(),
        [2, 3, 4, 5, 6, 7, 8]
    );
    assert_eq!(run.lines()[0]["suggestion"], "+14155559876");
    assert!(
        run.stderr.starts_with("8 rows: 1 accepted, 7 rejected"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_elements_longer_than_a_read_buffer_are_whole() {
    let dir = tempfile::tempdir().unwrap();
    let padding = "\\\"]".repeat(1 << 20); // 3 MiB of escaped quotes and brackets
    let body = format!(
        r#"{{"contacts": [{VALID}, {{"phone_number": "+14155559876", "list_number": "+18005551234", "custom_fields": {{"pad": "{padding}"}}}}, {VALID}]}}"#
    );
    let file = write(dir.path(), "body.json", body);
    let run = check(&file, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.codes(), [(2, "payload_too_large".to_owned())]);
}

#[test]
fn a_json_file_that_is_not_one_valid_body_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("truncated", format!(r#"{{"contacts": [{VALID}, {VALID}"#)),
        ("trailing", format!(r#"{{"contacts": [{VALID}]}} {{}}"#)),
        (
            "element",
            format!(r#"{{"contacts": [{VALID}, {{"phone_number": }}]}}"#),
        ),
        ("trailing comma", format!(r#"{{"contacts": [{VALID},]}}"#)),
        ("empty", r#"{"contacts": []}"#.to_owned()),
        ("absent", r#"{"other": 1}"#.to_owned()),
        ("null", r#"{"contacts": null}"#.to_owned()),
        ("object", r#"{"contacts": {}}"#.to_owned()),
        (
            "twice",
            format!(r#"{{"contacts": [{VALID}], "contacts": [{VALID}]}}"#),
        ),
        ("array", format!("[{VALID}]")),
        (
            "other member",
            format!(r#"{{"x": [1, 2}}, "contacts": [{VALID}]}}"#),
        ),
        ("mismatched", format!(r#"{{"contacts": [{VALID}}}"#)),
        (
            "bad name",
            format!(r#"{{"a\q": 1, "contacts": [{VALID}]}}"#),
        ),
        (
            "deep",
            format!(
                r#"{{"contacts": [{{"x": {}1{}}}]}}"#,
                "[".repeat(125),
                "]".repeat(125)
            ),
        ),
    ];
    for (name, body) in cases {
        let file = write(
            dir.path(),
            &format!("{}.json", name.replace(' ', "_")),
            &body,
        );
        let run = check(&file, &[]);
        assert_eq!(run.code, 2, "{name}: {}", run.stdout);
        assert!(
            run.stderr.contains("not a valid request body"),
            "{name}: {}",
            run.stderr
        );
        // The engine refuses the body as a whole too, except a repeated `contacts`, whose
        // last value it reads: the checker refuses that file rather than check elements
        // the server would ignore.
        let now: Timestamp = NOW.parse().unwrap();
        let refused = Engine::default().read(body.as_bytes(), now).is_err();
        assert_eq!(refused, name != "twice", "{name}");
    }
    // 124 levels inside a contact (126 in the body) is fine.
    let body = format!(
        r#"{{"contacts": [{{"x": {}1{}}}]}}"#,
        "[".repeat(124),
        "]".repeat(124)
    );
    let file = write(dir.path(), "deep_ok.json", &body);
    assert_eq!(
        check(&file, &[]).codes(),
        [(1, "missing_phone_number".to_owned())]
    );
}

#[test]
fn csv_columns_become_members() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "contacts.csv",
        "\u{feff}phone_number,list_number,use_journeys,custom_fields.first_name,custom_fields.visits,ad_network_source\n\
         +14155559876,+18005551234,true,Ada,3,newsletter\n\
         +14155559876,+18005551234,TRUE,,,\n\
         (415) 555-9876,+18005551234,false,Bob,,\n\
         +14155559876,+18005551234,yes,,,\n\
         ,+18005551234,,,,\n\
         +14155559876,+18005551234\n\
         \"+14155559876\",\"+18005551234\",\"\",\"multi\nline\",\"\",\"\"\n\
         +14155559876,0800 555 1234,,,,\n",
    );
    let run = check(&file, &["--default-region", "US"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines = run.lines();
    assert_eq!(
        lines[0],
        json!({"row": 3, "line": 4, "code": "invalid_phone", "error": "phone_number must be a valid E.164 number", "suggestion": "+14155559876"})
    );
    assert_eq!(
        lines[1],
        json!({"row": 4, "line": 5, "code": "invalid_field", "error": "use_journeys must be a boolean", "field": "use_journeys"})
    );
    assert_eq!(lines[2]["row"], 5);
    assert_eq!(lines[2]["code"], "missing_phone_number");
    assert_eq!(lines[3]["row"], 6);
    assert_eq!(lines[3]["code"], "unreadable_row");
    assert_eq!(
        lines[3]["error"],
        "row 6 (line 7) has 2 cells, the header has 6"
    );
    // Row 7 spans two lines, so row 8 starts on line 10; its list number is not valid as a
    // US number either.
    assert_eq!(lines[4]["row"], 8);
    assert_eq!(lines[4]["line"], 10);
    assert_eq!(lines[4]["code"], "invalid_list_number");
    assert_eq!(lines.len(), 5);
    assert!(
        run.stderr.starts_with("8 rows: 3 accepted, 5 rejected"),
        "{}",
        run.stderr
    );
}

#[test]
fn csv_header_problems_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let twice = write(
        dir.path(),
        "twice.csv",
        "phone_number,phone_number\n+1,+2\n",
    );
    let run = check(&twice, &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("twice"), "{}", run.stderr);
    let empty = write(dir.path(), "empty.csv", "");
    assert_eq!(check(&empty, &[]).code, 2);
}

#[test]
fn csv_cells_that_are_not_utf8_are_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let mut text =
        b"phone_number,list_number\n+14155559876,+18005551234\n+1415\xff,+18005551234\n".to_vec();
    text.extend_from_slice(b"+14155559876,+18005551234\n");
    let file = write(dir.path(), "c.csv", text);
    let run = check(&file, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(run.codes(), [(2, "unreadable_row".to_owned())]);
}

#[test]
fn jsonl_codes_messages_and_fields_are_the_engines() {
    let ok = || json!({"phone_number": "+14155559876", "list_number": "+18005551234"});
    let with = |name: &str, value: Value| {
        let mut contact = ok();
        contact[name] = value;
        contact
    };
    let contacts = [
        ok(),
        with("custom_fields", json!({"notes": "n".repeat(4000)})),
        json!([1]),
        json!({"list_number": "+18005551234"}),
        json!({"phone_number": "+14155559876", "list_number": " "}),
        with("phone_number", json!(14155559876u64)),
        with("list_number", json!("+1800555123")),
        with("use_journeys", json!("true")),
        with("skip_journey_if_exists", json!(0)),
        with("use_validation", json!(null)),
        with("replace_custom_fields", json!("false")),
        with("signup_date", json!("2025-06-01T00:05:00.000000001Z")),
        with("ip_address", json!("1.2.3.04")),
        with("url", json!("https://")),
        with("custom_fields", json!({"a": {"b": 1}})),
        with("custom_fields", json!({"a": 1, "b": "é", "c": false})),
    ];
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = contacts.iter().map(Value::to_string).collect();
    let file = write(dir.path(), "c.jsonl", lines.join("\n"));
    let run = check(&file, &[]);
    let body = serde_json::to_vec(&json!({ "contacts": contacts })).unwrap();
    let now: Timestamp = NOW.parse().unwrap();
    let engine = Engine::default();
    let batch = engine.read(&body, now).unwrap();
    let expected: Vec<Value> = batch
        .precheck_errors()
        .map(|(index, error)| {
            let mut line = json!({"row": index + 1, "code": error.code().as_str(),
                                  "error": error.message(engine.limits())});
            if let Some(field) = error.field() {
                line["field"] = json!(field.as_str());
            }
            line
        })
        .collect();
    assert_eq!(expected.len(), 13);
    assert_eq!(run.lines(), expected);
    assert_eq!(run.code, 1);
}

#[test]
fn a_json_element_longer_than_the_row_limit_is_unreadable_and_the_body_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!(
        r#"{{"phone_number": "+14155559876", "pad": "{}"}}"#,
        "z".repeat(9 << 20)
    );
    let body = format!(r#"{{"contacts": [{VALID}, {big}, {{"phone_number": "x"}}]}}"#);
    let file = write(dir.path(), "body.json", body);
    let run = check(&file, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.codes(),
        [
            (2, "unreadable_row".to_owned()),
            (3, "missing_list_number".to_owned())
        ]
    );
}

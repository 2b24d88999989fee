//! `bulk-contacts` on files as spreadsheets and CRMs write them (SPEC §9.1), each a fixture
//! under `tests/fixtures/`: encodings, separators, header names, `--map`, `--list-number`,
//! quotes never closed, warnings, `--fix-out`, and closed pipes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const NOW: &str = "2025-06-01T00:00:00Z";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// `(row, line, code)` of each report line.
    fn codes(&self) -> Vec<(u64, u64, String)> {
        self.lines()
            .iter()
            .map(|l| {
                (
                    l["row"].as_u64().unwrap(),
                    l["line"].as_u64().unwrap_or(0),
                    l["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("bulk-contacts: warning: "))
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

fn check(name: &str, extra: &[&str]) -> Run {
    let path = fixture(name);
    let mut args = vec!["check", path.to_str().unwrap(), "--now", NOW];
    args.extend_from_slice(extra);
    bulk_contacts(&args)
}

fn owned(items: &[(u64, u64, &str)]) -> Vec<(u64, u64, String)> {
    items
        .iter()
        .map(|&(row, line, code)| (row, line, code.to_owned()))
        .collect()
}

#[test]
fn a_european_excel_export_is_read_with_its_bom_semicolons_crlf_and_header_names() {
    let run = check("excel-eu.csv", &["--default-region", "DE"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.lines()[0],
        json!({"row": 1, "line": 2, "code": "invalid_phone", "error": "phone_number must be a valid E.164 number", "suggestion": "+4915123456789"})
    );
    assert_eq!(
        run.codes(),
        owned(&[
            (1, 2, "invalid_phone"),
            (2, 3, "invalid_phone"),
            (3, 4, "invalid_phone"),
            (4, 5, "invalid_phone"),
            (5, 6, "missing_phone_number"),
            (6, 7, "invalid_list_number"),
            (7, 8, "invalid_field"),
        ])
    );
    // The quoted cell with a ';' inside is one cell: row 3 is not ragged.
    assert_eq!(run.lines()[2]["suggestion"], "+49301234567");
    assert!(
        run.stderr.contains("7 rows: 0 accepted, 7 rejected"),
        "{}",
        run.stderr
    );
}

#[test]
fn headers_that_name_no_member_get_one_warning_each_with_a_suggestion() {
    let run = check("excel-eu.csv", &[]);
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 3, "{}", run.stderr);
    assert!(
        warnings[0].contains("column 3 \"First Name\" names no contact member"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("Did you mean custom_fields.first_name?"),
        "{}",
        warnings[0]
    );
    assert!(warnings[1].contains("\"Last Name\""), "{}", warnings[1]);
    assert!(warnings[2].contains("\"Email\""), "{}", warnings[2]);
    // A near miss names the member.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.csv");
    std::fs::write(
        &file,
        "phone_number,list_numbr,IP\n+14155559876,+18005551234,1.2.3.4\n",
    )
    .unwrap();
    let run = bulk_contacts(&["check", file.to_str().unwrap(), "--now", NOW]);
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 2, "{}", run.stderr);
    assert!(
        warnings[0].contains("Did you mean list_number?"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].contains("Did you mean ip_address?"),
        "{}",
        warnings[1]
    );
    // Mapped or left out: no warning.
    let run = check(
        "excel-eu.csv",
        &[
            "--map",
            "First Name=custom_fields.first_name",
            "--map",
            "last name=",
            "--map",
            "EMAIL=",
        ],
    );
    assert_eq!(run.warnings(), Vec::<&str>::new(), "{}", run.stderr);
}

#[test]
fn utf16_files_with_a_byte_order_mark_are_transcoded_in_both_byte_orders() {
    for name in ["unicode-text-le.csv", "unicode-text-be.csv"] {
        let run = check(name, &["--default-region", "US"]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        // Tab-separated, CRLF, non-ASCII names: the same report as UTF-8 would give.
        assert_eq!(
            run.codes(),
            owned(&[(2, 3, "invalid_phone"), (3, 4, "missing_list_number")]),
            "{name}"
        );
        assert_eq!(run.lines()[0]["suggestion"], "+14155550100", "{name}");
    }
}

#[test]
fn excel_sep_line_is_honoured_and_delimiter_overrides() {
    let run = check("sep-line.csv", &["--default-region", "US"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The header is line 2; "a, b" is one cell (';' separates).
    assert_eq!(run.codes(), owned(&[(2, 4, "invalid_phone")]));
    // Forcing ',' makes the header one column naming nothing, and the file has no phone column.
    let run = check("sep-line.csv", &["--delimiter", ","]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no column names phone_number"),
        "{}",
        run.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipes.csv");
    std::fs::write(
        &file,
        "phone_number|list_number\n+14155559876|+18005551234\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    assert_eq!(
        bulk_contacts(&["check", path, "--now", NOW, "--delimiter", "|"]).code,
        0
    );
    assert_eq!(
        bulk_contacts(&["check", path, "--now", NOW, "--delimiter", "ab"]).code,
        2
    );
}

#[test]
fn a_quote_never_closed_at_the_end_is_reported_where_it_opened_and_no_row_is_swallowed() {
    let run = check("unclosed-end.csv", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.codes(), owned(&[(2, 3, "unreadable_row")]));
    let error = run.lines()[0]["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("column 3 (\"custom_fields.note\") opened on line 3 is never closed"),
        "{error}"
    );
    // The two rows after it are read as rows of their own.
    assert!(
        run.stderr.starts_with("4 rows: 3 accepted, 1 rejected"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_quote_never_closed_in_the_middle_is_reported_and_the_rows_after_it_are_read() {
    let run = check("unclosed-middle.csv", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.codes(), owned(&[(1, 2, "unreadable_row")]));
    let error = run.lines()[0]["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("opened on line 2 closes on line 4"),
        "{error}"
    );
    // Rows at lines 3, 4, 5 (two lines, properly quoted) and 7.
    assert!(
        run.stderr.starts_with("5 rows: 4 accepted, 1 rejected"),
        "{}",
        run.stderr
    );
    // split writes them too, and nothing merged into a cell.
    let out = tempfile::tempdir().unwrap();
    let path = fixture("unclosed-middle.csv");
    let split = bulk_contacts(&[
        "split",
        path.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(split.code, 1, "{}", split.stderr);
    let body: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("body-000001.json")).unwrap())
            .unwrap();
    let notes: Vec<&str> = body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["custom_fields"]["note"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["plain", "quoted, properly", "two\nlines", "last"]);
    let rows: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("body-000001.rows.json")).unwrap())
            .unwrap();
    assert_eq!(rows, json!([2, 3, 4, 5]));
}

#[test]
fn a_crm_export_works_with_map_and_list_number() {
    // As exported: no list column, so every row lacks a list number.
    let run = check("crm-export.csv", &["--default-region", "US"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.lines().len(), 3);
    assert!(
        run.lines()
            .iter()
            .all(|l| l["code"] == "missing_list_number")
    );
    let run = check(
        "crm-export.csv",
        &[
            "--default-region",
            "US",
            "--list-number",
            "+18005551234",
            "--map",
            "First Name=custom_fields.first_name",
            "--map",
            "Last Name=custom_fields.last_name",
            "--map",
            "Email=",
            "--map",
            "Mobile=",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.warnings(), Vec::<&str>::new());
    assert_eq!(
        run.lines(),
        [
            json!({"row": 1, "line": 2, "code": "invalid_phone", "error": "phone_number must be a valid E.164 number", "suggestion": "+14155550100"}),
            json!({"row": 3, "line": 4, "code": "invalid_phone", "error": "phone_number must be a valid E.164 number", "suggestion": "+14155550102"}),
        ]
    );
    // The other column of numbers can be the phone column instead.
    let run = check(
        "crm-export.csv",
        &[
            "--map",
            "Mobile=phone_number",
            "--map",
            "Phone Number=",
            "--list-number",
            "+18005551234",
        ],
    );
    assert_eq!(
        run.codes(),
        owned(&[
            (1, 2, "invalid_phone"),
            (2, 3, "missing_phone_number"),
            (3, 4, "missing_phone_number")
        ])
    );
    // What split sends: the mapped members, the list number, no left-out column.
    let out = tempfile::tempdir().unwrap();
    let path = fixture("crm-export.csv");
    let split = bulk_contacts(&[
        "split",
        path.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--default-region",
        "US",
        "--list-number",
        "+18005551234",
        "--map",
        "First Name=custom_fields.first_name",
        "--map",
        "Last Name=",
        "--map",
        "Email=",
        "--map",
        "Mobile=",
    ]);
    assert_eq!(split.code, 0, "{}", split.stderr);
    let body: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("body-000001.json")).unwrap())
            .unwrap();
    assert_eq!(
        body["contacts"][0],
        json!({"phone_number": "+14155550100", "list_number": "+18005551234", "custom_fields": {"first_name": "Ada"}})
    );
}

#[test]
fn header_and_usage_problems_exit_2_with_a_sentence() {
    let run = check(
        "crm-export.csv",
        &["--map", "Phone Number=", "--list-number", "+18005551234"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no column names phone_number: the columns are \"Phone Number\", \"First Name\", \"Last Name\", \"Email\", \"Mobile\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--map '"), "{}", run.stderr);
    for (args, says) in [
        (&["--map", "Cell=phone_number"][..], "does not have"),
        (&["--map", "Mobile=phone"][..], "did you mean phone_number?"),
        (
            &["--map", "Mobile=phone_number"][..],
            "both name phone_number",
        ),
        (
            &["--list-number", "800-555-1234"][..],
            "not a valid E.164 number",
        ),
        (
            &["--list-number", "+1 800 555 1234"][..],
            "did you mean +18005551234?",
        ),
    ] {
        let run = check("crm-export.csv", args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn list_number_fills_json_rows_without_one() {
    let run = check("bom.jsonl", &["--list-number", "+18005551234"]);
    // Line 3 has a phone number and now a list: accepted.
    assert_eq!(run.codes(), owned(&[(2, 0, "invalid_phone")]));
}

#[test]
fn a_byte_order_mark_starts_json_lines_and_bodies_like_csv() {
    let run = check("bom.jsonl", &["--default-region", "US"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Line 1 (after the mark) is a valid contact; no "line" member outside CSV.
    assert_eq!(
        run.lines(),
        [
            json!({"row": 2, "code": "invalid_phone", "error": "phone_number must be a valid E.164 number", "suggestion": "+14155550100"}),
            json!({"row": 3, "code": "missing_list_number", "error": "list_number is required"}),
        ]
    );
    let run = check("bom.json", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.codes(), owned(&[(2, 0, "missing_list_number")]));
}

#[test]
fn a_header_that_is_not_utf8_exits_2_naming_the_encoding() {
    let run = check("windows-1252.csv", &[]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("is not UTF-8 text: it looks like windows-1252"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("\"Téléphone;Numéro de liste;Prénom\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("CSV UTF-8"), "{}", run.stderr);
    assert!(!run.stderr.contains("Utf8"), "{}", run.stderr);
    // UTF-16 without a byte-order mark, and UTF-32.
    let dir = tempfile::tempdir().unwrap();
    let text = "phone_number,list_number\n+14155559876,+18005551234\n";
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let file = dir.path().join("utf16.csv");
    std::fs::write(&file, utf16).unwrap();
    let run = bulk_contacts(&["check", file.to_str().unwrap(), "--now", NOW]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("UTF-16 (little-endian) text without a byte-order mark"),
        "{}",
        run.stderr
    );
    let mut utf32 = vec![0xFF, 0xFE, 0, 0];
    utf32.extend(text.chars().flat_map(|c| (c as u32).to_le_bytes()));
    std::fs::write(&file, utf32).unwrap();
    let run = bulk_contacts(&["check", file.to_str().unwrap(), "--now", NOW]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("UTF-32"), "{}", run.stderr);
}

#[test]
fn fix_out_writes_the_same_file_with_canonical_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("fixed.csv");
    let run = check(
        "excel-eu.csv",
        &[
            "--default-region",
            "DE",
            "--fix-out",
            fixed.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let original = std::fs::read_to_string(fixture("excel-eu.csv")).unwrap();
    let expected = original
        .replace("0151 23456789;", "+4915123456789;")
        .replace("+49 151 23456780;", "+4915123456780;")
        .replace("030 1234567;", "+49301234567;")
        .replace("0800 5551234;", "+498005551234;");
    assert_eq!(std::fs::read_to_string(&fixed).unwrap(), expected);
    // Byte-order mark, CRLF, separator and quoting kept; checked again, only what normalization
    // cannot fix is left.
    let again = bulk_contacts(&["check", fixed.to_str().unwrap(), "--now", NOW]);
    assert_eq!(
        again.codes(),
        owned(&[
            (4, 5, "invalid_phone"),
            (5, 6, "missing_phone_number"),
            (6, 7, "invalid_field"),
            (7, 8, "invalid_field"),
        ])
    );
    // A quoted number is replaced whole; UTF-16 is written as UTF-8 with a byte-order mark.
    let quoted = dir.path().join("quoted.csv");
    std::fs::write(
        &quoted,
        "phone_number,list_number\n\"(415) 555-0100\",\"800-555-1234\"\r\n",
    )
    .unwrap();
    let out = dir.path().join("quoted-fixed.csv");
    bulk_contacts(&[
        "check",
        quoted.to_str().unwrap(),
        "--default-region",
        "US",
        "--fix-out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "phone_number,list_number\n+14155550100,+18005551234\r\n"
    );
    let path = fixture("unicode-text-le.csv");
    bulk_contacts(&[
        "check",
        path.to_str().unwrap(),
        "--default-region",
        "US",
        "--fix-out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "\u{feff}Phone Number\tList Number\tFirst Name\r\n+14155559876\t+18005551234\tZoë\r\n+14155550100\t+18005551234\tRenée\r\n+14155550101\t\tÅsa\r\n"
    );
    // Never over the file being read.
    let copy = dir.path().join("copy.csv");
    std::fs::copy(fixture("excel-eu.csv"), &copy).unwrap();
    let run = bulk_contacts(&[
        "check",
        copy.to_str().unwrap(),
        "--fix-out",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("another file"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(fixture("excel-eu.csv")).unwrap()
    );
    // Only for CSV.
    let jsonl = fixture("bom.jsonl");
    let run = bulk_contacts(&[
        "check",
        jsonl.to_str().unwrap(),
        "--fix-out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2);
}

/// Runs the binary with standard output or standard error a pipe whose read end is closed.
fn with_closed(stream: &str, args: &[&str]) -> (i32, Vec<u8>) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut command = Command::new(env!("CARGO_BIN_EXE_bulk-contacts"));
    command.args(args);
    let output = if stream == "stdout" {
        command
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    } else {
        command
            .stderr(writer)
            .stdout(Stdio::piped())
            .output()
            .unwrap()
    };
    let other = if stream == "stdout" {
        output.stderr
    } else {
        output.stdout
    };
    (output.status.code().unwrap(), other)
}

#[test]
fn closed_pipes_end_the_run_quietly_with_exit_code_2() {
    let path = fixture("excel-eu.csv");
    let path = path.to_str().unwrap();
    // A report to write into a closed standard output: exit 2, nothing said.
    let (code, stderr) = with_closed(
        "stdout",
        &[
            "check",
            path,
            "--now",
            NOW,
            "--map",
            "First Name=",
            "--map",
            "Last Name=",
            "--map",
            "Email=",
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(String::from_utf8_lossy(&stderr), "");
    // Warnings or the summary to write into a closed standard error: exit 2, not a panic.
    let (code, _) = with_closed("stderr", &["check", path, "--now", NOW]);
    assert_eq!(code, 2);
    let clean = fixture("sep-line.csv");
    let (code, stdout) = with_closed("stderr", &["check", clean.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 2);
    assert!(!stdout.is_empty());
    // Usage errors and help too.
    assert_eq!(with_closed("stderr", &["check"]).0, 2);
    assert_eq!(with_closed("stdout", &["--help"]).0, 2);
    let out = tempfile::tempdir().unwrap();
    let (code, _) = with_closed(
        "stderr",
        &["split", path, "--out", out.path().to_str().unwrap()],
    );
    assert_eq!(code, 2);
}

#[test]
fn line_ends_of_every_kind_and_empty_rows() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mac.csv");
    // Old Mac line ends (a lone CR), a row of empty cells, a blank line, and no final line end.
    std::fs::write(
        &file,
        "phone_number;list_number\r+14155559876;+18005551234\r;\r\r415 555 0100;+18005551234",
    )
    .unwrap();
    let run = bulk_contacts(&["check", file.to_str().unwrap(), "--now", NOW]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.codes(), owned(&[(2, 5, "invalid_phone")]));
    assert!(
        run.stderr.contains("2 rows: 1 accepted, 1 rejected"),
        "{}",
        run.stderr
    );
}

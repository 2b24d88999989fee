//! `bulk-contacts check`: rules 1 to 8 on every row, one JSON line per rejected row on
//! standard output, a summary on standard error.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

use bulk_contacts::e164::{self, Region};
use bulk_contacts::{ContactCode, ContactError, Engine, Timestamp};
use serde_json::Value;

use crate::input::{self, Format, InputError, Row};
use crate::progress::Progress;

/// What `check` is asked to do.
pub struct Check {
    pub file: PathBuf,
    pub format: Format,
    pub now: Timestamp,
    pub region: Option<Region>,
    /// Benchmarking only: read the rows, run no rule (every row accepted).
    pub scan_only: bool,
}

/// The counters of the summary.
#[derive(Default)]
struct Tally {
    rows: u64,
    accepted: u64,
    /// Indexed like `ContactCode::ALL`.
    by_code: [u64; ContactCode::ALL.len()],
    unreadable: u64,
}

/// The code of a row that cannot be read at all.
const UNREADABLE: &str = "unreadable_row";

/// Runs the check; the exit code (0: no rejection, 1: some).
pub fn run(check: &Check) -> Result<u8, InputError> {
    let engine = Engine::default();
    let started = Instant::now();
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut tally = Tally::default();
    let mut progress = Progress::new(&check.file);
    let format = check.format;
    let mut visit = |row: u64, item: Row<'_>, read: u64| -> Result<(), InputError> {
        tally.rows += 1;
        progress.tick(tally.rows, read);
        let text = match item {
            Row::Contact(text) => text,
            Row::Unreadable(message) => {
                tally.unreadable += 1;
                return write_unreadable(&mut out, row, &message).map_err(InputError::Write);
            }
        };
        if check.scan_only {
            tally.accepted += 1;
            return Ok(());
        }
        match engine.check_contact(text, check.now) {
            Ok(Ok(_)) => {
                tally.accepted += 1;
                Ok(())
            }
            Ok(Err(error)) => {
                let code = error.code();
                if let Some(at) = ContactCode::ALL.iter().position(|c| *c == code) {
                    tally.by_code[at] += 1;
                }
                let suggestion = check
                    .region
                    .and_then(|region| suggestion(text, &error, region));
                write_rejection(&mut out, row, &error, &engine, suggestion.as_deref())
                    .map_err(InputError::Write)
            }
            Err(_) if format == Format::Json => Err(InputError::Invalid(format!(
                "not a valid request body: element {row} of contacts {}",
                not_json(text)
            ))),
            Err(_) => {
                tally.unreadable += 1;
                let what = if format == Format::Jsonl {
                    "line"
                } else {
                    "row"
                };
                let message = format!("{what} {row} {}", not_json(text));
                write_unreadable(&mut out, row, &message).map_err(InputError::Write)
            }
        }
    };
    let outcome = input::read(&check.file, format, &mut visit);
    let flushed = out.flush();
    progress.finish();
    outcome?;
    flushed.map_err(InputError::Write)?;
    summary(&tally, started.elapsed().as_secs_f64());
    let rejected = tally.rows - tally.accepted;
    Ok(u8::from(rejected > 0))
}

/// Why a text that `check_contact` refused is not JSON a body can hold.
fn not_json(text: &[u8]) -> String {
    match serde_json::from_slice::<Value>(text) {
        Err(error) => format!("is not valid JSON: {error}"),
        Ok(_) => "nests deeper than a request body allows (125 levels)".to_owned(),
    }
}

/// The canonical form of the number the error is about, when `region` makes it valid:
/// `phone_number` for `invalid_phone`, `list_number` for `invalid_list_number`.
fn suggestion(text: &[u8], error: &ContactError, region: Region) -> Option<String> {
    let member = match error.code() {
        ContactCode::InvalidPhone => "phone_number",
        ContactCode::InvalidListNumber => "list_number",
        _ => return None,
    };
    let contact: Value = serde_json::from_slice(text).ok()?;
    let number = contact.get(member)?.as_str()?;
    e164::normalize(number, region)
        .ok()
        .map(|n| n.as_str().to_owned())
}

fn write_rejection(
    out: &mut impl Write,
    row: u64,
    error: &ContactError,
    engine: &Engine,
    suggestion: Option<&str>,
) -> io::Result<()> {
    write!(
        out,
        "{{\"row\":{row},\"code\":\"{}\",\"error\":",
        error.code().as_str()
    )?;
    serde_json::to_writer(&mut *out, &error.message(engine.limits()))?;
    if let Some(field) = error.field() {
        write!(out, ",\"field\":\"{}\"", field.as_str())?;
    }
    if let Some(suggestion) = suggestion {
        out.write_all(b",\"suggestion\":")?;
        serde_json::to_writer(&mut *out, suggestion)?;
    }
    out.write_all(b"}\n")
}

fn write_unreadable(out: &mut impl Write, row: u64, message: &str) -> io::Result<()> {
    write!(out, "{{\"row\":{row},\"code\":\"{UNREADABLE}\",\"error\":")?;
    serde_json::to_writer(&mut *out, message)?;
    out.write_all(b"}\n")
}

/// The summary on standard error: rows, accepted, rejected by code, speed.
fn summary(tally: &Tally, seconds: f64) {
    let rejected = tally.rows - tally.accepted;
    let rate = if seconds > 0.0 {
        tally.rows as f64 / seconds
    } else {
        0.0
    };
    let mut text = format!(
        "{} rows: {} accepted, {} rejected ({:.2} s, {:.0} rows/s)\n",
        tally.rows, tally.accepted, rejected, seconds, rate
    );
    for (code, count) in ContactCode::ALL.iter().zip(tally.by_code) {
        if count > 0 {
            text.push_str(&format!("  {:<22} {count}\n", code.as_str()));
        }
    }
    if tally.unreadable > 0 {
        text.push_str(&format!("  {UNREADABLE:<22} {}\n", tally.unreadable));
    }
    // The summary is informative: a closed standard error is no reason to fail.
    let _ = io::stderr().write_all(text.as_bytes());
}

//! `bulk-contacts check`: rules 1 to 8 on every row, one JSON line per rejected row on
//! standard output, a summary on standard error.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

use bulk_contacts::e164::{self, Region};
use bulk_contacts::{CheckedContact, ContactCode, ContactError, Engine, Field, Member, Timestamp};
use serde_json::Value;

use crate::input::{self, Format, InputError, Item, Options, Row};
use crate::progress::Progress;

/// What `check` is asked to do.
pub struct Check {
    pub file: PathBuf,
    pub format: Format,
    pub options: Options,
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
    let list_number = check.options.list_number.as_deref();
    let mut filled = Vec::new();
    let mut entries = Entries::default();
    let mut visit = |item: Item<'_>| -> Result<(), InputError> {
        tally.rows += 1;
        progress.tick(tally.rows, item.read);
        let (row, line) = (item.row, item.line);
        let text = match item.data {
            Row::Contact(text) => text,
            Row::Unreadable(message) => {
                tally.unreadable += 1;
                return write_unreadable(&mut out, row, line, &message).map_err(InputError::Write);
            }
        };
        if check.scan_only {
            tally.accepted += 1;
            return Ok(());
        }
        let mut checked = engine.check_contact_with_numbers(text, check.now);
        let mut text = text;
        // A JSON row without a list number, with --list-number: checked with it (a CSV row
        // has it already).
        if let (
            Ok(CheckedContact {
                check: Err(error), ..
            }),
            Some(list),
            None,
        ) = (&checked, list_number, line)
            && error.code() == ContactCode::MissingListNumber
            && fill_list_number(text, list, &mut filled)
        {
            text = &filled;
            checked = engine.check_contact_with_numbers(text, check.now);
        }
        match checked {
            Ok(CheckedContact { check: Ok(_), .. }) => {
                tally.accepted += 1;
                Ok(())
            }
            Ok(CheckedContact {
                check: Err(error),
                phone_number,
                list_number,
            }) => {
                let code = error.code();
                if let Some(at) = ContactCode::ALL.iter().position(|c| *c == code) {
                    tally.by_code[at] += 1;
                }
                let suggestion = check
                    .region
                    .and_then(|region| suggestion(phone_number, list_number, &error, region));
                let entry = entries.of(&error, &engine);
                write_rejection(&mut out, row, line, entry, suggestion.as_deref())
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
                write_unreadable(&mut out, row, line, &message).map_err(InputError::Write)
            }
        }
    };
    let outcome = input::read(&check.file, format, &check.options, &mut visit);
    let flushed = out.flush();
    progress.finish();
    outcome?;
    flushed.map_err(InputError::Write)?;
    summary(&tally, started.elapsed().as_secs_f64()).map_err(InputError::Write)?;
    let rejected = tally.rows - tally.accepted;
    Ok(u8::from(rejected > 0))
}

/// Why a text that `check_contact` refused is not JSON a body can hold.
fn not_json(text: &[u8]) -> String {
    match serde_json::from_slice::<Value>(text) {
        Err(error) => format!("is not valid JSON: {error}"),
        Ok(_) => crate::split::too_deep(),
    }
}

/// `text` (a JSON contact without a list number) with `list_number` set to `list`, in
/// `filled`; false when it is not an object.
pub fn fill_list_number(text: &[u8], list: &str, filled: &mut Vec<u8>) -> bool {
    let Ok(Value::Object(mut contact)) = serde_json::from_slice::<Value>(text) else {
        return false;
    };
    contact.insert(
        Member::ListNumber.name().to_owned(),
        Value::String(list.to_owned()),
    );
    filled.clear();
    serde_json::to_writer(&mut *filled, &contact).is_ok()
}

/// The canonical form of the number the error is about, when `region` makes it valid:
/// `phone_number` for `invalid_phone`, `list_number` for `invalid_list_number` (the contact's
/// numbers as the engine read them, when strings).
fn suggestion(
    phone: Option<Cow<'_, str>>,
    list: Option<Cow<'_, str>>,
    error: &ContactError,
    region: Region,
) -> Option<String> {
    let number = match error.code() {
        ContactCode::InvalidPhone => phone?,
        ContactCode::InvalidListNumber => list?,
        _ => return None,
    };
    e164::normalize(&number, region)
        .ok()
        .map(|n| n.as_str().to_owned())
}

/// `{"row":N,` and, for a CSV row, `"line":L,`.
fn write_position(out: &mut impl Write, row: u64, line: Option<u64>) -> io::Result<()> {
    match line {
        Some(line) => write!(out, "{{\"row\":{row},\"line\":{line},"),
        None => write!(out, "{{\"row\":{row},"),
    }
}

/// The `"code":…,"error":…[,"field":…]` part of each kind of rejection, written once: rules
/// 1 to 8 give each code (and field) one message.
#[derive(Default)]
struct Entries(Vec<(ContactCode, Option<Field>, Vec<u8>)>);

impl Entries {
    fn of(&mut self, error: &ContactError, engine: &Engine) -> &[u8] {
        let (code, field) = (error.code(), error.field());
        let at = match self
            .0
            .iter()
            .position(|(c, f, _)| *c == code && *f == field)
        {
            Some(at) => at,
            None => {
                let mut text = format!("\"code\":\"{}\",\"error\":", code.as_str()).into_bytes();
                // Writing into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut text, &error.message(engine.limits()));
                if let Some(field) = field {
                    text.extend_from_slice(format!(",\"field\":\"{}\"", field.as_str()).as_bytes());
                }
                self.0.push((code, field, text));
                self.0.len() - 1
            }
        };
        &self.0[at].2
    }
}

fn write_rejection(
    out: &mut impl Write,
    row: u64,
    line: Option<u64>,
    entry: &[u8],
    suggestion: Option<&str>,
) -> io::Result<()> {
    write_position(out, row, line)?;
    out.write_all(entry)?;
    if let Some(suggestion) = suggestion {
        // An E.164 number needs no escaping.
        out.write_all(b",\"suggestion\":\"")?;
        out.write_all(suggestion.as_bytes())?;
        out.write_all(b"\"")?;
    }
    out.write_all(b"}\n")
}

fn write_unreadable(
    out: &mut impl Write,
    row: u64,
    line: Option<u64>,
    message: &str,
) -> io::Result<()> {
    write_position(out, row, line)?;
    write!(out, "\"code\":\"{UNREADABLE}\",\"error\":")?;
    serde_json::to_writer(&mut *out, message)?;
    out.write_all(b"}\n")
}

/// The summary on standard error: rows, accepted, rejected by code, speed.
fn summary(tally: &Tally, seconds: f64) -> io::Result<()> {
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
    // A closed standard error ends the run with exit code 2, like a closed standard output.
    io::stderr().write_all(text.as_bytes())
}

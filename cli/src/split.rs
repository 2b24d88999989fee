//! `bulk-contacts split`: the file's contacts as ready-to-send request bodies, each with the
//! map from its contacts back to the file's rows.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use bulk_contacts::e164::{self, Region};
use bulk_contacts::{ErrorEntry, Limits, Member, Pushed, RequestBody, Splitter};
use serde_json::Value;

use crate::input::{self, Format, InputError, Item, Options, Row};
use crate::progress::Progress;

/// What `split` is asked to do.
pub struct Split {
    pub file: PathBuf,
    pub format: Format,
    pub options: Options,
    pub out: PathBuf,
    /// Rewrite `phone_number` and `list_number` strings that are not valid E.164 but
    /// normalize in this region to their canonical form.
    pub region: Option<Region>,
}

/// The deepest nesting a contact may have in a request body (the library's limit).
const MAX_DEPTH: usize = Limits::MAX_CONTACT_NESTING;

/// Runs the split; the exit code (0: every contact written, 1: some were not).
pub fn run(split: &Split) -> Result<u8, InputError> {
    prepare(&split.out)?;
    let started = Instant::now();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut writer = Bodies {
        dir: &split.out,
        splitter: Splitter::new(Limits::default()),
        rows: Vec::new(),
        base: 0,
        written: 0,
        contacts: 0,
    };
    let mut progress = Progress::new(&split.file);
    let (mut rows, mut not_written, mut normalized) = (0u64, 0u64, 0u64);
    let format = split.format;
    let list_number = split.options.list_number.as_deref();
    let mut visit = |item: Item<'_>| -> Result<(), InputError> {
        rows += 1;
        progress.tick(rows, item.read);
        let (row, line) = (item.row, item.line);
        let text = match item.data {
            Row::Contact(text) => text,
            Row::Unreadable(message) => {
                not_written += 1;
                return report(&mut out, row, line, "unreadable_row", &message);
            }
        };
        let mut contact = match serde_json::from_slice::<Value>(text) {
            Ok(contact) if depth(&contact) <= MAX_DEPTH => contact,
            parsed => {
                let why = match parsed {
                    Err(error) => format!("is not valid JSON: {error}"),
                    Ok(_) => too_deep(),
                };
                if format == Format::Json {
                    return Err(InputError::Invalid(format!(
                        "not a valid request body: element {row} of contacts {why}"
                    )));
                }
                not_written += 1;
                let what = if format == Format::Jsonl {
                    "line"
                } else {
                    "row"
                };
                return report(
                    &mut out,
                    row,
                    line,
                    "unreadable_row",
                    &format!("{what} {row} {why}"),
                );
            }
        };
        if let Some(list) = list_number {
            fill_list_number(&mut contact, list);
        }
        if let Some(region) = split.region {
            normalized += normalize(&mut contact, region);
        }
        match writer.push(row, &contact)? {
            Some(entry) => {
                not_written += 1;
                report(&mut out, row, line, &entry.code, &entry.error)
            }
            None => Ok(()),
        }
    };
    let outcome = input::read(&split.file, format, &split.options, &mut visit);
    progress.finish();
    outcome?;
    writer.finish()?;
    out.flush().map_err(InputError::Write)?;
    let seconds = started.elapsed().as_secs_f64();
    let mut text = format!(
        "{rows} rows: {} contacts written in {} request bodies to {}, {not_written} not written ({seconds:.2} s)\n",
        writer.contacts,
        writer.written,
        split.out.display()
    );
    if split.region.is_some() {
        text.push_str(&format!("  {normalized} numbers rewritten to E.164\n"));
    }
    io::stderr()
        .write_all(text.as_bytes())
        .map_err(InputError::Write)?;
    Ok(u8::from(not_written > 0))
}

/// Creates the output directory; refuses one that already holds bodies, so that the bodies of
/// two splits never mix.
fn prepare(dir: &Path) -> Result<(), InputError> {
    fs::create_dir_all(dir).map_err(|error| {
        InputError::Invalid(format!("cannot create {}: {error}", dir.display()))
    })?;
    let entries = fs::read_dir(dir)
        .map_err(|error| InputError::Invalid(format!("cannot read {}: {error}", dir.display())))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("body-") && name.ends_with(".json") {
            return Err(InputError::Invalid(format!(
                "{} already holds request bodies ({name}): use an empty directory",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// How deep arrays and objects nest in a value (a scalar is 0). serde_json's parser bounds
/// it, so the recursion is bounded too.
/// Why a contact that `serde_json` reads cannot be sent: it nests too deep.
pub fn too_deep() -> String {
    format!("nests deeper than a request body allows ({MAX_DEPTH} levels)")
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Rewrites the contact's numbers that are strings, not valid E.164, and normalize in
/// `region`; how many were rewritten.
fn normalize(contact: &mut Value, region: Region) -> u64 {
    let mut rewritten = 0;
    for member in [Member::PhoneNumber, Member::ListNumber] {
        if let Some(Value::String(number)) = contact.get_mut(member.name()) {
            if e164::is_valid(number) {
                continue;
            }
            if let Ok(canonical) = e164::normalize(number, region) {
                *number = canonical.as_str().to_owned();
                rewritten += 1;
            }
        }
    }
    rewritten
}

/// `--list-number`: the list of a contact whose own list number is absent, `null` or a
/// string that is empty after trimming (what rule 4 calls missing).
fn fill_list_number(contact: &mut Value, list: &str) {
    let Value::Object(members) = contact else {
        return;
    };
    let name = Member::ListNumber.name();
    let missing = match members.get(name) {
        None | Some(Value::Null) => true,
        Some(Value::String(number)) => number.trim().is_empty(),
        Some(_) => false,
    };
    if missing {
        members.insert(name.to_owned(), Value::String(list.to_owned()));
    }
}

/// `{"row": N, "line": L, "code": …, "error": …}` on standard output (`line` for CSV rows).
fn report(
    out: &mut impl Write,
    row: u64,
    line: Option<u64>,
    code: &str,
    error: &str,
) -> Result<(), InputError> {
    let line = match line {
        Some(line) => serde_json::json!({"row": row, "line": line, "code": code, "error": error}),
        None => serde_json::json!({"row": row, "code": code, "error": error}),
    };
    serde_json::to_writer(&mut *out, &line)
        .map_err(io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(InputError::Write)
}

/// The splitter and the files it writes.
struct Bodies<'d> {
    dir: &'d Path,
    splitter: Splitter,
    /// The file's row of each contact pushed since index `base`.
    rows: Vec<u64>,
    base: usize,
    written: u64,
    contacts: u64,
}

impl Bodies<'_> {
    /// Pushes the contact of `row`; its local error when it is not sent.
    fn push(&mut self, row: u64, contact: &Value) -> Result<Option<ErrorEntry>, InputError> {
        self.rows.push(row);
        match self.splitter.push(contact) {
            Pushed::Pending => Ok(None),
            Pushed::Body(body) => self.write(body).map(|()| None),
            Pushed::Local(entry) => Ok(Some(entry)),
        }
    }

    fn finish(&mut self) -> Result<(), InputError> {
        let splitter = std::mem::replace(&mut self.splitter, Splitter::new(Limits::default()));
        match splitter.finish() {
            Some(body) => self.write(body),
            None => Ok(()),
        }
    }

    /// Writes `body-NNNNNN.json` (the body) and `body-NNNNNN.rows.json` (a JSON array: the
    /// file's row of each of the body's contacts, in order).
    fn write(&mut self, body: RequestBody) -> Result<(), InputError> {
        self.written += 1;
        let rows: Vec<u64> = body
            .indices
            .iter()
            .map(|&index| self.rows[index - self.base])
            .collect();
        if let Some(&last) = body.indices.last() {
            self.rows.drain(..=last - self.base);
            self.base = last + 1;
        }
        self.contacts += rows.len() as u64;
        let name = format!("body-{:06}", self.written);
        let write = |path: PathBuf, bytes: &[u8]| {
            fs::write(&path, bytes).map_err(|error| {
                InputError::Write(io::Error::new(
                    error.kind(),
                    format!("{}: {error}", path.display()),
                ))
            })
        };
        write(self.dir.join(format!("{name}.json")), &body.bytes)?;
        let map = serde_json::to_vec(&rows).map_err(|error| InputError::Write(error.into()))?;
        write(self.dir.join(format!("{name}.rows.json")), &map)
    }
}

//! The three input formats, read in one streaming pass: each contact's JSON text (or why a row
//! cannot be read) is handed to a visitor with its 1-based row number, so that memory stays
//! bounded by the longest row, whatever the file's size.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use bulk_contacts::Limits;
use bulk_contacts::e164::{self, Region};

use crate::columns::{Map, Plan};
use crate::decode::{self, Encoding};
use crate::sheet::{Broken, Next, Sheet};

/// Bytes asked from the file per read.
const CHUNK: usize = 1 << 20;
/// The longest row (JSON line, `.json` element, member value) read into memory: 8 MiB, more
/// than a request body may hold (5 MiB), so no row that could be sent is refused.
pub const MAX_ROW: usize = 8 << 20;

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// JSON Lines: one contact per line.
    Jsonl,
    /// A request body: `{"contacts": [...]}`, any length.
    Json,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// The format a file name's extension names (`.jsonl`/`.ndjson`, `.json`, `.csv`, any case).
    pub fn from_path(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// One row of the input.
#[derive(Debug)]
pub enum Row<'a> {
    /// A contact's JSON text (a `.json` element's text may carry the whitespace around it).
    Contact(&'a [u8]),
    /// A row that cannot be read, and why.
    Unreadable(String),
}

/// A row with where it is: its 1-based number, for a CSV row the 1-based physical line where
/// its record starts, and how many bytes of the input have been read (for a progress bar).
#[derive(Debug)]
pub struct Item<'a> {
    pub row: u64,
    pub line: Option<u64>,
    pub read: u64,
    pub data: Row<'a>,
}

/// How to read a file beyond its format.
#[derive(Debug, Default)]
pub struct Options {
    /// CSV: the separator (default: from a `sep=` line or the header).
    pub delimiter: Option<u8>,
    /// CSV: `--map 'HEADER=member'`.
    pub maps: Vec<Map>,
    /// CSV: `--list-number`, for rows without a list number (JSON rows: the caller's).
    pub list_number: Option<String>,
    /// CSV: `check --fix-out`: the file to write, and the region numbers normalize in.
    pub fix_out: Option<(PathBuf, Region)>,
}

/// Why a file cannot be read as a whole (exit code 2), or why the visitor stopped.
#[derive(Debug)]
pub enum InputError {
    /// Reading the file failed.
    Read(io::Error),
    /// The file is not what its format requires (a `.json` file that is not one valid
    /// request body, a CSV file without a usable header).
    Invalid(String),
    /// Writing the output failed.
    Write(io::Error),
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputError::Read(error) => write!(f, "cannot read the file: {error}"),
            InputError::Invalid(problem) => f.write_str(problem),
            InputError::Write(error) => write!(f, "cannot write the output: {error}"),
        }
    }
}

/// What a visitor is called with: each row, in order.
pub trait Visit: FnMut(Item<'_>) -> Result<(), InputError> {}
impl<F: FnMut(Item<'_>) -> Result<(), InputError>> Visit for F {}

/// Calls `visit` for a JSON row.
fn json_row(visit: &mut impl Visit, row: u64, data: Row<'_>, read: u64) -> Result<(), InputError> {
    visit(Item {
        row,
        line: None,
        read,
        data,
    })
}

/// Reads `path` in `format` (UTF-8 with or without a byte-order mark, or UTF-16 with one),
/// calling `visit` for each row in order.
pub fn read(
    path: &Path,
    format: Format,
    options: &Options,
    visit: &mut impl Visit,
) -> Result<(), InputError> {
    let opened = decode::open(path)?;
    match format {
        Format::Jsonl => jsonl(opened.reader, visit),
        Format::Json => JsonBody::new(opened.reader).read(visit),
        Format::Csv => csv(opened.reader, opened.encoding, options, visit),
    }
}

/// Whether a byte is JSON whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// JSON Lines: row N is line N. A line holding only whitespace is no contact (skipped, still
/// counted for the numbering); a `\r` before the `\n` is dropped; a last line without `\n`
/// counts. A line longer than [`MAX_ROW`] is unreadable and skipped without being kept.
pub fn jsonl(mut file: impl Read, visit: &mut impl Visit) -> Result<(), InputError> {
    let mut buf = vec![0u8; CHUNK];
    let (mut start, mut end) = (0usize, 0usize);
    let mut line = 0u64;
    let mut consumed = 0u64; // bytes of the file before buf[start]
    let mut eof = false;
    // Skipping the rest of an over-long line.
    let mut skipping = false;
    loop {
        if let Some(at) = memchr::memchr(b'\n', &buf[start..end]) {
            let stop = start + at;
            if skipping {
                skipping = false;
            } else {
                line += 1;
                jsonl_line(line, &buf[start..stop], consumed + at as u64 + 1, visit)?;
            }
            consumed += at as u64 + 1;
            start = stop + 1;
            continue;
        }
        if eof {
            if start < end && !skipping {
                line += 1;
                jsonl_line(
                    line,
                    &buf[start..end],
                    consumed + (end - start) as u64,
                    visit,
                )?;
            }
            return Ok(());
        }
        // No newline in what is left: move it to the front and read more.
        buf.copy_within(start..end, 0);
        end -= start;
        start = 0;
        if end == buf.len() {
            if buf.len() < MAX_ROW + 2 {
                buf.resize((buf.len() * 2).min(MAX_ROW + 2), 0);
            } else {
                // Longer than a row may be: report it and drop it up to its newline.
                line += 1;
                let message = format!("line {line} is longer than {MAX_ROW} bytes");
                json_row(visit, line, Row::Unreadable(message), consumed + end as u64)?;
                consumed += end as u64;
                end = 0;
                skipping = true;
            }
        }
        let n = read_some(&mut file, &mut buf[end..])?;
        eof = n == 0;
        end += n;
    }
}

/// One JSON line: blank → skipped; else its text (without a final `\r`).
fn jsonl_line(line: u64, text: &[u8], read: u64, visit: &mut impl Visit) -> Result<(), InputError> {
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    if text.iter().all(|&b| is_space(b)) {
        return Ok(());
    }
    json_row(visit, line, Row::Contact(text), read)
}

use decode::read_some;

/// Why a `.json` file is not a request body.
fn not_a_body(problem: impl std::fmt::Display) -> InputError {
    InputError::Invalid(format!("not a valid request body: {problem}"))
}

/// A request body, `{"contacts": [...]}`, read in one pass with a small state machine that
/// finds where each element of `contacts` starts and ends (strings, escapes, nesting), so that
/// only one element is in memory at a time. Each element's text goes to the visitor, which
/// checks it with the engine (and so validates it as JSON); the other members' values are
/// validated with `serde_json`. The top level must be an object with a non-empty `contacts`
/// array (once), and nothing may follow it: otherwise the file is not a body (exit code 2).
struct JsonBody<R> {
    reader: BufReader<R>,
    /// Bytes consumed so far.
    offset: u64,
    /// The current value's text.
    text: Vec<u8>,
}

/// How a value's text ended.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    /// At a `,` (consumed).
    Comma,
    /// At the closing `]` or `}` of the enclosing array or object (consumed).
    Close(u8),
}

/// A value's text as captured: whether it was kept whole, and how deep it nests.
struct Captured {
    /// False when the value was longer than [`MAX_ROW`]: only its structure was followed.
    kept: bool,
    /// The deepest nesting of arrays and objects inside it (a scalar is 0).
    depth: usize,
}

impl<R: Read> JsonBody<R> {
    fn new(file: R) -> Self {
        JsonBody {
            reader: BufReader::with_capacity(CHUNK, file),
            offset: 0,
            text: Vec::new(),
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, InputError> {
        let buf = self.reader.fill_buf().map_err(InputError::Read)?;
        Ok(buf.first().copied())
    }

    fn bump(&mut self) {
        self.reader.consume(1);
        self.offset += 1;
    }

    /// Skips whitespace; the next byte (not consumed), `None` at the end of the file.
    fn skip_space(&mut self) -> Result<Option<u8>, InputError> {
        loop {
            let buf = self.reader.fill_buf().map_err(InputError::Read)?;
            if buf.is_empty() {
                return Ok(None);
            }
            let n = buf.iter().take_while(|&&b| is_space(b)).count();
            let next = buf.get(n).copied();
            self.reader.consume(n);
            self.offset += n as u64;
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    fn expect(&mut self, wanted: u8, what: &str) -> Result<(), InputError> {
        match self.skip_space()? {
            Some(b) if b == wanted => {
                self.bump();
                Ok(())
            }
            Some(b) => Err(not_a_body(format_args!(
                "expected {what} at byte {}, found {}",
                self.offset,
                shown(b)
            ))),
            None => Err(not_a_body(format_args!(
                "the file ends at byte {} where {what} was expected",
                self.offset
            ))),
        }
    }

    /// Captures one value's text into `self.text`, up to the `,` or the closing bracket that
    /// follows it at its own level, which is consumed and returned. The text is not
    /// validated here, only followed: strings (with their escapes) and bracket nesting.
    fn capture(&mut self) -> Result<(Stop, Captured), InputError> {
        self.text.clear();
        let mut kept = true;
        let (mut depth, mut deepest) = (0usize, 0usize);
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let buf = self.reader.fill_buf().map_err(InputError::Read)?;
            if buf.is_empty() {
                return Err(not_a_body(format_args!(
                    "the file ends at byte {} inside a value",
                    self.offset
                )));
            }
            let mut i = 0;
            let mut stop = None;
            while i < buf.len() {
                if in_string {
                    if escaped {
                        escaped = false;
                        i += 1;
                        continue;
                    }
                    match memchr::memchr2(b'"', b'\\', &buf[i..]) {
                        Some(at) => {
                            i += at;
                            if buf[i] == b'\\' {
                                escaped = true;
                            } else {
                                in_string = false;
                            }
                            i += 1;
                        }
                        None => i = buf.len(),
                    }
                    continue;
                }
                match buf[i] {
                    b'"' => in_string = true,
                    b'[' | b'{' => {
                        depth += 1;
                        deepest = deepest.max(depth);
                    }
                    b @ (b']' | b'}') if depth == 0 => {
                        stop = Some(Stop::Close(b));
                        break;
                    }
                    b']' | b'}' => depth -= 1,
                    b',' if depth == 0 => {
                        stop = Some(Stop::Comma);
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            if kept {
                if self.text.len() + i <= MAX_ROW {
                    self.text.extend_from_slice(&buf[..i]);
                } else {
                    kept = false;
                    self.text = Vec::new();
                }
            }
            let taken = i + usize::from(stop.is_some());
            self.reader.consume(taken);
            self.offset += taken as u64;
            if let Some(stop) = stop {
                return Ok((
                    stop,
                    Captured {
                        kept,
                        depth: deepest,
                    },
                ));
            }
        }
    }

    fn read(mut self, visit: &mut impl Visit) -> Result<(), InputError> {
        self.expect(b'{', "the body's opening '{'")?;
        let mut seen_contacts = false;
        if self.skip_space()? == Some(b'}') {
            return Err(not_a_body("contacts must be a non-empty array"));
        }
        loop {
            let name = self.member_name()?;
            self.expect(b':', "':' after a member name")?;
            let stop = if name == "contacts" {
                if seen_contacts {
                    return Err(not_a_body(
                        "the member contacts appears twice (the server would read only the last)",
                    ));
                }
                seen_contacts = true;
                self.contacts(visit)?
            } else {
                self.other_member(&name)?
            };
            match stop {
                Stop::Comma => continue,
                Stop::Close(b'}') => break,
                Stop::Close(b) => {
                    return Err(not_a_body(format_args!(
                        "unexpected {} at byte {}",
                        shown(b),
                        self.offset - 1
                    )));
                }
            }
        }
        if let Some(b) = self.skip_space()? {
            return Err(not_a_body(format_args!(
                "{} after the body's closing '}}' at byte {}",
                shown(b),
                self.offset
            )));
        }
        if !seen_contacts {
            return Err(not_a_body("contacts must be a non-empty array"));
        }
        Ok(())
    }

    /// A member name: a JSON string, unescaped.
    fn member_name(&mut self) -> Result<String, InputError> {
        match self.skip_space()? {
            Some(b'"') => {}
            Some(b) => {
                return Err(not_a_body(format_args!(
                    "expected a member name at byte {}, found {}",
                    self.offset,
                    shown(b)
                )));
            }
            None => return Err(not_a_body("the file ends inside the body")),
        }
        self.text.clear();
        let mut escaped = false;
        loop {
            let Some(b) = self.peek()? else {
                return Err(not_a_body("the file ends inside a member name"));
            };
            self.bump();
            self.text.push(b);
            if self.text.len() > 1 && !escaped && b == b'"' {
                break;
            }
            escaped = !escaped && b == b'\\';
            if self.text.len() > MAX_ROW {
                return Err(not_a_body("a member name is longer than 8 MiB"));
            }
        }
        serde_json::from_slice::<String>(&self.text)
            .map_err(|error| not_a_body(format_args!("a member name is not valid: {error}")))
    }

    /// The value of `contacts`: each element to the visitor.
    fn contacts(&mut self, visit: &mut impl Visit) -> Result<Stop, InputError> {
        if self.skip_space()? != Some(b'[') {
            let (_, captured) = self.capture()?;
            self.validate("contacts", &captured)?;
            return Err(not_a_body("contacts must be a non-empty array"));
        }
        self.bump();
        if self.skip_space()? == Some(b']') {
            return Err(not_a_body("contacts must be a non-empty array"));
        }
        let mut row = 0u64;
        loop {
            row += 1;
            let (stop, captured) = self.capture()?;
            if self.text.iter().all(|&b| is_space(b)) && captured.kept {
                return Err(not_a_body(format_args!(
                    "element {row} of contacts is empty (byte {})",
                    self.offset - 1
                )));
            }
            let read = self.offset;
            if captured.kept {
                json_row(visit, row, Row::Contact(&self.text), read)?;
            } else {
                let message = format!("element {row} is longer than {MAX_ROW} bytes of JSON text");
                json_row(visit, row, Row::Unreadable(message), read)?;
            }
            match stop {
                Stop::Comma => continue,
                Stop::Close(b']') => break,
                Stop::Close(b) => {
                    return Err(not_a_body(format_args!(
                        "unexpected {} at byte {} in contacts",
                        shown(b),
                        self.offset - 1
                    )));
                }
            }
        }
        match self.skip_space()? {
            Some(b @ (b',' | b'}')) => {
                self.bump();
                Ok(if b == b',' {
                    Stop::Comma
                } else {
                    Stop::Close(b)
                })
            }
            Some(b) => Err(not_a_body(format_args!(
                "unexpected {} at byte {} after contacts",
                shown(b),
                self.offset
            ))),
            None => Err(not_a_body("the file ends after contacts")),
        }
    }

    /// A member other than `contacts`: validated, then dropped.
    fn other_member(&mut self, name: &str) -> Result<Stop, InputError> {
        let (stop, captured) = self.capture()?;
        self.validate(name, &captured)?;
        Ok(stop)
    }

    /// The captured text of a top-level member's value is one JSON value a body may hold:
    /// `serde_json` reads it, and it nests no deeper than a body allows inside the body's own
    /// object. A value over [`MAX_ROW`] was only followed, not validated.
    fn validate(&self, name: &str, captured: &Captured) -> Result<(), InputError> {
        if !captured.kept {
            return Ok(());
        }
        if captured.depth > Limits::MAX_BODY_NESTING - 1 {
            return Err(not_a_body(format_args!(
                "the value of {name} nests deeper than a body allows"
            )));
        }
        serde_json::from_slice::<serde_json::Value>(&self.text)
            .map(drop)
            .map_err(|error| not_a_body(format_args!("the value of {name}: {error}")))
    }
}

/// A byte, as an error message shows it.
fn shown(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// CSV with a header row (SPEC §9.1): row N is the Nth record after the header that is not
/// empty. Each record becomes the contact's JSON text (an empty cell: the member is not sent;
/// see [`Plan`]). A record with a different number of cells than the header, a cell that is
/// not UTF-8, or a quote problem ([`Broken`]) makes an unreadable row.
fn csv(
    src: impl Read,
    encoding: Encoding,
    options: &Options,
    visit: &mut impl Visit,
) -> Result<(), InputError> {
    let sink: Option<Box<dyn Write>> = match &options.fix_out {
        Some((path, _)) => {
            let file = File::create(path).map_err(|error| {
                InputError::Invalid(format!("cannot create {}: {error}", path.display()))
            })?;
            let mut out = io::BufWriter::with_capacity(1 << 16, file);
            if encoding.had_bom() {
                out.write_all("\u{feff}".as_bytes())
                    .map_err(InputError::Write)?;
            }
            Some(Box::new(out))
        }
        None => None,
    };
    let mut sheet = Sheet::new(src, options.delimiter, sink);
    let Some((header, _)) = sheet.header()? else {
        return Err(InputError::Invalid(
            "the CSV file has no header row".to_owned(),
        ));
    };
    if header.iter().all(|name| name.trim().is_empty()) {
        return Err(InputError::Invalid(
            "the CSV file's header row names no column".to_owned(),
        ));
    }
    let mut plan = Plan::new(&header, &options.maps, options.list_number.as_deref())
        .map_err(InputError::Invalid)?;
    let mut stderr = io::stderr().lock();
    for warning in plan.warnings() {
        writeln!(stderr, "bulk-contacts: warning: {warning}").map_err(InputError::Write)?;
    }
    drop(stderr);
    let (phone_column, list_column) = plan.number_columns();
    let region = options.fix_out.as_ref().map(|(_, region)| *region);
    let mut text = Vec::new();
    let mut row = 0u64;
    loop {
        let next = sheet.next()?;
        let read = sheet.read();
        let (line, message) = match next {
            Next::End => break,
            Next::Broken { line, why, resume } => {
                row += 1;
                (line, broken(&plan, row, line, &why, resume))
            }
            Next::Record { line } => {
                row += 1;
                if sheet.width() != plan.width() {
                    let message = format!(
                        "row {row} (line {line}) has {} cells, the header has {}",
                        sheet.width(),
                        plan.width()
                    );
                    (line, message)
                } else {
                    let (data, spans, contiguous) = sheet.record();
                    match plan.contact(data, spans, contiguous, &mut text) {
                        Ok(()) => {
                            visit(Item {
                                row,
                                line: Some(line),
                                read,
                                data: Row::Contact(&text),
                            })?;
                            if let Some(region) = region {
                                fix(&mut sheet, phone_column, list_column, region)?;
                            }
                            continue;
                        }
                        Err(column) => (
                            line,
                            format!(
                                "row {row} (line {line}): the cell of column {} ({:?}) is not UTF-8",
                                column + 1,
                                plan.name(column)
                            ),
                        ),
                    }
                }
            }
        };
        visit(Item {
            row,
            line: Some(line),
            read,
            data: Row::Unreadable(message),
        })?;
    }
    sheet.finish()
}

/// The message of a record that cannot be read.
fn broken(plan: &Plan, row: u64, line: u64, why: &Broken, resume: u64) -> String {
    let column = |at: usize| format!("column {} ({:?})", at + 1, plan.name(at));
    let goes_on = format!("reading goes on at line {resume}");
    match *why {
        Broken::Unclosed {
            column: at,
            line: opened,
        } => format!(
            "row {row} (line {line}): the quoted cell of {} opened on line {opened} is never closed; {goes_on}",
            column(at)
        ),
        Broken::Stray {
            column: at,
            line: opened,
            closed,
            byte,
        } => format!(
            "row {row} (line {line}): the quoted cell of {} opened on line {opened} closes on line {closed} \
             and goes on with {}: a quote is missing or stray (a quote inside a quoted cell is written twice); {goes_on}",
            column(at),
            shown(byte)
        ),
        Broken::Runaway {
            cells,
            width,
            column: at,
            line: opened,
        } => format!(
            "row {row} (line {line}) has {cells} cells, the header has {width}: the quoted cell of {} \
             opened on line {opened} runs over several lines, so a quote is probably missing; {goes_on}",
            column(at)
        ),
        Broken::TooLong => format!("row {row} (line {line}) is longer than {MAX_ROW} bytes"),
    }
}

/// `check --fix-out`: the phone and list cells of the record just read that are not E.164
/// but normalize in `region`, rewritten to their E.164 form.
fn fix(
    sheet: &mut Sheet<impl Read>,
    phone: usize,
    list: Option<usize>,
    region: Region,
) -> Result<(), InputError> {
    let mut columns = [Some(phone), list];
    columns.sort_unstable();
    for at in columns.into_iter().flatten() {
        let canonical = match std::str::from_utf8(sheet.cell(at)) {
            Ok(cell) if !cell.is_empty() && !e164::is_valid(cell) => {
                e164::normalize(cell, region).ok()
            }
            _ => None,
        };
        if let Some(canonical) = canonical {
            sheet.replace(at, canonical.as_str())?;
        }
    }
    Ok(())
}

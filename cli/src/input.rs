//! The three input formats, read in one streaming pass: each contact's JSON text (or why a row
//! cannot be read) is handed to a visitor with its 1-based row number, so that memory stays
//! bounded by the longest row, whatever the file's size.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use bulk_contacts::Contact;

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

/// What a visitor is called with: the row's 1-based number, the row, and how many bytes of
/// the file have been read so far (for a progress bar).
pub trait Visit: FnMut(u64, Row<'_>, u64) -> Result<(), InputError> {}
impl<F: FnMut(u64, Row<'_>, u64) -> Result<(), InputError>> Visit for F {}

/// Reads `path` in `format`, calling `visit` for each row in order.
pub fn read(path: &Path, format: Format, visit: &mut impl Visit) -> Result<(), InputError> {
    let file = File::open(path).map_err(InputError::Read)?;
    match format {
        Format::Jsonl => jsonl(file, visit),
        Format::Json => JsonBody::new(file).read(visit),
        Format::Csv => csv(file, visit),
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
                visit(line, Row::Unreadable(message), consumed + end as u64)?;
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
    visit(line, Row::Contact(text), read)
}

fn read_some(file: &mut impl Read, buf: &mut [u8]) -> Result<usize, InputError> {
    loop {
        match file.read(buf) {
            Ok(n) => return Ok(n),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(InputError::Read(error)),
        }
    }
}

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
                visit(row, Row::Contact(&self.text), read)?;
            } else {
                let message = format!("element {row} is longer than {MAX_ROW} bytes of JSON text");
                visit(row, Row::Unreadable(message), read)?;
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
    /// `serde_json` reads it, and it nests at most 126 levels (the body's object is one of
    /// the 127 serde_json reads). A value over [`MAX_ROW`] was only followed, not validated.
    fn validate(&self, name: &str, captured: &Captured) -> Result<(), InputError> {
        if !captured.kept {
            return Ok(());
        }
        if captured.depth > 126 {
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

/// How a CSV column becomes a contact's member.
enum Column {
    /// `phone_number`, `list_number`, `signup_date`, `ip_address`, `url`, other members: the
    /// cell as a string.
    Text(String),
    /// One of the four flags: `true`/`false` (any case, surrounding spaces ignored) as a
    /// boolean, anything else as the string it is.
    Flag(String),
    /// `custom_fields.NAME`: the cell as a string in `custom_fields`.
    Custom(String),
}

const FLAGS: [&str; 4] = [
    "use_journeys",
    "skip_journey_if_exists",
    "use_validation",
    "replace_custom_fields",
];

/// CSV with a header row: row N is the Nth record after the header. Each record becomes a
/// [`Contact`] (an empty cell: the member is not sent) serialized as the CLI would send it.
/// A record with a different number of cells than the header, or a cell that is not UTF-8,
/// is unreadable.
pub fn csv(file: impl Read, visit: &mut impl Visit) -> Result<(), InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(CHUNK)
        .from_reader(file);
    let headers = reader
        .headers()
        .map_err(|error| csv_error(error, "the header row"))?
        .clone();
    if headers.is_empty() || headers.iter().all(str::is_empty) {
        return Err(InputError::Invalid(
            "the CSV file has no header row".to_owned(),
        ));
    }
    let mut columns = Vec::with_capacity(headers.len());
    for (at, name) in headers.iter().enumerate() {
        if headers.iter().take(at).any(|earlier| earlier == name) {
            return Err(InputError::Invalid(format!(
                "the CSV header names the column {name:?} twice"
            )));
        }
        columns.push(if let Some(field) = name.strip_prefix("custom_fields.") {
            Column::Custom(field.to_owned())
        } else if FLAGS.contains(&name) {
            Column::Flag(name.to_owned())
        } else {
            Column::Text(name.to_owned())
        });
    }
    let mut record = csv::ByteRecord::new();
    let mut text = Vec::new();
    let mut row = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(error) => {
                // A record the parser cannot read; an I/O error ends the file.
                if matches!(error.kind(), csv::ErrorKind::Io(_)) {
                    return Err(csv_error(error, "a record"));
                }
                row += 1;
                let read = reader.position().byte();
                visit(row, Row::Unreadable(error.to_string()), read)?;
                continue;
            }
        }
        row += 1;
        let read = reader.position().byte();
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != columns.len() {
            let message = format!(
                "row {row} (line {line}) has {} cells, the header has {}",
                record.len(),
                columns.len()
            );
            visit(row, Row::Unreadable(message), read)?;
            continue;
        }
        match contact(&columns, &record) {
            Ok(contact) => {
                text.clear();
                // A `Contact` always serializes (its names are strings).
                serde_json::to_writer(&mut text, &contact)
                    .map_err(|error| InputError::Invalid(error.to_string()))?;
                visit(row, Row::Contact(&text), read)?;
            }
            Err(column) => {
                let message = format!(
                    "row {row} (line {line}): the cell of column {} is not UTF-8",
                    column + 1
                );
                visit(row, Row::Unreadable(message), read)?;
            }
        }
    }
}

/// The contact of one CSV record, or the index of a cell that is not UTF-8.
fn contact(columns: &[Column], record: &csv::ByteRecord) -> Result<Contact, usize> {
    let mut contact = Contact::default();
    for (at, (column, cell)) in columns.iter().zip(record.iter()).enumerate() {
        if cell.is_empty() {
            continue;
        }
        let cell = std::str::from_utf8(cell).map_err(|_| at)?;
        contact = match column {
            Column::Text(name) => contact.member(name.as_str(), cell),
            Column::Custom(name) => contact.custom_field(name.as_str(), cell),
            Column::Flag(name) => match cell.trim() {
                flag if flag.eq_ignore_ascii_case("true") => contact.member(name.as_str(), true),
                flag if flag.eq_ignore_ascii_case("false") => contact.member(name.as_str(), false),
                _ => contact.member(name.as_str(), cell),
            },
        };
    }
    Ok(contact)
}

fn csv_error(error: csv::Error, what: &str) -> InputError {
    match error.into_kind() {
        csv::ErrorKind::Io(error) => InputError::Read(error),
        kind => InputError::Invalid(format!("cannot read {what} of the CSV file: {kind:?}")),
    }
}

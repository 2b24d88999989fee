//! CSV as spreadsheets and CRMs write it, record by record, knowing where each record and
//! each cell stands in the file: the separator from Excel's `sep=X` line or from the header,
//! RFC 4180 quoting (`""` for a quote inside a quoted cell, line breaks inside quoted cells),
//! `\n`, `\r\n` or `\r` line ends, and the 1-based physical line where each record starts.
//!
//! A quote that is never closed, or closed and then followed by something other than a
//! separator or a line end, makes the record unreadable at the line where the quote opened,
//! and reading goes on at the next line: the rows it would have swallowed are read as rows of
//! their own. (The `csv` crate reads both silently — an open quote swallows the rest of the
//! file into one cell — and tells neither the state of its quotes nor where a cell's bytes
//! are, which is why the checker splits records itself.)
//!
//! With a sink (`check --fix-out`), every byte read goes to it unchanged, except the cells the
//! caller replaces with [`Sheet::replace`]: the same file with some cells rewritten.

use std::io::{Read, Write};

use crate::decode;
use crate::input::{InputError, MAX_ROW};

/// Bytes asked from the input per read.
const CHUNK: usize = 1 << 20;

/// The separators detected from a header line, in the order a tie is broken.
const SEPARATORS: [u8; 3] = [b',', b';', b'\t'];

/// What [`Sheet::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A record: its cells are [`Sheet::cell`]`(0..`[`Sheet::width`]`())`.
    Record { line: u64 },
    /// A record that cannot be read; reading goes on at line `resume`.
    Broken { line: u64, why: Broken, resume: u64 },
    /// The end of the file.
    End,
}

/// Why a record cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub enum Broken {
    /// The quoted cell of `column` (0-based) opened on `line` is still open at the end of the
    /// file, or after more than [`MAX_ROW`] bytes.
    Unclosed { column: usize, line: u64 },
    /// The quoted cell of `column` opened on `line` closes on line `closed` and goes on with
    /// `byte` instead of a separator or a line end.
    Stray {
        column: usize,
        line: u64,
        closed: u64,
        byte: u8,
    },
    /// The record has `cells` cells where the header has `width`, and its quoted cell of
    /// `column`, opened on `line`, spans lines: most likely a quote is missing.
    Runaway {
        cells: usize,
        width: usize,
        column: usize,
        line: u64,
    },
    /// The record is longer than [`MAX_ROW`] bytes without a quote open.
    TooLong,
}

/// One parse of the record at `pos`.
enum Step {
    /// The buffer ends before the record does; inside the quoted cell `(column, line
    /// breaks before its quote, the quote's offset)` when there is one.
    More(Option<(usize, u64, usize)>),
    /// A line holding nothing: the next record starts at `next`.
    Blank { next: usize },
    /// A record, ending at `next`, `breaks` line breaks long; `spans`: its first quoted
    /// cell that spans lines (column, line breaks before its quote, the quote's offset).
    Record {
        next: usize,
        breaks: u64,
        spans: Option<(usize, u64, usize)>,
    },
    /// A quote problem in the cell of `column` whose quote is at `open_at`, `open_line` line
    /// breaks after the record's start.
    Broken {
        column: usize,
        open_line: u64,
        open_at: usize,
        stray: Option<(u8, u64)>,
    },
}

/// A CSV reader over UTF-8 text.
pub struct Sheet<R> {
    src: R,
    buf: Vec<u8>,
    /// Where the next record starts.
    pos: usize,
    end: usize,
    eof: bool,
    sep: u8,
    /// The physical line at `pos`.
    line: u64,
    /// Bytes of the input before `buf[0]`.
    consumed: u64,
    /// The bytes of `buf` before this have gone to the sink.
    copied: usize,
    sink: Option<Box<dyn Write>>,
    /// The cells of the record just read: each cell's bytes are `buf[spans[k]]` when
    /// `in_place` (a line without quotes), else `cells[spans[k]]` (quotes removed, `""` made
    /// `"`), and `buf[raw[k]]` as written.
    cells: Vec<u8>,
    spans: Vec<(usize, usize)>,
    raw: Vec<(usize, usize)>,
    in_place: bool,
    /// The number of header cells, once read.
    width: Option<usize>,
    /// Each byte's meaning on a line without quotes: [`SEPARATOR`], [`QUOTE`], [`LINE`] or 0.
    class: [u8; 256],
}

/// The classes of [`Sheet::class`].
const SEPARATOR: u8 = 1;
const QUOTE: u8 = 2;
const LINE: u8 = 3;

/// The classes of the bytes for the separator `sep`.
fn classes(sep: u8) -> [u8; 256] {
    let mut class = [0u8; 256];
    class[usize::from(b'"')] = QUOTE;
    class[usize::from(b'\r')] = LINE;
    class[usize::from(b'\n')] = LINE;
    class[usize::from(sep)] = SEPARATOR;
    class
}

impl<R: Read> Sheet<R> {
    /// A reader of `src`; the separator is `sep`, or else found by [`Sheet::header`].
    pub fn new(src: R, sep: Option<u8>, sink: Option<Box<dyn Write>>) -> Self {
        Sheet {
            src,
            buf: vec![0; CHUNK],
            pos: 0,
            end: 0,
            eof: false,
            sep: sep.unwrap_or(0),
            line: 1,
            consumed: 0,
            copied: 0,
            sink,
            cells: Vec::new(),
            spans: Vec::new(),
            raw: Vec::new(),
            in_place: false,
            width: None,
            class: classes(sep.unwrap_or(0)),
        }
    }

    /// Reads the header: an Excel `sep=X` line first is taken (unless a separator was given),
    /// blank lines are skipped, the separator is detected when not given (the most frequent of
    /// `,`, `;` and tab outside quotes; `,` when there is none), and the header's cells are
    /// returned as text with the line it is on. `None`: the file has no header.
    pub fn header(&mut self) -> Result<Option<(Vec<String>, u64)>, InputError> {
        let first = self.whole_line()?;
        let given = self.sep != 0;
        if let Some(sep) = excel_sep_line(&self.buf[self.pos..first]) {
            if !given {
                self.sep = sep;
            }
            self.advance_to(first);
        }
        loop {
            let line_end = self.whole_line()?;
            let text = &self.buf[self.pos..line_end];
            if text.is_empty() {
                return Ok(None);
            }
            if text.iter().all(|&b| b == b'\r' || b == b'\n') {
                self.advance_to(line_end);
                continue;
            }
            if self.sep == 0 {
                self.sep = detect(text);
            }
            self.class = classes(self.sep);
            break;
        }
        let line = self.line;
        let start = self.pos;
        match self.next()? {
            Next::Record { .. } => {}
            _ => {
                return Err(InputError::Invalid(format!(
                    "the header (line {line}) is not a row of cells: it has a quote that is never closed"
                )));
            }
        }
        let mut names = Vec::with_capacity(self.spans.len());
        for at in 0..self.spans.len() {
            match std::str::from_utf8(self.cell(at)) {
                Ok(name) => names.push(name.to_owned()),
                Err(_) => {
                    let stop = self.pos.min(self.end);
                    return Err(InputError::Invalid(decode::not_utf8(
                        &format!("the header (line {line})"),
                        &self.buf[start..stop],
                    )));
                }
            }
        }
        self.width = Some(names.len());
        Ok(Some((names, line)))
    }

    /// The number of cells of the record just read.
    pub fn width(&self) -> usize {
        self.spans.len()
    }

    /// The cell `at` of the record just read.
    pub fn cell(&self, at: usize) -> &[u8] {
        let (data, spans, _) = self.record();
        let (start, stop) = spans[at];
        &data[start..stop]
    }

    /// The record just read: cell `k` is `data[spans[k]]`; whether the cells are one run of
    /// `data` with single separators between them.
    pub fn record(&self) -> (&[u8], &[(usize, usize)], bool) {
        let data = if self.in_place {
            &self.buf[..]
        } else {
            &self.cells[..]
        };
        (data, &self.spans, self.in_place)
    }

    /// Bytes of the input read so far (for a progress bar).
    pub fn read(&self) -> u64 {
        self.consumed + self.pos as u64
    }

    /// Writes `text` to the sink instead of the cell `at` of the record just read. The cells
    /// of one record must be replaced from left to right, before the next call to `next`.
    pub fn replace(&mut self, at: usize, text: &str) -> Result<(), InputError> {
        let (start, stop) = if self.in_place {
            self.spans[at]
        } else {
            self.raw[at]
        };
        if let Some(sink) = &mut self.sink {
            sink.write_all(&self.buf[self.copied..start])
                .and_then(|()| sink.write_all(text.as_bytes()))
                .map_err(InputError::Write)?;
            self.copied = stop;
        }
        Ok(())
    }

    /// Writes what is left to the sink and flushes it.
    pub fn finish(&mut self) -> Result<(), InputError> {
        if let Some(sink) = &mut self.sink {
            sink.write_all(&self.buf[self.copied..self.end])
                .and_then(|()| sink.flush())
                .map_err(InputError::Write)?;
            self.copied = self.end;
        }
        Ok(())
    }

    /// The next record. Blank lines and records whose cells are all empty (what spreadsheets
    /// write for empty rows) are skipped.
    pub fn next(&mut self) -> Result<Next, InputError> {
        loop {
            if self.pos == self.end {
                if self.eof {
                    return Ok(Next::End);
                }
                self.refill()?;
                continue;
            }
            match self.step() {
                Step::More(quote) => {
                    if self.end - self.pos <= MAX_ROW {
                        self.refill()?;
                        continue;
                    }
                    let Some((column, open_line, open_at)) = quote else {
                        return self.too_long();
                    };
                    let line = self.line;
                    let why = Broken::Unclosed {
                        column,
                        line: line + open_line,
                    };
                    let resume = self.resume_after(open_at);
                    return Ok(Next::Broken { line, why, resume });
                }
                Step::Blank { next } => self.advance_to(next),
                Step::Record {
                    next,
                    breaks,
                    spans,
                } => {
                    let line = self.line;
                    let start = self.pos;
                    self.pos = next;
                    self.line += breaks;
                    if let (Some(width), Some((column, open_line, open_at))) = (self.width, spans)
                        && self.spans.len() != width
                    {
                        let cells = self.spans.len();
                        self.pos = start;
                        self.line = line;
                        let resume = self.resume_after(open_at);
                        return Ok(Next::Broken {
                            line,
                            why: Broken::Runaway {
                                cells,
                                width,
                                column,
                                line: line + open_line,
                            },
                            resume,
                        });
                    }
                    if self.width.is_some() && self.spans.iter().all(|(a, b)| a == b) {
                        continue;
                    }
                    return Ok(Next::Record { line });
                }
                Step::Broken {
                    column,
                    open_line,
                    open_at,
                    stray,
                } => {
                    let line = self.line;
                    let why = match stray {
                        Some((byte, closed)) => Broken::Stray {
                            column,
                            line: line + open_line,
                            closed: line + closed,
                            byte,
                        },
                        None => Broken::Unclosed {
                            column,
                            line: line + open_line,
                        },
                    };
                    let resume = self.resume_after(open_at);
                    return Ok(Next::Broken { line, why, resume });
                }
            }
        }
    }

    /// Goes on reading at the line after the one `at` is on; that line's number.
    fn resume_after(&mut self, at: usize) -> u64 {
        let next = match memchr::memchr2(b'\r', b'\n', &self.buf[at..self.end]) {
            Some(k) => line_end(&self.buf[..self.end], at + k),
            None => self.end,
        };
        self.advance_to(next);
        self.line
    }

    /// Moves `pos` to `next`, counting the line breaks passed.
    fn advance_to(&mut self, next: usize) {
        self.line += line_breaks(&self.buf[self.pos..next]);
        self.pos = next;
    }

    /// A record longer than [`MAX_ROW`] with no quote open: dropped up to its line's end.
    fn too_long(&mut self) -> Result<Next, InputError> {
        let line = self.line;
        loop {
            // Nothing before the first line break is kept: it holds no line break to count.
            if let Some(k) = memchr::memchr2(b'\r', b'\n', &self.buf[self.pos..self.end]) {
                let at = self.pos + k;
                if at + 1 < self.end || self.eof {
                    let next = line_end(&self.buf[..self.end], at);
                    self.advance_to(next);
                    break;
                }
                self.pos = at;
            } else if self.eof {
                self.pos = self.end;
                break;
            } else {
                self.pos = self.end;
            }
            self.refill()?;
        }
        Ok(Next::Broken {
            line,
            why: Broken::TooLong,
            resume: self.line,
        })
    }

    /// Makes sure the line at `pos` is whole in the buffer (or the file ends); its end.
    fn whole_line(&mut self) -> Result<usize, InputError> {
        loop {
            if let Some(k) = memchr::memchr2(b'\r', b'\n', &self.buf[self.pos..self.end]) {
                let at = self.pos + k;
                if at + 1 < self.end || self.eof {
                    return Ok(line_end(&self.buf[..self.end], at));
                }
            } else if self.eof {
                return Ok(self.end);
            }
            if self.end - self.pos > MAX_ROW {
                return Err(InputError::Invalid(format!(
                    "line {} is longer than {MAX_ROW} bytes: this is not a CSV file",
                    self.line
                )));
            }
            self.refill()?;
        }
    }

    /// Sends what is before `pos` to the sink, moves the rest to the front, reads more.
    fn refill(&mut self) -> Result<(), InputError> {
        if let Some(sink) = &mut self.sink {
            sink.write_all(&self.buf[self.copied..self.pos])
                .map_err(InputError::Write)?;
        }
        self.consumed += self.pos as u64;
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        self.copied = 0;
        if self.end == self.buf.len() {
            let size = (self.buf.len() * 2).min(MAX_ROW + 2 * CHUNK);
            self.buf.resize(size, 0);
        }
        let n = decode::read_some(&mut self.src, &mut self.buf[self.end..])?;
        self.end += n;
        self.eof = n == 0;
        Ok(())
    }

    /// Parses the record at `pos` into `spans` (and `cells` and `raw` for a line with quotes).
    fn step(&mut self) -> Step {
        let Sheet {
            buf,
            cells,
            spans: ends,
            raw,
            in_place,
            ..
        } = self;
        let buf = &buf[..self.end];
        let (eof, sep) = (self.eof, self.sep);
        let len = buf.len();
        let mut i = self.pos;
        cells.clear();
        ends.clear();
        raw.clear();
        match buf[i] {
            b'\n' => return Step::Blank { next: i + 1 },
            b'\r' if i + 1 == len && !eof => return Step::More(None),
            b'\r' => {
                return Step::Blank {
                    next: line_end(buf, i),
                };
            }
            _ => {}
        }
        // A line without a quote (most of them): its cells are where they are, found in one
        // pass over its bytes (cells are short: a search per cell would cost more).
        let mut stop = len;
        let mut quoted = false;
        let class = &self.class;
        let mut k = self.pos;
        while let Some(n) = buf[k..].iter().position(|&b| class[usize::from(b)] != 0) {
            k += n;
            match class[usize::from(buf[k])] {
                SEPARATOR => {
                    ends.push((i, k));
                    i = k + 1;
                    k += 1;
                }
                QUOTE => {
                    quoted = true;
                    break;
                }
                _ => {
                    stop = k;
                    break;
                }
            }
        }
        if !quoted {
            // The line's end must be in the buffer, and a `\r` with what follows it.
            if !eof && (stop == len || (buf[stop] == b'\r' && stop + 1 == len)) {
                return Step::More(None);
            }
            *in_place = true;
            ends.push((i, stop));
            let (next, breaks) = if stop == len {
                (len, 0)
            } else {
                (line_end(buf, stop), 1)
            };
            return Step::Record {
                next,
                breaks,
                spans: None,
            };
        }
        ends.clear();
        i = self.pos;
        *in_place = false;
        let mut breaks = 0u64;
        let mut spans = None;
        loop {
            let column = ends.len();
            let start = i;
            let content = cells.len();
            if i < len && buf[i] == b'"' {
                let (open_line, open_at) = (breaks, i);
                i += 1;
                loop {
                    let Some(k) = memchr::memchr(b'"', &buf[i..]) else {
                        if !eof {
                            return Step::More(Some((column, open_line, open_at)));
                        }
                        return Step::Broken {
                            column,
                            open_line,
                            open_at,
                            stray: None,
                        };
                    };
                    let part = &buf[i..i + k];
                    breaks += line_breaks(part);
                    cells.extend_from_slice(part);
                    i += k + 1;
                    if i == len && !eof {
                        return Step::More(Some((column, open_line, open_at)));
                    }
                    if i < len && buf[i] == b'"' {
                        cells.push(b'"');
                        i += 1;
                        continue;
                    }
                    break;
                }
                if i < len && buf[i] != sep && buf[i] != b'\r' && buf[i] != b'\n' {
                    return Step::Broken {
                        column,
                        open_line,
                        open_at,
                        stray: Some((buf[i], breaks)),
                    };
                }
                if breaks > open_line && spans.is_none() {
                    spans = Some((column, open_line, open_at));
                }
            } else {
                match memchr::memchr3(sep, b'\r', b'\n', &buf[i..]) {
                    Some(k) => {
                        cells.extend_from_slice(&buf[i..i + k]);
                        i += k;
                    }
                    None if !eof => return Step::More(None),
                    None => {
                        cells.extend_from_slice(&buf[i..]);
                        i = len;
                    }
                }
            }
            ends.push((content, cells.len()));
            raw.push((start, i));
            if i == len {
                return Step::Record {
                    next: i,
                    breaks,
                    spans,
                };
            }
            if buf[i] == sep {
                i += 1;
                if i == len && !eof {
                    return Step::More(None);
                }
                continue;
            }
            if buf[i] == b'\r' && i + 1 == len && !eof {
                return Step::More(None);
            }
            return Step::Record {
                next: line_end(buf, i),
                breaks: breaks + 1,
                spans,
            };
        }
    }
}

/// The offset after the line break at `at` (`\r\n` is one break).
fn line_end(buf: &[u8], at: usize) -> usize {
    if buf[at] == b'\r' && buf.get(at + 1) == Some(&b'\n') {
        at + 2
    } else {
        at + 1
    }
}

/// How many line breaks `text` holds: `\n`, `\r\n` and a lone `\r` each count one.
fn line_breaks(text: &[u8]) -> u64 {
    if memchr::memchr2(b'\r', b'\n', text).is_none() {
        return 0;
    }
    let mut n = 0;
    for (at, &b) in text.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && text.get(at + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

/// The separator of Excel's first line `sep=X` (`X` any byte but a quote or a line end;
/// what follows it on the line, such as the separators a re-save adds, is ignored).
fn excel_sep_line(line: &[u8]) -> Option<u8> {
    let rest = line
        .get(..4)?
        .eq_ignore_ascii_case(b"sep=")
        .then(|| &line[4..])?;
    let sep = *rest.first()?;
    let tail = &rest[1..];
    let ok = !matches!(sep, b'"' | b'\r' | b'\n')
        && tail
            .iter()
            .all(|&b| b == sep || b == b'\r' || b == b'\n' || b == b' ');
    ok.then_some(sep)
}

/// The separator of a header line: the most frequent of `,`, `;` and tab outside quotes
/// (a tie goes to the first of them); `,` when there is none (a one-column file).
fn detect(line: &[u8]) -> u8 {
    let mut counts = [0usize; SEPARATORS.len()];
    let mut quoted = false;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(at) = SEPARATORS.iter().position(|&s| s == b) {
            counts[at] += 1;
        }
    }
    let mut best = 0;
    for at in 1..SEPARATORS.len() {
        if counts[at] > counts[best] {
            best = at;
        }
    }
    SEPARATORS[best]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as read: `(line, cells)`, or `(line, why, resume)` for a broken one.
    type Read = Result<(u64, Vec<String>), (u64, Broken, u64)>;

    /// The header and every record of `text`.
    fn read(text: &[u8], sep: Option<u8>) -> (Vec<String>, Vec<Read>) {
        let mut sheet = Sheet::new(text, sep, None);
        let (header, _) = sheet.header().unwrap().unwrap();
        let mut rows = Vec::new();
        loop {
            match sheet.next().unwrap() {
                Next::End => break,
                Next::Record { line } => rows.push(Ok((
                    line,
                    (0..sheet.width())
                        .map(|at| String::from_utf8(sheet.cell(at).to_vec()).unwrap())
                        .collect(),
                ))),
                Next::Broken { line, why, resume } => rows.push(Err((line, why, resume))),
            }
        }
        (header, rows)
    }

    fn cells(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn records_cells_and_lines() {
        let (header, rows) = read(
            b"a;b;c\r\n1;\"x;\"\"y\"\"\";3\r\n\r\n;;\r\n\"multi\r\nline\";2;\r\n4;5;6",
            None,
        );
        assert_eq!(header, cells(&["a", "b", "c"]));
        assert_eq!(
            rows,
            [
                Ok((2, cells(&["1", "x;\"y\"", "3"]))),
                Ok((5, cells(&["multi\r\nline", "2", ""]))),
                Ok((7, cells(&["4", "5", "6"]))),
            ]
        );
    }

    #[test]
    fn the_separator_comes_from_sep_line_header_or_the_caller() {
        assert_eq!(
            read(b"sep=;\na;b\n1;2\n", None).1,
            [Ok((3, cells(&["1", "2"])))]
        );
        assert_eq!(
            read(b"a\tb\tc,d\n1\t2,3\t4\n", None).1[0],
            Ok((2, cells(&["1", "2,3", "4"])))
        );
        assert_eq!(
            read(b"a|b\n1|2\n", Some(b'|')).1[0],
            Ok((2, cells(&["1", "2"])))
        );
        assert_eq!(
            read(b"phone\n+1,2\n", None).1[0],
            Ok((2, cells(&["+1", "2"])))
        );
        // A separator given wins over the sep= line, which is still skipped.
        assert_eq!(
            read(b"sep=;\na,b\n1,2\n", Some(b',')).1[0],
            Ok((3, cells(&["1", "2"])))
        );
    }

    #[test]
    fn an_unclosed_quote_is_reported_where_it_opened_and_the_next_lines_are_read() {
        // At the end.
        let (_, rows) = read(b"a,b\n1,2\n3,\"open\n5,6\n7,8\n", None);
        assert_eq!(rows[0], Ok((2, cells(&["1", "2"]))));
        assert_eq!(
            rows[1],
            Err((3, Broken::Unclosed { column: 1, line: 3 }, 4))
        );
        assert_eq!(
            rows[2..],
            [Ok((4, cells(&["5", "6"]))), Ok((5, cells(&["7", "8"])))]
        );
        // In the middle: a later quote closes it and goes on with text.
        let (_, rows) = read(b"a,b\n1,\"open\n3,4\n5,\"quoted, here\"\n7,8\n", None);
        assert_eq!(
            rows[0],
            Err((
                2,
                Broken::Stray {
                    column: 1,
                    line: 2,
                    closed: 4,
                    byte: b'q'
                },
                3
            ))
        );
        assert_eq!(
            rows[1..],
            [
                Ok((3, cells(&["3", "4"]))),
                Ok((4, cells(&["5", "quoted, here"]))),
                Ok((5, cells(&["7", "8"])))
            ]
        );
        // In the middle, closed by a quote before a separator: the record is ragged.
        let (_, rows) = read(b"a,b\n1,\"open\n3,4\n5,55\",x\n7,8\n", None);
        assert_eq!(
            rows[0],
            Err((
                2,
                Broken::Runaway {
                    cells: 3,
                    width: 2,
                    column: 1,
                    line: 2
                },
                3
            ))
        );
        assert_eq!(rows.len(), 4);
    }

    /// On well-formed files (what the `csv` crate writes: quotes, separators and line breaks
    /// inside cells, CRLF), the records are the `csv` crate's, cell for cell.
    #[test]
    fn well_formed_files_read_as_the_csv_crate_reads_them() {
        let pieces = [
            "a",
            "",
            "x,y",
            "say \"hi\"",
            "two\nlines",
            "crlf\r\nin",
            "é;ü",
            " sp ",
            "\t",
        ];
        for (sep, crlf) in [(b',', false), (b';', true), (b'\t', true)] {
            let mut writer = csv::WriterBuilder::new()
                .delimiter(sep)
                .terminator(if crlf {
                    csv::Terminator::CRLF
                } else {
                    csv::Terminator::Any(b'\n')
                })
                .from_writer(Vec::new());
            writer.write_record(["h1", "h2", "h3"]).unwrap();
            let mut expected = Vec::new();
            for n in 0..200usize {
                let record: Vec<&str> = (0..3)
                    .map(|k| pieces[(n * 7 + k * 5 + n / 9) % pieces.len()])
                    .collect();
                if record.iter().all(|c| c.is_empty()) {
                    continue;
                }
                writer.write_record(&record).unwrap();
                expected.push(record.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>());
            }
            let text = writer.into_inner().unwrap();
            let mut reference = csv::ReaderBuilder::new()
                .delimiter(sep)
                .from_reader(&text[..]);
            let theirs: Vec<Vec<String>> = reference
                .records()
                .map(|r| r.unwrap().iter().map(str::to_owned).collect())
                .collect();
            assert_eq!(theirs, expected);
            let (header, rows) = read(&text, None);
            assert_eq!(header, ["h1", "h2", "h3"]);
            let ours: Vec<Vec<String>> = rows.into_iter().map(|r| r.unwrap().1).collect();
            assert_eq!(ours, expected, "separator {sep}");
        }
    }
}

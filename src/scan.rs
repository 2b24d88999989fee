//! One pass over the bytes: a JSON reader that accepts exactly what `serde_json` accepts and
//! keeps only what the rules read (SPEC §3 checks 3 to 5: `invalid_json`, `missing_contacts`,
//! `too_many_contacts`; the member names of SPEC §4's rules).
//!
//! The request is read once, front to back. Nothing is built for a value the rules do not
//! read: each contact becomes its text (a slice of the body) and, when it is an object, the
//! raw token of the last occurrence of each member the rules read ([`Member`]). The rest of
//! the contact, and everything past the contact limit, is only checked.
//!
//! What is valid JSON is `serde_json`'s answer, kept exactly:
//!
//! * UTF-8 is checked once over the whole text (bad UTF-8 outside a string is a syntax error
//!   for `serde_json` too); the grammar is RFC 8259's, with `serde_json`'s whitespace (space,
//!   tab, line feed, carriage return), no trailing comma, no leading zero;
//! * at most [`Limits::MAX_BODY_NESTING`] arrays and objects deep, as `serde_json`'s
//!   recursion limit;
//! * the tokens where `serde_json` decides more than the grammar are handed to `serde_json`
//!   itself: a string with an escape (surrogate pairs), a number that is not a short integer
//!   (the `f64` range). Bodies rarely hold either, so the common path never calls it.
//!
//! A contact's compact size (rule 1) is not computed by a second walk on the common path:
//! compact JSON is never longer than the text it was parsed from unless a number is written
//! in a longer form (`1e2` is written `100.0`), so a contact without such a number and whose
//! text fits the limit passes rule 1 as read. Only another contact is measured exactly, by a
//! second walk over its text that keeps one object's member names at a time
//! ([`compact_len`]).

use std::borrow::Cow;

use crate::limits::Limits;
use crate::member::Member;
use crate::written::written_len;

/// The text is not valid JSON (as `serde_json` would say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Invalid;

/// Integers of at most this many digits fit `u64`/`i64`, so `serde_json` writes them back
/// digit for digit.
const SHORT_INTEGER_DIGITS: usize = 18;

/// A JSON string token as it appears in the text, quotes included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Str<'a> {
    raw: &'a str,
    escaped: bool,
}

impl<'a> Str<'a> {
    /// The decoded string: borrowed from the text unless it has an escape.
    pub(crate) fn decode(self) -> Cow<'a, str> {
        if !self.escaped {
            let inner = self.raw.get(1..self.raw.len() - 1);
            debug_assert!(inner.is_some(), "a string token is quoted: {}", self.raw);
            return Cow::Borrowed(inner.unwrap_or_default());
        }
        // The reader checked this token with the same call, so it cannot fail here.
        let decoded = serde_json::from_str::<String>(self.raw);
        debug_assert!(decoded.is_ok(), "the reader accepted {}", self.raw);
        Cow::Owned(decoded.unwrap_or_default())
    }

    /// Whether the string is empty (`""`).
    pub(crate) fn is_empty(self) -> bool {
        self.raw.len() == 2
    }
}

/// One value's token: its kind and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number.
    Number,
    /// A string.
    String(Str<'a>),
    /// An array.
    Array,
    /// An object, its text, and whether every member has a non-empty name and a string,
    /// number or boolean value (what rule 8 asks of `custom_fields`).
    Object { raw: &'a str, flat: bool },
}

/// One element of `contacts`, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Scanned<'a> {
    /// The element's text, as sent.
    pub(crate) text: &'a str,
    /// Whether it is an object.
    pub(crate) object: bool,
    /// Whether it holds a number that `serde_json` writes back longer than it was sent.
    pub(crate) longer_numbers: bool,
    /// Whether it is an object with a member the rules do not read (an unknown name,
    /// `ad_network_source`…): one the store keeps among the other members.
    pub(crate) other_members: bool,
    /// The last occurrence of each member the rules read, by [`Member`] index.
    pub(crate) members: [Option<Token<'a>>; Member::COUNT],
}

impl<'a> Scanned<'a> {
    /// The value of a member the rules read, `null` counting as absent.
    pub(crate) fn field(&self, member: Member) -> Option<Token<'a>> {
        self.members
            .get(member.index())
            .copied()
            .flatten()
            .filter(|token| *token != Token::Null)
    }
}

/// A reader over one JSON text.
pub(crate) struct Reader<'a> {
    text: &'a str,
    at: usize,
    nesting: usize,
    /// Set when a number that may be written back longer is read.
    longer_numbers: bool,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, which must be UTF-8; `nesting` arrays and objects are already
    /// open around it.
    pub(crate) fn new(bytes: &'a [u8], nesting: usize) -> Result<Self, Invalid> {
        let text = std::str::from_utf8(bytes).map_err(|_| Invalid)?;
        Ok(Reader::over(text, nesting))
    }

    /// A reader over `text`, already known to be UTF-8; `nesting` as for [`Reader::new`].
    fn over(text: &'a str, nesting: usize) -> Self {
        Reader {
            text,
            at: 0,
            nesting,
            longer_numbers: false,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte that is not whitespace, without consuming it.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        let bytes = self.bytes();
        while let Some(&b) = bytes.get(self.at) {
            if !matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    /// Consumes `byte` (after whitespace).
    pub(crate) fn eat(&mut self, byte: u8) -> Result<(), Invalid> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// How many bytes are left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.text.len() - self.at
    }

    /// Only whitespace is left.
    pub(crate) fn end(&mut self) -> Result<(), Invalid> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(Invalid),
        }
    }

    /// After an element or member: `true` when another follows (a comma was read), `false`
    /// when `close` ended the container.
    pub(crate) fn more(&mut self, close: u8) -> Result<bool, Invalid> {
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(Invalid),
        }
    }

    /// Opens an array or object (its first byte, `open`) and tells whether it is empty.
    pub(crate) fn open(&mut self, open: u8, close: u8) -> Result<bool, Invalid> {
        self.eat(open)?;
        self.nesting += 1;
        if self.nesting > Limits::MAX_BODY_NESTING {
            return Err(Invalid);
        }
        if self.peek() == Some(close) {
            self.at += 1;
            self.nesting -= 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// The end of a container opened with [`Reader::open`] was read.
    pub(crate) fn close(&mut self) {
        self.nesting -= 1;
    }

    /// A member name and its colon.
    pub(crate) fn key(&mut self) -> Result<Str<'a>, Invalid> {
        if self.peek() != Some(b'"') {
            return Err(Invalid);
        }
        let key = self.string()?;
        self.eat(b':')?;
        Ok(key)
    }

    /// A contact's member name and its colon: which member the rules read it is, if any. A
    /// name the rules read, written plainly, is recognized without scanning it as a string.
    fn member_name(&mut self) -> Result<Option<Member>, Invalid> {
        if self.peek() != Some(b'"') {
            return Err(Invalid);
        }
        // At the opening quote, so `at + 1` is at most the length.
        let after_quote = self.bytes().get(self.at + 1..);
        debug_assert!(after_quote.is_some(), "{} past the end", self.at);
        let after_quote = after_quote.unwrap_or_default();
        if let Some((member, len)) = Member::named_at(after_quote) {
            self.at += len + 2;
            self.eat(b':')?;
            return Ok(Some(member));
        }
        Ok(Member::from_name(&self.key()?.decode()))
    }

    /// A string token, at its opening quote.
    fn string(&mut self) -> Result<Str<'a>, Invalid> {
        let bytes = self.bytes();
        let start = self.at;
        let mut at = start + 1;
        let mut escaped = false;
        loop {
            at = next_special(bytes, at);
            match bytes.get(at) {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    at += 2;
                }
                // A control character, or the end of the text inside a string.
                _ => return Err(Invalid),
            }
        }
        self.at = at + 1;
        let raw = self.text.get(start..self.at).ok_or(Invalid)?;
        if escaped && serde_json::from_str::<String>(raw).is_err() {
            return Err(Invalid);
        }
        Ok(Str { raw, escaped })
    }

    /// A number token, at its first byte.
    /// A number token, at its first byte; what `serde_json` writes back for it when that may
    /// differ from the token (`None`: the token itself).
    fn number(&mut self) -> Result<Option<serde_json::Number>, Invalid> {
        let bytes = self.bytes();
        let start = self.at;
        let mut at = start;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at - from
        };
        let negative = bytes.get(at) == Some(&b'-');
        if negative {
            at += 1;
        }
        let integer_start = at;
        let integer = digits(&mut at);
        if integer == 0 || (integer > 1 && bytes.get(integer_start) == Some(&b'0')) {
            return Err(Invalid);
        }
        let mut plain = integer <= SHORT_INTEGER_DIGITS
            && !(negative && integer == 1 && bytes.get(integer_start) == Some(&b'0'));
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if digits(&mut at) == 0 {
                return Err(Invalid);
            }
            plain = false;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if digits(&mut at) == 0 {
                return Err(Invalid);
            }
            plain = false;
        }
        self.at = at;
        if plain {
            return Ok(None);
        }
        // The range and the written form are serde_json's to decide.
        let raw = self.text.get(start..at).ok_or(Invalid)?;
        let number = serde_json::from_str::<serde_json::Number>(raw).map_err(|_| Invalid)?;
        self.longer_numbers = true;
        Ok(Some(number))
    }

    fn literal(&mut self, word: &[u8], token: Token<'a>) -> Result<Token<'a>, Invalid> {
        if self.bytes().get(self.at..self.at + word.len()) == Some(word) {
            self.at += word.len();
            Ok(token)
        } else {
            Err(Invalid)
        }
    }

    /// Any value: checked, and its token returned.
    pub(crate) fn value(&mut self) -> Result<Token<'a>, Invalid> {
        match self.peek().ok_or(Invalid)? {
            b'"' => self.string().map(Token::String),
            b'{' => self.object(),
            b'[' => {
                if !self.open(b'[', b']')? {
                    loop {
                        self.value()?;
                        if !self.more(b']')? {
                            break;
                        }
                    }
                    self.close();
                }
                Ok(Token::Array)
            }
            b't' => self.literal(b"true", Token::Bool(true)),
            b'f' => self.literal(b"false", Token::Bool(false)),
            b'n' => self.literal(b"null", Token::Null),
            b'-' | b'0'..=b'9' => self.number().map(|_| Token::Number),
            _ => Err(Invalid),
        }
    }

    /// An object, noting whether it is flat (rule 8's shape).
    fn object(&mut self) -> Result<Token<'a>, Invalid> {
        let start = self.at;
        let mut flat = true;
        if !self.open(b'{', b'}')? {
            loop {
                let key = self.key()?;
                let value = self.value()?;
                flat &= !key.is_empty()
                    && matches!(value, Token::String(_) | Token::Number | Token::Bool(_));
                if !self.more(b'}')? {
                    break;
                }
            }
            self.close();
        }
        let raw = self.text.get(start..self.at).ok_or(Invalid)?;
        Ok(Token::Object { raw, flat })
    }

    /// The length of `serde_json::to_vec` of the next value, from its text: whitespace left
    /// out, strings as `serde_json` escapes them, numbers as it writes them, and a repeated
    /// member name counted once, with its last value.
    fn compact(&mut self) -> Result<usize, Invalid> {
        let first = self.peek().ok_or(Invalid)?;
        let start = self.at;
        Ok(match first {
            b'"' => string_len(self.string()?),
            b'{' => {
                let mut members = Members::default();
                if !self.open(b'{', b'}')? {
                    loop {
                        let key = self.key()?;
                        let size = self.compact()?;
                        members.insert(key, size);
                        if !self.more(b'}')? {
                            break;
                        }
                    }
                    self.close();
                }
                members.compact_len()
            }
            b'[' => {
                let (mut items, mut size) = (0usize, 2);
                if !self.open(b'[', b']')? {
                    loop {
                        size += self.compact()?;
                        items += 1;
                        if !self.more(b']')? {
                            break;
                        }
                    }
                    self.close();
                }
                size + items.saturating_sub(1)
            }
            b'-' | b'0'..=b'9' => match self.number()? {
                None => self.at - start,
                Some(number) => written_len(&number),
            },
            _ => {
                self.value()?;
                self.at - start
            }
        })
    }

    /// Whether the object at the reader (a `custom_fields` that passed rule 8) holds only
    /// tokens that `serde_json` writes back byte for byte, each name once: see
    /// [`written_as_sent`].
    fn written_as_sent(&mut self) -> Result<bool, Invalid> {
        /// Names compared pairwise; an object with more is left to `serde_json`.
        const NAMES: usize = 16;
        let mut names = [""; NAMES];
        let mut count = 0;
        if self.open(b'{', b'}')? {
            return Ok(true);
        }
        loop {
            let key = self.key()?;
            let seen = names.get(..count).unwrap_or_default();
            if key.escaped || seen.contains(&key.raw) {
                return Ok(false);
            }
            let Some(slot) = names.get_mut(count) else {
                return Ok(false);
            };
            *slot = key.raw;
            count += 1;
            let next = self.peek();
            let start = self.at;
            let as_sent = match next {
                Some(b'"') => !self.string()?.escaped,
                Some(b't' | b'f') => matches!(self.value()?, Token::Bool(_)),
                Some(b'-' | b'0'..=b'9') => match self.number()? {
                    None => true,
                    Some(number) => {
                        let sent = self.text.get(start..self.at);
                        serde_json::to_string(&number).is_ok_and(|written| Some(&*written) == sent)
                    }
                },
                // `null`, an array or an object: not one of rule 8's values.
                _ => false,
            };
            if !as_sent {
                return Ok(false);
            }
            if !self.more(b'}')? {
                break;
            }
        }
        self.close();
        self.end()?;
        Ok(true)
    }

    /// One element of `contacts`: checked, with the members the rules read.
    pub(crate) fn contact(&mut self) -> Result<Scanned<'a>, Invalid> {
        let mut contact = Scanned::default();
        self.contact_into(&mut contact)?;
        Ok(contact)
    }

    /// [`Reader::contact`] into `contact`, whatever it held before: one buffer serves every
    /// contact of a body.
    pub(crate) fn contact_into(&mut self, contact: &mut Scanned<'a>) -> Result<(), Invalid> {
        let first = self.peek().ok_or(Invalid)?;
        let start = self.at;
        self.longer_numbers = false;
        contact.members = [None; Member::COUNT];
        contact.other_members = false;
        contact.object = first == b'{';
        if contact.object {
            if !self.open(b'{', b'}')? {
                loop {
                    let member = self.member_name()?;
                    let value = self.value()?;
                    match member.and_then(|m| contact.members.get_mut(m.index())) {
                        Some(slot) => *slot = Some(value),
                        None => contact.other_members = true,
                    }
                    if !self.more(b'}')? {
                        break;
                    }
                }
                self.close();
            }
        } else {
            self.value()?;
        }
        contact.text = self.text.get(start..self.at).ok_or(Invalid)?;
        contact.longer_numbers = self.longer_numbers;
        Ok(())
    }
}

/// The position of the first byte at or after `at` that ends a run of plain string content:
/// a quote, a backslash or a control character (or `bytes.len()`). Eight bytes at a time: for
/// each byte of a word, "is zero" and "is below 0x20" are bit tricks on the whole word, whose
/// lowest flagged byte is exact (borrows only run upward).
fn next_special(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    const SPACES: u64 = u64::from_ne_bytes([0x20; 8]);
    let zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
    while let Some(&[b0, b1, b2, b3, b4, b5, b6, b7]) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
        let special = zero(word ^ QUOTES)
            | zero(word ^ BACKSLASHES)
            | (word.wrapping_sub(SPACES) & !word & HIGHS);
        if special != 0 {
            return at + (special.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&b) = bytes.get(at) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return at;
        }
        at += 1;
    }
    at
}

/// The members of one object, for its compact length: a repeated name counts once, with the
/// size of its last value.
#[derive(Default)]
struct Members<'a> {
    sizes: Vec<(Cow<'a, str>, usize)>,
    /// Where each name is in `sizes`, once there are too many for a linear search.
    index: Option<crate::hashing::Map<Cow<'a, str>, usize>>,
}

impl<'a> Members<'a> {
    const LINEAR: usize = 16;

    fn insert(&mut self, key: Str<'a>, size: usize) {
        let name = key.decode();
        let found = match &self.index {
            Some(index) => index.get(&name).copied(),
            None => self.sizes.iter().position(|(seen, _)| *seen == name),
        };
        if let Some(slot) = found.and_then(|at| self.sizes.get_mut(at)) {
            slot.1 = size;
            return;
        }
        if let Some(index) = &mut self.index {
            index.insert(name.clone(), self.sizes.len());
        } else if self.sizes.len() == Self::LINEAR {
            let mut index = crate::hashing::map(2 * Self::LINEAR);
            for (at, (seen, _)) in self.sizes.iter().enumerate() {
                index.insert(seen.clone(), at);
            }
            index.insert(name.clone(), self.sizes.len());
            self.index = Some(index);
        }
        self.sizes.push((name, size));
    }

    fn compact_len(&self) -> usize {
        let members: usize = self
            .sizes
            .iter()
            .map(|(name, size)| escaped_len(name) + 1 + size)
            .sum();
        2 + members + self.sizes.len().saturating_sub(1)
    }
}

/// The length of a string token as `serde_json` writes it back.
fn string_len(token: Str<'_>) -> usize {
    if token.escaped {
        escaped_len(&token.decode())
    } else {
        // Plain content has no character that needs an escape: it is written as it came.
        token.raw.len()
    }
}

/// The length of `s` written as a JSON string by `serde_json`: quoted, with `"` `\` and control
/// characters escaped (`\b \t \n \f \r` in two bytes, the others as `\u00XX`).
fn escaped_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | 0x09 | 0x0a | 0x0c | 0x0d => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Whether `serde_json`, reading the object `text` and writing it back, writes every name and
/// value token exactly as `text` has it: no name repeats, no string has an escape (not even one
/// `serde_json` would write the same), every number is already in `serde_json`'s form (`1`,
/// `-12`, `1.5`, `12345678901234567890`; not `1.50`, `1e2`, `-0`, `1E5`). Then `text` and
/// `serde_json`'s text of it differ only in whitespace and in the order of the members, and
/// any JSON reader reads the same object from both — the stores too: SQLite's `json()` and
/// `json_patch` keep a repeated name twice and compare names as written, PostgreSQL's `jsonb`
/// keeps a number's digits as sent, so any of those would mean something else there.
///
/// Only for a flat object (rule 8's `custom_fields`), with at most 16 members: anything else
/// answers `false`.
pub(crate) fn written_as_sent(text: &str) -> bool {
    Reader::new(text.as_bytes(), 0)
        .and_then(|mut reader| reader.written_as_sent())
        .unwrap_or(false)
}

/// The exact length of `serde_json::to_vec` of the value `text` holds (a text the reader
/// accepted), computed from the text by a walk that keeps only the names of one object at a
/// time.
pub(crate) fn compact_len(text: &str) -> usize {
    Reader::new(text.as_bytes(), 0)
        .and_then(|mut reader| reader.compact())
        .unwrap_or_else(|Invalid| {
            // Not reached: the reader accepted `text`. serde_json's own answer, if it were.
            debug_assert!(false, "the reader accepted {text}");
            serde_json::from_str::<serde_json::Value>(text).map_or(0, |value| written_len(&value))
        })
}

/// The members of the JSON object `text`, in order: each name decoded (borrowed unless it has
/// an escape) and its value's text, without the whitespace around it. A repeated name keeps its
/// first place and its last value, as `serde_json` and PostgreSQL's `jsonb` read it. `Invalid`
/// when `text` is not one JSON object, as `serde_json` would say.
pub(crate) fn object_members(text: &str) -> Result<Vec<(Cow<'_, str>, &str)>, Invalid> {
    let mut reader = Reader::over(text, 0);
    // Custom fields hold a few members: room for them without growing.
    let mut members: Vec<(Cow<'_, str>, &str)> = Vec::with_capacity(4);
    if reader.peek() != Some(b'{') {
        return Err(Invalid);
    }
    if !reader.open(b'{', b'}')? {
        loop {
            let name = reader.key()?.decode();
            reader.peek();
            let start = reader.at;
            reader.value()?;
            let value = text.get(start..reader.at).ok_or(Invalid)?;
            set_member(&mut members, name, value);
            if !reader.more(b'}')? {
                break;
            }
        }
        reader.close();
    }
    reader.end()?;
    Ok(members)
}

/// Sets member `name` of `members` (as [`object_members`] reads them) to `value`: in its place
/// if it is there, last otherwise.
pub(crate) fn set_member<'a>(
    members: &mut Vec<(Cow<'a, str>, &'a str)>,
    name: Cow<'a, str>,
    value: &'a str,
) {
    match members.iter_mut().find(|(held, _)| *held == name) {
        Some(member) => member.1 = value,
        None => members.push((name, value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(text: &str) -> bool {
        let Ok(mut reader) = Reader::new(text.as_bytes(), 0) else {
            return false;
        };
        reader.value().is_ok() && reader.end().is_ok()
    }

    fn serde_valid(text: &str) -> bool {
        serde_json::from_slice::<serde_json::Value>(text.as_bytes()).is_ok()
    }

    #[test]
    fn accepts_exactly_what_serde_json_accepts() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let objects = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        let cases = [
            "",
            " ",
            "1",
            "-1",
            "-",
            "01",
            "-01",
            "1.",
            "1.5",
            ".5",
            "1e5",
            "1E+5",
            "1e",
            "1e+",
            "-0",
            "-0.0",
            "1e400",
            "-1e400",
            "1e-400",
            "123456789012345678901234567890",
            "1_0",
            "0x10",
            "true",
            "tru",
            "truex",
            "null",
            "nul",
            "\"\"",
            "\"a\"",
            "\"\\\"\"",
            "\"\\/\"",
            "\"\\x\"",
            "\"\\u00e9\"",
            "\"\\u00g9\"",
            "\"\\ud83d\\ude00\"",
            "\"\\ud83d\"",
            "\"\\ude00\"",
            "\"\\ud83d\\u0041\"",
            "\"a\tb\"",
            "\"a\u{7f}b\"",
            "\"\u{2028}\"",
            "[]",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{}",
            "{,}",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":1 \"b\":2}",
            "{1:2}",
            "{\"a\":1}",
            "{\"a\":1,\"a\":2}",
            " [ 1 , { \"a\" : [ ] } ] ",
            "[1] x",
            "[1]]",
            "\u{feff}1",
            "\x0b1",
            "\x0c1",
            "\"\\",
            "\"abc",
            "[\"a\\\"]",
            "1 2",
        ];
        for text in cases {
            assert_eq!(valid(text), serde_valid(text), "{text:?}");
        }
        for n in [1, 126, 127, 128, 129] {
            assert_eq!(valid(&nested(n)), serde_valid(&nested(n)), "arrays {n}");
            assert_eq!(valid(&objects(n)), serde_valid(&objects(n)), "objects {n}");
        }
        assert!(valid(&nested(127)) && !valid(&nested(128)));
    }

    #[test]
    fn the_word_scan_finds_the_first_quote_backslash_or_control_character() {
        let naive = |bytes: &[u8], at: usize| {
            (at..bytes.len())
                .find(|&i| matches!(bytes[i], b'"' | b'\\' | 0x00..=0x1f))
                .unwrap_or(bytes.len())
        };
        let mut texts: Vec<Vec<u8>> = vec![
            b"abcdefghijklmnop\"".to_vec(),
            "é€😀 plain text that is long enough\\".as_bytes().to_vec(),
            b"\x1f".to_vec(),
            b"short".to_vec(),
            Vec::new(),
        ];
        // Every special byte after every prefix of non-ASCII and ASCII bytes.
        for special in [b'"', b'\\', 0x00, 0x1f, 0x0a] {
            for len in 0..20 {
                let mut text: Vec<u8> = (0..len)
                    .map(|i| [b'a', 0x80, 0xff, 0x20, 0x7f][i % 5])
                    .collect();
                text.push(special);
                text.extend_from_slice(b"x\"y");
                texts.push(text);
            }
        }
        for text in &texts {
            for at in 0..=text.len() {
                assert_eq!(
                    next_special(text, at),
                    naive(text, at),
                    "{text:?} from {at}"
                );
            }
        }
    }

    #[test]
    fn compact_len_is_serde_json_s_length() {
        let many = |repeat: bool| {
            let members: Vec<String> = (0..40)
                .map(|i| format!("\"k{}\": [{i}, \"v\"]", if repeat { i % 7 } else { i }))
                .collect();
            format!("{{{}}}", members.join(", "))
        };
        for text in [
            "0",
            "-0",
            "1e2",
            "-12",
            "123456789012345678901234",
            "1.5e-7",
            "true",
            "null",
            r#""""#,
            r#""a\u00e9\/\n\u0001\u001f\"\\""#,
            r#""\ud83d\ude00""#,
            "[]",
            "[ 1 , [ ] , { } ]",
            "{}",
            r#"{ "a" : 1 , "b" : [ true , null ] }"#,
            r#"{"a": "long", "a": 1}"#,
            r#"{"a": 1, "b": 2, "a": {"a": [], "a": "xy"}}"#,
            r#"{"\u0061": 1, "a": 22}"#,
            r#"{"k\"ey": "v"}"#,
            &many(false),
            &many(true),
        ] {
            let value: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
            let expected = serde_json::to_vec(&value).expect("serializes").len();
            assert_eq!(compact_len(text), expected, "{text}");
        }
    }

    #[test]
    fn bad_utf8_is_invalid_anywhere() {
        assert!(Reader::new(b"\"\xff\"", 0).is_err());
        assert!(Reader::new(b"[1] \xc3", 0).is_err());
    }

    #[test]
    fn a_contact_keeps_the_last_occurrence_of_each_member_it_reads() {
        let text = r#"{"phone_number": "+1", "x": [1, {"phone_number": 2}],
                       "phone_number": "+2", "list_n\u0075mber": "+3", "custom_fields": {"a": 1}}"#;
        let mut reader = Reader::new(text.as_bytes(), 2).expect("UTF-8");
        let scanned = reader.contact().expect("valid");
        assert!(scanned.object && !scanned.longer_numbers);
        assert!(
            scanned.other_members,
            "\"x\" is a member the rules do not read"
        );
        assert_eq!(scanned.text, text);
        let string = |m| match scanned.field(m) {
            Some(Token::String(s)) => s.decode().into_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(string(Member::PhoneNumber), "+2");
        assert_eq!(string(Member::ListNumber), "+3");
        assert!(matches!(
            scanned.field(Member::CustomFields),
            Some(Token::Object {
                raw: "{\"a\": 1}",
                flat: true
            })
        ));
    }

    #[test]
    fn a_contact_has_other_members_only_when_a_name_is_not_one_the_rules_read() {
        for (text, others) in [
            (
                r#"{"phone_number": "+1", "custom_fields": {"x": 1}}"#,
                false,
            ),
            (r#"{"list_n\u0075mber": "+3", "url": null}"#, false),
            ("{}", false),
            ("[1]", false),
            (r#"{"phone_number": "+1", "ad_network_source": "x"}"#, true),
            (r#"{"x": null}"#, true),
            (r#"{"Phone_number": "+1"}"#, true),
        ] {
            let mut reader = Reader::new(text.as_bytes(), 2).expect("UTF-8");
            let mut scanned = Scanned {
                other_members: true,
                ..Scanned::default()
            };
            reader.contact_into(&mut scanned).expect("valid");
            assert_eq!(scanned.other_members, others, "{text}");
        }
    }

    #[test]
    fn flat_objects_are_those_of_non_empty_names_and_scalar_values() {
        for (text, flat) in [
            ("{}", true),
            (r#"{"a": "x", "b": 1.5, "c": false}"#, true),
            (r#"{"": "x"}"#, false),
            (r#"{"a": null}"#, false),
            (r#"{"a": []}"#, false),
            (r#"{"a": {}}"#, false),
        ] {
            let mut reader = Reader::new(text.as_bytes(), 0).expect("UTF-8");
            assert!(
                matches!(reader.value(), Ok(Token::Object { flat: f, .. }) if f == flat),
                "{text}"
            );
        }
    }

    #[test]
    fn compact_json_is_never_longer_than_its_text_without_longer_numbers() {
        for text in [
            r#"{"a" : "\u00e9\/\n\u0001", "a": 1, "b": [true, null, -12]}"#,
            r#"{"k": "\ud83d\ude00", "n": 123456789012345678}"#,
        ] {
            let mut reader = Reader::new(text.as_bytes(), 0).expect("UTF-8");
            let scanned = reader.contact().expect("valid");
            assert!(!scanned.longer_numbers);
            assert!(compact_len(text) <= text.len(), "{text}");
        }
        for (text, compact) in [("1e2", "100.0"), ("-0", "-0.0"), ("1E5", "100000.0")] {
            let mut reader = Reader::new(text.as_bytes(), 0).expect("UTF-8");
            assert!(reader.contact().expect("valid").longer_numbers, "{text}");
            assert_eq!(compact_len(text), compact.len(), "{text}");
        }
    }
}

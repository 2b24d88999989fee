//! Lenient normalization for clients (SPEC §6a): libphonenumber's `parse(text, region)`, then
//! `isValidNumber`, then the E.164 format — or why the text is not a valid number.
//!
//! The steps follow `PhoneNumberUtil.parseHelper` one function each, in its order:
//! 1. `buildNationalNumberForParsing`: a `tel:` URI with a `phone-context` gives the context
//!    (when it is a `+` number) followed by the number; otherwise `extractPossibleNumber`
//!    drops what precedes the first `+` or digit, the unwanted end characters and a second
//!    number after `/x`; an `;isub=` sub-address and what follows are dropped;
//! 2. `isViablePhoneNumber`, then the default region (or a leading `+`);
//! 3. `maybeStripExtension`;
//! 4. `maybeExtractCountryCode`: a leading `+`, or the default region's international prefix,
//!    or the default region's calling code written without either;
//! 5. `maybeStripNationalPrefixAndCarrierCode` with the metadata of the number's region, kept
//!    only when the result has a possible length;
//! 6. the length limits, then `isValidNumber` and `isPossibleNumberWithReason`.
//!
//! The patterns that do not depend on a region are libphonenumber's own, compiled once by
//! `regex-automata`; the region's international prefix and national prefix patterns are
//! compiled on first use of the region. The work is done in stack buffers: nothing is
//! allocated per call once the patterns exist.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, meta};

use super::metadata::{CODE_INDEX, CODES, Code, PREFIX, PREFIX_ROW, REGION_COUNT, Region as Meta};
use super::patterns;
use super::validator::{self, u16_at, walk};

/// `MAX_INPUT_STRING_LENGTH`: longer texts (in characters) are not parsed.
const MAX_INPUT_CHARS: usize = 250;
/// `MIN_LENGTH_FOR_NSN`.
const MIN_NSN: usize = 2;
/// `MAX_LENGTH_FOR_NSN`.
const MAX_NSN: usize = 17;
/// Room for the text as parsed: at most 250 characters of at most 4 bytes.
const TEXT_BYTES: usize = 4 * MAX_INPUT_CHARS + 8;
/// Room for the normalized digits of a text (one digit at most per character).
const DIGITS: usize = MAX_INPUT_CHARS + 8;

/// A default region for [`normalize`]: a CLDR region code that libphonenumber supports
/// (`"US"`, `"GB"`, …), or [`Region::UNKNOWN`] (`"ZZ"`), with which only text starting with `+`
/// parses.
///
/// ```
/// use bulk_contacts::e164::Region;
/// let us: Region = "US".parse().unwrap();
/// assert_eq!(us.as_str(), "US");
/// assert_eq!("ZZ".parse::<Region>().unwrap(), Region::UNKNOWN);
/// assert!("XX".parse::<Region>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    /// Index of the region's calling code in [`CODES`], or `u16::MAX` for `ZZ`.
    code: u16,
    /// Index of the region in that code's region list.
    region: u16,
}

impl Region {
    /// `ZZ`: no default region.
    pub const UNKNOWN: Region = Region {
        code: u16::MAX,
        region: 0,
    };

    /// The region code (`"ZZ"` for [`Region::UNKNOWN`]).
    pub fn as_str(self) -> &'static str {
        self.meta().map_or("ZZ", |(_, m)| m.id)
    }

    /// The region's country calling code (`None` for [`Region::UNKNOWN`]).
    pub fn country_code(self) -> Option<u16> {
        self.meta().map(|(c, _)| c.cc)
    }

    fn meta(self) -> Option<(&'static Code, &'static Meta)> {
        let code = CODES.get(usize::from(self.code))?;
        Some((code, code.regions.get(usize::from(self.region))?))
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`Region`]: not a region code libphonenumber supports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a supported region code (expected a CLDR code such as US, GB or ZZ)")]
pub struct UnknownRegion;

impl FromStr for Region {
    type Err = UnknownRegion;

    /// The exact, upper-case code (libphonenumber's region codes are case-sensitive).
    fn from_str(s: &str) -> Result<Region, UnknownRegion> {
        if s == "ZZ" {
            return Ok(Region::UNKNOWN);
        }
        if s == "001" {
            return Err(UnknownRegion); // a calling code's entity, not a region one dials from
        }
        for (c, code) in CODES.iter().enumerate() {
            for (r, meta) in code.regions.iter().enumerate() {
                if meta.id == s {
                    return Ok(Region {
                        code: u16::try_from(c).map_err(|_| UnknownRegion)?,
                        region: u16::try_from(r).map_err(|_| UnknownRegion)?,
                    });
                }
            }
        }
        Err(UnknownRegion)
    }
}

/// A number in E.164 form (`+` and at most 20 digits), held inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct E164 {
    bytes: [u8; 24],
    len: u8,
}

impl E164 {
    /// The number, e.g. `"+14155559876"`.
    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or(&[]);
        std::str::from_utf8(bytes).unwrap_or("")
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.as_str())
    }
}

/// Why a text does not normalize: libphonenumber's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum NotValid {
    /// `parse` refused the text: `NOT_A_NUMBER` (no phone number in it, or an invalid
    /// `phone-context`).
    #[error("not a phone number")]
    NotANumber,
    /// `parse` refused the text: `INVALID_COUNTRY_CODE` (no such calling code, or a national
    /// number without a default region).
    #[error("invalid country calling code (or no default region for a national number)")]
    InvalidCountryCode,
    /// `parse` refused the text: `TOO_SHORT_AFTER_IDD`.
    #[error("too short after the international prefix")]
    TooShortAfterIdd,
    /// `parse` refused the text: `TOO_SHORT_NSN` (fewer than 2 national digits).
    #[error("too short to be a phone number")]
    TooShortNsn,
    /// `parse` refused the text: `TOO_LONG` (over 250 characters, or over 17 national digits).
    #[error("too long to be a phone number")]
    TooLong,
    /// Parsed, not valid, though of a possible length (`IS_POSSIBLE`).
    #[error("not a valid number (possible length, unassigned range)")]
    Invalid,
    /// Parsed, not valid: only a local number (`IS_POSSIBLE_LOCAL_ONLY`), the area code is
    /// missing.
    #[error("a local number only (the area code is missing)")]
    LocalOnly,
    /// Parsed, not valid: shorter than any number of the calling code (`TOO_SHORT`).
    #[error("too short for the country")]
    TooShort,
    /// Parsed, not valid: longer than any number of the calling code (`TOO_LONG`).
    #[error("too long for the country")]
    TooLongForCountry,
    /// Parsed, not valid: a length no number of the calling code has (`INVALID_LENGTH`).
    #[error("a length no number of the country has")]
    InvalidLength,
}

impl NotValid {
    /// A stable snake-case name: `not_a_number`, `invalid_country_code`,
    /// `too_short_after_idd`, `too_short_nsn`, `too_long`, `invalid`, `local_only`,
    /// `too_short`, `too_long_for_country`, `invalid_length`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotValid::NotANumber => "not_a_number",
            NotValid::InvalidCountryCode => "invalid_country_code",
            NotValid::TooShortAfterIdd => "too_short_after_idd",
            NotValid::TooShortNsn => "too_short_nsn",
            NotValid::TooLong => "too_long",
            NotValid::Invalid => "invalid",
            NotValid::LocalOnly => "local_only",
            NotValid::TooShort => "too_short",
            NotValid::TooLongForCountry => "too_long_for_country",
            NotValid::InvalidLength => "invalid_length",
        }
    }
}

/// libphonenumber's `parse(text, region)` → `isValidNumber` → E.164 (SPEC §6a).
///
/// ```
/// use bulk_contacts::e164::{normalize, NotValid, Region};
/// let us: Region = "US".parse().unwrap();
/// assert_eq!(normalize("(415) 555-9876", us).unwrap().as_str(), "+14155559876");
/// assert_eq!(normalize("tel:+44-20-7031-3000;ext=12", us).unwrap().as_str(), "+442070313000");
/// assert_eq!(normalize("415 555", us), Err(NotValid::TooShort));
/// assert_eq!(normalize("(415) 555-9876", Region::UNKNOWN), Err(NotValid::InvalidCountryCode));
/// ```
///
/// Never panics, for any text.
pub fn normalize(text: &str, region: Region) -> Result<E164, NotValid> {
    let (code, digits) = parse(text, region)?;
    if validator::classify_national(code, digits.as_slice()).is_some() {
        let mut out = E164 {
            bytes: [0; 24],
            len: 0,
        };
        let mut w = Writer::new(&mut out.bytes);
        w.push(b'+');
        let (cc, cc_len) = cc_digits(code.cc);
        w.push_slice(cc.get(..cc_len).unwrap_or(&[]));
        w.push_slice(digits.as_slice());
        out.len = u8::try_from(w.len).unwrap_or(0);
        return Ok(out);
    }
    Err(possibility(code, digits.as_slice().len()))
}

/// A calling code's decimal digits and their count (calling codes are 1 to 999: `build.rs`
/// checks).
fn cc_digits(cc: u16) -> ([u8; 3], usize) {
    let [a, b, c] = [cc / 100 % 10, cc / 10 % 10, cc % 10].map(|d| b'0' + d as u8);
    match cc {
        0..=9 => ([c, 0, 0], 1),
        10..=99 => ([b, c, 0], 2),
        _ => ([a, b, c], 3),
    }
}

/// `isPossibleNumberWithReason` of a parsed, invalid number (main region's general lengths).
fn possibility(code: &Code, len: usize) -> NotValid {
    let Some(main) = code.regions.first() else {
        return NotValid::InvalidCountryCode;
    };
    match test_length(main, len) {
        Length::Possible => NotValid::Invalid,
        Length::LocalOnly => NotValid::LocalOnly,
        Length::TooShort => NotValid::TooShort,
        Length::TooLong => NotValid::TooLongForCountry,
        Length::Invalid => NotValid::InvalidLength,
    }
}

/// `testNumberLength` against a region's general description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Length {
    Possible,
    LocalOnly,
    TooShort,
    TooLong,
    Invalid,
}

fn test_length(meta: &Meta, len: usize) -> Length {
    let bit = |mask: u32| {
        u32::try_from(len)
            .ok()
            .and_then(|l| mask.checked_shr(l))
            .is_some_and(|m| m & 1 != 0)
    };
    if bit(meta.general.local) {
        return Length::LocalOnly;
    }
    let lengths = meta.general.lengths;
    if lengths == 0 {
        return Length::Invalid;
    }
    let min = lengths.trailing_zeros() as usize;
    let max = 31 - lengths.leading_zeros() as usize;
    if len == min {
        Length::Possible
    } else if len < min {
        Length::TooShort
    } else if len > max {
        Length::TooLong
    } else if bit(lengths) {
        Length::Possible
    } else {
        Length::Invalid
    }
}

/// `parseHelper`: the calling code and the national significant number.
fn parse(text: &str, region: Region) -> Result<(&'static Code, Nsn), NotValid> {
    parse_with(text, region, Scan::of(text))
}

/// [`parse`], knowing what the text holds (the tests pass [`Scan::ANYTHING`] to take the
/// general path at every step).
fn parse_with(text: &str, region: Region, scan: Scan) -> Result<(&'static Code, Nsn), NotValid> {
    // A character is at least one byte: only a longer text needs counting.
    if text.len() > MAX_INPUT_CHARS && text.chars().count() > MAX_INPUT_CHARS {
        return Err(NotValid::TooLong);
    }
    let fixed = fixed();
    // Other scripts' digits and the like: the same text in ASCII, when there is one that every
    // step reads the same way, takes the plain path (no `;`: RFC 3966 reads `+` as ASCII only;
    // fewer than 3 letters: with more, `normalize` keeps ASCII digits only).
    if scan.has(NON_ASCII) && !scan.has(SEMICOLON) && scan.letters < 3 {
        let mut buf = [0u8; MAX_INPUT_CHARS];
        if let Some(ascii) = ascii_twin_text(fixed, text, &mut buf) {
            return parse_with(ascii, region, Scan::of(ascii));
        }
    }
    // The number's digits, and room for a number rewritten by a transform rule.
    let mut full = Digits::new();
    let mut transformed = None;
    let mut context = None;
    let (number, digits) = match plain_number(text, scan, &mut full) {
        Some(number) => (number, Digitized::Done),
        None => {
            let number = national_number_for_parsing(fixed, text, scan, &mut context)?;
            if !is_viable(fixed, number) {
                return Err(NotValid::NotANumber);
            }
            (number, Digitized::Todo(scan))
        }
    };
    let default = region.meta();
    if default.is_none() && !starts_with_plus(number) {
        return Err(NotValid::InvalidCountryCode);
    }
    let number = strip_extension(fixed, number, scan);
    let extracted = match extract_country_code(number, digits, default, &mut full, &mut transformed)
    {
        Err(NotValid::InvalidCountryCode) if starts_with_plus(number) => {
            match extract_country_code(
                strip_plus(number),
                digits,
                default,
                &mut full,
                &mut transformed,
            )? {
                Extracted::Code(code, nsn) => Extracted::Code(code, nsn),
                Extracted::National(_) => return Err(NotValid::InvalidCountryCode),
            }
        }
        other => other?,
    };
    let (code, meta, mut nsn) = match extracted {
        Extracted::Code(code, nsn) => (
            code,
            code.regions.first().ok_or(NotValid::InvalidCountryCode)?,
            nsn,
        ),
        Extracted::National(digits) => {
            // No calling code in the text: the default region's (there is one: without it,
            // only `+` text got this far, and that extracted a code or failed).
            let (code, meta) = default.ok_or(NotValid::InvalidCountryCode)?;
            (code, meta, digits)
        }
    };
    if nsn.len() < MIN_NSN {
        return Err(NotValid::TooShortNsn);
    }
    // Kept only when the stripped number has a possible length (it could be a short number).
    let mut transformed_again = None;
    if let Some(stripped) = strip_national_prefix(code, meta, nsn, &mut transformed_again)
        && !matches!(
            test_length(meta, stripped.len()),
            Length::TooShort | Length::LocalOnly | Length::Invalid
        )
    {
        nsn = stripped;
    }
    if nsn.len() < MIN_NSN {
        return Err(NotValid::TooShortNsn);
    }
    if nsn.len() > MAX_NSN {
        return Err(NotValid::TooLong);
    }
    Ok((code, Nsn::of(nsn)))
}

/// A national significant number as `parse` returns it (2 to 17 digits), held inline.
struct Nsn {
    data: [u8; MAX_NSN],
    len: usize,
}

impl Nsn {
    fn of(digits: &[u8]) -> Nsn {
        let mut data = [0; MAX_NSN];
        let len = digits.len().min(MAX_NSN);
        if let (Some(to), Some(from)) = (data.get_mut(..len), digits.get(..len)) {
            to.copy_from_slice(from);
        }
        Nsn { data, len }
    }

    fn as_slice(&self) -> &[u8] {
        self.data.get(..self.len).unwrap_or(&[])
    }
}

fn starts_with_plus(s: &str) -> bool {
    s.starts_with(['+', '\u{FF0B}'])
}

fn strip_plus(s: &str) -> &str {
    s.trim_start_matches(['+', '\u{FF0B}'])
}

/// `buildNationalNumberForParsing`.
fn national_number_for_parsing<'a>(
    fixed: &Fixed,
    text: &'a str,
    scan: Scan,
    buf: &'a mut Option<[u8; TEXT_BYTES]>,
) -> Result<&'a str, NotValid> {
    const PHONE_CONTEXT: &str = ";phone-context=";
    // Both RFC 3966 markers start with ';': most texts have none and skip the searches.
    let has_parameters = scan.has(SEMICOLON);
    let context_at = if has_parameters {
        find(text, PHONE_CONTEXT)
    } else {
        None
    };
    let number = match context_at {
        Some(at) => {
            let start = at + PHONE_CONTEXT.len();
            let rest = text.get(start..).unwrap_or("");
            let context = rest
                .find(';')
                .map_or(rest, |end| rest.get(..end).unwrap_or(""));
            if !is_phone_context_valid(fixed, context) {
                return Err(NotValid::NotANumber);
            }
            let buf = buf.insert([0; TEXT_BYTES]);
            let mut w = Writer::new(buf);
            if context.starts_with('+') {
                w.push_slice(context.as_bytes());
            }
            let from = find(text, "tel:").map_or(0, |i| i + "tel:".len());
            // Python slices an empty string when the prefix comes after the context.
            w.push_slice(text.get(from..at).unwrap_or("").as_bytes());
            let len = w.len;
            let buf: &'a [u8; TEXT_BYTES] = buf;
            std::str::from_utf8(buf.get(..len).unwrap_or(&[])).map_err(|_| NotValid::NotANumber)?
        }
        None => extract_possible_number(fixed, text, scan),
    };
    if !has_parameters {
        return Ok(number);
    }
    Ok(match find(number, ";isub=") {
        Some(i) if i > 0 => number.get(..i).unwrap_or(number),
        _ => number,
    })
}

/// The text with each character outside ASCII replaced by its [`ascii_twin`], when they all
/// have one (at most [`MAX_INPUT_CHARS`] characters: the caller checked).
fn ascii_twin_text<'b>(
    fixed: &Fixed,
    text: &str,
    buf: &'b mut [u8; MAX_INPUT_CHARS],
) -> Option<&'b str> {
    let mut len = 0;
    for c in text.chars() {
        let b = if c.is_ascii() {
            c as u8
        } else {
            ascii_twin(fixed, c)?
        };
        *buf.get_mut(len)? = b;
        len += 1;
    }
    std::str::from_utf8(buf.get(..len)?).ok()
}

/// An ASCII character that no step of `parse` tells apart from `c` (for a text without `;`
/// and with fewer than 3 ASCII letters): a decimal digit of another script is the ASCII digit
/// of its value, `＋` is `+`, and the punctuation that only `VALID_PUNCTUATION` names (in no
/// extension pattern, neither a letter nor a number) is `(`. Checked against the compiled
/// patterns' character classes and the digit and letter tables by the tests
/// (`ascii_twins_are_indistinguishable`).
fn ascii_twin(fixed: &Fixed, c: char) -> Option<u8> {
    match c {
        '\u{FF0B}' => Some(b'+'),
        '\u{2010}'..='\u{2015}'
        | '\u{2212}'
        | '\u{FF0D}'
        | '\u{FF0F}'
        | '\u{00AD}'
        | '\u{200B}'
        | '\u{2060}'
        | '\u{3000}'
        | '\u{FF08}'
        | '\u{FF09}'
        | '\u{FF3B}'
        | '\u{FF3D}'
        | '\u{2053}'
        | '\u{223C}' => Some(b'('),
        c => fixed.nd.digit(c).map(|d| b'0' + d),
    }
}

/// `str::find` for a short ASCII needle: the first position where it starts. (The general
/// substring search builds a searcher per call, costlier than the search on short texts.)
fn find(hay: &str, needle: &str) -> Option<usize> {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    let first = *needle.first()?;
    (0..hay.len()).find(|&i| {
        hay.get(i) == Some(&first) && hay.get(i..).is_some_and(|rest| rest.starts_with(needle))
    })
}

/// `isPhoneContextValid` (RFC 3966 global-number-digits or domain name).
fn is_phone_context_valid(fixed: &Fixed, context: &str) -> bool {
    !context.is_empty()
        && (fixed.global_number_digits.is_match(context) || fixed.domain_name.is_match(context))
}

/// `extractPossibleNumber`.
fn extract_possible_number<'t>(fixed: &Fixed, text: &'t str, scan: Scan) -> &'t str {
    let start = if scan.has(NON_ASCII) {
        text.char_indices()
            .find(|&(_, c)| c == '+' || c == '\u{FF0B}' || fixed.is_digit(c))
            .map(|(i, _)| i)
    } else {
        text.bytes().position(|b| b == b'+' || b.is_ascii_digit())
    };
    let Some(start) = start else {
        return "";
    };
    let mut number = text.get(start..).unwrap_or("");
    // UNWANTED_END_CHARS: a run at the end of characters that are neither letters nor
    // numbers (Python's `isalnum`), other than '#' — or '_'.
    number = number.trim_end_matches(|c: char| c == '_' || (c != '#' && !fixed.is_alnum(c)));
    // SECOND_NUMBER_START: `[\\/] *x`.
    if !scan.has(SLASH) {
        return number;
    }
    let bytes = number.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\\' || b == b'/' {
            let mut j = i + 1;
            while bytes.get(j) == Some(&b' ') {
                j += 1;
            }
            if bytes.get(j) == Some(&b'x') {
                return number.get(..i).unwrap_or("");
            }
        }
    }
    number
}

/// The common case of `buildNationalNumberForParsing`, `isViablePhoneNumber` and `normalize`
/// in two short passes: for a plain text (all ASCII, no `;` and no character an extension
/// needs), the number `extractPossibleNumber` finds (from the first `+` or digit to the last
/// letter or digit: there is no `#` to keep, no RFC 3966 parameter, and no second number, which
/// needs an `x`), when [`viable_by_shape`] says it is viable and it has fewer than 3 letters
/// (so `normalize` keeps its digits only); its digits go into `digits`. `None`: take the
/// general path.
fn plain_number<'t>(text: &'t str, scan: Scan, digits: &mut Digits) -> Option<&'t str> {
    if scan.has(NON_ASCII | SEMICOLON | EXTENSION) {
        return None;
    }
    let bytes = text.as_bytes();
    let start = bytes
        .iter()
        .position(|&b| b == b'+' || b.is_ascii_digit())?;
    let end = bytes.iter().rposition(u8::is_ascii_alphanumeric)? + 1;
    let number = text.get(start..end)?;
    digits.len = 0;
    let plus = number.bytes().take_while(|&b| b == b'+').count();
    let mut count = 0usize;
    let mut letters = 0usize;
    for &b in number.as_bytes().get(plus..)? {
        let class = class(b);
        if class & DIGIT != 0 {
            digits.push(b);
            count += 1;
        } else if class & PUNCTUATION_OR_STAR != 0 {
            // Allowed anywhere (`x`, the only letter among them, is not in a plain text).
        } else if class & LETTER != 0 && count >= 3 {
            letters += 1;
        } else {
            return None;
        }
    }
    // The same test as `viable_by_shape`, digits collected on the way.
    (count >= 3 && letters < 3).then_some(number)
}

/// Whether `full` already holds the number's digits (`normalize`), or how to get them.
#[derive(Clone, Copy)]
enum Digitized {
    /// [`plain_number`] put them there.
    Done,
    /// [`normalize_text`], knowing what the text holds.
    Todo(Scan),
}

/// `isViablePhoneNumber`.
fn is_viable(fixed: &Fixed, number: &str) -> bool {
    viable_by_shape(number.as_bytes())
        || (number.chars().nth(MIN_NSN - 1).is_some() && fixed.viable.is_match(number))
}

/// A sufficient condition for `isViablePhoneNumber`, for the common shapes: optional `+`
/// signs, then at least 3 ASCII digits with only ASCII characters of `VALID_PUNCTUATION` or
/// `*` before the third, then only those, ASCII digits and ASCII letters. Such a text matches
/// the second alternative of `VALID_PHONE_NUMBER` without an extension (`[+]*` takes the
/// signs, `(?:[P*]*\d){3,}` the text up to the third digit, `[P*A-Za-z\d]*` the rest), so
/// `true` is always the pattern's answer; `false` means "ask the pattern", which decides every
/// other text (two digits, fewer than three, an extension, other scripts).
fn viable_by_shape(number: &[u8]) -> bool {
    let start = number.iter().take_while(|&&b| b == b'+').count();
    let mut digits = 0usize;
    for &b in number.get(start..).unwrap_or(&[]) {
        let class = class(b);
        if class & DIGIT != 0 {
            digits += 1;
        } else if class & PUNCTUATION_OR_STAR == 0 && (digits < 3 || class & LETTER == 0) {
            return false;
        }
    }
    digits >= 3
}

/// `maybeStripExtension`: the number without its extension (the extension's digits are not
/// part of an E.164 number).
fn strip_extension<'n>(fixed: &Fixed, number: &'n str, scan: Scan) -> &'n str {
    if !scan.has(EXTENSION) || !may_have_extension(number) {
        return number;
    }
    match fixed.extension.find(number) {
        Some(m) => {
            let before = number.get(..m.start()).unwrap_or("");
            if is_viable(fixed, before) {
                before
            } else {
                number
            }
        }
        None => number,
    }
}

/// A necessary condition for an extension: every alternative of the extension pattern needs
/// `;`, `,`, `#`, `~`, an `x` (of `ext`, `anexo` or alone), the `i` of `int`, or a character
/// outside ASCII (full-width labels, `доб`). Plain numbers skip the search.
fn may_have_extension(number: &str) -> bool {
    number.bytes().any(|b| class(b) & EXTENSION != 0)
}

/// Byte classes of [`class`]: the ASCII digits.
const DIGIT: u8 = 1;
/// The ASCII letters.
const LETTER: u8 = 2;
/// The ASCII characters of `VALID_PUNCTUATION`, and `*`.
const PUNCTUATION_OR_STAR: u8 = 4;
/// The bytes an extension needs one of ([`may_have_extension`]).
const EXTENSION: u8 = 8;
/// `/` and `\`, which start a second number.
const SLASH: u8 = 16;
/// `;`, which starts RFC 3966 parameters.
const SEMICOLON: u8 = 32;
/// The bytes of characters outside ASCII.
const NON_ASCII: u8 = 64;

/// The classes of a byte, from a table built at compile time.
fn class(b: u8) -> u8 {
    CLASSES[usize::from(b)]
}

static CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        if b.is_ascii_digit() {
            c |= DIGIT;
        }
        if b.is_ascii_alphabetic() {
            c |= LETTER;
        }
        if matches!(
            b,
            b'-' | b'x' | b' ' | b'(' | b')' | b'.' | b'[' | b']' | b'/' | b'~' | b'*'
        ) {
            c |= PUNCTUATION_OR_STAR;
        }
        if matches!(b, b';' | b',' | b'#' | b'~' | b'x' | b'X' | b'i' | b'I') || !b.is_ascii() {
            c |= EXTENSION;
        }
        if matches!(b, b'/' | b'\\') {
            c |= SLASH;
        }
        if b == b';' {
            c |= SEMICOLON;
        }
        if !b.is_ascii() {
            c |= NON_ASCII;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// What a text holds, from one pass over its bytes: the byte classes present and the number
/// of ASCII letters. Every string `parse` looks at later (the number extracted from the text,
/// without its extension or `+`) is made of the text's characters, so a class absent from the
/// text is absent from them, and they have no more letters.
#[derive(Clone, Copy)]
struct Scan {
    classes: u8,
    letters: usize,
}

impl Scan {
    fn of(text: &str) -> Scan {
        let mut classes = 0;
        let mut letters = 0;
        for &b in text.as_bytes() {
            let c = class(b);
            classes |= c;
            letters += usize::from(c & LETTER != 0);
        }
        Scan { classes, letters }
    }

    /// A text that may hold anything: every shortcut is off.
    #[cfg(test)]
    const ANYTHING: Scan = Scan {
        classes: u8::MAX,
        letters: usize::MAX,
    };

    fn has(self, class: u8) -> bool {
        self.classes & class != 0
    }

    /// Whether `normalize_text` keeps just the ASCII digits of any part of the text: all
    /// ASCII (no other script's digits), fewer than 3 letters (no keypad letters).
    fn ascii_digits_only(self) -> bool {
        !self.has(NON_ASCII) && self.letters < 3
    }
}

/// What `maybeExtractCountryCode` finds.
enum Extracted<'a> {
    /// A calling code in the text, and the national number after it.
    Code(&'static Code, &'a [u8]),
    /// No calling code in the text: its digits, the national number.
    National(&'a [u8]),
}

/// `maybeExtractCountryCode`. `full` receives the number's digits (`normalize`: the same
/// with or without the leading `+`), unless they are there already; `transformed` the number
/// rewritten by a transform rule, when one applies.
fn extract_country_code<'a>(
    number: &str,
    digits: Digitized,
    default: Option<(&'static Code, &'static Meta)>,
    full: &'a mut Digits,
    transformed: &'a mut Option<Digits>,
) -> Result<Extracted<'a>, NotValid> {
    if number.is_empty() {
        return Ok(Extracted::National(&[]));
    }
    let international: &'a [u8] = if starts_with_plus(number) {
        if let Digitized::Todo(scan) = digits {
            normalize_text(strip_plus(number), scan, full);
        }
        let full: &'a Digits = full;
        full.as_slice()
    } else {
        if let Digitized::Todo(scan) = digits {
            normalize_text(number, scan, full);
        }
        let full: &'a Digits = full;
        match default.and_then(|(_, meta)| strip_idd(meta, full.as_slice())) {
            Some(after) => after,
            None => {
                return Ok(match default {
                    Some((code, meta)) => {
                        match default_country_code(code, meta, full.as_slice(), transformed) {
                            Some((code, nsn)) => Extracted::Code(code, nsn),
                            None => Extracted::National(full.as_slice()),
                        }
                    }
                    None => Extracted::National(full.as_slice()),
                });
            }
        }
    };
    if international.len() <= MIN_NSN {
        return Err(NotValid::TooShortAfterIdd);
    }
    calling_code(international)
        .map(|(code, nsn)| Extracted::Code(code, nsn))
        .ok_or(NotValid::InvalidCountryCode)
}

/// `extractCountryCode`: the first assigned 1-, 2- or 3-digit prefix (none starts with 0).
fn calling_code(digits: &[u8]) -> Option<(&'static Code, &[u8])> {
    if digits.first() == Some(&b'0') {
        return None;
    }
    let mut cc = 0usize;
    for (i, &d) in digits.iter().take(3).enumerate() {
        cc = cc * 10 + usize::from(d.wrapping_sub(b'0'));
        let slot = usize::from(*CODE_INDEX.get(cc)?);
        if slot != 0 {
            let code = CODES.get(slot - 1)?;
            return Some((code, digits.get(i + 1..)?));
        }
    }
    None
}

/// The default region's calling code written without `+` or international prefix: kept as a
/// calling code when the number did not match the region's general pattern and the rest does
/// (national prefix stripped), or when the number is too long for the region.
fn default_country_code<'a>(
    code: &'static Code,
    meta: &'static Meta,
    full: &'a [u8],
    transformed: &'a mut Option<Digits>,
) -> Option<(&'static Code, &'a [u8])> {
    let (cc, cc_len) = cc_digits(code.cc);
    let prefix = cc.get(..cc_len)?;
    let rest = full.strip_prefix(prefix)?;
    let potential = strip_national_prefix(code, meta, rest, transformed).unwrap_or(rest);
    let general = |d: &[u8]| walk(code, d).full(meta.general.pattern);
    let better = !general(full) && general(potential);
    (better || test_length(meta, full.len()) == Length::TooLong).then_some((code, potential))
}

/// The end of the leftmost-first match of a prefix pattern at the start of `digits` (Python's
/// `re.match`), run on the pattern's compact DFA at `table` in [`PREFIX`]: the last position
/// where the DFA says a match ends, before it dies.
fn prefix_match(table: u32, digits: &[u8]) -> Option<usize> {
    let base = usize::try_from(table).ok()?;
    let cell = |state: usize, k: usize| u16_at(PREFIX, base + state * PREFIX_ROW + k);
    let mut state = 1;
    let mut end = None;
    for (i, &b) in digits.iter().enumerate() {
        if cell(state, 10) != 0 {
            end = Some(i);
        }
        let digit = usize::from(b.wrapping_sub(b'0'));
        if digit > 9 {
            return end;
        }
        state = cell(state, digit);
        if state == 0 {
            return end;
        }
    }
    if cell(state, 11) != 0 {
        end = Some(digits.len());
    }
    end
}

/// `maybeStripI18nPrefixAndNormalize` with the region's international prefix: the digits after
/// it, unless the next digit is 0.
fn strip_idd<'d>(meta: &Meta, full: &'d [u8]) -> Option<&'d [u8]> {
    let end = prefix_match(meta.idd_table?, full)?;
    let after = full.get(end..)?;
    if after.first() == Some(&b'0') {
        return None;
    }
    Some(after)
}

/// `maybeStripNationalPrefixAndCarrierCode`: the number without its national prefix (or
/// transformed by the region's rule, into `transformed`), `None` when nothing is stripped.
fn strip_national_prefix<'a>(
    code: &Code,
    meta: &Meta,
    number: &'a [u8],
    transformed: &'a mut Option<Digits>,
) -> Option<&'a [u8]> {
    if number.is_empty() {
        return None;
    }
    let end = prefix_match(meta.npfp_table?, number)?;
    let stripped: &'a [u8] = if meta.national_prefix_transform_rule.is_some() {
        transform(meta, number, transformed)?
    } else {
        number.get(end..)?
    };
    let general = |d: &[u8]| walk(code, d).full(meta.general.pattern);
    if general(number) && !general(stripped) {
        return None;
    }
    Some(stripped)
}

/// The national prefix of a region with a transform rule, which matches (the prefix DFA said
/// so): the rule applied when its last capture group took part, else the prefix removed.
fn transform<'a>(
    meta: &Meta,
    number: &'a [u8],
    transformed: &'a mut Option<Digits>,
) -> Option<&'a [u8]> {
    let patterns = region_patterns(meta)?;
    let (re, groups) = patterns.npfp.as_ref()?;
    let input = Input::new(number).anchored(Anchored::Yes);
    let mut slots = [None::<NonMaxUsize>; 2 * (MAX_NPFP_GROUPS + 1)];
    let slots = slots.get_mut(..2 * (groups + 1))?;
    re.search_slots(&input, slots)?;
    let span = |g: usize| -> Option<(usize, usize)> {
        let start = slots
            .get(2 * g)
            .copied()
            .flatten()
            .map_or(0, NonMaxUsize::get);
        let end = slots.get(2 * g + 1).copied().flatten()?.get();
        Some((start, end))
    };
    let (_, end) = span(0)?;
    match &patterns.transform {
        Some(rule) if *groups > 0 && span(*groups).is_some() => {
            let out = transformed.insert(Digits::new());
            for tok in rule.iter() {
                match tok {
                    Tok::Lit(l) => out.push_slice(l.as_bytes()),
                    Tok::Group(g) => {
                        if let Some((s, e)) = span(*g) {
                            out.push_slice(number.get(s..e)?);
                        }
                    }
                }
            }
            out.push_slice(number.get(end..)?);
            let out: &'a Digits = out;
            Some(out.as_slice())
        }
        _ => number.get(end..),
    }
}

/// `normalize`, into `out`: keypad letters to digits when the text has 3 ASCII letters or
/// more (then only ASCII digits and letters count), else every decimal digit, in any script.
fn normalize_text(text: &str, scan: Scan, out: &mut Digits) {
    out.len = 0;
    let bytes = text.as_bytes();
    if scan.ascii_digits_only() {
        out.push_ascii_digits(bytes);
        return;
    }
    let letters = bytes.iter().filter(|b| b.is_ascii_alphabetic()).count();
    if letters >= 3 && !bytes.contains(&b'\n') {
        for c in text.chars() {
            let upper = match c {
                '\u{131}' => 'I', // dotless i: Python's upper() gives I
                '\u{17F}' => 'S', // long s: Python's upper() gives S
                c => c.to_ascii_uppercase(),
            };
            if upper.is_ascii_digit() {
                out.push(upper as u8);
            } else if upper.is_ascii_uppercase() {
                out.push(keypad(upper));
            }
        }
    } else if text.is_ascii() {
        out.push_ascii_digits(bytes);
    } else {
        let fixed = fixed();
        for c in text.chars() {
            if let Some(d) = fixed.nd.digit(c) {
                out.push(b'0' + d);
            }
        }
    }
}

/// The digit of a letter on a phone keypad (ITU E.161).
fn keypad(c: char) -> u8 {
    match c {
        'A'..='C' => b'2',
        'D'..='F' => b'3',
        'G'..='I' => b'4',
        'J'..='L' => b'5',
        'M'..='O' => b'6',
        'P'..='S' => b'7',
        'T'..='V' => b'8',
        _ => b'9',
    }
}

/// Digits in a stack buffer.
#[derive(Clone, Copy)]
struct Digits {
    data: [u8; DIGITS],
    len: usize,
}

impl Digits {
    fn new() -> Digits {
        Digits {
            data: [0; DIGITS],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.data.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push_slice(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }

    /// Appends the ASCII digits of `bytes` (the only ASCII decimal digits are 0-9).
    fn push_ascii_digits(&mut self, bytes: &[u8]) {
        let mut len = self.len;
        for &b in bytes {
            if b.is_ascii_digit()
                && let Some(slot) = self.data.get_mut(len)
            {
                *slot = b;
                len += 1;
            }
        }
        self.len = len;
    }

    fn as_slice(&self) -> &[u8] {
        self.data.get(..self.len).unwrap_or(&[])
    }
}

/// Appends bytes to a fixed buffer, dropping what does not fit (the buffers are sized so
/// that nothing is ever dropped).
struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    fn new(buf: &'b mut [u8]) -> Writer<'b> {
        Writer { buf, len: 0 }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push_slice(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }
}

/// The most capture groups of a national prefix for parsing.
const MAX_NPFP_GROUPS: usize = 8;

/// A token of a transform rule (Python `re.sub` template: `\N` is group N).
#[derive(Debug)]
enum Tok {
    Lit(String),
    Group(usize),
}

/// The national prefix for parsing of a region with a transform rule, compiled with its
/// capture groups on first use (AR, BR, JP, the NANP islands, …: the rule reads the groups).
struct RegionPatterns {
    npfp: Option<(meta::Regex, usize)>,
    transform: Option<Vec<Tok>>,
}

static REGION_PATTERNS: [OnceLock<Option<RegionPatterns>>; REGION_COUNT] =
    [const { OnceLock::new() }; REGION_COUNT];

fn digit_regex(pattern: &str) -> Option<meta::Regex> {
    meta::Regex::builder()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .build(pattern)
        .ok()
}

fn region_patterns(meta: &Meta) -> Option<&'static RegionPatterns> {
    REGION_PATTERNS
        .get(usize::from(meta.slot))?
        .get_or_init(|| {
            let npfp = match meta.national_prefix_for_parsing {
                Some(p) if !p.is_empty() => {
                    let re = digit_regex(p)?;
                    let groups = re.group_info().group_len(regex_automata::PatternID::ZERO) - 1;
                    (groups <= MAX_NPFP_GROUPS).then_some((re, groups))
                }
                _ => None,
            };
            let transform = meta
                .national_prefix_transform_rule
                .filter(|r| !r.is_empty())
                .map(template);
            Some(RegionPatterns { npfp, transform })
        })
        .as_ref()
}

/// A transform rule: `\N` (Python's `re.sub` template) or `$N` (Java's) is group N, the
/// rest literal.
fn template(rule: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut lit = String::new();
    let mut chars = rule.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '\\' | '$')
            && let Some(d) = chars.peek().and_then(|d| d.to_digit(10))
        {
            chars.next();
            let mut g = d as usize;
            if let Some(d2) = chars.peek().and_then(|d| d.to_digit(10)) {
                chars.next();
                g = g * 10 + d2 as usize;
            }
            if !lit.is_empty() {
                toks.push(Tok::Lit(std::mem::take(&mut lit)));
            }
            toks.push(Tok::Group(g));
            continue;
        }
        lit.push(c);
    }
    if !lit.is_empty() {
        toks.push(Tok::Lit(lit));
    }
    toks
}

/// A set of characters as sorted, disjoint ranges.
struct Ranges(Vec<(char, char)>);

impl Ranges {
    fn of(class: &str) -> Ranges {
        let ranges = regex_syntax::parse(class)
            .ok()
            .and_then(|hir| match hir.into_kind() {
                regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(c)) => {
                    Some(c.ranges().iter().map(|r| (r.start(), r.end())).collect())
                }
                _ => None,
            })
            .unwrap_or_default();
        Ranges(ranges)
    }

    fn find(&self, c: char) -> Option<(char, char)> {
        let i = self.0.partition_point(|&(_, end)| end < c);
        self.0.get(i).copied().filter(|&(start, _)| start <= c)
    }

    fn contains(&self, c: char) -> bool {
        self.find(c).is_some()
    }

    /// For the decimal digits (`\p{Nd}`): Unicode encodes them in runs of ten, 0 to 9, so a
    /// digit's value is its distance from the start of its range, modulo ten.
    fn digit(&self, c: char) -> Option<u8> {
        if c.is_ascii_digit() {
            return Some(c as u8 - b'0');
        }
        let (start, _) = self.find(c)?;
        u8::try_from((u32::from(c) - u32::from(start)) % 10).ok()
    }
}

/// The patterns that do not depend on a region (libphonenumber's constants).
struct Fixed {
    /// `\p{Nd}`.
    nd: Ranges,
    /// Python's `isalnum`: letters and numbers.
    alnum: Ranges,
    /// `^(?:VALID_PHONE_NUMBER)$`, case-insensitive.
    viable: Pattern,
    /// `(?:EXTN_PATTERNS_FOR_PARSING)$`, case-insensitive.
    extension: Pattern,
    /// RFC 3966 global-number-digits, whole string.
    global_number_digits: Pattern,
    /// RFC 3966 domain name, whole string.
    domain_name: Pattern,
}

impl Fixed {
    /// `\p{Nd}`: a decimal digit of any script (of ASCII, only 0-9).
    fn is_digit(&self, c: char) -> bool {
        if c.is_ascii() {
            c.is_ascii_digit()
        } else {
            self.nd.contains(c)
        }
    }

    /// Python's `isalnum` (of ASCII, only letters and digits).
    fn is_alnum(&self, c: char) -> bool {
        if c.is_ascii() {
            c.is_ascii_alphanumeric()
        } else {
            self.alnum.contains(c)
        }
    }
}

static FIXED: OnceLock<Fixed> = OnceLock::new();

fn fixed() -> &'static Fixed {
    FIXED.get_or_init(|| Fixed {
        nd: Ranges::of(patterns::DIGIT),
        alnum: Ranges::of(patterns::ALNUM),
        viable: Pattern::new(&patterns::viable_regex()),
        extension: Pattern::new(&patterns::extension_regex()),
        global_number_digits: Pattern::new(&patterns::global_number_digits_regex()),
        domain_name: Pattern::new(&patterns::domain_name_regex()),
    })
}

/// A compiled constant pattern. The patterns are libphonenumber's constants, checked by the
/// tests; one that failed to compile would match nothing rather than panic.
struct Pattern(Option<meta::Regex>);

impl Pattern {
    fn new(pattern: &str) -> Pattern {
        Pattern(meta::Regex::new(pattern).ok())
    }

    fn is_match(&self, hay: &str) -> bool {
        self.0.as_ref().is_some_and(|re| re.is_match(hay))
    }

    fn find(&self, hay: &str) -> Option<regex_automata::Match> {
        self.0.as_ref()?.find(hay)
    }
}

#[cfg(test)]
mod tests {
    use super::patterns::{extension_pattern, extension_regex, viable_pattern, viable_regex};
    use super::*;

    fn n(text: &str, region: &str) -> Result<String, NotValid> {
        normalize(text, region.parse().unwrap()).map(|e| e.as_str().to_owned())
    }

    #[test]
    fn fixed_patterns_compile() {
        assert!(
            regex_automata::meta::Regex::new(&format!("(?i)^(?:{})$", viable_pattern())).is_ok()
        );
        assert!(
            regex_automata::meta::Regex::new(&format!("(?i)(?:{})$", extension_pattern())).is_ok()
        );
        let f = fixed();
        assert!(f.nd.contains('٣') && f.nd.digit('٣') == Some(3));
        assert_eq!(f.nd.digit('９'), Some(9));
        assert!(f.alnum.contains('é') && !f.alnum.contains('-'));
    }

    #[test]
    fn ascii_shortcuts_agree_with_the_unicode_tables() {
        let f = fixed();
        for b in 0u8..128 {
            let c = char::from(b);
            assert_eq!(f.is_digit(c), f.nd.contains(c), "{c:?}");
            assert_eq!(f.is_alnum(c), f.alnum.contains(c), "{c:?}");
            assert_eq!(f.nd.digit(c).is_some(), f.nd.contains(c), "{c:?}");
        }
    }

    #[test]
    fn national_and_international_forms() {
        assert_eq!(n("(415) 555-9876", "US").as_deref(), Ok("+14155559876"));
        assert_eq!(
            n("00 44 20 7031 3000", "DE").as_deref(),
            Ok("+442070313000")
        );
        assert_eq!(
            n("011 44 20 7031 3000", "US").as_deref(),
            Ok("+442070313000")
        );
        assert_eq!(
            n("+44 (0) 20 7031 3000", "US").as_deref(),
            Ok("+442070313000")
        );
        assert_eq!(n("020 7031 3000", "GB").as_deref(), Ok("+442070313000"));
        assert_eq!(n("1-800-FLOWERS", "US").as_deref(), Ok("+18003569377"));
        assert_eq!(
            n("tel:415-555-9876;phone-context=+1", "ZZ").as_deref(),
            Ok("+14155559876")
        );
        assert_eq!(
            n("+１ ４１５ ５５５ ９８７６", "ZZ").as_deref(),
            Ok("+14155559876")
        );
    }

    #[test]
    fn reasons() {
        assert_eq!(n("", "US"), Err(NotValid::NotANumber));
        assert_eq!(n("hello", "US"), Err(NotValid::NotANumber));
        assert_eq!(n("415 555 9876", "ZZ"), Err(NotValid::InvalidCountryCode));
        assert_eq!(n("+999 1234 5678", "US"), Err(NotValid::InvalidCountryCode));
        assert_eq!(n(&"4".repeat(251), "US"), Err(NotValid::TooLong));
        assert_eq!(n("tel:123;phone-context=", "US"), Err(NotValid::NotANumber));
    }

    /// The differential corpus's `(region, text)` pairs.
    fn corpus() -> Vec<(Region, String)> {
        use std::io::Read;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/normalize_corpus.tsv.gz"
        );
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).expect("corpus"))
            .read_to_string(&mut text)
            .expect("gzip, UTF-8");
        text.lines()
            .skip(1)
            .map(|l| {
                let mut f = l.split('\t');
                let region = f.next().and_then(|r| r.parse().ok()).expect("region");
                (region, f.next().expect("text").to_owned())
            })
            .collect()
    }

    /// `isViablePhoneNumber` by libphonenumber's pattern alone.
    fn viable_by_pattern(s: &str) -> bool {
        s.chars().nth(1).is_some() && fixed().viable.is_match(s)
    }

    #[test]
    fn every_shortcut_gives_the_general_paths_answer_on_the_corpus() {
        let f = fixed();
        let mut plain = 0;
        for (region, text) in corpus() {
            let fast = parse_with(&text, region, Scan::of(&text));
            let general = parse_with(&text, region, Scan::ANYTHING);
            assert_eq!(
                fast.as_ref().map(|(c, n)| (c.cc, n.as_slice())),
                general.as_ref().map(|(c, n)| (c.cc, n.as_slice())),
                "{region} {text:?}"
            );
            // The viability shortcut (taken on both paths above) against the pattern alone.
            let mut context = None;
            if let Ok(number) = national_number_for_parsing(f, &text, Scan::ANYTHING, &mut context)
            {
                assert!(!viable_by_shape(number.as_bytes()) || viable_by_pattern(number));
                let mut digits = Digits::new();
                if let Some(n) = plain_number(&text, Scan::of(&text), &mut digits) {
                    plain += 1;
                    assert_eq!(n, number, "{text:?}");
                    assert!(viable_by_pattern(n), "{text:?}");
                    let mut general = Digits::new();
                    normalize_text(n, Scan::ANYTHING, &mut general);
                    assert_eq!(digits.as_slice(), general.as_slice(), "{text:?}");
                }
            }
            assert!(!viable_by_shape(text.as_bytes()) || viable_by_pattern(&text));
        }
        assert!(plain > 100_000, "the plain path is the common one: {plain}");
    }

    proptest::proptest! {
        #[test]
        fn the_viability_shortcut_implies_the_pattern(
            s in "[+0-9xX() .\\-\\[\\]/~*#,;:aA-Za-z\t]{0,24}"
        ) {
            proptest::prop_assert!(!viable_by_shape(s.as_bytes()) || viable_by_pattern(&s), "{:?}", s);
        }
    }

    /// Each territory's `(international prefix, national prefix for parsing)` patterns, from
    /// the committed metadata, by calling code and region code.
    fn prefix_patterns() -> std::collections::HashMap<(u16, String), [Option<String>; 2]> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/e164/metadata.jsonl");
        let text = std::fs::read_to_string(path).expect("metadata");
        text.lines()
            .filter(|l| l.starts_with("{\"id\""))
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
                let s = |k: &str| v[k].as_str().map(str::to_owned);
                let cc = v["country_code"].as_u64().expect("cc") as u16;
                let npfp = s("national_prefix_for_parsing").filter(|p| !p.is_empty());
                (
                    (cc, s("id").expect("id")),
                    [s("international_prefix"), npfp],
                )
            })
            .collect()
    }

    #[test]
    fn the_prefix_tables_match_as_the_patterns_do() {
        let patterns = prefix_patterns();
        // Digit strings: every prefix of a few thousand pseudo-random ones, and the corpus's.
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..400 {
            let mut d = Vec::new();
            for _ in 0..14 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly 0 and 1, as prefixes are.
                let digit = match x % 16 {
                    0..=5 => 0,
                    6..=9 => 1,
                    k => (k % 10) as u8,
                };
                d.push(b'0' + digit);
                inputs.push(d.clone());
            }
        }
        for (_, text) in corpus().iter().step_by(7) {
            let mut d = Digits::new();
            normalize_text(text, Scan::ANYTHING, &mut d);
            inputs.push(d.as_slice().to_vec());
        }
        let mut checked = 0;
        for code in CODES.iter() {
            for meta in code.regions {
                let [idd, npfp] = patterns
                    .get(&(code.cc, meta.id.to_owned()))
                    .cloned()
                    .expect("territory in the metadata");
                for (table, pattern) in [(meta.idd_table, idd), (meta.npfp_table, npfp)] {
                    assert_eq!(table.is_some(), pattern.is_some(), "{}", meta.id);
                    let (Some(table), Some(pattern)) = (table, pattern) else {
                        continue;
                    };
                    let re = digit_regex(&pattern).expect("pattern compiles");
                    for d in &inputs {
                        let want = re
                            .search(&Input::new(d).anchored(Anchored::Yes))
                            .map(|m| m.end());
                        assert_eq!(prefix_match(table, d), want, "{pattern} on {d:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1_000_000, "{checked}");
    }

    /// Every character class and literal character of a pattern, as `regex-syntax` reads it
    /// (case folding applied).
    fn atoms(hir: &regex_syntax::hir::Hir, classes: &mut Vec<Ranges>, literal: &mut Vec<char>) {
        use regex_syntax::hir::{Class, HirKind};
        match hir.kind() {
            HirKind::Literal(l) => literal.extend(String::from_utf8_lossy(&l.0).chars()),
            HirKind::Class(Class::Unicode(c)) => classes.push(Ranges(
                c.ranges().iter().map(|r| (r.start(), r.end())).collect(),
            )),
            HirKind::Class(Class::Bytes(_)) => panic!("byte class in a Unicode pattern"),
            HirKind::Repetition(r) => atoms(&r.sub, classes, literal),
            HirKind::Capture(c) => atoms(&c.sub, classes, literal),
            HirKind::Concat(subs) | HirKind::Alternation(subs) => {
                for sub in subs {
                    atoms(sub, classes, literal);
                }
            }
            HirKind::Empty | HirKind::Look(_) => {}
        }
    }

    #[test]
    fn ascii_twins_are_indistinguishable() {
        let f = fixed();
        let mut classes = Vec::new();
        let mut literal = Vec::new();
        for pattern in [viable_regex(), extension_regex()] {
            let hir = regex_syntax::parse(&pattern).expect("pattern parses");
            atoms(&hir, &mut classes, &mut literal);
        }
        assert!(classes.len() > 10, "{}", classes.len());
        // The characters the code itself looks at (`+`, `#`, `_`, `;`, `\n`, a second
        // number's `/ x`, ASCII letters).
        let special = |c: char| "+#_;\n/\\ x".contains(c) || c.is_ascii_alphabetic();
        let mut twins = 0;
        for c in (0x80..=0x10FFFF).filter_map(char::from_u32) {
            let Some(twin) = ascii_twin(f, c) else {
                continue;
            };
            twins += 1;
            let q = char::from(twin);
            assert!(q.is_ascii() && (c == '\u{FF0B}') == (q == '+'), "{c:?}");
            assert!(!special(q) || q == '+', "{c:?} -> {q:?}");
            for class in &classes {
                assert_eq!(class.contains(c), class.contains(q), "{c:?} -> {q:?}");
            }
            assert!(
                !literal.contains(&c) && !literal.contains(&q),
                "{c:?} -> {q:?}"
            );
            assert_eq!(f.is_digit(c), f.is_digit(q), "{c:?}");
            assert_eq!(f.nd.digit(c), f.nd.digit(q), "{c:?}");
            assert_eq!(f.is_alnum(c), f.is_alnum(q), "{c:?}");
        }
        assert!(twins > 600, "{twins}");
    }

    #[test]
    fn short_needle_search_is_str_find() {
        for hay in [
            "",
            "tel:",
            "x;phone-context=+1;phone-context=",
            ";isub",
            "a;isub=1",
            "é;isub=",
            "tel:tel:",
        ] {
            for needle in [";phone-context=", "tel:", ";isub="] {
                assert_eq!(find(hay, needle), hay.find(needle), "{hay:?} {needle:?}");
            }
        }
    }

    #[test]
    fn calling_code_digits() {
        for cc in 1..=999u16 {
            let (d, len) = cc_digits(cc);
            assert_eq!(d.get(..len), Some(cc.to_string().as_bytes()));
        }
    }

    #[test]
    fn templates() {
        let t = template("9\\1");
        assert!(matches!(t.as_slice(), [Tok::Lit(l), Tok::Group(1)] if l == "9"));
        assert!(matches!(template("\\2").as_slice(), [Tok::Group(2)]));
    }
}

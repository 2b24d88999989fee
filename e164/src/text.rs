//! Text to digits: the steps of libphonenumber's `parse` that read the text as typed
//! (`buildNationalNumberForParsing`, `extractPossibleNumber`, `isViablePhoneNumber`,
//! `maybeStripExtension`, `normalize`), with the shortcuts that let a plain text skip the
//! patterns, and the character data they read.
//!
//! libphonenumber's constant patterns (`super::patterns`) were compiled by `build.rs` into
//! DFAs over character classes ([`TextDfa`]); the character tables (decimal digits, letters and
//! numbers) are those of [`super::UNICODE_VERSION`]. Nothing here is compiled at run time or
//! allocates.

use super::metadata::{
    ALNUM_RANGES, CHAR_CLASS_ASCII, CHAR_CLASS_RANGES, CHAR_CLASSES, DIGIT_RANGES, DOMAIN_NAME_DFA,
    EXTENSION_DFA, GLOBAL_NUMBER_DIGITS_DFA, TextDfa, VIABLE_DFA,
};
use super::national::{Buf, Digits, MAX_INPUT_CHARS};

/// `MIN_LENGTH_FOR_NSN`.
pub(crate) const MIN_NSN: usize = 2;
/// Room for the text as parsed: at most 250 characters of at most 4 bytes.
pub(crate) const TEXT_BYTES: usize = 4 * MAX_INPUT_CHARS + 8;

pub(crate) fn starts_with_plus(s: &str) -> bool {
    s.starts_with(['+', '\u{FF0B}'])
}

pub(crate) fn strip_plus(s: &str) -> &str {
    s.trim_start_matches(['+', '\u{FF0B}'])
}

/// `buildNationalNumberForParsing`.
pub(crate) fn national_number_for_parsing<'a>(
    text: &'a str,
    scan: Scan,
    buf: &'a mut Option<Buf<TEXT_BYTES>>,
) -> Option<&'a str> {
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
            if !is_phone_context_valid(context) {
                return None;
            }
            let buf = buf.insert(Buf::new());
            if context.starts_with('+') {
                buf.push_slice(context.as_bytes());
            }
            let from = find(text, "tel:").map_or(0, |i| i + "tel:".len());
            // Python slices an empty string when the prefix comes after the context.
            buf.push_slice(text.get(from..at).unwrap_or("").as_bytes());
            let buf: &'a Buf<TEXT_BYTES> = buf;
            std::str::from_utf8(buf.as_slice()).ok()?
        }
        None => extract_possible_number(text, scan),
    };
    if !has_parameters {
        return Some(number);
    }
    Some(match find(number, ";isub=") {
        Some(i) if i > 0 => number.get(..i).unwrap_or(number),
        _ => number,
    })
}

/// The text with each character outside ASCII replaced by its [`ascii_twin`], when they all
/// have one (at most [`MAX_INPUT_CHARS`] characters: the caller checked).
pub(crate) fn ascii_twin_text<'b>(
    text: &str,
    buf: &'b mut [u8; MAX_INPUT_CHARS],
) -> Option<&'b str> {
    let mut len = 0;
    for c in text.chars() {
        let b = if c.is_ascii() {
            c as u8
        } else {
            ascii_twin(c)?
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
pub(crate) fn ascii_twin(c: char) -> Option<u8> {
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
        c => digit(c).map(|d| b'0' + d),
    }
}

/// `str::find` for a short ASCII needle: the first position where it starts. (The general
/// substring search builds a searcher per call, costlier than the search on short texts.)
pub(crate) fn find(hay: &str, needle: &str) -> Option<usize> {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    let first = *needle.first()?;
    (0..hay.len()).find(|&i| {
        hay.get(i) == Some(&first) && hay.get(i..).is_some_and(|rest| rest.starts_with(needle))
    })
}

/// `isPhoneContextValid` (RFC 3966 global-number-digits or domain name).
pub(crate) fn is_phone_context_valid(context: &str) -> bool {
    !context.is_empty()
        && (GLOBAL_NUMBER_DIGITS_DFA.is_match(context) || DOMAIN_NAME_DFA.is_match(context))
}

/// `extractPossibleNumber`.
pub(crate) fn extract_possible_number(text: &str, scan: Scan) -> &str {
    let start = if scan.has(NON_ASCII) {
        text.char_indices()
            .find(|&(_, c)| c == '+' || c == '\u{FF0B}' || is_digit(c))
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
    number = number.trim_end_matches(|c: char| c == '_' || (c != '#' && !is_alnum(c)));
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
pub(crate) fn plain_number<'t>(text: &'t str, scan: Scan, digits: &mut Digits) -> Option<&'t str> {
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
pub(crate) enum Digitized {
    /// [`plain_number`] put them there.
    Done,
    /// [`normalize_text`], knowing what the text holds.
    Todo(Scan),
}

/// `isViablePhoneNumber`.
pub(crate) fn is_viable(number: &str) -> bool {
    viable_by_shape(number.as_bytes())
        || (number.chars().nth(MIN_NSN - 1).is_some() && VIABLE_DFA.is_match(number))
}

/// A sufficient condition for `isViablePhoneNumber`, for the common shapes: optional `+`
/// signs, then at least 3 ASCII digits with only ASCII characters of `VALID_PUNCTUATION` or
/// `*` before the third, then only those, ASCII digits and ASCII letters. Such a text matches
/// the second alternative of `VALID_PHONE_NUMBER` without an extension (`[+]*` takes the
/// signs, `(?:[P*]*\d){3,}` the text up to the third digit, `[P*A-Za-z\d]*` the rest), so
/// `true` is always the pattern's answer; `false` means "ask the pattern", which decides every
/// other text (two digits, fewer than three, an extension, other scripts).
pub(crate) fn viable_by_shape(number: &[u8]) -> bool {
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
pub(crate) fn strip_extension(number: &str, scan: Scan) -> &str {
    if !scan.has(EXTENSION) || !may_have_extension(number) {
        return number;
    }
    match EXTENSION_DFA.leftmost_start(number) {
        Some(start) => {
            let before = number.get(..start).unwrap_or("");
            if is_viable(before) { before } else { number }
        }
        None => number,
    }
}

/// A necessary condition for an extension: every alternative of the extension pattern needs
/// `;`, `,`, `#`, `~`, an `x` (of `ext`, `anexo` or alone), the `i` of `int`, or a character
/// outside ASCII (full-width labels, `доб`). Plain numbers skip the search.
pub(crate) fn may_have_extension(number: &str) -> bool {
    number.bytes().any(|b| class(b) & EXTENSION != 0)
}

/// Byte classes of [`class`]: the ASCII digits.
pub(crate) const DIGIT: u8 = 1;
/// The ASCII letters.
pub(crate) const LETTER: u8 = 2;
/// The ASCII characters of `VALID_PUNCTUATION`, and `*`.
pub(crate) const PUNCTUATION_OR_STAR: u8 = 4;
/// The bytes an extension needs one of ([`may_have_extension`]).
pub(crate) const EXTENSION: u8 = 8;
/// `/` and `\`, which start a second number.
pub(crate) const SLASH: u8 = 16;
/// `;`, which starts RFC 3966 parameters.
pub(crate) const SEMICOLON: u8 = 32;
/// The bytes of characters outside ASCII.
pub(crate) const NON_ASCII: u8 = 64;

/// The classes of a byte, from a table built at compile time.
pub(crate) fn class(b: u8) -> u8 {
    CLASSES[usize::from(b)]
}

pub(crate) static CLASSES: [u8; 256] = {
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
pub(crate) struct Scan {
    classes: u8,
    pub(crate) letters: usize,
}

impl Scan {
    pub(crate) fn of(text: &str) -> Scan {
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
    pub(crate) const ANYTHING: Scan = Scan {
        classes: u8::MAX,
        letters: usize::MAX,
    };

    pub(crate) fn has(self, class: u8) -> bool {
        self.classes & class != 0
    }

    /// Whether `normalize_text` keeps just the ASCII digits of any part of the text: all
    /// ASCII (no other script's digits), fewer than 3 letters (no keypad letters).
    pub(crate) fn ascii_digits_only(self) -> bool {
        !self.has(NON_ASCII) && self.letters < 3
    }
}

/// `normalize`, into `out`: keypad letters to digits when the text has 3 ASCII letters or
/// more (then only ASCII digits and letters count), else every decimal digit, in any script.
pub(crate) fn normalize_text(text: &str, scan: Scan, out: &mut Digits) {
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
        for c in text.chars() {
            if let Some(d) = digit(c) {
                out.push(b'0' + d);
            }
        }
    }
}

/// The digit of a letter on a phone keypad (ITU E.161).
pub(crate) fn keypad(c: char) -> u8 {
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

/// Whether `c` is in a class given as sorted, disjoint, inclusive code point ranges; the range.
fn find_range(ranges: &[(u32, u32)], c: char) -> Option<(u32, u32)> {
    let c = u32::from(c);
    let i = ranges.partition_point(|&(_, end)| end < c);
    ranges.get(i).copied().filter(|&(start, _)| start <= c)
}

/// `\d` of the oracle: a decimal digit of any script (of ASCII, only 0-9).
pub(crate) fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        find_range(&DIGIT_RANGES, c).is_some()
    }
}

/// The value of a decimal digit: Unicode encodes them in runs of ten, 0 to 9, so a digit's
/// value is its distance from the start of its range, modulo ten.
pub(crate) fn digit(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c as u8 - b'0');
    }
    let (start, _) = find_range(&DIGIT_RANGES, c)?;
    u8::try_from((u32::from(c) - start) % 10).ok()
}

/// Python's `isalnum` (of ASCII, only letters and digits).
pub(crate) fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        find_range(&ALNUM_RANGES, c).is_some()
    }
}

/// The class of a character in the text patterns' alphabet (0: a character none names).
fn char_class(c: char) -> usize {
    if let Some(&class) = CHAR_CLASS_ASCII.get(c as usize) {
        return usize::from(class);
    }
    let c = u32::from(c);
    let i = CHAR_CLASS_RANGES.partition_point(|&(_, end, _)| end < c);
    CHAR_CLASS_RANGES
        .get(i)
        .filter(|&&(start, _, _)| start <= c)
        .map_or(0, |&(_, _, class)| usize::from(class))
}

impl TextDfa {
    /// Row width: a next state per character class, the match flag, the end-of-text flag.
    const WIDTH: usize = CHAR_CLASSES + 2;

    fn cell(&self, state: usize, k: usize) -> usize {
        self.rows
            .get(state * Self::WIDTH + k)
            .map_or(0, |&s| usize::from(s))
    }

    /// Whether the (anchored, whole-text) pattern matches all of `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let mut state = 1;
        for c in text.chars() {
            state = self.cell(state, char_class(c));
            if state == 0 {
                return false;
            }
        }
        self.cell(state, CHAR_CLASSES + 1) != 0
    }

    /// For a pattern compiled reversed: the leftmost position where a match starts (all its
    /// matches end at the end of the text), as `re.search(...).start()` gives it.
    pub(crate) fn leftmost_start(&self, text: &str) -> Option<usize> {
        let mut state = 1;
        let mut start = None;
        for (i, c) in text.char_indices().rev() {
            state = self.cell(state, char_class(c));
            if state == 0 {
                return start;
            }
            // A match state: a match ended (read backwards) before this character.
            if self.cell(state, CHAR_CLASSES) != 0 {
                start = Some(i + c.len_utf8());
            }
        }
        if self.cell(state, CHAR_CLASSES + 1) != 0 {
            start = Some(0);
        }
        start
    }
}

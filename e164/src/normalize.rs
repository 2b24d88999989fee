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
//! This module is the parse itself: the default region, the calling code, the national
//! number. Reading the text (steps 1 to 3, and `normalize`'s text to digits) is
//! [`super::text`]; the steps on digits that the strict validator takes too (the calling code,
//! the national prefix, the length test) are [`super::national`]. Every pattern was compiled
//! by `build.rs`; the work is done in stack buffers: nothing is compiled or allocated per call,
//! the first included.

use std::fmt;
use std::str::FromStr;

use super::metadata::{CODES, Code, Region as Meta};
use super::national::{
    Buf, Digits, Length, MAX_INPUT_CHARS, calling_code, cc_digits, keeps_stripped, prefix_match,
    strip_national_prefix, test_length,
};
use super::text::{
    Digitized, MIN_NSN, NON_ASCII, SEMICOLON, Scan, ascii_twin_text, is_viable,
    national_number_for_parsing, normalize_text, plain_number, starts_with_plus, strip_extension,
    strip_plus,
};
use super::validator::{self, walk};

/// `MAX_LENGTH_FOR_NSN`.
const MAX_NSN: usize = 17;

/// A default region for [`normalize`]: a CLDR region code that libphonenumber supports
/// (`"US"`, `"GB"`, …), or [`Region::UNKNOWN`] (`"ZZ"`), with which only text starting with `+`
/// parses.
///
/// ```
/// use bulk_contacts_e164::Region;
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
/// use bulk_contacts_e164::{normalize, NotValid, Region};
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
        let mut out = Buf::<24>::new();
        out.push(b'+');
        let (cc, cc_len) = cc_digits(code.cc);
        out.push_slice(cc.get(..cc_len).unwrap_or(&[]));
        out.push_slice(digits.as_slice());
        let (bytes, len) = out.into_parts();
        return Ok(E164 {
            bytes,
            len: u8::try_from(len).unwrap_or(0),
        });
    }
    Err(possibility(code, digits.as_slice().len()))
}

/// A calling code's decimal digits and their count (calling codes are 1 to 999: `build.rs`
/// checks).
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
    // Other scripts' digits and the like: the same text in ASCII, when there is one that every
    // step reads the same way, takes the plain path (no `;`: RFC 3966 reads `+` as ASCII only;
    // fewer than 3 letters: with more, `normalize` keeps ASCII digits only).
    if scan.has(NON_ASCII) && !scan.has(SEMICOLON) && scan.letters < 3 {
        let mut buf = [0u8; MAX_INPUT_CHARS];
        if let Some(ascii) = ascii_twin_text(text, &mut buf) {
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
            let number = national_number_for_parsing(text, scan, &mut context)
                .ok_or(NotValid::NotANumber)?;
            if !is_viable(number) {
                return Err(NotValid::NotANumber);
            }
            (number, Digitized::Todo(scan))
        }
    };
    let default = region.meta();
    if default.is_none() && !starts_with_plus(number) {
        return Err(NotValid::InvalidCountryCode);
    }
    let number = strip_extension(number, scan);
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
        && keeps_stripped(meta, stripped.len())
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
type Nsn = Buf<MAX_NSN>;

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

#[cfg(test)]
mod tests {
    use regex_automata::meta;
    use regex_automata::util::primitives::NonMaxUsize;
    use regex_automata::util::syntax;
    use regex_automata::{Anchored, Input};

    use super::super::metadata::{
        CODES, DOMAIN_NAME_DFA, EXTENSION_DFA, GLOBAL_NUMBER_DIGITS_DFA, Tok, VIABLE_DFA,
    };
    use super::super::patterns;
    use super::super::text::{
        ascii_twin, digit, extract_possible_number, find, is_alnum, is_digit, viable_by_shape,
    };
    use super::*;

    fn n(text: &str, region: &str) -> Result<String, NotValid> {
        normalize(text, region.parse().unwrap()).map(|e| e.as_str().to_owned())
    }

    /// A pattern of `super::patterns`, compiled by `regex-automata` at test time: what the
    /// tables `build.rs` compiled must answer as.
    fn regex(pattern: &str) -> meta::Regex {
        meta::Regex::new(pattern).expect("pattern compiles")
    }

    #[test]
    fn the_unicode_tables_are_the_patterns_classes() {
        let digits = regex(&format!("^{}$", patterns::DIGIT));
        let alnum = regex(&format!("^{}$", patterns::ALNUM));
        let mut buf = [0u8; 4];
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let s: &str = c.encode_utf8(&mut buf);
            assert_eq!(is_digit(c), digits.is_match(s), "{c:?}");
            assert_eq!(digit(c).is_some(), digits.is_match(s), "{c:?}");
            assert_eq!(is_alnum(c), alnum.is_match(s), "{c:?}");
        }
        assert_eq!(digit('٣'), Some(3));
        assert_eq!(digit('９'), Some(9));
        assert_eq!(digit('\u{1E959}'), Some(9), "Adlam nine");
        assert!(is_alnum('é') && !is_alnum('-'));
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
        // Transform rules: Argentina's mobile prefix, an island of the NANP dialled locally.
        assert_eq!(n("011 15 2345-6789", "AR").as_deref(), Ok("+5491123456789"));
        assert_eq!(n("463-1234", "AG").as_deref(), Ok("+12684631234"));
    }

    #[test]
    fn case_insensitive_as_python() {
        let us = "US";
        assert_eq!(
            n("650 253 0000 EXTENSİON 12", us).as_deref(),
            Ok("+16502530000")
        );
        assert_eq!(n("650 253 0000 ınt 12", us).as_deref(), Ok("+16502530000"));
        assert_eq!(n("020 7031 3000 ıt", "GB").as_deref(), Ok("+442070313000"));
        assert_eq!(n("1-800-FLOWıRS", us).as_deref(), Ok("+18003569477"));
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
        s.chars().nth(1).is_some() && VIABLE_DFA.is_match(s)
    }

    #[test]
    fn the_compiled_text_patterns_match_as_regex_automata() {
        let viable = regex(&patterns::viable_regex());
        let extension = regex(&patterns::extension_regex());
        let gnd = regex(&patterns::global_number_digits_regex());
        let domain = regex(&patterns::domain_name_regex());
        let mut texts: Vec<String> = Vec::new();
        for (_, text) in corpus() {
            let number = extract_possible_number(&text, Scan::ANYTHING).to_owned();
            // The suffixes from every character (a phone-context, the rest after a label).
            let suffixes: Vec<String> = text
                .char_indices()
                .map(|(i, _)| text[i..].to_owned())
                .step_by(3)
                .collect();
            texts.push(text);
            texts.push(number);
            texts.extend(suffixes);
        }
        for s in [
            "+1-415",
            "+",
            "+-",
            "a.b",
            "-x.com",
            "ex-ample.com.",
            "1.com",
            "ab--c.d",
        ] {
            texts.push(s.to_owned());
        }
        let mut counts = [0usize; 4];
        for s in &texts {
            let v = viable.is_match(s);
            assert_eq!(VIABLE_DFA.is_match(s), v, "{s:?}");
            let e = extension.find(s).map(|m| m.start());
            assert_eq!(EXTENSION_DFA.leftmost_start(s), e, "{s:?}");
            let g = gnd.is_match(s);
            assert_eq!(GLOBAL_NUMBER_DIGITS_DFA.is_match(s), g, "{s:?}");
            let d = domain.is_match(s);
            assert_eq!(DOMAIN_NAME_DFA.is_match(s), d, "{s:?}");
            for (count, hit) in counts.iter_mut().zip([v, e.is_some(), g, d]) {
                *count += usize::from(hit);
            }
        }
        // Each pattern matched, and failed, many times.
        assert!(counts.iter().all(|&c| c > 100), "{counts:?}");
    }

    proptest::proptest! {
        #[test]
        fn the_compiled_text_patterns_match_as_regex_automata_on_any_text(
            s in "[+0-9xX() .\\-\\[\\]/~*#,;:=aA-Za-zıİſ\u{212A}\u{FF10}-\u{FF19}\u{0660}-\u{0669}\u{FF58}\u{00A0}\t\n]{0,24}"
        ) {
            let viable = regex(&patterns::viable_regex());
            let extension = regex(&patterns::extension_regex());
            proptest::prop_assert_eq!(VIABLE_DFA.is_match(&s), viable.is_match(&s));
            proptest::prop_assert_eq!(
                EXTENSION_DFA.leftmost_start(&s),
                extension.find(&s).map(|m| m.start())
            );
        }
    }

    #[test]
    fn every_shortcut_gives_the_general_paths_answer_on_the_corpus() {
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
            if let Some(number) = national_number_for_parsing(&text, Scan::ANYTHING, &mut context) {
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

    /// Each territory's `(international prefix, national prefix for parsing, transform rule)`,
    /// from the committed metadata, by calling code and region code.
    fn prefix_patterns() -> std::collections::HashMap<(u16, String), [Option<String>; 3]> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/metadata.jsonl");
        let text = std::fs::read_to_string(path).expect("metadata");
        text.lines()
            .filter(|l| l.starts_with("{\"id\""))
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
                let s = |k: &str| v[k].as_str().map(str::to_owned).filter(|p| !p.is_empty());
                let cc = v["country_code"].as_u64().expect("cc") as u16;
                (
                    (cc, s("id").expect("id")),
                    [
                        s("international_prefix"),
                        s("national_prefix_for_parsing"),
                        s("national_prefix_transform_rule"),
                    ],
                )
            })
            .collect()
    }

    fn digit_regex(pattern: &str) -> meta::Regex {
        meta::Regex::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .build(pattern)
            .expect("pattern compiles")
    }

    /// Digit strings: every prefix of a few thousand pseudo-random ones (mostly 0 and 1, as
    /// prefixes are, and 1s and 5s for the transform rules' "15"), and the corpus's numbers.
    fn digit_inputs() -> Vec<Vec<u8>> {
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..400 {
            let mut d = Vec::new();
            for _ in 0..14 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let digit = match x % 16 {
                    0..=5 => 0,
                    6..=9 => 1,
                    10 => 5,
                    k => (k % 10) as u8,
                };
                d.push(b'0' + digit);
                inputs.push(d.clone());
            }
        }
        for (i, (_, text)) in corpus().iter().enumerate().step_by(7) {
            let mut d = Digits::new();
            normalize_text(text, Scan::ANYTHING, &mut d);
            inputs.push(d.as_slice().to_vec());
            // Without the first digits too: what follows a calling code or a prefix.
            for k in (1..4).filter(|k| i % 28 == 7 * k) {
                if let Some(rest) = d.as_slice().get(k..) {
                    inputs.push(rest.to_vec());
                }
            }
        }
        inputs
    }

    #[test]
    fn the_prefix_tables_and_transforms_match_as_the_patterns_do() {
        let patterns = prefix_patterns();
        let inputs = digit_inputs();
        let mut checked = 0;
        let mut transformed = 0;
        for code in CODES.iter() {
            for meta in code.regions {
                let [idd, npfp, rule] = patterns
                    .get(&(code.cc, meta.id.to_owned()))
                    .cloned()
                    .expect("territory in the metadata");
                for (table, pattern) in [(meta.idd_table, &idd), (meta.npfp_table, &npfp)] {
                    assert_eq!(table.is_some(), pattern.is_some(), "{}", meta.id);
                    let (Some(table), Some(pattern)) = (table, pattern) else {
                        continue;
                    };
                    let re = digit_regex(pattern);
                    for d in &inputs {
                        let want = re
                            .search(&Input::new(d).anchored(Anchored::Yes))
                            .map(|m| m.end());
                        assert_eq!(prefix_match(table, d), want, "{pattern} on {d:?}");
                        checked += 1;
                    }
                }
                // The transform rule: its tokens say the metadata's rule, its pattern gives the
                // capture groups a leftmost-first engine gives.
                assert_eq!(meta.transform.is_some(), rule.is_some(), "{}", meta.id);
                let (Some(transform), Some(rule), Some(pattern)) = (meta.transform, rule, npfp)
                else {
                    continue;
                };
                let spelled: String = transform
                    .rule
                    .iter()
                    .map(|t| match t {
                        Tok::Lit(l) => (*l).to_owned(),
                        Tok::Group(g) => format!("\\{g}"),
                    })
                    .collect();
                assert_eq!(spelled, rule, "{}", meta.id);
                let re = digit_regex(&pattern);
                assert_eq!(
                    re.group_info().group_len(regex_automata::PatternID::ZERO),
                    transform.groups + 1
                );
                for d in &inputs {
                    let mut slots = [None::<NonMaxUsize>; 2 * 9];
                    let slots = &mut slots[..2 * (transform.groups + 1)];
                    let found = re.search_slots(&Input::new(d).anchored(Anchored::Yes), slots);
                    let got = transform.captures(d);
                    assert_eq!(
                        got.map(|c| c.end),
                        found.map(|_| slots[1].map_or(0, |s| s.get())),
                        "{} {d:?}",
                        meta.id
                    );
                    if let Some(got) = got {
                        for g in 0..=transform.groups {
                            let want = match (slots[2 * g], slots[2 * g + 1]) {
                                (Some(s), Some(e)) => Some((s.get(), e.get())),
                                _ => None,
                            };
                            assert_eq!(got.group(g), want, "{} group {g} on {d:?}", meta.id);
                        }
                        transformed += usize::from(got.group(transform.groups).is_some());
                    }
                }
            }
        }
        assert!(checked > 1_000_000, "{checked}");
        assert!(transformed > 1_000, "{transformed}");
    }

    /// Every character class and literal character of a pattern, as `regex-syntax` reads it
    /// (case folding applied).
    fn atoms(
        hir: &regex_syntax::hir::Hir,
        classes: &mut Vec<Vec<(char, char)>>,
        literal: &mut Vec<char>,
    ) {
        use regex_syntax::hir::{Class, HirKind};
        match hir.kind() {
            HirKind::Literal(l) => literal.extend(String::from_utf8_lossy(&l.0).chars()),
            HirKind::Class(Class::Unicode(c)) => {
                classes.push(c.ranges().iter().map(|r| (r.start(), r.end())).collect())
            }
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
        let mut classes = Vec::new();
        let mut literal = Vec::new();
        for pattern in [patterns::viable_regex(), patterns::extension_regex()] {
            let hir = regex_syntax::parse(&pattern).expect("pattern parses");
            atoms(&hir, &mut classes, &mut literal);
        }
        assert!(classes.len() > 10, "{}", classes.len());
        let contains =
            |class: &[(char, char)], c: char| class.iter().any(|&(s, e)| s <= c && c <= e);
        // The characters the code itself looks at (`+`, `#`, `_`, `;`, `\n`, a second
        // number's `/ x`, ASCII letters).
        let special = |c: char| "+#_;\n/\\ x".contains(c) || c.is_ascii_alphabetic();
        let mut twins = 0;
        for c in (0x80..=0x10FFFF).filter_map(char::from_u32) {
            let Some(twin) = ascii_twin(c) else {
                continue;
            };
            twins += 1;
            let q = char::from(twin);
            assert!(q.is_ascii() && (c == '\u{FF0B}') == (q == '+'), "{c:?}");
            assert!(!special(q) || q == '+', "{c:?} -> {q:?}");
            for class in &classes {
                assert_eq!(contains(class, c), contains(class, q), "{c:?} -> {q:?}");
            }
            assert!(
                !literal.contains(&c) && !literal.contains(&q),
                "{c:?} -> {q:?}"
            );
            assert_eq!(is_digit(c), is_digit(q), "{c:?}");
            assert_eq!(digit(c), digit(q), "{c:?}");
            assert_eq!(is_alnum(c), is_alnum(q), "{c:?}");
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
}

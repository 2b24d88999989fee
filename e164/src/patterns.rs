//! The texts of libphonenumber's constant patterns that `normalize` reads (SPEC §6a), in the
//! syntax of `regex-syntax`, and the character classes they name. One definition for the two
//! places that read them: `build.rs`, which compiles them into the tables `normalize` walks
//! (it includes this file with `#[path]`), and the tests, which compare those tables with the
//! patterns compiled by `regex-automata`.
//!
//! Two things make the texts differ from libphonenumber's Java source, both to answer exactly
//! as the Python port (the oracle of SPEC §6a) does:
//! * **The Unicode version.** The classes are restricted to the characters assigned in
//!   [`UNICODE_VERSION`], the version of the oracle's Python (`unicodedata.unidata_version`,
//!   recorded in the header of the differential corpus, `tests/data/normalize_corpus.tsv.gz`).
//!   `regex-syntax`'s tables are newer (Unicode 16): a Kawi digit (U+11F50, Unicode 15) is a
//!   digit there and an unassigned character to the oracle, so it is not a digit here.
//! * **Case-insensitive matching** (`re.IGNORECASE`, Java's `UNICODE_CASE`) also matches the
//!   Turkish dotless `ı` (U+0131) and dotted `İ` (U+0130) with `i`/`I`: Python compares
//!   lower- and upper-case forms (`İ`.lower() is `i`, `ı`.upper() is `I`), where Unicode's
//!   simple case folding, which `regex-syntax`'s `(?i)` applies, has no mapping for either. The
//!   other characters that fold onto an ASCII letter (`ſ` U+017F onto `s`, the Kelvin sign
//!   U+212A onto `k`) `(?i)` already matches, as Python does. [`ci`] writes a label so.

#![allow(dead_code)] // build.rs uses some of these, the library's tests others

/// The Unicode version the character classes are restricted to: that of the oracle's Python
/// (3.11: 14.0.0). Moving the oracle to a Python of another Unicode version moves this, and
/// the differential test checks that the corpus says the same version.
pub const UNICODE_VERSION: &str = "14.0.0";

/// `\d` of the oracle (Python's `str.isdecimal`, Unicode's `Nd`), as a character class.
pub const DIGIT: &str = r"[\p{Nd}&&\p{Age=14.0}]";

/// The letters and numbers (Python's `str.isalnum`: Unicode's `L*` and `N*`), as a class.
pub const ALNUM: &str = r"[[\p{L}\p{N}]&&\p{Age=14.0}]";

/// `VALID_PUNCTUATION`, as the inside of a character class.
pub const PUNCTUATION: &str = "\\-x\u{2010}-\u{2015}\u{2212}\u{30FC}\u{FF0D}-\u{FF0F} \u{00A0}\u{00AD}\u{200B}\u{2060}\u{3000}()\u{FF08}\u{FF09}\u{FF3B}\u{FF3D}.\\[\\]/~\u{2053}\u{223C}\u{FF5E}";

/// `VALID_ALPHA`, as the inside of a character class, in a pattern matched case-sensitively.
pub const ALPHA: &str = "A-Za-z";

/// `VALID_ALPHA` in a case-insensitive pattern: with `(?i)`, the letters that Python's
/// `IGNORECASE` matches with an ASCII letter (`ſ` and `K` come with `(?i)`; `İ` and `ı` are
/// added).
pub const ALPHA_IGNORING_CASE: &str = "A-Za-z\u{130}\u{131}";

/// `PLUS_CHARS`, as the inside of a character class.
pub const PLUS: &str = "+\u{FF0B}";

/// A label of a case-insensitive pattern, each `i` written as the class of what Python's
/// `IGNORECASE` matches with it (`i`, `I`, `ı`, `İ`: `(?i)` adds `I`).
pub fn ci(label: &str) -> String {
    label
        .chars()
        .map(|c| match c {
            'i' => "[i\u{131}\u{130}]".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// `isViablePhoneNumber`'s whole pattern: `VALID_PHONE_NUMBER` and the optional extension,
/// whole text, case-insensitive.
pub fn viable_regex() -> String {
    format!(r"(?i)^(?:{})$", viable_pattern())
}

/// `maybeStripExtension`'s pattern: an extension at the end, case-insensitive (Python's `$`
/// also matches before a final line feed).
pub fn extension_regex() -> String {
    format!(r"(?i)(?:{})\n?$", extension_pattern())
}

/// `VALID_PHONE_NUMBER` followed by the optional extension (as libphonenumber concatenates
/// them: the extension binds to the second alternative only).
pub fn viable_pattern() -> String {
    format!(
        r"{DIGIT}{{2}}|[{PLUS}]*(?:[{PUNCTUATION}*]*{DIGIT}){{3,}}[{PUNCTUATION}*{ALPHA_IGNORING_CASE}{DIGIT}]*(?:{})?",
        extension_pattern()
    )
}

/// `EXTN_PATTERNS_FOR_PARSING`.
pub fn extension_pattern() -> String {
    let digits = |n: usize| format!(r"({DIGIT}{{1,{n}}})");
    let separators = "[ \u{00A0}\\t,]*";
    let after_label = "[:\\.\u{FF0E}]?[ \u{00A0}\\t,\\-]*";
    let explicit_labels = format!(
        "(?:e?xt(?:{}(?:o\u{0301}?|\u{00F3}))?n?|\u{FF45}?\u{FF58}\u{FF54}\u{FF4E}?|\u{0434}\u{043E}\u{0431}|anexo)",
        ci("ensi")
    );
    let ambiguous_labels = format!(
        "(?:[x\u{FF58}#\u{FF03}~\u{FF5E}]|{}|\u{FF49}\u{FF4E}\u{FF54})",
        ci("int")
    );
    let no_comma = "[ \u{00A0}\\t]*";
    [
        format!(";ext={}", digits(20)),
        format!("{separators}{explicit_labels}{after_label}{}#?", digits(20)),
        format!("{separators}{ambiguous_labels}{after_label}{}#?", digits(9)),
        format!("[\\- ]+{}#", digits(6)),
        format!("{no_comma}(?:,{{2}}|;){after_label}{}#?", digits(15)),
        format!("{no_comma}(?:,)+{after_label}{}#?", digits(9)),
    ]
    .join("|")
}

/// RFC 3966 `global-number-digits`, whole string (`isPhoneContextValid`).
pub fn global_number_digits_regex() -> String {
    format!(r"^\+(?:{DIGIT}|[\-\.\(\)]?)*{DIGIT}(?:{DIGIT}|[\-\.\(\)]?)*$")
}

/// RFC 3966 `domainname`, whole string (`isPhoneContextValid`), case-sensitive.
pub fn domain_name_regex() -> String {
    format!(
        r"^(?:[{ALPHA}{DIGIT}]+(?:\-*[{ALPHA}{DIGIT}])*\.)*[{ALPHA}]+(?:\-*[{ALPHA}{DIGIT}])*\.?$"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character a pattern matches, over all of Unicode.
    fn matched(pattern: &str) -> Vec<u32> {
        let re = regex_automata::meta::Regex::new(pattern).expect("pattern compiles");
        let mut buf = [0u8; 4];
        (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| re.is_match(c.encode_utf8(&mut buf) as &str))
            .map(u32::from)
            .collect()
    }

    /// What Python 3.11's `re.fullmatch(letter, c, re.IGNORECASE)` matches, for the letters of
    /// the case-insensitive patterns whose answer is not just their two ASCII cases (computed
    /// with Python; `tools/e164/gen_normalize_corpus.py` asks the oracle for the same sets).
    const PYTHON_IGNORECASE: [(char, &[u32]); 5] = [
        ('i', &[0x49, 0x69, 0x130, 0x131]),
        ('k', &[0x4B, 0x6B, 0x212A]),
        ('s', &[0x53, 0x73, 0x17F]),
        ('\u{434}', &[0x414, 0x434, 0x1C81]),
        ('\u{43E}', &[0x41E, 0x43E, 0x1C82]),
    ];

    #[test]
    fn case_insensitive_letters_match_what_python_matches() {
        for (letter, python) in PYTHON_IGNORECASE {
            let pattern = format!("(?i)^(?:{})$", ci(&letter.to_string()));
            assert_eq!(matched(&pattern), python, "{letter:?}");
        }
        // Every other ASCII letter: its two cases only.
        for letter in ('a'..='z').filter(|c| !"iks".contains(*c)) {
            let pattern = format!("(?i)^(?:{})$", ci(&letter.to_string()));
            let upper = letter.to_ascii_uppercase();
            assert_eq!(matched(&pattern), [u32::from(upper), u32::from(letter)]);
        }
        // VALID_ALPHA, case-insensitive: the ASCII letters and the four others.
        let mut python: Vec<u32> = ('A'..='Z').chain('a'..='z').map(u32::from).collect();
        python.extend([0x130, 0x131, 0x17F, 0x212A]);
        assert_eq!(matched(&format!("(?i)^[{ALPHA_IGNORING_CASE}]$")), python);
    }

    #[test]
    fn the_classes_are_those_of_the_unicode_version() {
        let digits = matched(&format!("^{DIGIT}$"));
        assert!(
            digits.contains(&0x0661) && digits.contains(&0x1E950),
            "Arabic-Indic, Adlam"
        );
        // Kawi (Unicode 15.0) and Garay (16.0) digits: unassigned in Unicode 14.
        assert!(!digits.contains(&0x11F50) && !digits.contains(&0x10D40));
        assert_eq!(
            digits.len(),
            660,
            "the Nd characters of Unicode 14.0, as Python 3.11 counts"
        );
        let alnum = matched(&format!("^{ALNUM}$"));
        assert!(alnum.contains(&u32::from('é')) && !alnum.contains(&0x11F04));
        assert_eq!(UNICODE_VERSION, "14.0.0");
        assert!(DIGIT.contains("Age=14.0") && ALNUM.contains("Age=14.0"));
    }
}

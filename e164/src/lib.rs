//! The phone rule of SPEC §6: is a string a valid, canonical E.164 number? And the lenient
//! parse of SPEC §6a: what number did a person mean by what they typed?
//!
//! A crate of its own, `bulk-contacts-e164`, re-exported by `bulk-contacts` as
//! `bulk_contacts::e164`: the CLI and the Python package use it, and a program that needs only
//! phone numbers can depend on it alone (one dependency, `thiserror`; everything else is
//! build-time). The endpoint's rules never look inside it: they call [`is_valid`] and nothing
//! else, so the implementation behind it can change without touching them.
//!
//! The implementation is our own reproduction of libphonenumber's rules (`parse` with no
//! default region, `isValidNumber`, formatting in E.164), over libphonenumber's metadata of
//! release [`METADATA_VERSION`], committed as `src/metadata.jsonl` (generated from that
//! release by `tools/e164/update.sh`; its header says how). `build.rs` compiles that file
//! into static tables and, per calling code, one DFA over all its patterns, stored as a
//! compact digit-indexed transition table: validating a number is one walk over its
//! national digits plus a few bit tests. Nothing is parsed, compiled or allocated at run time,
//! the first call included: the national and international prefixes are compact DFAs too, the
//! few national prefixes with a transform rule (AR, BR, JP, GA, MG, SM, NF, the NANP islands)
//! are pattern trees a small backtracking matcher reads for their groups, and `normalize`'s
//! text patterns are DFAs over character classes. [`classify`] also tells the region and the
//! number type of a valid number.
//!
//! The modules, by what they do: `validator` (the strict rule of SPEC §6), `normalize` (the
//! lenient parse of SPEC §6a), `text` (text to digits: what `parse` reads in the text as
//! typed), `national` (the steps on digits both take: calling code, national prefix and
//! transform rule, length test), `metadata` (the generated tables), `patterns`
//! (libphonenumber's constant patterns, shared with `build.rs`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod metadata;
mod national;
mod normalize;
mod patterns;
mod text;
mod validator;

pub use normalize::{E164, NotValid, Region, UnknownRegion, normalize};
pub use validator::{NumberInfo, NumberType};

/// The libphonenumber release whose metadata the validator is exact to (SPEC §6): the version
/// named in the header of the committed `src/metadata.jsonl`, which `build.rs` compiles.
/// `tools/e164/update.sh VERSION` moves both (and the differential corpus) to another release.
pub const METADATA_VERSION: &str = "9.0.43";

/// The Unicode version whose character data `normalize` reads (decimal digits of every
/// script, letters and numbers, case-insensitive matches): that of the Python the oracle ran on
/// (the Python port of libphonenumber, SPEC §6a), named in the header of the differential
/// corpus. A character assigned in a later version (a Kawi digit, Unicode 15) is, as to that
/// Python, an unassigned character: neither a digit nor a letter.
pub const UNICODE_VERSION: &str = patterns::UNICODE_VERSION;

/// Rule 1 of SPEC §6: `+` then 2 to 15 ASCII digits, the first not `0`, nothing else.
pub fn has_e164_syntax(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Whether `s` is a valid E.164 number in the sense of SPEC §6: strict syntax, accepted and
/// called valid by libphonenumber's rules, and already in canonical E.164 form.
///
/// Allocation-free; never panics.
pub fn is_valid(s: &str) -> bool {
    validator::classify(s).is_some()
}

/// For a valid E.164 number (as [`is_valid`] decides), its calling code, region and number
/// type as libphonenumber tells them (`getRegionCodeForNumber`, `getNumberType`); `None` for
/// anything else.
///
/// ```
/// use bulk_contacts_e164::{classify, NumberType};
/// let info = classify("+442079460000").unwrap();
/// assert_eq!((info.country_code, info.region, info.number_type), (44, "GB", NumberType::FixedLine));
/// assert_eq!(classify("+44 20 7946 0000"), None);
/// ```
pub fn classify(s: &str) -> Option<NumberInfo> {
    validator::classify(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_requires_plus_and_2_to_15_digits_not_starting_with_zero() {
        assert!(has_e164_syntax("+12"));
        assert!(has_e164_syntax("+123456789012345"));
        assert!(!has_e164_syntax("+1"));
        assert!(!has_e164_syntax("+1234567890123456"));
        assert!(!has_e164_syntax("+0123"));
        assert!(!has_e164_syntax("14155550000"));
        assert!(!has_e164_syntax("+1 415 555 0000"));
        assert!(!has_e164_syntax("+１４１５"));
    }

    #[test]
    fn valid_numbers_are_accepted_and_non_canonical_ones_rejected() {
        assert!(is_valid("+14155559876"));
        assert!(is_valid("+18005551234"));
        assert!(is_valid("+442079460000"));
        assert!(!is_valid("+200237082111"));
        assert!(!is_valid("+11234567890"));
        assert!(!is_valid(" +14155559876"));
    }

    #[test]
    fn regions_and_types() {
        let c = |s| classify(s).map(|i| (i.region, i.number_type));
        assert_eq!(
            c("+14155559876"),
            Some(("US", NumberType::FixedLineOrMobile))
        );
        assert_eq!(c("+18005551234"), Some(("US", NumberType::TollFree)));
        assert_eq!(
            c("+16135550123"),
            Some(("CA", NumberType::FixedLineOrMobile))
        );
        assert_eq!(c("+78005553535"), Some(("RU", NumberType::TollFree)));
        assert_eq!(c("+447400123456"), Some(("GB", NumberType::Mobile)));
        assert_eq!(c("+80012345678"), Some(("001", NumberType::TollFree)));
        assert_eq!(c("+390612345678").map(|x| x.0), Some("IT"));
        assert_eq!(c("+4415"), None);
    }

    #[test]
    fn valid_implies_strict_syntax() {
        for s in [
            "+1",
            "+12",
            "+123",
            "1415555987",
            "+0123456789",
            "+1415555987６",
            "",
        ] {
            assert!(!is_valid(s) || has_e164_syntax(s), "{s}");
        }
    }
}

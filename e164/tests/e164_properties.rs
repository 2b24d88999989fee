//! Properties of the E.164 validator that a plausible bug breaks:
//! * it agrees with `normalize`: a text of the strict syntax is valid exactly when
//!   `normalize(text, ZZ)` gives the same text back (both are libphonenumber's `parse` with no
//!   default region, `isValidNumber` and the E.164 format; the validator takes its own path to
//!   the verdict, and a validator that let through a number `parse` would rewrite, or refused
//!   one it would not, breaks this);
//! * a `+` text reads the same whatever the default region (a parse that used the default
//!   region's metadata for a number with a calling code breaks this);
//! * what `classify` tells is consistent: the calling code starts the number, the region is
//!   one of that calling code's, the type is known;
//! * no text makes it panic, and a valid text has the strict syntax of SPEC §6 rule 1.
//!
//! The numbers: the differential corpus's candidates (`tests/data/e164_corpus.tsv.gz`, 41,688
//! of them valid) and one-digit edits of them, and arbitrary text.

use std::io::{BufRead, BufReader};
use std::sync::OnceLock;

use bulk_contacts_e164::{
    METADATA_VERSION, NumberType, Region, classify, has_e164_syntax, is_valid, normalize,
};
use flate2::read::GzDecoder;
use proptest::prelude::*;

const CORPUS: &[u8] = include_bytes!("data/e164_corpus.tsv.gz");

/// The differential corpus's candidates (valid and invalid), read once.
fn candidates() -> &'static [String] {
    static CANDIDATES: OnceLock<Vec<String>> = OnceLock::new();
    CANDIDATES.get_or_init(|| {
        BufReader::new(GzDecoder::new(CORPUS))
            .lines()
            .map_while(Result::ok)
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split('\t').next().map(str::to_owned))
            .collect()
    })
}

/// Default regions to read `+` text with: some with national prefixes, transform rules and
/// international prefixes that would change the answer if they were applied to it.
const REGIONS: [&str; 8] = ["US", "AR", "BR", "GB", "JP", "AG", "RU", "DE"];

fn check(s: &str) {
    let info = classify(s);
    let unknown = Region::UNKNOWN;
    if has_e164_syntax(s) {
        let normalized = normalize(s, unknown);
        assert_eq!(
            info.is_some(),
            normalized.map(|n| n.as_str() == s) == Ok(true),
            "{s:?}: the validator says {info:?}, normalize(ZZ) says {normalized:?}"
        );
        for region in REGIONS {
            let region: Region = region.parse().expect("supported region");
            assert_eq!(normalize(s, region), normalized, "{s:?} read in {region}");
        }
    }
    let Some(info) = info else {
        return;
    };
    assert!(has_e164_syntax(s), "valid without strict syntax: {s:?}");
    assert!(
        s[1..].starts_with(&info.country_code.to_string()),
        "{s:?} {info:?}"
    );
    assert_ne!(info.number_type, NumberType::Unknown, "{s:?}");
    if info.region != "001" {
        let region: Region = info.region.parse().expect("a supported region");
        assert_eq!(region.country_code(), Some(info.country_code), "{s:?}");
    }
}

/// A candidate of the corpus with one character replaced by a digit, dropped, or a digit added
/// (`edit` picks which, where and what).
fn edited(candidate: &str, edit: (u8, usize, u8)) -> String {
    let (kind, at, digit) = edit;
    let mut s: Vec<char> = candidate.chars().collect();
    let at = 1 + at % s.len().max(1);
    let digit = char::from(b'0' + digit % 10);
    match kind % 4 {
        0 => {}
        1 if at < s.len() => s[at] = digit,
        2 if at < s.len() => {
            s.remove(at);
        }
        _ => s.insert(at.min(s.len()), digit),
    }
    s.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn corpus_numbers_and_their_edits(i in any::<prop::sample::Index>(), edit in any::<(u8, usize, u8)>()) {
        let all = candidates();
        check(&edited(&all[i.index(all.len())], edit));
    }

    #[test]
    fn plus_and_digits(s in "\\+[0-9]{0,18}") {
        check(&s);
    }

    #[test]
    fn phone_like_text(s in "[+0-9 ()\\-.x#*]{0,20}") {
        check(&s);
    }

    #[test]
    fn any_text(s in "\\PC{0,24}") {
        check(&s);
    }
}

#[test]
fn every_corpus_candidate() {
    let all = candidates();
    assert!(all.len() > 200_000, "{}", all.len());
    let valid = all.iter().filter(|s| is_valid(s)).count();
    assert!(valid > 40_000, "{valid}");
    for s in all.iter().step_by(3) {
        check(s);
    }
}

/// The committed metadata `build.rs` compiles from.
const METADATA: &str = include_str!("../src/metadata.jsonl");

#[test]
fn committed_metadata_is_the_declared_version() {
    let header = METADATA
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# libphonenumber metadata version: "))
        .expect("metadata.jsonl starts with its version line");
    assert_eq!(
        header.trim(),
        METADATA_VERSION,
        "src/metadata.jsonl and e164::METADATA_VERSION disagree: run tools/e164/update.sh"
    );
    let command = format!("#   tools/e164/update.sh {METADATA_VERSION}");
    assert!(
        METADATA.lines().take(20).any(|l| l == command),
        "the header names the regenerating command {command:?}"
    );
}

/// Numbers of the differential corpus whose verdict changed between 9.0.33 (the metadata of the
/// `phonenumber` crate) and 9.0.43: they show the metadata in use is 9.0.43's. A later release
/// may move them again; `tools/e164/update.sh` then fails here, and the list is updated.
#[test]
fn verdicts_that_changed_between_9_0_33_and_9_0_43_follow_9_0_43() {
    // New ranges: invalid at 9.0.33, valid now (phonenumbers 9.0.43).
    for (number, region, number_type) in [
        ("+255722345678", "TZ", NumberType::Mobile),
        ("+256732345678", "UG", NumberType::Mobile),
        ("+221361012345", "SN", NumberType::FixedLine),
        ("+46781234567", "SE", NumberType::Mobile),
    ] {
        let info = classify(number).map(|i| (i.region, i.number_type));
        assert_eq!(info, Some((region, number_type)), "{number}");
    }
    // Retired ranges: valid at 9.0.33, invalid now.
    for number in ["+4742612345", "+50620123456", "+2632020123", "+40600123456"] {
        assert!(!is_valid(number), "{number}");
    }
}

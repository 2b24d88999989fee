//! Properties of the E.164 validator: never panics, a valid verdict implies the strict syntax
//! of SPEC §6 rule 1, and `is_valid` agrees with `classify`.

use bulk_contacts::e164::{METADATA_VERSION, NumberType, classify, has_e164_syntax, is_valid};
use proptest::prelude::*;

fn check(s: &str) {
    let info = classify(s);
    assert_eq!(is_valid(s), info.is_some(), "{s:?}");
    if let Some(info) = info {
        assert!(has_e164_syntax(s), "valid without strict syntax: {s:?}");
        assert!(
            s[1..].starts_with(&info.country_code.to_string()),
            "{s:?} {info:?}"
        );
        assert_ne!(info.number_type, NumberType::Unknown, "{s:?}");
        assert!(
            info.region == "001" || info.region.len() == 2,
            "{s:?} {info:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

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

/// The committed metadata `build.rs` compiles from.
const METADATA: &str = include_str!("../src/e164/metadata.jsonl");

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
        "src/e164/metadata.jsonl and e164::METADATA_VERSION disagree: run tools/e164/update.sh"
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

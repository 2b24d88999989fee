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

//! Differential test of the E.164 validator against the Python port of libphonenumber at
//! `METADATA_VERSION` (the oracle of SPEC §6): `tests/data/e164_corpus.tsv.gz`, made by
//! `tools/e164/gen_corpus.py`. Zero mismatches allowed, on the verdict and, for valid
//! numbers, on the region and the number type.

use std::io::{BufRead, BufReader};

use bulk_contacts_e164::{METADATA_VERSION, classify, has_e164_syntax, is_valid};
use flate2::read::GzDecoder;

const CORPUS: &[u8] = include_bytes!("data/e164_corpus.tsv.gz");

/// The corpus's first line, naming the version of its oracle.
const HEADER: &str = "# libphonenumber metadata version: ";

#[test]
fn corpus_oracle_is_the_declared_version() {
    let first = BufReader::new(GzDecoder::new(CORPUS))
        .lines()
        .next()
        .expect("corpus not empty")
        .expect("corpus is UTF-8 gzip");
    let version = first
        .strip_prefix(HEADER)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("corpus starts with its version line");
    assert_eq!(
        version, METADATA_VERSION,
        "the corpus was generated at another version: run tools/e164/update.sh"
    );
}

#[test]
fn zero_mismatches_against_libphonenumber() {
    let mut reader = BufReader::new(GzDecoder::new(CORPUS)).lines();
    let header = reader
        .next()
        .expect("header")
        .expect("corpus is UTF-8 gzip");
    assert!(header.starts_with(HEADER), "{header:?}");
    let (mut total, mut valid) = (0usize, 0usize);
    let mut mismatches: Vec<String> = Vec::new();
    let mut mismatch_count = 0usize;
    for line in reader {
        let line = line.expect("corpus is UTF-8 gzip");
        let mut fields = line.split('\t');
        let candidate = fields.next().expect("candidate");
        let verdict = fields.next().expect("verdict");
        let expected = match verdict {
            "valid" => {
                let region = fields.next().expect("region");
                let ty = fields.next().expect("type");
                Some((region.to_owned(), ty.to_owned()))
            }
            "invalid" => None,
            other => panic!("bad verdict {other:?} in {line:?}"),
        };
        total += 1;
        valid += usize::from(expected.is_some());
        let got = classify(candidate).map(|i| (i.region.to_owned(), i.number_type.to_string()));
        if got != expected || is_valid(candidate) != expected.is_some() {
            mismatch_count += 1;
            if mismatches.len() < 50 {
                mismatches.push(format!("{candidate:?}: oracle {expected:?}, ours {got:?}"));
            }
        }
        if got.is_some() {
            assert!(
                has_e164_syntax(candidate),
                "valid without strict syntax: {candidate:?}"
            );
        }
    }
    println!("{total} candidates ({valid} valid), {mismatch_count} mismatches");
    assert!(total >= 230_000, "corpus too small: {total}");
    assert!(
        mismatches.is_empty(),
        "{mismatch_count} mismatches out of {total}; first ones:\n{}",
        mismatches.join("\n")
    );
}

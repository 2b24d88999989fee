//! The cost of the first call of the phone module in a process, cold (no table touched
//! before): one `e164::classify` or `e164::normalize`, for instruction counting under
//! callgrind. Used by `tools/e164/cold.sh`, which runs it, one process a case, over the
//! numbers that reach the most of the module (a transform rule, an extension, RFC 3966,
//! other scripts' digits).
//!
//! ```text
//! e164_cold validate TEXT
//! e164_cold normalize REGION TEXT
//! ```
//!
//! Only the call itself is counted:
//! `valgrind --tool=callgrind --toggle-collect='e164_cold::measured*'`. Prints the answer.

use std::hint::black_box;
use std::process::ExitCode;

use bulk_contacts::e164::{self, Region};

#[inline(never)]
fn measured_classify(text: &str) -> Option<e164::NumberInfo> {
    e164::classify(black_box(text))
}

#[inline(never)]
fn measured_normalize(text: &str, region: Region) -> Result<e164::E164, e164::NotValid> {
    e164::normalize(black_box(text), black_box(region))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["validate", text] => {
            println!("{:?}", measured_classify(text));
            ExitCode::SUCCESS
        }
        ["normalize", region, text] => {
            let Ok(region) = region.parse::<Region>() else {
                eprintln!("e164_cold: unknown region {region:?}");
                return ExitCode::from(2);
            };
            println!("{:?}", measured_normalize(text, region));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: e164_cold validate TEXT | e164_cold normalize REGION TEXT");
            ExitCode::from(2)
        }
    }
}

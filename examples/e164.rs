//! `e164`: the phone rule of SPEC §6 on standard input.
//!
//! ```text
//! cargo run --release --example e164 [-- --explain] < numbers.txt
//! cargo run --release --example e164 -- --metadata-version
//! ```
//!
//! Reads one candidate per line (only the line terminator, `\n` or `\r\n`, is removed; nothing
//! is trimmed) and prints, per input line and in order, `valid` or `invalid`. With `--explain`,
//! a valid line also gets its region and number type: `valid<TAB>US<TAB>fixed_line_or_mobile`.
//! A line that is not UTF-8 is `invalid`. Output is buffered, and flushed whenever the input
//! has nothing more buffered (so an interactive session gets its answers at once).
//! `--metadata-version` prints the libphonenumber release the validator is exact to
//! (`e164::METADATA_VERSION`, e.g. `9.0.43`) and exits.
//!
//! `--normalize` reads `REGION<TAB>TEXT` lines instead (SPEC §6a: lenient parsing with a
//! default region, `ZZ` for none) and prints, per line, the E.164 form or `invalid`; with
//! `--explain`, `invalid<TAB>REASON` (`too_short`, `invalid_country_code`, …). A region code
//! libphonenumber does not support reads as `ZZ`, as libphonenumber reads it; a line without
//! a tab is `invalid` (`not_a_number`).
//! Bad usage: a message on standard error, exit code 2.

use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;

use bulk_contacts::e164;

const USAGE: &str = "usage: e164 [--explain] < candidates.txt\n       \
    e164 --normalize [--explain] < region-tab-text.txt\n       e164 --metadata-version\n\
    prints `valid` or `invalid` per input line (SPEC §6); --explain adds region and type;\n\
    --normalize reads REGION<TAB>TEXT lines and prints the E.164 form or `invalid` (SPEC §6a),\n\
    --explain adding the reason;\n\
    --metadata-version prints the libphonenumber metadata version and exits";

fn main() -> ExitCode {
    let mut explain = false;
    let mut normalize = false;
    for arg in std::env::args_os().skip(1) {
        match arg.to_str() {
            Some("--explain") if !explain => explain = true,
            Some("--normalize") if !normalize => normalize = true,
            Some("--metadata-version") => {
                println!("{}", e164::METADATA_VERSION);
                return ExitCode::SUCCESS;
            }
            Some("-h" | "--help") => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("e164: unexpected argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match run(explain, normalize) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("e164: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(explain: bool, normalize: bool) -> io::Result<()> {
    let mut input = BufReader::with_capacity(1 << 16, io::stdin().lock());
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut line = Vec::with_capacity(64);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        if normalize {
            normalize_line(&line, explain, &mut out)?;
            if input.buffer().is_empty() {
                out.flush()?;
            }
            continue;
        }
        let info = std::str::from_utf8(&line).ok().and_then(e164::classify);
        match info {
            Some(info) if explain => {
                writeln!(out, "valid\t{}\t{}", info.region, info.number_type)?;
            }
            Some(_) => out.write_all(b"valid\n")?,
            None => out.write_all(b"invalid\n")?,
        }
        if input.buffer().is_empty() {
            out.flush()?;
        }
    }
    out.flush()
}

/// One `REGION<TAB>TEXT` line of `--normalize`.
fn normalize_line(line: &[u8], explain: bool, out: &mut impl Write) -> io::Result<()> {
    let parsed = std::str::from_utf8(line)
        .ok()
        .and_then(|l| l.split_once('\t'))
        .ok_or(e164::NotValid::NotANumber)
        .and_then(|(region, text)| {
            let region = region.parse().unwrap_or(e164::Region::UNKNOWN);
            e164::normalize(text, region)
        });
    match parsed {
        Ok(number) => writeln!(out, "{number}"),
        Err(reason) if explain => writeln!(out, "invalid\t{}", reason.as_str()),
        Err(_) => out.write_all(b"invalid\n"),
    }
}

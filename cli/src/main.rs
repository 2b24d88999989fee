//! `bulk-contacts`: the import checker and splitter of SPEC §9.
//!
//! `check FILE` applies rules 1 to 8 to every contact of a JSON Lines, request-body JSON or
//! CSV file and prints one JSON line per rejected row; `split FILE --out DIR` writes the
//! contacts as ready-to-send request bodies. Exit codes: 0 nothing rejected, 1 some rows
//! rejected (or not written), 2 bad usage or a file that cannot be read.
#![forbid(unsafe_code)]

mod check;
mod columns;
mod decode;
mod input;
mod progress;
mod sheet;
mod split;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bulk_contacts::Timestamp;
use bulk_contacts::e164::{self, Region};
use clap::{Args, Parser, Subcommand};

use columns::Map;
use input::{Format, InputError, Options};

#[derive(Parser)]
#[command(
    name = "bulk-contacts",
    version,
    about = "Check contact import files against the bulk-contacts rules, and split them into request bodies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply rules 1 to 8 (no lookup) to every contact; one JSON line per rejected row on
    /// standard output, a summary on standard error. Exit 0: none rejected, 1: some.
    Check(CheckArgs),
    /// Write the contacts as request bodies within the server's limits into a directory:
    /// body-NNNNNN.json and its map to the file's rows, body-NNNNNN.rows.json.
    Split(SplitArgs),
}

#[derive(Args)]
struct Input {
    /// The file: .jsonl (one contact per line), .json (a request body {"contacts": [...]},
    /// any length) or .csv (a header row naming the contact's members).
    file: PathBuf,
    /// The file's format (default: from its extension).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// CSV: the separator: ',', ';', 'tab' or any other single character (default: Excel's
    /// `sep=X` first line, else the most frequent of ',', ';' and tab in the header).
    #[arg(long, value_name = "CHAR", value_parser = delimiter)]
    delimiter: Option<u8>,
    /// CSV: the member a column names, 'HEADER=member' (repeatable), e.g.
    /// 'Mobile=phone_number', 'First Name=custom_fields.first_name'; 'HEADER=' leaves the
    /// column out. Headers match trimmed, in any case, with spaces, '-' and '_' alike.
    #[arg(long = "map", value_name = "HEADER=MEMBER")]
    maps: Vec<Map>,
    /// The sending list of every row that has no list number of its own (E.164).
    #[arg(long, value_name = "E164", value_parser = list_number)]
    list_number: Option<String>,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    input: Input,
    /// Region for suggestions: the canonical form of a rejected phone or list number, when
    /// it is a valid number read as dialled in this region (e.g. US, GB).
    #[arg(long, value_name = "REGION", value_parser = region)]
    default_region: Option<Region>,
    /// The time signup dates are checked against (RFC 3339; default: now).
    #[arg(long, value_name = "RFC3339", value_parser = timestamp)]
    now: Option<Timestamp>,
    /// CSV: write the file again to FIXED.csv, same columns and separator, with each phone
    /// and list number that normalizes (in --default-region, else written with '+')
    /// rewritten to its E.164 form.
    #[arg(long, value_name = "FIXED.csv")]
    fix_out: Option<PathBuf>,
    /// Benchmarking: read and split the rows, apply no rule.
    #[arg(long, hide = true)]
    scan_only: bool,
}

#[derive(Args)]
struct SplitArgs {
    #[command(flatten)]
    input: Input,
    /// The directory the bodies are written to (created if missing; must not hold bodies).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Rewrite phone and list numbers that are not E.164 but are valid numbers as dialled in
    /// this region to their canonical form before writing them.
    #[arg(long, value_name = "REGION", value_parser = region)]
    default_region: Option<Region>,
}

fn region(text: &str) -> Result<Region, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a region code libphonenumber knows (e.g. US, GB)"))
}

fn delimiter(text: &str) -> Result<u8, String> {
    let byte = match text {
        "tab" | "\\t" | "\t" => b'\t',
        "comma" => b',',
        "semicolon" => b';',
        _ if text.len() == 1 => text.as_bytes()[0],
        _ => 0,
    };
    if byte == 0 || !byte.is_ascii() || matches!(byte, b'"' | b'\r' | b'\n') {
        return Err(format!(
            "{text:?} is not a separator: give one character such as ',', ';' or '|', or 'tab'"
        ));
    }
    Ok(byte)
}

fn list_number(text: &str) -> Result<String, String> {
    if e164::is_valid(text) {
        return Ok(text.to_owned());
    }
    let hint = match e164::normalize(text, Region::UNKNOWN) {
        Ok(canonical) => format!(" (did you mean {}?)", canonical.as_str()),
        Err(_) => String::new(),
    };
    Err(format!(
        "{text:?} is not a valid E.164 number such as +18005551234{hint}"
    ))
}

fn timestamp(text: &str) -> Result<Timestamp, String> {
    text.parse()
        .map_err(|error| format!("{text:?} is not an RFC 3339 date-time: {error}"))
}

fn format_of(input: &Input) -> Result<Format, String> {
    match input.format.or_else(|| Format::from_path(&input.file)) {
        Some(format) => Ok(format),
        None => Err(format!(
            "cannot tell the format of {} from its extension (.jsonl, .json or .csv): use --format",
            input.file.display()
        )),
    }
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn options(input: &Input) -> Options {
    Options {
        delimiter: input.delimiter,
        maps: input.maps.clone(),
        list_number: input.list_number.clone(),
        fix_out: None,
    }
}

/// Exit code 2 with the message on standard error; quietly when an output is a closed pipe
/// (or standard error cannot be written either).
fn fail(error: impl std::fmt::Display, file: &Path) -> ExitCode {
    let _ = writeln!(io::stderr(), "bulk-contacts: {}: {error}", file.display());
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to standard output (exit 0), usage errors to standard
            // error (exit 2); a closed output makes either exit 2.
            let printed = error.print();
            let code = if error.use_stderr() || printed.is_err() {
                2
            } else {
                0
            };
            return ExitCode::from(code);
        }
    };
    let (input, outcome) = match &cli.command {
        Command::Check(args) => {
            let format = match format_of(&args.input) {
                Ok(format) => format,
                Err(message) => return fail(message, &args.input.file),
            };
            if args.fix_out.is_some() && format != Format::Csv {
                return fail(
                    "--fix-out rewrites CSV files; for JSON Lines and request bodies, \
                     split --default-region writes the canonical numbers",
                    &args.input.file,
                );
            }
            if let Some(fixed) = &args.fix_out
                && same_file(fixed, &args.input.file)
            {
                return fail(
                    "--fix-out must name another file than the one checked (it is written while the file is read)",
                    &args.input.file,
                );
            }
            let mut options = options(&args.input);
            options.fix_out = args
                .fix_out
                .clone()
                .map(|path| (path, args.default_region.unwrap_or(Region::UNKNOWN)));
            let check = check::Check {
                file: args.input.file.clone(),
                format,
                options,
                now: args.now.unwrap_or_else(Timestamp::now),
                region: args.default_region,
                scan_only: args.scan_only,
            };
            (&args.input, check::run(&check))
        }
        Command::Split(args) => {
            let format = match format_of(&args.input) {
                Ok(format) => format,
                Err(message) => return fail(message, &args.input.file),
            };
            let split = split::Split {
                file: args.input.file.clone(),
                format,
                options: options(&args.input),
                out: args.out.clone(),
                region: args.default_region,
            };
            (&args.input, split::run(&split))
        }
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(InputError::Write(error)) if error.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::from(2)
        }
        Err(error) => fail(error, &input.file),
    }
}

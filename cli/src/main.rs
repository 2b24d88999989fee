//! `bulk-contacts`: the import checker and splitter of SPEC §9.
//!
//! `check FILE` applies rules 1 to 8 to every contact of a JSON Lines, request-body JSON or
//! CSV file and prints one JSON line per rejected row; `split FILE --out DIR` writes the
//! contacts as ready-to-send request bodies. Exit codes: 0 nothing rejected, 1 some rows
//! rejected (or not written), 2 bad usage or a file that cannot be read.
#![forbid(unsafe_code)]

mod check;
mod input;
mod progress;
mod split;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bulk_contacts::Timestamp;
use bulk_contacts::e164::Region;
use clap::{Args, Parser, Subcommand};

use input::Format;

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

fn fail(message: impl std::fmt::Display, file: &Path) -> ExitCode {
    eprintln!("bulk-contacts: {}: {message}", file.display());
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (input, outcome) = match &cli.command {
        Command::Check(args) => {
            let format = match format_of(&args.input) {
                Ok(format) => format,
                Err(message) => return fail(message, &args.input.file),
            };
            let check = check::Check {
                file: args.input.file.clone(),
                format,
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
                out: args.out.clone(),
                region: args.default_region,
            };
            (&args.input, split::run(&split))
        }
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => fail(error, &input.file),
    }
}

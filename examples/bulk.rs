//! Evaluates a bulk request against a world and prints `{"status": …, "body": …}`.
//!
//! ```text
//! bulk [--world WORLD.json] [--api-key KEY | --no-api-key] REQUEST.json   (`-` = stdin)
//! bulk --case CASE.json
//! ```
//!
//! Exit code 0 when the request was evaluated (whatever its status), 2 on bad usage or a
//! malformed world or case.

use std::io::{Read, Write};
use std::process::ExitCode;

use bulk_contacts::testing::{Case, World, envelope};
use bulk_contacts::{Engine, Request, Response};

const USAGE: &str = "usage: bulk [--world WORLD.json] [--api-key KEY | --no-api-key] REQUEST.json\n       bulk --case CASE.json\n(`-` reads standard input)";

enum Key {
    FirstOfWorld,
    Given(String),
    None,
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(line) => {
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{line}") {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(1),
            }
        }
        Err(message) => {
            eprintln!("bulk: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<String, String> {
    let (mut world_path, mut case_path, mut request_path) = (None, None, None);
    let mut key = Key::FirstOfWorld;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--world" => world_path = Some(value("--world")?),
            "--case" => case_path = Some(value("--case")?),
            "--api-key" => key = Key::Given(value("--api-key")?),
            "--no-api-key" => key = Key::None,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag}\n{USAGE}"));
            }
            _ if request_path.is_some() => return Err(format!("one request file only\n{USAGE}")),
            _ => request_path = Some(arg),
        }
    }
    let response = match (case_path, request_path) {
        (Some(case), None) if world_path.is_none() && matches!(key, Key::FirstOfWorld) => {
            let text = read_text(&case)?;
            Case::from_json(&text)
                .map_err(|e| format!("{case}: {e}"))?
                .run()
        }
        (None, Some(request)) => {
            let world = match world_path {
                Some(path) => World::from_json(&read_text(&path)?)
                    .map_err(|e| format!("{path}: malformed world: {e}"))?,
                None => World::builtin(),
            };
            let key = match key {
                Key::FirstOfWorld => world.api_keys.first().cloned(),
                Key::Given(key) => Some(key),
                Key::None => None,
            };
            evaluate(&world, key.as_deref(), &read_bytes(&request)?)
        }
        _ => return Err(USAGE.to_owned()),
    };
    Ok(envelope(&response))
}

fn evaluate(world: &World, key: Option<&str>, body: &[u8]) -> Response {
    let request = Request {
        api_key: key.map(str::as_bytes),
        body,
        now: world.now,
    };
    Engine::default().handle(&request, &world.account(), world, world, world)
}

fn read_bytes(path: &str) -> Result<Vec<u8>, String> {
    if path == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("standard input: {e}"))?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

fn read_text(path: &str) -> Result<String, String> {
    String::from_utf8(read_bytes(path)?).map_err(|_| format!("{path}: not UTF-8"))
}

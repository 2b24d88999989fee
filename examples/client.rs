//! A client that pre-checks, splits, sends and merges a list of contacts, written from the
//! README alone (its "A client, end to end" section): the new-user trial of issue 22. The glue
//! — everything between the contacts in memory and the HTTP client — is between the `glue
//! begins` and `glue ends` markers; `python3 tools/trial_glue.py` counts it. `post` (curl)
//! stands in for an HTTP client library: the tool counts it apart.
//!
//! ```text
//! client [URL [CONTACTS.jsonl]]    (default URL: http://127.0.0.1:8080/v2/contacts/bulk)
//! ```
//!
//! Without a file it sends 5,000 generated contacts (some invalid, one nested too deep to be
//! sent, some that the built-in world's carrier check refuses). The key is
//! `BULK_CONTACTS_API_KEY` (default: the built-in world's). The HTTP client is `curl`, run once
//! per body; each body carries an `Idempotency-Key`, so that resending after a retryable status
//! cannot apply it twice. Prints the merged report (the summary body plus `rejected`).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use bulk_contacts::{Engine, Merger, Precheck, RejectedBody, Split, Timestamp};
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error>;

/// `POST` one body with curl (a stand-in for an HTTP client library): the status, the
/// answer's body, and `Retry-After` in seconds.
fn post(url: &str, headers: &[String], body: &[u8]) -> Result<(u16, Vec<u8>, Option<u64>), Error> {
    let mut curl = Command::new("curl")
        .args([
            "-sS",
            url,
            "--data-binary",
            "@-",
            "-w",
            "\n%{http_code} %header{retry-after}",
        ])
        .args(headers.iter().flat_map(|header| ["-H", header.as_str()]))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    curl.stdin.take().ok_or("curl's stdin")?.write_all(body)?;
    let out = curl.wait_with_output()?.stdout;
    let (answer, last) = out.split_at(out.iter().rposition(|b| *b == b'\n').ok_or("no status")?);
    let last = String::from_utf8_lossy(last);
    let mut fields = last.split_whitespace();
    let status = fields.next().ok_or("no status")?.parse()?;
    Ok((
        status,
        answer.to_vec(),
        fields.next().and_then(|s| s.parse().ok()),
    ))
}

/// 5,000 contacts: every 10th with an invalid number, every 97th refused by the carrier check,
/// one nested deeper than a body allows.
fn generated() -> Vec<Value> {
    let mut deep = json!("x");
    for _ in 0..130 {
        deep = json!([deep]);
    }
    (0..5000)
        .map(|i| match i {
            4321 => json!({"phone_number": "+14155554321", "list_number": "+18005551234", "notes": deep}),
            _ if i % 97 == 0 => json!({"phone_number": "+13105558888", "list_number": "+18005551234"}),
            _ if i % 10 == 0 => json!({"phone_number": format!("415-555-{i}"), "list_number": "+18005551234"}),
            _ => json!({"phone_number": format!("+1415555{:04}", i), "list_number": "+18005551234",
                        "use_journeys": i % 2 == 0, "custom_fields": {"row": i}}),
        })
        .collect()
}

fn read_jsonl(path: &str) -> Result<Vec<Value>, Error> {
    let text = std::fs::read_to_string(path)?;
    let lines = text.lines().filter(|line| !line.trim().is_empty());
    Ok(lines.map(serde_json::from_str).collect::<Result<_, _>>()?)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .map_or("http://127.0.0.1:8080/v2/contacts/bulk", String::as_str);
    let key = std::env::var("BULK_CONTACTS_API_KEY")
        .unwrap_or_else(|_| "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6".to_owned());
    let contacts = match args.get(1) {
        Some(path) => read_jsonl(path)?,
        None => generated(),
    };
    let run = format!(
        "{}-{}",
        std::process::id(),
        Timestamp::now().as_millisecond()
    );

    // glue begins
    let engine = Engine::default(); // the server's limits
    let mut precheck = Precheck::for_client_clock(engine, Timestamp::now());
    let Split { bodies, local } = precheck.split(&contacts);
    let mut merger = Merger::new();
    local.into_iter().for_each(|entry| merger.local(entry));
    for (n, body) in bodies.iter().enumerate() {
        let headers = [
            "Content-Type: application/json".to_owned(),
            format!("X-Api-Key: {key}"),
            format!("Idempotency-Key: {run}-{n}"),
        ];
        let mut attempt = 1;
        let (status, answer) = loop {
            let (status, answer, retry_after) = post(url, &headers, &body.bytes)?;
            if !RejectedBody::retryable_status(status) || attempt == 5 {
                break (status, answer);
            }
            std::thread::sleep(Duration::from_secs(retry_after.unwrap_or(attempt)));
            attempt += 1;
        };
        if let Err(problem) = merger.add(&body.indices, status, &answer) {
            eprintln!("body {n}: {problem}"); // still in the report, as rejected
        }
    }
    println!("{}", serde_json::to_string(&merger.finish())?);
    // glue ends
    Ok(())
}

//! Bounded work and defined answers on hostile input (issue 4), and the API key check.
//!
//! The heap figures come from a counting global allocator that counts per thread (the test
//! harness runs tests on several threads at once): each measured call runs on the test's own
//! thread, and its peak is the most bytes that thread held at once above what it held before
//! the call. The figures are printed (`cargo test --test robustness -- --nocapture`) and bounded
//! by assertions; no test has a wall-clock limit.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bulk_contacts::testing::World;
use bulk_contacts::{Engine, Rejection, Request, Response};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// A counting allocator: bytes currently held, and the peak, per thread.

struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    // `try_with`: during a thread's teardown the counters may already be gone.
    let _ = HELD.try_with(|held| {
        let now = held.get() + bytes;
        held.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and only
// updates thread-local counters, which neither allocate nor unwind.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result and the peak heap it used on this thread, in bytes.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = HELD.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let value = f();
    let peak = PEAK.with(Cell::get);
    (value, usize::try_from(peak - base).unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// Helpers.

const LIMIT: usize = 5 * 1024 * 1024;

/// Answers `body` in the built-in world with its key.
fn answer(body: &[u8]) -> Response {
    let world = World::builtin();
    let request = Request {
        api_key: world.api_keys.first().map(String::as_bytes),
        body,
        now: world.now,
    };
    Engine::default().handle(&request, &world.account(), &world, &world, &world)
}

/// The response's status and body as JSON (the body always re-parses).
fn parsed(response: &Response) -> (u16, Value) {
    let body = serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!(
            "response body is not JSON ({e}): {}",
            String::from_utf8_lossy(&response.body)
        )
    });
    (response.status, body)
}

/// The code of a rejection response.
fn rejection_code(response: &Response) -> (u16, String) {
    let (status, body) = parsed(response);
    (status, body["code"].as_str().unwrap_or("<none>").to_owned())
}

/// `{"contacts":[E,E,…]}` with `count` copies of `element`, padded with spaces after the last
/// element to exactly `size` bytes.
fn padded_body(element: &str, count: usize, size: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(b"{\"contacts\":[");
    for i in 0..count {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(element.as_bytes());
    }
    let tail = b"]}";
    assert!(
        body.len() + tail.len() <= size,
        "{element}: too long for {size} bytes"
    );
    body.resize(size - tail.len(), b' ');
    body.extend_from_slice(tail);
    body
}

/// Valid US numbers, distinct: `+1415555XXXX` (checked by the caller's assertions).
fn phone(i: usize) -> String {
    format!("+1415555{:04}", i % 10_000)
}

/// A contact whose compact serialization is exactly `size` bytes, padded with `n`s in a
/// custom field.
fn contact_of_size(phone: &str, size: usize) -> String {
    let head = format!(
        "{{\"phone_number\":\"{phone}\",\"list_number\":\"+18005551234\",\"custom_fields\":{{\"note\":\""
    );
    let tail = "\"}}";
    let fill = size - head.len() - tail.len();
    format!("{head}{}{tail}", "n".repeat(fill))
}

fn compact_len(text: &str) -> usize {
    let value: Value = serde_json::from_str(text).expect("valid JSON");
    serde_json::to_vec(&value).expect("serializable").len()
}

// ---------------------------------------------------------------------------------------------
// Bounded work.

#[test]
fn five_mib_of_a_million_tiny_elements_is_413_with_little_heap() {
    for element in ["0", "{}", "[]", "\"\"", "null"] {
        let body = padded_body(element, 1_000_000, LIMIT);
        assert_eq!(body.len(), LIMIT, "the body is exactly at the limit");
        let (response, peak) = peak_heap(|| answer(&body));
        assert_eq!(
            rejection_code(&response),
            (413, "too_many_contacts".to_owned()),
            "{element}"
        );
        println!(
            "1,000,000 x {element}: {} byte body, peak heap {peak} bytes ({:.2}% of the body)",
            body.len(),
            peak as f64 * 100.0 / body.len() as f64
        );
        assert!(
            peak < body.len() / 20,
            "{element}: peak heap {peak} bytes is not well under the {} byte body",
            body.len()
        );
    }
}

#[test]
fn one_byte_over_the_body_limit_is_413_before_parsing() {
    let mut body = padded_body("0", 1_000_000, LIMIT);
    body.insert(body.len() - 1, b' ');
    let (response, peak) = peak_heap(|| answer(&body));
    assert_eq!(
        rejection_code(&response),
        (413, "payload_too_large".to_owned())
    );
    println!("{} byte body: peak heap {peak} bytes", body.len());
    assert!(
        peak < 4096,
        "a body over the limit is not parsed: {peak} bytes"
    );
}

#[test]
fn a_hundred_thousand_nested_brackets_are_invalid_json_without_stack_overflow() {
    let depth = 100_000;
    let open = "[".repeat(depth);
    let close = "]".repeat(depth);
    let objects = "{\"a\":".repeat(depth);
    let bodies = [
        format!("{{\"contacts\":{open}"),
        format!("{{\"contacts\":{open}{close}}}"),
        format!("{{\"contacts\":[{{\"phone_number\":{open}{close}}}]}}"),
        format!("{{\"other\":{open}{close},\"contacts\":[{{}}]}}"),
        format!("{{\"contacts\":[{}{open}{close}]}}", "0,".repeat(1_001)),
        format!("{{\"contacts\":[{objects}0{}]}}", "}".repeat(depth)),
        format!("{open}{close}"),
    ];
    for body in &bodies {
        let (response, peak) = peak_heap(|| answer(body.as_bytes()));
        assert_eq!(
            rejection_code(&response),
            (400, "invalid_json".to_owned()),
            "{}…",
            &body[..40]
        );
        println!("{}…: peak heap {peak} bytes", &body[..24]);
    }
}

#[test]
fn a_thousand_contacts_of_4000_bytes_are_evaluated_normally() {
    let contacts: Vec<String> = (0..1000)
        .map(|i| contact_of_size(&phone(i), 4000))
        .collect();
    for contact in &contacts {
        assert_eq!(compact_len(contact), 4000);
    }
    let body = format!("{{\"contacts\":[{}]}}", contacts.join(","));
    assert!(body.len() <= LIMIT);
    let (response, peak) = peak_heap(|| answer(body.as_bytes()));
    let (status, summary) = parsed(&response);
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["success_count"], 1000, "{}", summary["errors"]);
    assert_eq!(summary["error_count"], 0);
    assert_eq!(summary["contacts_created"], 1000);
    assert_eq!(summary["list_contacts_created"], 1000);
    assert_eq!(summary["journeys_enrolled"], 0);
    println!(
        "1000 contacts x 4000 bytes ({} byte body): peak heap {peak} bytes",
        body.len()
    );
    assert!(peak < body.len(), "contacts are borrowed from the body");
}

#[test]
fn contacts_one_byte_over_the_limit_fail_alone() {
    // The size is that of the compact serialization, not of the text sent: the even contacts
    // are sent in 4025 bytes (`n` escaped as `\u006e`) and serialize to 4000 (accepted); the
    // odd ones hold a control character, `\u0001`, which serializes to 6 bytes, for 4001.
    let mut contacts = Vec::new();
    for i in 0..1000 {
        let contact = if i % 2 == 0 {
            contact_of_size(&phone(i), 4000).replacen("nnnnn", &"\\u006e".repeat(5), 1)
        } else {
            contact_of_size(&phone(i), 4001).replacen("nnnnnn", "\\u0001", 1)
        };
        contacts.push(contact);
    }
    for (i, contact) in contacts.iter().enumerate() {
        let (sent, serialized) = if i % 2 == 0 {
            (4025, 4000)
        } else {
            (4001, 4001)
        };
        assert_eq!(
            (contact.len(), compact_len(contact)),
            (sent, serialized),
            "{i}"
        );
    }
    let body = format!("{{\"contacts\":[{}]}}", contacts.join(","));
    let (status, summary) = parsed(&answer(body.as_bytes()));
    assert_eq!(status, 200);
    assert_eq!(summary["success_count"], 500);
    assert_eq!(summary["error_count"], 500);
    for (n, entry) in summary["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .enumerate()
    {
        assert_eq!(entry["index"], 2 * n + 1);
        assert_eq!(entry["code"], "payload_too_large");
        assert_eq!(
            entry["error"],
            "Contact payload exceeds the 4000 byte limit"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers and strings.

fn with_custom_value(value: &str) -> String {
    format!(
        "{{\"contacts\":[{{\"phone_number\":\"+14155559876\",\"list_number\":\"+18005551234\",\"custom_fields\":{{\"n\":{value}}}}}]}}"
    )
}

#[test]
fn numbers_outside_the_f64_range_are_invalid_json() {
    let digits = "9".repeat(400);
    for value in [
        "1e400".to_owned(),
        "-1e400".to_owned(),
        "1E+400".to_owned(),
        "123456789e999999999999".to_owned(),
        digits.clone(),
        format!("-{digits}"),
        format!("{digits}.5"),
        format!("0.{digits}e400"),
    ] {
        let response = answer(with_custom_value(&value).as_bytes());
        assert_eq!(
            rejection_code(&response),
            (400, "invalid_json".to_owned()),
            "{value}"
        );
    }
    // The same outside `contacts`, and past the contact limit, where elements are skipped.
    let top = "{\"x\":1e400,\"contacts\":[{}]}".to_owned();
    let past = format!("{{\"contacts\":[{}{digits}]}}", "0,".repeat(1_001));
    for body in [top, past] {
        assert_eq!(
            rejection_code(&answer(body.as_bytes())),
            (400, "invalid_json".to_owned())
        );
    }
}

#[test]
fn numbers_inside_the_f64_range_are_accepted_as_custom_values() {
    let long_fraction = format!("0.{}", "1".repeat(400));
    let long_integer = "9".repeat(300);
    for value in [
        "1e-400",
        "-0",
        "-0.0",
        "1.7976931348623157e308",
        "5e-324",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        &long_fraction,
        &long_integer,
    ] {
        let (status, summary) = parsed(&answer(with_custom_value(value).as_bytes()));
        assert_eq!(status, 200, "{value}");
        assert_eq!(summary["success_count"], 1, "{value}: {summary}");
    }
}

#[test]
fn every_escape_decodes_and_the_entry_echoes_it() {
    // Every escape of JSON in a custom value and a member name: accepted.
    let escapes = r#""\" \\ \/ \b \f \n \r \t \u0000 \u001f \u00e9 \uD83D\uDE00 \uFFFF""#;
    let body = format!(
        "{{\"contacts\":[{{\"phone_number\":\"+14155559876\",\"list_number\":\"+18005551234\",\"custom_fields\":{{{escapes}:{escapes}}},{escapes}:{escapes}}}]}}"
    );
    let (status, summary) = parsed(&answer(body.as_bytes()));
    assert_eq!(
        (status, &summary["success_count"]),
        (200, &Value::from(1)),
        "{summary}"
    );

    // An escaped `+` is the same number; escapes inside a number make it invalid, and the
    // entry echoes the decoded value.
    let body = r#"{"contacts":[
        {"phone_number":"\u002B14155559876","list_number":"+18005551234"},
        {"phone_number":"+1415555\u00009876","list_number":"+18005551234"},
        {"phone_number":"+1415555\n9876","list_number":"+18005551234"},
        {"phone_number":"\t","list_number":"+18005551234"}]}"#;
    let (status, summary) = parsed(&answer(body.as_bytes()));
    assert_eq!(status, 200);
    assert_eq!(summary["success_count"], 1);
    let errors = summary["errors"].as_array().expect("errors");
    assert_eq!(errors[0]["phone_number"], "+1415555\u{0}9876");
    assert_eq!(errors[0]["code"], "invalid_phone");
    assert_eq!(errors[1]["phone_number"], "+1415555\n9876");
    assert_eq!(errors[1]["code"], "invalid_phone");
    assert_eq!(errors[2]["phone_number"], "\t");
    assert_eq!(errors[2]["code"], "missing_phone_number");
}

#[test]
fn malformed_strings_are_invalid_json() {
    let contact = |inner: &[u8]| {
        let mut body = b"{\"contacts\":[{\"phone_number\":\"".to_vec();
        body.extend_from_slice(inner);
        body.extend_from_slice(b"\",\"list_number\":\"+18005551234\"}]}");
        body
    };
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, bytes) in [
        ("lone continuation byte", &b"\x80"[..]),
        ("0xff", b"\xff"),
        ("truncated 2-byte sequence", b"\xc3"),
        ("overlong slash", b"\xc0\xaf"),
        ("overlong NUL", b"\xe0\x80\x80"),
        ("UTF-8 encoded surrogate", b"\xed\xa0\x80"),
        ("above U+10FFFF", b"\xf4\x90\x80\x80"),
        ("truncated 4-byte sequence", b"\xf0\x9f\x98"),
        ("lone high surrogate escape", br"\uD83D"),
        ("lone low surrogate escape", br"\uDE00"),
        ("high surrogate then letter", br"\uD83Dx"),
        ("short \\u escape", br"\u12"),
        ("non-hex \\u escape", br"\u12G4"),
        ("unknown escape", br"\x41"),
        ("escaped quote only", b"\\"),
        ("raw control character", b"\x01"),
        ("raw newline", b"\n"),
        ("raw tab", b"\t"),
    ] {
        bodies.push((name.to_owned(), contact(bytes)));
    }
    bodies.push(("byte order mark".to_owned(), {
        let mut body = b"\xef\xbb\xbf".to_vec();
        body.extend_from_slice(&contact(b"+14155559876"));
        body
    }));
    bodies.push(("invalid UTF-8 in a member name".to_owned(), {
        b"{\"contacts\":[{\"\xff\":1}]}".to_vec()
    }));
    bodies.push(("invalid UTF-8 past the contact limit".to_owned(), {
        let mut body = b"{\"contacts\":[".to_vec();
        body.extend_from_slice("0,".repeat(1_001).as_bytes());
        body.extend_from_slice(b"\"\xff\"]}");
        body
    }));
    for (name, body) in &bodies {
        assert_eq!(
            rejection_code(&answer(body)),
            (400, "invalid_json".to_owned()),
            "{name}"
        );
    }
    // Valid non-ASCII (2, 3 and 4 bytes, noncharacters) is fine, and not a valid number.
    let body = contact("é€😀\u{FFFF}\u{10FFFF}".as_bytes());
    let (status, summary) = parsed(&answer(&body));
    assert_eq!(status, 200);
    assert_eq!(summary["errors"][0]["code"], "invalid_phone");
    assert_eq!(
        summary["errors"][0]["phone_number"],
        "é€😀\u{FFFF}\u{10FFFF}"
    );
}

// ---------------------------------------------------------------------------------------------
// API keys.

const KEY: &str = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6";

fn auth(header: Option<&str>, keys: &[&str]) -> Result<(), Rejection> {
    Engine::default().authenticate(header.map(str::as_bytes), keys)
}

#[test]
fn a_well_formed_key_not_in_the_account_is_invalid() {
    let other = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p7";
    assert_eq!(auth(Some(other), &[KEY]), Err(Rejection::InvalidApiKey));
    assert_eq!(
        auth(Some("trk_b1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"), &[KEY]),
        Err(Rejection::InvalidApiKey)
    );
    assert_eq!(
        auth(Some(KEY), &[] as &[&str]),
        Err(Rejection::InvalidApiKey)
    );
    assert_eq!(
        auth(Some(&KEY.to_uppercase().replace("TRK_", "trk_")), &[KEY]),
        Err(Rejection::InvalidApiKey)
    );
    // An account key of another length never matches (no prefix match either way).
    assert_eq!(
        auth(Some(KEY), &[&KEY[..KEY.len() - 1], &format!("{KEY}0")]),
        Err(Rejection::InvalidApiKey)
    );
}

#[test]
fn any_of_several_keys_matches_the_last_one_too() {
    let keys = [
        "trk_00000000000000000000000000000000",
        "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5pX",
        KEY,
    ];
    assert_eq!(auth(Some(KEY), &keys), Ok(()));
    assert_eq!(auth(Some(keys[0]), &keys), Ok(()));
    assert_eq!(auth(Some(keys[1]), &keys), Ok(()));
    let many: Vec<String> = (0..100).map(|i| format!("trk_{i:032}")).collect();
    assert_eq!(
        Engine::default().authenticate(Some(b"trk_00000000000000000000000000000099"), &many),
        Ok(())
    );
}

#[test]
fn absent_empty_and_malformed_keys_are_rejected_before_the_account() {
    assert_eq!(auth(None, &[KEY]), Err(Rejection::MissingApiKey));
    assert_eq!(auth(Some(""), &[KEY]), Err(Rejection::MissingApiKey));
    for malformed in [
        &KEY[..KEY.len() - 1],
        &format!("{KEY}0"),
        &format!(" {KEY}"),
        &format!("{KEY} "),
        "TRK_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
        "trk-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
        "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p_",
        "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5pé",
    ] {
        // Malformed even when the account holds exactly that string.
        assert_eq!(
            auth(Some(malformed), &[KEY, malformed]),
            Err(Rejection::InvalidApiKey),
            "{malformed:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The validation result, echoed as the provider wrote it.

#[test]
fn a_validation_cost_is_echoed_with_the_digits_the_provider_sent() {
    let world = World::from_json(
        r#"{"lists": {"+18005551234": {}},
            "validation": {
              "+12125550000": {"phone": "+12125550000", "valid": true, "line_type": "fixed line",
                "carrier": "Frontier", "carrier_raw": "FRONTIER", "ported": true, "country": "US",
                "state": "NY", "city": "", "on_dnc": false, "disposition": "unreachable",
                "cost": 1.50, "cached": false},
              "+12125550001": {"phone": "+12125550001", "valid": false, "line_type": "unknown",
                "carrier": "", "carrier_raw": "", "ported": false, "country": "US", "state": "",
                "city": "", "on_dnc": false, "disposition": "invalid", "cost": 3.0E-3,
                "cached": true}}}"#,
    )
    .expect("a world");
    let body = br#"{"contacts": [
        {"phone_number": "+12125550000", "list_number": "+18005551234", "use_validation": true},
        {"phone_number": "+12125550001", "list_number": "+18005551234", "use_validation": true}]}"#;
    let request = Request {
        api_key: world.api_keys.first().map(String::as_bytes),
        body,
        now: world.now,
    };
    let response = Engine::default().handle(&request, &world.account(), &world, &world, &world);
    let text = String::from_utf8(response.body).expect("UTF-8");
    assert_eq!(response.status, 200, "{text}");
    assert!(text.contains(r#""cost":1.50,"#), "{text}");
    assert!(text.contains(r#""cost":3.0E-3,"#), "{text}");
}

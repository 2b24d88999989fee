#!/usr/bin/env python3
"""Generate the conformance cases of SPEC section 8 into tests/conformance/generated/.

Standard library only and deterministic: running it twice gives byte-identical files.
Every phone number below was checked with the oracle named by SPEC section 6 at the crate's
`METADATA_VERSION` (`phonenumbers==9.0.43`; first with 9.0.33); they are written here as
literals so that this script needs nothing but Python 3.11.

Contact sizes (SPEC section 2) are computed here, not typed in: a boundary contact is built
to the size it claims and the script asserts it. `compact_size` equals the length of
`serde_json::to_vec` of the parsed value for values made of strings, integers, booleans,
arrays and objects without duplicate keys (Python and serde_json escape exactly the same
characters: `"`, `\\`, the control characters, with short forms for \\b \\t \\n \\f \\r).

The script owns tests/conformance/generated/ and nothing else: it writes its cases there and
removes the `*.json` files there that it no longer writes. Hand-written cases live in
tests/conformance/hand/ (the documented example, the JSON nesting limits, …); the script only
reads their names, so that no generated case takes the name of a hand-written one.

Usage: python3 tools/gen_conformance.py
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "conformance" / "generated"
HAND = ROOT / "tests" / "conformance" / "hand"
HAND_NAMES = {path.stem for path in HAND.glob("*.json")}

# --------------------------------------------------------------------------------------------
# The SPEC tables (sections 3 and 4), verbatim.

BATCH = {
    "api_key_required": (401, "unauthorized", "API key required"),
    "invalid_api_key": (401, "unauthorized", "Invalid API key"),
    "payload_too_large": (413, "payload_too_large", "Request body exceeds the 5242880 byte limit"),
    "invalid_json": (400, "invalid_json", "Request body must be valid JSON"),
    "missing_contacts": (400, "missing_contacts", "contacts must be a non-empty array"),
    "too_many_contacts": (413, "too_many_contacts", "contacts exceeds the limit of 1000 per request"),
    "no_billing_config": (402, "no_billing_config", "Billing is not configured for this account"),
    "no_payment_method": (402, "no_payment_method", "No payment method on file"),
    "payment_failed": (402, "payment_failed", "The last payment failed"),
    "suspended": (402, "suspended", "Billing is suspended for this account"),
    "internal_error": (500, "internal_error", "An unexpected error occurred"),
}

CONTACT = {
    "payload_too_large": "Contact payload exceeds the 4000 byte limit",
    "invalid_contact": "Contact must be a JSON object",
    "missing_phone_number": "phone_number is required",
    "missing_list_number": "list_number is required",
    "invalid_phone": "phone_number must be a valid E.164 number",
    "invalid_list_number": "list_number must be a valid E.164 number",
    "invalid_custom_fields": "custom_fields must be an object of string, number or boolean values",
    "list_not_found": "Sending list not found",
    "not_sendable": "Phone number failed carrier validation",
    "provider_error": "Phone validation provider unavailable",
}

FIELD_MESSAGES = {
    "use_journeys": "use_journeys must be a boolean",
    "skip_journey_if_exists": "skip_journey_if_exists must be a boolean",
    "use_validation": "use_validation must be a boolean",
    "replace_custom_fields": "replace_custom_fields must be a boolean",
    "signup_date": "signup_date must be an RFC 3339 date-time not in the future",
    "ip_address": "ip_address must be an IPv4 or IPv6 address",
    "url": "url must be an absolute http or https URL",
}

CONTACT_LIMIT = 4000
BODY_LIMIT = 5_242_880
COUNT_LIMIT = 1000

# --------------------------------------------------------------------------------------------
# Keys, numbers and worlds.

KEY = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"  # the default world's only key
KEY2 = "trk_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4"  # a second, well-formed key

# Valid per phonenumbers 9.0.43 (all +1415555xxxx and +1212555xxxx are).
def P(i: int) -> str:
    return "+1415555%04d" % i


def Q(i: int) -> str:
    return "+1212555%04d" % i


L1 = "+18005551234"  # list with 1 welcome journey (as in the documented example)
L3 = "+18005550100"  # list with 3 welcome journeys
L0 = "+18885550123"  # list whose entry omits welcome_journeys (defaults to 0)
LE = "+18005550000"  # list lookup fails ("error")
LX = "+18665550100"  # valid toll-free number that is no list in any world here
NS = "+13105558888"  # carrier verdict not_sendable
CE = "+13105550000"  # carrier lookup fails ("error")
VU = "+12125550000"  # validation disposition unreachable
VP = "+12125550001"  # validation provider error
VI = "+12125550002"  # validation disposition invalid
VR = "+12125550003"  # validation disposition risky
VK = "+12125550004"  # validation disposition unknown
VO = "+12125550005"  # validation disposition ok (explicit)

W1 = {"lists": {L1: {"welcome_journeys": 1}}}
W13 = {"lists": {L1: {"welcome_journeys": 1}, L3: {"welcome_journeys": 3}}}


def world(**members) -> dict:
    """A world with the standard lists plus `members` (a member given replaces the default)."""
    w = {"lists": {L1: {"welcome_journeys": 1}, L3: {"welcome_journeys": 3}}}
    w.update(members)
    return w


def vres(phone: str, disposition: str, **over) -> dict:
    """A complete validation result, members in SPEC section 7 order."""
    r = {
        "phone": phone,
        "valid": disposition not in ("invalid",),
        "line_type": "mobile",
        "carrier": "Verizon Wireless",
        "carrier_raw": "CELLCO PARTNERSHIP DBA VERIZON WIRELESS",
        "ported": False,
        "country": "US",
        "state": "NY",
        "city": "New York",
        "on_dnc": False,
        "disposition": disposition,
        "cost": 0.003,
        "cached": False,
    }
    for k, v in over.items():
        assert k in r, k
        r[k] = v
    return r


VALIDATION = {
    VU: vres(VU, "unreachable", line_type="fixed line", carrier="Frontier", carrier_raw="FRONTIER",
             ported=True, city=""),
    VP: "provider_error",
    VI: vres(VI, "invalid", line_type="unknown", carrier="", carrier_raw="", state="", city="",
             cost=0.004, cached=True),
    VR: vres(VR, "risky", line_type="voip", carrier="Bandwidth", carrier_raw="BANDWIDTH.COM",
             on_dnc=True),
    VK: vres(VK, "unknown", line_type="other"),
    VO: vres(VO, "ok"),
}

# --------------------------------------------------------------------------------------------
# Building blocks of expectations.

ABSENT = object()


def contact(phone=P(100), lst=L1, **extra) -> dict:
    c = {}
    if phone is not ABSENT:
        c["phone_number"] = phone
    if lst is not ABSENT:
        c["list_number"] = lst
    c.update(extra)
    return c


def err(index: int, phone, code: str, field: str | None = None, validation: dict | None = None) -> dict:
    e = {"index": index, "phone_number": phone if isinstance(phone, str) else None, "code": code}
    if code == "invalid_field":
        assert field in FIELD_MESSAGES
        e["error"] = FIELD_MESSAGES[field]
        e["field"] = field
    elif code == "validation_failed":
        assert validation is not None
        e["error"] = "Phone validation failed: " + validation["disposition"]
        e["validation"] = validation
    else:
        assert field is None and validation is None
        e["error"] = CONTACT[code]
    return e


def entry_phone(c):
    """The `phone_number` an error entry carries for contact `c`."""
    if isinstance(c, dict) and isinstance(c.get("phone_number"), str):
        return c["phone_number"]
    return None


def fail(index: int, c, code: str, **kw) -> dict:
    return err(index, entry_phone(c), code, **kw)


def summary(n: int, errors: list, created: int, list_created: int, journeys: int) -> dict:
    idx = [e["index"] for e in errors]
    assert idx == sorted(set(idx)) and all(0 <= i < n for i in idx), idx
    assert created <= n - len(errors) and list_created <= n - len(errors)
    return {
        "success_count": n - len(errors),
        "error_count": len(errors),
        "errors": errors,
        "contacts_created": created,
        "list_contacts_created": list_created,
        "journeys_enrolled": journeys,
    }


def ok(n, errors, created, list_created, journeys) -> dict:
    return {"status": 200, "body": summary(n, errors, created, list_created, journeys)}


def batch(name: str) -> dict:
    status, code, message = BATCH[name]
    return {"status": status, "body": {"error": message, "code": code}}


def compact(v) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def compact_size(v) -> int:
    _check_plain(v)
    return len(compact(v).encode("utf-8"))


def _check_plain(v):
    if isinstance(v, float):
        raise AssertionError("floats are not used in size-boundary contacts")
    if isinstance(v, dict):
        for k, x in v.items():
            _check_plain(k)
            _check_plain(x)
    elif isinstance(v, list):
        for x in v:
            _check_plain(x)


def sized(target: int, base: dict, unit: str = "x", key: str = "note", tail: str = "") -> dict:
    """`base` plus member `key` = (ASCII filler) + unit * k + tail, of compact size `target`.

    The multi-byte or escaped `unit` characters come last so that the contact crosses the
    boundary on them.
    """
    c = dict(base)
    c[key] = tail
    empty = compact_size(c)
    c[key] = unit + tail
    per = compact_size(c) - empty
    room = target - empty
    k = room // per
    fill = room - k * per
    c[key] = "x" * fill + unit * k + tail
    assert compact_size(c) == target, (compact_size(c), target)
    return c


# --------------------------------------------------------------------------------------------
# The registry of cases.

CASES: dict[str, dict] = {}


def case(name: str, description: str, expect: dict, *, body=ABSENT, body_raw: str | None = None,
         world=ABSENT, api_key=ABSENT) -> None:
    assert name not in CASES and name not in HAND_NAMES, name
    assert name == name.lower() and " " not in name and "_" not in name, name
    assert (body is ABSENT) != (body_raw is None), name
    c = {"description": description}
    c["world"] = {} if world is ABSENT else world
    if api_key is not ABSENT:
        c["api_key"] = api_key
    if body_raw is not None:
        c["body_raw"] = body_raw
    else:
        c["body"] = body
    c["expect"] = expect
    CASES[name] = c


def one(name: str, description: str, c, expect_errors: list, created=None, list_created=None,
        journeys=0, world=W1, **kw) -> None:
    """A one-contact case: accepted (expect_errors == []) or rejected with that entry."""
    accepted = not expect_errors
    created = (1 if accepted else 0) if created is None else created
    list_created = (1 if accepted else 0) if list_created is None else list_created
    case(name, description, ok(1, expect_errors, created, list_created, journeys),
         body={"contacts": [c]}, world=world, **kw)


def accepted(name: str, description: str, c, **kw) -> None:
    one(name, description, c, [], **kw)


def rejected(name: str, description: str, c, code: str, **kw) -> None:
    field = kw.pop("field", None)
    validation = kw.pop("validation", None)
    one(name, description, c, [fail(0, c, code, field=field, validation=validation)], **kw)


def multi(name: str, intro: str, items: list, world=W1, journeys: int = 0) -> None:
    """One case with one contact per item `(label, contact, expected)`; expected is None
    (accepted), a code, or `(code, {"field": ...})`. Accepted contacts use distinct numbers,
    new to the world, so the counters follow from the items (journeys are given)."""
    contacts, errors, labels, phones, pairs = [], [], [], set(), set()
    for i, (label, c, exp) in enumerate(items):
        contacts.append(c)
        if exp is None:
            assert c["phone_number"] not in phones, name
            phones.add(c["phone_number"])
            pairs.add((c["phone_number"], c["list_number"]))
            outcome = "accepted"
        else:
            code, kw = (exp, {}) if isinstance(exp, str) else exp
            errors.append(fail(i, c, code, **kw))
            outcome = code + (" " + kw["field"] if "field" in kw else "")
        labels.append(f"[{i}] {label} -> {outcome}")
    case(name, intro + " " + "; ".join(labels) + ".",
         ok(len(items), errors, len(phones), len(pairs), journeys), body={"contacts": contacts},
         world=world)


# ============================================================================================
# batch-: section 3, the batch-level outcome.

GOOD = contact(P(100), L1)
GOOD_BODY = {"contacts": [GOOD]}
GOOD_RAW = compact(GOOD_BODY)
OK1 = ok(1, [], 1, 1, 0)


def auth_cases() -> None:
    case("batch-auth-absent-key",
         "No X-Api-Key header (api_key null) -> 401 unauthorized 'API key required' (SPEC 3 row 1), "
         "although the body is otherwise fine.",
         batch("api_key_required"), body=GOOD_BODY, world=W1, api_key=None)
    case("batch-auth-absent-key-invalid-json",
         "No X-Api-Key header and a body that is not JSON: the key is checked first (row 1 before "
         "row 3) -> 401 'API key required'.",
         batch("api_key_required"), body_raw='{"contacts": [', world=W1, api_key=None)
    case("batch-auth-empty-key",
         "An empty X-Api-Key header counts as absent -> 401 'API key required' (SPEC 3 row 1).",
         batch("api_key_required"), body=GOOD_BODY, world=W1, api_key="")
    case("batch-auth-whitespace-key",
         "A header holding one space is not empty and there is no trimming, so it is a malformed "
         "key -> 401 'Invalid API key' (SPEC 3 row 1, second line), not 'API key required'.",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key=" ")
    case("batch-auth-wrong-prefix",
         "Key with prefix 'trx_' instead of 'trk_' (32 alphanumerics follow) -> 401 'Invalid API key'.",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key="trx_" + KEY[4:])
    case("batch-auth-uppercase-prefix",
         "Prefix 'TRK_' is not 'trk_' -> 401 'Invalid API key' (the prefix is matched exactly).",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key="TRK_" + KEY[4:])
    case("batch-auth-no-prefix",
         "The 32 alphanumerics of the account's key without 'trk_' -> 401 'Invalid API key'.",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key=KEY[4:])
    case("batch-auth-31-chars",
         "'trk_' followed by 31 alphanumerics (the account key minus its last character) -> "
         "401 'Invalid API key': exactly 32 are required.",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key=KEY[:-1])
    case("batch-auth-33-chars",
         "'trk_' followed by 33 alphanumerics (the account key plus one character) -> "
         "401 'Invalid API key': exactly 32 are required.",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key=KEY + "q")
    case("batch-auth-non-alphanumeric",
         "'trk_' followed by 32 characters one of which is '-' -> 401 'Invalid API key' "
         "(ASCII letters or digits only).",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key=KEY[:20] + "-" + KEY[21:])
    case("batch-auth-non-ascii-letter",
         "'trk_' followed by 32 letters/digits one of which is the non-ASCII letter 'é' -> 401 "
         "'Invalid API key' (ASCII letters only).",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key=KEY[:20] + "é" + KEY[21:])
    case("batch-auth-unknown-key",
         "A well-formed key that is not one of the account's keys -> 401 'Invalid API key'.",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key=KEY2)
    case("batch-auth-case-sensitive",
         "The account's key with its letters upper-cased is well-formed but is not the account's key "
         "-> 401 'Invalid API key' (keys compare exactly).",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key="trk_" + KEY[4:].upper())
    case("batch-auth-leading-space",
         "The account's key preceded by a space: no trimming, so malformed -> 401 'Invalid API key'.",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key=" " + KEY)
    case("batch-auth-trailing-space",
         "The account's key followed by a space: no trimming, so malformed -> 401 'Invalid API key'.",
         batch("invalid_api_key"), body=GOOD_BODY, world=W1, api_key=KEY + " ")
    case("batch-auth-second-key",
         "An account with two keys accepts the second one -> 200 with the one contact accepted.",
         OK1, body=GOOD_BODY, world={**W1, "api_keys": [KEY, KEY2]}, api_key=KEY2)
    case("batch-auth-default-key-not-in-account",
         "The world's api_keys replace the default: the default key, sent explicitly, is not one of "
         "this account's keys -> 401 'Invalid API key'.",
         batch("invalid_api_key"), body=GOOD_BODY, world={**W1, "api_keys": [KEY2]}, api_key=KEY)
    case("batch-auth-before-invalid-json",
         "No key and a body that is not JSON: the key check comes first (SPEC 3 order) -> 401 "
         "'API key required'.",
         batch("api_key_required"), body_raw='{"contacts": [', world=W1, api_key=None)
    case("batch-auth-before-missing-contacts",
         "Wrong key and a body without contacts: the key check comes first -> 401 'Invalid API key'.",
         batch("invalid_api_key"), body={}, world=W1, api_key=KEY2)
    case("batch-auth-before-too-many",
         "No key and 1001 contacts: the key check comes before too_many_contacts -> 401.",
         batch("api_key_required"), body={"contacts": [{}] * 1001}, world=W1, api_key=None)
    case("batch-auth-before-billing",
         "Malformed key, billing suspended and a use_validation contact: 401 comes before 402.",
         batch("invalid_api_key"), body={"contacts": [contact(use_validation=True)]},
         world={**W1, "billing": "suspended"}, api_key=KEY[:-1])


def json_cases() -> None:
    raw = [
        ("syntax-error", '{"contacts": [}', "a '}' closing an array"),
        ("truncated", '{"contacts": [' + compact(GOOD), "a body cut off before its end"),
        ("trailing-data", GOOD_RAW + " x", "a valid object followed by the trailing data ' x'"),
        ("two-values", GOOD_RAW + GOOD_RAW, "two JSON texts one after the other"),
        ("empty-body", "", "an empty body (zero bytes)"),
        ("whitespace-only", " \r\n\t ", "a body of whitespace only"),
        ("trailing-comma", '{"contacts": [' + compact(GOOD) + ",]}", "a trailing comma in the array"),
        ("single-quotes", "{'contacts': []}", "single-quoted strings"),
        ("unquoted-key", "{contacts: [" + compact(GOOD) + "]}", "an unquoted member name"),
        ("raw-newline-in-string",
         '{"contacts": [{"phone_number": "+14155550100\n", "list_number": "+18005551234"}]}',
         "a raw (unescaped) line feed inside a string"),
        ("nan", '{"contacts": [NaN]}', "the bare word NaN"),
        ("comment", '// contacts\n' + GOOD_RAW, "a // comment"),
        ("leading-zero-number", '{"contacts": [01]}', "the number 01 (leading zero)"),
        ("plus-number", '{"contacts": [+1]}', "the number +1 (leading plus)"),
        ("invalid-escape", '{"contacts": ["\\x41"]}', "the invalid string escape \\x"),
        ("python-literals", '{"contacts": [True, None]}', "the words True and None"),
    ]
    for slug, text, what in raw:
        case("batch-json-" + slug,
             f"The body is not one valid JSON text ({what}) -> 400 invalid_json (SPEC 3 row 3).",
             batch("invalid_json"), body_raw=text, world=W1)
    many = ",".join(["1"] * 1001)
    case("batch-json-invalid-after-1001-contacts",
         "1001 elements in contacts, then a syntax error (a missing ']'): the body is not valid JSON, "
         "and invalid_json (row 3) comes before too_many_contacts (row 5) -> 400 invalid_json. "
         "Bounding the work on an oversized array must not skip the syntax check of the rest.",
         batch("invalid_json"), body_raw='{"contacts": [' + many + "}", world=W1)
    case("batch-json-trailing-whitespace-ok",
         "Whitespace (space, CR, LF, tab) before and after the JSON text is part of valid JSON -> 200.",
         OK1, body_raw=" \r\n\t" + GOOD_RAW + "\n\t \r\n", world=W1)
    case("batch-json-escaped-strings-ok",
         "String escapes in the raw body (\\u002B for '+', \\u0031 for '1') decode to the same "
         "numbers -> 200, the contact accepted.",
         OK1, body_raw='{"contacts":[{"phone_number":"\\u002B14155550100","list_number":"+\\u00318005551234"}]}',
         world=W1)


def missing_contacts_cases() -> None:
    bodies = [
        ("top-level-array", [GOOD], "the top level is an array of contacts, not an object"),
        ("top-level-string", "contacts", "the top level is a string"),
        ("top-level-number", 42, "the top level is a number"),
        ("top-level-null", None, "the top level is null"),
        ("top-level-true", True, "the top level is true"),
        ("absent", {}, "the object has no contacts member"),
        ("absent-other-members", {"contact": [GOOD], "Contacts": [GOOD]},
         "only members 'contact' and 'Contacts' (names are case-sensitive and exact)"),
        ("null", {"contacts": None}, "contacts is null"),
        ("object", {"contacts": {"0": GOOD}}, "contacts is an object"),
        ("string", {"contacts": "[]"}, "contacts is a string"),
        ("number", {"contacts": 1}, "contacts is a number"),
        ("boolean", {"contacts": True}, "contacts is a boolean"),
        ("empty-array", {"contacts": []}, "contacts is an empty array"),
    ]
    for slug, body, what in bodies:
        # A JSON null body is given as body_raw: `"body": null` could be read as "no body".
        kw = {"body_raw": "null"} if body is None else {"body": body}
        case("batch-missing-contacts-" + slug,
             f"{what[0].upper() + what[1:]} -> 400 missing_contacts "
             "'contacts must be a non-empty array' (SPEC 3 row 4).",
             batch("missing_contacts"), world=W1, **kw)
    case("batch-missing-contacts-before-billing",
         "contacts is an object holding use_validation true, billing suspended: the shape check "
         "(row 4) comes before the billing check (row 6), and an object is no array of elements "
         "-> 400 missing_contacts.",
         batch("missing_contacts"), body={"contacts": {"use_validation": True}},
         world={**W1, "billing": "suspended"})
    case("batch-extra-top-level-members-ok",
         "Members other than contacts at the top level are ignored -> 200.",
         OK1, body={"contacts": [GOOD], "dry_run": True, "meta": {"source": "csv"}}, world=W1)


def billing_cases() -> None:
    for status in ("no_billing_config", "no_payment_method", "payment_failed", "suspended"):
        case("batch-billing-" + status.replace("_", "-"),
             f"Billing status {status} and a contact with use_validation true -> 402 {status} "
             "with its SPEC 3 row 6 message.",
             batch(status), body={"contacts": [contact(P(100), L1, use_validation=True)]},
             world={**W1, "billing": status})
    case("batch-billing-active-validation-ok",
         "Billing active (explicitly) and use_validation true: no 402; the default validation "
         "disposition is ok -> 200, accepted.",
         OK1, body={"contacts": [contact(use_validation=True)]}, world={**W1, "billing": "active"})
    case("batch-billing-validation-false",
         "Billing suspended but use_validation is false: the 402 needs the JSON value true -> 200.",
         OK1, body={"contacts": [contact(use_validation=False)]}, world={**W1, "billing": "suspended"})
    case("batch-billing-validation-absent",
         "Billing payment_failed and no contact sets use_validation (absent, or null) -> 200.",
         ok(2, [], 2, 2, 0),
         body={"contacts": [contact(P(100)), contact(P(101), use_validation=None)]},
         world={**W1, "billing": "payment_failed"})
    c = contact(use_validation="true")
    case("batch-billing-validation-string-true",
         "Billing suspended and use_validation is the string \"true\", not the JSON value true: no "
         "402; the contact then fails rule 7 -> 200 with invalid_field use_validation.",
         ok(1, [fail(0, c, "invalid_field", field="use_validation")], 0, 0, 0),
         body={"contacts": [c]}, world={**W1, "billing": "suspended"})
    c = contact(use_validation=1)
    case("batch-billing-validation-number-one",
         "Billing no_payment_method and use_validation 1: not the JSON value true, no 402 -> 200 "
         "with invalid_field use_validation.",
         ok(1, [fail(0, c, "invalid_field", field="use_validation")], 0, 0, 0),
         body={"contacts": [c]}, world={**W1, "billing": "no_payment_method"})
    case("batch-billing-invalid-contact-triggers",
         "The only use_validation true contact has an invalid phone number (it would fail rule 5): "
         "the billing check looks at every object element before any per-contact rule -> 402.",
         batch("no_billing_config"),
         body={"contacts": [contact(P(100)), contact("+11234567890", ABSENT, use_validation=True)]},
         world={**W1, "billing": "no_billing_config"})
    big = sized(CONTACT_LIMIT + 1, contact(P(101), L1, use_validation=True))
    case("batch-billing-oversize-contact-triggers",
         "The only use_validation true contact is 4001 bytes (it would fail rule 1): it is still an "
         "object whose use_validation is true -> 402 suspended.",
         batch("suspended"), body={"contacts": [contact(P(100)), big]},
         world={**W1, "billing": "suspended"})
    case("batch-billing-last-element-triggers",
         "Only the last of three contacts sets use_validation true -> 402 payment_failed.",
         batch("payment_failed"),
         body={"contacts": [contact(P(100)), contact(P(101)), contact(P(102), use_validation=True)]},
         world={**W1, "billing": "payment_failed"})
    case("batch-billing-nested-true-not-triggering",
         "use_validation true appears only inside custom_fields and inside an array element (not an "
         "object element of contacts): no 402. The array element fails rule 2 -> 200.",
         ok(2, [err(1, None, "invalid_contact")], 1, 1, 0),
         body={"contacts": [contact(P(100), custom_fields={"use_validation": True}),
                            [{"phone_number": P(101), "list_number": L1, "use_validation": True}]]},
         world={**W1, "billing": "suspended"})
    case("batch-billing-before-internal-error",
         "Billing suspended, a use_validation contact, and a contact whose list lookup fails: 402 "
         "(row 6) comes before 500 (row 7), and no lookup is needed to decide it.",
         batch("suspended"),
         body={"contacts": [contact(P(100), LE), contact(P(101), use_validation=True)]},
         world={**W1, "billing": "suspended", "lists": {L1: {"welcome_journeys": 1}, LE: "error"}})
    case("batch-billing-before-contact-rules",
         "Billing no_payment_method; besides the use_validation contact the batch holds a non-object "
         "and an unknown list: the 402 replaces the whole summary.",
         batch("no_payment_method"),
         body={"contacts": [None, contact(P(100), LX), contact(P(101), use_validation=True)]},
         world={**W1, "billing": "no_payment_method"})


def billing_status_cases() -> None:
    """For each 402 status, the same three shapes: so that each code is pinned several times."""
    for status in ["no_billing_config", "no_payment_method", "payment_failed", "suspended"]:
        name = status.replace("_", "-")
        bad = contact("415-555-0100", L1, use_validation=True)
        case(f"batch-billing-{name}-invalid-phone-triggers",
             f"Billing {status}; the only contact asking for validation would fail rule 5 (a "
             f"national-format phone): it is an object whose use_validation is true -> 402 {status}.",
             batch(status), body={"contacts": [bad]}, world={**W1, "billing": status})
        case(f"batch-billing-{name}-among-others",
             f"Billing {status}; the middle one of three contacts asks for validation -> 402 "
             f"{status}, the other contacts are not evaluated.",
             batch(status),
             body={"contacts": [contact(P(100)), contact(P(101), use_validation=True), contact(P(102))]},
             world={**W1, "billing": status})
        case(f"batch-billing-{name}-before-lookup-error",
             f"Billing {status}, a contact asking for validation whose list lookup fails: the 402 "
             f"(row 6) comes before the 500 (row 7) -> 402 {status}.",
             batch(status), body={"contacts": [contact(P(100), LE, use_validation=True)]},
             world={**W1, "billing": status, "lists": {L1: {"welcome_journeys": 1}, LE: "error"}})

def batch_cases() -> None:
    auth_cases()
    json_cases()
    missing_contacts_cases()
    billing_cases()
    billing_status_cases()


# ============================================================================================
# limit-: the count and body-size limits (SPEC 2 and 3).

def limit_cases() -> None:
    c1000 = [contact(P(i), L1, use_journeys=True) for i in range(1000)]
    case("limit-1000-contacts",
         "Exactly 1000 contacts (the limit) with distinct phone numbers, all fine, each with "
         "use_journeys on a 1-journey list -> 200, 1000 accepted, created and enrolled.",
         ok(1000, [], 1000, 1000, 1000), body={"contacts": c1000}, world=W1)
    case("limit-1001-contacts",
         "1001 otherwise fine contacts -> 413 too_many_contacts (SPEC 3 row 5).",
         batch("too_many_contacts"), body={"contacts": c1000 + [contact(P(1000), L1)]}, world=W1)
    case("limit-1001-scalar-elements",
         "1001 elements that are all the number 0: the count check looks at the number of "
         "elements, not at what they are -> 413 too_many_contacts.",
         batch("too_many_contacts"), body={"contacts": [0] * 1001}, world=W1)
    case("limit-1000-scalar-elements",
         "1000 elements that are all null: within the limit, each one fails rule 2 -> 200 with "
         "1000 invalid_contact entries (indices 0..999).",
         ok(1000, [err(i, None, "invalid_contact") for i in range(1000)], 0, 0, 0),
         body={"contacts": [None] * 1000}, world=W1)
    case("limit-too-many-before-billing",
         "1001 contacts with use_validation true and billing suspended: too_many_contacts (row 5) "
         "comes before the 402 (row 6) -> 413 too_many_contacts.",
         batch("too_many_contacts"),
         body={"contacts": [contact(P(i), L1, use_validation=True) for i in range(1001)]},
         world={**W1, "billing": "suspended"})
    case("limit-too-many-before-internal-error",
         "1001 contacts on a list whose lookup fails: 413 (row 5) before any lookup -> 413.",
         batch("too_many_contacts"), body={"contacts": [{"phone_number": P(1), "list_number": LE}] * 1001},
         world={"lists": {LE: "error"}})

    # The body-size limit: exactly 5 MiB passes, one more byte is refused before parsing.
    head = '{"contacts": ['
    tail = compact(GOOD) + "]}"
    pad = BODY_LIMIT - len((head + tail).encode())
    exact = head + " " * pad + tail
    assert len(exact.encode()) == BODY_LIMIT
    case("limit-body-5242880-bytes",
         "A body of exactly 5,242,880 bytes (one small contact, padded with spaces between tokens): "
         "the request limit allows exactly that many -> 200, accepted. Whitespace between tokens "
         "does not count toward the contact's size.",
         OK1, body_raw=exact, world=W1)
    over = head + " " * pad + tail + "x"
    assert len(over.encode()) == BODY_LIMIT + 1
    case("limit-body-5242881-bytes",
         "The same 5,242,880-byte body plus one byte ('x', which would also make it invalid JSON): "
         "5,242,881 bytes exceed the request limit, checked before parsing (row 2 before row 3) "
         "-> 413 payload_too_large 'Request body exceeds the 5242880 byte limit'.",
         batch("payload_too_large"), body_raw=over, world=W1)

    # More bodies over the limit: each is refused before anything else is looked at.
    spaced = head + " " * (pad + 1) + tail
    assert len(spaced.encode()) == BODY_LIMIT + 1
    case("limit-body-5242881-bytes-valid-json",
         "A body of 5,242,881 bytes that is valid JSON (one more space between tokens): the size "
         "alone decides -> 413 payload_too_large.",
         batch("payload_too_large"), body_raw=spaced, world=W1)
    vtail = compact(contact(P(100), L1, use_validation=True)) + "]}"
    vover = head + " " * (BODY_LIMIT + 1 - len((head + vtail).encode())) + vtail
    assert len(vover.encode()) == BODY_LIMIT + 1
    case("limit-body-over-before-billing",
         "A 5,242,881-byte body whose contact asks for validation, billing suspended: the size "
         "(row 2) comes before the 402 (row 6) -> 413 payload_too_large.",
         batch("payload_too_large"), body_raw=vover, world={**W1, "billing": "suspended"})
    zeros = "0," * ((BODY_LIMIT - len(head) - len("0]}")) // 2)
    many = head + zeros + "0]}"
    many = many[:len(head)] + " " * (BODY_LIMIT + 1 - len(many)) + many[len(head):]
    assert len(many.encode()) == BODY_LIMIT + 1
    case("limit-body-over-before-too-many",
         "A 5,242,881-byte body of about 2.6 million elements: the size (row 2) comes before the "
         "count (row 5) -> 413 payload_too_large, not too_many_contacts.",
         batch("payload_too_large"), body_raw=many, world=W1)
    etail = compact({"phone_number": P(100), "list_number": LE}) + "]}"
    eover = head + " " * (BODY_LIMIT + 1 - len((head + etail).encode())) + etail
    assert len(eover.encode()) == BODY_LIMIT + 1
    case("limit-body-over-before-internal-error",
         "A 5,242,881-byte body whose contact's list lookup would fail: the size is checked "
         "before any lookup -> 413 payload_too_large, not 500.",
         batch("payload_too_large"), body_raw=eover, world={"lists": {LE: "error"}})
    case("limit-1001-nulls",
         "1001 elements that are all null (each would fail rule 2): the count check comes first "
         "-> 413 too_many_contacts.",
         batch("too_many_contacts"), body={"contacts": [None] * 1001}, world=W1)

# ============================================================================================
# rule01-: the per-contact size limit (SPEC 2, SPEC 4 rule 1).

def rule01_cases() -> None:
    base = contact(P(200), L1)
    for size in (3999, 4000, 4001):
        c = sized(size, base)
        (accepted if size <= CONTACT_LIMIT else rejected)(
            f"rule01-ascii-{size}-bytes",
            f"A contact whose compact JSON serialization is {size} bytes (ASCII filler in an extra "
            f"member 'note') -> " + ("accepted: at most 4000 bytes is allowed." if size <= CONTACT_LIMIT
                                     else "payload_too_large: more than 4000 bytes."),
            c, *(() if size <= CONTACT_LIMIT else ("payload_too_large",)))

    variants = [
        ("two-byte-char", "é", "'é' (U+00E9) counts 2 bytes in UTF-8"),
        ("three-byte-char", "€", "'€' (U+20AC) counts 3 bytes in UTF-8"),
        ("four-byte-char", "😀", "'😀' (U+1F600) counts 4 bytes in UTF-8"),
        ("newline", "\n", "a line feed is written \\n: 2 bytes"),
        ("quote", '"', "a quote is written \\\": 2 bytes"),
        ("backslash", "\\", "a backslash is written \\\\: 2 bytes"),
        ("control-char", "\u0001", "U+0001 is written \\u0001: 6 bytes"),
        ("slash", "/", "'/' is written unescaped: 1 byte"),
    ]
    for slug, unit, why in variants:
        a = sized(4000, contact(P(210), L1), unit=unit)
        b = sized(4001, contact(P(211), L1), unit=unit)
        case(f"rule01-{slug}-4000-and-4001-bytes",
             f"Two contacts whose 'note' is filled with characters where {why}: [0] is exactly 4000 "
             f"compact bytes ({len(a['note'])} characters in 'note') -> accepted; [1] is 4001 bytes "
             f"({len(b['note'])} characters) -> payload_too_large.",
             ok(2, [fail(1, b, "payload_too_large")], 1, 1, 0), body={"contacts": [a, b]}, world=W1)

    # Raw bodies where the raw text is not the compact serialization.
    def raw_body(contact_text: str) -> str:
        return '{"contacts": [' + contact_text + "]}"

    for size in (4000, 4001):
        c = sized(size, base)
        pretty = json.dumps({"contacts": [c]}, indent=8, ensure_ascii=False).replace("\n", "\r\n\t")
        assert len(json.dumps(c, indent=8).encode()) > size
        exp = OK1 if size <= CONTACT_LIMIT else ok(1, [fail(0, c, "payload_too_large")], 0, 0, 0)
        case(f"rule01-pretty-printed-{size}-bytes",
             f"A contact whose compact serialization is {size} bytes, sent pretty-printed (CRLF, "
             "tabs, 8-space indents): whitespace between tokens does not count -> "
             + ("accepted." if size <= CONTACT_LIMIT else "payload_too_large."),
             exp, body_raw=pretty, world=W1)

    for size in (4000, 4001):
        c = sized(size, base, unit="é")
        text = json.dumps(c, ensure_ascii=True, separators=(",", ":"))  # é sent as \u00e9
        assert "\\u00e9" in text and len(text.encode()) > CONTACT_LIMIT + 1000
        exp = OK1 if size <= CONTACT_LIMIT else ok(1, [fail(0, c, "payload_too_large")], 0, 0, 0)
        case(f"rule01-escaped-u00e9-{size}-bytes",
             f"The raw body writes each 'é' as the escape \\u00e9 (6 raw bytes); the parsed contact "
             f"serializes it raw (2 bytes), giving {size} compact bytes -> "
             + ("accepted." if size <= CONTACT_LIMIT else "payload_too_large."),
             exp, body_raw=raw_body(text), world=W1)

    c = sized(4000, base, unit="😀")
    text = json.dumps(c, ensure_ascii=True, separators=(",", ":"))
    assert "\\ud83d\\ude00" in text
    case("rule01-escaped-surrogate-pair-4000-bytes",
         "The raw body writes each '😀' as the surrogate-pair escape \\ud83d\\ude00 (12 raw bytes); "
         "the parsed contact serializes it as 4 raw UTF-8 bytes, giving exactly 4000 -> accepted.",
         OK1, body_raw=raw_body(text), world=W1)

    c = sized(4000, base, unit="/")
    text = compact(c).replace("/", "\\/")
    assert len(text.encode()) > CONTACT_LIMIT + 1000
    case("rule01-escaped-slash-4000-bytes",
         "The raw body writes each '/' as the escape \\/ (2 raw bytes); serialization writes '/' "
         "unescaped (1 byte), giving exactly 4000 -> accepted.",
         OK1, body_raw=raw_body(text), world=W1)

    c = sized(4000, base, unit="A")
    text = compact(c).replace("A", "\\u0041")
    assert len(text.encode()) > CONTACT_LIMIT + 1000
    case("rule01-escaped-ascii-4000-bytes",
         "The raw body writes each 'A' of the filler as \\u0041 (6 raw bytes); the parsed 'A' "
         "serializes as 1 byte, giving exactly 4000 -> accepted.",
         OK1, body_raw=raw_body(text), world=W1)

    c = sized(4001, base, unit="A")
    text = compact(c).replace("A", "\\u0041")
    case("rule01-escaped-ascii-4001-bytes",
         "As rule01-escaped-ascii-4000-bytes with one more byte: 4001 compact bytes -> "
         "payload_too_large.",
         ok(1, [fail(0, c, "payload_too_large")], 0, 0, 0), body_raw=raw_body(text), world=W1)

    # Structured members count too.
    for size in (4000, 4001):
        c = dict(base)
        c["tags"] = [["a", 1, True, False], {"k": -12, "z": []}, 0]
        c["extra"] = {"nested": {"n": 1234567890, "b": True}}
        c = sized(size, c, key="zz")
        exp_list = [] if size <= CONTACT_LIMIT else [fail(0, c, "payload_too_large")]
        one(f"rule01-structured-{size}-bytes",
            f"A contact with unknown members holding nested arrays, objects, integers and booleans, "
            f"{size} compact bytes in all: other members count toward the size -> "
            + ("accepted." if size <= CONTACT_LIMIT else "payload_too_large."), c, exp_list)

    c = sized(4001, {**base, "custom_fields": {"first_name": "Jane"}}, key="k" * 3000)
    rejected("rule01-long-member-name-4001-bytes",
             "Member names count too: a contact whose 4001 compact bytes come mostly from a 3000-byte "
             "member name -> payload_too_large.", c, "payload_too_large")

    # Precedence: rule 1 first.
    c = sized(4001, {"list_number": L1})
    rejected("rule01-before-rule03",
             "A 4001-byte contact without phone_number: rule 1 comes first -> payload_too_large with "
             "phone_number null.", c, "payload_too_large")
    s = "+14155550100 " + "x" * (4001 - 2 - len("+14155550100 "))
    assert compact_size(s) == 4001
    case("rule01-before-rule02",
         "A contact that is a string of 4001 compact bytes (not an object): rule 1 (size) comes "
         "before rule 2 (not an object) -> payload_too_large, phone_number null.",
         ok(1, [err(0, None, "payload_too_large")], 0, 0, 0), body={"contacts": [s]}, world=W1)
    arr = ["x" * 1000] * 4
    assert compact_size(arr) == 4013
    case("rule01-before-rule02-array",
         "A contact that is an array of four 1000-character strings (4013 bytes) -> "
         "payload_too_large, not invalid_contact.",
         ok(1, [err(0, None, "payload_too_large")], 0, 0, 0), body={"contacts": [arr]}, world=W1)
    c = sized(4001, contact("+11234567890", L1, url="ftp://x"))
    rejected("rule01-before-rule05",
             "A 4001-byte contact whose phone number and url are also invalid: rule 1 first -> "
             "payload_too_large, phone_number echoed as sent.", c, "payload_too_large")
    c = sized(4001, contact(14155550100, L1))
    rejected("rule01-non-string-phone",
             "A 4001-byte contact whose phone_number is a number: payload_too_large with "
             "phone_number null (only strings are echoed).", c, "payload_too_large")
    a = contact(P(201), L1)
    b = sized(4001, contact(P(202), L1))
    d = contact(P(203), L1)
    case("rule01-only-the-large-contact-fails",
         "Three contacts, the middle one 4001 bytes: only it fails -> 200 with one "
         "payload_too_large at index 1, the others created.",
         ok(3, [fail(1, b, "payload_too_large")], 2, 2, 0), body={"contacts": [a, b, d]}, world=W1)


# ============================================================================================
# rule02- … rule12-: the per-contact rules of SPEC 4.

def rule02_cases() -> None:
    for slug, v, what in [
        ("null", None, "null"),
        ("number", 14155550100, "the number 14155550100"),
        ("string", P(100), "the string \"" + P(100) + "\" (a phone number, but not an object)"),
        ("array", [P(100), L1], "an array holding a phone and a list number"),
        ("boolean", True, "true"),
        ("array-of-object", [contact()], "an array holding a valid contact object"),
    ]:
        case("rule02-" + slug,
             f"A contact that is {what} -> invalid_contact 'Contact must be a JSON object' "
             "(rule 2), with phone_number null: a non-object has no phone_number member.",
             ok(1, [err(0, None, "invalid_contact")], 0, 0, 0), body={"contacts": [v]}, world=W1)
    body = [contact(P(100)), None, 7, "x", contact(P(101)), [], False, {}]
    case("rule02-mixed-with-objects",
         "Objects and non-objects mixed: every non-object gets invalid_contact at its own index; "
         "the empty object {} fails rule 3 (missing_phone_number); the two valid objects are created.",
         ok(8, [err(1, None, "invalid_contact"), err(2, None, "invalid_contact"),
                err(3, None, "invalid_contact"), err(5, None, "invalid_contact"),
                err(6, None, "invalid_contact"), err(7, None, "missing_phone_number")], 2, 2, 0),
         body={"contacts": body}, world=W1)


def rule03_cases() -> None:
    for slug, c, what in [
        ("absent", contact(ABSENT, L1), "phone_number is absent"),
        ("null", contact(None, L1), "phone_number is null (null counts as absent)"),
        ("empty", contact("", L1), "phone_number is the empty string"),
        ("spaces", contact("   ", L1), "phone_number is three spaces: empty after trimming; echoed untrimmed"),
        ("ascii-whitespace", contact(" \t\r\n ", L1), "phone_number is ASCII whitespace (space, tab, CR, LF)"),
        ("case-sensitive-name", {"Phone_Number": P(100), "list_number": L1},
         "only 'Phone_Number' is present: member names are case-sensitive"),
    ]:
        rejected("rule03-" + slug,
                 f"{what[0].upper() + what[1:]} -> missing_phone_number 'phone_number is required'.",
                 c, "missing_phone_number")
    rejected("rule03-empty-contact",
             "The empty object {} -> missing_phone_number (rule 3 is the first that fails).",
             {}, "missing_phone_number")
    rejected("rule03-before-rule04",
             "Both phone_number and list_number absent -> missing_phone_number (rule 3 before 4).",
             {"use_journeys": True}, "missing_phone_number")
    rejected("rule03-before-rule07",
             "phone_number empty and url invalid -> missing_phone_number (rule 3 before rule 7).",
             contact("", L1, url="nope"), "missing_phone_number")


def rule04_cases() -> None:
    for slug, c, what in [
        ("absent", contact(P(100), ABSENT), "list_number is absent"),
        ("null", contact(P(100), None), "list_number is null (null counts as absent)"),
        ("empty", contact(P(100), ""), "list_number is the empty string"),
        ("spaces", contact(P(100), " \t "), "list_number is spaces and a tab: empty after trimming"),
    ]:
        rejected("rule04-" + slug,
                 f"{what[0].upper() + what[1:]} (phone valid) -> missing_list_number "
                 "'list_number is required'.", c, "missing_list_number")
    rejected("rule04-before-rule05",
             "phone_number is an invalid string and list_number is absent: rule 4 comes before rule "
             "5 -> missing_list_number, with the invalid phone_number echoed as sent.",
             contact("not a phone", ABSENT), "missing_list_number")
    rejected("rule04-before-rule05-non-string-phone",
             "phone_number is a number (present, so rule 3 passes) and list_number is null -> "
             "missing_list_number with phone_number null (not a string).",
             contact(14155550100, None), "missing_list_number")


def rule05_cases() -> None:
    for slug, phone, why in [
        ("non-canonical", "+200237082111",
         "libphonenumber reads +200237082111 as +20237082111 and calls that valid, but the E.164 "
         "form differs from the string sent, so it is not canonical (SPEC 6.3)"),
        ("national-prefix", "+4402079460000",
         "+44 then the national prefix 0: libphonenumber reads +442079460000, not canonical"),
        ("invalid-area-code", "+11234567890", "+1 123 is no valid North American area code"),
    ]:
        rejected("rule05-" + slug,
                 f"phone_number \"{phone}\": {why} -> invalid_phone 'phone_number must be a valid "
                 "E.164 number', echoed exactly as sent.", contact(phone, L1), "invalid_phone")
    ip = "invalid_phone"
    multi("rule05-not-valid-numbers",
          "Strings of '+' and ASCII digits that libphonenumber does not call valid, or that break "
          "SPEC 6.1's length and first-digit rules:",
          [("too short +1415555", contact("+1415555"), ip),
           ("16 digits +1415555010012345", contact("+1415555010012345"), ip),
           ("first digit 0 +014155550100", contact("+014155550100"), ip),
           ("'+' alone", contact("+"), ip),
           ("one digit +1", contact("+1"), ip),
           ("control: valid +14155550100", contact(P(100)), None)])
    multi("rule05-formatting-characters",
          "Valid numbers written with something besides '+' and digits (SPEC 6.1 allows nothing "
          "else; each is echoed exactly as sent, untrimmed):",
          [("spaces", contact("+1 415 555 0100"), ip),
           ("dashes", contact("+1-415-555-0100"), ip),
           ("brackets", contact("+1 (415) 555-0100"), ip),
           ("dots", contact("+1.415.555.0100"), ip),
           ("tel: prefix", contact("tel:+14155550100"), ip),
           ("extension", contact("+14155550100;ext=12"), ip),
           ("letters", contact("+1415555CALL"), ip),
           ("two '+'", contact("++14155550100"), ip),
           ("surrounding spaces", contact(" +14155550100 "), ip),
           ("trailing line feed", contact("+14155550100\n"), ip)])
    multi("rule05-missing-plus",
          "International numbers without the leading '+':",
          [("digits only", contact("14155550100"), ip),
           ("00 international prefix", contact("0014155550100"), ip),
           ("011 international prefix", contact("01114155550100"), ip)])
    multi("rule05-non-ascii-digits",
          "Digits other than ASCII 0-9 (libphonenumber would normalize them; SPEC 6.1 does not):",
          [("full-width digits", contact("+１４１５５５５０１００"), ip),
           ("Arabic-Indic digits", contact("+١٤١٥٥٥٥٠١٠٠"), ip),
           ("full-width plus", contact("＋14155550100"), ip)])
    multi("rule05-not-a-string",
          "phone_number present but not a string -> invalid_phone with phone_number null:",
          [("number 14155550100", contact(14155550100), ip),
           ("true", contact(True), ip),
           ("array", contact([P(100)]), ip),
           ("object", contact({"number": P(100)}), ip)])
    rejected("rule05-before-rule06",
             "phone_number and list_number both invalid -> invalid_phone (rule 5 before rule 6).",
             contact("+11234567890", "+11234567891"), "invalid_phone")
    rejected("rule05-before-rule07",
             "Invalid phone_number and invalid signup_date -> invalid_phone (rule 5 before rule 7).",
             contact("+1415555", L1, signup_date="yesterday"), "invalid_phone")


def rule06_cases() -> None:
    rejected("rule06-non-canonical",
             "list_number \"+200237082111\" is not canonical (libphonenumber reads +20237082111) -> "
             "invalid_list_number 'list_number must be a valid E.164 number'.",
             contact(P(100), "+200237082111"), "invalid_list_number")
    rejected("rule06-list-number-integer",
             "list_number 18005551234 sent as a JSON number: not a string -> invalid_list_number.",
             contact(P(100), 18005551234), "invalid_list_number")
    rejected("rule06-list-number-national-format",
             "list_number \"(800) 555-1234\": a national format, not E.164 (no normalization) -> "
             "invalid_list_number.",
             contact(P(100), "(800) 555-1234"), "invalid_list_number")
    il = "invalid_list_number"
    multi("rule06-invalid-formats",
          "list_number values that are not valid E.164 numbers (same rule as phone_number):",
          [("invalid area code +11234567890", contact(P(100), "+11234567890"), il),
           ("no '+'", contact(P(101), "18005551234"), il),
           ("spaces", contact(P(102), "+1 800 555 1234"), il),
           ("leading space (no trimming)", contact(P(103), " +18005551234"), il),
           ("number 18005551234", contact(P(104), 18005551234), il),
           ("object", contact(P(105), {"number": L1}), il),
           ("control: valid +18005551234", contact(P(106), L1), None)])
    rejected("rule06-before-rule07",
             "Invalid list_number and use_journeys \"yes\" -> invalid_list_number (rule 6 before 7).",
             contact(P(100), "+1800", use_journeys="yes"), "invalid_list_number")


def rule07_cases() -> None:
    order = ["use_journeys", "skip_journey_if_exists", "use_validation", "replace_custom_fields",
             "signup_date", "ip_address", "url"]
    bad = {"use_journeys": "true", "skip_journey_if_exists": 0, "use_validation": "false",
           "replace_custom_fields": [], "signup_date": "2025-13-01T00:00:00Z",
           "ip_address": "1.2.3", "url": "ftp://example.com/"}
    for a, b in zip(order, order[1:]):
        # The later field first in the object: position in the object does not matter.
        c = contact(P(100), L1, **{b: bad[b], a: bad[a]})
        rejected(f"rule07-order-{a.replace('_', '-')}-before-{b.replace('_', '-')}",
                 f"Both {a} and {b} have a wrong value: {a} comes first in the rule-7 order -> "
                 f"invalid_field with field {a}.", c, "invalid_field", field=a)
    c = {"url": bad["url"], "ip_address": bad["ip_address"], "signup_date": bad["signup_date"],
         "phone_number": P(100), "list_number": L1, "replace_custom_fields": bad["replace_custom_fields"],
         "use_journeys": bad["use_journeys"]}
    text = json.dumps({"contacts": [c]}, ensure_ascii=False)
    case("rule07-order-independent-of-position",
         "Raw body whose contact lists url, ip_address, signup_date, replace_custom_fields and "
         "use_journeys (all wrong) in that textual order: the SPEC order decides -> invalid_field "
         "use_journeys.",
         ok(1, [fail(0, c, "invalid_field", field="use_journeys")], 0, 0, 0), body_raw=text, world=W1)
    c = contact(P(100), L1, **bad)
    rejected("rule07-all-seven-invalid",
             "All seven rule-7 fields wrong -> only the first, use_journeys, is reported.",
             c, "invalid_field", field="use_journeys")
    rejected("rule07-before-rule08",
             "url invalid and custom_fields an array -> invalid_field url (rule 7 before rule 8).",
             contact(P(100), L1, url="example.com", custom_fields=["a"]), "invalid_field", field="url")
    rejected("rule07-before-rule09",
             "ip_address invalid and the list unknown -> invalid_field ip_address (rule 7 before 9, "
             "no list lookup).", contact(P(100), LX, ip_address="999.1.1.1"), "invalid_field",
             field="ip_address", world={})


def rule08_cases() -> None:
    bads = [
        ("array", ["first_name", "Jane"], "an array"),
        ("string", "first_name=Jane", "a string"),
        ("number", 1, "a number"),
        ("boolean", True, "a boolean"),
        ("empty-key", {"": "x"}, "an object with the empty key \"\""),
        ("array-value", {"tags": ["a", "b"]}, "an object with an array value"),
        ("object-value", {"address": {"city": "Paris"}}, "an object with an object value"),
        ("one-bad-among-good", {"first_name": "Jane", "age": 30, "kids": [], "vip": True},
         "an object where one value of four is an array"),
    ]
    for slug, v, what in bads:
        rejected("rule08-" + slug,
                 f"custom_fields is {what} -> invalid_custom_fields 'custom_fields must be an object "
                 "of string, number or boolean values'.", contact(P(100), L1, custom_fields=v),
                 "invalid_custom_fields")
    accepted("rule08-valid-values",
             "custom_fields holding strings (including empty), integers, a negative, a float and "
             "booleans -> accepted.",
             contact(P(100), L1, custom_fields={"first_name": "Jane", "empty": "", "age": 30,
                                                "balance": -12, "score": 4.75, "vip": True,
                                                "optout": False}))
    accepted("rule08-empty-object",
             "custom_fields is the empty object {} -> accepted.", contact(P(100), L1, custom_fields={}))
    accepted("rule08-null-is-absent",
             "custom_fields is null: null counts as absent -> accepted.",
             contact(P(100), L1, custom_fields=None))
    rejected("rule08-before-rule09",
             "custom_fields invalid and the list unknown -> invalid_custom_fields (rule 8 before 9).",
             contact(P(100), LX, custom_fields="x"), "invalid_custom_fields", world={})


def rule09_cases() -> None:
    rejected("rule09-default-world-has-no-lists",
             "The default world has no lists, so a valid list_number is not found -> list_not_found "
             "'Sending list not found'.", contact(P(100), L1), "list_not_found", world={})
    rejected("rule09-other-list-known",
             "The world knows lists +18005551234 and +18005550100 but not +18665550100 -> "
             "list_not_found.", contact(P(100), LX), "list_not_found", world=W13)
    case("rule09-known-and-unknown",
         "Two contacts, one on a known list (accepted), one on an unknown list (list_not_found).",
         ok(2, [err(1, P(101), "list_not_found")], 1, 1, 0),
         body={"contacts": [contact(P(100), L1), contact(P(101), LX)]}, world=W1)
    rejected("rule09-before-rule10",
             "The list is unknown and the carrier would say not_sendable -> list_not_found (rule 9 "
             "before rule 10).", contact(NS, LX), "list_not_found",
             world={**W1, "carrier": {NS: "not_sendable"}})


def rule10_cases() -> None:
    rejected("rule10-not-sendable",
             "The carrier says not_sendable -> not_sendable 'Phone number failed carrier validation'.",
             contact(NS, L1), "not_sendable", world={**W1, "carrier": {NS: "not_sendable"}})
    accepted("rule10-explicit-sendable",
             "The world's carrier verdict for this number is explicitly sendable -> accepted.",
             contact(P(100), L1), world={**W1, "carrier": {P(100): "sendable", NS: "not_sendable"}})
    rejected("rule10-before-rule11",
             "not_sendable and use_validation true with a provider error for this number -> "
             "not_sendable (rule 10 before 11; the paid validation is not reached).",
             contact(VP, L1, use_validation=True), "not_sendable",
             world={**W1, "carrier": {VP: "not_sendable"}, "validation": {VP: "provider_error"}})
    rejected("rule10-before-rule12",
             "not_sendable and use_validation true with disposition unreachable -> not_sendable "
             "(rule 10 before 12).", contact(VU, L1, use_validation=True), "not_sendable",
             world={**W1, "carrier": {VU: "not_sendable"}, "validation": {VU: VALIDATION[VU]}})


def rule11_cases() -> None:
    c0 = contact(VP, L1, use_validation=True)
    c1 = contact(P(100), L1, use_validation=True)
    c2 = contact(VP, L3, use_validation=True, use_journeys=True)
    case("rule11-provider-error-no-enrollment",
         "use_validation and use_journeys on a 3-journey list, and the provider cannot be reached: "
         "provider_error, so the contact is not written and enrolls in nothing -> 200 with no "
         "contact created.",
         ok(1, [fail(0, c2, "provider_error")], 0, 0, 0), body={"contacts": [c2]},
         world={**W13, "validation": {VP: "provider_error"}})
    case("rule11-provider-error",
         "use_validation true and the validation provider cannot be reached for this number -> "
         "provider_error 'Phone validation provider unavailable' for that contact only; the batch is "
         "200 (the validation provider never causes a 500) and the other contact is created.",
         ok(2, [fail(0, c0, "provider_error")], 1, 1, 0), body={"contacts": [c0, c1]},
         world={**W1, "validation": {VP: "provider_error"}})
    accepted("rule11-not-asked-without-use-validation",
             "The provider would fail for this number but use_validation is absent -> no validation, "
             "accepted.", contact(VP, L1), world={**W1, "validation": {VP: "provider_error"}})
    accepted("rule11-not-asked-when-false",
             "The provider would fail for this number but use_validation is false -> accepted.",
             contact(VP, L1, use_validation=False), world={**W1, "validation": {VP: "provider_error"}})


def rule12_cases() -> None:
    for phone in (VU, VI):
        v = VALIDATION[phone]
        d = v["disposition"]
        rejected(f"rule12-validation-{d}",
                 f"use_validation true and the disposition is {d} -> validation_failed 'Phone "
                 f"validation failed: {d}' with the world's validation object echoed unchanged as "
                 "'validation' after 'error'.", contact(phone, L1, use_validation=True),
                 "validation_failed", validation=v, world={**W1, "validation": {phone: v}})
    for phone in (VR, VK, VO):
        v = VALIDATION[phone]
        d = v["disposition"]
        accepted(f"rule12-validation-{d}-passes",
                 f"use_validation true and the disposition is {d}: ok, risky and unknown pass -> "
                 "accepted.", contact(phone, L1, use_validation=True),
                 world={**W1, "validation": {phone: v}})
    accepted("rule12-not-asked-without-use-validation",
             "Disposition invalid in the world but use_validation absent -> no validation, accepted.",
             contact(VI, L1), world={**W1, "validation": {VI: VALIDATION[VI]}})
    c = [contact(VU, L1, use_validation=True), contact(VI, L1, use_validation=True),
         contact(VP, L1, use_validation=True), contact(VR, L1, use_validation=True),
         contact(NS, L1, use_validation=True), contact(P(100), LX, use_validation=True)]
    case("rule12-mixed-outcomes",
         "Six use_validation contacts: unreachable and invalid fail with their objects, the provider "
         "error gives provider_error, risky passes, the not_sendable one stops at rule 10 and the "
         "unknown list at rule 9.",
         ok(6, [fail(0, c[0], "validation_failed", validation=VALIDATION[VU]),
                fail(1, c[1], "validation_failed", validation=VALIDATION[VI]),
                fail(2, c[2], "provider_error"), fail(4, c[4], "not_sendable"),
                fail(5, c[5], "list_not_found")], 1, 1, 0),
         body={"contacts": c},
         world={**W1, "carrier": {NS: "not_sendable"}, "validation": dict(VALIDATION)})


# ============================================================================================
# field-: the invalid_field formats of SPEC 4 (rule 7) and the E.164 rule of SPEC 6.

def field_cases() -> None:
    # Valid numbers of several countries (each checked with phonenumbers 9.0.43).
    def valid_numbers(name, intro, numbers):
        multi(name, intro + " libphonenumber 9.0.43 calls each valid and its E.164 form is the "
              "string itself:", [(f"{what} {n}", contact(n, L1), None) for what, n in numbers])
    valid_numbers("field-phone-valid-north-america", "North American numbers.",
                  [("San Francisco 555-01xx", "+14155550100"), ("New York", "+12125551000"),
                   ("Boston", "+16175550100"), ("toll-free 888", "+18885550123")])
    valid_numbers("field-phone-valid-europe", "European numbers.",
                  [("GB London fixed line", "+442079460123"), ("GB mobile", "+447911123456"),
                   ("DE Berlin", "+493012345678"), ("DE mobile", "+4915123456789"),
                   ("FR Paris", "+33123456789"),
                   ("IT Milan (national number keeps its leading 0)", "+390212345678")])
    valid_numbers("field-phone-valid-rest-of-world", "Numbers from other regions.",
                  [("IN mobile", "+919876543210"), ("BR Sao Paulo mobile", "+5511987654321"),
                   ("AU Sydney", "+61212345678"), ("CN mobile", "+8613800138000"),
                   ("JP mobile", "+819012345678"), ("ZA mobile", "+27821234567"),
                   ("international freephone +800", "+80012345678")])
    accepted("field-list-number-valid-non-us",
             "A sending list whose number is a GB number (the E.164 rule is the same for lists) -> "
             "accepted.", contact(P(100), "+442079460000"),
             world={"lists": {"+442079460000": {"welcome_journeys": 2}}})

    # The four booleans.
    bools = ["use_journeys", "skip_journey_if_exists", "use_validation", "replace_custom_fields"]
    extra = {"use_journeys": ("[true]", [True]), "skip_journey_if_exists": ("null string", "null"),
             "use_validation": ("0", 0), "replace_custom_fields": ("{}", {})}
    for i, f in enumerate(bools):
        fe = ("invalid_field", {"field": f})
        label, v = extra[f]
        note = (" The accepted use_journeys true contact enrols in its list's 1 journey."
                if f == "use_journeys" else "")
        multi(f"field-{f.replace('_', '-')}-not-boolean",
              f"{f} must be a JSON boolean ('{f} must be a boolean', field {f}); null is "
              f"absent.{note}",
              [("the string \"true\"", contact(P(100), L1, **{f: "true"}), fe),
               ("the number 1", contact(P(100), L1, **{f: 1}), fe),
               (label, contact(P(100), L1, **{f: v}), fe),
               ("true", contact(P(101), L1, **{f: True}), None),
               ("false", contact(P(102), L1, **{f: False}), None),
               ("null (absent)", contact(P(103), L1, **{f: None}), None)],
              journeys=1 if f == "use_journeys" else 0)
    accepted("field-optional-fields-null",
             "Every optional member is null: null counts as absent, so no rule fails and the defaults "
             "apply (use_journeys false -> no journey) -> accepted, 0 journeys.",
             contact(P(100), L3, use_journeys=None, skip_journey_if_exists=None, use_validation=None,
                     replace_custom_fields=None, signup_date=None, ip_address=None, url=None,
                     custom_fields=None), world=W13)
    accepted("field-booleans-valid",
             "All four booleans with valid values (true/false) -> accepted; use_journeys true on a "
             "new member of a 3-journey list enrols 3.",
             contact(P(100), L3, use_journeys=True, skip_journey_if_exists=False, use_validation=True,
                     replace_custom_fields=True), journeys=3, world=W13)

    # signup_date. now = 2025-06-01T00:00:00Z (default world): the limit is 2025-06-01T00:05:00Z.
    sd = ("invalid_field", {"field": "signup_date"})
    for slug, d, why, good in [
        ("now-plus-5-minutes", "2025-06-01T00:05:00Z", "exactly now + 5 minutes: not later, allowed", True),
        ("now-plus-5-minutes-1-microsecond", "2025-06-01T00:05:00.000001Z",
         "one microsecond after now + 5 minutes: in the future", False),
        ("now-plus-5-minutes-1-nanosecond", "2025-06-01T00:05:00.000000001Z",
         "one nanosecond after now + 5 minutes: later than the limit", False),
        ("offset-plus-0530-at-limit", "2025-06-01T05:35:00+05:30",
         "+05:30: local 05:35 is 00:05:00Z, exactly the limit", True),
        ("offset-plus-0530-after-limit", "2025-06-01T05:35:00.000001+05:30",
         "+05:30: one microsecond after the limit", False),
        ("offset-minus-0800-at-limit", "2025-05-31T16:05:00-08:00",
         "-08:00: local 16:05 the day before is 00:05:00Z, exactly the limit", True),
        ("offset-minus-0800-after-limit", "2025-05-31T16:05:01-08:00",
         "-08:00: local time before now, but the instant 00:05:01Z is after the limit", False),
        ("offset-minus-shifts-into-future", "2025-05-31T20:00:00-08:00",
         "-08:00: local 20:00 the day before is 2025-06-01T04:00:00Z, in the future", False),
        ("offset-plus-shifts-into-past", "2025-06-01T09:00:00+09:00",
         "+09:00: a local time 9 hours after now is the instant now", True),
        ("leap-day-2024", "2024-02-29T12:00:00Z", "29 February of the leap year 2024", True),
        ("not-leap-day-2023", "2023-02-29T12:00:00Z", "29 February 2023 does not exist", False),
        ("second-60", "2025-05-01T12:00:60Z", "second 60 (no leap second)", False),
        ("leap-second", "2016-12-31T23:59:60Z", "second 60 even on a real leap-second date", False),
        ("lowercase-t", "2025-03-15t14:30:00Z", "a lower-case 't' (upper case required)", False),
        ("lowercase-z", "2025-03-15T14:30:00z", "a lower-case 'z' (upper case required)", False),
        ("missing-offset", "2025-03-15T14:30:00", "no offset", False),
    ]:
        name = "field-signup-date-" + ("valid-" if good else "invalid-") + slug
        desc = (f"signup_date \"{d}\": {why} -> " + ("accepted" if good else
                "invalid_field signup_date 'signup_date must be an RFC 3339 date-time not in the future'")
                + " (now is 2025-06-01T00:00:00Z).")
        c = contact(P(100), L1, signup_date=d)
        (accepted(name, desc, c) if good else rejected(name, desc, c, "invalid_field", field="signup_date"))
    multi("field-signup-date-valid-formats",
          "RFC 3339 date-times in the past (now is 2025-06-01T00:00:00Z):",
          [(d, contact(P(100 + i), L1, signup_date=d), None) for i, d in enumerate([
              "2025-03-15T14:30:00Z", "2025-03-15T14:30:00.5Z", "2025-06-01T00:04:59.999999999Z",
              "2025-06-01T00:05:00.000000Z", "2025-06-01T00:05:00+00:00", "2025-05-31T23:59:59Z",
              "2000-02-29T00:00:00Z", "1970-01-01T00:00:00Z", "2025-01-01T00:00:00.123-11:30"])])
    multi("field-signup-date-invalid-calendar",
          "Well-formed strings that are no real calendar time, or in the future:",
          [(d, contact(P(100), L1, signup_date=d), sd) for d in [
              "1900-02-29T12:00:00Z", "2025-04-31T12:00:00Z", "2025-13-01T12:00:00Z",
              "2025-00-10T12:00:00Z", "2025-05-00T12:00:00Z", "2025-05-01T24:00:00Z",
              "2025-05-01T12:60:00Z", "2025-06-01T00:05:01Z", "2099-01-01T00:00:00Z"]])
    multi("field-signup-date-invalid-syntax",
          "Strings that are not in RFC 3339 date-time form:",
          [(json.dumps(d, ensure_ascii=False), contact(P(100), L1, signup_date=d), sd) for d in [
              "2025-03-15 14:30:00Z", "2025-03-15", "2025-03-15T14:30Z", "2025-03-15T14:30:00+0530",
              "2025-03-15T14:30:00+05", "2025-03-15T14:30:00+05:60", "2025-03-15T14:30:00.Z",
              "2025-03-15T14:30:00,5Z", "2025-3-15T14:30:00Z", "1741964400", "", "March 15, 2025"]]
          + [("the number 1741964400", contact(P(100), L1, signup_date=1741964400), sd),
             ("true", contact(P(100), L1, signup_date=True), sd)])
    case("field-signup-date-world-now",
         "The world's now is 2024-02-29T12:00:00Z: signup_date 2024-02-29T12:05:00Z is exactly now + "
         "5 minutes (accepted) and 2024-02-29T12:05:00.000001Z is later (invalid_field).",
         ok(2, [err(1, P(101), "invalid_field", field="signup_date")], 1, 1, 0),
         body={"contacts": [contact(P(100), L1, signup_date="2024-02-29T12:05:00Z"),
                            contact(P(101), L1, signup_date="2024-02-29T12:05:00.000001Z")]},
         world={**W1, "now": "2024-02-29T12:00:00Z"})

    # ip_address.
    ipf = ("invalid_field", {"field": "ip_address"})
    multi("field-ip-address-valid",
          "IPv4 addresses in dotted-decimal form and IPv6 addresses:",
          [(ip, contact(P(100 + i), L1, ip_address=ip), None) for i, ip in enumerate([
              "198.51.100.17", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::1", "::",
              "2001:0db8:0000:0000:0000:ff00:0042:8329"])])
    multi("field-ip-address-invalid",
          "Strings that are no IPv4 or IPv6 address ('ip_address must be an IPv4 or IPv6 address'):",
          [(json.dumps(ip), contact(P(100), L1, ip_address=ip), ipf) for ip in [
              "256.1.1.1", "198.51.100", "1.2.3.4.5", "[2001:db8::1]", "198.51.100.0/24",
              "198.51.100.17:8080", "2001:db8::1::2", "localhost", "", "198.51.100.17 ",
              "0x7f.0.0.1", "3325256721"]]
          + [("the number 3325256721", contact(P(100), L1, ip_address=3325256721), ipf)])
    rejected("field-ip-address-invalid-zone-index",
             "ip_address \"fe80::1%eth0\" carries an IPv6 zone index, which SPEC 4 excludes -> "
             "invalid_field ip_address.", contact(P(100), L1, ip_address="fe80::1%eth0"),
             "invalid_field", field="ip_address")

    # url.
    uf = ("invalid_field", {"field": "url"})
    multi("field-url-valid",
          "Absolute http and https URLs with a host:",
          [(u, contact(P(100 + i), L1, url=u), None) for i, u in enumerate([
              "https://example.com", "http://example.com/landing?utm_source=sms&x=1#top",
              "https://example.com:8443/a", "http://198.51.100.17/", "http://[2001:db8::1]:8080/",
              "https://user:pass@example.com/"])])
    prefix = "https://example.com/"
    u2048 = prefix + "a" * (2048 - len(prefix))
    assert len(u2048.encode()) == 2048
    accepted("field-url-valid-2048-bytes",
             "url of exactly 2048 bytes (the maximum) -> accepted.", contact(P(100), L1, url=u2048))
    rejected("field-url-invalid-2049-bytes",
             "url of 2049 bytes (one over the maximum, otherwise fine) -> invalid_field url 'url must "
             "be an absolute http or https URL'.",
             contact(P(100), L1, url=u2048 + "a"), "invalid_field", field="url")
    u = prefix + "a" * (2048 - len(prefix) - 2 * 100) + "é" * 100
    assert len(u.encode()) == 2048 and len(u) == 1948
    accepted("field-url-valid-2048-bytes-multibyte",
             "url of 1948 characters but exactly 2048 bytes (100 'é' of 2 bytes in the path): the "
             "limit is in bytes -> accepted.", contact(P(100), L1, url=u))
    u = prefix + "a" * (2048 - len(prefix) - 2 * 100 + 1) + "é" * 100
    assert len(u.encode()) == 2049 and len(u) == 1949
    rejected("field-url-invalid-2049-bytes-multibyte",
             "url of 1949 characters (fewer than 2048) but 2049 bytes: the limit is in bytes -> "
             "invalid_field url.", contact(P(100), L1, url=u), "invalid_field", field="url")
    multi("field-url-invalid-scheme",
          "Not an absolute http or https URL ('url must be an absolute http or https URL'):",
          [(json.dumps(u), contact(P(100), L1, url=u), uf) for u in [
              "ftp://example.com/file", "mailto:jane@example.com", "javascript:alert(1)",
              "file:///etc/passwd", "/landing", "example.com/landing", "//example.com/landing"]])
    multi("field-url-invalid-host",
          "No host, or no URL at all:",
          [(json.dumps(u), contact(P(100), L1, url=u), uf) for u in
           ["http://", "https://", "", "http://exa mple.com/"]]
          + [("the number 42", contact(P(100), L1, url=42), uf)])


# ============================================================================================
# summary-: the counters of SPEC 5.

def summary_cases() -> None:
    case("summary-all-new",
         "Three new numbers on one list, no use_journeys -> 3 contacts and 3 memberships created, "
         "0 journeys (use_journeys defaults to false).",
         ok(3, [], 3, 3, 0), body={"contacts": [contact(P(i), L1) for i in range(3)]}, world=W1)
    w = world(contacts=[P(100)])
    case("summary-existing-contact",
         "The directory already has the contact but no membership in this list -> not a new contact, "
         "a new list contact.", ok(1, [], 0, 1, 0), body={"contacts": [contact(P(100), L1)]}, world=w)
    w = world(contacts=[P(100)], list_contacts=[[P(100), L1]])
    case("summary-existing-membership",
         "The directory has the contact and its membership in this list -> neither counted.",
         ok(1, [], 0, 0, 0), body={"contacts": [contact(P(100), L1)]}, world=w)
    w = world(contacts=[P(100)], list_contacts=[[P(100), L3]])
    case("summary-membership-in-other-list",
         "The contact is a member of another list only -> a new list contact here.",
         ok(1, [], 0, 1, 0), body={"contacts": [contact(P(100), L1)]}, world=w)
    case("summary-journeys-new-member",
         "use_journeys true for a new member of a list with 3 active welcome journeys -> 3 enrolled.",
         ok(1, [], 1, 1, 3), body={"contacts": [contact(P(100), L3, use_journeys=True)]}, world=W13)
    case("summary-journeys-new-member-skip-true",
         "use_journeys true, skip_journey_if_exists true, new member -> enrolled (3): skip only "
         "matters for existing members.",
         ok(1, [], 1, 1, 3),
         body={"contacts": [contact(P(100), L3, use_journeys=True, skip_journey_if_exists=True)]},
         world=W13)
    wm = world(contacts=[P(100)], list_contacts=[[P(100), L3]])
    case("summary-journeys-existing-member-skip-default",
         "use_journeys true for an existing member; skip_journey_if_exists defaults to true -> 0.",
         ok(1, [], 0, 0, 0), body={"contacts": [contact(P(100), L3, use_journeys=True)]}, world=wm)
    case("summary-journeys-existing-member-skip-null",
         "As above with skip_journey_if_exists null: null is absent, the default true applies -> 0.",
         ok(1, [], 0, 0, 0),
         body={"contacts": [contact(P(100), L3, use_journeys=True, skip_journey_if_exists=None)]},
         world=wm)
    case("summary-journeys-existing-member-skip-false",
         "use_journeys true and skip_journey_if_exists false for an existing member -> enrolled "
         "again in the 3 journeys.",
         ok(1, [], 0, 0, 3),
         body={"contacts": [contact(P(100), L3, use_journeys=True, skip_journey_if_exists=False)]},
         world=wm)
    case("summary-journeys-use-journeys-false",
         "use_journeys false and skip_journey_if_exists false, new member -> no journey.",
         ok(1, [], 1, 1, 0),
         body={"contacts": [contact(P(100), L3, use_journeys=False, skip_journey_if_exists=False)]},
         world=W13)
    case("summary-journeys-use-journeys-null",
         "use_journeys null (absent -> default false) on a 3-journey list -> no journey.",
         ok(1, [], 1, 1, 0), body={"contacts": [contact(P(100), L3, use_journeys=None)]}, world=W13)
    case("summary-journeys-list-without-count",
         "A list entry {} without welcome_journeys has 0 journeys -> use_journeys true enrols none.",
         ok(1, [], 1, 1, 0), body={"contacts": [contact(P(100), L0, use_journeys=True)]},
         world={"lists": {L0: {}}})
    case("summary-journeys-sum-over-lists",
         "Journeys add up over contacts: 3 (list of 3) + 1 (list of 1) + 0 (use_journeys absent) = 4.",
         ok(3, [], 3, 3, 4),
         body={"contacts": [contact(P(100), L3, use_journeys=True), contact(P(101), L1, use_journeys=True),
                            contact(P(102), L3)]}, world=W13)
    case("summary-rejected-not-counted",
         "Rejected contacts create nothing and enrol in nothing: of three use_journeys contacts on "
         "the 3-journey list, the invalid one and the unknown-list one count only as errors.",
         ok(3, [err(0, "+1415555", "invalid_phone"), err(2, P(102), "list_not_found")], 1, 1, 3),
         body={"contacts": [contact("+1415555", L3, use_journeys=True), contact(P(101), L3, use_journeys=True),
                            contact(P(102), LX, use_journeys=True)]}, world=W13)
    case("summary-all-rejected",
         "Every contact fails -> 200 with success_count 0 and all counters 0.",
         ok(3, [err(0, None, "invalid_contact"), err(1, None, "missing_phone_number"),
                err(2, P(100), "list_not_found")], 0, 0, 0),
         body={"contacts": [1, {}, contact(P(100), LX)]}, world=W1)
    accepted("summary-other-members-kept",
             "Unknown members (ad_network_source, a nested object, an array, null) are allowed -> "
             "accepted.",
             contact(P(100), L1, ad_network_source="facebook", meta={"campaign": "spring", "n": 3},
                     tags=["a", "b"], nothing=None))
    errors = [err(1, "", "missing_phone_number"), err(3, P(103), "invalid_field", field="url"),
              err(4, P(104), "list_not_found")]
    case("summary-errors-ascending-index",
         "Errors are listed in ascending index, one per failed contact, with success_count + "
         "error_count = 6.",
         ok(6, errors, 3, 3, 0),
         body={"contacts": [contact(P(100), L1), contact("", L1), contact(P(102), L1),
                            contact(P(103), L1, url="x"), contact(P(104), LX), contact(P(105), L1)]},
         world=W1)


# ============================================================================================
# dup-: duplicates inside a batch (SPEC 5: accepted contacts applied in index order).

def dup_cases() -> None:
    case("dup-same-phone-two-lists",
         "The same new number on two lists -> 1 contact created, 2 list contacts created.",
         ok(2, [], 1, 2, 0), body={"contacts": [contact(P(100), L1), contact(P(100), L3)]}, world=W13)
    case("dup-same-phone-same-list",
         "The same new number twice on the same list -> the second is neither a new contact nor a "
         "new list contact: 1 and 1; both accepted.",
         ok(2, [], 1, 1, 0), body={"contacts": [contact(P(100), L1), contact(P(100), L1)]}, world=W1)
    case("dup-same-list-journeys-skip-default",
         "The same number twice on the 3-journey list, both use_journeys true: the first enrols 3, "
         "the second is no new list contact and skip_journey_if_exists defaults to true -> 3.",
         ok(2, [], 1, 1, 3),
         body={"contacts": [contact(P(100), L3, use_journeys=True), contact(P(100), L3, use_journeys=True)]},
         world=W13)
    case("dup-same-list-journeys-skip-true",
         "As dup-same-list-journeys-skip-default with skip_journey_if_exists true given on both -> 3.",
         ok(2, [], 1, 1, 3),
         body={"contacts": [contact(P(100), L3, use_journeys=True, skip_journey_if_exists=True),
                            contact(P(100), L3, use_journeys=True, skip_journey_if_exists=True)]},
         world=W13)
    case("dup-same-list-journeys-skip-false",
         "The same number twice on the 3-journey list, use_journeys true, the second with "
         "skip_journey_if_exists false -> enrolled both times: 3 + 3 = 6.",
         ok(2, [], 1, 1, 6),
         body={"contacts": [contact(P(100), L3, use_journeys=True),
                            contact(P(100), L3, use_journeys=True, skip_journey_if_exists=False)]},
         world=W13)
    case("dup-same-list-skip-false-on-first-only",
         "skip_journey_if_exists false only on the first (new) occurrence, the second keeps the "
         "default true -> 3 + 0 = 3.",
         ok(2, [], 1, 1, 3),
         body={"contacts": [contact(P(100), L3, use_journeys=True, skip_journey_if_exists=False),
                            contact(P(100), L3, use_journeys=True)]},
         world=W13)
    case("dup-same-list-second-only-journeys",
         "The first occurrence has no use_journeys, the second has use_journeys true (skip default "
         "true): the second is not a new list contact -> 0 journeys.",
         ok(2, [], 1, 1, 0),
         body={"contacts": [contact(P(100), L3), contact(P(100), L3, use_journeys=True)]}, world=W13)
    case("dup-three-occurrences",
         "One number on L1, L3, L1 with use_journeys true everywhere -> 1 contact, 2 list contacts, "
         "journeys 1 + 3 + 0 = 4.",
         ok(3, [], 1, 2, 4),
         body={"contacts": [contact(P(100), L1, use_journeys=True), contact(P(100), L3, use_journeys=True),
                            contact(P(100), L1, use_journeys=True)]}, world=W13)
    c0 = contact(P(100), L3, use_journeys=True, url="not a url")
    case("dup-first-rejected-second-new",
         "The first occurrence fails rule 7; only accepted contacts count as earlier duplicates -> "
         "the second is new: 1, 1, and 3 journeys.",
         ok(2, [fail(0, c0, "invalid_field", field="url")], 1, 1, 3),
         body={"contacts": [c0, contact(P(100), L3, use_journeys=True)]}, world=W13)
    case("dup-first-list-not-found-second-new",
         "The first occurrence of the number is on an unknown list (list_not_found) -> the second, on "
         "a known list, is a new contact.",
         ok(2, [err(0, P(100), "list_not_found")], 1, 1, 0),
         body={"contacts": [contact(P(100), LX), contact(P(100), L1)]}, world=W1)
    case("dup-existing-contact-twice",
         "A number the directory knows (no membership) twice on the same list -> 0 contacts, 1 list "
         "contact.", ok(2, [], 0, 1, 0),
         body={"contacts": [contact(P(100), L1), contact(P(100), L1)]}, world=world(contacts=[P(100)]))
    case("dup-existing-member-twice-skip-false",
         "An existing member of the 3-journey list twice with use_journeys true and "
         "skip_journey_if_exists false -> 0, 0, and 3 + 3 journeys.",
         ok(2, [], 0, 0, 6),
         body={"contacts": [contact(P(100), L3, use_journeys=True, skip_journey_if_exists=False)] * 2},
         world=world(contacts=[P(100)], list_contacts=[[P(100), L3]]))
    case("dup-same-list-different-phones",
         "Two different numbers on the same list -> 2 and 2.",
         ok(2, [], 2, 2, 0), body={"contacts": [contact(P(100), L1), contact(P(101), L1)]}, world=W1)
    v = VALIDATION[VU]
    cs = [contact(VU, L1, use_validation=True), contact(VU, L3, use_validation=True),
          contact(VU, L1, use_validation=True)]
    case("dup-validation-failed-repeated",
         "One number three times with use_validation true, disposition unreachable: it is validated "
         "once per batch, but each contact gets its own validation_failed entry with the same object.",
         ok(3, [fail(i, cs[i], "validation_failed", validation=v) for i in range(3)], 0, 0, 0),
         body={"contacts": cs}, world=world(validation={VU: v}))
    cs = [contact(VP, L1, use_validation=True), contact(VP, L1, use_validation=True)]
    case("dup-provider-error-repeated",
         "One number twice with use_validation true and a provider error -> provider_error twice, "
         "batch 200.", ok(2, [fail(0, cs[0], "provider_error"), fail(1, cs[1], "provider_error")], 0, 0, 0),
         body={"contacts": cs}, world=world(validation={VP: "provider_error"}))
    cs = [contact(VU, L1), contact(VU, L1, use_validation=True), contact(VU, L3, use_validation=False)]
    case("dup-validation-only-where-asked",
         "One number (disposition unreachable) three times, use_validation only on the second -> "
         "only the second fails; the first and third are accepted (1 contact, 2 list contacts).",
         ok(3, [fail(1, cs[1], "validation_failed", validation=v)], 1, 2, 0),
         body={"contacts": cs}, world=world(validation={VU: v}))
    cs = [contact(NS, L1), contact(NS, L3)]
    case("dup-not-sendable-repeated",
         "A not_sendable number on two lists -> not_sendable twice.",
         ok(2, [fail(0, cs[0], "not_sendable"), fail(1, cs[1], "not_sendable")], 0, 0, 0),
         body={"contacts": cs}, world=world(carrier={NS: "not_sendable"}))
    cs = [contact(P(100), LX), contact(P(101), LX)]
    case("dup-list-not-found-repeated",
         "Two contacts on the same unknown list -> list_not_found twice.",
         ok(2, [fail(0, cs[0], "list_not_found"), fail(1, cs[1], "list_not_found")], 0, 0, 0),
         body={"contacts": cs}, world=W1)


# ============================================================================================
# lookup-: lookup failures (SPEC 3 row 7) and the rules that keep them from being reached.

def lookup_cases() -> None:
    wle = {"lists": {L1: {"welcome_journeys": 1}, LE: "error"}}
    case("lookup-list-error",
         "The list lookup for a contact that reaches rule 9 fails -> 500 internal_error "
         "'An unexpected error occurred'.",
         batch("internal_error"), body={"contacts": [contact(P(100), LE)]}, world=wle)
    case("lookup-list-error-hides-other-errors",
         "A failing list lookup in a batch that also has invalid contacts and an accepted one -> 500; "
         "nothing else is reported.",
         batch("internal_error"),
         body={"contacts": [None, contact(P(100), L1), contact("+1", L1), contact(P(101), LE)]},
         world=wle)
    case("lookup-list-error-not-reached-invalid-phone",
         "The failing list belongs only to a contact with an invalid phone number (rule 5): the list "
         "is never looked up -> 200 with invalid_phone.",
         ok(2, [err(0, "+11234567890", "invalid_phone")], 1, 1, 0),
         body={"contacts": [contact("+11234567890", LE), contact(P(100), L1)]}, world=wle)
    case("lookup-list-error-not-reached-custom-fields",
         "The failing list belongs only to a contact rejected by rule 8 -> 200 with "
         "invalid_custom_fields.",
         ok(1, [err(0, P(100), "invalid_custom_fields")], 0, 0, 0),
         body={"contacts": [contact(P(100), LE, custom_fields=[1])]}, world=wle)
    case("lookup-list-error-not-reached-oversize",
         "The failing list belongs only to a 4001-byte contact (rule 1) -> 200 with payload_too_large.",
         ok(1, [fail(0, sized(4001, contact(P(100), LE)), "payload_too_large")], 0, 0, 0),
         body={"contacts": [sized(4001, contact(P(100), LE))]}, world=wle)
    wce = world(carrier={CE: "error", NS: "not_sendable"})
    case("lookup-carrier-error",
         "The carrier lookup of a contact that reaches rule 10 fails -> 500 internal_error.",
         batch("internal_error"), body={"contacts": [contact(P(100), L1), contact(CE, L1)]}, world=wce)
    case("lookup-carrier-error-not-reached-list-not-found",
         "The failing carrier lookup belongs only to a contact on an unknown list (rule 9) -> 200 "
         "with list_not_found.",
         ok(1, [err(0, CE, "list_not_found")], 0, 0, 0), body={"contacts": [contact(CE, LX)]}, world=wce)
    case("lookup-carrier-error-not-reached-missing-list",
         "The failing carrier lookup belongs only to a contact without list_number (rule 4) -> 200.",
         ok(1, [err(0, CE, "missing_list_number")], 0, 0, 0),
         body={"contacts": [contact(CE, ABSENT)]}, world=wce)
    case("lookup-carrier-error-not-reached-invalid-field",
         "The failing carrier lookup belongs only to a contact with an invalid signup_date (rule 7) "
         "-> 200.",
         ok(1, [err(0, CE, "invalid_field", field="signup_date")], 0, 0, 0),
         body={"contacts": [contact(CE, L1, signup_date="2099-01-01T00:00:00Z")]}, world=wce)
    case("lookup-carrier-error-reached-by-later-contact",
         "The number with the failing carrier lookup first appears on an unknown list (not reached), "
         "then on a known list (reached) -> 500.",
         batch("internal_error"), body={"contacts": [contact(CE, LX), contact(CE, L1)]}, world=wce)
    wdf = world(failures=["directory"], carrier={NS: "not_sendable"})
    case("lookup-directory-error",
         "Directory calls fail and one contact is accepted (its is_new flags need the directory) "
         "-> 500 internal_error.",
         batch("internal_error"), body={"contacts": [contact(P(100), L1)]}, world=wdf)
    case("lookup-directory-error-no-accepted-contact",
         "Directory calls fail but every contact is rejected (invalid phone, unknown list, "
         "not_sendable): the directory is never asked -> 200 with three errors.",
         ok(3, [err(0, "+1", "invalid_phone"), err(1, P(101), "list_not_found"),
                err(2, NS, "not_sendable")], 0, 0, 0),
         body={"contacts": [contact("+1", L1), contact(P(101), LX), contact(NS, L1)]}, world=wdf)
    c = contact(VU, L1, use_validation=True)
    case("lookup-directory-error-validation-failed-only",
         "Directory calls fail; the only contact fails the paid validation (rule 12) -> 200.",
         ok(1, [fail(0, c, "validation_failed", validation=VALIDATION[VU])], 0, 0, 0),
         body={"contacts": [c]}, world={**wdf, "validation": {VU: VALIDATION[VU]}})
    case("lookup-provider-error-with-directory-ok",
         "A provider error for one contact is per-contact (rule 11), never 500: 200, the other "
         "contact accepted.",
         ok(2, [err(0, VP, "provider_error")], 1, 1, 0),
         body={"contacts": [contact(VP, L1, use_validation=True), contact(P(100), L1, use_validation=True)]},
         world=world(validation={VP: "provider_error"}))


# ============================================================================================
# decision-: behaviour that depends on decisions taken where the SPEC leaves room.

def decision_cases() -> None:
    # Duplicate keys: the last occurrence wins (serde_json::Value).
    case("decision-dup-key-contacts-last-null",
         "Duplicate key at the top level: contacts is first an array, then null. The last occurrence "
         "wins -> 400 missing_contacts.",
         batch("missing_contacts"), body_raw='{"contacts": [' + compact(GOOD) + '], "contacts": null}',
         world=W1)
    case("decision-dup-key-contacts-last-array",
         "Duplicate key at the top level: contacts is first null, then a one-contact array. The last "
         "occurrence wins -> 200.",
         OK1, body_raw='{"contacts": null, "contacts": [' + compact(GOOD) + "]}", world=W1)
    case("decision-dup-key-phone-last-wins",
         "Duplicate phone_number in a contact: first invalid, then valid. The last occurrence wins -> "
         "accepted.",
         OK1, body_raw='{"contacts": [{"phone_number": "nope", "list_number": "+18005551234", '
                       '"phone_number": "+14155550100"}]}', world=W1)
    case("decision-dup-key-phone-last-invalid",
         "Duplicate phone_number in a contact: first valid, then invalid. The last wins -> "
         "invalid_phone, echoing the last value.",
         ok(1, [err(0, "nope", "invalid_phone")], 0, 0, 0),
         body_raw='{"contacts": [{"phone_number": "+14155550100", "list_number": "+18005551234", '
                  '"phone_number": "nope"}]}', world=W1)
    case("decision-dup-key-use-validation-last-false",
         "Duplicate use_validation: true then false, billing suspended. The parsed contact holds "
         "false, so no 402 -> 200.",
         OK1, body_raw='{"contacts": [{"phone_number": "+14155550100", "list_number": "+18005551234", '
                       '"use_validation": true, "use_validation": false}]}',
         world={**W1, "billing": "suspended"})
    case("decision-dup-key-use-validation-last-true",
         "Duplicate use_validation: false then true, billing suspended. The parsed contact holds "
         "true -> 402 suspended.",
         batch("suspended"),
         body_raw='{"contacts": [{"phone_number": "+14155550100", "list_number": "+18005551234", '
                  '"use_validation": false, "use_validation": true}]}',
         world={**W1, "billing": "suspended"})
    base = contact(P(100), L1)
    kept = sized(3990, base)
    text = compact(base)[:-1] + ',"note":"' + "y" * 200 + '"' + compact(kept)[len(compact(base)) - 1:]
    assert len(text.encode()) > CONTACT_LIMIT
    case("decision-dup-key-size-of-parsed-contact",
         "A contact whose raw text is over 4000 bytes only because 'note' appears twice (first 200 "
         "bytes of 'y', then the kept value): the size is that of the parsed contact (3990 bytes) "
         "-> accepted.",
         OK1, body_raw='{"contacts": [' + text + "]}", world=W1)

    # Trimming means Unicode White_Space (Rust str::trim).
    rejected("decision-trim-phone-nbsp",
             "phone_number is only U+00A0 NO-BREAK SPACE, which is Unicode White_Space: empty after "
             "trimming (Rust str::trim) -> missing_phone_number, echoed untrimmed.",
             contact("\u00a0", L1), "missing_phone_number")
    multi("decision-trim-phone-unicode-whitespace",
          "phone_number made only of Unicode White_Space characters (Rust str::trim removes them) -> "
          "missing_phone_number, each echoed untrimmed:",
          [(label, contact(s, L1), "missing_phone_number") for label, s in [
              ("U+2003 EM SPACE and U+3000 IDEOGRAPHIC SPACE", "\u2003\u3000"),
              ("U+0085 NEXT LINE", "\u0085"), ("U+2028 LINE SEPARATOR", "\u2028"),
              ("U+000B LINE TABULATION", "\u000b"), ("U+000C FORM FEED", "\u000c"),
              ("U+1680 OGHAM SPACE MARK", "\u1680")]])
    rejected("decision-trim-list-nbsp",
             "list_number is only U+00A0 NO-BREAK SPACE -> missing_list_number.",
             contact(P(100), "\u00a0"), "missing_list_number")
    multi("decision-trim-not-whitespace",
          "phone_number made of characters that look blank but are not White_Space: not empty after "
          "trimming, so rule 5 applies -> invalid_phone:",
          [("U+200B ZERO WIDTH SPACE", contact("\u200b", L1), "invalid_phone"),
           ("U+FEFF BYTE ORDER MARK", contact("\ufeff", L1), "invalid_phone"),
           ("U+180E MONGOLIAN VOWEL SEPARATOR", contact("\u180e", L1), "invalid_phone")])

    # ip_address with Rust's std parsers.
    ipf = ("invalid_field", {"field": "ip_address"})
    multi("decision-ip-address-rust-parsers",
          "ip_address judged by Rust's std Ipv4Addr/Ipv6Addr parsers:",
          [("\"::ffff:1.2.3.4\" (IPv4-mapped IPv6)", contact(P(100), L1, ip_address="::ffff:1.2.3.4"), None),
           ("\"2001:DB8::ABCD\" (upper-case hex)", contact(P(101), L1, ip_address="2001:DB8::ABCD"), None),
           ("\"64:ff9b::198.51.100.17\" (embedded IPv4)",
            contact(P(102), L1, ip_address="64:ff9b::198.51.100.17"), None),
           ("\"01.2.3.4\" (leading zero)", contact(P(103), L1, ip_address="01.2.3.4"), ipf),
           ("\"198.51.100.017\" (leading zero)", contact(P(104), L1, ip_address="198.51.100.017"), ipf),
           ("\"fe80::1%1\" (numeric zone index)", contact(P(105), L1, ip_address="fe80::1%1"), ipf)])

    # url: http:// or https:// prefix (scheme case-insensitive), no ASCII whitespace or control,
    # a non-empty host per WHATWG.
    uf = ("invalid_field", {"field": "url"})
    multi("decision-url-valid",
          "url starting with http:// or https:// (scheme case-insensitive) with a non-empty host:",
          [(json.dumps(u, ensure_ascii=False), contact(P(100 + i), L1, url=u), None)
           for i, u in enumerate(["HTTPS://EXAMPLE.COM/", "Http://example.com", "https://bücher.example/",
                                  "https://example.com/café", "http://example.com:80"])])
    rejected("decision-url-invalid-triple-slash",
             "url \"https:///path\": nothing between '//' and the path, so no host after the "
             "prefix (a lenient WHATWG parse would take 'path' as the host; the decision says "
             "invalid) -> invalid_field url.",
             contact(P(100), L1, url="https:///path"), "invalid_field", field="url")
    rejected("decision-url-invalid-no-slashes",
             "url \"http:example.com\" does not start with 'http://' (a lenient WHATWG parse would "
             "accept it; the decision says invalid) -> invalid_field url.",
             contact(P(100), L1, url="http:example.com"), "invalid_field", field="url")
    multi("decision-url-invalid-whitespace-control",
          "url containing ASCII whitespace or a control character anywhere (no trimming; the WHATWG "
          "parser would strip some of them) -> invalid_field url:",
          [(json.dumps(u), contact(P(100), L1, url=u), uf) for u in [
              " https://example.com", "https://example.com ", "https://exa\tmple.com",
              "https://example.com/\n", "https://example.com/\u0001", "https://example.com/a b",
              "https://example.com/\u007f"]])
    multi("decision-url-invalid-unicode-space-control",
          "url containing a Unicode space (White_Space) or a C1 control character (U+0080-U+009F) "
          "anywhere: no whitespace or control character, as for ASCII (the WHATWG parser would "
          "percent-encode them silently) -> invalid_field url:",
          [(label, contact(P(100 + i), L1, url=u), uf) for i, (label, u) in enumerate([
              ("U+0080 in the path", "https://example.com/\u0080"),
              ("U+0085 NEXT LINE", "https://example.com/a\u0085b"),
              ("U+009F at the end", "https://example.com/\u009f"),
              ("U+00A0 NO-BREAK SPACE in the host", "https://exa\u00a0mple.com/"),
              ("U+00A0 NO-BREAK SPACE at the end", "https://example.com/\u00a0"),
              ("U+1680 OGHAM SPACE MARK", "https://example.com/\u1680"),
              ("U+2003 EM SPACE", "https://example.com/a\u2003b"),
              ("U+2028 LINE SEPARATOR", "https://example.com/\u2028"),
              ("U+2029 PARAGRAPH SEPARATOR", "https://example.com/?q=\u2029"),
              ("U+202F NARROW NO-BREAK SPACE", "https://example.com/#\u202f"),
              ("U+205F MEDIUM MATHEMATICAL SPACE", "https://example.com/\u205f"),
              ("U+3000 IDEOGRAPHIC SPACE", "https://example.com/\u3000")])])
    multi("decision-url-valid-non-ascii-visible",
          "url with visible non-ASCII characters (letters, symbols, a soft hyphen is a format "
          "character, not a space) -> accepted:",
          [(label, contact(P(100 + i), L1, url=u), None) for i, (label, u) in enumerate([
              ("U+00A1 INVERTED EXCLAMATION MARK", "https://example.com/\u00a1"),
              ("U+00E9 in the path", "https://example.com/caf\u00e9"),
              ("U+4E2D in the query", "https://example.com/?q=\u4e2d"),
              ("U+00AD SOFT HYPHEN", "https://example.com/a\u00adb")])])
    multi("decision-url-invalid-other",
          "Other strings that fail the prefix or host requirement -> invalid_field url:",
          [(json.dumps(u), contact(P(100), L1, url=u), uf) for u in [
              "http:\\\\example.com", "http://:80/", "https:", "httpx://example.com", "http:/example.com"]])

    # signup_date grammar.
    sd = ("invalid_field", {"field": "signup_date"})
    multi("decision-signup-date-grammar",
          "signup_date grammar YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), offset hours 00-23, "
          "-00:00 meaning UTC, any number of fraction digits (now is 2025-06-01T00:00:00Z):",
          [(d + (" " + why if why else ""), contact(P(100 + i), L1, signup_date=d), exp)
           for i, (d, why, exp) in enumerate([
               ("2025-06-01T00:05:00-00:00", "(-00:00 is UTC: exactly the limit)", None),
               ("2025-06-01T23:59:00+23:59", "(offset +23:59: instant 00:00Z)", None),
               ("2025-03-15T14:30:00.123456789012Z", "(12 fraction digits)", None),
               ("2025-06-01T00:05:00.000000000000Z", "(12 zero fraction digits: exactly the limit)", None),
               ("2025-03-15T14:30:00+24:00", "(offset hours 24)", sd),
               (" 2025-03-15T14:30:00Z", "(leading space, no trimming)", sd),
               ("2025-03-15T14:30:00Z ", "(trailing space)", sd),
               ("+12025-03-15T14:30:00Z", "(expanded year)", sd)])])

    multi("decision-signup-date-year-0000",
          "signup_date must name an instant in the years 0000 to 9999 in UTC, so that the store "
          "can write it back as RFC 3339; the year 0000 with a positive offset is the year -1 in "
          "UTC (now is 2025-06-01T00:00:00Z):",
          [(d + " " + why, contact(P(100 + i), L1, signup_date=d), exp)
           for i, (d, why, exp) in enumerate([
               ("0000-01-01T00:00:00Z", "(the first instant of the year 0000)", None),
               ("0000-01-01T05:00:00+05:00", "(0000-01-01T00:00:00Z exactly)", None),
               ("0000-01-01T00:00:00-05:00", "(0000-01-01T05:00:00Z)", None),
               ("0000-01-01T00:00:00-00:00", "(-00:00 is UTC)", None),
               ("0000-01-01T00:00:00+00:01", "(-0001-12-31T23:59:00Z)", sd),
               ("0000-01-01T04:59:59.999999999+05:00", "(one nanosecond before the year 0000 in UTC)", sd),
               ("0000-01-01T00:00:00+23:59", "(-0001-12-31T00:01:00Z)", sd),
               ("0000-12-31T23:59:59+01:00", "(still the year 0000 in UTC)", None)])])

    # JSON parser limits: the nesting cases are hand-written (tests/conformance/hand/), as they
    # pin the parser's recursion limit rather than a rule of the SPEC.
    case("decision-case-body-null",
         "\"body\": null is the request body `null`: valid JSON whose top level is not an object "
         "-> 400 missing_contacts.", batch("missing_contacts"), body=None, world=W1)
    case("decision-json-number-out-of-range",
         "A number outside the f64 range (1e400) in an unknown member -> 400 invalid_json.",
         batch("invalid_json"),
         body_raw='{"contacts": [{"phone_number": "+14155550100", "list_number": "+18005551234", '
                  '"score": 1e400}]}', world=W1)
    # custom_fields.
    rejected("decision-custom-fields-null-value",
             "custom_fields {\"nickname\": null}: null is not a string, number or boolean -> "
             "invalid_custom_fields.", contact(P(100), L1, custom_fields={"nickname": None}),
             "invalid_custom_fields")
    accepted("decision-custom-fields-space-key",
             "custom_fields {\" \": \"x\"}: the key ' ' is not empty (no trimming of keys) -> accepted.",
             contact(P(100), L1, custom_fields={" ": "x"}))


# ============================================================================================
# Output.

INVISIBLE = {"Zs", "Zl", "Zp", "Cc", "Cf", "Co", "Cn", "Mn", "Me"}


def _escape_invisible(text: str) -> str:
    """Write non-ASCII characters that would be invisible as \\u escapes (all are in strings)."""
    out = []
    for ch in text:
        if ord(ch) > 0x7E and unicodedata.category(ch) in INVISIBLE:
            if ord(ch) > 0xFFFF:
                hi, lo = divmod(ord(ch) - 0x10000, 0x400)
                out.append("\\u%04x\\u%04x" % (0xD800 + hi, 0xDC00 + lo))
            else:
                out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def render(v, indent: int = 0, width: int = 140) -> str:
    """JSON with short containers on one line and long ones broken, one member per line."""
    flat = json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
    if not isinstance(v, (dict, list)) or not v or indent + len(flat) <= width:
        return flat
    pad = " " * (indent + 2)
    if isinstance(v, dict):
        items = [pad + json.dumps(k, ensure_ascii=False) + ": " + render(x, indent + 2, width)
                 for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + render(x, indent + 2, width) for x in v]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def main() -> int:
    batch_cases()
    limit_cases()
    rule01_cases()
    rule02_cases()
    rule03_cases()
    rule04_cases()
    rule05_cases()
    rule06_cases()
    rule07_cases()
    rule08_cases()
    rule09_cases()
    rule10_cases()
    rule11_cases()
    rule12_cases()
    field_cases()
    summary_cases()
    dup_cases()
    lookup_cases()
    decision_cases()

    OUT.mkdir(parents=True, exist_ok=True)
    wanted = {name + ".json" for name in CASES}
    # Only this script's own folder: a stale generated case goes, nothing else is touched.
    for old in sorted(OUT.glob("*.json")):
        assert old.parent == OUT
        if old.name not in wanted:
            old.unlink()
    for name, c in CASES.items():
        text = _escape_invisible(render(c)) + "\n"
        assert json.loads(text) == c, name
        path = OUT / (name + ".json")
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
    print(f"{len(CASES)} cases written to {OUT.relative_to(ROOT)}/ "
          f"({len(HAND_NAMES)} hand-written in {HAND.relative_to(ROOT)}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The engine through Python: `handle` on every conformance case of SPEC section 8, and
`precheck` (rules 1 to 8 of SPEC section 4) against it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

import bulk_contacts
from conftest import DEFAULT_NOW, case_api_key, case_body, conformance_cases, ordered

CASES = conformance_cases()
# The per-contact codes of rules 1 to 8 (SPEC section 4): what a pre-check can tell.
RULE_1_TO_8 = {
    "payload_too_large",
    "invalid_contact",
    "missing_phone_number",
    "missing_list_number",
    "invalid_phone",
    "invalid_list_number",
    "invalid_field",
    "invalid_custom_fields",
}


def run(case: dict) -> tuple[int, bytes]:
    return bulk_contacts.handle(case_body(case), case.get("world", {}), case_api_key(case))


def test_the_suite_is_all_there():
    assert len(CASES) >= 300
    assert sum(case["expect"]["status"] == 200 for _, case in CASES) >= 200


@pytest.mark.parametrize("name,case", CASES, ids=[name for name, _ in CASES])
def test_handle_gives_every_case_its_expected_answer(name, case):
    status, body = run(case)
    assert status == case["expect"]["status"], body
    assert ordered(body) == ordered(json.dumps(case["expect"]["body"]))


def contacts_of(case: dict) -> list | None:
    """The contacts of a case whose body Python reads as the engine does (no duplicate
    member names, which a dict cannot hold), as dicts and other JSON values."""
    if case["expect"]["status"] != 200:
        return None
    duplicates = []

    def pairs(items):
        names = [name for name, _ in items]
        if len(set(names)) != len(names):
            duplicates.append(names)
        return dict(items)

    try:
        body = json.loads(case_body(case), object_pairs_hook=pairs)
    except ValueError:
        return None
    if duplicates:
        return None
    return body["contacts"]


def test_precheck_gives_the_engines_rule_1_to_8_errors_on_every_case():
    compared = 0
    for name, case in CASES:
        contacts = contacts_of(case)
        if contacts is None:
            continue
        now = case.get("world", {}).get("now", DEFAULT_NOW)
        expected = [e for e in json.loads(run(case)[1])["errors"] if e["code"] in RULE_1_TO_8]
        # A non-object contact is a dict or str only as JSON text.
        given = [c if isinstance(c, dict) else json.dumps(c) for c in contacts]
        assert bulk_contacts.precheck(given, now=now) == expected, name
        # The same contacts as their JSON texts give the same entries.
        texts = [json.dumps(c, ensure_ascii=False) for c in contacts]
        assert bulk_contacts.precheck(texts, now=now) == expected, name
        compared += 1
    assert compared >= 200


def test_precheck_members_are_in_the_servers_order():
    [entry] = bulk_contacts.precheck(
        [{"url": "ftp://x", "list_number": "+18005551234", "phone_number": "+14155559876"}],
        now=DEFAULT_NOW,
    )
    assert list(entry) == ["index", "phone_number", "code", "error", "field"]
    assert entry["field"] == "url"


def test_now_as_an_aware_datetime_is_the_same_instant_in_any_zone():
    at = datetime(2025, 6, 1, tzinfo=timezone.utc)
    india = at.astimezone(timezone(timedelta(hours=5, minutes=30)))
    limit = {"phone_number": "+14155559876", "list_number": "+18005551234",
             "signup_date": "2025-06-01T00:05:00Z"}
    past = dict(limit, signup_date="2025-06-01T00:05:00.000001Z")
    for now in (at, india, "2025-06-01T00:00:00Z", "2025-06-01T05:30:00+05:30"):
        errors = bulk_contacts.precheck([limit, past], now=now)
        assert [(e["index"], e["field"]) for e in errors] == [(1, "signup_date")], now


def test_now_errors():
    with pytest.raises(ValueError, match="naive datetime"):
        bulk_contacts.precheck([], now=datetime(2025, 6, 1))
    with pytest.raises(ValueError, match="RFC 3339"):
        bulk_contacts.precheck([], now="yesterday")
    with pytest.raises(TypeError, match="aware datetime or an RFC 3339 str"):
        bulk_contacts.precheck([], now=1748736000)


def test_now_defaults_to_the_clock():
    soon = (datetime.now(timezone.utc) + timedelta(minutes=4)).isoformat()
    later = (datetime.now(timezone.utc) + timedelta(minutes=6)).isoformat()
    contacts = [{"phone_number": "+14155559876", "list_number": "+18005551234", "signup_date": d}
                for d in (soon.replace("+00:00", "Z"), later.replace("+00:00", "Z"))]
    assert [e["index"] for e in bulk_contacts.precheck(contacts)] == [1]


@pytest.mark.parametrize(
    "contact,message",
    [
        (5, "contact 1 is a int: a contact is a dict or its JSON text"),
        ([{"phone_number": "+1"}], "contact 1 is a list"),
        ({"custom_fields": {"tags": {"a", "b"}}}, r'contact 1\["custom_fields"\]\["tags"\]: a set is not a JSON value'),
        ({"phone_number": b"+14155559876"}, "a bytes is not a JSON value"),
        ({1: "x"}, "keys are str, not int"),
    ],
)
def test_a_contact_that_is_not_json_is_a_type_error_naming_it(contact, message):
    with pytest.raises(TypeError, match=message):
        bulk_contacts.precheck([{}, contact], now=DEFAULT_NOW)
    with pytest.raises(TypeError, match=message):
        list(bulk_contacts.split([{}, contact]))


def test_one_dict_or_str_instead_of_a_list_is_a_type_error():
    for single in ({"phone_number": "+14155559876"}, '{"phone_number": "+14155559876"}'):
        with pytest.raises(TypeError, match="sequence of contacts"):
            bulk_contacts.precheck(single, now=DEFAULT_NOW)
        with pytest.raises(TypeError, match="sequence of contacts"):
            bulk_contacts.split(single)


def nested(depth: int):
    value: object = "x"
    for _ in range(depth - 1):
        value = [value]
    return {"phone_number": value, "list_number": "+18005551234"}


def test_an_unsendable_contact_is_a_value_error_naming_its_index():
    ok = nested(125)
    assert bulk_contacts.precheck([ok], now=DEFAULT_NOW)[0]["code"] == "invalid_phone"
    assert len(list(bulk_contacts.split([ok]))) == 1
    for contact in (nested(126), nested(128), nested(129), nested(5000), '{"phone_number": ', "[1,]"):
        # Deeper than serde_json reads at all, the conversion stops (and says where).
        unsendable = r"contact 1\b.*(cannot stand in a request body|no request body can hold it)"
        with pytest.raises(ValueError, match=unsendable):
            bulk_contacts.precheck([{}, contact], now=DEFAULT_NOW)
        with pytest.raises(ValueError, match=unsendable):
            list(bulk_contacts.split([{}, contact]))


def test_a_dict_that_contains_itself_is_a_value_error():
    loop: dict = {"phone_number": "+14155559876"}
    loop["self"] = loop
    with pytest.raises(ValueError, match="contains itself"):
        bulk_contacts.precheck([loop], now=DEFAULT_NOW)
    with pytest.raises(ValueError, match="contains itself"):
        list(bulk_contacts.split([loop]))


def test_json_values_are_written_as_serde_json_writes_them():
    # Rule 1 measures serde_json's compact form: 4000 bytes pass, 4001 do not, whatever the
    # Python value's own repr. Non-ASCII is written raw; a float like serde_json's.
    base = {"phone_number": "+14155559876", "list_number": "+18005551234", "n": 1.5, "e": "é"}
    size = len(json.dumps(base, ensure_ascii=False, separators=(",", ":")).encode())
    fits = dict(base, pad="a" * (4000 - size - len(',"pad":""')))
    over = dict(base, pad="a" * (4001 - size - len(',"pad":""')))
    errors = bulk_contacts.precheck([fits, over], now=DEFAULT_NOW)
    assert [(e["index"], e["code"]) for e in errors] == [(1, "payload_too_large")]
    # An int beyond 64 bits is the float serde_json reads it as; NaN is written null.
    [(body, _)] = bulk_contacts.split([{"big": 2**70, "nan": float("nan"), "t": (1, True)}])
    assert body == b'{"contacts":[{"big":1.1805916207174113e+21,"nan":null,"t":[1,true]}]}'


def test_handle_defaults_and_errors():
    body = b'{"contacts": [{"phone_number": "+13105558888", "list_number": "+18005551234"}]}'
    status, answer = bulk_contacts.handle(body)
    assert status == 200 and json.loads(answer)["errors"][0]["code"] == "not_sendable"
    assert bulk_contacts.handle(body, api_key=None) == (
        401, b'{"error":"API key required","code":"unauthorized"}')
    assert bulk_contacts.handle(body, world={})[0] == 200
    assert bulk_contacts.handle(body, world='{"billing": "suspended"}')[0] == 200
    late = {"contacts": [{"phone_number": "+14155559876", "list_number": "+18005551234",
                          "signup_date": "2025-06-02T00:00:00Z"}]}
    late_body = json.dumps(late).encode()
    assert json.loads(bulk_contacts.handle(late_body)[1])["error_count"] == 1
    assert json.loads(bulk_contacts.handle(late_body, now="2025-06-02T00:00:00Z")[1])["error_count"] == 0
    with pytest.raises(ValueError, match="malformed world"):
        bulk_contacts.handle(body, world={"billing": "broke"})
    with pytest.raises(ValueError, match="malformed world"):
        bulk_contacts.handle(body, world={"unknown_member": 1})
    with pytest.raises(TypeError):
        bulk_contacts.handle("not bytes")

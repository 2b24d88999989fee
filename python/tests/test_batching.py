"""Splitting and merging through Python (the library's Splitter and Merger), and odd inputs:
every function answers or raises TypeError/ValueError, never a panic."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bulk_contacts

LIST = "+18005551234"  # the built-in world's list
PHONES = st.sampled_from(
    ["+14155559876", "+12125551000", "+442079460000", "415-555-9876", "", "+1", "+13105550000"]
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.text(max_size=30)
)
CUSTOM = st.dictionaries(st.text(max_size=8), SCALARS, max_size=4)


@st.composite
def contacts(draw):
    contact = {"phone_number": draw(PHONES), "list_number": draw(st.sampled_from([LIST, "nope"]))}
    if draw(st.booleans()):
        contact["custom_fields"] = draw(CUSTOM)
    if draw(st.booleans()):
        # Room to cross the per-contact limit now and then.
        contact["note"] = "n" * draw(st.integers(0, 4200))
    if draw(st.booleans()):
        contact["use_journeys"] = draw(st.sampled_from([True, False, "yes"]))
    return contact


def size(contact: dict) -> int:
    """Compact JSON size; exact for these values (no floats), as serde_json writes them."""
    return len(json.dumps(contact, ensure_ascii=False, separators=(",", ":")).encode())


LIMITS = st.fixed_dictionaries(
    {
        "max_contacts": st.integers(1, 6),
        "max_contact_bytes": st.sampled_from([4000, 300, 5000]),
        "max_body_bytes": st.sampled_from([5_242_880, 9000, 700]),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(contacts(), max_size=25), limits=LIMITS)
def test_split_places_every_contact_once_within_the_limits(batch, limits):
    parts = bulk_contacts.split(iter(batch), **limits)
    seen = []
    for body, indices in parts:
        assert isinstance(body, bytes)
        assert len(body) <= limits["max_body_bytes"]
        assert 1 <= len(indices) <= limits["max_contacts"]
        assert indices == sorted(indices)
        sent = json.loads(body)["contacts"]
        assert sent == [batch[i] for i in indices]
        seen.extend(indices)
    local = parts.local
    for entry in local:
        contact = batch[entry["index"]]
        assert entry["phone_number"] == contact["phone_number"]
        if size(contact) > limits["max_contact_bytes"]:
            assert entry["error"] == f"Contact payload exceeds the {limits['max_contact_bytes']} byte limit"
        else:  # no body within max_body_bytes can hold it alone
            assert len('{"contacts":[]}') + size(contact) > limits["max_body_bytes"]
            assert entry["error"] == f"Request body exceeds the {limits['max_body_bytes']} byte limit"
        assert entry["code"] == "payload_too_large"
    assert sorted(seen + [e["index"] for e in local]) == list(range(len(batch)))
    assert seen == sorted(seen)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(contacts(), max_size=25), max_contacts=st.integers(1, 7))
def test_split_handle_merge_gives_the_precheck_errors_with_the_callers_indices(batch, max_contacts):
    # In the built-in world every valid contact of list +18005551234 is accepted (no rule 9-12
    # applies to these numbers): the merged report's errors are exactly the pre-check's.
    parts = bulk_contacts.split(batch, max_contacts=max_contacts)
    merger = bulk_contacts.Merger()
    for body, indices in parts:
        status, answer = bulk_contacts.handle(body)
        assert merger.add(indices, status, answer) is None
    merger.add_local(parts.local)
    report = merger.report()
    expected = bulk_contacts.precheck(batch, now="2025-06-01T00:00:00Z")
    assert report["errors"] == expected
    assert report["error_count"] == len(expected)
    assert report["success_count"] == len(batch) - len(expected)
    assert report["rejected"] == []
    assert list(report) == ["success_count", "error_count", "errors", "contacts_created",
                            "list_contacts_created", "journeys_enrolled", "rejected"]


def test_merger_keeps_rejected_bodies_and_reports_a_200_that_is_no_summary():
    merger = bulk_contacts.Merger()
    merger.add([0, 1], 413, b'{"error":"Request body exceeds the 5242880 byte limit","code":"payload_too_large"}')
    merger.add([2], 503, b"<html>bad gateway</html>")
    problem = merger.add([3, 4], 200, b'{"success_count":1,"error_count":0,"errors":[],'
                         b'"contacts_created":1,"list_contacts_created":1,"journeys_enrolled":0}')
    assert problem is not None and "success_count 1 + error_count 0" in problem
    report = merger.report()
    assert report["success_count"] == 0
    assert report["rejected"] == [
        {"indices": [0, 1], "status": 413, "code": "payload_too_large",
         "error": "Request body exceeds the 5242880 byte limit"},
        {"indices": [2], "status": 503, "code": None, "error": None},
        {"indices": [3, 4], "status": 200, "code": None, "error": problem},
    ]
    # report() can be called again; the merger goes on.
    assert merger.report() == report


def test_merger_echoes_validation_results():
    world = {"lists": {LIST: {}}, "validation": {"+12125550000": {
        "phone": "+12125550000", "valid": True, "line_type": "fixed line", "carrier": "Frontier",
        "carrier_raw": "FRONTIER", "ported": True, "country": "US", "state": "NY", "city": "",
        "on_dnc": False, "disposition": "unreachable", "cost": 0.003, "cached": False}}}
    body = json.dumps({"contacts": [{"phone_number": "+12125550000", "list_number": LIST,
                                     "use_validation": True}]}).encode()
    merger = bulk_contacts.Merger()
    merger.add([7], *bulk_contacts.handle(body, world=world))
    [entry] = merger.report()["errors"]
    assert entry["index"] == 7 and entry["code"] == "validation_failed"
    assert entry["validation"]["cost"] == 0.003
    assert list(entry["validation"])[0] == "phone"


def test_merger_argument_errors():
    merger = bulk_contacts.Merger()
    with pytest.raises(ValueError, match="status"):
        merger.add([0], 70000, b"{}")
    with pytest.raises(ValueError, match="indices"):
        merger.add([-1], 200, b"{}")
    with pytest.raises(ValueError, match="local entry 0 is not an error entry"):
        merger.add_local([{"index": 0}])


def test_split_is_lazy_and_streams_bodies():
    pulled = []

    def source():
        for n in range(2500):
            pulled.append(n)
            yield {"phone_number": "+14155559876", "n": n}

    parts = bulk_contacts.split(source())
    body, indices = next(parts)
    assert indices == list(range(1000))
    assert len(pulled) < 2500  # not everything was read for the first body
    rest = list(parts)
    assert [len(i) for _, i in rest] == [1000, 500]
    assert list(parts) == []


def test_split_argument_errors():
    with pytest.raises(ValueError, match="max_contacts must be 0 or more"):
        bulk_contacts.split([], max_contacts=-1)
    # Each limit at least what a body of one contact `{}` needs: the library's `Limits`.
    with pytest.raises(ValueError, match="max_contacts must be at least 1, not 0"):
        bulk_contacts.split([], max_contacts=0)
    with pytest.raises(ValueError, match="max_body_bytes must be at least 17, not 16"):
        bulk_contacts.split([], max_body_bytes=16)
    with pytest.raises(TypeError):
        bulk_contacts.split(5)


# Odd inputs: any JSON-like or not value, anywhere. A panic would surface as
# pyo3_runtime.PanicException, a BaseException that these `except` clauses do not catch.
ODD = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.binary(max_size=5),
        st.sampled_from([object(), {1, 2}, 1j, ..., "\ud800", float("inf")]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=ODD, other=ODD)
def test_no_input_makes_a_panic(value, other):
    calls = [
        lambda: bulk_contacts.is_valid(value),
        lambda: bulk_contacts.normalize(value, other),
        lambda: bulk_contacts.normalize_reason(value),
        lambda: bulk_contacts.normalize_many(value, other),
        lambda: bulk_contacts.precheck(value, now=other),
        lambda: bulk_contacts.precheck([value, other], now="2025-06-01T00:00:00Z"),
        lambda: list(bulk_contacts.split([value, other])),
        lambda: list(bulk_contacts.split(value, max_contacts=1)),
        lambda: bulk_contacts.handle(value),
        lambda: bulk_contacts.handle(b"{}", world=value, api_key=other),
        lambda: bulk_contacts.handle(json.dumps({"contacts": [str(value)]}).encode(), now=other),
        lambda: bulk_contacts.Merger().add(value, 200, other),
        lambda: bulk_contacts.Merger().add([0, 1], 200, json.dumps(value, default=str).encode()),
        lambda: bulk_contacts.Merger().add_local(value),
    ]
    for call in calls:
        try:
            call()
        except (TypeError, ValueError):
            pass

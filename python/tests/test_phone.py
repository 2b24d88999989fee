"""Phone numbers through Python: SPEC sections 6 and 6a, exactly as the Rust library (and so
libphonenumber at METADATA_VERSION) decides them."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bulk_contacts
from conftest import corpus_lines

# The corpus names a reason as phonenumbers does: `error:KIND` for a NumberParseException,
# `invalid:REASON` for is_possible_number_with_reason of a parsed, invalid number.
ORACLE_NAMES = {
    "not_a_number": "error:NOT_A_NUMBER",
    "invalid_country_code": "error:INVALID_COUNTRY_CODE",
    "too_short_after_idd": "error:TOO_SHORT_AFTER_IDD",
    "too_short_nsn": "error:TOO_SHORT_NSN",
    "too_long": "error:TOO_LONG",
    "invalid": "invalid:IS_POSSIBLE",
    "local_only": "invalid:IS_POSSIBLE_LOCAL_ONLY",
    "too_short": "invalid:TOO_SHORT",
    "too_long_for_country": "invalid:TOO_LONG",
    "invalid_length": "invalid:INVALID_LENGTH",
}


def test_metadata_version_is_the_corpora_version():
    assert bulk_contacts.METADATA_VERSION == "9.0.43"
    header, _ = corpus_lines("normalize_corpus.tsv.gz")
    oracle, python, unicode = header.split("; ")
    assert oracle == f"# phonenumbers {bulk_contacts.METADATA_VERSION}"
    assert python.startswith("Python 3."), header
    assert unicode == f"Unicode {bulk_contacts.UNICODE_VERSION}"
    header, _ = corpus_lines("e164_corpus.tsv.gz")
    assert header.startswith(f"# libphonenumber metadata version: {bulk_contacts.METADATA_VERSION} ")


def normalize_corpus() -> list[tuple[str, str, str]]:
    _, lines = corpus_lines("normalize_corpus.tsv.gz")
    rows = []
    for line in lines:
        fields = line.split("\t")
        assert len(fields) == 3, f"malformed corpus line {line!r}"
        rows.append((fields[0], fields[1], fields[2]))
    return rows


def test_whole_normalize_corpus_through_normalize_and_normalize_reason():
    rows = normalize_corpus()
    mismatches = []
    valid = 0
    for region, text, expected in rows:
        number = bulk_contacts.normalize(text, region)
        reason = bulk_contacts.normalize_reason(text, region)
        if number is not None:
            got = number if reason is None else f"both {number} and {reason}"
        else:
            got = ORACLE_NAMES.get(reason, f"unknown reason {reason!r}")
        valid += expected.startswith("+")
        if got != expected:
            mismatches.append(f"{region}\t{text!r}\texpected {expected}\tgot {got}")
    assert len(rows) >= 200_000, f"corpus too small: {len(rows)}"
    assert valid >= len(rows) // 4, f"too few valid inputs: {valid} of {len(rows)}"
    assert mismatches == [], f"{len(mismatches)} of {len(rows)} differ:\n" + "\n".join(mismatches[:40])


def test_normalize_many_equals_normalize_on_the_whole_corpus():
    by_region: dict[str, list[str]] = defaultdict(list)
    for region, text, _ in normalize_corpus():
        by_region[region].append(text)
    assert len(by_region) > 50
    for region, texts in by_region.items():
        assert bulk_contacts.normalize_many(texts, region) == [
            bulk_contacts.normalize(text, region) for text in texts
        ], region


def test_whole_strict_corpus_through_is_valid():
    _, lines = corpus_lines("e164_corpus.tsv.gz")
    mismatches = []
    verdicts = defaultdict(int)
    for line in lines:
        candidate, verdict, *_ = line.split("\t")
        assert verdict in ("valid", "invalid"), line
        verdicts[verdict] += 1
        if bulk_contacts.is_valid(candidate) != (verdict == "valid"):
            mismatches.append(f"{candidate!r}: expected {verdict}")
    assert verdicts["valid"] > 10_000 and verdicts["invalid"] > 10_000, dict(verdicts)
    assert mismatches == [], f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:40])


def test_normalize_can_give_more_digits_than_the_strict_rule_allows():
    # As libphonenumber does (phonenumbers 9.0.43: valid, "+4920100000000000").
    assert bulk_contacts.normalize("20100000000000", "DE") == "+4920100000000000"
    assert not bulk_contacts.is_valid("+4920100000000000")


def test_documented_examples():
    assert bulk_contacts.normalize("(415) 555-9876", "US") == "+14155559876"
    assert bulk_contacts.normalize("tel:+44-20-7031-3000;ext=12", "US") == "+442070313000"
    assert bulk_contacts.normalize("415 555", "US") is None
    assert bulk_contacts.normalize_reason("415 555", "US") == "too_short"
    assert bulk_contacts.normalize_reason("(415) 555-9876") == "invalid_country_code"
    assert bulk_contacts.normalize("(415) 555-9876", None) is None
    assert bulk_contacts.is_valid("+14155559876")
    assert not bulk_contacts.is_valid("+200237082111")
    assert not bulk_contacts.is_valid(" +14155559876")


@pytest.mark.parametrize("region", ["XX", "us", "001", "", "USA", "ZZZ"])
def test_an_unknown_region_is_a_value_error_naming_it(region):
    for call in (bulk_contacts.normalize, bulk_contacts.normalize_reason):
        with pytest.raises(ValueError, match=f"unknown region {region!r}".replace("'", '"')):
            call("+14155559876", region)
    with pytest.raises(ValueError, match="unknown region"):
        bulk_contacts.normalize_many(["+14155559876"], region)


@pytest.mark.parametrize("bad", [14155559876, b"+14155559876", None, ["+1"]])
def test_a_number_that_is_not_a_str_is_a_type_error(bad):
    with pytest.raises(TypeError, match="number must be a str"):
        bulk_contacts.is_valid(bad)
    with pytest.raises(TypeError, match="text must be a str"):
        bulk_contacts.normalize(bad, "US")
    with pytest.raises(TypeError, match="text must be a str"):
        bulk_contacts.normalize_reason(bad, "US")
    with pytest.raises(TypeError, match=r"texts\[1\] is a"):
        bulk_contacts.normalize_many(["+14155559876", bad], "US")
    with pytest.raises(TypeError, match="region must be a str"):
        bulk_contacts.normalize("+14155559876", 1)


def test_normalize_many_refuses_one_str_and_takes_any_iterable():
    with pytest.raises(TypeError, match="not a str"):
        bulk_contacts.normalize_many("4155559876", "US")
    texts = ("(415) 555-9876", "x")
    assert bulk_contacts.normalize_many(texts, "US") == ["+14155559876", None]
    assert bulk_contacts.normalize_many(iter(texts), "US") == ["+14155559876", None]
    assert bulk_contacts.normalize_many([], "US") == []


REGIONS = st.sampled_from(["ZZ", "US", "GB", "DE", "IN", "BR", "AR", "JP", "MX", "NG", "FR"])
PHONEISH = st.text(alphabet="0123456789+-() .xX#*;=/:telTEL\u0660\uff11\u00a0", max_size=40)


@settings(max_examples=3000, deadline=None)
@given(text=st.one_of(st.text(max_size=300), PHONEISH), region=REGIONS)
def test_normalize_answers_every_text_consistently(text, region):
    number = bulk_contacts.normalize(text, region)
    reason = bulk_contacts.normalize_reason(text, region)
    assert (number is None) != (reason is None)
    if number is not None:
        # libphonenumber's E.164 form can be longer than the 15 digits SPEC 6 allows
        # (normalize("20100000000000", "DE") is "+4920100000000000", as phonenumbers says):
        # then the strict rule refuses it; otherwise it accepts it.
        assert bulk_contacts.is_valid(number) or len(number) > 16
        assert bulk_contacts.normalize(number) == number
    else:
        assert reason in ORACLE_NAMES
    assert bulk_contacts.normalize_many([text, text], region) == [number, number]


@settings(max_examples=2000, deadline=None)
@given(text=st.text(max_size=40))
def test_is_valid_is_strict_syntax_first(text):
    if bulk_contacts.is_valid(text):
        assert text.startswith("+") and text[1:].isascii() and text[1:].isdigit()
        assert 2 <= len(text) - 1 <= 15

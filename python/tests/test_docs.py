"""The examples in the docstrings are true: each `>>>` line gives what it says."""

from __future__ import annotations

import doctest

import pytest

import bulk_contacts

DOCUMENTED = [
    bulk_contacts,
    bulk_contacts.is_valid,
    bulk_contacts.normalize,
    bulk_contacts.normalize_reason,
    bulk_contacts.normalize_many,
    bulk_contacts.precheck,
    bulk_contacts.split,
    bulk_contacts.Merger,
    bulk_contacts.Merger.add,
    bulk_contacts.Split.local,
    bulk_contacts.handle,
]


@pytest.mark.parametrize("item", DOCUMENTED, ids=lambda item: getattr(item, "__name__", repr(item)))
def test_docstring_examples(item):
    doc = item.__doc__
    assert doc and len(doc) > 80, "a docstring that says what the item does"
    test = doctest.DocTestParser().get_doctest(doc, dict(vars(bulk_contacts)), getattr(item, "__name__", "doc"), None, 0)
    assert (">>>" in doc) == bool(test.examples)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0


def test_every_public_name_has_a_docstring():
    for name in ["is_valid", "normalize", "normalize_reason", "normalize_many", "precheck",
                 "split", "handle", "Merger", "Split"]:
        assert getattr(bulk_contacts, name).__doc__, name
    assert "(text, region='ZZ')" in bulk_contacts.normalize.__text_signature__

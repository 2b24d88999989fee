"""Type stubs of the extension module ``bulk_contacts`` (SPEC section 11).

The docstrings are on the functions themselves (``help(bulk_contacts.precheck)``); the
stubs give the types.
"""

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final, Literal, TypedDict, final

from typing_extensions import NotRequired

METADATA_VERSION: Final[str]
"""The libphonenumber release the validator and the normalizer are exact to (SPEC 6)."""

UNICODE_VERSION: Final[str]
"""The Unicode version of the normalizer's character classes: that of the Python the
differential corpus's oracle ran on (a character assigned later is neither a digit nor a letter)."""

DEFAULT_API_KEY: Final[str]
"""The API key of the in-memory world's account: ``handle``'s default ``api_key``."""

Reason = Literal[
    "not_a_number",
    "invalid_country_code",
    "too_short_after_idd",
    "too_short_nsn",
    "too_long",
    "invalid",
    "local_only",
    "too_short",
    "too_long_for_country",
    "invalid_length",
]
"""Why a text does not normalize: libphonenumber's reason (``normalize_reason``)."""

class ErrorEntry(TypedDict):
    """One ``errors`` item, as the server writes it (members in this order)."""

    index: int
    phone_number: str | None
    code: str
    error: str
    field: NotRequired[str]
    """Only for ``invalid_field``."""
    validation: NotRequired[dict[str, Any]]
    """Only for ``validation_failed`` (in a merged report)."""

class RejectedBody(TypedDict):
    """A body answered with something other than a summary."""

    indices: list[int]
    status: int
    code: str | None
    error: str | None

class Report(TypedDict):
    """``Merger.report()``: the summary members, summed, then ``rejected``."""

    success_count: int
    error_count: int
    errors: list[ErrorEntry]
    contacts_created: int
    list_contacts_created: int
    journeys_enrolled: int
    rejected: list[RejectedBody]

Contact = dict[str, Any] | str
"""A contact: a dict of JSON values, or its JSON text."""

def is_valid(number: str, /) -> bool:
    """Whether ``number`` is a valid E.164 number (SPEC 6, strict)."""

def normalize(text: str, region: str | None = "ZZ") -> str | None:
    """The E.164 form libphonenumber gives ``text`` with default ``region``, or ``None``."""

def normalize_reason(text: str, region: str | None = "ZZ") -> Reason | None:
    """``None`` when ``text`` normalizes, else libphonenumber's reason."""

def normalize_many(texts: Sequence[str], region: str | None = "ZZ") -> list[str | None]:
    """``normalize`` on each text, in one call (the GIL released)."""

def precheck(
    contacts: Sequence[Contact], now: str | datetime | None = None
) -> list[ErrorEntry]:
    """Rules 1 to 8 of SPEC 4 on each contact: the error entries the server would answer."""

def split(
    contacts: Iterable[Contact],
    *,
    max_contacts: int = 1000,
    max_contact_bytes: int = 4000,
    max_body_bytes: int = 5242880,
) -> Split:
    """Request bodies within the limits, each with the caller's indices of its contacts.

    Each limit is at least what a body of one contact ``{}`` needs (1 contact, 2 bytes per
    contact, 17 bytes per body); a smaller one is a ``ValueError``."""

@final
class Split(Iterator[tuple[bytes, list[int]]]):
    """The bodies of ``split``, made as they are iterated."""

    def __iter__(self) -> Split: ...
    def __next__(self) -> tuple[bytes, list[int]]: ...
    @property
    def local(self) -> list[ErrorEntry]:
        """The contacts not sent, with the error entry the server would give each."""

@final
class Merger:
    """Merges the answers to the bodies of a ``split`` into one report."""

    def __init__(self) -> None: ...
    def add(self, indices: Sequence[int], status: int, body: bytes) -> str | None:
        """The answer to one body; returns what is wrong with a 200 that is no summary of it."""
    def add_local(self, entries: Iterable[ErrorEntry]) -> None:
        """The contacts not sent (``Split.local``)."""
    def report(self) -> Report:
        """The merged report."""

def handle(
    body: bytes,
    world: dict[str, Any] | str | None = None,
    api_key: str | None = ...,
    now: str | datetime | None = None,
) -> tuple[int, bytes]:
    """The whole engine on one request over the in-memory world of SPEC 8."""

//! The Python package `bulk_contacts` (SPEC §11): thin PyO3 bindings over the library.
//!
//! Every answer comes from the library: `e164::{is_valid, normalize}` and their metadata
//! version, `Engine::check_contact` with `ErrorEntry::for_contact` (the pre-check),
//! `Splitter`, `Merger` and `Report`, and `Engine::handle` over `testing::World`. This crate
//! only converts Python values to and from what those take and give, releases the GIL around
//! the work on many values, and turns bad arguments into `TypeError`/`ValueError`.
#![forbid(unsafe_code)]

mod json;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::OnceLock;

use bulk_contacts::e164::{self, NotValid, Region};
use bulk_contacts::testing::{DEFAULT_API_KEY, World};
use bulk_contacts::{
    Engine, ErrorEntry, Limits, Pushed, Report, Request, RequestBody, Splitter, Timestamp,
    UnsendableContact,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt, PyIterator, PyList, PyString};

/// Exact libphonenumber normalization, the rule 1-8 pre-check, splitting and merging of
/// bulk contact requests, and the whole engine over an in-memory world (SPEC §11).
///
/// >>> import bulk_contacts
/// >>> bulk_contacts.normalize("(415) 555-9876", "US")
/// '+14155559876'
/// >>> bulk_contacts.precheck([{"phone_number": "415-555-9876", "list_number": "+18005551234"}],
/// ...                        now="2025-06-01T00:00:00Z")
/// [{'index': 0, 'phone_number': '415-555-9876', 'code': 'invalid_phone', 'error': 'phone_number must be a valid E.164 number'}]
#[pymodule(name = "bulk_contacts")]
fn bulk_contacts_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("METADATA_VERSION", e164::METADATA_VERSION)?;
    m.add("UNICODE_VERSION", e164::UNICODE_VERSION)?;
    m.add("DEFAULT_API_KEY", DEFAULT_API_KEY)?;
    m.add_function(wrap_pyfunction!(is_valid, m)?)?;
    m.add_function(wrap_pyfunction!(normalize, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_reason, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_many, m)?)?;
    m.add_function(wrap_pyfunction!(precheck, m)?)?;
    m.add_function(wrap_pyfunction!(split, m)?)?;
    m.add_function(wrap_pyfunction!(handle, m)?)?;
    m.add_class::<Split>()?;
    m.add_class::<Merger>()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Phone numbers (SPEC §6, §6a)

/// Whether `number` is a valid E.164 number (SPEC §6, strict): ``+`` and 2 to 15 ASCII
/// digits, a number libphonenumber calls valid, already in its canonical E.164 form.
///
/// >>> is_valid("+14155559876")
/// True
/// >>> is_valid("+1 415 555 9876"), is_valid("+200237082111")
/// (False, False)
#[pyfunction]
#[pyo3(signature = (number, /))]
fn is_valid(number: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(e164::is_valid(str_arg(number, "number")?))
}

/// What a person typed, as libphonenumber normalizes it (SPEC §6a): ``parse(text, region)``,
/// ``isValidNumber``, then the E.164 form; ``None`` when it is not a valid number
/// (:func:`normalize_reason` says why).
///
/// ``region`` is the default region, a CLDR code (``"US"``, ``"GB"``, ...), exact and
/// upper-case as libphonenumber has them; ``"ZZ"`` (the default, or ``None``) means none, so
/// only text with a leading ``+`` parses. An unknown region is a ``ValueError``; a ``text``
/// that is not a ``str`` a ``TypeError``.
///
/// >>> normalize("(415) 555-9876", "US")
/// '+14155559876'
/// >>> normalize("tel:+44-20-7031-3000;ext=12", "US")
/// '+442070313000'
/// >>> normalize("415 555", "US") is None
/// True
#[pyfunction]
#[pyo3(signature = (text, region = None), text_signature = "(text, region='ZZ')")]
fn normalize<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyAny>,
    region: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyString>>> {
    let region = region_arg(region)?;
    Ok(e164::normalize(str_arg(text, "text")?, region)
        .ok()
        .map(|number| PyString::new(py, number.as_str())))
}

/// ``None`` when ``text`` normalizes, else libphonenumber's reason, by the names
/// ``e164 --normalize --explain`` prints: ``not_a_number``, ``invalid_country_code``,
/// ``too_short_after_idd``, ``too_short_nsn``, ``too_long`` (``parse`` refused the text),
/// ``invalid``, ``local_only``, ``too_short``, ``too_long_for_country``, ``invalid_length``
/// (parsed, not valid).
///
/// >>> normalize_reason("415 555", "US")
/// 'too_short'
/// >>> normalize_reason("(415) 555-9876")
/// 'invalid_country_code'
/// >>> normalize_reason("(415) 555-9876", "US") is None
/// True
#[pyfunction]
#[pyo3(signature = (text, region = None), text_signature = "(text, region='ZZ')")]
fn normalize_reason(
    text: &Bound<'_, PyAny>,
    region: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<&'static str>> {
    let region = region_arg(region)?;
    Ok(e164::normalize(str_arg(text, "text")?, region)
        .err()
        .map(NotValid::as_str))
}

/// :func:`normalize` on each text, in one call, with the GIL released while the numbers are
/// normalized (4,096 at a time): a list of E.164 forms and ``None``, in the order of ``texts``.
///
/// >>> normalize_many(["(415) 555-9876", "nope", "+44 20 7031 3000"], "US")
/// ['+14155559876', None, '+442070313000']
#[pyfunction]
#[pyo3(signature = (texts, region = None), text_signature = "(texts, region='ZZ')")]
fn normalize_many<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyAny>,
    region: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let region = region_arg(region)?;
    if texts.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "texts must be a sequence of str, not a str",
        ));
    }
    // In chunks, so that the texts and the results stay in the cache between the three passes
    // (gather with the GIL, normalize without it, build the list with it).
    const CHUNK: usize = 4096;
    let out = PyList::empty(py);
    let mut all = String::new();
    let mut ends = Vec::with_capacity(CHUNK);
    let mut numbers = Vec::with_capacity(CHUNK);
    let mut flush = |all: &mut String, ends: &mut Vec<usize>| -> PyResult<()> {
        py.detach(|| {
            let mut start = 0;
            numbers.clear();
            numbers.extend(ends.iter().map(|&end| {
                let text = all.get(start..end).unwrap_or("");
                start = end;
                e164::normalize(text, region).ok()
            }));
        });
        for number in &numbers {
            out.append(number.as_ref().map(|n| PyString::new(py, n.as_str())))?;
        }
        all.clear();
        ends.clear();
        Ok(())
    };
    for_each(texts, |i, item| {
        let text = item.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "texts[{i}] is a {}, not a str",
                json::type_name(item)
            ))
        })?;
        all.push_str(text.to_str()?);
        ends.push(all.len());
        if ends.len() == CHUNK {
            flush(&mut all, &mut ends)?;
        }
        Ok(())
    })?;
    flush(&mut all, &mut ends)?;
    Ok(out)
}

/// A `str` argument's text, or a `TypeError` naming the argument.
fn str_arg<'a>(value: &'a Bound<'_, PyAny>, name: &str) -> PyResult<&'a str> {
    match value.cast::<PyString>() {
        Ok(text) => text.to_str(),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{name} must be a str, not {}",
            json::type_name(value)
        ))),
    }
}

/// The `region` argument: `None` (as `"ZZ"`) or a region code. The last code parsed on this
/// thread is remembered with its `str` object: a caller passing the same `"US"` (an interned
/// literal, or the same variable) again skips the parsing.
fn region_arg(region: Option<&Bound<'_, PyAny>>) -> PyResult<Region> {
    thread_local! {
        static LAST: RefCell<Option<(Py<PyAny>, Region)>> = const { RefCell::new(None) };
    }
    let Some(region) = region.filter(|region| !region.is_none()) else {
        return Ok(Region::UNKNOWN);
    };
    let remembered = LAST.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(code, _)| code.as_ptr() == region.as_ptr())
            .map(|(_, parsed)| *parsed)
    });
    if let Some(parsed) = remembered {
        return Ok(parsed);
    }
    let parsed = parse_region(str_arg(region, "region")?)?;
    LAST.with(|last| *last.borrow_mut() = Some((region.clone().unbind(), parsed)));
    Ok(parsed)
}

/// A region code as the library parses it, two-letter codes from a table filled once.
fn parse_region(code: &str) -> PyResult<Region> {
    static TWO_LETTERS: OnceLock<Vec<Option<Region>>> = OnceLock::new();
    let unknown = |error: e164::UnknownRegion| {
        PyValueError::new_err(format!("unknown region {code:?}: {error}"))
    };
    match code.as_bytes() {
        [a @ b'A'..=b'Z', b @ b'A'..=b'Z'] => {
            let table = TWO_LETTERS.get_or_init(|| {
                (0..26u8)
                    .flat_map(|a| (0..26u8).map(move |b| [b'A' + a, b'A' + b]))
                    .map(|name| std::str::from_utf8(&name).ok()?.parse().ok())
                    .collect()
            });
            let index = usize::from(a - b'A') * 26 + usize::from(b - b'A');
            table
                .get(index)
                .copied()
                .flatten()
                .ok_or_else(|| unknown(e164::UnknownRegion))
        }
        _ => code.parse().map_err(unknown),
    }
}

// ---------------------------------------------------------------------------------------------
// Contacts: the pre-check (SPEC §4 rules 1-8), splitting and merging

/// The error entries the server would answer for ``contacts`` as far as rules 1 to 8 of
/// SPEC §4 tell, before sending: ``{"index", "phone_number", "code", "error"}`` plus
/// ``"field"`` for ``invalid_field``, in ascending ``index`` (the position in ``contacts``).
/// ``phone_number`` is the value sent when it is a ``str``, else ``None``.
///
/// A contact is a ``dict`` (written as JSON as ``serde_json`` writes the same value: its
/// size is what rule 1 measures) or a ``str`` holding its JSON text. ``now`` is the time the
/// server will check ``signup_date`` at: an aware ``datetime``, an RFC 3339 ``str``, or
/// ``None`` for this machine's clock (a naive ``datetime`` is a ``ValueError``). The server
/// refuses a date later than *its* now plus 5 minutes, so a client whose clock may run ahead
/// checks at its clock minus a margin (60 seconds is ample for an NTP-synchronised machine).
///
/// A contact that no request body can carry (nested deeper than a body allows, or a ``str``
/// that is not JSON text) is a ``ValueError`` naming its index: the server would refuse the
/// whole body with ``400 invalid_json``. The GIL is released while the contacts are checked.
///
/// >>> precheck([{"phone_number": "+14155559876", "list_number": "+18005551234"},
/// ...           {"phone_number": "415-555-9876", "list_number": "+18005551234"},
/// ...           '{"phone_number": "+14155559876", "list_number": "+18005551234", "url": "ftp://x"}'],
/// ...          now="2025-06-01T00:00:00Z")
/// [{'index': 1, 'phone_number': '415-555-9876', 'code': 'invalid_phone', 'error': 'phone_number must be a valid E.164 number'}, {'index': 2, 'phone_number': '+14155559876', 'code': 'invalid_field', 'error': 'url must be an absolute http or https URL', 'field': 'url'}]
#[pyfunction]
#[pyo3(signature = (contacts, now = None))]
fn precheck<'py>(
    py: Python<'py>,
    contacts: &Bound<'py, PyAny>,
    now: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let now = match now {
        None => Timestamp::now(),
        Some(now) => timestamp(py, now)?,
    };
    let mut texts = Vec::new();
    let mut ends = Vec::new();
    refuse_single(contacts)?;
    for_each(contacts, |index, contact| {
        contact_text(contact, index, &mut texts)?;
        ends.push(texts.len());
        Ok(())
    })?;
    let engine = Engine::default();
    let checked = py.detach(|| {
        let mut entries = Vec::new();
        let mut start = 0;
        for (index, &end) in ends.iter().enumerate() {
            let text = texts.get(start..end).unwrap_or_default();
            start = end;
            match engine.check_contact(text, now) {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => entries.push(ErrorEntry::for_contact(
                    index,
                    text,
                    &error,
                    engine.limits(),
                )),
                Err(_) => return Err((index, text)),
            }
        }
        Ok(entries)
    });
    match checked {
        Ok(entries) => entry_list(py, &entries),
        Err((index, text)) => Err(unsendable(index, text)),
    }
}

/// Splits ``contacts`` (any iterable of ``dict`` or JSON text ``str``, read lazily) into
/// request bodies within the limits, with the library's splitter: iterating gives
/// ``(body, indices)`` pairs, ``body`` the ``bytes`` to ``POST`` (``{"contacts":[...]}``,
/// compact) and ``indices[i]`` the position in ``contacts`` of the body's contact ``i``.
///
/// A contact that no body may carry (larger than ``max_contact_bytes``) is not sent: it is
/// in :attr:`Split.local`, with the error entry the server would give it, for
/// :meth:`Merger.add_local`. A contact nested deeper than a body allows, or a ``str`` that
/// is not JSON text, is a ``ValueError`` naming its index, and ends the iteration.
///
/// Each limit is at least what a body of one contact ``{}`` needs (1 contact, 2 bytes per
/// contact, 17 bytes per body, the library's ``Limits``): a smaller one is a ``ValueError``.
///
/// A body holds each contact's members in name order (as the library's ``serde_json::Value``
/// writes an object); sizes are those of the compact JSON, which do not depend on the order.
/// The GIL is released while contacts are placed in bodies.
///
/// >>> parts = split([{"phone_number": f"+1415555000{n}"} for n in range(3)], max_contacts=2)
/// >>> [indices for body, indices in parts]
/// [[0, 1], [2]]
#[pyfunction]
#[pyo3(
    text_signature = "(contacts, *, max_contacts=1000, max_contact_bytes=4000, max_body_bytes=5242880)",
    signature = (contacts, *, max_contacts = None, max_contact_bytes = None, max_body_bytes = None)
)]
fn split(
    contacts: &Bound<'_, PyAny>,
    max_contacts: Option<&Bound<'_, PyAny>>,
    max_contact_bytes: Option<&Bound<'_, PyAny>>,
    max_body_bytes: Option<&Bound<'_, PyAny>>,
) -> PyResult<Split> {
    refuse_single(contacts)?;
    let limit = |value: Option<&Bound<'_, PyAny>>, name: &str, default: usize| match value {
        None => Ok(default),
        Some(value) => count_arg(value, name),
    };
    let defaults = Limits::DEFAULT;
    let limits = Limits::new(
        limit(max_contacts, "max_contacts", defaults.max_contacts())?,
        limit(
            max_contact_bytes,
            "max_contact_bytes",
            defaults.max_contact_bytes(),
        )?,
        limit(max_body_bytes, "max_body_bytes", defaults.max_body_bytes())?,
    )
    // A limit under its minimum (0 contacts, a body too small for `{"contacts":[{}]}`).
    .map_err(|invalid| PyValueError::new_err(invalid.to_string()))?;
    Ok(Split {
        source: Some(contacts.try_iter()?.unbind()),
        splitter: Some(Splitter::new(limits)),
        ready: VecDeque::new(),
        local: Vec::new(),
        pulled: 0,
    })
}

/// How many contacts a :class:`Split` converts (with the GIL) before placing them in bodies
/// (without it).
const CHUNK: usize = 1024;

/// The request bodies of :func:`split`, made as they are iterated.
#[pyclass(module = "bulk_contacts")]
struct Split {
    source: Option<Py<PyIterator>>,
    splitter: Option<Splitter>,
    ready: VecDeque<RequestBody>,
    local: Vec<ErrorEntry>,
    pulled: usize,
}

#[pymethods]
impl Split {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<Option<(Bound<'py, PyBytes>, Bound<'py, PyList>)>> {
        loop {
            if let Some(body) = self.ready.pop_front() {
                let indices = PyList::new(py, &body.indices)?;
                return Ok(Some((PyBytes::new(py, &body.bytes), indices)));
            }
            let Some(source) = self.source.as_ref().map(|s| s.bind(py).clone()) else {
                return Ok(None);
            };
            let mut values = Vec::new();
            let mut exhausted = false;
            while values.len() < CHUNK {
                let Some(item) = source.clone().next() else {
                    exhausted = true;
                    break;
                };
                let index = self.pulled;
                self.pulled += 1;
                match item.and_then(|item| contact_value(&item, index)) {
                    Ok(value) => values.push(value),
                    Err(error) => {
                        self.source = None;
                        self.splitter = None;
                        return Err(error);
                    }
                }
            }
            let Some(splitter) = self.splitter.as_mut() else {
                return Ok(None);
            };
            let (ready, local) = (&mut self.ready, &mut self.local);
            py.detach(|| {
                for value in &values {
                    match splitter.push(value) {
                        Pushed::Pending => {}
                        Pushed::Body(body) => ready.push_back(body),
                        Pushed::Local(entry) => local.push(entry),
                    }
                }
            });
            if exhausted {
                self.source = None;
                if let Some(last) = self.splitter.take().and_then(Splitter::finish) {
                    self.ready.push_back(last);
                }
            }
        }
    }

    /// The contacts not sent, each with the error entry the server would give it
    /// (``payload_too_large`` for one larger than ``max_contact_bytes``), in ascending index:
    /// complete once the iteration is over.
    #[getter]
    fn local<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        entry_list(py, &self.local)
    }
}

/// Merges the answers to the bodies of a :func:`split` into one report, with the caller's
/// indices (the library's merger).
///
/// >>> merger = Merger()
/// >>> merger.add([4, 9], 200, b'{"success_count":1,"error_count":1,"errors":[{"index":1,"phone_number":"+1","code":"invalid_phone","error":"phone_number must be a valid E.164 number"}],"contacts_created":1,"list_contacts_created":1,"journeys_enrolled":0}')
/// >>> merger.report()["errors"][0]["index"]
/// 9
#[pyclass(module = "bulk_contacts")]
#[derive(Default)]
struct Merger {
    inner: bulk_contacts::Merger,
}

#[pymethods]
impl Merger {
    #[new]
    fn new() -> Self {
        Merger::default()
    }

    /// The answer to one body: its ``indices`` (as :func:`split` gave them), the HTTP
    /// ``status`` and the answer's ``body`` bytes. A 200 summary adds its counters and its
    /// error entries (each index replaced by the caller's); any other status makes the body
    /// a ``rejected`` entry of the report, with the answer's ``code`` and ``error``.
    ///
    /// Returns ``None``, or, for a 200 answer that is not a summary of exactly this body's
    /// contacts, what is wrong with it (the body is then in ``rejected`` too).
    fn add(
        &mut self,
        indices: &Bound<'_, PyAny>,
        status: &Bound<'_, PyAny>,
        body: &[u8],
    ) -> PyResult<Option<String>> {
        if indices.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "indices must be a sequence of int, not a str",
            ));
        }
        let indices = indices
            .try_iter()?
            .enumerate()
            .map(|(i, index)| count_arg(&index?, &format!("indices[{i}]")))
            .collect::<PyResult<Vec<usize>>>()?;
        let status = count_arg(status, "status")
            .ok()
            .and_then(|status| u16::try_from(status).ok())
            .ok_or_else(|| {
                PyValueError::new_err(format!("status must be an HTTP status code, not {status}"))
            })?;
        Ok(self
            .inner
            .add(&indices, status, body)
            .err()
            .map(|e| e.to_string()))
    }

    /// The contacts that were not sent, as :attr:`Split.local` lists them.
    fn add_local(&mut self, entries: &Bound<'_, PyAny>) -> PyResult<()> {
        for (i, entry) in entries.try_iter()?.enumerate() {
            let mut text = Vec::new();
            json::write(&entry?, &mut text, &|out: &mut String| {
                out.push_str(&format!("local entry {i}"));
            })?;
            let entry: ErrorEntry = serde_json::from_slice(&text).map_err(|error| {
                PyValueError::new_err(format!("local entry {i} is not an error entry: {error}"))
            })?;
            self.inner.local(entry);
        }
        Ok(())
    }

    /// The report so far, as the library serializes it: the engine's summary members
    /// (``success_count``, ``error_count``, ``errors`` by ascending caller index,
    /// ``contacts_created``, ``list_contacts_created``, ``journeys_enrolled``), then
    /// ``rejected``: the bodies answered with something else than a summary
    /// (``{"indices", "status", "code", "error"}``).
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let report: Report = self.inner.clone().finish();
        let text = serde_json::to_string(&report)
            .map_err(|error| PyValueError::new_err(error.to_string()))?;
        json_loads(py, &text)
    }
}

// ---------------------------------------------------------------------------------------------
// The engine over the in-memory world (SPEC §8)

/// The whole engine on one request over the in-memory world of SPEC §8: ``(status, body)``
/// as the endpoint answers. ``world`` is a world as a ``dict`` (or its JSON text), ``None``
/// for the built-in one (the defaults plus the list ``+18005551234`` with one welcome
/// journey and ``+13105558888`` not sendable); ``api_key`` the ``X-Api-Key`` header
/// (``None``: no header); ``now`` the time of the request (``None``: the world's ``now``).
/// What a test suite of another implementation compares with.
///
/// >>> handle(b'{"contacts": [{"phone_number": "+14155559876", "list_number": "+18005551234"}]}')
/// (200, b'{"success_count":1,"error_count":0,"errors":[],"contacts_created":1,"list_contacts_created":1,"journeys_enrolled":0}')
#[pyfunction]
#[pyo3(
    signature = (body, world = None, api_key = Some(DEFAULT_API_KEY), now = None),
    text_signature = "(body, world=None, api_key='trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6', now=None)"
)]
fn handle<'py>(
    py: Python<'py>,
    body: &[u8],
    world: Option<&Bound<'py, PyAny>>,
    api_key: Option<&str>,
    now: Option<&Bound<'py, PyAny>>,
) -> PyResult<(u16, Bound<'py, PyBytes>)> {
    let world = match world {
        None => World::builtin(),
        Some(world) => {
            let text = match world.cast::<PyString>() {
                Ok(text) => text.to_str()?.to_owned(),
                Err(_) => {
                    let mut text = Vec::new();
                    json::write(world, &mut text, &|out: &mut String| out.push_str("world"))?;
                    String::from_utf8(text)
                        .map_err(|error| PyValueError::new_err(error.to_string()))?
                }
            };
            World::from_json(&text)
                .map_err(|error| PyValueError::new_err(format!("malformed world: {error}")))?
        }
    };
    let now = match now {
        None => world.now,
        Some(now) => timestamp(py, now)?,
    };
    let response = py.detach(|| {
        let request = Request {
            api_key: api_key.map(str::as_bytes),
            body,
            now,
        };
        Engine::default().handle(&request, &world.account(), &world, &world, &world)
    });
    Ok((response.status, PyBytes::new(py, &response.body)))
}

// ---------------------------------------------------------------------------------------------
// Conversions

/// An `int` argument from 0 to `usize::MAX`.
fn count_arg(value: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    if !value.is_instance_of::<PyInt>() || value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int, not {}",
            json::type_name(value)
        )));
    }
    value
        .extract::<usize>()
        .map_err(|_| PyValueError::new_err(format!("{name} must be 0 or more, not {value}")))
}

/// `contacts` must be a collection of contacts, not one `str` or `dict` (whose iteration
/// gives characters or keys).
fn refuse_single(contacts: &Bound<'_, PyAny>) -> PyResult<()> {
    if contacts.is_instance_of::<PyString>() || contacts.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "contacts must be a sequence of contacts (dict or JSON text), not one {}",
            json::type_name(contacts)
        )));
    }
    Ok(())
}

/// Calls `f` with each item of an iterable and its index (a `list` without the iterator
/// protocol).
fn for_each<'py>(
    items: &Bound<'py, PyAny>,
    mut f: impl FnMut(usize, &Bound<'py, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    if let Ok(list) = items.cast::<PyList>() {
        for (index, item) in list.iter().enumerate() {
            f(index, &item)?;
        }
    } else {
        for (index, item) in items.try_iter()?.enumerate() {
            f(index, &item?)?;
        }
    }
    Ok(())
}

fn not_a_contact(contact: &Bound<'_, PyAny>, index: usize) -> PyErr {
    PyTypeError::new_err(format!(
        "contact {index} is a {}: a contact is a dict or its JSON text (str)",
        json::type_name(contact)
    ))
}

/// Appends a contact's JSON text: a `str` as it is, a `dict` as `serde_json` writes it.
fn contact_text(contact: &Bound<'_, PyAny>, index: usize, out: &mut Vec<u8>) -> PyResult<()> {
    if let Ok(text) = contact.cast::<PyString>() {
        out.extend_from_slice(text.to_str()?.as_bytes());
    } else if contact.is_instance_of::<PyDict>() {
        json::write(contact, out, &|path: &mut String| {
            path.push_str(&format!("contact {index}"))
        })?;
    } else {
        return Err(not_a_contact(contact, index));
    }
    Ok(())
}

/// A contact as the splitter takes it, refused when no body can carry it.
fn contact_value(contact: &Bound<'_, PyAny>, index: usize) -> PyResult<serde_json::Value> {
    /// Nesting below this is far from the library's limit: only deeper values are checked.
    const CHECK_NESTING_FROM: usize = 64;
    let epoch = Timestamp::UNIX_EPOCH;
    if let Ok(text) = contact.cast::<PyString>() {
        let text = text.to_str()?;
        if Engine::default()
            .check_contact(text.as_bytes(), epoch)
            .is_err()
        {
            return Err(unsendable(index, text.as_bytes()));
        }
        return serde_json::from_str(text).map_err(|_| unsendable(index, text.as_bytes()));
    }
    if !contact.is_instance_of::<PyDict>() {
        return Err(not_a_contact(contact, index));
    }
    let (value, deepest) = json::value(contact, &|path: &mut String| {
        path.push_str(&format!("contact {index}"))
    })?;
    if deepest >= CHECK_NESTING_FROM {
        let text = serde_json::to_vec(&value).unwrap_or_default();
        if Engine::default().check_contact(&text, epoch).is_err() {
            return Err(unsendable(index, &text));
        }
    }
    Ok(value)
}

/// The `ValueError` of a contact no request body can carry: the library's message, and what
/// `serde_json` says of its text when that is not JSON at all.
fn unsendable(index: usize, text: &[u8]) -> PyErr {
    let message = UnsendableContact { index }.to_string();
    match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
        Err(error) => PyValueError::new_err(format!("{message}: not JSON text ({error})")),
        Ok(_) => PyValueError::new_err(format!(
            "{message}: nested deeper than a request body allows"
        )),
    }
}

/// Error entries as a list of dicts, members in the server's order.
fn entry_list<'py>(py: Python<'py>, entries: &[ErrorEntry]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for entry in entries {
        let dict = PyDict::new(py);
        dict.set_item(intern!(py, "index"), entry.index)?;
        dict.set_item(intern!(py, "phone_number"), entry.phone_number.as_deref())?;
        dict.set_item(intern!(py, "code"), &entry.code)?;
        dict.set_item(intern!(py, "error"), &entry.error)?;
        if let Some(field) = &entry.field {
            dict.set_item(intern!(py, "field"), field)?;
        }
        if let Some(validation) = &entry.validation {
            dict.set_item(intern!(py, "validation"), json_loads(py, validation.get())?)?;
        }
        list.append(dict)?;
    }
    Ok(list)
}

/// `json.loads(text)`.
fn json_loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let loads = LOADS.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("json")?.getattr("loads")?.unbind())
    })?;
    loads.bind(py).call1((text,))
}

/// `now` given as an aware `datetime` or an RFC 3339 `str`.
fn timestamp(py: Python<'_>, now: &Bound<'_, PyAny>) -> PyResult<Timestamp> {
    static DATETIME: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();
    let text = if let Ok(text) = now.cast::<PyString>() {
        text.to_str()?.to_owned()
    } else {
        let (datetime, utc) = DATETIME.get_or_try_init(py, || {
            let module = py.import("datetime")?;
            let utc = module.getattr("timezone")?.getattr("utc")?;
            Ok::<_, PyErr>((module.getattr("datetime")?.unbind(), utc.unbind()))
        })?;
        if !now.is_instance(datetime.bind(py))? {
            return Err(PyTypeError::new_err(format!(
                "now must be an aware datetime or an RFC 3339 str, not a {}",
                json::type_name(now)
            )));
        }
        if now.call_method0(intern!(py, "utcoffset"))?.is_none() {
            return Err(PyValueError::new_err(
                "now is a naive datetime: give it a time zone (e.g. datetime.now(timezone.utc))",
            ));
        }
        let utc_now = now.call_method1(intern!(py, "astimezone"), (utc.bind(py),))?;
        utc_now
            .call_method0(intern!(py, "isoformat"))?
            .cast_into::<PyString>()?
            .to_str()?
            .to_owned()
    };
    text.parse::<Timestamp>().map_err(|error| {
        PyValueError::new_err(format!(
            "now is not an RFC 3339 date-time ({text:?}): {error}"
        ))
    })
}

//! Python values as JSON: a `serde::Serialize` view of a Python object, so that `serde_json`
//! writes every byte (the compact form rule 1 measures, its escapes and its number formats)
//! exactly as it writes the same value in Rust.
//!
//! Only what JSON holds is accepted: `dict` (keys `str`), `list`, `tuple`, `str`, `int`,
//! `float`, `bool` and `None`. An `int` outside 64 bits is written as the `f64` `serde_json`
//! reads such an integer as; a `float` that is not finite is written `null`, as `serde_json`
//! writes one. Anything else is a `TypeError` naming the type and where it is.
//!
//! Nesting is bounded: past [`MAX_DEPTH`] containers the conversion stops with a
//! `ValueError`, so a deep or self-referencing `dict` cannot overflow the stack.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

/// `serde_json`'s own recursion limit when it reads JSON text: no value nested deeper can be
/// read back from a body, so the conversion need not (and, to bound the stack, does not) go
/// further. The exact limit of a contact in a body is the library's (`check_contact`).
pub const MAX_DEPTH: usize = 128;

/// What went wrong while converting, kept aside as a Python exception (serde's error only
/// carries text).
#[derive(Default)]
pub struct Conversion {
    failure: RefCell<Option<PyErr>>,
    deepest: Cell<usize>,
}

impl Conversion {
    /// The deepest nesting seen so far (0 for a scalar, 1 for `{}`).
    pub fn deepest(&self) -> usize {
        self.deepest.get()
    }

    /// The Python exception behind a serialization error, prefixed with `what` (`contact 3`):
    /// the one recorded, or a `ValueError` with serde's text.
    pub fn error(&self, what: &str, error: impl std::fmt::Display) -> PyErr {
        match self.failure.borrow_mut().take() {
            Some(failure) => failure,
            None => PyValueError::new_err(format!("{what}: {error}")),
        }
    }
}

/// A Python object seen as a JSON value. `path` says where it is (`contact 3`,
/// `contact 3["custom_fields"]["age"]`) for the messages.
pub struct Json<'a, 'py> {
    object: &'a Bound<'py, PyAny>,
    depth: usize,
    conversion: &'a Conversion,
    path: &'a dyn Fn(&mut String),
}

impl<'a, 'py> Json<'a, 'py> {
    /// The top-level value named `name` (`contact 3`, `world`).
    pub fn new(
        object: &'a Bound<'py, PyAny>,
        conversion: &'a Conversion,
        name: &'a dyn Fn(&mut String),
    ) -> Self {
        Json {
            object,
            depth: 0,
            conversion,
            path: name,
        }
    }

    fn fail<E: serde::ser::Error>(&self, error: PyErr) -> E {
        let text = error.to_string();
        *self.conversion.failure.borrow_mut() = Some(error);
        E::custom(text)
    }

    /// Where the value is: its path, cut short when it is long (a self-referencing dict).
    fn where_(&self) -> String {
        const LONGEST: usize = 120;
        let mut out = String::new();
        (self.path)(&mut out);
        if out.len() > LONGEST {
            let cut = (0..=LONGEST)
                .rev()
                .find(|&i| out.is_char_boundary(i))
                .unwrap_or(0);
            out.truncate(cut);
            out.push_str("...");
        }
        out
    }

    fn child<R>(
        &self,
        step: &dyn Fn(&mut String),
        object: &Bound<'py, PyAny>,
        f: impl FnOnce(&Json<'_, 'py>) -> R,
    ) -> R {
        let path = |out: &mut String| {
            (self.path)(out);
            step(out);
        };
        f(&Json {
            object,
            depth: self.depth + 1,
            conversion: self.conversion,
            path: &path,
        })
    }

    fn enter<E: serde::ser::Error>(&self) -> Result<(), E> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(self.fail(PyValueError::new_err(format!(
                "{}: nested deeper than {MAX_DEPTH} levels (a dict that contains itself?): no request body can hold it",
                self.where_()
            ))));
        }
        if depth > self.conversion.deepest.get() {
            self.conversion.deepest.set(depth);
        }
        Ok(())
    }
}

impl serde::Serialize for Json<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let object = self.object;
        if object.is_none() {
            serializer.serialize_unit()
        } else if let Ok(flag) = object.cast::<PyBool>() {
            serializer.serialize_bool(flag.is_true())
        } else if let Ok(text) = object.cast::<PyString>() {
            serializer.serialize_str(text.to_str().map_err(|e| self.fail(e))?)
        } else if let Ok(int) = object.cast::<PyInt>() {
            if let Ok(n) = int.extract::<i64>() {
                serializer.serialize_i64(n)
            } else if let Ok(n) = int.extract::<u64>() {
                serializer.serialize_u64(n)
            } else {
                // serde_json reads a JSON integer outside 64 bits as an f64.
                let float = int.extract::<f64>().map_err(|_| {
                    self.fail::<S::Error>(PyValueError::new_err(format!(
                        "{}: an int too large for JSON's numbers",
                        self.where_()
                    )))
                })?;
                serializer.serialize_f64(float)
            }
        } else if let Ok(float) = object.cast::<PyFloat>() {
            serializer.serialize_f64(float.value())
        } else if let Ok(dict) = object.cast::<PyDict>() {
            self.enter()?;
            let mut map = serializer.serialize_map(Some(dict.len()))?;
            for (key, value) in dict.iter() {
                let Ok(key) = key.cast::<PyString>() else {
                    return Err(self.fail(PyTypeError::new_err(format!(
                        "{}: a JSON object's keys are str, not {}",
                        self.where_(),
                        type_name(&key)
                    ))));
                };
                let name = key.to_str().map_err(|e| self.fail(e))?;
                let step = |out: &mut String| {
                    let _ = write!(out, "[{name:?}]");
                };
                map.serialize_key(name)?;
                self.child(&step, &value, |child| map.serialize_value(child))?;
            }
            map.end()
        } else if object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>() {
            self.enter()?;
            let mut seq = serializer.serialize_seq(object.len().ok())?;
            for (i, item) in object.try_iter().map_err(|e| self.fail(e))?.enumerate() {
                let item = item.map_err(|e| self.fail(e))?;
                let step = |out: &mut String| {
                    let _ = write!(out, "[{i}]");
                };
                self.child(&step, &item, |child| seq.serialize_element(child))?;
            }
            seq.end()
        } else {
            Err(self.fail(PyTypeError::new_err(format!(
                "{}: a {} is not a JSON value (expected dict, list, tuple, str, int, float, bool or None)",
                self.where_(),
                type_name(object)
            ))))
        }
    }
}

/// The Python type's name, for messages.
pub fn type_name(object: &Bound<'_, PyAny>) -> String {
    object
        .get_type()
        .name()
        .map_or_else(|_| "object".to_owned(), |name| name.to_string())
}

/// The compact JSON text of `object` appended to `out`, as `serde_json::to_writer` writes it.
pub fn write(
    object: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
    name: &dyn Fn(&mut String),
) -> PyResult<usize> {
    let conversion = Conversion::default();
    let json = Json::new(object, &conversion, name);
    let start = out.len();
    serde_json::to_writer(&mut *out, &json).map_err(|error| {
        out.truncate(start);
        let mut what = String::new();
        name(&mut what);
        conversion.error(&what, error)
    })?;
    Ok(conversion.deepest())
}

/// `object` as a `serde_json::Value` (objects in name order, as `Value` keeps them) and its
/// deepest nesting.
pub fn value(
    object: &Bound<'_, PyAny>,
    name: &dyn Fn(&mut String),
) -> PyResult<(serde_json::Value, usize)> {
    let conversion = Conversion::default();
    let json = Json::new(object, &conversion, name);
    match serde_json::to_value(&json) {
        Ok(value) => Ok((value, conversion.deepest())),
        Err(error) => {
            let mut what = String::new();
            name(&mut what);
            Err(conversion.error(&what, error))
        }
    }
}

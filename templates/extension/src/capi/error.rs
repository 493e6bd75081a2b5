//! Raising exceptions: the C convention, and its Rust shape.
//!
//! In C, a function that fails sets the thread's current exception (`PyErr_SetString`, or a
//! callee did it) and returns an error marker: `NULL` for a `PyObject *`, `-1` for an `int`.
//! Every caller checks the marker and passes it up. Here a function returns `PyResult<T>`, whose
//! `Err(PyErrSet)` means "an exception is set on this thread; return the error marker", and `?`
//! does the passing. `PyErrSet` carries nothing: the exception lives in the interpreter.

use std::ffi::CString;

use pyo3_ffi::{PyErr_SetString, PyObject};

use crate::capi::gil::Python;

/// Proof that a Python exception is set on the current thread.
///
/// Only two things create one: [`raise`] (which sets it) and [`PyErrSet::fetched`] (after a
/// C-API call returned its error marker, which means the callee set it).
#[derive(Debug)]
#[must_use = "an exception is set: return the error marker to the interpreter"]
pub struct PyErrSet(());

impl PyErrSet {
    /// A C-API call has just returned its error marker (`NULL` or `-1`), so the callee set the
    /// exception. Use only right after such a call.
    pub fn fetched() -> Self {
        PyErrSet(())
    }
}

/// `Result` whose error means "a Python exception is set".
pub type PyResult<T> = Result<T, PyErrSet>;

/// Which built-in exception class to raise. The `PyExc_*` globals are statics in libpython;
/// reading one needs `unsafe`, so the choice is made with this enum and read in one place.
#[derive(Clone, Copy, Debug)]
pub enum Exc {
    OverflowError,
    SystemError,
}

impl Exc {
    fn as_ptr(self) -> *mut PyObject {
        // SAFETY: the `PyExc_*` statics are set by the interpreter before any module code runs
        // and never change; only the pointer is read. Borrowed references.
        unsafe {
            match self {
                Exc::OverflowError => pyo3_ffi::PyExc_OverflowError,
                Exc::SystemError => pyo3_ffi::PyExc_SystemError,
            }
        }
    }
}

/// Set `exc(message)` as the current exception and return the proof of it: `PyErr_SetString`.
/// Usage: `return Err(raise(py, Exc::OverflowError, "..."))`.
pub fn raise(_py: Python<'_>, exc: Exc, message: &str) -> PyErrSet {
    // An interior NUL would cut the C string short; replace it rather than fail while failing.
    let text = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
    // SAFETY: attached (the token); `exc.as_ptr()` is an exception class (borrowed) and `text`
    // a NUL-terminated string that PyErr_SetString copies before returning.
    unsafe { PyErr_SetString(exc.as_ptr(), text.as_ptr()) };
    PyErrSet(())
}

//! Raising exceptions: the C convention, and its Rust shape.
//!
//! In C, a function that fails sets the thread's "current exception" (`PyErr_SetString`, or a
//! callee did it) and returns an error marker: `NULL` for a `PyObject *`, `-1` for an `int`.
//! Every caller checks the marker and passes it up. rawcapi keeps exactly that protocol, and
//! lets `?` do the passing: a function returns `PyResult<T>`, whose `Err(PyErrSet)` means "an
//! exception is set on this thread; return the error marker". `PyErrSet` carries nothing — the
//! exception itself lives in the interpreter, where C code expects it.

use std::ffi::{c_char, CString};

use pyo3_ffi::{PyErr_SetString, PyObject};

use crate::capi::gil::Python;

/// Proof that a Python exception is set on the current thread.
///
/// Only two things create one: [`raise`] (which sets the exception) and [`PyErrSet::fetched`]
/// (for a C-API call that returned its error marker, which means the callee set it).
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
    TypeError,
    ValueError,
    OverflowError,
    BufferError,
    MemoryError,
    SystemError,
    ImportError,
    FileNotFoundError,
    IndexError,
    AttributeError,
    ZeroDivisionError,
    /// Only matched ([`clear_if`]), never raised: its constructor needs five arguments, which
    /// `raise`'s one message cannot give.
    UnicodeEncodeError,
}

impl Exc {
    fn as_ptr(self) -> *mut PyObject {
        // SAFETY: the `PyExc_*` statics are initialised by the interpreter before any module
        // code runs and never change afterwards; we only read the pointer. Borrowed references.
        unsafe {
            match self {
                Exc::TypeError => pyo3_ffi::PyExc_TypeError,
                Exc::ValueError => pyo3_ffi::PyExc_ValueError,
                Exc::OverflowError => pyo3_ffi::PyExc_OverflowError,
                Exc::BufferError => pyo3_ffi::PyExc_BufferError,
                Exc::MemoryError => pyo3_ffi::PyExc_MemoryError,
                Exc::SystemError => pyo3_ffi::PyExc_SystemError,
                Exc::ImportError => pyo3_ffi::PyExc_ImportError,
                Exc::FileNotFoundError => pyo3_ffi::PyExc_FileNotFoundError,
                Exc::IndexError => pyo3_ffi::PyExc_IndexError,
                Exc::AttributeError => pyo3_ffi::PyExc_AttributeError,
                Exc::ZeroDivisionError => pyo3_ffi::PyExc_ZeroDivisionError,
                Exc::UnicodeEncodeError => pyo3_ffi::PyExc_UnicodeEncodeError,
            }
        }
    }
}

/// Set `exc(message)` as the current exception and return the proof of it: `PyErr_SetString`.
/// Usage: `return Err(raise(py, Exc::TypeError, "..."))`.
pub fn raise(_py: Python<'_>, exc: Exc, message: &str) -> PyErrSet {
    // An interior NUL would cut the C string short; replace it rather than fail while failing.
    let text = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
    // SAFETY: attached (the token); `exc.as_ptr()` is a valid exception class (borrowed) and `text` a NUL-terminated string that PyErr_SetString
    // copies before returning.
    unsafe { PyErr_SetString(exc.as_ptr(), text.as_ptr() as *const c_char) };
    PyErrSet(())
}

/// A C-API call failed and the caller has an answer of its own for one kind of failure ("not a
/// number" for a TypeError from `float(x)`): the C idiom
///
/// ```c
/// if (PyErr_ExceptionMatches(PyExc_TypeError)) PyErr_Clear();   /* the expected failure */
/// else return NULL;                                             /* anything else propagates */
/// ```
///
/// `Ok(())` when the pending exception is an instance of `exc` (subclasses included), which is
/// then cleared; otherwise `Err`, with the exception left set, unchanged, for `?` to pass up. A
/// KeyboardInterrupt, MemoryError, SystemExit or the user's own exception class raised by the
/// hook that failed is never mistaken for the expected one. Call only right after a call that
/// returned its error marker (an exception is set).
pub fn clear_if(_py: Python<'_>, exc: Exc) -> PyResult<()> {
    // SAFETY: attached (the token); an exception is set (the caller's precondition).
    // PyErr_ExceptionMatches borrows the class and reads the pending exception's type; PyErr_Clear
    // drops the pending exception (its references are released).
    unsafe {
        if pyo3_ffi::PyErr_ExceptionMatches(exc.as_ptr()) == 0 {
            return Err(PyErrSet::fetched());
        }
        pyo3_ffi::PyErr_Clear();
    }
    Ok(())
}

/// `PyErr_NoMemory()`: set MemoryError without allocating anything. CPython keeps preallocated
/// MemoryError instances for this, so it works when the heap is exhausted — unlike
/// `raise(py, Exc::MemoryError, ..)`, which builds a message string. Use it when an allocation failed.
pub fn no_memory(_py: Python<'_>) -> PyErrSet {
    // SAFETY: attached (the token). Returns NULL, which says nothing beyond "exception set".
    unsafe { pyo3_ffi::PyErr_NoMemory() };
    PyErrSet(())
}

/// Turn a `PyResult<*mut PyObject>` into what an `extern "C"` method returns: the new reference
/// on success, `NULL` (exception set) on failure.
pub fn into_return(result: PyResult<*mut PyObject>) -> *mut PyObject {
    result.unwrap_or(std::ptr::null_mut())
}

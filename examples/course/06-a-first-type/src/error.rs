//! Raising with a message, and `?` in a type's slot functions.
//!
//! Since step 04 a helper that returns `None` (`Owned::from_new`, `Buffer::get`) means "the call
//! failed and an exception is set". A type's slots can fail at many points, so they are
//! written as bodies that return `Option` and pass each failure up with `?`: [`raise`] sets an
//! exception and returns the `None` that says so, and [`try_guard`] turns the body's `None`
//! into the entry point's error value, as [`guard`] does for a panic.

use std::ffi::CString;

use pyo3_ffi::{PyErr_NoMemory, PyErr_SetString, PyExc_BufferError, PyExc_TypeError, PyExc_ValueError};

use crate::gil::Python;
use crate::panic::guard;

/// The built-in exception classes the Array raises.
#[derive(Clone, Copy)]
pub enum Exc {
    TypeError,
    ValueError,
    BufferError,
}

/// `PyErr_SetString(exc, message); return NULL;` as `return raise(py, exc, message);`.
pub fn raise<T>(_py: Python<'_>, exc: Exc, message: &str) -> Option<T> {
    let text = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
    // SAFETY: GIL held (the token). The PyExc_* statics are set before any module code runs
    // (borrowed references to the classes); PyErr_SetString copies the text.
    unsafe {
        let class = match exc {
            Exc::TypeError => PyExc_TypeError,
            Exc::ValueError => PyExc_ValueError,
            Exc::BufferError => PyExc_BufferError,
        };
        PyErr_SetString(class, text.as_ptr());
    }
    None
}

/// `return PyErr_NoMemory();`: MemoryError, set without allocating.
pub fn no_memory<T>(_py: Python<'_>) -> Option<T> {
    // SAFETY: GIL held (the token). PyErr_NoMemory returns NULL, which says nothing more.
    unsafe { PyErr_NoMemory() };
    None
}

/// [`guard`] for a body written with `?`: its `None` (an exception is set) and a panic both
/// become `error`, the entry point's "exception set" value (`ptr::null_mut()` or `-1`).
pub fn try_guard<T: Copy>(py: Python<'_>, error: T, body: impl FnOnce() -> Option<T>) -> T {
    guard(py, error, || body().unwrap_or(error))
}

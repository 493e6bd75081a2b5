//! No panic crosses `extern "C"`.
//!
//! C has no unwinding. Since Rust 1.81 a panic that reaches the boundary of an `extern "C"`
//! function aborts the process, and the user's interpreter with it. So each function CPython
//! calls runs its body inside [`guard`], which catches the panic and turns it into the C API's
//! error convention: a `SystemError` set, and the entry point's error value returned (`NULL`
//! for a function that returns an object, `-1` for one that returns an `int`, such as the exec
//! slot).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3_ffi::{PyErr_SetString, PyExc_SystemError};

use crate::gil::Python;

/// Run `body`; if it panics, raise `SystemError("course05 panicked: <message>")` and return
/// `error`, the value that tells CPython an exception is set (`ptr::null_mut()` or `-1`).
///
/// `AssertUnwindSafe`: after a panic nothing looks at the state the body was changing again.
/// What it owned is dropped while unwinding (an [`Owned`](crate::owned::Owned) is released);
/// the exception is all that is left. `py`: raising needs the GIL, and a panic inside
/// `allow_threads` has taken it back by the time it arrives here.
pub fn guard<T>(_py: Python<'_>, error: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let text = format!("course05 panicked: {}", message(&*payload)).replace('\0', "?");
            let text = std::ffi::CString::new(text).expect("NULs were replaced");
            // SAFETY: the GIL is held (the token). PyExc_SystemError is a
            // borrowed reference to the class, set before any module code runs; PyErr_SetString
            // copies the message.
            unsafe { PyErr_SetString(PyExc_SystemError, text.as_ptr()) };
            error
        }
    }
}

/// The text of a panic payload: `panic!("...")` gives a `&str` or a `String`.
fn message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(a panic payload that is not a string)"
    }
}

//! Private functions (underscore names) that exist for the tests and the measuring scripts.
//! They are not part of the public API and may change without notice.

use pyo3_ffi::PyObject;

use crate::capi::error::PyErrSet;
use crate::capi::gil::set_release_threshold;
use crate::capi::object::{int_from_u128, usize_from_int};
use crate::capi::panic;

pub const PANIC_DOC: &std::ffi::CStr = c"_panic($module, message, /)
--

Panic in Rust with the given message. Exists so the tests can prove that a
panic becomes SystemError instead of aborting the interpreter.";

/// `METH_O`: panics on purpose, inside the entry point's guard like every other function.
pub unsafe extern "C" fn panic(_module: *mut PyObject, message: *mut PyObject) -> *mut PyObject {
    panic::guard(std::ptr::null_mut(), || {
        let mut size: pyo3_ffi::Py_ssize_t = 0;
        // SAFETY: GIL held; returns a pointer into `message`'s cached UTF-8 (borrowed, alive as
        // long as `message`) or NULL with TypeError/UnicodeEncodeError set.
        let utf8 = unsafe { pyo3_ffi::PyUnicode_AsUTF8AndSize(message, &mut size) };
        if utf8.is_null() {
            return Err(PyErrSet::fetched());
        }
        // SAFETY: `utf8` points at `size` bytes of valid UTF-8.
        let text = unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(utf8 as *const u8, size as usize)) };
        panic!("{text}");
    })
}

pub const THRESHOLD_DOC: &std::ffi::CStr = c"_set_gil_release_threshold($module, nbytes, /)
--

Release the GIL for inputs of at least nbytes bytes; return the previous
threshold. For tests (force either path) and examples/gil_threshold.py.";

/// `METH_O`: `nbytes` is a borrowed reference to an int.
pub unsafe extern "C" fn set_gil_release_threshold(_module: *mut PyObject, nbytes: *mut PyObject) -> *mut PyObject {
    panic::guard(std::ptr::null_mut(), || {
        // SAFETY: `nbytes` valid (borrowed), GIL held.
        let n = unsafe { usize_from_int(nbytes, "nbytes") }?;
        Ok(int_from_u128(set_release_threshold(n) as u128)?.into_raw())
    })
}

//! Private functions (underscore names) that exist for the tests and the measuring scripts.
//! They are not part of the public API and may change without notice.

use pyo3_ffi::PyObject;

use crate::capi::gil::Python;
use crate::capi::error::PyErrSet;
use crate::capi::gil::set_release_threshold;
use crate::capi::object::{int_from_u128, usize_from_int};
use crate::capi::panic;

pub const PANIC_DOC: &std::ffi::CStr = c"_panic($module, message, /)
--

Panic in Rust with the given message. Exists so the tests can prove that a
panic becomes SystemError instead of aborting the interpreter.";

/// `METH_O`: panics on purpose, inside the entry point's guard like every other function.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn panic(_module: *mut PyObject, message: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        // SAFETY: GIL held, `message` valid (borrowed); the check only reads its type.
        if unsafe { pyo3_ffi::PyUnicode_Check(message) } == 0 {
            // SAFETY: as above.
            let name = unsafe { crate::capi::object::type_name(py, message) };
            return Err(crate::capi::error::raise(py, crate::capi::error::Exc::TypeError, &format!("_panic() argument must be str, not '{name}'")));
        }
        // SAFETY: GIL held, `message` a str (borrowed); UnicodeEncodeError set for a lone surrogate.
        let text = unsafe { crate::capi::strings::utf8_string(py, message) }?;
        panic!("{text}");
    })
}

pub const THRESHOLD_DOC: &std::ffi::CStr = c"_set_gil_release_threshold($module, nbytes, /)
--

Release the GIL for inputs of at least nbytes bytes; return the previous
threshold. For tests (force either path) and examples/gil_threshold.py.";

/// `METH_O`: `nbytes` is a borrowed reference to an int.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn set_gil_release_threshold(_module: *mut PyObject, nbytes: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        // SAFETY: `nbytes` valid (borrowed), GIL held.
        let n = unsafe { usize_from_int(py, nbytes, "nbytes") }?;
        Ok(int_from_u128(py, set_release_threshold(n) as u128)?.into_raw())
    })
}

pub const RUST_HEAP_DOC: &std::ffi::CStr = c"_rust_heap($module, /)
--

Return (live_blocks, live_bytes) of rawcapi's Rust heap, counted since the
first call of this function (which starts the counting). Test-only: the leak
tests require both to change by the same amount over N and 2N calls, which
CPython's own counters cannot see (src/heap.rs).";

/// `METH_NOARGS`: the second argument is always NULL.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn rust_heap(_module: *mut PyObject, _unused: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        let (blocks, bytes) = crate::heap::live();
        // SAFETY: GIL held. Py_BuildValue returns a new reference (a 2-tuple of new ints) or
        // NULL with an exception set; "nn" reads two Py_ssize_t varargs.
        let pair = unsafe { pyo3_ffi::Py_BuildValue(c"(nn)".as_ptr(), blocks as pyo3_ffi::Py_ssize_t, bytes as pyo3_ffi::Py_ssize_t) };
        if pair.is_null() {
            return Err(PyErrSet::fetched());
        }
        Ok(pair)
    })
}

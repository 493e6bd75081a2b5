//! `byte_sum(data, /)`: the sum of the bytes of any contiguous buffer, the GIL released while a
//! large one is read. Glue only: take the buffer, release the GIL, loop, build the int.
//!
//! The same function in C:
//!
//! ```c
//! static PyObject *byte_sum(PyObject *module, PyObject *data) {     /* METH_O */
//!     Py_buffer view;
//!     if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) return NULL;
//!     unsigned long long total = 0;
//!     Py_BEGIN_ALLOW_THREADS
//!     for (Py_ssize_t i = 0; i < view.len; i++) total += ((unsigned char *)view.buf)[i];
//!     Py_END_ALLOW_THREADS
//!     PyBuffer_Release(&view);
//!     return PyLong_FromUnsignedLongLong(total);
//! }
//! ```

use std::ffi::CStr;
use std::ptr;

use pyo3_ffi::PyObject;

use crate::capi::buffer::{Buffer, Bytes};
use crate::capi::gil::Python;
use crate::capi::object::Owned;
use crate::capi::panic;

/// The docstring; its first lines are a text signature, which CPython turns into
/// `__text_signature__` (`inspect.signature`, `help`).
pub const DOC: &CStr = c"byte_sum($module, data, /)
--

Return the sum of the bytes of data, any object with the buffer protocol
whose memory is one contiguous run (bytes, bytearray, memoryview, array.array...).";

/// Below this many bytes the loop runs with the GIL held: giving the GIL up and taking it back
/// is a fixed cost, and for a short loop that cost is most of the call.
const RELEASE_THRESHOLD: usize = 64 * 1024;

/// `METH_O`: CPython passes the one argument itself, a borrowed reference.
///
/// # Safety
/// Called by CPython, attached, with `data` a valid object.
pub unsafe extern "C" fn byte_sum(_module: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls module functions attached.
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // PyBUF_SIMPLE: one contiguous run of bytes, no format, shape or strides. An exporter
        // that cannot give that (a strided memoryview) raises BufferError itself.
        // SAFETY: `data` is valid (borrowed from the caller's arguments); attached.
        let buffer = unsafe { Buffer::get(py, data, pyo3_ffi::PyBUF_SIMPLE) }?;
        let bytes = buffer.bytes();
        let total = if bytes.len() >= RELEASE_THRESHOLD { py.allow_threads(move || sum(bytes)) } else { sum(bytes) };
        // SAFETY: attached; PyLong_FromUnsignedLongLong returns a new reference (or NULL with
        // MemoryError set), which `Owned` takes over and `into_raw` hands to CPython.
        let result = unsafe { Owned::from_new(pyo3_ffi::PyLong_FromUnsignedLongLong(total)) }?;
        Ok(result.into_raw())
        // `buffer` drops here: PyBuffer_Release, with the GIL held again.
    })
}

/// A `u64` cannot overflow: it would take more than 2^64 / 255 bytes (about 72 PB).
fn sum(bytes: Bytes<'_>) -> u64 {
    (0..bytes.len()).map(|i| u64::from(bytes.get(i))).sum()
}

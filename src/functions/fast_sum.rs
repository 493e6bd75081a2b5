//! `fast_sum(data, /) -> int`: the sum of the bytes of any buffer-protocol object.
//!
//! The article's C version is `examples/fast_sum.c`: `METH_VARARGS`, `PyArg_ParseTuple(args,
//! "y*", &view)`, a loop, `PyBuffer_Release`. This one differs where it pays:
//! - `METH_O`: one positional argument arrives as a borrowed `PyObject *`, with no argument
//!   tuple to build and no format string to interpret;
//! - an exact `bytes` object is read in place, without the buffer protocol's bookkeeping;
//! - any other exporter is asked for its most general layout (`y*` refuses non-contiguous ones);
//! - the GIL is released while a large input is scanned, and a very large one is split across
//!   threads (`kernels::parallel`).

use pyo3_ffi::PyObject;

use crate::capi::gil::Python;
use crate::capi::buffer::{BufferIn, READ_ANY_LAYOUT};
use crate::capi::bytes::bytes_units;
use crate::capi::error::{raise, Exc};
use crate::capi::object::int_from_u128;
use crate::capi::panic;
use crate::kernels::strided::Layout;
use crate::kernels::sum::{sum_bytes_threaded, sum_layout};

pub const DOC: &std::ffi::CStr = c"fast_sum($module, data, /)
--

Return the sum of the bytes of data, any object with the buffer protocol.

Equal to sum(memoryview(data).tobytes()) for every layout the protocol allows
(non-contiguous, negative strides, multi-dimensional, suboffsets), without
copying. Raises TypeError for objects that are not bytes-like.";

/// `METH_O`: `data` is a borrowed reference, alive for the whole call (the caller holds it).
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn fast_sum(_module: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        // SAFETY: `data` is a valid object and the GIL is held (we are called by the interpreter).
        let total = if unsafe { pyo3_ffi::PyBytes_CheckExact(data) } != 0 {
            // SAFETY: an exact bytes object (src/capi/bytes.rs reads it in place): its immutable
            // bytes live as long as `data`, which outlives this call.
            let units = unsafe { bytes_units(data) };
            u128::from(py.allow_threads_above(units.len(), || sum_bytes_threaded(units)))
        } else {
            // The view lives in this frame, like C's `Py_buffer view;`: no allocation per call.
            let mut slot = pyo3_ffi::Py_buffer::new();
            // SAFETY: `data` valid (borrowed), GIL held; `slot` outlives `buffer`.
            let buffer = unsafe { BufferIn::get(py, data, READ_ANY_LAYOUT, &mut slot) }?;
            let layout: Layout = buffer.layout();
            // SAFETY: `buffer` is not released until it drops at the end of this closure, after
            // the scan, so the layout's memory stays exported and readable throughout.
            py.allow_threads_above(buffer.len_bytes(), || unsafe { sum_layout(&layout) })
                .map_err(|bad| raise(py, Exc::BufferError, &format!("fast_sum: inconsistent buffer layout ({})", bad.0)))?
        };
        Ok(int_from_u128(py, total)?.into_raw())
    })
}

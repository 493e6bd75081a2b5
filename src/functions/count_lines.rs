//! `count_lines(text, /) -> int`: the number of `'\n'` in a `str` or bytes-like object.
//!
//! The article's version is PyO3's `fn count_lines(text: &str)`, which makes PyO3 encode the
//! `str` to UTF-8 first (and fail on lone surrogates). This one reads the `str`'s own code units
//! in place (`src/capi/strings.rs`), and any buffer-protocol object as bytes.

use pyo3_ffi::PyObject;

use crate::capi::gil::Python;
use crate::capi::buffer::{BufferIn, READ_ANY_LAYOUT};
use crate::capi::bytes::bytes_units;
use crate::capi::error::{raise, Exc};
use crate::capi::object::{int_from_u128, type_name};
use crate::capi::panic;
use crate::capi::strings::{code_units, CodeUnits};
use crate::kernels::newlines::{count_newlines_layout, count_newlines_threaded};

pub const DOC: &std::ffi::CStr = c"count_lines($module, text, /)
--

Return the number of newline characters in text.

For a str: text.count('\\n'), read in place in CPython's own storage (no
encoding; any code point, lone surrogates included). For any bytes-like
object: memoryview(text).tobytes().count(b'\\n').";

/// `METH_O`: `text` is a borrowed reference, alive for the whole call.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn count_lines(_module: *mut PyObject, text: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        // SAFETY (the checks below): `text` is a valid object and the GIL is held.
        let count: u128 = if unsafe { pyo3_ffi::PyUnicode_Check(text) } != 0 {
            // SAFETY: a str, GIL held; `text` outlives the call, so its units stay readable.
            let text_units = unsafe { code_units(text) }?;
            let units = text_units.units();
            u128::from(py.allow_threads_above(units.nbytes(), || match units {
                CodeUnits::Latin1(u) => count_newlines_threaded(u),
                CodeUnits::Ucs2(u) => count_newlines_threaded(u),
                CodeUnits::Ucs4(u) => count_newlines_threaded(u),
                #[cfg(Py_LIMITED_API)]
                CodeUnits::Utf8(u) => count_newlines_threaded(u),
            }))
        } else if unsafe { pyo3_ffi::PyBytes_CheckExact(text) } != 0 {
            // SAFETY: an exact bytes object's immutable storage, alive as long as `text`.
            let units = unsafe { bytes_units(text) };
            u128::from(py.allow_threads_above(units.len(), || count_newlines_threaded(units)))
        } else if unsafe { pyo3_ffi::PyObject_CheckBuffer(text) } == 0 {
            // SAFETY: `text` valid, GIL held.
            let name = unsafe { type_name(py, text) };
            return Err(raise(py, Exc::TypeError, &format!("count_lines() argument must be str or a bytes-like object, not '{name}'")));
        } else {
            // The view lives in this frame, like C's `Py_buffer view;`: no allocation per call.
            let mut slot = pyo3_ffi::Py_buffer::new();
            // SAFETY: `text` valid (borrowed), GIL held; `slot` outlives `buffer`.
            let buffer = unsafe { BufferIn::get(py, text, READ_ANY_LAYOUT, &mut slot) }?;
            let layout = buffer.layout();
            // SAFETY: `buffer` stays exported until it drops after the scan.
            py.allow_threads_above(buffer.len_bytes(), || unsafe { count_newlines_layout(&layout) })
                .map_err(|bad| raise(py, Exc::BufferError, &format!("count_lines: inconsistent buffer layout ({})", bad.0)))?
        };
        Ok(int_from_u128(py, count)?.into_raw())
    })
}

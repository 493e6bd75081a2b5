//! Reading a `str` in place (PEP 393), without encoding or copying it.
//!
//! CPython stores a `str` as an array of fixed-width code units, the narrowest that fits its
//! largest character: 1 byte (Latin-1), 2 bytes (UCS-2) or 4 bytes (UCS-4). The C macros
//! `PyUnicode_KIND`, `PyUnicode_DATA` and `PyUnicode_GET_LENGTH` read that representation
//! directly — no UTF-8 encoding (which `PyUnicode_AsUTF8AndSize` would do, and cache, and which
//! fails on lone surrogates), no copy.
//!
//! A `str` is immutable, so its code units can be read with the GIL released for as long as a
//! reference to it is held.

use pyo3_ffi::PyObject;

use crate::capi::error::{PyErrSet, PyResult};
use crate::kernels::memory::Units;

/// The code units of a `str`, in the width CPython stores them.
#[derive(Clone, Copy)]
pub enum CodeUnits {
    Latin1(Units<u8>),
    Ucs2(Units<u16>),
    Ucs4(Units<u32>),
}

impl CodeUnits {
    /// Bytes of storage the units cover (the size that decides whether to release the GIL).
    pub fn nbytes(&self) -> usize {
        match self {
            CodeUnits::Latin1(u) => u.len(),
            CodeUnits::Ucs2(u) => u.len() * 2,
            CodeUnits::Ucs4(u) => u.len() * 4,
        }
    }
}

/// The code units of `text`, which must be a `str` (or subclass).
///
/// # Safety
/// `text` is a valid `str` object, the GIL is held, and the caller keeps a reference to `text`
/// for as long as the returned units are read.
pub unsafe fn code_units(text: *mut PyObject) -> PyResult<CodeUnits> {
    // SAFETY (whole body): `text` is a str (caller's promise), GIL held.
    unsafe {
        // Before 3.12 a str made by the legacy C API may not be in PEP 393 form yet;
        // PyUnicode_READY converts it (and is a no-op returning 0 from 3.12 on).
        if pyo3_ffi::PyUnicode_READY(text) < 0 {
            return Err(PyErrSet::fetched());
        }
        let len = pyo3_ffi::PyUnicode_GET_LENGTH(text) as usize;
        let data = pyo3_ffi::PyUnicode_DATA(text);
        // The data pointer is aligned for its kind: CPython allocates it that way.
        Ok(match pyo3_ffi::PyUnicode_KIND(text) {
            pyo3_ffi::PyUnicode_1BYTE_KIND => CodeUnits::Latin1(Units::new(data as *const u8, len)),
            pyo3_ffi::PyUnicode_2BYTE_KIND => CodeUnits::Ucs2(Units::new(data as *const u16, len)),
            _ => CodeUnits::Ucs4(Units::new(data as *const u32, len)),
        })
    }
}

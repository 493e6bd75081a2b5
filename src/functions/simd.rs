//! Private functions that show and force the kernels' instruction-set path, for the tests (run
//! every path the CPU supports against the same oracles) and for measurements. The public way
//! to force a path is the `RAWCAPI_SIMD` environment variable, read once at import.

use pyo3_ffi::PyObject;

use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc, PyErrSet};
use crate::capi::object::{str_from, type_name, Owned};
use crate::capi::panic;
use crate::capi::strings::utf8_string;
use crate::kernels::simd;

pub const PATHS_DOC: &std::ffi::CStr = c"_simd_paths($module, /)
--

The SIMD paths this CPU supports, widest first, e.g. ('avx512', 'avx2', 'scalar').
Test-only.";

/// `METH_NOARGS`.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn simd_paths(_module: *mut PyObject, _unused: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        let paths = simd::supported();
        // SAFETY: GIL held; PyTuple_New returns a new reference (or NULL with MemoryError).
        let tuple = unsafe { Owned::from_new(pyo3_ffi::PyTuple_New(paths.len() as pyo3_ffi::Py_ssize_t)) }?;
        for (i, path) in paths.iter().enumerate() {
            let name = str_from(py, path.name())?;
            // SAFETY: `tuple` is a new tuple with `paths.len()` empty slots; PyTuple_SetItem
            // STEALS the reference to `name` (even when it fails), hence `into_raw`.
            if unsafe { pyo3_ffi::PyTuple_SetItem(tuple.as_ptr(), i as pyo3_ffi::Py_ssize_t, name.into_raw()) } < 0 {
                return Err(PyErrSet::fetched());
            }
        }
        Ok(tuple.into_raw())
    })
}

pub const PATH_DOC: &std::ffi::CStr = c"_simd_path($module, /)
--

The SIMD path the kernels use now: 'avx512', 'avx2' or 'scalar'. Test-only.";

/// `METH_NOARGS`.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn simd_path(_module: *mut PyObject, _unused: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || Ok(str_from(py, simd::current().name())?.into_raw()))
}

pub const SET_PATH_DOC: &std::ffi::CStr = c"_set_simd_path($module, name, /)
--

Use the SIMD path `name` from now on (process-wide) and return the previous
one. ValueError if the name is unknown or this CPU lacks the instructions.
Test-only: the supported way to choose is RAWCAPI_SIMD at import.";

/// `METH_O`: `name` is a borrowed reference.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn set_simd_path(_module: *mut PyObject, name: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        // SAFETY: `name` valid (borrowed), GIL held.
        if unsafe { pyo3_ffi::PyUnicode_Check(name) } == 0 {
            let type_name = unsafe { type_name(py, name) };
            return Err(raise(py, Exc::TypeError, &format!("_set_simd_path() argument must be str, not '{type_name}'")));
        }
        // SAFETY: a str (borrowed), GIL held; UnicodeEncodeError set for a lone surrogate.
        let text = unsafe { utf8_string(py, name) }?;
        let path = simd::resolve(&text).map_err(|e| raise(py, Exc::ValueError, &e.0))?;
        let previous = simd::force(path).map_err(|e| raise(py, Exc::ValueError, &e.0))?;
        Ok(str_from(py, previous.name())?.into_raw())
    })
}

//! `get_include() -> str`: the folder holding `rawcapi.h`, for C extensions that use rawcapi's
//! C API (src/capsule.rs) — the counterpart of `numpy.get_include()`.
//!
//! rawcapi is one extension module, not a package, so the header cannot sit inside it. It is
//! installed beside it instead, as the data-only package `rawcapi_include` (setup.py), and in a
//! source checkout it is the repository's `include/`, next to the in-place build.

use std::path::{Path, PathBuf};

use pyo3_ffi::PyObject;

use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc, PyResult};
use crate::capi::object::{str_from, Owned};
use crate::capi::panic;
use crate::capi::strings::utf8_string;

pub const DOC: &std::ffi::CStr = c"get_include($module, /)
--

Return the directory that contains rawcapi.h, the header of rawcapi's C API
(the capsule rawcapi._C_API). Pass it to the C compiler: -I<dir>, or
Extension(..., include_dirs=[rawcapi.get_include()]).";

/// Where the header may be, relative to the directory of the module's file, in order.
const CANDIDATES: [&str; 2] = ["rawcapi_include", "include"];

/// `METH_NOARGS`: `module` is the rawcapi module (borrowed).
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn get_include(module: *mut PyObject, _unused: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        // SAFETY: `module` is a module object (borrowed); GIL held.
        let file = unsafe { module_file(py, module) }?;
        let dir = Path::new(&file).parent().unwrap_or(Path::new("."));
        let found: Option<PathBuf> =
            CANDIDATES.iter().map(|c| dir.join(c)).find(|d| d.join("rawcapi.h").is_file());
        match found {
            Some(include) => Ok(str_from(py, &include.to_string_lossy())?.into_raw()),
            None => Err(raise(
                py,
                Exc::FileNotFoundError,
                &format!("rawcapi.h is in neither {}/rawcapi_include nor {}/include", dir.display(), dir.display()),
            )),
        }
    })
}

/// `module.__file__` as UTF-8 (`PyModule_GetFilenameObject`).
///
/// # Safety
/// `module` is a module object (borrowed); GIL held.
unsafe fn module_file(py: Python<'_>, module: *mut PyObject) -> PyResult<String> {
    // SAFETY: GIL held; returns a new reference to the str, or NULL with SystemError set.
    let name = unsafe { Owned::from_new(pyo3_ffi::PyModule_GetFilenameObject(module)) }?;
    // SAFETY: GIL held; `name` is a str, alive for the call.
    unsafe { utf8_string(py, name.as_ptr()) }
}

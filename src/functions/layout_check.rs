//! `_layout() -> list[tuple[str, int | None, int | None]]`: the layout check, from Python.
//!
//! Lists each `sizeof`/`offsetof` of `src/layout/` as `(name, C's value, Rust's value)`, so a
//! pytest run on any interpreter (and on the abi3 build) checks the very `.so` it imported.
//! Private: it exists for the tests.

use pyo3_ffi::PyObject;

use crate::capi::gil::Python;
use crate::capi::object::{int_from_u128, Owned};
use crate::capi::panic;
use crate::capi::error::{PyErrSet, PyResult};
use crate::layout::{c_view, rust_view};

pub const DOC: &std::ffi::CStr = c"_layout($module, /)
--

The layout check: [(name, size_or_offset_in_C, same_in_Rust)] for the structs
rawcapi shares with CPython, as Python.h (C compiler) and pyo3-ffi (Rust) see
them. None where one side lacks the entry. All pairs must be equal.";

/// `METH_NOARGS`: CPython passes NULL as the second argument.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn layout(_module: *mut PyObject, _unused: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        let c = c_view();
        let rust = rust_view();
        let mut names: Vec<&str> = c.iter().map(|(n, _)| n.as_str()).collect();
        names.extend(rust.iter().map(|(n, _)| n.as_str()).filter(|n| !c.iter().any(|(m, _)| m == n)));
        let lookup = |list: &[(String, usize)], name: &str| list.iter().find(|(n, _)| n == name).map(|&(_, v)| v);
        // SAFETY: GIL held. PyList_New returns a new reference (NULL on MemoryError).
        let list = unsafe { Owned::from_new(pyo3_ffi::PyList_New(0)) }?;
        for name in names {
            let row = row(py, name, lookup(&c, name), lookup(&rust, name))?;
            // SAFETY: GIL held; PyList_Append borrows both `list` and `row` (adds its own reference).
            if unsafe { pyo3_ffi::PyList_Append(list.as_ptr(), row.as_ptr()) } < 0 {
                return Err(PyErrSet::fetched());
            }
        }
        Ok(list.into_raw())
    })
}

/// `(name, c, rust)` as a new tuple.
fn row(py: Python<'_>, name: &str, c: Option<usize>, rust: Option<usize>) -> PyResult<Owned> {
    // SAFETY: GIL held; `name` is valid UTF-8 of the given length. New reference.
    let name = unsafe { Owned::from_new(pyo3_ffi::PyUnicode_FromStringAndSize(name.as_ptr().cast(), name.len() as isize)) }?;
    let (c, rust) = (int_or_none(py, c)?, int_or_none(py, rust)?);
    // SAFETY: GIL held; PyTuple_Pack borrows its arguments (adds a reference to each) and
    // returns a new reference.
    unsafe { Owned::from_new(pyo3_ffi::PyTuple_Pack(3, name.as_ptr(), c.as_ptr(), rust.as_ptr())) }
}

fn int_or_none(py: Python<'_>, value: Option<usize>) -> PyResult<Owned> {
    match value {
        Some(v) => int_from_u128(py, v as u128),
        None => Ok(crate::capi::object::none(py)),
    }
}

//! The C macros the limited API lacks, as functions that are the macro in the full-API build and
//! the limited API's exported function in the abi3 build (docs/08-abi.md).
//!
//! The macros (`PyTuple_GET_ITEM`, `PyList_SET_ITEM`, `PySequence_Fast_ITEMS` ...) read and write
//! the object's struct directly; the limited API hides those structs, so the abi3 build calls the
//! checked functions instead (`PyTuple_GetItem`, `PyList_SetItem` ...): one call and one type
//! check each, the same references borrowed or stolen. The call sites stay the same in both
//! builds: only this file has `#[cfg(Py_LIMITED_API)]`.

use std::borrow::Cow;

use pyo3_ffi::PyObject;

use crate::capi::error::PyResult;
use crate::capi::object::Owned;

/// `PyTuple_GET_SIZE(tuple)` / `PyTuple_Size(tuple)`.
///
/// # Safety
/// `tuple` is a tuple (borrowed); GIL held.
pub unsafe fn tuple_len(tuple: *mut PyObject) -> isize {
    // SAFETY: forwarded from the caller; neither form can fail for a tuple.
    unsafe {
        #[cfg(not(Py_LIMITED_API))]
        return pyo3_ffi::PyTuple_GET_SIZE(tuple);
        #[cfg(Py_LIMITED_API)]
        return pyo3_ffi::PyTuple_Size(tuple);
    }
}

/// `PyTuple_GET_ITEM(tuple, i)` / `PyTuple_GetItem(tuple, i)`: a *borrowed* reference.
///
/// # Safety
/// `tuple` is a tuple (borrowed), `0 <= i < len`; GIL held.
pub unsafe fn tuple_item(tuple: *mut PyObject, i: isize) -> *mut PyObject {
    // SAFETY: forwarded; with `i` in range neither form fails.
    unsafe {
        #[cfg(not(Py_LIMITED_API))]
        return pyo3_ffi::PyTuple_GET_ITEM(tuple, i);
        #[cfg(Py_LIMITED_API)]
        return pyo3_ffi::PyTuple_GetItem(tuple, i);
    }
}

/// `PyTuple_SET_ITEM` / `PyTuple_SetItem`: fill slot `i` of a new tuple. *Steals* `item`.
///
/// # Safety
/// `tuple` is a tuple just made by `PyTuple_New` (nothing else has seen it), `0 <= i < len`,
/// and slot `i` is empty; GIL held.
pub unsafe fn tuple_fill(tuple: *mut PyObject, i: isize, item: Owned) {
    // SAFETY: forwarded. The function form checks the type and index (both fine here) and
    // would DECREF an old item (there is none).
    unsafe {
        #[cfg(not(Py_LIMITED_API))]
        pyo3_ffi::PyTuple_SET_ITEM(tuple, i, item.into_raw());
        #[cfg(Py_LIMITED_API)]
        pyo3_ffi::PyTuple_SetItem(tuple, i, item.into_raw());
    }
}

/// `PyList_SET_ITEM` / `PyList_SetItem`: fill slot `i` of a new list. *Steals* `item`.
///
/// # Safety
/// As for [`tuple_fill`], with a list from `PyList_New(n)`.
pub unsafe fn list_fill(list: *mut PyObject, i: isize, item: Owned) {
    // SAFETY: as in `tuple_fill`.
    unsafe {
        #[cfg(not(Py_LIMITED_API))]
        pyo3_ffi::PyList_SET_ITEM(list, i, item.into_raw());
        #[cfg(Py_LIMITED_API)]
        pyo3_ffi::PyList_SetItem(list, i, item.into_raw());
    }
}

/// The items of a `PySequence_Fast` result (a list or tuple), as *borrowed* references.
///
/// Full API: `PySequence_Fast_ITEMS`, the object's own item array, no copy. Limited API: the
/// pointers collected one by one (`PyList_GetItem`/`PyTuple_GetItem`, borrowed) into a vector
/// as long as the sequence, so its allocation is fallible: MemoryError, not an abort.
///
/// # Safety
/// `seq` is a list or tuple, alive and unmodified while the result is used; GIL held.
pub unsafe fn fast_items<'a>(py: crate::capi::gil::Python<'_>, seq: *mut PyObject) -> PyResult<Cow<'a, [*mut PyObject]>> {
    // SAFETY (whole body): forwarded from the caller.
    unsafe {
        #[cfg(not(Py_LIMITED_API))]
        {
            let _ = py; // nothing to allocate, so no error to raise
            let n = pyo3_ffi::PySequence_Fast_GET_SIZE(seq) as usize;
            if n == 0 {
                return Ok(Cow::Borrowed(&[]));
            }
            Ok(Cow::Borrowed(std::slice::from_raw_parts(pyo3_ffi::PySequence_Fast_ITEMS(seq), n)))
        }
        #[cfg(Py_LIMITED_API)]
        {
            let is_list = pyo3_ffi::PyList_Check(seq) != 0;
            let n = if is_list { pyo3_ffi::PyList_Size(seq) } else { pyo3_ffi::PyTuple_Size(seq) };
            let get = if is_list { pyo3_ffi::PyList_GetItem } else { pyo3_ffi::PyTuple_GetItem };
            let mut items = Vec::new();
            items.try_reserve_exact(n.max(0) as usize).map_err(|_| crate::capi::error::no_memory(py))?;
            items.extend((0..n).map(|i| get(seq, i)));
            Ok(Cow::Owned(items))
        }
    }
}

/// `PyComplex_AsCComplex(obj)` as `(real, imag)`: a complex as is; else `obj.__complex__()`;
/// else `(float(obj), 0.0)` — TypeError for what is none of these.
///
/// The limited API has no `Py_complex` struct, so the abi3 build follows the same three steps
/// with `PyComplex_RealAsDouble`/`ImagAsDouble`, `complex(obj)` and `PyFloat_AsDouble`.
///
/// # Safety
/// `obj` valid (borrowed); GIL held.
pub unsafe fn complex_parts(obj: *mut PyObject) -> PyResult<(f64, f64)> {
    use crate::capi::error::PyErrSet;
    // SAFETY (whole body): GIL held, `obj` valid. All calls borrow `obj`.
    unsafe {
        #[cfg(not(Py_LIMITED_API))]
        {
            let c = pyo3_ffi::PyComplex_AsCComplex(obj);
            if c.real == -1.0 && !pyo3_ffi::PyErr_Occurred().is_null() {
                return Err(PyErrSet::fetched());
            }
            Ok((c.real, c.imag))
        }
        #[cfg(Py_LIMITED_API)]
        {
            let parts = |c: *mut PyObject| (pyo3_ffi::PyComplex_RealAsDouble(c), pyo3_ffi::PyComplex_ImagAsDouble(c));
            if pyo3_ffi::PyComplex_Check(obj) != 0 {
                return Ok(parts(obj));
            }
            // Py_TYPE is borrowed; the lookup is on the type, as CPython looks up special methods.
            let ty = pyo3_ffi::Py_TYPE(obj).cast::<PyObject>();
            if pyo3_ffi::PyObject_HasAttrString(ty, c"__complex__".as_ptr()) != 0 {
                // complex(obj): PyObject_CallFunctionObjArgs borrows its arguments (the list ends
                // with NULL) and returns a new reference, or NULL with the __complex__ error set.
                let complex_type = (&raw mut pyo3_ffi::PyComplex_Type).cast::<PyObject>();
                let c = Owned::from_new(pyo3_ffi::PyObject_CallFunctionObjArgs(complex_type, obj, std::ptr::null_mut::<PyObject>()))?;
                return Ok(parts(c.as_ptr()));
            }
            let real = pyo3_ffi::PyFloat_AsDouble(obj);
            if real == -1.0 && !pyo3_ffi::PyErr_Occurred().is_null() {
                return Err(PyErrSet::fetched());
            }
            Ok((real, 0.0))
        }
    }
}

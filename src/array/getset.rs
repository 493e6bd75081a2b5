//! Attributes computed on access: a `PyGetSetDef` table (`Py_tp_getset`).
//!
//! ```c
//! static PyGetSetDef Array_getset[] = {
//!     {"shape", (getter)Array_get_shape, (setter)Array_set_shape, "doc", NULL},
//!     ...
//!     {NULL}
//! };
//! ```
//!
//! Each getter receives `self` (borrowed) and returns a new reference.

use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use pyo3_ffi::{PyGetSetDef, PyObject};

use super::object::{new_view, ArrayObject, Pin};
use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc, PyResult};
use crate::capi::object::Owned;
use crate::capi::panic;
use crate::kernels::array::reshape;

/// A tuple of Python ints (new reference).
pub fn int_tuple<T: Copy + Into<i64>>(_py: Python<'_>, values: &[T]) -> PyResult<Owned> {
    // SAFETY: attached (the token); PyTuple_New returns a new reference.
    let tuple = unsafe { Owned::from_new(pyo3_ffi::PyTuple_New(values.len() as isize)) }?;
    for (i, &v) in values.iter().enumerate() {
        // SAFETY: new reference, or NULL with MemoryError set.
        let item = unsafe { Owned::from_new(pyo3_ffi::PyLong_FromLongLong(v.into())) }?;
        // SAFETY: PyTuple_SET_ITEM *steals* the item's reference; the slot is empty (fresh tuple).
        unsafe { crate::capi::compat::tuple_fill(tuple.as_ptr(), i as isize, item) };
    }
    Ok(tuple)
}

fn size_i64(n: usize) -> i64 {
    n as i64
}

fn int(_py: Python<'_>, value: i64) -> PyResult<*mut PyObject> {
    // SAFETY: attached (the token); new reference or NULL with an exception set.
    unsafe { Owned::from_new(pyo3_ffi::PyLong_FromLongLong(value)) }.map(Owned::into_raw)
}

/// A getter body: `self` is an Array (borrowed), pinned while the body reads it.
///
/// # Safety
/// Called from a getter that CPython called (attached) on an Array.
unsafe fn getter(obj: *mut PyObject, body: impl FnOnce(Python<'_>, &Pin) -> PyResult<*mut PyObject>) -> *mut PyObject {
    // SAFETY: the caller is a getter CPython called attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: getters of this type are only called with instances of it.
        body(py, &unsafe { ArrayObject::from_ptr(obj) }.pin())
    })
}

unsafe extern "C" fn get_shape(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: see `getter`.
    unsafe { getter(obj, |py, a| Ok(int_tuple(py, &a.shape().iter().map(|&n| size_i64(n)).collect::<Vec<_>>())?.into_raw())) }
}

/// `a.shape = (...)`: change the shape in place. Allowed only when it needs no copy (as NumPy),
/// and refused while the buffer is exported.
unsafe extern "C" fn set_shape(obj: *mut PyObject, value: *mut PyObject, _closure: *mut c_void) -> c_int {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, -1, || {
        // SAFETY: a setter of this type: `obj` is an Array.
        let a = unsafe { ArrayObject::from_ptr(obj) };
        if value.is_null() {
            return Err(raise(py, Exc::AttributeError, "cannot delete array shape"));
        }
        // The size never changes (every new layout has the same), so it can be read before the
        // new shape is parsed, which may run the user's `__index__`.
        let size = a.pin().size();
        // SAFETY: `value` borrowed, GIL held.
        let shape = unsafe { super::construct::parse_reshape(py, value, size) }?;
        // Read the layout, derive the new strides from it, write: one step under the Array's
        // critical section, so two threads setting the shape at once (free-threaded build)
        // cannot both read the old layout before either writes. No Python code runs inside.
        // SAFETY: `obj` is this setter's `self`, alive for the call.
        unsafe {
            py.critical_section(obj, || {
                let strides = {
                    let now = a.pin();
                    reshape::nocopy_strides(now.shape(), now.strides(), &shape, a.dtype().itemsize())
                }
                .ok_or_else(|| {
                    raise(py, Exc::AttributeError, "Incompatible shape for in-place modification. Use `.reshape()` to make a copy with the desired shape.")
                })?;
                a.set_layout(py, &shape, &strides)
            })
        }?;
        Ok(0)
    })
}

unsafe extern "C" fn get_strides(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: see `getter`.
    unsafe { getter(obj, |py, a| Ok(int_tuple(py, &a.strides().iter().map(|&s| s as i64).collect::<Vec<_>>())?.into_raw())) }
}

unsafe extern "C" fn get_ndim(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: see `getter`.
    unsafe { getter(obj, |py, a| int(py, a.ndim() as i64)) }
}

unsafe extern "C" fn get_size(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: see `getter`.
    unsafe { getter(obj, |py, a| int(py, a.size() as i64)) }
}

unsafe extern "C" fn get_itemsize(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: see `getter`.
    unsafe { getter(obj, |py, a| int(py, a.array().dtype().itemsize() as i64)) }
}

unsafe extern "C" fn get_nbytes(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: see `getter`.
    unsafe { getter(obj, |py, a| int(py, a.nbytes() as i64)) }
}

unsafe extern "C" fn get_dtype(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: see `getter`.
    unsafe {
        getter(obj, |_py, a| {
            let name = a.array().dtype().name();
            // SAFETY: a valid UTF-8 buffer of `len` bytes; returns a new str.
            Owned::from_new(pyo3_ffi::PyUnicode_FromStringAndSize(name.as_ptr().cast(), name.len() as isize)).map(Owned::into_raw)
        })
    }
}

/// `a.base`: the Array whose memory this one views, the exporter of a `frombuffer` Array, or None.
unsafe extern "C" fn get_base(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: see `getter`.
    unsafe {
        getter(obj, |_py, a| {
            let base = a.array().base_object();
            // Py_NewRef: the getter returns a new reference; None is returned the same way.
            Ok(crate::capi::object::new_ref(if base.is_null() { pyo3_ffi::Py_None() } else { base }))
        })
    }
}

/// `a.T`: the dimensions reversed, as a view.
unsafe extern "C" fn get_t(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: see `getter`.
    unsafe {
        getter(obj, |py, a| {
            let shape: Vec<usize> = a.shape().iter().rev().copied().collect();
            let strides: Vec<isize> = a.strides().iter().rev().copied().collect();
            // SAFETY: the same elements, addressed in another order.
            Ok(new_view(py, a.array(), a.data(), &shape, &strides)?.into_raw())
        })
    }
}

/// `a.flags`-like detail NumPy users look at most: C-contiguity.
unsafe extern "C" fn get_c_contiguous(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: see `getter`.
    unsafe { getter(obj, |_py, a| Ok(pyo3_ffi::PyBool_FromLong(a.is_c_contiguous() as _))) }
}

unsafe extern "C" fn get_writable(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: see `getter`.
    unsafe { getter(obj, |_py, a| Ok(pyo3_ffi::PyBool_FromLong(a.array().is_writable() as _))) }
}

const fn entry(
    name: &'static CStr,
    get: pyo3_ffi::getter,
    set: Option<pyo3_ffi::setter>,
    doc: &'static CStr,
) -> PyGetSetDef {
    PyGetSetDef { name: name.as_ptr(), get: Some(get), set, doc: doc.as_ptr(), closure: ptr::null_mut() }
}

/// The table (`Py_tp_getset`), ended by a zeroed sentinel, as a list the compiler counts
/// (src/capi/table.rs). `GETSET` is `static mut` because the slot takes a `*mut`; CPython reads
/// it when it builds the type and never writes it.
const GETSET_LIST: &[PyGetSetDef] = &[
    entry(c"shape", get_shape, Some(set_shape), c"Tuple of dimension lengths. Assignable when no copy is needed."),
    entry(c"strides", get_strides, None, c"Tuple of bytes to step in each dimension."),
    entry(c"ndim", get_ndim, None, c"Number of dimensions."),
    entry(c"size", get_size, None, c"Number of elements."),
    entry(c"itemsize", get_itemsize, None, c"Bytes per element."),
    entry(c"nbytes", get_nbytes, None, c"size * itemsize."),
    entry(c"dtype", get_dtype, None, c"The element type's name, e.g. 'float64'."),
    entry(c"base", get_base, None, c"The object whose memory this Array views, or None."),
    entry(c"T", get_t, None, c"The transposed view (dimensions reversed)."),
    entry(c"c_contiguous", get_c_contiguous, None, c"True when the elements are packed in C order."),
    entry(c"writable", get_writable, None, c"False for a view of a read-only exporter."),
    PyGetSetDef { name: ptr::null(), get: None, set: None, doc: ptr::null(), closure: ptr::null_mut() },
];
pub static mut GETSET: [PyGetSetDef; GETSET_LIST.len()] = crate::capi::table::table(GETSET_LIST);

//! Indexing: `len(a)`, `a[key]`, `a[key] = value` (the mapping protocol), and `a[i]` through
//! the sequence protocol for iteration.
//!
//! A key is an int, a slice, `...`, `None`, or a tuple of those — NumPy's basic indexing. The
//! selection is computed as a new (data pointer, shape, strides) over the same memory: a slice
//! `start:stop:step` of a dimension moves the pointer by `start * stride` and multiplies the
//! stride by `step`; an int moves the pointer and drops the dimension; `None` inserts a length-1
//! dimension. When every dimension is taken by an int the result is a Python scalar, otherwise
//! an Array view whose `base` keeps the memory alive.

use std::ffi::c_int;
use std::ptr;

use pyo3_ffi::{PyObject, Py_ssize_t};

use super::construct::{copy_view, from_object};
use super::object::{new_array, new_view, shape_text, ArrayObject, Pin};
use super::scalar::{store_python, to_python};
use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc, PyErrSet, PyResult};
use crate::capi::object::{type_name, Owned};
use crate::capi::panic;
use crate::kernels::array::broadcast::{broadcast_strides, check_output_shape};
use crate::kernels::array::copy::copy_cast_paced;
use crate::kernels::array::view::{may_overlap, ArrayView, ArrayViewMut};

/// A selection of an Array's elements: where they start and how to step through them.
pub struct Selection {
    pub data: *mut u8,
    pub shape: Vec<usize>,
    pub strides: Vec<isize>,
    /// Every dimension was taken by an integer: the result is one element.
    pub scalar: bool,
}

enum Item {
    Int(isize),
    Slice(*mut PyObject),
    Ellipsis,
    NewAxis,
}

const INVALID_INDEX: &str = "only integers, slices (`:`), ellipsis (`...`) and None are valid indices";

unsafe fn classify(py: Python<'_>, obj: *mut PyObject) -> PyResult<Item> {
    // SAFETY (whole body): `obj` valid (borrowed), GIL held.
    unsafe {
        if obj == pyo3_ffi::Py_Ellipsis() {
            return Ok(Item::Ellipsis);
        }
        if obj == pyo3_ffi::Py_None() {
            return Ok(Item::NewAxis);
        }
        if pyo3_ffi::PySlice_Check(obj) != 0 {
            return Ok(Item::Slice(obj));
        }
        // bool is an int subclass, but NumPy reads a bool index as a mask; refuse it rather
        // than silently treating True as 1.
        if pyo3_ffi::PyBool_Check(obj) == 0 && pyo3_ffi::PyIndex_Check(obj) != 0 {
            // Out-of-range Python ints become IndexError (the exception argument).
            let i = pyo3_ffi::PyNumber_AsSsize_t(obj, pyo3_ffi::PyExc_IndexError);
            if i == -1 && !pyo3_ffi::PyErr_Occurred().is_null() {
                return Err(PyErrSet::fetched());
            }
            return Ok(Item::Int(i));
        }
        Err(raise(py, Exc::IndexError, &format!("{INVALID_INDEX}; got '{}'", type_name(py, obj))))
    }
}

/// Resolve `key` against `a`'s layout.
///
/// # Safety
/// `key` valid (borrowed); GIL held.
pub unsafe fn select(py: Python<'_>, a: &Pin, key: *mut PyObject) -> PyResult<Selection> {
    // SAFETY (whole body): GIL held; tuple items are borrowed from `key`, alive for the call.
    unsafe {
        let mut items = Vec::new();
        if pyo3_ffi::PyTuple_Check(key) != 0 {
            // As long as the caller's tuple: MemoryError, not an abort, when that is too long.
            let len = crate::capi::compat::tuple_len(key);
            items.try_reserve_exact(len.max(0) as usize).map_err(|_| crate::capi::error::no_memory(py))?;
            for i in 0..len {
                items.push(classify(py, crate::capi::compat::tuple_item(key, i))?);
            }
        } else {
            items.push(classify(py, key)?);
        }
        select_items(py, a, &items)
    }
}

fn select_items(py: Python<'_>, a: &Pin, items: &[Item]) -> PyResult<Selection> {
    let ndim = a.ndim();
    let ellipses = items.iter().filter(|i| matches!(i, Item::Ellipsis)).count();
    if ellipses > 1 {
        return Err(raise(py, Exc::IndexError, "an index can only have a single ellipsis ('...')"));
    }
    let consumed = items.iter().filter(|i| matches!(i, Item::Int(_) | Item::Slice(_))).count();
    if consumed > ndim {
        return Err(raise(
            py,
            Exc::IndexError,
            &format!("too many indices for array: array is {ndim}-dimensional, but {consumed} were indexed"),
        ));
    }
    let (shape, strides) = (a.shape(), a.strides());
    let mut data = a.data();
    let mut out_shape = Vec::with_capacity(ndim);
    let mut out_strides = Vec::with_capacity(ndim);
    let mut dim = 0;
    let mut all_ints = ellipses == 0;
    for item in items {
        match *item {
            Item::Int(i) => {
                let n = shape[dim] as isize;
                let k = if i < 0 { i + n } else { i };
                if k < 0 || k >= n {
                    return Err(raise(py, Exc::IndexError, &format!("index {i} is out of bounds for axis {dim} with size {n}")));
                }
                data = data.wrapping_offset(k * strides[dim]);
                dim += 1;
            }
            Item::Slice(slice) => {
                all_ints = false;
                let (mut start, mut stop, mut step): (Py_ssize_t, Py_ssize_t, Py_ssize_t) = (0, 0, 0);
                // SAFETY: `slice` is a slice object; PySlice_Unpack clamps huge values and
                // raises ValueError for a zero step.
                if unsafe { pyo3_ffi::PySlice_Unpack(slice, &mut start, &mut stop, &mut step) } < 0 {
                    return Err(PyErrSet::fetched());
                }
                // SAFETY: plain arithmetic on the unpacked values (no object involved).
                let len = unsafe { pyo3_ffi::PySlice_AdjustIndices(shape[dim] as isize, &mut start, &mut stop, step) };
                // An empty slice keeps the dimension's stride and the pointer, as NumPy does
                // (step 1 from start 0), so nothing points outside the original elements.
                if len > 0 {
                    data = data.wrapping_offset(start * strides[dim]);
                } else {
                    step = 1;
                }
                out_shape.push(len as usize);
                out_strides.push(strides[dim] * step);
                dim += 1;
            }
            Item::NewAxis => {
                all_ints = false;
                out_shape.push(1);
                out_strides.push(0);
            }
            Item::Ellipsis => {
                let keep = ndim - consumed;
                out_shape.extend_from_slice(&shape[dim..dim + keep]);
                out_strides.extend_from_slice(&strides[dim..dim + keep]);
                dim += keep;
            }
        }
    }
    out_shape.extend_from_slice(&shape[dim..]);
    out_strides.extend_from_slice(&strides[dim..]);
    if out_shape.len() > crate::kernels::array::view::MAX_NDIM {
        return Err(raise(py, Exc::IndexError, "too many dimensions after inserting None (at most 32)"));
    }
    Ok(Selection { data, shape: out_shape, strides: out_strides, scalar: all_ints && consumed == ndim })
}

/// `mp_length`: `len(a)` is the first dimension; a 0-d Array has no length.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn mp_length(obj: *mut PyObject) -> Py_ssize_t {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, -1, || {
        // SAFETY: a slot of the Array type: `obj` is an Array.
        let a = unsafe { ArrayObject::from_ptr(obj) }.pin();
        match a.shape().first() {
            Some(&n) => Ok(n as Py_ssize_t),
            None => Err(raise(py, Exc::TypeError, "len() of unsized object")),
        }
    })
}

unsafe fn selection_result(py: Python<'_>, a: &Pin, sel: Selection) -> PyResult<*mut PyObject> {
    // SAFETY: the selection addresses elements of `a`, which is alive (borrowed `self`).
    unsafe {
        if sel.scalar {
            Ok(to_python(py, a.array().dtype(), sel.data)?.into_raw())
        } else {
            Ok(new_view(py, a.array(), sel.data, &sel.shape, &sel.strides)?.into_raw())
        }
    }
}

/// `mp_subscript`: `a[key]`, a new reference.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn mp_subscript(obj: *mut PyObject, key: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: `obj` is an Array (slot); `key` borrowed; GIL held.
        // Pinned from before the key is read (its `__index__` may run Python code) until the
        // result is made, so the selection and the layout it was computed from agree.
        unsafe {
            let a = ArrayObject::from_ptr(obj).pin();
            let sel = select(py, &a, key)?;
            // Under the Array's critical section, as `a[key] = value` writes: on a
            // free-threaded build an element read through this Array never sees half of a
            // write made through it (a complex128 is two 8-byte halves).
            py.critical_section(obj, || selection_result(py, &a, sel))
        }
    })
}

/// `sq_item`: `a[i]` for the sequence protocol (iteration). CPython's fallback iterator calls
/// it with 0, 1, 2, ... and stops at IndexError.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn sq_item(obj: *mut PyObject, i: Py_ssize_t) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: `obj` is an Array (slot); GIL held.
        unsafe {
            let a = ArrayObject::from_ptr(obj).pin();
            if a.ndim() == 0 {
                return Err(raise(py, Exc::TypeError, "iteration over a 0-d array"));
            }
            let sel = select_items(py, &a, &[Item::Int(i)])?;
            // Under the critical section, as in `mp_subscript`.
            py.critical_section(obj, || selection_result(py, &a, sel))
        }
    })
}

/// `mp_ass_subscript`: `a[key] = value` (`value` NULL means `del a[key]`, which is refused).
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn mp_ass_subscript(obj: *mut PyObject, key: *mut PyObject, value: *mut PyObject) -> c_int {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, -1, || {
        // SAFETY: `obj` is an Array (slot); `key`, `value` borrowed; GIL held.
        unsafe {
            if value.is_null() {
                return Err(raise(py, Exc::ValueError, "cannot delete array elements"));
            }
            // Pinned until the value is written: reading the key and the value may run Python
            // code, and the copy may run with the GIL released.
            let a = ArrayObject::from_ptr(obj).pin();
            a.view_mut(py)?; // read-only check first, as NumPy does
            let sel = select(py, &a, key)?;
            let dst = ArrayViewMut { data: sel.data, dtype: a.array().dtype(), shape: &sel.shape, strides: &sel.strides };
            // Written under the Array's critical section (a no-op with a GIL): two threads
            // assigning through the same Array take turns, and `a[key]` never reads an element
            // half-written. A copy large enough to release the GIL suspends the section while
            // it runs (docs/08 §4), as every critical section is suspended while its thread is
            // detached.
            py.critical_section(obj, || assign(py, &a, dst, value))?;
            Ok(0)
        }
    })
}

/// Write `value` (an Array, anything `Array()` accepts, or a number) into `dst`, broadcasting it
/// to `dst`'s shape and converting it to `dst`'s dtype. When `value`'s memory overlaps `dst`
/// (`a[1:] = a[:-1]`), it is copied first, so the result is as if the value were read whole
/// before anything is written — NumPy's semantics.
///
/// # Safety
/// `dst` addresses writable elements of `owner`, which stays pinned for the call; `value` valid
/// (borrowed); GIL held.
pub unsafe fn assign(py: Python<'_>, owner: &Pin, dst: ArrayViewMut, value: *mut PyObject) -> PyResult<()> {
    // SAFETY (whole body): GIL held; every view read below belongs to an object this frame holds.
    unsafe {
        let ty = owner.array().type_ptr();
        // The GIL may be released while the copy reads both layouts: the source is pinned too.
        let temp: Owned;
        let src_pin = if let Some(v) = ArrayObject::downcast(value) {
            v.pin()
        } else if pyo3_ffi::PyObject_CheckBuffer(value) != 0 || pyo3_ffi::PySequence_Check(value) != 0 {
            temp = from_object(py, ty, value, None)?;
            ArrayObject::from_ptr(temp.as_ptr()).pin()
        } else {
            // One number, converted by NumPy's Python-scalar rules straight into dst's dtype.
            temp = new_array(py, ty, dst.dtype, &[])?;
            let pinned = ArrayObject::from_ptr(temp.as_ptr()).pin();
            store_python(py, value, dst.dtype, pinned.data())?;
            pinned
        };
        let src = src_pin.view();
        // NumPy lets a value carry extra leading length-1 dimensions (`a[0] = [x]`): drop them.
        let extra = src.shape.len().saturating_sub(dst.shape.len());
        let src = if extra > 0 && src.shape[..extra].iter().all(|&n| n == 1) {
            ArrayView { shape: &src.shape[extra..], strides: &src.strides[extra..], ..src }
        } else {
            src
        };
        // The value must broadcast to exactly dst's shape (dst is never stretched).
        check_output_shape(src.shape, dst.shape).map_err(|_| {
            raise(
                py,
                Exc::ValueError,
                &format!("could not broadcast input array from shape {} into shape {}", shape_text(src.shape), shape_text(dst.shape)),
            )
        })?;
        let strides = broadcast_strides(src.shape, src.strides, dst.shape);
        if may_overlap(&src, &dst.as_const()) {
            let copied = copy_view(py, ty, src, src.dtype)?;
            let c = ArrayObject::from_ptr(copied.as_ptr()).pin();
            let strides = broadcast_strides(c.shape(), c.strides(), dst.shape);
            return finish(py, ArrayView { data: c.data(), dtype: c.array().dtype(), shape: dst.shape, strides: &strides }, dst);
        }
        finish(py, ArrayView { data: src.data, dtype: src.dtype, shape: dst.shape, strides: &strides }, dst)
    }
}

fn finish(py: Python<'_>, src: ArrayView, dst: ArrayViewMut) -> PyResult<()> {
    let nbytes = dst.size() * dst.dtype.itemsize();
    // SAFETY: `src` and `dst` do not overlap (checked by the caller, or `src` is a fresh copy);
    // both owners are held by the calling frame, which waits for the copy. A stop means a signal
    // handler raised (exception set); `dst` keeps what was written, as after NumPy's interrupted
    // assignment.
    py.allow_threads_polling_above(nbytes, |poll| unsafe { copy_cast_paced(src, dst, poll) }).map_err(|_| PyErrSet::fetched())?;
    Ok(())
}

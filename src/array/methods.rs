//! The Array's methods (`Py_tp_methods`) and `repr` (`Py_tp_repr`).

use std::ffi::CStr;
use std::ptr;

use pyo3_ffi::{PyMethodDef, PyMethodDefPointer, PyObject};

use super::construct::{copy_view, frombuffer, parse_objects, parse_reshape, FROMBUFFER_DOC};
use super::object::{new_array, new_view, shape_text, ArrayObject, Pin};
use super::scalar::{parse_dtype, to_python};
use crate::capi::gil::Python;
use crate::capi::error::{no_memory, raise, Exc, PyErrSet, PyResult};
use crate::capi::object::Owned;
use crate::capi::panic;
use crate::kernels::array::dtype::DType;
use crate::kernels::array::reduce::{axis_sum_dtype, sum_all_paced, sum_axis_paced, Total};
use crate::kernels::array::reshape::nocopy_strides;
use crate::kernels::array::view::{self, ArrayView};

/// A method body: `self` is an Array (borrowed), pinned for the whole call — the body may run
/// Python code (an argument's `__index__`) and release the GIL, and reads one layout throughout.
///
/// # Safety
/// Called from a method that CPython called (attached) on an Array.
unsafe fn method(obj: *mut PyObject, body: impl FnOnce(Python<'_>, &Pin) -> PyResult<Owned>) -> *mut PyObject {
    // SAFETY: the caller is a method CPython called attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: methods of this type are only called with instances of it.
        Ok(body(py, &unsafe { ArrayObject::from_ptr(obj) }.pin())?.into_raw())
    })
}

const ASTYPE_DOC: &CStr = c"astype($self, dtype, /)
--

A copy converted to dtype, with NumPy's conversion results (float to int
truncates; NaN, inf and out-of-range values give what NumPy gives on x86-64,
e.g. int64 -> -9223372036854775808; complex to real drops the imaginary part).";

unsafe extern "C" fn astype(obj: *mut PyObject, dtype: *mut PyObject) -> *mut PyObject {
    // SAFETY: METH_O: `dtype` borrowed; GIL held.
    unsafe {
        method(obj, |py, a| {
            let dtype = parse_dtype(py, dtype)?.unwrap_or(DType::Float64);
            copy_view(py, a.array().type_ptr(), a.view(), dtype)
        })
    }
}

const COPY_DOC: &CStr = c"copy($self, /)
--

A C-contiguous copy that owns its memory.";

unsafe extern "C" fn copy(obj: *mut PyObject, _unused: *mut PyObject) -> *mut PyObject {
    // SAFETY: METH_NOARGS; GIL held.
    unsafe {
        method(obj, |py, a| {
            copy_view(py, a.array().type_ptr(), a.view(), a.array().dtype())
        })
    }
}

const TOLIST_DOC: &CStr = c"tolist($self, /)
--

The elements as nested lists of Python bool/int/float/complex (a 0-d Array
gives the scalar itself).";

/// Nested lists of Python scalars for the elements under `data` with this shape/strides.
unsafe fn to_list(py: Python<'_>, dtype: DType, data: *const u8, shape: &[usize], strides: &[isize]) -> PyResult<Owned> {
    // SAFETY (whole body): GIL held; `data` walks elements of a live Array.
    unsafe {
        let Some((&n, rest)) = shape.split_first() else {
            return to_python(py, dtype, data);
        };
        // Ctrl-C once per list, and every 4096 items of a long one: a large Array makes many
        // objects with the GIL held (a 1-D one is a single list).
        if pyo3_ffi::PyErr_CheckSignals() != 0 {
            return Err(PyErrSet::fetched());
        }
        let list = Owned::from_new(pyo3_ffi::PyList_New(n as isize))?;
        for i in 0..n {
            if i % 4096 == 4095 && pyo3_ffi::PyErr_CheckSignals() != 0 {
                return Err(PyErrSet::fetched());
            }
            let item = to_list(py, dtype, data.wrapping_offset(i as isize * strides[0]), rest, &strides[1..])?;
            // PyList_SET_ITEM steals the item's reference into the (empty) slot.
            crate::capi::compat::list_fill(list.as_ptr(), i as isize, item);
        }
        Ok(list)
    }
}

unsafe extern "C" fn tolist(obj: *mut PyObject, _unused: *mut PyObject) -> *mut PyObject {
    // SAFETY: METH_NOARGS; GIL held.
    unsafe {
        method(obj, |py, a| {
            // The walk checks for signals, and a handler may run Python code that sets
            // `a.shape`: the pin `method` holds makes that a BufferError instead of changing
            // the layout being read.
            // Under the critical section, so each element is read whole while another thread
            // assigns through this Array (free-threaded build).
            py.critical_section(obj, || to_list(py, a.array().dtype(), a.data(), a.shape(), a.strides()))
        })
    }
}

const RESHAPE_DOC: &CStr = c"reshape($self, *shape)
--

The same elements in C order under a new shape (ints or one tuple; one
dimension may be -1). A view when the strides allow it, else a copy.";

unsafe extern "C" fn reshape(obj: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: METH_VARARGS: `args` is a tuple (borrowed); GIL held.
    unsafe {
        method(obj, |py, a| {
            let spec = if crate::capi::compat::tuple_len(args) == 1 { crate::capi::compat::tuple_item(args, 0) } else { args };
            let shape = parse_reshape(py, spec, a.size())?;
            let itemsize = a.array().dtype().itemsize();
            if let Some(strides) = nocopy_strides(a.shape(), a.strides(), &shape, itemsize) {
                // SAFETY: the same elements under another layout.
                return new_view(py, a.array(), a.data(), &shape, &strides);
            }
            let copied = copy_view(py, a.array().type_ptr(), a.view(), a.array().dtype())?;
            let strides = view::c_strides(&shape, itemsize).expect("same byte size as the copy");
            // Nobody else has seen `copied`, so its layout can change in place.
            ArrayObject::from_ptr(copied.as_ptr()).set_layout(py, &shape, &strides)?;
            Ok(copied)
        })
    }
}

const SUM_DOC: &CStr = c"sum($self, /, axis=None)
--

With axis=None: the sum of all elements as a Python scalar (exact int for
bool and integer dtypes, never wrapping; float/complex in NumPy's pairwise
order). With an int axis: an Array without that axis; integer and bool input
sums in int64 (NumPy sums uint8 into uint64), floats keep their dtype.";

/// A Python int from an `i128` (new reference).
fn int_from_i128(_py: Python<'_>, v: i128) -> PyResult<Owned> {
    if let Ok(small) = i64::try_from(v) {
        // SAFETY: GIL held; new reference or NULL.
        return unsafe { Owned::from_new(pyo3_ffi::PyLong_FromLongLong(small)) };
    }
    let digits = std::ffi::CString::new(v.to_string()).expect("digits contain no NUL");
    // SAFETY: GIL held; a NUL-terminated decimal string; new reference.
    unsafe { Owned::from_new(pyo3_ffi::PyLong_FromString(digits.as_ptr(), ptr::null_mut(), 10)) }
}

unsafe extern "C" fn sum(obj: *mut PyObject, args: *mut PyObject, kwargs: *mut PyObject) -> *mut PyObject {
    // SAFETY: METH_VARARGS | METH_KEYWORDS; GIL held; arguments borrowed.
    unsafe {
        method(obj, |py, a| {
            let [axis] = parse_objects(args, kwargs, c"|O:sum", [c"axis"])?;
            let src: ArrayView = a.view();
            let nbytes = a.nbytes();
            if axis.is_null() || axis == pyo3_ffi::Py_None() {
                // SAFETY: `a` is alive for the call; the kernel only reads. A stop means a
                // signal handler raised: its exception is set.
                let total = py.allow_threads_polling_above(nbytes, |poll| sum_all_paced(src, poll)).map_err(|_| PyErrSet::fetched())?;
                return match total {
                    Total::Int(v) => int_from_i128(py, v),
                    Total::Float(x) => Owned::from_new(pyo3_ffi::PyFloat_FromDouble(x)),
                    Total::Complex(c) => Owned::from_new(pyo3_ffi::PyComplex_FromDoubles(c.re, c.im)),
                };
            }
            let k = pyo3_ffi::PyLong_AsLong(axis);
            if k == -1 && !pyo3_ffi::PyErr_Occurred().is_null() {
                return Err(PyErrSet::fetched());
            }
            let nd = a.ndim() as i64;
            let k = k as i64;
            if k < -nd || k >= nd {
                return Err(raise(py, Exc::ValueError, &format!("axis {k} is out of bounds for array of dimension {nd}")));
            }
            let axis = if k < 0 { k + nd } else { k } as usize;
            let out_shape: Vec<usize> = a.shape().iter().enumerate().filter(|&(d, _)| d != axis).map(|(_, &n)| n).collect();
            // Every element of the result is written by sum_axis.
            let out = new_array(py, a.array().type_ptr(), axis_sum_dtype(a.array().dtype()), &out_shape)?;
            let out_pin = ArrayObject::from_ptr(out.as_ptr()).pin();
            let dst = out_pin.view_mut(py)?;
            // SAFETY: `dst` is fresh memory; `a` stays alive for the call. On a stop (exception
            // set) the partly written result is dropped unseen.
            py.allow_threads_polling_above(nbytes, |poll| sum_axis_paced(src, axis, dst, poll)).map_err(|_| PyErrSet::fetched())?;
            Ok(out)
        })
    }
}

/// `static PyMethodDef Array_methods[]`, as a list the compiler counts (src/capi/table.rs).
const METHOD_LIST: &[PyMethodDef] = &[
    PyMethodDef {
        ml_name: c"astype".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: astype },
        ml_flags: pyo3_ffi::METH_O,
        ml_doc: ASTYPE_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"copy".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: copy },
        ml_flags: pyo3_ffi::METH_NOARGS,
        ml_doc: COPY_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"tolist".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: tolist },
        ml_flags: pyo3_ffi::METH_NOARGS,
        ml_doc: TOLIST_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"reshape".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: reshape },
        ml_flags: pyo3_ffi::METH_VARARGS,
        ml_doc: RESHAPE_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"sum".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionWithKeywords: sum },
        ml_flags: pyo3_ffi::METH_VARARGS | pyo3_ffi::METH_KEYWORDS,
        ml_doc: SUM_DOC.as_ptr(),
    },
    // METH_CLASS: called on the type (`Array.frombuffer(b)`), receiving the type as `self`.
    PyMethodDef {
        ml_name: c"frombuffer".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: frombuffer },
        ml_flags: pyo3_ffi::METH_O | pyo3_ffi::METH_CLASS,
        ml_doc: FROMBUFFER_DOC.as_ptr(),
    },
    PyMethodDef::zeroed(),
];
pub static mut METHODS: [PyMethodDef; METHOD_LIST.len()] = crate::capi::table::table(METHOD_LIST);

/// Above this many elements `repr` shows the first and last three of each long dimension.
const REPR_THRESHOLD: usize = 1000;
const EDGE: usize = 3;

/// `out.push_str(text)`, with MemoryError instead of an abort when `out` cannot grow: a repr's
/// length follows the Array's shape, which the caller chooses.
fn push(py: Python<'_>, out: &mut String, text: &str) -> PyResult<()> {
    out.try_reserve(text.len()).map_err(|_| no_memory(py))?;
    out.push_str(text);
    Ok(())
}

/// Append `repr()` of one element, as Python prints that scalar.
unsafe fn element_repr_into(py: Python<'_>, out: &mut String, dtype: DType, p: *const u8) -> PyResult<()> {
    // SAFETY: GIL held; `p` one element of a live Array; new references in Owned.
    unsafe {
        // Ctrl-C between elements: an unsummarised repr of a large Array takes a while, and it
        // runs with the GIL held. PyErr_CheckSignals runs the handlers; -1 means one raised.
        if pyo3_ffi::PyErr_CheckSignals() != 0 {
            return Err(PyErrSet::fetched());
        }
        let value = to_python(py, dtype, p)?;
        let text = Owned::from_new(pyo3_ffi::PyObject_Repr(value.as_ptr()))?;
        let mut size: pyo3_ffi::Py_ssize_t = 0;
        // Borrowed UTF-8 inside `text` (cached there), valid while `text` lives; NULL with an
        // exception set. A number's repr is ASCII.
        let utf8 = pyo3_ffi::PyUnicode_AsUTF8AndSize(text.as_ptr(), &mut size);
        if utf8.is_null() {
            return Err(PyErrSet::fetched());
        }
        let bytes = std::slice::from_raw_parts(utf8 as *const u8, size as usize);
        push(py, out, &String::from_utf8_lossy(bytes))
    }
}

/// Append the elements under `data` as nested lists, eliding the middle of every dimension
/// longer than `2 * EDGE` when `summarize`. Only the elements shown are visited, so the time is
/// that of the text, whatever the Array's size (a zero-stride view of 2^62 elements prints at
/// once).
unsafe fn repr_into(py: Python<'_>, out: &mut String, dtype: DType, data: *const u8, shape: &[usize], strides: &[isize], summarize: bool) -> PyResult<()> {
    let Some((&n, rest)) = shape.split_first() else {
        // SAFETY: one element of the Array (caller).
        return unsafe { element_repr_into(py, out, dtype, data) };
    };
    push(py, out, "[")?;
    let (head_end, tail_start) = if summarize && n > 2 * EDGE { (EDGE, n - EDGE) } else { (n, n) };
    for i in (0..head_end).chain(tail_start..n) {
        if i == tail_start && tail_start > head_end {
            push(py, out, "..., ")?;
        }
        // SAFETY: index i < n of this dimension.
        unsafe { repr_into(py, out, dtype, data.wrapping_offset(i as isize * strides[0]), rest, &strides[1..], summarize) }?;
        if i + 1 < n {
            push(py, out, ", ")?;
        }
    }
    push(py, out, "]")
}

/// `tp_repr`: `Array([1.0, 2.0], dtype='float64')` — the constructor call that rebuilds the
/// Array (`eval(repr(a))` works with `Array` in scope), like NumPy's `array([1., 2.])` but with
/// Python's own scalar reprs and the dtype always shown. Above 1000 elements, NumPy-style
/// summarising: `Array([0, 1, 2, ..., 9997, 9998, 9999], shape=(10000,), dtype='int64')`.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn tp_repr(obj: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: `obj` is an Array (slot); GIL held.
        let a = unsafe { ArrayObject::from_ptr(obj) }.pin();
        // Pinned: a signal handler run between elements must not change the layout (as in
        // `tolist`).
        let summarize = a.size() > REPR_THRESHOLD;
        // An empty Array of several dimensions prints as NumPy's does, `[]` and its shape: its
        // nested brackets would cost as much as its leading lengths multiply to, for no element
        // (`zeros((10**7, 0))` would be 40 MB of `[]`).
        let empty_nd = a.size() == 0 && a.ndim() > 1;
        let mut text = String::from("Array(");
        if empty_nd {
            text.push_str("[]");
        } else {
            // SAFETY: walks `a`'s own elements, under the Array's critical section (as
            // `tolist`); `obj` is the slot's live `self`.
            unsafe { py.critical_section(obj, || repr_into(py, &mut text, a.array().dtype(), a.data(), a.shape(), a.strides(), summarize)) }?;
        }
        if summarize || empty_nd {
            push(py, &mut text, &format!(", shape={}", shape_text(a.shape())))?;
        }
        push(py, &mut text, &format!(", dtype='{}')", a.array().dtype().name()))?;
        // SAFETY: GIL held; a UTF-8 buffer; new reference.
        unsafe { Owned::from_new(pyo3_ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), text.len() as isize)) }
            .map(Owned::into_raw)
    })
}

/// `nb_bool`: `bool(a)`, `if a:` — NumPy's rule: the truth of the one element of a size-1 Array;
/// ambiguous (ValueError) for empty and for larger Arrays. Without this slot CPython would fall
/// back to `len(a) != 0`, which is wrong for `[0]` and raises for 0-d Arrays.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn nb_bool(obj: *mut PyObject) -> std::ffi::c_int {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, -1, || {
        // SAFETY: a slot of the Array type: `obj` is an Array; GIL held.
        let a = unsafe { ArrayObject::from_ptr(obj) }.pin();
        match a.size() {
            0 => Err(raise(
                py,
                Exc::ValueError,
                "The truth value of an empty array is ambiguous. Use `array.size > 0` to check that an array is not empty.",
            )),
            1 => {
                // SAFETY: size 1: the only element is at index (0, ...), i.e. at `data`.
                let value = unsafe { to_python(py, a.array().dtype(), a.data()) }?;
                // SAFETY: a live bool/int/float/complex; returns 0/1, never -1 for these.
                Ok(unsafe { pyo3_ffi::PyObject_IsTrue(value.as_ptr()) })
            }
            n => Err(raise(
                py,
                Exc::ValueError,
                &format!("The truth value of an array with more than one element is ambiguous (size {n})"),
            )),
        }
    })
}

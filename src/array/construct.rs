//! Making Arrays: `Array(obj, dtype=None)` (`tp_new`), `Array.frombuffer(obj)`,
//! `rawcapi.zeros(shape, dtype='float64')`, `rawcapi.arange([start,] stop[, step], dtype=None)`.
//!
//! `Array(obj)` copies: an Array or any buffer-protocol object in whatever layout it exports
//! (negative and zero strides included), a nested sequence of numbers, or one number (0-d).
//! `frombuffer` does not copy: the new Array keeps the exporter's `Py_buffer` (and through
//! `view.obj` the exporter) until it is deallocated.

use std::ffi::{c_char, CStr};
use std::ptr;

use pyo3_ffi::{PyObject, PyTypeObject};

use super::object::{self, alloc_object, new_array, shape_text, too_big, ArrayObject, Memory};
use super::operand::{BufferArray, UnreadableBuffer};
use super::scalar::{default_dtype, parse_dtype, scalar_kind, store_python};
use crate::capi::gil::Python;
use crate::capi::buffer::Buffer;
use crate::capi::error::{clear_if, no_memory, raise, Exc, PyErrSet, PyResult};
use crate::capi::object::{type_name, Owned};
use crate::capi::panic;
use crate::kernels::array::arange::arange_fill_paced;
use crate::kernels::array::copy::copy_cast_paced;
use crate::kernels::array::dtype::{DType, PyScalarKind};
use crate::kernels::array::view::{ArrayView, MAX_NDIM};

/// `PyArg_ParseTupleAndKeywords(args, kwargs, format, kwlist, &o1, &o2, ...)` for formats made
/// only of `O` (optional ones stay NULL). `names` is the kwlist without its NULL terminator.
///
/// # Safety
/// `args` is a tuple and `kwargs` NULL or a dict (borrowed); GIL held; `format` has exactly `N`
/// `O` units. The objects returned are borrowed from `args`/`kwargs`.
pub unsafe fn parse_objects<const N: usize>(
    args: *mut PyObject,
    kwargs: *mut PyObject,
    format: &CStr,
    names: [&CStr; N],
) -> PyResult<[*mut PyObject; N]> {
    let mut kwlist: Vec<*mut c_char> = names.iter().map(|n| n.as_ptr() as *mut c_char).collect();
    kwlist.push(ptr::null_mut());
    let mut out = [ptr::null_mut::<PyObject>(); N];
    let o = out.as_mut_ptr();
    let f = format.as_ptr();
    let kw = kwlist.as_mut_ptr().cast();
    // SAFETY: the variadic arguments are N pointers to `PyObject *`, one per `O` in `format`;
    // "O" stores a borrowed reference. Returns 0 with an exception set on failure.
    let ok = unsafe {
        match N {
            1 => pyo3_ffi::PyArg_ParseTupleAndKeywords(args, kwargs, f, kw, o),
            2 => pyo3_ffi::PyArg_ParseTupleAndKeywords(args, kwargs, f, kw, o, o.add(1)),
            3 => pyo3_ffi::PyArg_ParseTupleAndKeywords(args, kwargs, f, kw, o, o.add(1), o.add(2)),
            4 => pyo3_ffi::PyArg_ParseTupleAndKeywords(args, kwargs, f, kw, o, o.add(1), o.add(2), o.add(3)),
            _ => unreachable!("parse_objects supports 1 to 4 arguments"),
        }
    };
    if ok == 0 {
        return Err(PyErrSet::fetched());
    }
    Ok(out)
}

/// `tp_new`: `Array(obj, dtype=None)`. `ty` is the Array type (not subclassable, so never a
/// subtype); returns a new reference.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn tp_new(ty: *mut PyTypeObject, args: *mut PyObject, kwargs: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: CPython passes the argument tuple and dict (or NULL); GIL held.
        let [obj, dtype] = unsafe { parse_objects(args, kwargs, c"O|O:Array", [c"obj", c"dtype"]) }?;
        // SAFETY: borrowed arguments, alive for the call.
        let dtype = unsafe { parse_dtype(py, dtype) }?;
        Ok(unsafe { from_object(py, ty, obj, dtype) }?.into_raw())
    })
}

/// A new Array holding a copy of `obj` (an Array, an exporter, a nested sequence or a number).
///
/// # Safety
/// `ty` is the Array type; `obj` valid (borrowed); GIL held.
pub unsafe fn from_object(py: Python<'_>, ty: *mut PyTypeObject, obj: *mut PyObject, dtype: Option<DType>) -> PyResult<Owned> {
    // SAFETY (whole body): GIL held, `obj` valid.
    unsafe {
        if let Some(a) = ArrayObject::downcast(obj) {
            return copy_view(py, ty, a.pin().view(), dtype.unwrap_or(a.dtype()));
        }
        if pyo3_ffi::PyObject_CheckBuffer(obj) != 0 {
            let source = BufferArray::request(py, obj, pyo3_ffi::PyBUF_RECORDS_RO)?.map_err(|e| refuse_buffer(py, e))?;
            return copy_view(py, ty, source.view(), dtype.unwrap_or(source.dtype));
        }
        if is_sequence(py, obj)? {
            return from_nested(py, ty, obj, dtype);
        }
        let Some(kind) = scalar_kind(py, obj)? else {
            return Err(raise(
                py,
                Exc::TypeError,
                &format!(
                    "Array() argument must be a buffer-protocol object, a nested sequence of numbers or a number, not '{}'",
                    type_name(py, obj)
                ),
            ));
        };
        let dtype = dtype.unwrap_or(default_dtype(kind));
        let array = new_array(py, ty, dtype, &[])?;
        // SAFETY: the one element of the fresh 0-d array; on error the array is dropped unseen.
        store_python(py, obj, dtype, ArrayObject::from_ptr(array.as_ptr()).pin().data())?;
        Ok(array)
    }
}

/// A fresh C-contiguous copy of `src` converted to `dtype` (the GIL is released for big copies).
///
/// # Safety
/// `src`'s elements stay readable for the call (its owner is alive and the GIL-less copy only
/// reads); `ty` is the Array type; GIL held.
pub unsafe fn copy_view(py: Python<'_>, ty: *mut PyTypeObject, src: ArrayView, dtype: DType) -> PyResult<Owned> {
    // SAFETY: every element is written by the copy below before the array is returned.
    let array = unsafe { new_array(py, ty, dtype, src.shape) }?;
    // SAFETY: `array` is an Array.
    let pinned = unsafe { ArrayObject::from_ptr(array.as_ptr()) }.pin();
    let dst = pinned.view_mut(py)?;
    let nbytes = dst.size() * dtype.itemsize();
    // SAFETY: `dst` is fresh memory, so it cannot overlap `src`; both stay valid during the copy
    // (their owners are referenced by this frame, which waits for the copy). A stop means a
    // signal handler raised (exception set); the partly written array is dropped unseen.
    py.allow_threads_polling_above(nbytes, |poll| unsafe { copy_cast_paced(src, dst, poll) }).map_err(|_| PyErrSet::fetched())?;
    Ok(array)
}

/// `Array()`'s words for a buffer it cannot read (`matmul` and the FFTs, which read their
/// exporters as `Array(obj)` would, use them too): an unsupported format (TypeError naming the
/// supported ones), an item size that does not match the format, more than 32 dimensions.
pub fn refuse_buffer(py: Python<'_>, refusal: UnreadableBuffer) -> PyErrSet {
    match refusal {
        UnreadableBuffer::Format(format) => {
            let supported = DType::ALL.iter().map(|d| format!("'{}' ({})", d.buffer_format(), d.name())).collect::<Vec<_>>().join(", ");
            raise(py, Exc::TypeError, &format!("Array() cannot take buffer format '{format}'; supported formats: {supported}"))
        }
        UnreadableBuffer::ItemSize { format, itemsize, dtype } => raise(
            py,
            Exc::TypeError,
            &format!("buffer format '{format}' with itemsize {itemsize} does not match {} ({} bytes)", dtype.name(), dtype.itemsize()),
        ),
        UnreadableBuffer::TooManyDims(ndim) => {
            raise(py, Exc::ValueError, &format!("maximum supported dimension for an Array is {MAX_NDIM}, found {ndim}"))
        }
    }
}

/// Does `obj` count as a sequence level of a nested list (`[[1, 2], (3, 4)]`)? Lists, tuples,
/// Arrays with at least one dimension, and other sequences that have a length — but not
/// str/bytes (numbers-only) and not 0-d arrays (they are numbers, whose `len()` is a
/// TypeError). The length query runs the object's `__len__`: what it raises propagates, except
/// that TypeError ("has no len()"), which answers "not a sequence".
unsafe fn is_sequence(py: Python<'_>, obj: *mut PyObject) -> PyResult<bool> {
    // SAFETY (whole body): type checks and a length query on a valid object, GIL held.
    unsafe {
        if pyo3_ffi::PyList_Check(obj) != 0 || pyo3_ffi::PyTuple_Check(obj) != 0 {
            return Ok(true);
        }
        if let Some(a) = ArrayObject::downcast(obj) {
            return Ok(a.pin().ndim() > 0);
        }
        if pyo3_ffi::PyUnicode_Check(obj) != 0 || pyo3_ffi::PyBytes_Check(obj) != 0 || pyo3_ffi::PySequence_Check(obj) == 0 {
            return Ok(false);
        }
        // -1 with an exception set on failure.
        if pyo3_ffi::PySequence_Size(obj) < 0 {
            clear_if(py, Exc::TypeError)?;
            return Ok(false);
        }
        Ok(true)
    }
}

fn ragged(py: Python<'_>, shape: &[usize], depth: usize) -> PyErrSet {
    raise(
        py,
        Exc::ValueError,
        &format!(
            "setting an array element with a sequence. The requested array has an inhomogeneous shape after {depth} dimensions. The detected shape was {} + inhomogeneous part.",
            shape_text(&shape[..depth])
        ),
    )
}

/// A tuple of the sequence's items (new reference; `obj` itself when it is already a tuple). A
/// tuple rather than `PySequence_Fast`'s list-or-tuple because a list can be changed by Python
/// code we call later (an element's `__float__` or `__len__` may clear it), which would free items
/// we still point at; a tuple cannot change, and holding it holds them.
///
/// Lists and tuples: `PySequence_Tuple`, a copy of their item array. Any other sequence: at most
/// as many items as `len(obj)` says, from its iterator (`PySequence_Size`, then `PyIter_Next`), so
/// an exception from its `__len__` comes out as raised, a `__getitem__` that never raises
/// IndexError costs what `__len__` promised, and a sequence whose indexing is slow (a `deque`)
/// is still read in one pass. `PySequence_Tuple` would iterate an endless one until memory runs
/// out: from 3.14 it no longer asks `__len__` first (`tuple(obj)` with a raising `__len__` and an
/// endless `__getitem__` raises the `__len__` error on 3.13.5 and MemoryError on 3.14.10 and
/// 3.15.2). The items are collected first and the tuple made after, with no Python code between:
/// a tuple is tracked by the collector from `PyTuple_New` on, and the sequence's own code (its
/// `__next__`, a `gc.get_objects()` in it) must never see one with empty slots.
unsafe fn fast(py: Python<'_>, obj: *mut PyObject) -> PyResult<Owned> {
    // SAFETY (whole body): GIL held; `obj` is a valid borrowed object. PySequence_Tuple,
    // PyObject_GetIter, PyIter_Next and PyTuple_New return new references or NULL (with an
    // exception set, except PyIter_Next at the end of the iteration).
    unsafe {
        if pyo3_ffi::PyList_Check(obj) != 0 || pyo3_ffi::PyTuple_Check(obj) != 0 {
            return Owned::from_new(pyo3_ffi::PySequence_Tuple(obj));
        }
        let n = pyo3_ffi::PySequence_Size(obj);
        if n < 0 {
            return Err(PyErrSet::fetched());
        }
        let iter = Owned::from_new(pyo3_ffi::PyObject_GetIter(obj))?;
        // Reserved up to a bound: `len` is the object's word, not a promise of memory.
        let mut items: Vec<Owned> = Vec::new();
        items.try_reserve((n as usize).min(1 << 16)).map_err(|_| no_memory(py))?;
        while items.len() < n as usize {
            let next = pyo3_ffi::PyIter_Next(iter.as_ptr());
            if next.is_null() {
                if !pyo3_ffi::PyErr_Occurred().is_null() {
                    return Err(PyErrSet::fetched());
                }
                break; // fewer items than `len` said: the tuple holds what there was
            }
            try_push(py, &mut items, Owned::from_new(next)?)?;
        }
        drop(iter);
        let tuple = Owned::from_new(pyo3_ffi::PyTuple_New(items.len() as isize))?;
        for (i, item) in items.into_iter().enumerate() {
            // Steals `item` into the new tuple's empty slot i; no Python code has run since
            // PyTuple_New, so nothing else has seen the tuple.
            crate::capi::compat::tuple_fill(tuple.as_ptr(), i as isize, item);
        }
        Ok(tuple)
    }
}

/// The items of a tuple from [`fast`] (borrowed from it).
unsafe fn items<'a>(py: Python<'_>, seq: &'a Owned) -> PyResult<std::borrow::Cow<'a, [*mut PyObject]>> {
    // SAFETY: `seq` is a tuple; its items are borrowed pointers, valid (and unchanging) while
    // `seq` is alive. (capi::compat: the tuple's own item array, or under abi3 a copy of the
    // pointers, which can fail with MemoryError.)
    unsafe { crate::capi::compat::fast_items(py, seq.as_ptr()) }
}

/// `vec.push(value)`, with MemoryError instead of an abort when the vector cannot grow: the
/// vectors of nested-list construction grow with the input, whose size the caller chooses.
fn try_push<T>(py: Python<'_>, vec: &mut Vec<T>, value: T) -> PyResult<()> {
    vec.try_reserve(1).map_err(|_| no_memory(py))?;
    vec.push(value);
    Ok(())
}

/// Nested sequences of numbers → Array: find the shape along the first items, check that every
/// branch has it (else NumPy's "inhomogeneous shape" ValueError), infer the dtype from the
/// numbers as NumPy does (bool < int64 < float64 < complex128), then store each number.
unsafe fn from_nested(py: Python<'_>, ty: *mut PyTypeObject, obj: *mut PyObject, dtype: Option<DType>) -> PyResult<Owned> {
    // SAFETY (whole body): GIL held; `holders` keeps every fast sequence — and so every item
    // borrowed from it — alive until the numbers are stored.
    unsafe {
        let mut shape = Vec::new();
        let mut holders: Vec<Owned> = Vec::new();
        let mut cur = obj;
        while is_sequence(py, cur)? {
            if shape.len() == MAX_NDIM {
                return Err(raise(py, Exc::ValueError, &format!("maximum supported dimension for an Array is {MAX_NDIM}, found more")));
            }
            let seq = fast(py, cur)?;
            let (n, first) = {
                let items = items(py, &seq)?;
                (items.len(), items.first().copied())
            };
            shape.push(n);
            try_push(py, &mut holders, seq)?;
            match first {
                Some(item) => cur = item,
                None => break,
            }
        }
        let count = shape.iter().try_fold(1usize, |acc, &n| acc.checked_mul(n)).ok_or_else(|| too_big(py))?;
        // One pointer per element, all needed before the first is stored: reserved at once, and
        // MemoryError when the caller's list is too long for it.
        let mut leaves: Vec<*mut PyObject> = Vec::new();
        leaves.try_reserve_exact(count).map_err(|_| no_memory(py))?;
        collect(py, obj, 0, &shape, &mut leaves, &mut holders)?;
        let mut kind: Option<PyScalarKind> = None;
        for &leaf in &leaves {
            let k = scalar_kind(py, leaf)?.ok_or_else(|| {
                raise(py, Exc::TypeError, &format!("an Array element must be a number, not '{}'", type_name(py, leaf)))
            })?;
            kind = Some(match (kind, k) {
                (None, k) => k,
                (Some(a), b) => rank_max(a, b),
            });
        }
        let dtype = dtype.unwrap_or_else(|| kind.map(default_dtype).unwrap_or(DType::Float64));
        // Every element is stored below; on an error the array is dropped before anyone sees it.
        let array = new_array(py, ty, dtype, &shape)?;
        let data = ArrayObject::from_ptr(array.as_ptr()).pin().data();
        for (i, &leaf) in leaves.iter().enumerate() {
            store_python(py, leaf, dtype, data.add(i * dtype.itemsize()))?;
        }
        Ok(array)
    }
}

fn rank_max(a: PyScalarKind, b: PyScalarKind) -> PyScalarKind {
    let rank = |k| match k {
        PyScalarKind::Bool => 0,
        PyScalarKind::Int => 1,
        PyScalarKind::Float => 2,
        PyScalarKind::Complex => 3,
    };
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

unsafe fn collect(
    py: Python<'_>,
    obj: *mut PyObject,
    depth: usize,
    shape: &[usize],
    leaves: &mut Vec<*mut PyObject>,
    holders: &mut Vec<Owned>,
) -> PyResult<()> {
    // SAFETY (whole body): as in `from_nested`.
    unsafe {
        let is_seq = is_sequence(py, obj)?;
        if depth == shape.len() {
            if is_seq {
                return Err(ragged(py, shape, depth));
            }
            // Within `from_nested`'s reservation: every level's length was checked against `shape`.
            try_push(py, leaves, obj)?;
            return Ok(());
        }
        if !is_seq {
            return Err(ragged(py, shape, depth));
        }
        let seq = fast(py, obj)?;
        let items = items(py, &seq)?;
        if items.len() != shape[depth] {
            return Err(ragged(py, shape, depth));
        }
        for &item in items.iter() {
            collect(py, item, depth + 1, shape, leaves, holders)?;
        }
        drop(items);
        try_push(py, holders, seq)
    }
}

pub const FROMBUFFER_DOC: &CStr = c"frombuffer(obj, /)
--

An Array that views obj's memory without copying (obj: any buffer-protocol
object with a supported format). It keeps obj exported and alive until the
Array is gone, is writable when obj is, and keeps obj's shape and strides.";

/// `Array.frombuffer(obj)` (`METH_O | METH_CLASS`: `cls` is the Array type, `obj` borrowed).
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn frombuffer(cls: *mut PyObject, obj: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: `obj` valid, GIL held. A request without PyBUF_WRITABLE is one every exporter
        // can grant, read-only or not, and `view.readonly` then says which it is (PEP 3118: an
        // exporter that can give a writable view sets it to 0). Asking for a writable view first
        // would make a read-only exporter refuse, and its refusal is not one exception to
        // expect: `bytes` raises BufferError, a read-only NumPy array ValueError.
        let buffer = unsafe { Buffer::get(py, obj, pyo3_ffi::PyBUF_RECORDS_RO) }?;
        let writable = buffer.raw().readonly == 0;
        let BufferArray { buffer, dtype, shape, strides } = BufferArray::new(py, buffer)?.map_err(|e| refuse_buffer(py, e))?;
        let data = buffer.raw().buf as *mut u8;
        let memory = Memory::Imported { data, buffer: buffer.into_box() };
        // SAFETY: `cls` is the Array type; the imported buffer keeps the memory valid for the
        // Array's lifetime and is released in its dealloc.
        Ok(unsafe { alloc_object(py, cls.cast(), dtype, &shape, &strides, memory, writable) }?.into_raw())
    })
}

/// `shape` argument: an int or a sequence of ints, each >= 0 (NumPy's messages).
///
/// # Safety
/// `obj` valid (borrowed); GIL held.
pub unsafe fn parse_shape(py: Python<'_>, obj: *mut PyObject) -> PyResult<Vec<usize>> {
    // SAFETY: forwarded from the caller (valid borrowed `obj`, GIL held).
    let dims = unsafe { parse_dims(py, obj) }?;
    if dims.iter().any(|&d| d < 0) {
        return Err(raise(py, Exc::ValueError, "negative dimensions are not allowed"));
    }
    Ok(dims.into_iter().map(|d| d as usize).collect())
}

/// An int or a sequence of ints, as signed values.
unsafe fn parse_dims(py: Python<'_>, obj: *mut PyObject) -> PyResult<Vec<isize>> {
    // SAFETY (whole body): GIL held; borrowed `obj`; new references in Owned.
    unsafe {
        let one = |o: *mut PyObject| -> PyResult<isize> {
            // Only objects with __index__ are asked: PyNumber_Index's own TypeError for the rest
            // would not say that a dimension length was wanted. What __index__ raises propagates.
            if pyo3_ffi::PyIndex_Check(o) == 0 {
                return Err(raise(
                    py,
                    Exc::TypeError,
                    &format!("'{}' object cannot be interpreted as an integer (a dimension length)", type_name(py, o)),
                ));
            }
            // A new reference to an int, or NULL with the exception set.
            let index = Owned::from_new(pyo3_ffi::PyNumber_Index(o))?;
            let v = pyo3_ffi::PyLong_AsSsize_t(index.as_ptr());
            if v == -1 && !pyo3_ffi::PyErr_Occurred().is_null() {
                return Err(PyErrSet::fetched());
            }
            Ok(v)
        };
        if pyo3_ffi::PyIndex_Check(obj) != 0 {
            return Ok(vec![one(obj)?]);
        }
        if pyo3_ffi::PySequence_Check(obj) == 0 || pyo3_ffi::PyUnicode_Check(obj) != 0 {
            return Err(raise(py, Exc::TypeError, &format!("a shape must be an int or a sequence of ints, not '{}'", type_name(py, obj))));
        }
        // The length first: a shape longer than MAX_NDIM is refused before its items are read.
        let n = pyo3_ffi::PySequence_Size(obj);
        if n < 0 {
            return Err(PyErrSet::fetched());
        }
        if n as usize > MAX_NDIM {
            return Err(raise(py, Exc::ValueError, &format!("maximum supported dimension for an Array is {MAX_NDIM}, found {n}")));
        }
        let seq = fast(py, obj)?;
        let items = items(py, &seq)?;
        if items.len() > MAX_NDIM {
            return Err(raise(
                py,
                Exc::ValueError,
                &format!("maximum supported dimension for an Array is {MAX_NDIM}, found {}", items.len()),
            ));
        }
        items.iter().map(|&o| one(o)).collect()
    }
}

/// A new shape for an Array of `size` elements, with at most one `-1` inferred
/// (`.reshape()` and `a.shape = ...`).
///
/// # Safety
/// `obj` valid (borrowed); GIL held.
pub unsafe fn parse_reshape(py: Python<'_>, obj: *mut PyObject, size: usize) -> PyResult<Vec<usize>> {
    // SAFETY: forwarded from the caller (valid borrowed `obj`, GIL held).
    let dims = unsafe { parse_dims(py, obj) }?;
    // NumPy's spelling: "(4,)", "(2,4)", "(4,newaxis)".
    let text = || {
        let parts: Vec<String> = dims.iter().map(|d| if *d == -1 { "newaxis".to_string() } else { d.to_string() }).collect();
        if parts.len() == 1 {
            format!("({},)", parts[0])
        } else {
            format!("({})", parts.join(","))
        }
    };
    let unknown: Vec<usize> = (0..dims.len()).filter(|&i| dims[i] == -1).collect();
    if unknown.len() > 1 {
        return Err(raise(py, Exc::ValueError, "can only specify one unknown dimension"));
    }
    if dims.iter().any(|&d| d < -1) {
        return Err(raise(py, Exc::ValueError, "negative dimensions not allowed"));
    }
    let known = dims.iter().filter(|&&d| d != -1).try_fold(1usize, |acc, &d| acc.checked_mul(d as usize));
    let mismatch = || raise(py, Exc::ValueError, &format!("cannot reshape array of size {size} into shape {}", text()));
    let known = known.ok_or_else(|| too_big(py))?;
    let mut shape: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(&u) = unknown.first() {
        if known == 0 || !size.is_multiple_of(known) {
            return Err(mismatch());
        }
        shape[u] = size / known;
    } else if known != size {
        return Err(mismatch());
    }
    Ok(shape)
}

pub const ZEROS_DOC: &CStr = c"zeros($module, shape, dtype='float64')
--

A new Array of the given shape (an int or a sequence of ints) filled with
zeros. dtype: bool, uint8, int32, int64, float32, float64 or complex128.";

/// `rawcapi.zeros(shape, dtype='float64')` (`METH_VARARGS | METH_KEYWORDS`).
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn zeros(module: *mut PyObject, args: *mut PyObject, kwargs: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: GIL held; CPython passes a tuple and a dict or NULL; results borrowed.
        unsafe {
            let [shape, dtype] = parse_objects(args, kwargs, c"O|O:zeros", [c"shape", c"dtype"])?;
            let shape = parse_shape(py, shape)?;
            let dtype = parse_dtype(py, dtype)?.unwrap_or(DType::Float64);
            let ty = crate::state::array_type(py, module)?;
            Ok(object::zeros(py, ty, dtype, &shape)?.into_raw())
        }
    })
}

pub const ARANGE_DOC: &CStr = c"arange($module, start_or_stop, stop=None, step=None, /, *, dtype=None)
--

Evenly spaced values in [start, stop), as numpy.arange: arange(stop),
arange(start, stop) or arange(start, stop, step). The dtype is int64 for int
arguments and float64 when any is a float, unless dtype= says otherwise; the
values are computed exactly as NumPy computes them (a[i] = a[0] + i*delta,
with delta = a[1] - a[0] in the result dtype).";

/// `rawcapi.arange(...)` (`METH_VARARGS | METH_KEYWORDS`).
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn arange(module: *mut PyObject, args: *mut PyObject, kwargs: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY (whole body): GIL held; borrowed arguments; new references in Owned.
        unsafe {
            let [a0, a1, a2, dtype] = parse_objects(args, kwargs, c"O|OO$O:arange", [c"", c"", c"", c"dtype"])?;
            let none = pyo3_ffi::Py_None();
            let given = |o: *mut PyObject| !o.is_null() && o != none;
            let zero = Owned::from_new(pyo3_ffi::PyLong_FromLong(0))?;
            let one = Owned::from_new(pyo3_ffi::PyLong_FromLong(1))?;
            let (start, stop) = if given(a1) { (a0, a1) } else { (zero.as_ptr(), a0) };
            let step = if given(a2) { a2 } else { one.as_ptr() };
            let mut kind = PyScalarKind::Int;
            for o in [start, stop, step] {
                match scalar_kind(py, o)? {
                    Some(PyScalarKind::Bool) | Some(PyScalarKind::Int) => {}
                    Some(PyScalarKind::Float) => kind = PyScalarKind::Float,
                    _ => {
                        return Err(raise(py, Exc::TypeError, &format!("arange() arguments must be int or float, not '{}'", type_name(py, o))));
                    }
                }
            }
            let dtype = parse_dtype(py, dtype)?.unwrap_or(default_dtype(kind));
            // NumPy: len = ceil((stop - start) / step), computed on the Python numbers.
            let range = Owned::from_new(pyo3_ffi::PyNumber_Subtract(stop, start))?;
            let quotient = Owned::from_new(pyo3_ffi::PyNumber_TrueDivide(range.as_ptr(), step))?;
            let q = pyo3_ffi::PyFloat_AsDouble(quotient.as_ptr());
            if q == -1.0 && !pyo3_ffi::PyErr_Occurred().is_null() {
                return Err(PyErrSet::fetched());
            }
            if q.is_nan() {
                return Err(raise(py, Exc::ValueError, "arange: cannot compute length"));
            }
            let len = q.ceil();
            if len > isize::MAX as f64 {
                return Err(raise(py, Exc::ValueError, "Maximum allowed size exceeded"));
            }
            let len = if len > 0.0 { len as usize } else { 0 };
            if dtype == DType::Bool && len > 2 {
                return Err(raise(py, Exc::TypeError, "arange() is only supported for booleans when the result has at most length 2."));
            }
            if dtype.is_integer() && len > 2 {
                check_last_fits(py, start, step, kind, len)?;
            }
            let ty = crate::state::array_type(py, module)?;
            // Every element is written below before the array is returned.
            let array = new_array(py, ty, dtype, &[len])?;
            let data = ArrayObject::from_ptr(array.as_ptr()).pin().data();
            if len > 0 {
                store_python(py, start, dtype, data)?;
            }
            if len > 1 {
                let next = Owned::from_new(pyo3_ffi::PyNumber_Add(start, step))?;
                store_python(py, next.as_ptr(), dtype, data.add(dtype.itemsize()))?;
            }
            // The fill's length is the caller's: above the threshold it runs without the GIL and
            // stops on Ctrl-C (exception set; the partly filled array is dropped unseen).
            let pinned = ArrayObject::from_ptr(array.as_ptr()).pin();
            let dst = pinned.view_mut(py)?;
            py.allow_threads_polling_above(len * dtype.itemsize(), move |poll| {
                let dst = dst; // the whole view (Send), not its raw `data` field alone
                // (Inside the function's unsafe block.) `dst` is this fresh array's memory, `len`
                // elements, a[0] and a[1] set above; `array`, held by this frame, keeps it alive.
                arange_fill_paced(dst.data, dtype, len, poll)
            })
            .map_err(|_| PyErrSet::fetched())?;
            Ok(array.into_raw())
        }
    })
}

/// `arange`'s last value, `start + (len - 1) * step`, must fit int64 for an integer result: the
/// fill computes `a[i] = a[0] + i * delta` in 64-bit integers, which would wrap past it (NumPy
/// answers such a range with a float64 or uint64 result, which rawcapi does not make). The first
/// two values are checked by their stores; the values between the first and the last do not
/// leave the range the two ends span. Computed on Python ints (`kind` Int: the arguments'
/// `__index__`, so a NumPy integer cannot wrap first) or floats (`kind` Float), then `int()`.
///
/// # Safety
/// `start` and `step` valid (borrowed) numbers of `kind`; `len >= 1`; GIL held.
unsafe fn check_last_fits(py: Python<'_>, start: *mut PyObject, step: *mut PyObject, kind: PyScalarKind, len: usize) -> PyResult<()> {
    // SAFETY (whole body): GIL held; every call borrows its arguments and returns a new
    // reference (wrapped in Owned) or NULL with an exception set.
    unsafe {
        let convert = |o| if kind == PyScalarKind::Float { pyo3_ffi::PyNumber_Float(o) } else { pyo3_ffi::PyNumber_Index(o) };
        let start = Owned::from_new(convert(start))?;
        let step = Owned::from_new(convert(step))?;
        let count = Owned::from_new(pyo3_ffi::PyLong_FromSize_t(len - 1))?;
        let span = Owned::from_new(pyo3_ffi::PyNumber_Multiply(count.as_ptr(), step.as_ptr()))?;
        let last = Owned::from_new(pyo3_ffi::PyNumber_Add(start.as_ptr(), span.as_ptr()))?;
        let last = Owned::from_new(pyo3_ffi::PyNumber_Long(last.as_ptr()))?;
        let mut overflow = 0;
        let v = pyo3_ffi::PyLong_AsLongLongAndOverflow(last.as_ptr(), &mut overflow);
        if v == -1 && overflow == 0 && !pyo3_ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet::fetched());
        }
        if overflow != 0 {
            let shown = crate::capi::strings::str_of(py, last.as_ptr())?.unwrap_or_else(|| "beyond 64 bits".to_string());
            return Err(raise(
                py,
                Exc::OverflowError,
                &format!("arange: the last value, Python integer {shown}, is out of bounds for int64 (rawcapi has no wider integer dtype)"),
            ));
        }
        Ok(())
    }
}

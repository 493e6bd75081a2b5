//! `Counter(start=0)`: the smallest useful type, built by hand as a heap type.
//!
//! ```python
//! class Counter:
//!     def __init__(self, start=0): self._value = start    # an int64
//!     def add(self, n, /): self._value += n; return self._value
//!     @property
//!     def value(self): return self._value
//! ```
//!
//! In lifecycle order: the object struct, `tp_new`, `tp_dealloc`, the method, the attribute,
//! then the slot table and the spec that `PyType_FromModuleAndSpec` turns into a type.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicI64, Ordering};

use pyo3_ffi::{PyGetSetDef, PyMethodDef, PyMethodDefPointer, PyObject, PyTypeObject, PyType_Slot, PyType_Spec};

use crate::capi::error::{raise, Exc, PyErrSet, PyResult};
use crate::capi::gil::Python;
use crate::capi::object::Owned;
use crate::capi::panic;
use crate::capi::table::table;

/// The object: CPython's header first (so a `*mut CounterObject` is a `*mut PyObject`), then our
/// fields. The count is atomic because on a free-threaded build two threads may call `add` on
/// one Counter at the same time (the module says so with `Py_mod_gil`, src/lib.rs).
#[repr(C)]
pub struct CounterObject {
    ob_base: PyObject,
    value: AtomicI64,
}

/// `tp_new`: `Counter(start=0)`. Returns a new reference, or NULL with an exception set.
///
/// # Safety
/// Called by CPython, attached; `subtype` is Counter, `args` a tuple, `kwargs` a dict or NULL
/// (all borrowed).
unsafe extern "C" fn counter_new(subtype: *mut PyTypeObject, args: *mut PyObject, kwargs: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls type slots attached.
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        let mut start: i64 = 0;
        let mut keywords: [*mut c_char; 2] = [c"start".as_ptr().cast_mut(), ptr::null_mut()];
        // "|L:Counter": one optional argument converted to a C long long; the name after ':' is
        // used in the error messages PyArg_ParseTupleAndKeywords raises.
        // SAFETY: attached; `args`/`kwargs` are what CPython passed (borrowed); `keywords` is a
        // NULL-terminated array of names, and `start` a `long long` for the "L" unit.
        if unsafe { pyo3_ffi::PyArg_ParseTupleAndKeywords(args, kwargs, c"|L:Counter".as_ptr(), keywords.as_mut_ptr() as _, &mut start as *mut i64) } == 0 {
            return Err(PyErrSet::fetched());
        }
        // PyType_GenericAlloc (the default tp_alloc of a heap type) returns a new reference to
        // zeroed memory of tp_basicsize bytes, and takes a reference to the type, which
        // `counter_dealloc` gives back.
        // SAFETY: attached; `subtype` is a live type object (borrowed).
        let obj = unsafe { Owned::from_new(pyo3_ffi::PyType_GenericAlloc(subtype, 0)) }?;
        // SAFETY: the allocation is a CounterObject (tp_basicsize is its size); nobody else has
        // seen it yet.
        unsafe { (*obj.as_ptr().cast::<CounterObject>()).value.store(start, Ordering::Relaxed) };
        Ok(obj.into_raw())
    })
}

/// `tp_dealloc`: called when the last reference goes. Frees the memory, then drops the
/// reference to the type that every instance of a heap type holds.
///
/// # Safety
/// Called by CPython with a Counter whose reference count reached zero; attached.
unsafe extern "C" fn counter_dealloc(obj: *mut PyObject) {
    // SAFETY (whole body): attached; `obj` is a Counter no one references any more. Py_TYPE is a
    // borrowed reference, kept alive by the instance's own reference until the Py_DECREF below.
    // `tp_free` is the type's deallocator (PyObject_Free for this type); AtomicI64 needs no drop.
    unsafe {
        let ty = pyo3_ffi::Py_TYPE(obj);
        let free = pyo3_ffi::PyType_GetSlot(ty, pyo3_ffi::Py_tp_free);
        let free: pyo3_ffi::freefunc = std::mem::transmute(free);
        free(obj.cast::<c_void>());
        pyo3_ffi::Py_DECREF(ty.cast::<PyObject>());
    }
}

/// `self` of a method or getter as the struct.
///
/// # Safety
/// `obj` is a Counter (CPython calls this type's methods only on its instances; the type has
/// no subclasses), alive for `'a`.
unsafe fn counter<'a>(obj: *mut PyObject) -> &'a CounterObject {
    // SAFETY: forwarded from the caller. A shared reference: the only field that changes is
    // atomic.
    unsafe { &*obj.cast::<CounterObject>() }
}

const ADD_DOC: &CStr = c"add($self, n, /)
--

Add n (an int, may be negative) and return the new value. OverflowError,
and no change, when the result would leave the int64 range.";

/// `Counter.add(n)`, `METH_O`: `n` is borrowed.
///
/// # Safety
/// Called by CPython, attached, on a Counter.
unsafe extern "C" fn counter_add(obj: *mut PyObject, n: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls methods attached.
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        let n = int64(py, n)?;
        // SAFETY: this method is only called on Counters.
        let this = unsafe { counter(obj) };
        let old = this.value.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_add(n));
        let Ok(old) = old else {
            return Err(raise(py, Exc::OverflowError, "Counter.add: the value would leave the int64 range"));
        };
        Ok(int_from_i64(py, old + n)?.into_raw())
    })
}

/// A Python int (or any object with `__index__`) as `i64`: `PyLong_AsLongLong`, which raises
/// TypeError for a non-integer and OverflowError beyond 64 bits.
fn int64(_py: Python<'_>, obj: *mut PyObject) -> PyResult<i64> {
    // SAFETY: attached (the token); `obj` is a valid object (borrowed).
    let v = unsafe { pyo3_ffi::PyLong_AsLongLong(obj) };
    // -1 is also a valid result, so the error check is "-1 and an exception is set".
    // SAFETY: attached.
    if v == -1 && !unsafe { pyo3_ffi::PyErr_Occurred() }.is_null() {
        return Err(PyErrSet::fetched());
    }
    Ok(v)
}

fn int_from_i64(_py: Python<'_>, v: i64) -> PyResult<Owned> {
    // SAFETY: attached (the token); a new reference or NULL with MemoryError set.
    unsafe { Owned::from_new(pyo3_ffi::PyLong_FromLongLong(v)) }
}

/// The `value` getter (`Py_tp_getset`): a new reference to an int.
///
/// # Safety
/// Called by CPython, attached, on a Counter.
unsafe extern "C" fn counter_get_value(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: CPython calls getters attached.
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: this getter is only called on Counters.
        let v = unsafe { counter(obj) }.value.load(Ordering::Relaxed);
        Ok(int_from_i64(py, v)?.into_raw())
    })
}

/// `static PyMethodDef Counter_methods[]`.
const METHOD_LIST: &[PyMethodDef] = &[
    PyMethodDef {
        ml_name: c"add".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: counter_add },
        ml_flags: pyo3_ffi::METH_O,
        ml_doc: ADD_DOC.as_ptr(),
    },
    PyMethodDef::zeroed(),
];
static mut METHODS: [PyMethodDef; METHOD_LIST.len()] = table(METHOD_LIST);

/// `static PyGetSetDef Counter_getset[]`: `value`, read-only (no setter).
const GETSET_LIST: &[PyGetSetDef] = &[
    PyGetSetDef {
        name: c"value".as_ptr(),
        get: Some(counter_get_value),
        set: None,
        doc: c"The current count.".as_ptr(),
        closure: ptr::null_mut(),
    },
    PyGetSetDef { name: ptr::null(), get: None, set: None, doc: ptr::null(), closure: ptr::null_mut() },
];
static mut GETSET: [PyGetSetDef; GETSET_LIST.len()] = table(GETSET_LIST);

const DOC: &CStr = c"Counter(start=0)
--

An int64 count that add(n) moves; safe to share between threads.";

/// `static PyType_Slot Counter_slots[]`: every entry says why it is there.
const SLOT_LIST: &[PyType_Slot] = &[
    // `Counter(...)`: without tp_new the type could not be called.
    PyType_Slot { slot: pyo3_ffi::Py_tp_new, pfunc: counter_new as *mut c_void },
    // Frees the object and gives back its reference to the type.
    PyType_Slot { slot: pyo3_ffi::Py_tp_dealloc, pfunc: counter_dealloc as *mut c_void },
    // The class docstring, with its text signature for `inspect` (CPython copies it).
    PyType_Slot { slot: pyo3_ffi::Py_tp_doc, pfunc: DOC.as_ptr() as *mut c_void },
    PyType_Slot { slot: pyo3_ffi::Py_tp_methods, pfunc: (&raw mut METHODS).cast::<c_void>() },
    PyType_Slot { slot: pyo3_ffi::Py_tp_getset, pfunc: (&raw mut GETSET).cast::<c_void>() },
    // The sentinel: CPython stops at the first {0, NULL}.
    PyType_Slot { slot: 0, pfunc: ptr::null_mut() },
];
static mut SLOTS: [PyType_Slot; SLOT_LIST.len()] = table(SLOT_LIST);

/// "<module>.Counter": the module part is the crate's name, so renaming the module renames it.
const NAME: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_CRATE_NAME"), ".Counter\0").as_bytes()) {
    Ok(name) => name,
    Err(_) => panic!("the type name has no interior NUL"),
};

/// `static PyType_Spec Counter_spec`. Not `Py_TPFLAGS_BASETYPE`: no subclasses, so every object
/// this type's slots receive is a CounterObject. Not `Py_TPFLAGS_HAVE_GC`: a Counter references
/// no other object, so it cannot be part of a reference cycle. `Py_TPFLAGS_IMMUTABLETYPE` (3.10+):
/// `Counter.add = ...` is refused, as for built-in types.
static mut SPEC: PyType_Spec = PyType_Spec {
    name: NAME.as_ptr(),
    basicsize: std::mem::size_of::<CounterObject>() as c_int,
    itemsize: 0,
    flags: (pyo3_ffi::Py_TPFLAGS_DEFAULT | IMMUTABLE) as c_uint,
    slots: (&raw mut SLOTS).cast(),
};

#[cfg(Py_3_10)]
const IMMUTABLE: std::ffi::c_ulong = pyo3_ffi::Py_TPFLAGS_IMMUTABLETYPE;
#[cfg(not(Py_3_10))]
const IMMUTABLE: std::ffi::c_ulong = 0;

/// The type, made for `module` from the spec: `PyType_FromModuleAndSpec` returns a new reference.
///
/// # Safety
/// `module` is the module being executed (borrowed).
pub unsafe fn create_type(_py: Python<'_>, module: *mut PyObject) -> PyResult<Owned> {
    // SAFETY: attached (the token); SPEC and the tables it points at are statics that CPython
    // only reads; NULL bases means `object`.
    unsafe { Owned::from_new(pyo3_ffi::PyType_FromModuleAndSpec(module, &raw mut SPEC, ptr::null_mut())) }
}

//! The Array type's slot table and `PyType_Spec`, and the function that builds the type.
//!
//! A heap type is described to CPython as data — a name, the instance size, flags, and a table
//! of (slot id, function pointer) pairs — and built at run time by `PyType_FromModuleAndSpec`:
//!
//! ```c
//! static PyType_Slot Array_slots[] = {
//!     {Py_tp_dealloc, Array_dealloc},
//!     {Py_tp_traverse, Array_traverse},
//!     {Py_tp_new, Array_new},
//!     ...
//!     {Py_tp_token, Py_TP_USE_SPEC},     /* 3.14+: the type's token is &Array_spec */
//!     {0, NULL},
//! };
//! static PyType_Spec Array_spec = {
//!     .name = "rawcapi.Array", .basicsize = sizeof(ArrayObject),
//!     .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
//!     .slots = Array_slots,
//! };
//! /* in the module's exec slot: */
//! state->array_type = PyType_FromModuleAndSpec(module, &Array_spec, NULL);   /* new reference */
//! ```
//!
//! Unlike a static `PyTypeObject`, the spec is only read: every module instance (one per
//! interpreter) gets its own type object, which is what per-interpreter module state needs, and
//! the spec uses only stable-ABI fields.
//!
//! The number protocol's `Py_nb_*` and `Py_tp_richcompare` entries point into `number.rs`;
//! `Py_nb_matrix_multiply` (`@`) into `src/functions/matmul.rs`. The table has one line per slot.

use std::ffi::{c_int, c_uint, c_void};

use pyo3_ffi::{PyObject, PyType_Slot, PyType_Spec};

use super::{buffer, construct, getset, index, methods, number, object};
use crate::capi::error::{PyErrSet, PyResult};
use crate::capi::object::Owned;

const DOC: &std::ffi::CStr = c"Array(obj, dtype=None)
--

A strided n-dimensional array of bool, uint8, int32, int64, float32, float64
or complex128 elements.

obj is any buffer-protocol object (copied, any layout), a nested sequence of
numbers, or a number. dtype names one of the types above; by default it is
taken from the buffer's format or inferred from the numbers as NumPy does.
Array.frombuffer(obj) views an exporter's memory without copying.";

macro_rules! slot {
    ($id:expr, $f:expr) => {
        PyType_Slot { slot: $id, pfunc: $f as *mut c_void }
    };
}

/// `static PyType_Slot Array_slots[]`, as a list the compiler counts (src/capi/table.rs). `SLOTS`
/// is a `static mut` only because CPython's signature takes a `*mut`; it is never written
/// (CPython copies what it needs into the new type object).
const SLOT_LIST: &[PyType_Slot] = &[
    // Frees what the object owns, then the object, then its reference to the type.
    slot!(pyo3_ffi::Py_tp_dealloc, object::dealloc),
    // The cycle collector's view of an Array (a Py_TPFLAGS_HAVE_GC type): its type, its `base`,
    // its exporter. No Py_tp_clear beside it, on purpose (see `object::traverse`): an
    // Array's references are fixed at creation, so every cycle through one also passes through
    // an object that can be cleared, and the Array itself is never seen half-torn-down.
    slot!(pyo3_ffi::Py_tp_traverse, object::traverse),
    // `Array(obj, dtype=None)`. Without it the type could not be called.
    slot!(pyo3_ffi::Py_tp_new, construct::tp_new),
    // The class docstring (copied by CPython), with its text signature for `inspect`.
    slot!(pyo3_ffi::Py_tp_doc, DOC.as_ptr()),
    // `repr(a)`: `Array([1.0, 2.0], dtype='float64')`. `str()` falls back to it.
    slot!(pyo3_ffi::Py_tp_repr, methods::tp_repr),
    // shape, strides, ndim, size, itemsize, nbytes, dtype, base, T: computed on access.
    slot!(pyo3_ffi::Py_tp_getset, (&raw mut getset::GETSET).cast::<c_void>()),
    // astype, copy, tolist, reshape, sum, frombuffer.
    slot!(pyo3_ffi::Py_tp_methods, (&raw mut methods::METHODS).cast::<c_void>()),
    // `len(a)`: the first dimension. The mapping slot (not sq_length) so that `len` and `a[k]`
    // go through one protocol.
    slot!(pyo3_ffi::Py_mp_length, index::mp_length),
    // `a[key]`: ints, slices, `...`, None, and tuples of them.
    slot!(pyo3_ffi::Py_mp_subscript, index::mp_subscript),
    // `a[key] = value`.
    slot!(pyo3_ffi::Py_mp_ass_subscript, index::mp_ass_subscript),
    // `len()` through the sequence protocol too: PySequence_Size (used by list(), NumPy's
    // sequence detection...) reads only sq_length, and CPython adds it to negative sq_item indices.
    slot!(pyo3_ffi::Py_sq_length, index::mp_length),
    // `a[i]` through the sequence protocol: what makes `iter(a)`, `list(a)` and unpacking work
    // (CPython's fallback iterator calls sq_item with 0, 1, 2... until IndexError).
    slot!(pyo3_ffi::Py_sq_item, index::sq_item),
    // `bool(a)`: NumPy's truth rule (the one element's truth; ValueError when ambiguous).
    // Without it CPython would use `len(a) != 0`.
    slot!(pyo3_ffi::Py_nb_bool, methods::nb_bool),
    // The buffer protocol, exporter side: memoryview(a), numpy.asarray(a), bytes(a).
    slot!(pyo3_ffi::Py_bf_getbuffer, buffer::getbuffer),
    slot!(pyo3_ffi::Py_bf_releasebuffer, buffer::releasebuffer),
    // `a @ b` (and `b @ a` with a non-Array b: CPython calls the same slot of whichever operand
    // has it, with the operands in their original order). NumPy's matmul through the gemm kernel
    // (src/functions/matmul.rs); NotImplemented for operands it cannot read.
    slot!(pyo3_ffi::Py_nb_matrix_multiply, crate::functions::matmul::nb_matrix_multiply),
    // `a @= b`: NumPy 2's in-place form, `matmul(a, b, out=a)` — valid only when the product has
    // a's shape and dtype (a square b). Without it Python would fall back to `a = a @ b`, which
    // silently rebinds instead of writing into a (and into every view of it).
    slot!(pyo3_ffi::Py_nb_inplace_matrix_multiply, crate::functions::matmul::nb_inplace_matrix_multiply),
    // The number protocol (src/array/number.rs). A heap type has no separate reflected slots:
    // CPython calls nb_add(v, w) for `v + w` when either operand's type has it, so `3 - a` is
    // nb_subtract(3, a) and the Array may be either argument. Unknown operands get
    // NotImplemented, which lets the other operand's type try before CPython raises TypeError.
    slot!(pyo3_ffi::Py_nb_add, number::nb_add),
    slot!(pyo3_ffi::Py_nb_subtract, number::nb_subtract),
    slot!(pyo3_ffi::Py_nb_multiply, number::nb_multiply),
    // `/`. (nb_divide was Python 2's; Python 3 has true and floor division only.)
    slot!(pyo3_ffi::Py_nb_true_divide, number::nb_true_divide),
    // `a += b` etc. write into `a` (NumPy's out=a, same_kind casting). Without these CPython
    // would fall back to `a = a + b`, a new Array, and views of `a` would not see the change.
    slot!(pyo3_ffi::Py_nb_inplace_add, number::nb_inplace_add),
    slot!(pyo3_ffi::Py_nb_inplace_subtract, number::nb_inplace_subtract),
    slot!(pyo3_ffi::Py_nb_inplace_multiply, number::nb_inplace_multiply),
    slot!(pyo3_ffi::Py_nb_inplace_true_divide, number::nb_inplace_true_divide),
    // Unary `-a` and `abs(a)` (abs of complex128 is float64).
    slot!(pyo3_ffi::Py_nb_negative, number::nb_negative),
    slot!(pyo3_ffi::Py_nb_absolute, number::nb_absolute),
    // `== != < <= > >=`, all six through one function with the operator as an int; the result
    // is a bool Array. Setting it also makes the type unhashable unless tp_hash is given (an
    // Array, like an ndarray, is mutable and must not be a dict key): CPython sets tp_hash to
    // PyObject_HashNotImplemented for a type that defines richcompare but not hash.
    slot!(pyo3_ffi::Py_tp_richcompare, number::richcompare),
    // The type's token (3.14+): `{Py_tp_token, Py_TP_USE_SPEC}` makes it the address of SPEC
    // below, a pointer no other extension can have. `object::ArrayObject::downcast` asks
    // `PyType_GetBaseByToken` for it instead of comparing `tp_dealloc` (see `token`).
    #[cfg(Py_3_14)]
    PyType_Slot { slot: pyo3_ffi::Py_tp_token, pfunc: PY_TP_USE_SPEC },
    // The sentinel: CPython stops at the first {0, NULL}.
    PyType_Slot { slot: 0, pfunc: std::ptr::null_mut() },
];
static mut SLOTS: [PyType_Slot; SLOT_LIST.len()] = crate::capi::table::table(SLOT_LIST);

/// `static PyType_Spec Array_spec`.
///
/// Flags: `Py_TPFLAGS_DEFAULT`; `Py_TPFLAGS_IMMUTABLETYPE` (3.10+) so `rawcapi.Array.x = 1`
/// is refused, as for built-in types — the type is shared by every Array of the module and
/// must not be monkey-patched. Not `Py_TPFLAGS_BASETYPE`: no subclasses, so `Py_TYPE(self)` is
/// always this type and its layout is known. `Py_TPFLAGS_HAVE_GC`: an Array holds strong
/// references to its heap type (and through it the module) and to the exporter it views, and
/// the exporter may hold the Array (`self.view = Array.frombuffer(self)`): without the flag
/// such a cycle could never be collected. With it, `tp_alloc` (PyType_GenericAlloc) allocates
/// the GC header and tracks the object, and the inherited `tp_free` becomes `PyObject_GC_Del`
/// (CPython's `inherit_slots`: a GC type whose base frees with `PyObject_Free`).
static mut SPEC: PyType_Spec = PyType_Spec {
    name: c"rawcapi.Array".as_ptr(),
    basicsize: std::mem::size_of::<object::ArrayObject>() as c_int,
    itemsize: 0,
    flags: (pyo3_ffi::Py_TPFLAGS_DEFAULT | pyo3_ffi::Py_TPFLAGS_HAVE_GC | pyo3_ffi::Py_TPFLAGS_IMMUTABLETYPE) as c_uint,
    slots: (&raw mut SLOTS).cast(),
};

/// `Py_TP_USE_SPEC` (Include/object.h, 3.14+: `#define Py_TP_USE_SPEC NULL`): as the value of
/// a `Py_tp_token` slot, "the token is the address of the (static) `PyType_Spec` this type is
/// made from" (Doc/c-api/type.rst, `Py_tp_token`; Modules/xxlimited.c uses it). pyo3-ffi has no
/// constant for it.
#[cfg(Py_3_14)]
const PY_TP_USE_SPEC: *mut c_void = std::ptr::null_mut();

/// The Array type's token: what its `Py_tp_token` slot records (`Py_TP_USE_SPEC`, so SPEC's
/// address). Every rawcapi module object, in every interpreter, builds its Array type from this
/// one SPEC, so they all carry this token; a type from another extension (or another copy of
/// rawcapi's library, whose SPEC is elsewhere) cannot.
#[cfg(Py_3_14)]
pub(crate) fn token() -> *mut c_void {
    (&raw mut SPEC).cast()
}

/// Build the Array type for `module`: `PyType_FromModuleAndSpec` (new reference). The type keeps
/// a strong reference to the module (that is what `PyType_GetModule` returns), and the module
/// state keeps one to the type — a cycle the collector breaks through the module's m_traverse/
/// m_clear and the type's own GC support.
///
/// # Safety
/// `module` is the rawcapi module being executed (borrowed); GIL held.
pub unsafe fn create_type(module: *mut PyObject) -> PyResult<Owned> {
    // SAFETY: SPEC and SLOTS are valid for the call and never written; `module` is a module.
    let ty = unsafe { pyo3_ffi::PyType_FromModuleAndSpec(module, &raw mut SPEC, std::ptr::null_mut()) };
    if ty.is_null() {
        return Err(PyErrSet::fetched());
    }
    // SAFETY: a new reference returned by the call above.
    unsafe { Owned::from_new(ty) }
}

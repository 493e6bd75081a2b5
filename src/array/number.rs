//! The Array's number and comparison protocols: `+ - * /`, their reflected and in-place forms,
//! unary `-`, `abs()`, and `== != < <= > >=`.
//!
//! In C these are the `nb_*` members of a `PyNumberMethods` struct and `tp_richcompare`; a heap
//! type lists them in its `PyType_Slot` table (`{Py_nb_add, Array_add}, ...`), which is how the
//! entries in `src/array/` reach CPython. What each slot receives:
//!
//! - `nb_add(v, w)` is called for `v + w` when `type(v)` *or* `type(w)` has the slot — there is
//!   no separate `__radd__` slot. So `3 - a` arrives as `nb_subtract(3, a)`: the Array may be
//!   either argument, and the order of the arguments is the order of the operands.
//! - An operand the slot does not understand gets `Py_NotImplemented` back (a NEW reference, like
//!   any return value); CPython then tries the other operand's slot, and raises `TypeError:
//!   unsupported operand type(s)` if that declines too. Raising instead would stop a NumPy array
//!   of a dtype rawcapi lacks from handling `a + int16_array` itself.
//! - `nb_inplace_add(v, w)` is `v += w`; `v` is always an Array. It writes into `v` (NumPy's
//!   `np.add(v, w, out=v)`, with the same `same_kind` casting rule) and returns `v` with a new
//!   reference: CPython binds the name to whatever the slot returns.
//! - `tp_richcompare(self, other, op)`: `self` is always an Array (for `3 < a` CPython calls
//!   `a`'s slot with the operands swapped and `op` mirrored, `Py_GT`).
//!
//! Every slot body runs inside `panic::guard`: a Rust panic becomes `SystemError`.

use std::ffi::c_int;
use std::ptr;

use pyo3_ffi::PyObject;

use crate::array::object::ArrayObject;
use crate::array::operand::{self, classify, Operand, Output};
use crate::capi::gil::Python;
use crate::capi::error::PyResult;
use crate::capi::object::not_implemented; // `Py_RETURN_NOTIMPLEMENTED`: a new reference
use crate::capi::panic;
use crate::kernels::array::elementwise::{BinaryOp, UnaryOp};


/// `v op w` for a binary number slot. `v` and `w` are borrowed; one of them is an Array.
unsafe fn binary_slot(op: BinaryOp, v: *mut PyObject, w: *mut PyObject) -> *mut PyObject {
    // SAFETY: called only from the entry points CPython calls attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: v and w are valid (the interpreter passes live borrowed references), GIL held.
        let (Ok(a), Ok(b)) = (unsafe { classify(py, v) }?, unsafe { classify(py, w) }?) else {
            return Ok(not_implemented(py));
        };
        let ty = match (&a, &b) {
            (Operand::Array(x), _) | (_, Operand::Array(x)) => x.array().type_ptr(),
            _ => return Ok(not_implemented(py)),
        };
        // SAFETY: operands alive for the call; `ty` is the Array type (borrowed from an operand).
        unsafe { operand::binary(py, op, &a, &b, Output::New(ty)) }
    })
}

/// `v op= w`: computes into `v`.
unsafe fn inplace_slot(op: BinaryOp, v: *mut PyObject, w: *mut PyObject) -> *mut PyObject {
    // SAFETY: called only from the entry points CPython calls attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: v valid, GIL held.
        let Some(target) = (unsafe { ArrayObject::downcast(v) }) else {
            return Ok(not_implemented(py));
        };
        // SAFETY: w valid, GIL held.
        let Ok(b) = unsafe { classify(py, w) }? else {
            return Ok(not_implemented(py));
        };
        // SAFETY: operands alive for the call.
        unsafe { operand::binary(py, op, &Operand::Array(target.pin()), &b, Output::Array(target.pin())) }
    })
}

macro_rules! number_slots {
    ($($name:ident, $inplace:ident => $op:expr;)*) => {$(
        /// `Py_nb_*`: the arguments are borrowed; returns a new reference or NULL.
        ///
        /// # Safety
        /// Called by the interpreter with the GIL held and two valid objects.
        pub unsafe extern "C" fn $name(v: *mut PyObject, w: *mut PyObject) -> *mut PyObject {
            // SAFETY: forwarded from the interpreter.
            unsafe { binary_slot($op, v, w) }
        }
        /// `Py_nb_inplace_*`: `v` is the Array being updated (borrowed); returns it (new reference).
        ///
        /// # Safety
        /// Called by the interpreter with the GIL held and two valid objects.
        pub unsafe extern "C" fn $inplace(v: *mut PyObject, w: *mut PyObject) -> *mut PyObject {
            // SAFETY: forwarded from the interpreter.
            unsafe { inplace_slot($op, v, w) }
        }
    )*};
}

number_slots! {
    nb_add, nb_inplace_add => BinaryOp::Add;
    nb_subtract, nb_inplace_subtract => BinaryOp::Subtract;
    nb_multiply, nb_inplace_multiply => BinaryOp::Multiply;
    nb_true_divide, nb_inplace_true_divide => BinaryOp::Divide;
}

unsafe fn unary_slot(op: UnaryOp, a: *mut PyObject) -> *mut PyObject {
    // SAFETY: called only from the entry points CPython calls attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        // SAFETY: these slots are only reached through the Array type, so `a` is an Array.
        let array = unsafe { ArrayObject::from_ptr(a) };
        // SAFETY: `array` alive for the call.
        unsafe { operand::unary(py, op, &array.pin().view(), Output::New(array.type_ptr())) }
    })
}

/// `Py_nb_negative`: `-a`.
///
/// # Safety
/// Called by the interpreter with the GIL held; `self` is an Array.
pub unsafe extern "C" fn nb_negative(a: *mut PyObject) -> *mut PyObject {
    // SAFETY: forwarded from the interpreter.
    unsafe { unary_slot(UnaryOp::Negative, a) }
}

/// `Py_nb_absolute`: `abs(a)`.
///
/// # Safety
/// Called by the interpreter with the GIL held; `self` is an Array.
pub unsafe extern "C" fn nb_absolute(a: *mut PyObject) -> *mut PyObject {
    // SAFETY: forwarded from the interpreter.
    unsafe { unary_slot(UnaryOp::Absolute, a) }
}

/// `Py_tp_richcompare`: `self op other` with `op` one of `Py_LT` … `Py_GE`; a bool Array.
///
/// # Safety
/// Called by the interpreter with the GIL held; `self` is an Array.
pub unsafe extern "C" fn richcompare(this: *mut PyObject, other: *mut PyObject, op: c_int) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || -> PyResult<*mut PyObject> {
        let op = match op {
            pyo3_ffi::Py_LT => BinaryOp::Less,
            pyo3_ffi::Py_LE => BinaryOp::LessEqual,
            pyo3_ffi::Py_EQ => BinaryOp::Equal,
            pyo3_ffi::Py_NE => BinaryOp::NotEqual,
            pyo3_ffi::Py_GT => BinaryOp::Greater,
            pyo3_ffi::Py_GE => BinaryOp::GreaterEqual,
            _ => return Ok(not_implemented(py)),
        };
        // SAFETY: tp_richcompare is called with `self` of this type; both borrowed and valid.
        let array = unsafe { ArrayObject::from_ptr(this) };
        // SAFETY: `other` borrowed and valid for the call, GIL held.
        let Ok(b) = unsafe { classify(py, other) }? else {
            return Ok(not_implemented(py));
        };
        // SAFETY: operands alive for the call.
        unsafe { operand::binary(py, op, &Operand::Array(array.pin()), &b, Output::New(array.type_ptr())) }
    })
}

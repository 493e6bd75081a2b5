//! The number protocol: `a + b`, as one loop over the elements.
//!
//! As Python:
//!
//! ```python
//! class Array:
//!     def __add__(self, other):                 # a + b, a + 2.0
//!         ...                                   # equal shapes, or a float/int; else:
//!         return NotImplemented
//!     __radd__ = __add__                        # 2.0 + a
//! ```
//!
//! A C type has no separate `__radd__`: CPython calls the one `nb_add` slot with the operands in
//! their written order, whichever of them has the slot.

use std::ptr;

use pyo3_ffi::PyObject;

use crate::array::{as_array, new_zeroed, values_mut, ArrayObject, Pin};
use crate::error::{raise, try_guard, Exc};
use crate::gil::Python;

/// One side of the addition, read: an Array's elements (in C order), or one number.
enum Operand<'a> {
    Values(&'a [f64]),
    Number(f64),
}

impl Operand<'_> {
    #[inline]
    fn at(&self, i: usize) -> f64 {
        match self {
            Operand::Values(values) => values[i],
            Operand::Number(x) => *x,
        }
    }
}

/// The Array behind `obj`, if it is one: its type is the `Array` of a module object made from
/// this extension's definition (any of them: two imports from one spec have two Array types).
/// Here `None` is an answer, "not an Array", with no exception set.
///
/// # Safety
/// `obj` is a valid object (borrowed); attached.
unsafe fn array_of<'a>(py: Python<'_>, obj: *mut PyObject) -> Option<&'a ArrayObject> {
    // SAFETY: attached; Py_TYPE is borrowed. PyType_GetModuleByDef (3.11) walks the type's MRO
    // for a heap type made by a module of this definition: a BORROWED module, or NULL with
    // TypeError set when there is none (a float, a list...), which is not an error here.
    let ty = unsafe { pyo3_ffi::Py_TYPE(obj) };
    let module = unsafe { pyo3_ffi::PyType_GetModuleByDef(ty, &raw mut crate::MODULE) };
    if module.is_null() {
        // SAFETY: attached. PyType_GetModuleByDef runs no Python code, and the one exception it
        // sets is this TypeError (Objects/typeobject.c), the answer "not ours", not a failure.
        unsafe { pyo3_ffi::PyErr_Clear() };
        return None;
    }
    // SAFETY: `module` is a live module of this extension (the type holds a reference to it).
    // Never None: the module made this type in its exec slot, after its state was allocated.
    let state = unsafe { crate::state(py, module) }?;
    // SAFETY: a type whose `ob_type` is the module's Array type is an ArrayObject.
    (state.array_type == ty.cast()).then(|| unsafe { as_array(obj) })
}

/// `nb_add(v, w)`: `v + w`, where `v` or `w` (or both) is an Array. The references are
/// borrowed; the result is a NEW reference: a new Array, or `NotImplemented`.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
pub unsafe extern "C" fn nb_add(v: *mut PyObject, w: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls number slots attached.
    let py = unsafe { Python::assume_attached() };
    try_guard(py, ptr::null_mut(), || {
        // SAFETY: attached; `v` and `w` are valid borrowed references.
        let (array_v, array_w) = unsafe { (array_of(py, v), array_of(py, w)) };
        // The type of the result: the first Array operand's. CPython calls this slot only
        // because `v` or `w` has it, so one of them is an Array.
        let Some(template) = array_v.or(array_w) else {
            return Some(not_implemented(py));
        };
        // Pins: the layouts cannot change while they are read (a + a pins `a` twice).
        let pin_v = match array_v { Some(a) => Some(a.pin(py)?), None => None };
        let pin_w = match array_w { Some(a) => Some(a.pin(py)?), None => None };
        let shape = match (&pin_v, &pin_w) {
            (Some(a), Some(b)) if a.shape() != b.shape() => {
                let message = format!("cannot add Arrays of shapes {} and {}", tuple_text(a.shape()), tuple_text(b.shape()));
                return raise(py, Exc::ValueError, &message);
            }
            (Some(pin), _) | (None, Some(pin)) => pin.shape().iter().map(|&n| n as usize).collect::<Vec<_>>(),
            (None, None) => unreachable!("`template` is one of them"),
        };
        // SAFETY (both): attached; `v`/`w` valid. None: a type this slot does not handle.
        let Some(left) = (unsafe { operand(py, v, pin_v.as_ref()) })? else {
            return Some(not_implemented(py));
        };
        let Some(right) = (unsafe { operand(py, w, pin_w.as_ref()) })? else {
            return Some(not_implemented(py));
        };
        // SAFETY: attached; Py_TYPE of a live Array is the Array type (borrowed).
        let ty = unsafe { pyo3_ffi::Py_TYPE(template as *const ArrayObject as *mut PyObject) };
        // SAFETY: `ty` is an Array type.
        let result = unsafe { new_zeroed(py, ty, &shape) }?;
        // SAFETY: `result` is new; no other code has a reference to it or its memory.
        let out = unsafe { values_mut(&result) };
        // The loop: one pass, one add per element, in C order on every operand.
        for (i, o) in out.iter_mut().enumerate() {
            *o = left.at(i) + right.at(i);
        }
        Some(result.into_raw())
    })
}

/// A shape as Python prints the tuple: `(2, 3)`, `(4,)`, `()`.
fn tuple_text(shape: &[isize]) -> String {
    let items: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
    match items.len() {
        1 => format!("({},)", items[0]),
        _ => format!("({})", items.join(", ")),
    }
}

/// One operand: the pinned Array's elements, or a float or int as a double (`float(x)`'s
/// rules; OverflowError for an int beyond the double range). `Some(None)`: a type not handled
/// here; `None`, as everywhere: an exception is set.
///
/// # Safety
/// `obj` is a valid object (borrowed); attached.
unsafe fn operand<'a>(_py: Python<'_>, obj: *mut PyObject, pin: Option<&'a Pin<'_>>) -> Option<Option<Operand<'a>>> {
    if let Some(pin) = pin {
        return Some(Some(Operand::Values(pin.values())));
    }
    // SAFETY: attached; the checks only read the type (bool is an int subclass: True + a works).
    if unsafe { pyo3_ffi::PyFloat_Check(obj) == 0 && pyo3_ffi::PyLong_Check(obj) == 0 } {
        return Some(None);
    }
    // SAFETY: attached; -1.0 with an exception set means failure.
    let x = unsafe { pyo3_ffi::PyFloat_AsDouble(obj) };
    if x == -1.0 && unsafe { !pyo3_ffi::PyErr_Occurred().is_null() } {
        return None;
    }
    Some(Some(Operand::Number(x)))
}

/// `Py_RETURN_NOTIMPLEMENTED`: a NEW reference to the singleton. CPython then tries the other
/// operand's slot, and raises "unsupported operand type(s)" if that declines too.
fn not_implemented(_py: Python<'_>) -> *mut PyObject {
    // SAFETY: attached (the token); Py_NotImplemented is borrowed, the INCREF makes the
    // returned reference ours to give (a no-op on immortal objects from 3.12, required before).
    unsafe {
        let object = pyo3_ffi::Py_NotImplemented();
        pyo3_ffi::Py_INCREF(object);
        object
    }
}

//! course03: step 02's module, called the fast way (`METH_O`, `METH_FASTCALL`), reading
//! buffers of any layout through a `Buffer` guard.
//!
//! The module, as Python:
//!
//! ```python
//! def fast_sum(data, /):                   # data: any buffer, any layout
//!     return sum(memoryview(data).tobytes())
//!
//! def mean(data, /):
//!     raw = memoryview(data).tobytes()
//!     if not raw:
//!         raise ValueError("mean of an empty buffer")
//!     return sum(raw) / len(raw)
//!
//! def sum_and_len(data, /):
//!     raw = memoryview(data).tobytes()
//!     return (sum(raw), len(raw))
//!
//! def pick(condition, if_true, if_false, /):
//!     return if_true if condition else if_false
//!
//! def _panic(message):                     # a Rust panic, raised as SystemError
//!     raise SystemError(f"course03 panicked: {message}")
//!
//! def _panic_holding(data, /):             # the same, while a buffer of data is held
//!     raise SystemError("course03 panicked: holding a buffer")
//! ```

mod buffer;
mod owned;
mod panic;

use std::ffi::{c_char, CStr};
use std::ptr;

use pyo3_ffi::{
    PyArg_ParseTuple, PyErr_Format, PyErr_SetString, PyExc_TypeError, PyExc_ValueError,
    PyFloat_FromDouble, PyLong_FromSsize_t, PyLong_FromUnsignedLongLong, PyMethodDef,
    PyMethodDefPointer, PyModuleDef, PyModuleDef_HEAD_INIT, PyModule_Create2, PyObject,
    PyObject_IsTrue, PyTuple_New, PyTuple_SetItem, Py_INCREF, Py_ssize_t, METH_FASTCALL, METH_O,
    METH_VARARGS, PYTHON_API_VERSION,
};

use crate::buffer::{Buffer, ANY_LAYOUT};
use crate::owned::Owned;
use crate::panic::guard;

/// The sum of the bytes of every item, in any layout.
fn sum_bytes(buffer: &Buffer) -> u64 {
    let mut total: u64 = 0;
    buffer.for_each_item(&mut |item| {
        for &byte in item {
            total = total.wrapping_add(byte as u64);
        }
    });
    total
}

/// `fast_sum(data, /)`: the sum of the bytes of any buffer.
///
/// # Safety
/// Called by CPython only, through the method table below (METH_O: `data` is the one argument,
/// borrowed), with the GIL held.
unsafe extern "C" fn fast_sum(_module: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    guard(|| {
        // SAFETY: `data` is a valid object (borrowed for the call) and the GIL is held.
        let Some(buffer) = (unsafe { Buffer::get(data, ANY_LAYOUT) }) else {
            return ptr::null_mut(); // exception set by PyObject_GetBuffer
        };
        let total = sum_bytes(&buffer);
        // SAFETY: GIL held. A new reference, handed straight to our caller (or NULL with
        // MemoryError set). `buffer` is released when it goes out of scope, after this call.
        unsafe { PyLong_FromUnsignedLongLong(total) }
    })
}

/// `mean(data, /)`: the mean of the bytes, a float; `ValueError` for an empty buffer.
///
/// # Safety
/// As for `fast_sum`.
unsafe extern "C" fn mean(_module: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    guard(|| {
        // SAFETY: as in `fast_sum`.
        let Some(buffer) = (unsafe { Buffer::get(data, ANY_LAYOUT) }) else {
            return ptr::null_mut();
        };
        let len = buffer.len_bytes();
        if len == 0 {
            // SAFETY: GIL held. PyExc_ValueError is a borrowed reference to the class;
            // PyErr_SetString copies the message. `buffer` is released by the return.
            unsafe { PyErr_SetString(PyExc_ValueError, c"mean of an empty buffer".as_ptr()) };
            return ptr::null_mut();
        }
        let total = sum_bytes(&buffer);
        // SAFETY: GIL held. A new reference for our caller, or NULL with MemoryError set.
        unsafe { PyFloat_FromDouble(total as f64 / len as f64) }
    })
}

/// `sum_and_len(data, /)`: the tuple `(sum, len)`, built by hand.
///
/// # Safety
/// As for `fast_sum`.
unsafe extern "C" fn sum_and_len(_module: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    guard(|| {
        // SAFETY: as in `fast_sum`.
        let Some(buffer) = (unsafe { Buffer::get(data, ANY_LAYOUT) }) else {
            return ptr::null_mut();
        };
        let (total, len) = (sum_bytes(&buffer), buffer.len_bytes() as Py_ssize_t);
        drop(buffer); // the memory is read; let the exporter go before building the result

        // SAFETY: GIL held. PyTuple_New returns a new reference (NULL with MemoryError set).
        let Some(tuple) = (unsafe { Owned::from_new(PyTuple_New(2)) }) else {
            return ptr::null_mut();
        };
        // SAFETY: GIL held. A new reference, or NULL with MemoryError set; on that path
        // `tuple` is dropped (Py_DECREF) by the return.
        let Some(sum) = (unsafe { Owned::from_new(PyLong_FromUnsignedLongLong(total)) }) else {
            return ptr::null_mut();
        };
        // PyTuple_SetItem steals the item: into_raw hands our reference over without a
        // Py_DECREF. It steals it also when it fails, so the error path has nothing to release
        // but the tuple.
        // SAFETY: GIL held; `tuple` is a new tuple of length 2 that no one else has seen.
        if unsafe { PyTuple_SetItem(tuple.as_ptr(), 0, sum.into_raw()) } < 0 {
            return ptr::null_mut();
        }
        // SAFETY: as for `sum`.
        let Some(count) = (unsafe { Owned::from_new(PyLong_FromSsize_t(len)) }) else {
            return ptr::null_mut();
        };
        // SAFETY: as above.
        if unsafe { PyTuple_SetItem(tuple.as_ptr(), 1, count.into_raw()) } < 0 {
            return ptr::null_mut();
        }
        tuple.into_raw() // our new reference becomes the caller's
    })
}

/// `pick(condition, if_true, if_false, /)`: one of the two arguments, itself.
///
/// # Safety
/// Called by CPython only, through the method table below (METH_FASTCALL: `args` points to
/// `nargs` borrowed references), with the GIL held.
unsafe extern "C" fn pick(_module: *mut PyObject, args: *mut *mut PyObject, nargs: Py_ssize_t) -> *mut PyObject {
    guard(|| {
        if nargs != 3 {
            // SAFETY: GIL held; "%zd" formats a Py_ssize_t, as the variadic argument is.
            unsafe { PyErr_Format(PyExc_TypeError, c"pick expected 3 arguments, got %zd".as_ptr(), nargs) };
            return ptr::null_mut();
        }
        // SAFETY: CPython passes `nargs` (here 3) valid pointers, borrowed for the call.
        let (condition, if_true, if_false) = unsafe { (*args, *args.add(1), *args.add(2)) };
        // PyObject_IsTrue may run Python code (a __bool__ method), which may raise: -1.
        // SAFETY: GIL held; `condition` is borrowed and alive for the call.
        let truth = unsafe { PyObject_IsTrue(condition) };
        if truth < 0 {
            return ptr::null_mut(); // exception set by __bool__ (or __len__)
        }
        let chosen = if truth != 0 { if_true } else { if_false };
        // A function returns a new reference; a borrowed one becomes new with Py_INCREF
        // (C: `return Py_NewRef(chosen);`). Without it, the caller's eventual Py_DECREF would
        // release a reference that the caller's own frame still counts as its own.
        // SAFETY: GIL held; `chosen` is alive, borrowed from the caller.
        unsafe { Py_INCREF(chosen) };
        chosen
    })
}

/// `_panic(message)`: panics, to show (and test) that a panic becomes SystemError.
///
/// # Safety
/// Called by CPython only, through the method table below (METH_VARARGS: `args` is a tuple),
/// with the GIL held.
unsafe extern "C" fn panic_on_purpose(_module: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    guard(|| {
        let mut message: *const c_char = ptr::null();
        // "s": a str, as a pointer to its UTF-8 text, borrowed from the str object.
        // SAFETY: `args` is the argument tuple (borrowed); "s" takes one `const char **`.
        if unsafe { PyArg_ParseTuple(args, c"s".as_ptr(), &mut message as *mut *const c_char) } == 0 {
            return ptr::null_mut();
        }
        // SAFETY: "s" gave a NUL-terminated string that lives as long as the argument tuple.
        let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
        panic!("{text}")
    })
}

/// `_panic_holding(data, /)`: panics while a buffer of `data` is held; the unwinding drops the
/// `Buffer`, which releases it.
///
/// # Safety
/// As for `fast_sum`.
unsafe extern "C" fn panic_holding(_module: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    guard(|| {
        // SAFETY: as in `fast_sum`.
        let Some(_buffer) = (unsafe { Buffer::get(data, ANY_LAYOUT) }) else {
            return ptr::null_mut();
        };
        panic!("holding a buffer")
    })
}

// The tables are `static mut`: CPython takes them as `PyMethodDef *` / `PyModuleDef *` and
// writes into the module definition (its m_base), so they must be mutable and never move.
static mut METHODS: [PyMethodDef; 7] = [
    PyMethodDef {
        ml_name: c"fast_sum".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: fast_sum },
        ml_flags: METH_O,
        ml_doc: c"Sum the bytes of a buffer of any layout.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"mean".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: mean },
        ml_flags: METH_O,
        ml_doc: c"The mean of the bytes of a buffer; ValueError if it is empty.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"sum_and_len".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: sum_and_len },
        ml_flags: METH_O,
        ml_doc: c"The tuple (sum of the bytes, number of bytes).".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"pick".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionFast: pick },
        ml_flags: METH_FASTCALL,
        ml_doc: c"pick(condition, if_true, if_false): if_true if condition else if_false.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_panic".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: panic_on_purpose },
        ml_flags: METH_VARARGS,
        ml_doc: c"Panic in Rust with the given message; raises SystemError.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_panic_holding".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: panic_holding },
        ml_flags: METH_O,
        ml_doc: c"Panic in Rust while a buffer of the argument is held; raises SystemError.".as_ptr(),
    },
    PyMethodDef::zeroed(), // sentinel
];

static mut MODULE: PyModuleDef = PyModuleDef {
    m_base: PyModuleDef_HEAD_INIT,
    m_name: c"course03".as_ptr(),
    m_doc: c"Fast calling conventions, and buffers of any layout.".as_ptr(),
    m_size: -1, // single-phase: no per-module state, no subinterpreter support
    m_methods: &raw mut METHODS as *mut PyMethodDef,
    m_slots: ptr::null_mut(),
    m_traverse: None,
    m_clear: None,
    m_free: None,
};

/// The module's entry point: `import course03` calls it once per process.
///
/// # Safety
/// Called by the import system, with the GIL held.
#[no_mangle]
pub unsafe extern "C" fn PyInit_course03() -> *mut PyObject {
    // PyModule_Create(&def) is a C macro for PyModule_Create2(&def, PYTHON_API_VERSION).
    // SAFETY: GIL held; MODULE is a static, so it outlives the module as CPython
    // requires. Returns a new reference to the module (NULL with an exception set on failure).
    unsafe { PyModule_Create2(&raw mut MODULE, PYTHON_API_VERSION) }
}

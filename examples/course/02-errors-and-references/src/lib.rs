//! course02: step 01's module, with errors of its own, panics caught at the C boundary, and
//! references whose ownership is spelled out.
//!
//! The module, as Python:
//!
//! ```python
//! def fast_sum(data):                      # data: any C-contiguous bytes-like object
//!     return sum(memoryview(data).tobytes())
//!
//! def mean(data):
//!     raw = memoryview(data).tobytes()
//!     if not raw:
//!         raise ValueError("mean of an empty buffer")
//!     return sum(raw) / len(raw)
//!
//! def sum_and_len(data):
//!     raw = memoryview(data).tobytes()
//!     return (sum(raw), len(raw))
//!
//! def pick(condition, if_true, if_false):
//!     return if_true if condition else if_false
//!
//! def _panic(message):                     # a Rust panic, raised as SystemError
//!     raise SystemError(f"course02 panicked: {message}")
//! ```

mod owned;
mod panic;

use std::ffi::{c_char, c_int, CStr};
use std::ptr;

use pyo3_ffi::{
    PyArg_ParseTuple, PyBuffer_Release, PyErr_SetString, PyExc_ValueError, PyFloat_FromDouble,
    PyLong_FromSsize_t, PyLong_FromUnsignedLongLong, PyMethodDef, PyMethodDefPointer, PyModuleDef,
    PyModuleDef_HEAD_INIT, PyModule_Create2, PyObject, PyTuple_New, PyTuple_SetItem, Py_INCREF,
    Py_buffer, METH_VARARGS, PYTHON_API_VERSION,
};

use crate::owned::Owned;
use crate::panic::guard;

/// The sum of the bytes of a filled C-contiguous view.
///
/// # Safety
/// `view` was filled by a request for a C-contiguous buffer (`"y*"`) and not yet released.
unsafe fn sum_bytes(view: &Py_buffer) -> u64 {
    let mut total: u64 = 0;
    let data = view.buf as *const u8;
    for i in 0..view.len {
        // SAFETY: a C-contiguous buffer of view.len bytes starts at view.buf (the caller's
        // promise), and 0 <= i < view.len.
        total = total.wrapping_add(unsafe { *data.offset(i) } as u64);
    }
    total
}

/// `fast_sum(data)`: the sum of the bytes of a C-contiguous buffer.
///
/// # Safety
/// Called by CPython only, through the method table below (METH_VARARGS: `args` is a tuple),
/// with the GIL held.
unsafe extern "C" fn fast_sum(_module: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    guard(|| {
        let mut view = Py_buffer::new();
        // SAFETY: `args` is the argument tuple (borrowed); "y*" takes one `Py_buffer *`, and
        // `view` does not move until it is released below. On success view.obj holds a new
        // reference to the exporter.
        if unsafe { PyArg_ParseTuple(args, c"y*".as_ptr(), &mut view as *mut Py_buffer) } == 0 {
            return ptr::null_mut(); // exception set by PyArg_ParseTuple
        }
        // SAFETY: "y*" filled `view` with a C-contiguous buffer.
        let total = unsafe { sum_bytes(&view) };
        // SAFETY: filled above, released once; drops the reference in view.obj.
        unsafe { PyBuffer_Release(&mut view) };
        // SAFETY: GIL held. A new reference, handed straight to our caller (or NULL with
        // MemoryError set).
        unsafe { PyLong_FromUnsignedLongLong(total) }
    })
}

/// `mean(data)`: the mean of the bytes, a float; `ValueError` for an empty buffer.
///
/// # Safety
/// As for `fast_sum`.
unsafe extern "C" fn mean(_module: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    guard(|| {
        let mut view = Py_buffer::new();
        // SAFETY: as in `fast_sum`.
        if unsafe { PyArg_ParseTuple(args, c"y*".as_ptr(), &mut view as *mut Py_buffer) } == 0 {
            return ptr::null_mut();
        }
        let len = view.len;
        // SAFETY: "y*" filled `view` with a C-contiguous buffer.
        let total = unsafe { sum_bytes(&view) };
        // Released before the error check: the error path must release it too, and this way
        // there is one release for both paths.
        // SAFETY: filled above, released once.
        unsafe { PyBuffer_Release(&mut view) };
        if len == 0 {
            // SAFETY: GIL held. PyExc_ValueError is a borrowed reference to the class;
            // PyErr_SetString copies the message. Then NULL: "an exception is set".
            unsafe { PyErr_SetString(PyExc_ValueError, c"mean of an empty buffer".as_ptr()) };
            return ptr::null_mut();
        }
        // SAFETY: GIL held. A new reference for our caller, or NULL with MemoryError set.
        unsafe { PyFloat_FromDouble(total as f64 / len as f64) }
    })
}

/// `sum_and_len(data)`: the tuple `(sum, len)`, built by hand.
///
/// # Safety
/// As for `fast_sum`.
unsafe extern "C" fn sum_and_len(_module: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    guard(|| {
        let mut view = Py_buffer::new();
        // SAFETY: as in `fast_sum`.
        if unsafe { PyArg_ParseTuple(args, c"y*".as_ptr(), &mut view as *mut Py_buffer) } == 0 {
            return ptr::null_mut();
        }
        let len = view.len;
        // SAFETY: "y*" filled `view` with a C-contiguous buffer.
        let total = unsafe { sum_bytes(&view) };
        // SAFETY: filled above, released once.
        unsafe { PyBuffer_Release(&mut view) };

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

/// `pick(condition, if_true, if_false)`: one of the two arguments, itself.
///
/// # Safety
/// As for `fast_sum`.
unsafe extern "C" fn pick(_module: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    guard(|| {
        let mut condition: c_int = 0;
        let mut if_true: *mut PyObject = ptr::null_mut();
        let mut if_false: *mut PyObject = ptr::null_mut();
        // "p" is a truth test into a C int; "O" stores a *borrowed* reference: the argument
        // tuple keeps the object alive, and we do not own it.
        // SAFETY: `args` is the argument tuple (borrowed); the pointers match the format.
        let parsed = unsafe {
            PyArg_ParseTuple(
                args,
                c"pOO".as_ptr(),
                &mut condition as *mut c_int,
                &mut if_true as *mut *mut PyObject,
                &mut if_false as *mut *mut PyObject,
            )
        };
        if parsed == 0 {
            return ptr::null_mut();
        }
        let chosen = if condition != 0 { if_true } else { if_false };
        // A function returns a new reference; a borrowed one becomes new with Py_INCREF
        // (C: `return Py_NewRef(chosen);`). Without it, the caller's eventual Py_DECREF would
        // release a reference that the argument tuple still counts as its own.
        // SAFETY: GIL held; `chosen` is alive, borrowed from `args`.
        unsafe { Py_INCREF(chosen) };
        chosen
    })
}

/// `_panic(message)`: panics, to show (and test) that a panic becomes SystemError.
///
/// # Safety
/// As for `fast_sum`.
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

// The tables are `static mut`: CPython takes them as `PyMethodDef *` / `PyModuleDef *` and
// writes into the module definition (its m_base), so they must be mutable and never move.
static mut METHODS: [PyMethodDef; 6] = [
    PyMethodDef {
        ml_name: c"fast_sum".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: fast_sum },
        ml_flags: METH_VARARGS,
        ml_doc: c"Sum the bytes of a C-contiguous buffer.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"mean".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: mean },
        ml_flags: METH_VARARGS,
        ml_doc: c"The mean of the bytes of a C-contiguous buffer; ValueError if it is empty.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"sum_and_len".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: sum_and_len },
        ml_flags: METH_VARARGS,
        ml_doc: c"The tuple (sum of the bytes, number of bytes).".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"pick".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: pick },
        ml_flags: METH_VARARGS,
        ml_doc: c"pick(condition, if_true, if_false): if_true if condition else if_false.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_panic".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: panic_on_purpose },
        ml_flags: METH_VARARGS,
        ml_doc: c"Panic in Rust with the given message; raises SystemError.".as_ptr(),
    },
    PyMethodDef::zeroed(), // sentinel
];

static mut MODULE: PyModuleDef = PyModuleDef {
    m_base: PyModuleDef_HEAD_INIT,
    m_name: c"course02".as_ptr(),
    m_doc: c"Errors, panics and reference ownership, on the article's fast_sum.".as_ptr(),
    m_size: -1, // single-phase: no per-module state, no subinterpreter support
    m_methods: &raw mut METHODS as *mut PyMethodDef,
    m_slots: ptr::null_mut(),
    m_traverse: None,
    m_clear: None,
    m_free: None,
};

/// The module's entry point: `import course02` calls it once per process.
///
/// # Safety
/// Called by the import system, with the GIL held.
#[no_mangle]
pub unsafe extern "C" fn PyInit_course02() -> *mut PyObject {
    // PyModule_Create(&def) is a C macro for PyModule_Create2(&def, PYTHON_API_VERSION).
    // SAFETY: GIL held; MODULE is a static, so it outlives the module as CPython
    // requires. Returns a new reference to the module (NULL with an exception set on failure).
    unsafe { PyModule_Create2(&raw mut MODULE, PYTHON_API_VERSION) }
}

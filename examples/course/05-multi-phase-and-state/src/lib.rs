//! course05: step 04's module, initialised in two phases (PEP 489), with per-module state: its
//! own exception class and a count of `fast_sum` calls.
//!
//! The module, as Python, one copy of it per module object (per interpreter, per import from a
//! spec):
//!
//! ```python
//! class Error(TypeError):                  # fast_sum's argument has no buffer protocol
//!     pass
//!
//! _calls = 0
//!
//! def fast_sum(data, /):                   # data: any buffer, any layout; other threads run
//!     global _calls                         # during the scan of a large one
//!     _calls += 1
//!     try:
//!         view = memoryview(data)
//!     except TypeError:
//!         raise Error(f"a bytes-like object is required, not {type(data).__name__!r}")
//!     return sum(view.tobytes())
//!
//! def calls():                             # fast_sum calls through this module object
//!     return _calls
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
//!     raise SystemError(f"course05 panicked: {message}")
//!
//! def _panic_holding(data, /):             # the same, while a buffer of data is held
//!     raise SystemError("course05 panicked: holding a buffer")
//!
//! def _sum_holding_gil(data, /):           # fast_sum, holding the GIL throughout
//!     return sum(memoryview(data).tobytes())
//! ```

mod buffer;
mod gil;
mod owned;
mod panic;

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3_ffi::{
    PyArg_ParseTuple, PyErr_Format, PyErr_SetString, PyExc_TypeError, PyExc_ValueError,
    PyFloat_FromDouble, PyLong_FromSsize_t, PyLong_FromUnsignedLongLong, PyMethodDef,
    PyMethodDefPointer, PyModuleDef, PyModuleDef_HEAD_INIT, PyModuleDef_Init, PyModuleDef_Slot,
    PyObject, PyObject_IsTrue, PyTuple_New, PyTuple_SetItem, Py_INCREF, Py_ssize_t, METH_FASTCALL,
    METH_NOARGS, METH_O, METH_VARARGS,
};

use crate::buffer::{Buffer, Layout, ANY_LAYOUT};
use crate::gil::Python;
use crate::owned::Owned;
use crate::panic::guard;

/// Below this many bytes a scan keeps the GIL. Giving it away and taking it back costs little
/// on its own, but if another thread took the GIL meanwhile, the take-back waits for it to let
/// go: a switch interval (`sys.getswitchinterval()`, 5 ms by default) or more. A scan this
/// small takes microseconds.
const RELEASE_THRESHOLD: usize = 1 << 16;

/// The sum of the bytes of every item, in any layout. Plain Rust: no token, no Python object.
fn sum_bytes(layout: Layout<'_>) -> u64 {
    let mut total: u64 = 0;
    layout.for_each_item(&mut |item| {
        for &byte in item {
            total = total.wrapping_add(byte as u64);
        }
    });
    total
}

/// [`sum_bytes`] of a held buffer, with the GIL released when the buffer is large.
fn scan(py: Python<'_>, buffer: &Buffer) -> u64 {
    let layout = buffer.layout();
    if buffer.len_bytes() < RELEASE_THRESHOLD {
        return sum_bytes(layout);
    }
    // `layout` is plain data borrowed from `buffer`, which stays held (and the memory exported)
    // until after the GIL is back; `buffer` and `py` themselves cannot enter the closure.
    py.allow_threads(move || sum_bytes(layout))
}

/// The module state: `m_size` bytes that CPython allocates, zeroed, for each module object, in
/// `PyModule_ExecDef` just before the exec slot runs. A C module would keep `Error` in a C
/// `static`, shared by every interpreter that imports it; here each module object has its own.
#[repr(C)]
struct State {
    /// The module's `Error` class, a strong reference (NULL until exec, and again after `m_clear`).
    error: *mut PyObject,
    /// `fast_sum` calls through this module object. Atomic: with the GIL released, or on a
    /// free-threaded build, two threads may count at once; zero bytes are a valid zero.
    calls: AtomicU64,
}

/// `(State *)PyModule_GetState(module)`, to read, through the token: shared, and borrowed for no
/// longer than `'py`, so no `&State` outlives the call that asked for it. `None`: an exception
/// is set.
///
/// # Safety
/// `module` is a module object of this extension (borrowed) that has run its exec slot.
unsafe fn state<'py>(_py: Python<'py>, module: *mut PyObject) -> Option<&'py State> {
    // SAFETY: GIL held (the token); `module` is a module (caller). Borrowed pointer to its
    // state block, NULL with an exception set when `module` is not a module.
    let block = unsafe { pyo3_ffi::PyModule_GetState(module) } as *const State;
    if block.is_null() {
        return None;
    }
    // SAFETY: the block is size_of::<State>() bytes, pointer-aligned (PyMem_Malloc), written
    // only by exec (before any function of this module can run) and by m_clear (when the module
    // is being destroyed, so no call into it is running).
    Some(unsafe { &*block })
}

/// `fast_sum(data, /)`: the sum of the bytes of any buffer; the module's `Error` for an object
/// without the buffer protocol.
///
/// # Safety
/// Called by CPython only, through the method table below (METH_O: `module` is the module
/// object the function was called on, `data` the one argument, borrowed), with the GIL held.
unsafe extern "C" fn fast_sum(module: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls module functions with the GIL held.
    let py = unsafe { Python::assume_attached() };
    guard(py, ptr::null_mut(), || {
        // SAFETY: CPython passes the module this function was created for (PyModule_FromDefAndSpec
        // binds each function of m_methods to it, as the function's `self`).
        let Some(state) = (unsafe { state(py, module) }) else {
            return ptr::null_mut();
        };
        state.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: GIL held; `data` is a valid borrowed reference.
        if unsafe { pyo3_ffi::PyObject_CheckBuffer(data) } == 0 {
            raise_error(py, state, data);
            return ptr::null_mut();
        }
        // SAFETY: `data` is a valid object (borrowed for the call).
        let Some(buffer) = (unsafe { Buffer::get(py, data, ANY_LAYOUT) }) else {
            return ptr::null_mut(); // exception set by PyObject_GetBuffer
        };
        let total = scan(py, &buffer);
        // SAFETY: GIL held. A new reference, handed straight to our caller (or NULL with
        // MemoryError set). `buffer` is released when it goes out of scope, after this call.
        unsafe { PyLong_FromUnsignedLongLong(total) }
    })
}

/// Raise the module's own `Error`, found in the state of the module that was called.
fn raise_error(_py: Python<'_>, state: &State, data: *mut PyObject) {
    // SAFETY: GIL held (the token); `data` is valid. Py_TYPE is borrowed, tp_name a C string
    // owned by the type.
    let name = unsafe { CStr::from_ptr((*pyo3_ffi::Py_TYPE(data)).tp_name) };
    // The exporter's own wording (PyObject_GetBuffer's), so only the class is new.
    let text = format!("a bytes-like object is required, not '{}'", name.to_string_lossy());
    let text = std::ffi::CString::new(text).unwrap_or_default();
    // SAFETY: GIL held; the class is a live exception class (the state holds a strong reference
    // to `error`; once m_clear has run, PyExc_TypeError, set before any module code runs).
    // PyErr_SetString borrows it and takes its own reference; the text is copied.
    unsafe {
        let class = if state.error.is_null() { PyExc_TypeError } else { state.error };
        PyErr_SetString(class, text.as_ptr())
    };
}

/// `calls()`: METH_NOARGS, so the second argument is always NULL.
///
/// # Safety
/// Called by CPython only, through the method table below, with the GIL held.
unsafe extern "C" fn calls(module: *mut PyObject, _unused: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls module functions with the GIL held.
    let py = unsafe { Python::assume_attached() };
    guard(py, ptr::null_mut(), || {
        // SAFETY: as in fast_sum.
        let Some(state) = (unsafe { state(py, module) }) else {
            return ptr::null_mut();
        };
        // SAFETY: GIL held. A new reference for our caller, or NULL with MemoryError set.
        unsafe { PyLong_FromUnsignedLongLong(state.calls.load(Ordering::Relaxed)) }
    })
}

/// `mean(data, /)`: the mean of the bytes, a float; `ValueError` for an empty buffer.
///
/// # Safety
/// As for `fast_sum`.
unsafe extern "C" fn mean(_module: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls module functions with the GIL held.
    let py = unsafe { Python::assume_attached() };
    guard(py, ptr::null_mut(), || {
        // SAFETY: as in `fast_sum`.
        let Some(buffer) = (unsafe { Buffer::get(py, data, ANY_LAYOUT) }) else {
            return ptr::null_mut();
        };
        let len = buffer.len_bytes();
        if len == 0 {
            // SAFETY: GIL held. PyExc_ValueError is a borrowed reference to the class;
            // PyErr_SetString copies the message. `buffer` is released by the return.
            unsafe { PyErr_SetString(PyExc_ValueError, c"mean of an empty buffer".as_ptr()) };
            return ptr::null_mut();
        }
        let total = scan(py, &buffer);
        // SAFETY: GIL held. A new reference for our caller, or NULL with MemoryError set.
        unsafe { PyFloat_FromDouble(total as f64 / len as f64) }
    })
}

/// `sum_and_len(data, /)`: the tuple `(sum, len)`, built by hand.
///
/// # Safety
/// As for `fast_sum`.
unsafe extern "C" fn sum_and_len(_module: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls module functions with the GIL held.
    let py = unsafe { Python::assume_attached() };
    guard(py, ptr::null_mut(), || {
        // SAFETY: as in `fast_sum`.
        let Some(buffer) = (unsafe { Buffer::get(py, data, ANY_LAYOUT) }) else {
            return ptr::null_mut();
        };
        let (total, len) = (scan(py, &buffer), buffer.len_bytes() as Py_ssize_t);
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
    // SAFETY: CPython calls module functions with the GIL held.
    let py = unsafe { Python::assume_attached() };
    guard(py, ptr::null_mut(), || {
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
    // SAFETY: CPython calls module functions with the GIL held.
    let py = unsafe { Python::assume_attached() };
    guard(py, ptr::null_mut(), || {
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
    // SAFETY: CPython calls module functions with the GIL held.
    let py = unsafe { Python::assume_attached() };
    guard(py, ptr::null_mut(), || {
        // SAFETY: as in `fast_sum`.
        let Some(_buffer) = (unsafe { Buffer::get(py, data, ANY_LAYOUT) }) else {
            return ptr::null_mut();
        };
        panic!("holding a buffer")
    })
}

/// `_sum_holding_gil(data, /)`: `fast_sum` without the release, for comparison (the tests'
/// control: no other thread runs during its scan).
///
/// # Safety
/// As for `fast_sum`.
unsafe extern "C" fn sum_holding_gil(_module: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls module functions with the GIL held.
    let py = unsafe { Python::assume_attached() };
    guard(py, ptr::null_mut(), || {
        // SAFETY: as in `fast_sum`.
        let Some(buffer) = (unsafe { Buffer::get(py, data, ANY_LAYOUT) }) else {
            return ptr::null_mut();
        };
        let total = sum_bytes(buffer.layout());
        // SAFETY: GIL held. A new reference for our caller, or NULL with MemoryError set.
        unsafe { PyLong_FromUnsignedLongLong(total) }
    })
}

// The tables are `static mut`: CPython takes them as `PyMethodDef *` / `PyModuleDef *` and
// writes into the module definition (its m_base), so they must be mutable and never move.
static mut METHODS: [PyMethodDef; 9] = [
    PyMethodDef {
        ml_name: c"fast_sum".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: fast_sum },
        ml_flags: METH_O,
        ml_doc: c"Sum the bytes of a buffer of any layout.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"calls".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: calls },
        ml_flags: METH_NOARGS,
        ml_doc: c"How many times this module object's fast_sum was called.".as_ptr(),
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
    PyMethodDef {
        ml_name: c"_sum_holding_gil".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: sum_holding_gil },
        ml_flags: METH_O,
        ml_doc: c"fast_sum without releasing the GIL, for comparison.".as_ptr(),
    },
    PyMethodDef::zeroed(), // sentinel
];

/// The `Py_mod_exec` slot: phase two. CPython has created the module object (with its
/// functions and docstring) and allocated the zeroed state; this fills both.
///
/// # Safety
/// Called by CPython only, through the slot table below, with the GIL held.
unsafe extern "C" fn module_exec(module: *mut PyObject) -> c_int {
    // SAFETY: CPython runs exec slots with the GIL held.
    let py = unsafe { Python::assume_attached() };
    guard(py, -1, || {
        // SAFETY: GIL held; the name is "module.Class" as PyErr_NewException requires, the
        // base a borrowed exception class, no dict. Returns a NEW reference to the new class.
        let Some(error) = (unsafe {
            Owned::from_new(pyo3_ffi::PyErr_NewException(
                c"course05.Error".as_ptr(),
                PyExc_TypeError,
                ptr::null_mut(),
            ))
        }) else {
            return -1;
        };
        // SAFETY: GIL held; `module` is the module being executed. PyModule_AddObjectRef does
        // NOT steal: the module's dict takes its own reference, and ours stays ours.
        if unsafe { pyo3_ffi::PyModule_AddObjectRef(module, c"Error".as_ptr(), error.as_ptr()) } < 0 {
            return -1;
        }
        // SAFETY: GIL held; the state exists (allocated before exec) and no function of this
        // module can run yet, so this is the only access.
        let block = unsafe { pyo3_ffi::PyModule_GetState(module) } as *mut State;
        // The state's field now owns the reference `error` held (no INCREF, no DECREF).
        // SAFETY: as above.
        unsafe { (*block).error = error.into_raw() };
        0
    })
}

/// `m_traverse`: tell the cycle collector about the references the state holds, as a type's
/// tp_traverse does for an object's fields. Without it, the collector counts `state->error` as a
/// reference from outside, and a cycle through it (`mod.Error.owner = mod`) is never freed.
///
/// # Safety
/// Called by CPython's cycle collector only, with the GIL held.
unsafe extern "C" fn module_traverse(module: *mut PyObject, visit: pyo3_ffi::visitproc, arg: *mut c_void) -> c_int {
    // No guard and no token: a traverse function only reads fields and calls `visit`; it must
    // not raise, and nothing here can panic. CPython calls it only once the state exists
    // (moduleobject.c checks md_state before calling m_traverse).
    // SAFETY: `module` is a live module object of this extension.
    let block = unsafe { pyo3_ffi::PyModule_GetState(module) } as *mut State;
    // SAFETY: a valid state block; `error` is NULL or a strong reference.
    let error = unsafe { (*block).error };
    if !error.is_null() {
        // Py_VISIT: `visit` borrows the object; a non-zero result is returned at once.
        // SAFETY: `error` is alive (we hold a reference to it).
        let r = unsafe { visit(error, arg) };
        if r != 0 {
            return r;
        }
    }
    0
}

/// `m_clear`: drop the state's references. The collector calls it to break a cycle, and
/// `m_free` calls it a last time, so it may run twice: `Py_CLEAR` (NULL first, then DECREF)
/// makes the second run a no-op, and code run by the DECREF never sees a dangling field.
///
/// # Safety
/// Called by CPython only (the cycle collector, or `module_free`), with the GIL held.
unsafe extern "C" fn module_clear(module: *mut PyObject) -> c_int {
    // SAFETY: `module` is a live module object of this extension whose state exists (as in traverse).
    let block = unsafe { pyo3_ffi::PyModule_GetState(module) } as *mut State;
    // SAFETY: a valid state block; the field is NULLed before the reference it held is dropped.
    unsafe {
        let error = std::mem::replace(&mut (*block).error, ptr::null_mut());
        pyo3_ffi::Py_XDECREF(error);
    }
    0
}

/// `m_free`: the module object is being deallocated (CPython frees the state block itself,
/// with PyMem_Free, after this returns).
///
/// # Safety
/// Called by CPython only, with the GIL held.
unsafe extern "C" fn module_free(module: *mut c_void) {
    // SAFETY: CPython passes the module object being freed, its state still allocated.
    unsafe { module_clear(module.cast()) };
}

/// The module's slots, run in order by `PyModule_FromDefAndSpec` and `PyModule_ExecDef`.
/// Its length depends on the interpreter: a slot id 3.11 does not know is a SystemError.
const SLOT_COUNT: usize = 2 + cfg!(Py_3_12) as usize + cfg!(Py_3_13) as usize;
static mut SLOTS: [PyModuleDef_Slot; SLOT_COUNT] = [
    PyModuleDef_Slot { slot: pyo3_ffi::Py_mod_exec, value: module_exec as *mut c_void },
    // Everything the module owns is in its state, nothing in a static, so an interpreter with
    // its own GIL (PEP 684) may import it; without this slot 3.12+ refuses to there.
    #[cfg(Py_3_12)]
    PyModuleDef_Slot {
        slot: pyo3_ffi::Py_mod_multiple_interpreters,
        value: pyo3_ffi::Py_MOD_PER_INTERPRETER_GIL_SUPPORTED,
    },
    // The counter is atomic and `Error` is written only by exec and clear, so the functions
    // are safe without a GIL; without this slot a free-threaded build turns the GIL back on.
    #[cfg(Py_3_13)]
    PyModuleDef_Slot { slot: pyo3_ffi::Py_mod_gil, value: pyo3_ffi::Py_MOD_GIL_NOT_USED },
    PyModuleDef_Slot { slot: 0, value: ptr::null_mut() },
];

// A multi-phase definition: `m_slots` set, `m_size` >= 0 (the state's size), and the three
// functions that let the collector see and free what the state holds.
static mut MODULE: PyModuleDef = PyModuleDef {
    m_base: PyModuleDef_HEAD_INIT,
    m_name: c"course05".as_ptr(),
    m_doc: c"Releasing the GIL during large scans, with per-module state.".as_ptr(),
    m_size: std::mem::size_of::<State>() as Py_ssize_t,
    m_methods: &raw mut METHODS as *mut PyMethodDef,
    m_slots: &raw mut SLOTS as *mut PyModuleDef_Slot,
    m_traverse: Some(module_traverse),
    m_clear: Some(module_clear),
    m_free: Some(module_free),
};

/// The module's entry point, phase one: it returns the definition, not a module. The import
/// system then creates a module object from it and runs `Py_mod_exec`, once for each module
/// object it makes (each interpreter, each `module_from_spec`).
///
/// # Safety
/// Called by the import system, with the GIL held.
#[no_mangle]
pub unsafe extern "C" fn PyInit_course05() -> *mut PyObject {
    // SAFETY: MODULE has the layout CPython expects and is a static, so it outlives every module
    // made from it. PyModuleDef_Init only initialises its object header the first time and
    // returns it cast to PyObject*, no new reference taken: the static is never freed. It
    // cannot fail.
    unsafe { PyModuleDef_Init(&raw mut MODULE) }
}

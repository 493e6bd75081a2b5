//! course07: step 06's module and `Array`, which now adds: `a + b` (src/number.rs).
//!
//! As Python, one copy of this per module object (per interpreter, per import from a spec):
//!
//! ```python
//! from .array import Array                     # a new class object for every module object
//!
//! class Error(TypeError):
//!     """fast_sum was given an object without the buffer protocol."""
//!
//! _calls = 0
//!
//! def fast_sum(data, /):
//!     global _calls
//!     _calls += 1
//!     try:
//!         view = memoryview(data)
//!     except TypeError:
//!         raise Error(f"fast_sum() argument must be a bytes-like object, not {type(data).__name__!r}")
//!     return sum(view.tobytes())
//!
//! def calls():
//!     return _calls
//! ```

mod array;
mod capi;
mod number;
mod sum;

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3_ffi::{PyMethodDef, PyMethodDefPointer, PyModuleDef, PyModuleDef_Slot, PyObject};

use capi::{guard, Buffer, Owned, PyErrSet, PyResult, Python};

/// The module state: `m_size` bytes that CPython allocates, zeroed, for each module object, in
/// `PyModule_ExecDef` just before the exec slot runs. A C module would keep `Error` in a C
/// `static`, shared by every interpreter that imports it; here each module object has its own.
#[repr(C)]
struct State {
    /// The module's `Error` class, a strong reference (NULL until exec, and again after `m_clear`).
    error: *mut PyObject,
    /// `course07.Array`, the heap type built from `array::SPEC`: a strong reference, like
    /// `error`, and for the same reason in the state rather than a static.
    array_type: *mut PyObject,
    /// `fast_sum` calls through this module object. Atomic: with the GIL released, or on a
    /// free-threaded build, two threads may count at once; zero bytes are a valid zero.
    calls: AtomicU64,
}

/// `(State *)PyModule_GetState(module)`, to read, through the token: shared, and borrowed for no
/// longer than `'py`, so no `&State` outlives the call that asked for it.
///
/// # Safety
/// `module` is a module object of this extension (borrowed) that has run its exec slot.
unsafe fn state<'py>(_py: Python<'py>, module: *mut PyObject) -> PyResult<&'py State> {
    // SAFETY: attached (the token); `module` is a module (caller). Borrowed pointer to its
    // state block, NULL with an exception set when `module` is not a module.
    let block = unsafe { pyo3_ffi::PyModule_GetState(module) } as *const State;
    if block.is_null() {
        return Err(PyErrSet::fetched());
    }
    // SAFETY: the block is size_of::<State>() bytes, pointer-aligned (PyMem_Malloc), written
    // only by exec (before any function of this module can run) and by m_clear (when the module
    // is being destroyed, so no call into it is running).
    Ok(unsafe { &*block })
}

/// `fast_sum(data, /)`: METH_O, so `module` is the module object the function was called on
/// (the `self` of a module-level function) and `data` a borrowed reference.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn fast_sum(module: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls module functions attached.
    let py = unsafe { Python::assume_attached() };
    guard(py, ptr::null_mut(), || {
        // SAFETY: CPython passes the module this function was created for (PyCFunction_NewEx
        // in PyModule_FromDefAndSpec stores it as the function's `self`).
        let state = unsafe { state(py, module) }?;
        state.calls.fetch_add(1, Ordering::Relaxed);
        // SAFETY: attached; `data` is a valid borrowed reference.
        if unsafe { pyo3_ffi::PyObject_CheckBuffer(data) } == 0 {
            return Err(raise_error(py, state, data));
        }
        // SAFETY: attached; `data` is valid (borrowed).
        let buffer = unsafe { Buffer::get(py, data, pyo3_ffi::PyBUF_INDIRECT) }?;
        let bytes = buffer.bytes();
        let total = py.allow_threads(|| sum::sum_bytes(&bytes));
        // SAFETY: attached; a new reference, or NULL with MemoryError set.
        Ok(unsafe { Owned::from_new(pyo3_ffi::PyLong_FromUnsignedLongLong(total)) }?.into_raw())
    })
}

/// Raise the module's own `Error`, found in the state of the module that was called.
fn raise_error(py: Python<'_>, state: &State, data: *mut PyObject) -> PyErrSet {
    // SAFETY: attached (the token); `data` is valid. Py_TYPE is borrowed, tp_name a C string
    // owned by the type.
    let name = unsafe { std::ffi::CStr::from_ptr((*pyo3_ffi::Py_TYPE(data)).tp_name) };
    let text = format!("fast_sum() argument must be a bytes-like object, not '{}'", name.to_string_lossy());
    if state.error.is_null() {
        return capi::raise(py, capi::Exc::SystemError, "the module's state is already cleared");
    }
    let text = std::ffi::CString::new(text).unwrap_or_default();
    // SAFETY: attached; `state.error` is a live exception class (the state holds a strong
    // reference; PyErr_SetString borrows it and takes its own); the text is copied.
    unsafe { pyo3_ffi::PyErr_SetString(state.error, text.as_ptr()) };
    PyErrSet::fetched()
}

/// `calls()`: METH_NOARGS, so the second argument is always NULL.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn calls(module: *mut PyObject, _unused: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls module functions attached.
    let py = unsafe { Python::assume_attached() };
    guard(py, ptr::null_mut(), || {
        // SAFETY: as in fast_sum.
        let n = unsafe { state(py, module) }?.calls.load(Ordering::Relaxed);
        // SAFETY: attached; a new reference, or NULL with MemoryError set.
        Ok(unsafe { Owned::from_new(pyo3_ffi::PyLong_FromUnsignedLongLong(n)) }?.into_raw())
    })
}

static mut METHODS: [PyMethodDef; 3] = [
    PyMethodDef {
        ml_name: c"fast_sum".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: fast_sum },
        ml_flags: pyo3_ffi::METH_O,
        ml_doc: c"fast_sum(data, /)\n--\n\nThe sum of the bytes of any buffer.".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"calls".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: calls },
        ml_flags: pyo3_ffi::METH_NOARGS,
        ml_doc: c"calls()\n--\n\nHow many times this module object's fast_sum was called.".as_ptr(),
    },
    PyMethodDef::zeroed(),
];

/// The `Py_mod_exec` slot: phase two. CPython has created the module object (with its
/// functions and docstring) and allocated the zeroed state; this fills both.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn module_exec(module: *mut PyObject) -> c_int {
    // SAFETY: CPython runs exec slots attached.
    let py = unsafe { Python::assume_attached() };
    guard(py, -1, || {
        // SAFETY: attached; the name is "module.Class" as PyErr_NewException requires, the
        // base a borrowed exception class, no dict. Returns a NEW reference to the new class.
        let error = unsafe {
            Owned::from_new(pyo3_ffi::PyErr_NewException(
                c"course07.Error".as_ptr(),
                pyo3_ffi::PyExc_TypeError,
                ptr::null_mut(),
            ))
        }?;
        // SAFETY: attached; `module` is the module being executed. PyModule_AddObjectRef does
        // NOT steal: the module's dict takes its own reference, and ours stays ours.
        if unsafe { pyo3_ffi::PyModule_AddObjectRef(module, c"Error".as_ptr(), error.as_ptr()) } < 0 {
            return Err(PyErrSet::fetched());
        }
        // SAFETY: attached; the state exists (allocated before exec) and no function of this
        // module can run yet, so this is the only access.
        let block = unsafe { pyo3_ffi::PyModule_GetState(module) } as *mut State;
        // The state's field now owns the reference `error` held (no INCREF, no DECREF).
        // SAFETY: as above.
        unsafe { (*block).error = error.into_raw() };

        // SAFETY: attached; the spec and its slot table are statics CPython only reads. A NEW
        // reference to a new type object, which keeps a strong reference to `module` (what
        // PyType_GetModule returns).
        let array_type = unsafe {
            Owned::from_new(pyo3_ffi::PyType_FromModuleAndSpec(module, &raw mut array::SPEC, ptr::null_mut()))
        }?;
        // `course07.Array`: PyModule_AddType takes the name after the last dot of the type's
        // name, and, like PyModule_AddObjectRef, its own reference (it does not steal).
        // SAFETY: attached; both are live objects.
        if unsafe { pyo3_ffi::PyModule_AddType(module, array_type.as_ptr().cast()) } < 0 {
            return Err(PyErrSet::fetched());
        }
        // SAFETY: as for `error`.
        unsafe { (*block).array_type = array_type.into_raw() };
        Ok(0)
    })
}

/// `m_traverse`: tell the cycle collector about the references the state holds, as a type's
/// tp_traverse does for an object's fields. Without it, the collector counts `state->error` as a
/// reference from outside, and a cycle through it (`mod.Error.owner = mod`) is never freed.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn module_traverse(module: *mut PyObject, visit: pyo3_ffi::visitproc, arg: *mut c_void) -> c_int {
    // No guard and no token: a traverse function only reads fields and calls `visit`; it must
    // not raise, and nothing here can panic. CPython calls it only once the state exists
    // (moduleobject.c checks md_state before calling m_traverse).
    // SAFETY: `module` is a live module object of this extension.
    let block = unsafe { pyo3_ffi::PyModule_GetState(module) } as *mut State;
    // SAFETY: a valid state block; each field is NULL or a strong reference.
    for field in unsafe { [(*block).error, (*block).array_type] } {
        if !field.is_null() {
            // Py_VISIT: `visit` borrows the object; a non-zero result is returned at once.
            // SAFETY: `field` is alive (we hold a reference to it).
            let r = unsafe { visit(field, arg) };
            if r != 0 {
                return r;
            }
        }
    }
    0
}

/// `m_clear`: drop the state's references. The collector calls it to break a cycle, and
/// `m_free` calls it a last time, so it may run twice: `Py_CLEAR` (NULL first, then DECREF)
/// makes the second run a no-op, and code run by the DECREF never sees a dangling field.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn module_clear(module: *mut PyObject) -> c_int {
    // SAFETY: `module` is a live module object of this extension whose state exists (as in traverse).
    let block = unsafe { pyo3_ffi::PyModule_GetState(module) } as *mut State;
    // SAFETY: a valid state block; each field is NULLed before the reference it held is dropped.
    unsafe {
        for field in [&raw mut (*block).error, &raw mut (*block).array_type] {
            let old = std::mem::replace(&mut *field, ptr::null_mut());
            pyo3_ffi::Py_XDECREF(old);
        }
    }
    0
}

/// `m_free`: the module object is being deallocated (CPython frees the state block itself,
/// with PyMem_Free, after this returns).
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
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
    // The counter and an Array's export count are atomic, and `Error` and `Array` are written
    // only by exec and clear, so the module is safe without a GIL; without this slot a free-threaded build turns the GIL back on.
    #[cfg(Py_3_13)]
    PyModuleDef_Slot { slot: pyo3_ffi::Py_mod_gil, value: pyo3_ffi::Py_MOD_GIL_NOT_USED },
    PyModuleDef_Slot { slot: 0, value: ptr::null_mut() },
];

/// A multi-phase definition: `m_slots` set, `m_size` >= 0 (the state's size), and the three
/// functions that let the collector see and free what the state holds.
static mut MODULE_DEF: PyModuleDef = PyModuleDef {
    m_base: pyo3_ffi::PyModuleDef_HEAD_INIT,
    m_name: c"course07".as_ptr(),
    m_doc: c"The sum of a buffer's bytes, and a first array type.".as_ptr(),
    m_size: std::mem::size_of::<State>() as pyo3_ffi::Py_ssize_t,
    m_methods: (&raw mut METHODS).cast(),
    m_slots: (&raw mut SLOTS).cast(),
    m_traverse: Some(module_traverse),
    m_clear: Some(module_clear),
    m_free: Some(module_free),
};

/// Phase one: return the definition, not a module. `PyModuleDef_Init` makes the static a
/// Python object (sets its type and refcount once) and returns it, borrowed; the import system
/// then creates a module from it and runs `Py_mod_exec` — once per module object it makes.
///
/// # Safety
/// Called only by CPython's import machinery, attached.
#[allow(non_snake_case)]
#[unsafe(no_mangle)]
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
pub unsafe extern "C" fn PyInit_course07() -> *mut PyObject {
    // SAFETY: MODULE_DEF has the layout CPython expects; PyModuleDef_Init only initialises its
    // object header and returns it cast to PyObject*. It cannot fail.
    unsafe { pyo3_ffi::PyModuleDef_Init(&raw mut MODULE_DEF) }
}

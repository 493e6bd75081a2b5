//! A CPython extension module in Rust, against the raw C API (pyo3-ffi's declarations only).
//!
//! The module, as the equivalent Python (the way CPython's `Modules/xxlimited.c` opens):
//!
//! ```python
//! """One function and one type, written by hand against the C API."""
//! def byte_sum(data, /): return sum(memoryview(data).cast("B"))   # the GIL released
//! class Counter: ...                                               # src/counter.rs
//! ```
//!
//! This file holds the tables CPython reads (the `PyMethodDef` array, the module's slots, the
//! `PyModuleDef`), the exec slot, and the one exported symbol, `PyInit_<name>`, last. The
//! module's name is the crate's (Cargo.toml `[package] name`), read here with
//! `env!("CARGO_CRATE_NAME")`.

use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use pyo3_ffi::{PyMethodDef, PyMethodDefPointer, PyModuleDef, PyModuleDef_HEAD_INIT, PyModuleDef_Init, PyModuleDef_Slot, PyObject};

mod byte_sum;
mod capi;
mod counter;

use capi::error::PyErrSet;
use capi::gil::Python;
use capi::table::table;

/// `static PyMethodDef module_methods[]`, as a list the compiler counts (src/capi/table.rs).
const METHOD_LIST: &[PyMethodDef] = &[
    // METH_O: one positional argument, passed as itself (no tuple is built).
    PyMethodDef {
        ml_name: c"byte_sum".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: byte_sum::byte_sum },
        ml_flags: pyo3_ffi::METH_O,
        ml_doc: byte_sum::DOC.as_ptr(),
    },
    // The sentinel: CPython stops reading at the first entry whose ml_name is NULL.
    PyMethodDef::zeroed(),
];
static mut METHODS: [PyMethodDef; METHOD_LIST.len()] = table(METHOD_LIST);

const MODULE_DOC: &CStr = c"One function and one type, written by hand against the CPython C API.

  byte_sum(data, /)   sum of the bytes of a contiguous buffer (the GIL released)
  Counter(start=0)    an int64 count that add(n) moves";

/// `Py_mod_exec`: runs once per module object, after CPython created it from the definition.
/// Adds what is not a function: the Counter type.
///
/// # Safety
/// Called by CPython, attached, with the new module (borrowed).
unsafe extern "C" fn module_exec(module: *mut PyObject) -> c_int {
    // SAFETY: CPython calls the exec slot attached.
    let py = unsafe { Python::assume_attached() };
    capi::panic::guard(py, -1, || {
        capi::panic::install_hook();
        // SAFETY: `module` is the module being executed (borrowed).
        let ty = unsafe { counter::create_type(py, module) }?;
        // PyModule_AddType borrows the type and stores a reference of the module's own under
        // its short name ("Counter"); ours is dropped by `ty` at the end of this function.
        // SAFETY: attached; `module` and the type are live objects.
        if unsafe { pyo3_ffi::PyModule_AddType(module, ty.as_ptr().cast()) } < 0 {
            return Err(PyErrSet::fetched());
        }
        Ok(0)
    })
}

/// The module's slots: what multi-phase initialisation (PEP 489) runs or checks. Entries under
/// `#[cfg]` exist only when building for the versions that know them.
const SLOT_LIST: &[PyModuleDef_Slot] = &[
    PyModuleDef_Slot { slot: pyo3_ffi::Py_mod_exec, value: module_exec as *mut c_void },
    // No Python object is kept in a Rust static (the type is made per module object), so each
    // interpreter, even one with its own GIL (PEP 684), can import its own copy. Without this
    // slot, 3.12+ refuses the import in such a subinterpreter.
    #[cfg(Py_3_12)]
    PyModuleDef_Slot { slot: pyo3_ffi::Py_mod_multiple_interpreters, value: pyo3_ffi::Py_MOD_PER_INTERPRETER_GIL_SUPPORTED },
    // byte_sum only reads its argument's buffer and Counter's state is atomic, so a
    // free-threaded interpreter may keep its GIL off; without this slot it turns it back on.
    #[cfg(Py_3_13)]
    PyModuleDef_Slot { slot: pyo3_ffi::Py_mod_gil, value: pyo3_ffi::Py_MOD_GIL_NOT_USED },
    PyModuleDef_Slot { slot: 0, value: ptr::null_mut() },
];
static mut SLOTS: [PyModuleDef_Slot; SLOT_LIST.len()] = table(SLOT_LIST);

/// The module's name, from Cargo.toml, as a C string.
const NAME: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_CRATE_NAME"), "\0").as_bytes()) {
    Ok(name) => name,
    Err(_) => panic!("a crate name has no NUL"),
};

/// `static struct PyModuleDef module_def = { PyModuleDef_HEAD_INIT, "<name>", doc, 0, ... }`.
/// `m_size` 0: no per-module state (the type lives in the module's dict). `m_slots` makes this
/// a multi-phase definition.
static mut MODULE_DEF: PyModuleDef = PyModuleDef {
    m_base: PyModuleDef_HEAD_INIT,
    m_name: NAME.as_ptr(),
    m_doc: MODULE_DOC.as_ptr(),
    m_size: 0,
    m_methods: (&raw mut METHODS).cast(),
    m_slots: (&raw mut SLOTS).cast(),
    m_traverse: None,
    m_clear: None,
    m_free: None,
};

/// The one exported symbol, `PyInit_<name>`: `import <name>` finds `<name>.*.so` and calls it.
/// With multi-phase initialisation it returns the definition (`PyModuleDef_Init` marks it as an
/// object; a borrowed pointer to a static), and CPython creates the module and runs the exec
/// slot. The symbol's name is built from the crate name, so it always matches the file name.
///
/// # Safety
/// Called only by CPython's import machinery, attached.
#[unsafe(export_name = concat!("PyInit_", env!("CARGO_CRATE_NAME")))]
pub unsafe extern "C" fn py_init() -> *mut PyObject {
    // SAFETY: MODULE_DEF is a static with the layout CPython expects; PyModuleDef_Init only
    // initialises its object header and returns it cast to PyObject*.
    unsafe { PyModuleDef_Init(&raw mut MODULE_DEF) }
}

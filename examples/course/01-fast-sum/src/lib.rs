//! course01: the article's `fast_sum.c` (examples/fast_sum.c), line for line, in Rust.
//!
//! The module, as Python:
//!
//! ```python
//! def fast_sum(data):                      # data: any C-contiguous bytes-like object
//!     return sum(memoryview(data).tobytes())
//! ```
//!
//! Everything is a raw C-API call through pyo3-ffi, in the order the C file makes it: the
//! function, its `PyMethodDef` table, the `PyModuleDef`, and `PyInit_course01`, the one symbol
//! the interpreter looks up. No helper hides a call yet; later steps add them one at a time.

use std::ptr;

use pyo3_ffi::{
    PyArg_ParseTuple, PyBuffer_Release, PyLong_FromUnsignedLongLong, PyMethodDef, PyMethodDefPointer,
    PyModuleDef, PyModuleDef_HEAD_INIT, PyModule_Create2, PyObject, Py_buffer, METH_VARARGS,
    PYTHON_API_VERSION,
};

/// `fast_sum(data)`: the sum of the bytes of a C-contiguous buffer.
///
/// # Safety
/// Called by CPython only, through the method table below (METH_VARARGS: `args` is a tuple),
/// with the GIL held.
unsafe extern "C" fn fast_sum(_module: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    let mut view = Py_buffer::new();
    // "y*": any C-contiguous bytes-like object. On success the view holds a new reference to the
    // exporter in view.obj, and the memory stays exported until PyBuffer_Release.
    // SAFETY: `args` is the argument tuple (borrowed); "y*" takes one `Py_buffer *`, and `view`
    // is a live Py_buffer that does not move until it is released below.
    if unsafe { PyArg_ParseTuple(args, c"y*".as_ptr(), &mut view as *mut Py_buffer) } == 0 {
        return ptr::null_mut(); // exception set by PyArg_ParseTuple
    }
    let mut total: u64 = 0;
    let data = view.buf as *const u8;
    for i in 0..view.len {
        // C's unsigned long long wraps on overflow; so does this (a plain `+` would panic in a
        // debug build, and a panic must not reach CPython).
        // SAFETY: "y*" gave a C-contiguous buffer of view.len bytes starting at view.buf, and
        // 0 <= i < view.len.
        total = total.wrapping_add(unsafe { *data.offset(i) } as u64);
    }
    // SAFETY: `view` was filled by PyArg_ParseTuple and is released exactly once; this drops
    // the reference to the exporter that view.obj held.
    unsafe { PyBuffer_Release(&mut view) };
    // SAFETY: GIL held. Returns a new reference (ours to hand to the caller), or NULL with
    // MemoryError set, which is also what the caller expects from us.
    unsafe { PyLong_FromUnsignedLongLong(total) }
}

// The tables are `static mut`: CPython takes them as `PyMethodDef *` / `PyModuleDef *` and
// writes into the module definition (its m_base), so they must be mutable and never move.
static mut FAST_SUM_METHODS: [PyMethodDef; 2] = [
    PyMethodDef {
        ml_name: c"fast_sum".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: fast_sum },
        ml_flags: METH_VARARGS,
        ml_doc: c"Sum the bytes of a C-contiguous buffer.".as_ptr(),
    },
    PyMethodDef::zeroed(), // sentinel
];

static mut FAST_SUM_MODULE: PyModuleDef = PyModuleDef {
    m_base: PyModuleDef_HEAD_INIT,
    m_name: c"course01".as_ptr(),
    m_doc: c"The article's fast_sum, in Rust.".as_ptr(),
    m_size: -1, // single-phase: no per-module state, no subinterpreter support
    m_methods: &raw mut FAST_SUM_METHODS as *mut PyMethodDef,
    m_slots: ptr::null_mut(),
    m_traverse: None,
    m_clear: None,
    m_free: None,
};

/// The module's entry point: `import course01` calls it once per process.
///
/// # Safety
/// Called by the import system, with the GIL held.
#[no_mangle]
pub unsafe extern "C" fn PyInit_course01() -> *mut PyObject {
    // PyModule_Create(&def) is a C macro for PyModule_Create2(&def, PYTHON_API_VERSION).
    // SAFETY: GIL held; FAST_SUM_MODULE is a static, so it outlives the module as CPython
    // requires. Returns a new reference to the module (NULL with an exception set on failure).
    unsafe { PyModule_Create2(&raw mut FAST_SUM_MODULE, PYTHON_API_VERSION) }
}

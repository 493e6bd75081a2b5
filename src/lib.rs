//! rawcapi: a CPython extension module written against the raw C API, in Rust.
//!
//! The module, as the equivalent Python (the way CPython's `Modules/xxlimited.c` opens):
//!
//! ```python
//! """rawcapi: the article's C-extension examples ..."""     # MODULE_DOC below
//! __version__ = "0.1.0"
//! _C_API = PyCapsule(...)            # rawcapi.h's function table, for other C extensions
//!
//! def fast_sum(data, /): return sum(memoryview(data).tobytes())
//! def count_lines(text, /):
//!     return text.count('\n') if isinstance(text, str) else memoryview(text).tobytes().count(b'\n')
//! def set_num_threads(n, /): ...     # 1..1024 threads for one large call, process-wide
//! def get_num_threads(): ...
//! def get_include(): return "<folder of rawcapi.h>"
//!
//! class Array:                       # numpy.ndarray's core, src/array/
//!     def __new__(cls, obj, dtype=None): ...
//! def zeros(shape, dtype='float64'): return numpy.zeros(shape, dtype)
//! def arange(start_or_stop, stop=None, step=None, /, *, dtype=None): return numpy.arange(...)
//! def add(a, b, /, out=None): return numpy.add(a, b, out=out)
//! def subtract(a, b, /, out=None): ...
//! def multiply(a, b, /, out=None): ...
//! def divide(a, b, /, out=None): ...
//! def matmul(a, b, /, out=None): return numpy.matmul(a, b, out=out)
//! def fft(a, n=None, axis=-1, norm=None, out=None): return numpy.fft.fft(a, n, axis, norm, out)
//! def ifft(a, n=None, axis=-1, norm=None, out=None): ...
//! def rfft(a, n=None, axis=-1, norm=None, out=None): ...
//! def irfft(a, n=None, axis=-1, norm=None, out=None): ...
//!
//! # Private, for the tests and examples/: _panic, _rust_heap, _layout, _simd_paths, _simd_path,
//! # _set_simd_path, _set_gil_release_threshold, _set_parallel_threshold.
//! ```
//!
//! This file holds only the tables CPython reads — the `PyMethodDef` array, the module's
//! settings and the two forms built from them (the `PyModuleDef` with its slots, and on 3.15 the
//! `PySlot` array) — and the exported entry points, `PyInit_rawcapi` and `PyModExport_rawcapi`,
//! last. The functions are in
//! `src/functions/`, the C-API idioms they use in `src/capi/`, the loops in `src/kernels/`.
//! docs/02-module.md walks through this file beside its C equivalent.

use std::ffi::c_int;

use pyo3_ffi::{
    PyMethodDef, PyMethodDefPointer, PyModuleDef, PyModuleDef_Init, PyModuleDef_Slot, PyObject, METH_FASTCALL,
    METH_KEYWORDS, METH_NOARGS, METH_O, METH_VARARGS,
};

pub mod array;
pub mod capi;
pub mod capsule;
pub mod functions;
/// The counting `#[global_allocator]` the leak tests read through `_rust_heap()`.
pub mod heap;
pub mod kernels;
pub mod layout;
pub mod state;

use capi::export::{self, Setting};
use capi::gil::Python;
use capi::table::table;
use functions::{count_lines, fast_sum, fft, include, layout_check, matmul, private, simd, threads, ufuncs};

/// The method table: `static PyMethodDef rawcapi_methods[] = { {...}, {NULL, NULL, 0, NULL} };`.
/// `METH_O` functions receive their single argument directly (see src/functions/fast_sum.rs).
/// Each docstring starts with a `name($module, ...)\n--\n\n` text signature, which CPython turns
/// into `__text_signature__`, so `inspect.signature()` and `help()` show the parameters.
/// Written as a list, so the compiler counts it (src/capi/table.rs); `METHODS` below is the table.
const METHOD_LIST: &[PyMethodDef] = &[
    PyMethodDef {
        ml_name: c"fast_sum".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: fast_sum::fast_sum },
        ml_flags: METH_O,
        ml_doc: fast_sum::DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"count_lines".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: count_lines::count_lines },
        ml_flags: METH_O,
        ml_doc: count_lines::DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_panic".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: private::panic },
        ml_flags: METH_O,
        ml_doc: private::PANIC_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_set_gil_release_threshold".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: private::set_gil_release_threshold },
        ml_flags: METH_O,
        ml_doc: private::THRESHOLD_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_rust_heap".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: private::rust_heap },
        ml_flags: METH_NOARGS,
        ml_doc: private::RUST_HEAP_DOC.as_ptr(),
    },
    // METH_NOARGS: called with no arguments; the second parameter is always NULL.
    PyMethodDef {
        ml_name: c"set_num_threads".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: threads::set_num_threads },
        ml_flags: METH_O,
        ml_doc: threads::SET_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"get_num_threads".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: threads::get_num_threads },
        ml_flags: METH_NOARGS,
        ml_doc: threads::GET_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_set_parallel_threshold".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: threads::set_parallel_threshold },
        ml_flags: METH_O,
        ml_doc: threads::THRESHOLD_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_simd_paths".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: simd::simd_paths },
        ml_flags: METH_NOARGS,
        ml_doc: simd::PATHS_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_simd_path".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: simd::simd_path },
        ml_flags: METH_NOARGS,
        ml_doc: simd::PATH_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_set_simd_path".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: simd::set_simd_path },
        ml_flags: METH_O,
        ml_doc: simd::SET_PATH_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"get_include".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: include::get_include },
        ml_flags: METH_NOARGS,
        ml_doc: include::DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_layout".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunction: layout_check::layout },
        ml_flags: METH_NOARGS,
        ml_doc: layout_check::DOC.as_ptr(),
    },
    // METH_VARARGS | METH_KEYWORDS: the C signature (self, args tuple, kwargs dict or NULL).
    PyMethodDef {
        ml_name: c"zeros".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionWithKeywords: array::construct::zeros },
        ml_flags: METH_VARARGS | METH_KEYWORDS,
        ml_doc: array::construct::ZEROS_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"arange".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionWithKeywords: array::construct::arange },
        ml_flags: METH_VARARGS | METH_KEYWORDS,
        ml_doc: array::construct::ARANGE_DOC.as_ptr(),
    },
    // METH_FASTCALL | METH_KEYWORDS (vectorcall): the C signature (self, args array, nargs,
    // kwnames tuple or NULL) -- no argument tuple or dict is built (src/functions/fastcall.rs).
    PyMethodDef {
        ml_name: c"matmul".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionFastWithKeywords: matmul::matmul },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: matmul::DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"fft".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionFastWithKeywords: fft::fft },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: fft::FFT_DOC.as_ptr().cast(),
    },
    PyMethodDef {
        ml_name: c"ifft".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionFastWithKeywords: fft::ifft },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: fft::IFFT_DOC.as_ptr().cast(),
    },
    PyMethodDef {
        ml_name: c"rfft".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionFastWithKeywords: fft::rfft },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: fft::RFFT_DOC.as_ptr().cast(),
    },
    PyMethodDef {
        ml_name: c"irfft".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionFastWithKeywords: fft::irfft },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: fft::IRFFT_DOC.as_ptr().cast(),
    },
    // METH_FASTCALL | METH_KEYWORDS: (self, PyObject *const *args, Py_ssize_t nargs, PyObject
    // *kwnames) -- positional and keyword values in one C array, no tuple or dict built.
    PyMethodDef {
        ml_name: c"add".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionFastWithKeywords: ufuncs::add },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: ufuncs::ADD_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"subtract".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionFastWithKeywords: ufuncs::subtract },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: ufuncs::SUBTRACT_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"multiply".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionFastWithKeywords: ufuncs::multiply },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: ufuncs::MULTIPLY_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"divide".as_ptr(),
        ml_meth: PyMethodDefPointer { PyCFunctionFastWithKeywords: ufuncs::divide },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: ufuncs::DIVIDE_DOC.as_ptr(),
    },
    // The sentinel: CPython stops reading the table at the first entry whose ml_name is NULL.
    PyMethodDef::zeroed(),
];
static mut METHODS: [PyMethodDef; METHOD_LIST.len()] = table(METHOD_LIST);

/// `help(rawcapi)`: every public function and the type, one line each, grouped as the README
/// groups them. tests/test_module.py checks that each public callable is named here.
const MODULE_DOC: &std::ffi::CStr = c"The article's C-extension examples, written in Rust against the raw CPython C API.

Bytes and text (the GIL is released while a large input is scanned):
  fast_sum(data, /)      sum of the bytes of any buffer-protocol object
  count_lines(text, /)   number of '\\n' in a str or bytes-like object

Threads one large call may use (process-wide):
  set_num_threads(n, /)
  get_num_threads()

Array, an n-dimensional array over one buffer (bool, uint8, int32, int64,
float32, float64, complex128), exported through the buffer protocol:
  Array(obj, dtype=None)            copy any buffer, nested sequence or number
  zeros(shape, dtype='float64')
  arange(start_or_stop, stop=None, step=None, /, *, dtype=None)
  add(a, b, /, out=None)            a + b with NumPy's broadcasting and promotion
  subtract(a, b, /, out=None)       a - b
  multiply(a, b, /, out=None)       a * b
  divide(a, b, /, out=None)         a / b
  matmul(a, b, /, out=None)         a @ b, NumPy's matmul rules
  fft(a, n=None, axis=-1, norm=None, out=None)     complex128 result
  ifft(a, n=None, axis=-1, norm=None, out=None)    inverse of fft
  rfft(a, n=None, axis=-1, norm=None, out=None)    real input, n//2+1 frequencies
  irfft(a, n=None, axis=-1, norm=None, out=None)   inverse of rfft, float64

For other C extensions:
  get_include()   the folder holding rawcapi.h, the header of the capsule _C_API";

/// `Py_mod_exec`: runs once per module object, after CPython has created it from the
/// definition. Here the module's attributes beyond its functions are added.
unsafe extern "C" fn rawcapi_exec(module: *mut PyObject) -> c_int {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    capi::panic::guard(py, -1, || {
        capi::panic::install_hook();
        let version = concat!(env!("CARGO_PKG_VERSION"), "\0");
        // SAFETY: `module` is the new module (borrowed), GIL held; the value is a NUL-terminated
        // string that PyModule_AddStringConstant copies into a new str it stores in the module.
        if unsafe { pyo3_ffi::PyModule_AddStringConstant(module, c"__version__".as_ptr(), version.as_ptr().cast()) } < 0 {
            return Err(capi::error::PyErrSet::fetched());
        }
        // rawcapi._C_API: the capsule other C extensions import (include/rawcapi.h).
        // SAFETY: `module` is the module being executed; GIL held.
        unsafe { capsule::add_to(module) }?;
        // RAWCAPI_SIMD and RAWCAPI_NUM_THREADS, read once per process: a value that cannot be
        // honoured fails the import with a message naming it, rather than being ignored.
        crate::kernels::simd::configure_from_env().map_err(|e| capi::error::raise(py, capi::error::Exc::ImportError, &e.0))?;
        crate::kernels::parallel::configure_from_env().map_err(|e| capi::error::raise(py, capi::error::Exc::ImportError, &e))?;
        // The Array type: built from its spec for this module, owned by the module state (the
        // strong reference `create_type` returned moves there), and published as `rawcapi.Array`.
        // SAFETY: `module` is the module being executed; its state block exists (m_size > 0).
        let ty = unsafe { array::spec::create_type(module) }?;
        // SAFETY: as above; exec runs before any function of this module object can, so nothing
        // else reads the block while it is written.
        let state = unsafe { state::block(py, module) }?;
        let array_type = ty.into_raw();
        // SAFETY: `state` is this module's block (above); the strong reference moves into it.
        unsafe { (*state).array_type = array_type };
        // PyModule_AddType borrows the type, adds it under its short name ("Array") with a new
        // reference of the module's own, and returns -1 with an exception set on failure.
        // SAFETY: `module` and the type are live objects; attached.
        if unsafe { pyo3_ffi::PyModule_AddType(module, array_type.cast()) } < 0 {
            return Err(capi::error::PyErrSet::fetched());
        }
        // The FFT plan cache: plain Rust, one per module object (src/kernels/fft.rs says why).
        let plans = std::sync::Arc::into_raw(std::sync::Arc::new(kernels::fft::FftPlans::new()));
        // SAFETY: as above.
        unsafe { (*state).fft_plans = plans };
        Ok(0)
    })
}

/// The module, once: every setting CPython reads, in the order it applies them. Both export
/// forms are computed from this list at compile time (src/capi/export.rs): the `PyModuleDef`
/// with its `m_slots` for `PyInit_rawcapi`, and, for 3.15, the `PySlot` array for
/// `PyModExport_rawcapi`. Entries under `#[cfg]` exist only in the builds that need them.
const SETTINGS: &[Setting] = &[
    Setting::Name(c"rawcapi"),
    Setting::Doc(MODULE_DOC),
    // The bytes of per-module state CPython allocates for each module object (src/state.rs).
    Setting::StateSize(state::STATE_SIZE),
    Setting::Methods((&raw mut METHODS).cast()),
    // Let the collector see and break the references in the state.
    Setting::Traverse(state::traverse),
    Setting::Clear(state::clear),
    Setting::Free(state::free),
    // Runs once per module object, after CPython has created it: adds `__version__`, the
    // capsule and the Array type.
    Setting::Exec(rawcapi_exec),
    // The module keeps no Python objects in Rust statics, so each (sub)interpreter can have its
    // own module object, even one with its own GIL (PEP 684). Without this, 3.12+ refuses to
    // import the module into an isolated subinterpreter. (The abi3 build adds it at run time:
    // `abi3_runtime_slots`.)
    #[cfg(Py_3_12)]
    Setting::MultipleInterpreters(pyo3_ffi::Py_MOD_PER_INTERPRETER_GIL_SUPPORTED),
    // The functions touch no shared Python state beyond their arguments, so a free-threaded
    // interpreter can keep its GIL off; without this it would turn the GIL back on at import.
    #[cfg(Py_3_13)]
    Setting::Gil(pyo3_ffi::Py_MOD_GIL_NOT_USED),
];

/// `static PyModuleDef_Slot rawcapi_slots[]`: the settings that are slots in the `PyModuleDef`
/// form (exec, multiple interpreters, GIL), then `{0, NULL}`.
const SLOT_COUNT: usize = export::def_slot_count(SETTINGS);
static mut SLOTS: [PyModuleDef_Slot; SLOT_COUNT] = export::def_slots(SETTINGS);

/// The abi3 build's slots that depend on the interpreter it runs on (see
/// `export::RUNTIME_SLOTS`): the C equivalent is a check of the running version, `Py_Version`
/// (3.11+), instead of `#if PY_VERSION_HEX`, which only knows the version compiled against.
#[cfg(all(Py_LIMITED_API, not(Py_3_12)))]
fn abi3_runtime_slots() {
    static FILLED: std::sync::Once = std::sync::Once::new();
    // Once: PyInit_rawcapi may run in several interpreters at the same time (each with its own
    // GIL); the first fills the entry, the others wait, and all return a finished table.
    FILLED.call_once(|| {
        // SAFETY: Py_Version is a constant the interpreter exports (stable ABI since 3.11).
        if unsafe { pyo3_ffi::Py_Version } >= 0x030C_0000 {
            // `Py_MOD_PER_INTERPRETER_GIL_SUPPORTED` is `(void *)2` (3.12's moduleobject.h);
            // pyo3-ffi only defines it when compiling for 3.12+.
            let entry = PyModuleDef_Slot { slot: pyo3_ffi::Py_mod_multiple_interpreters, value: 2 as *mut std::ffi::c_void };
            // SAFETY: written once, inside call_once, before any PyInit_rawcapi returns the
            // definition that points at SLOTS; CPython reads the table only after that. The spare
            // entry is the one before the terminator (export::def_slots).
            unsafe { (&raw mut SLOTS).cast::<PyModuleDef_Slot>().add(SLOT_COUNT - 2).write(entry) };
        }
    });
}

/// `static struct PyModuleDef rawcapi_module = { PyModuleDef_HEAD_INIT, "rawcapi", doc,
/// sizeof(state), methods, slots, traverse, clear, free }`, filled from SETTINGS. `m_slots` makes
/// this a multi-phase definition.
static mut MODULE_DEF: PyModuleDef = export::module_def(SETTINGS, (&raw mut SLOTS).cast());

/// This module's definition, for code that must recognise a rawcapi module object
/// (`export::is_module_of`). Only the address is handed out; it is also the module's token on
/// 3.15, whichever form created the module.
pub(crate) fn module_def() -> *mut PyModuleDef {
    &raw mut MODULE_DEF
}

/// The entry point of every interpreter but 3.15's own build. `import rawcapi` finds
/// `rawcapi.*.so`, looks up `PyInit_rawcapi` and calls it. With multi-phase initialisation it
/// returns the *definition* (`PyModuleDef_Init` marks it as an object and returns it, a borrowed
/// reference to a static), not a module: CPython then creates the module and runs the
/// `Py_mod_exec` slot itself.
///
/// # Safety
/// Called only by CPython's import machinery, with the GIL (or the interpreter's own GIL)
/// held.
#[allow(non_snake_case)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PyInit_rawcapi() -> *mut PyObject {
    #[cfg(all(Py_LIMITED_API, not(Py_3_12)))]
    abi3_runtime_slots();
    // SAFETY: MODULE_DEF is a static with the layout CPython expects; PyModuleDef_Init only
    // initialises its object header and returns it cast to PyObject*. It cannot fail or panic.
    unsafe { PyModuleDef_Init(&raw mut MODULE_DEF) }
}

/// `PyABIInfo_VAR(abi_info)`: read through its `Py_mod_abi` slot; `static mut` only because the
/// slot's pointer is `*mut`.
#[cfg(Py_3_15)]
static mut ABI_INFO: pyo3_ffi::PyABIInfo = export::abi_info();

/// `static PySlot rawcapi_slots[]` for PEP 793: `Py_mod_abi`, every setting, `Py_mod_token`
/// (the `PyModuleDef`'s address, so both forms give the module one token), `PySlot_END`.
#[cfg(Py_3_15)]
static mut EXPORT_SLOTS: [pyo3_ffi::PySlot; export::export_slot_count(SETTINGS)] =
    export::export_slots(SETTINGS, &raw mut ABI_INFO, &raw mut MODULE_DEF);

/// The 3.15 entry point (PEP 793). 3.15 looks for `PyModExport_rawcapi` before `PyInit_rawcapi`
/// and, finding it, makes the module from the returned `PySlot` array: no `PyModuleDef` is
/// involved, so `PyModule_GetDef` of the module is NULL (tests/test_c_api.py checks which form
/// was used). The array lives as long as the process and is never written, as
/// Doc/c-api/extension-modules.rst requires ("valid and constant until interpreter shutdown").
///
/// # Safety
/// Called only by CPython's import machinery. It reads no Python object and calls nothing, only
/// returns the address of a static, so it is sound whatever the calling thread holds.
#[cfg(Py_3_15)]
#[allow(non_snake_case)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PyModExport_rawcapi() -> *mut pyo3_ffi::PySlot {
    (&raw mut EXPORT_SLOTS).cast()
}

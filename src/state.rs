//! Module state: the Python objects the module owns, one set per module object.
//!
//! A C extension written the old way keeps its type objects and caches in C `static`s. That ties
//! them to one interpreter: a second (sub)interpreter importing the module would share objects
//! that belong to the first. PEP 489/573 give each module object a block of memory instead —
//! `PyModuleDef.m_size` bytes, allocated and zeroed by CPython when it creates the module, reached
//! with `PyModule_GetState(module)`:
//!
//! ```c
//! typedef struct { PyObject *array_type; } rawcapi_state;      /* strong references */
//! static PyModuleDef def = { ..., .m_size = sizeof(rawcapi_state),
//!                            .m_traverse = rawcapi_traverse, .m_clear = rawcapi_clear,
//!                            .m_free = rawcapi_free };
//! rawcapi_state *st = PyModule_GetState(module);
//! ```
//!
//! rawcapi holds no Python object in any Rust `static` (a `static mut` holding a `*mut PyObject`
//! would be exactly the shared-between-interpreters bug above); every one lives here.
//!
//! The references here are *strong*, and can form cycles (the Array type points back at this
//! module through `PyType_GetModule`), so the garbage collector must see them: `m_traverse`
//! visits each one, `m_clear` drops each one, `m_free` (called when the module is deallocated)
//! runs `m_clear` a last time.
//!
//! ## Adding a field
//! 1. Add it to [`State`] as a `*mut PyObject` (NULL until set; a strong reference once set) — or
//!    any plain-data Rust value that needs no destructor (the block is freed with `PyMem_Free`,
//!    not dropped).
//! 2. Set it in the module's exec slot (`rawcapi_exec` in src/lib.rs), with a new reference.
//! 3. Add one line to [`State::fields`], which both [`traverse`] and [`clear`] walk, so the
//!    collector sees it and the module's teardown drops it.
//!
//! A field that is not a Python object (a plan cache keyed by sizes, say) must still free what it
//! owns in [`clear`], because that is the last code that sees the state.

use std::ffi::{c_int, c_void};
use std::ptr;

use pyo3_ffi::{PyObject, PyTypeObject};

use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc, PyResult};
use crate::kernels::fft::FftPlans;

/// The module's state block (`PyModuleDef.m_size = size_of::<State>()`). CPython allocates it
/// zeroed, so every pointer starts NULL.
#[repr(C)]
pub struct State {
    /// `rawcapi.Array`, the heap type built by `src/array/spec.rs` (strong reference).
    pub array_type: *mut PyObject,
    /// The FFT plan cache (src/kernels/fft.rs): not a Python object but an `Arc<FftPlans>` made
    /// into a raw pointer in exec (NULL before). [`clear`] drops the module's count; a transform
    /// running with the GIL released holds its own clone ([`fft_plans`]), so it cannot dangle.
    pub fft_plans: *const FftPlans,
}

/// `m_size` for the `PyModuleDef`.
pub const STATE_SIZE: isize = std::mem::size_of::<State>() as isize;

impl State {
    /// Every object field, for traverse and clear. Add a line here when you add a field.
    fn fields(&mut self) -> [&mut *mut PyObject; 1] {
        [&mut self.array_type]
    }
}

/// `PyModule_GetState(module)`: the raw state block of a rawcapi module object, for the two
/// places that write it (the exec slot, and `clear`).
///
/// # Safety
/// `module` is a rawcapi module object (borrowed), and the thread is attached.
pub unsafe fn block(_py: Python<'_>, module: *mut PyObject) -> PyResult<*mut State> {
    // SAFETY: `module` is a module object (caller); the call borrows it and returns a pointer to
    // its state block, or NULL with an exception set when it has none.
    let state = unsafe { pyo3_ffi::PyModule_GetState(module) } as *mut State;
    if state.is_null() {
        return Err(crate::capi::error::PyErrSet::fetched());
    }
    Ok(state)
}

/// The state of a rawcapi module object, to read: shared (`&`), and borrowed for no longer than
/// the token that proves this thread attached — so no reference to it outlives the entry point
/// that asked, and none is `&mut` (two attached threads may read it at once).
///
/// # Safety
/// `module` is a rawcapi module object (borrowed) that stays alive while the reference is used,
/// and its `clear` does not run meanwhile (it runs only when the module is being destroyed).
pub unsafe fn of_module<'py>(py: Python<'py>, module: *mut PyObject) -> PyResult<&'py State> {
    // SAFETY: forwarded; the block is `m_size` = size_of::<State>() bytes, allocated by CPython
    // for this module and aligned for pointers (PyMem_Malloc's alignment), written only by exec
    // (before any function of the module can run) and by clear.
    Ok(unsafe { &*block(py, module)? })
}

/// The `rawcapi.Array` type of the module (borrowed reference, alive as long as the module).
///
/// # Safety
/// As for [`of_module`].
pub unsafe fn array_type(py: Python<'_>, module: *mut PyObject) -> PyResult<*mut PyTypeObject> {
    // SAFETY: forwarded from the caller.
    let ty = unsafe { of_module(py, module) }?.array_type;
    if ty.is_null() {
        // Only reachable after the module has been cleared (interpreter shutdown).
        return Err(raise(py, Exc::SystemError, "rawcapi: the Array type is gone (module state cleared)"));
    }
    Ok(ty.cast())
}

/// The module's FFT plan cache: a new `Arc` of it, usable with the GIL released.
///
/// # Safety
/// As for [`of_module`].
pub unsafe fn fft_plans(py: Python<'_>, module: *mut PyObject) -> PyResult<std::sync::Arc<FftPlans>> {
    // SAFETY: forwarded from the caller.
    let plans = unsafe { of_module(py, module) }?.fft_plans;
    if plans.is_null() {
        return Err(raise(py, Exc::SystemError, "rawcapi: the FFT plan cache is gone (module state cleared)"));
    }
    // SAFETY: `plans` came from Arc::into_raw in exec and the state's count is still held (it is
    // NULLed before being dropped, under the GIL), so adding a count and taking one is sound.
    unsafe {
        std::sync::Arc::increment_strong_count(plans);
        Ok(std::sync::Arc::from_raw(plans))
    }
}

/// The module that defined `ty` (`PyType_GetModule`, borrowed). Slots of a non-subclassable heap
/// type reach the module state this way: `Py_TYPE(self)` is always the type made from the module.
///
/// # Safety
/// `ty` is a heap type created by `PyType_FromModuleAndSpec`; GIL held.
pub unsafe fn module_of_type(ty: *mut PyTypeObject) -> PyResult<*mut PyObject> {
    // SAFETY: borrowed result, NULL with TypeError set when `ty` has no module.
    let module = unsafe { pyo3_ffi::PyType_GetModule(ty) };
    if module.is_null() {
        return Err(crate::capi::error::PyErrSet::fetched());
    }
    Ok(module)
}

/// `m_traverse`: report every strong reference the state holds to the cycle collector.
///
/// The state may not be allocated yet (the collector can run between module creation and exec),
/// in which case there is nothing to visit.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn traverse(module: *mut PyObject, visit: pyo3_ffi::visitproc, arg: *mut c_void) -> c_int {
    // No panic::guard: nothing here can panic, and a traverse function must not raise.
    // SAFETY: called by the collector with a live module; GetState never fails for a module
    // object (it returns NULL only when the state is not allocated yet).
    let state = unsafe { pyo3_ffi::PyModule_GetState(module) } as *mut State;
    if state.is_null() {
        return 0;
    }
    // SAFETY: a valid state block (see `of_module`).
    for field in unsafe { &mut *state }.fields() {
        if !field.is_null() {
            // Py_VISIT: `visit` borrows the object; a non-zero result must be returned at once.
            // SAFETY: `*field` is a live object we hold a strong reference to.
            let r = unsafe { visit(*field, arg) };
            if r != 0 {
                return r;
            }
        }
    }
    0
}

/// `m_clear`: drop every strong reference (Py_CLEAR: NULL the field first, then DECREF, so code
/// run by the DECREF never sees a dangling pointer).
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn clear(module: *mut PyObject) -> c_int {
    // SAFETY: as in `traverse`.
    let state = unsafe { pyo3_ffi::PyModule_GetState(module) } as *mut State;
    if state.is_null() {
        return 0;
    }
    // SAFETY: a valid state block; each non-NULL field is a strong reference we own.
    for field in unsafe { &mut *state }.fields() {
        let old = std::mem::replace(field, ptr::null_mut());
        // SAFETY: `old` is NULL or a reference we owned; the field no longer names it.
        unsafe { pyo3_ffi::Py_XDECREF(old) };
    }
    // The plan cache is no Python object: drop the module's Arc count (the plans are freed when
    // no running transform holds a clone any more).
    // SAFETY: a valid state block; the pointer came from Arc::into_raw and is taken once.
    let plans = std::mem::replace(unsafe { &mut (*state).fft_plans }, ptr::null());
    if !plans.is_null() {
        // SAFETY: as above.
        drop(unsafe { std::sync::Arc::from_raw(plans) });
    }
    0
}

/// `m_free`: the module object is being deallocated; drop what `m_clear` has not already.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn free(module: *mut c_void) {
    // SAFETY: CPython passes the module object (as void*) being freed.
    unsafe { clear(module.cast()) };
}

//! Reading an exact `bytes` object in place, without the buffer protocol's bookkeeping.
//!
//! A `bytes` object is a `PyVarObject` whose `ob_size` bytes follow its header (plus a NUL).
//! C reads it with two macros, `PyBytes_AS_STRING(o)` (the address of the inline array) and
//! `Py_SIZE(o)`; both compile to field accesses. The limited API hides `PyBytesObject`, so the
//! abi3 build asks through `PyBytes_AsStringAndSize`, one exported function call that returns
//! both (docs/08-abi.md: a few nanoseconds per call, nothing per byte).

use pyo3_ffi::PyObject;

use crate::kernels::memory::Units;

/// The bytes of `obj`, an exact `bytes` object (`PyBytes_CheckExact` is true).
///
/// # Safety
/// `obj` is a valid exact `bytes` object, the GIL is held, and the caller keeps a reference to
/// `obj` for as long as the units are read (they point into its immutable storage).
pub unsafe fn bytes_units(obj: *mut PyObject) -> Units<u8> {
    #[cfg(not(Py_LIMITED_API))]
    // SAFETY: `obj` is an exact bytes (caller's promise): the macros read its own fields.
    unsafe {
        Units::new(pyo3_ffi::PyBytes_AS_STRING(obj) as *const u8, pyo3_ffi::Py_SIZE(obj) as usize)
    }
    #[cfg(Py_LIMITED_API)]
    {
        let mut data: *mut std::ffi::c_char = std::ptr::null_mut();
        let mut len: pyo3_ffi::Py_ssize_t = 0;
        // SAFETY: GIL held; `obj` is a bytes object (borrowed), so the call cannot fail: it
        // stores a pointer to `obj`'s storage and its size.
        let status = unsafe { pyo3_ffi::PyBytes_AsStringAndSize(obj, &mut data, &mut len) };
        debug_assert_eq!(status, 0, "PyBytes_AsStringAndSize failed on an exact bytes");
        Units::new(data as *const u8, len as usize)
    }
}

//! Owned references: the one place this extension calls `Py_DECREF`.
//!
//! Every `PyObject *` is either *owned* (a "new reference": the holder must `Py_DECREF` it once)
//! or *borrowed* (someone else keeps it alive; the holder must not decref it). C code tracks
//! this in comments and by hand on every return path. Here each new reference is wrapped in
//! [`Owned`], whose `Drop` is the `Py_DECREF`, so an early return or `?` cannot leak it, and
//! [`Owned::into_raw`] hands the reference over when it is returned to CPython.

use std::ptr::NonNull;

use pyo3_ffi::{PyObject, Py_DECREF};

use crate::capi::error::{PyErrSet, PyResult};

/// A strong (owned) reference to a Python object. `!Send` (it holds a raw pointer), so it
/// cannot enter work that runs with the GIL released, where its drop could not decref.
pub struct Owned(NonNull<PyObject>);

impl Owned {
    /// Take ownership of a new reference returned by a C-API call; `NULL` means that call
    /// failed and set an exception, which becomes `Err`.
    ///
    /// # Safety
    /// `ptr` is a new reference (or `NULL` with an exception set), and the GIL is held.
    pub unsafe fn from_new(ptr: *mut PyObject) -> PyResult<Owned> {
        NonNull::new(ptr).map(Owned).ok_or_else(PyErrSet::fetched)
    }

    pub fn as_ptr(&self) -> *mut PyObject {
        self.0.as_ptr()
    }

    /// Give the reference away (to CPython, as a return value) without decrementing it.
    pub fn into_raw(self) -> *mut PyObject {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        ptr
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: we own one reference (see `from_new`), and the GIL is held wherever an `Owned`
        // lives: it is `!Send`, so it cannot enter a closure run with the GIL released.
        unsafe { Py_DECREF(self.0.as_ptr()) }
    }
}

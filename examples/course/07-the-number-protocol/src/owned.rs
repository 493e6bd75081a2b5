//! Owned references: `Py_DECREF` done by `Drop`.
//!
//! Every `PyObject *` a function holds is one of three things:
//! - a **new** reference: it was returned to us (by `PyLong_FromUnsignedLongLong`,
//!   `PyTuple_New`, ...) and we must give it back exactly once, with `Py_DECREF`, or hand it to
//!   someone who takes it over;
//! - a **borrowed** reference: someone else keeps the object alive (the argument tuple keeps its
//!   items alive for the length of the call); we must not `Py_DECREF` it, and must `Py_INCREF` it
//!   before we hand it out or keep it;
//! - a reference we hand to a function that **steals** it (`PyTuple_SetItem`): after the call it
//!   is no longer ours, whether the call succeeded or not.
//!
//! C tracks this by hand on every return path. [`Owned`] holds one new reference and releases
//! it when it goes out of scope, so an early `return` cannot leak it; [`Owned::into_raw`] is the
//! hand-over, to the caller as a return value or to a function that steals.

use std::ptr::NonNull;

use pyo3_ffi::{PyObject, Py_DECREF};

/// One new (strong) reference, released with `Py_DECREF` when dropped.
///
/// It holds a raw pointer, so it is neither `Send` nor `Sync`: it stays on the thread that
/// holds the GIL.
pub struct Owned(NonNull<PyObject>);

impl Owned {
    /// Take over the new reference a C-API call returned; `None` when it returned `NULL`, which
    /// means the call failed and set an exception.
    ///
    /// # Safety
    /// `ptr` is a new reference or `NULL`, and the GIL is held, also wherever the result is
    /// dropped.
    pub unsafe fn from_new(ptr: *mut PyObject) -> Option<Owned> {
        NonNull::new(ptr).map(Owned)
    }

    pub fn as_ptr(&self) -> *mut PyObject {
        self.0.as_ptr()
    }

    /// Give the reference away without releasing it: return it to CPython, or pass it to a
    /// function that steals it.
    pub fn into_raw(self) -> *mut PyObject {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        ptr
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: we own exactly one reference (`from_new`), and the GIL is held: `from_new`'s
        // caller promised it for the whole life of the value, and `Owned` cannot move to
        // another thread.
        unsafe { Py_DECREF(self.0.as_ptr()) }
    }
}

//! Taking and releasing a `Py_buffer`: `PyObject_GetBuffer` … `PyBuffer_Release`.
//!
//! The consumer's side of the buffer protocol. In C:
//!
//! ```c
//! Py_buffer view;
//! if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0) return NULL;  /* exception set */
//! ... read view.len bytes at view.buf ...
//! PyBuffer_Release(&view);                        /* on EVERY path out, errors included */
//! ```
//!
//! A filled `Py_buffer` holds a new reference to the exporter (`view.obj`) and keeps the memory
//! exported: a `bytearray` refuses to resize until the view is released. [`Buffer`] owns one
//! filled view and releases it in `Drop`, so no path can forget. The view lives in a `Box`
//! because an exporter may point `view.shape`/`view.strides` into the `Py_buffer` itself; once
//! filled it must not move.

use std::ffi::c_int;

use pyo3_ffi::{PyBuffer_Release, PyObject, PyObject_GetBuffer, Py_buffer};

use crate::capi::error::{PyErrSet, PyResult};
use crate::capi::gil::Python;

/// A filled `Py_buffer`, released when dropped. `!Send` (raw pointers inside): it is released
/// with the GIL held.
pub struct Buffer {
    view: Box<Py_buffer>,
}

impl Buffer {
    /// `PyObject_GetBuffer(obj, &view, flags)`. On failure the exporter's exception propagates
    /// (for an object without the protocol, CPython raises `TypeError: a bytes-like object is
    /// required, not '...'`).
    ///
    /// # Safety
    /// `obj` is a valid object (borrowed is fine).
    pub unsafe fn get(_py: Python<'_>, obj: *mut PyObject, flags: c_int) -> PyResult<Buffer> {
        let mut view = Box::new(Py_buffer::new());
        // SAFETY: attached (the token), `obj` valid, `view` a writable Py_buffer at a stable
        // address. On success `view.obj` holds a NEW reference to the exporter, dropped by
        // PyBuffer_Release; on failure the view is left unfilled and must not be released.
        if unsafe { PyObject_GetBuffer(obj, &mut *view, flags) } < 0 {
            return Err(PyErrSet::fetched());
        }
        Ok(Buffer { view })
    }

    /// The exported memory as plain data that may cross a GIL release. Meaningful for a view
    /// requested with `PyBUF_SIMPLE`, which the exporter fills only if its memory is one run
    /// of `len` bytes.
    pub fn bytes(&self) -> Bytes<'_> {
        Bytes { ptr: self.view.buf as *const u8, len: usize::try_from(self.view.len).unwrap_or(0), _view: std::marker::PhantomData }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: filled by a successful PyObject_GetBuffer, released exactly once, here; the
        // GIL is held because `Buffer` is !Send. Releasing drops the view's reference to the
        // exporter (`view.obj`).
        unsafe { PyBuffer_Release(&mut *self.view) }
    }
}

/// `len` bytes at `ptr`, valid while the [`Buffer`] they came from is held (the lifetime).
///
/// Never a `&[u8]`: with the GIL released another thread may write the same `bytearray` while
/// it is read, and a shared slice would promise the compiler that the bytes cannot change. The
/// reader takes each byte once, by value, with [`Bytes::get`].
#[derive(Clone, Copy)]
pub struct Bytes<'buf> {
    ptr: *const u8,
    len: usize,
    _view: std::marker::PhantomData<&'buf Buffer>,
}

// SAFETY: a pointer and a length into memory that the held Buffer keeps exported (the
// lifetime); reading it needs no interpreter, so it may move to work run with the GIL released.
// `Bytes` offers reads only.
unsafe impl Send for Bytes<'_> {}

impl Bytes<'_> {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The byte at `i` (panics when `i >= len`), read once.
    pub fn get(&self, i: usize) -> u8 {
        assert!(i < self.len, "byte index {i} out of range for {} bytes", self.len);
        // SAFETY: `i < len`, and the exporter keeps `len` bytes at `ptr` readable while the
        // Buffer is held, which the lifetime guarantees.
        unsafe { self.ptr.add(i).read() }
    }
}

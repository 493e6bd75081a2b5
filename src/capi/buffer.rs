//! Taking and releasing a `Py_buffer`: `PyObject_GetBuffer` … `PyBuffer_Release`.
//!
//! The consumer's side of the buffer protocol. In C:
//!
//! ```c
//! Py_buffer view;
//! if (PyObject_GetBuffer(obj, &view, PyBUF_FULL_RO) < 0) return NULL;  /* exception set */
//! ... read view.buf through view.shape / view.strides / view.suboffsets ...
//! PyBuffer_Release(&view);                        /* on EVERY path out, errors included */
//! ```
//!
//! A filled `Py_buffer` holds a new reference to the exporter (`view.obj`) and keeps the memory
//! exported: a `bytearray` refuses to resize, a NumPy array refuses to reallocate, until the view
//! is released. [`Buffer`] owns one filled view and releases it in `Drop`, so no path can forget.
//! It lives in a `Box` because an exporter may point `view.shape`/`view.strides` into the
//! `Py_buffer` itself; once filled it must not move.

use std::ffi::c_int;

use pyo3_ffi::{PyBuffer_Release, PyObject, PyObject_GetBuffer, Py_buffer};

use crate::capi::error::{PyErrSet, PyResult};
use crate::capi::gil::Python;
use crate::kernels::strided::Layout;

/// What rawcapi asks exporters for when it only reads: the most general description they can
/// give — shape, strides and suboffsets, no format, not writable (`PyBUF_INDIRECT`, read-only).
/// Asking for less would make exporters with strides or suboffsets refuse.
pub const READ_ANY_LAYOUT: c_int = pyo3_ffi::PyBUF_INDIRECT;

/// A filled `Py_buffer`, released when dropped. Not `Send`: it must be released with the GIL.
pub struct Buffer {
    view: Box<Py_buffer>,
}

impl Buffer {
    /// `PyObject_GetBuffer(obj, &view, flags)`.
    ///
    /// On failure the exporter's exception propagates (for an object without the protocol,
    /// CPython raises `TypeError: a bytes-like object is required, not '...'`).
    ///
    /// # Safety
    /// `obj` is a valid object (borrowed) and the GIL is held.
    pub unsafe fn get(py: Python<'_>, obj: *mut PyObject, flags: c_int) -> PyResult<Buffer> {
        let mut view = boxed_empty_view(py)?;
        // SAFETY: `obj` is valid, GIL held, `view` is a writable Py_buffer at a stable address.
        // On success `view.obj` holds a NEW reference to the exporter, dropped by
        // PyBuffer_Release; on failure the view is left unfilled and must not be released.
        if unsafe { PyObject_GetBuffer(obj, &mut *view, flags) } < 0 {
            return Err(PyErrSet::fetched());
        }
        Ok(Buffer { view })
    }

    /// The filled `Py_buffer` itself (its `format`, `itemsize`, `readonly`, `shape`...).
    pub fn raw(&self) -> &Py_buffer {
        &self.view
    }

    /// Keep the export alive beyond this `Buffer`: the caller now owns the filled view and must
    /// `PyBuffer_Release` it exactly once (an Array made by `frombuffer` does so in its dealloc).
    pub fn into_box(self) -> Box<Py_buffer> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the box is moved out exactly once.
        unsafe { std::ptr::read(&this.view) }
    }

    /// The number of bytes the buffer covers (`view.len`: product of shape × itemsize).
    pub fn len_bytes(&self) -> usize {
        usize::try_from(self.view.len).unwrap_or(0)
    }

    /// The buffer's memory as the kernels' [`Layout`], borrowing the shape/strides arrays that
    /// the exporter keeps alive until release (hence the lifetime tied to `&self`).
    pub fn layout(&self) -> Layout<'_> {
        layout_of(&self.view)
    }
}

/// The layout a filled view describes.
fn layout_of(v: &Py_buffer) -> Layout<'_> {
    let len_bytes = usize::try_from(v.len).unwrap_or(0);
    let ndim = usize::try_from(v.ndim).unwrap_or(0);
    if v.shape.is_null() && ndim > 0 {
        // No shape given: the protocol says the memory is `len` contiguous bytes.
        return Layout::contiguous(v.buf as *const u8, len_bytes);
    }
    // SAFETY: when `shape` is non-NULL it points at `ndim` Py_ssize_t owned by the exporter,
    // valid until PyBuffer_Release, which cannot happen while the view is borrowed.
    let shape = if ndim == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(v.shape, ndim) } };
    if v.strides.is_null() {
        // No strides: C-contiguous, which the kernels treat as one run.
        return Layout::contiguous(v.buf as *const u8, len_bytes);
    }
    // SAFETY: as for `shape`; `strides` and (when non-NULL) `suboffsets` have `ndim` entries.
    let strides = unsafe { std::slice::from_raw_parts(v.strides, ndim) };
    let suboffsets = (!v.suboffsets.is_null()).then(|| unsafe { std::slice::from_raw_parts(v.suboffsets, ndim) });
    Layout { buf: v.buf as *const u8, itemsize: usize::try_from(v.itemsize).unwrap_or(1), shape, strides, suboffsets }
}

/// [`Buffer`] without the heap allocation: the view lives in a slot the caller provides, usually
/// a local (`let mut slot = Py_buffer::new();`), as C code declares `Py_buffer view;` on its
/// stack. The exclusive borrow of the slot for the lifetime `'slot` is what keeps it from
/// moving while filled. Used on the per-call fast paths, where a `calloc`/`free` pair is a
/// measurable share of a ~100 ns call (docs/appendix-a-speed.md).
pub struct BufferIn<'slot> {
    view: &'slot mut Py_buffer,
}

impl<'slot> BufferIn<'slot> {
    /// `PyObject_GetBuffer(obj, slot, flags)`.
    ///
    /// # Safety
    /// `obj` is a valid object (borrowed) and the GIL is held.
    pub unsafe fn get(_py: Python<'_>, obj: *mut PyObject, flags: c_int, slot: &'slot mut Py_buffer) -> PyResult<BufferIn<'slot>> {
        // SAFETY: as in `Buffer::get`; `slot` is writable and cannot move while borrowed.
        // On success `slot.obj` holds a NEW reference to the exporter, dropped by release.
        if unsafe { PyObject_GetBuffer(obj, &mut *slot, flags) } < 0 {
            return Err(PyErrSet::fetched());
        }
        Ok(BufferIn { view: slot })
    }

    /// The number of bytes the buffer covers (`view.len`).
    pub fn len_bytes(&self) -> usize {
        usize::try_from(self.view.len).unwrap_or(0)
    }

    /// As [`Buffer::layout`].
    pub fn layout(&self) -> Layout<'_> {
        layout_of(self.view)
    }
}

impl Drop for BufferIn<'_> {
    fn drop(&mut self) {
        // SAFETY: filled by a successful PyObject_GetBuffer, released exactly once, here, with
        // the GIL held (`BufferIn` is !Send: it holds a `&mut Py_buffer`, which has raw pointers).
        unsafe { PyBuffer_Release(&mut *self.view) }
    }
}

/// `Box::new(Py_buffer::new())`, but an allocation failure is a `MemoryError`, not an abort
/// (`Box::new` calls `handle_alloc_error`, which aborts the process; stable Rust has no
/// `Box::try_new`). Every call of every buffer-taking function passes here.
fn boxed_empty_view(py: Python<'_>) -> PyResult<Box<Py_buffer>> {
    let layout = std::alloc::Layout::new::<Py_buffer>();
    // SAFETY: `Py_buffer` is not zero-sized, so `layout` is a valid non-zero layout.
    let ptr = unsafe { std::alloc::alloc(layout) }.cast::<Py_buffer>();
    if ptr.is_null() {
        return Err(crate::capi::error::no_memory(py));
    }
    // SAFETY: `ptr` is a fresh allocation with Py_buffer's layout from the global allocator,
    // which is what `Box::from_raw` needs; it is initialised before the Box is made.
    unsafe {
        ptr.write(Py_buffer::new());
        Ok(Box::from_raw(ptr))
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: the view was filled by a successful PyObject_GetBuffer and is released exactly
        // once, here; `Buffer` is !Send, so this runs on a thread that holds the GIL. Releasing
        // drops the view's reference to the exporter (`view.obj`).
        unsafe { PyBuffer_Release(&mut *self.view) }
    }
}

//! The consumer's side of the buffer protocol: `PyObject_GetBuffer` … `PyBuffer_Release`, for
//! memory of any layout.
//!
//! In C:
//!
//! ```c
//! Py_buffer view;
//! if (PyObject_GetBuffer(obj, &view, PyBUF_INDIRECT) < 0) return NULL;  /* exception set */
//! ... read view.buf through view.shape, view.strides, view.suboffsets ...
//! PyBuffer_Release(&view);               /* on every path out, errors and panics included */
//! ```
//!
//! [`Buffer`] owns one filled view and releases it in `Drop`, so no path can skip the release.

use std::ffi::c_int;

use pyo3_ffi::{PyBuffer_Release, PyObject, PyObject_GetBuffer, Py_buffer, Py_ssize_t};

/// What a reader of any layout asks for: shape, strides and suboffsets (`PyBUF_INDIRECT`), not
/// writable, no format (the items are read as bytes). A request for less (`PyBUF_SIMPLE`, which
/// `"y*"` makes) is refused by exporters whose memory is strided or indirect.
pub const ANY_LAYOUT: c_int = pyo3_ffi::PyBUF_INDIRECT;

/// A filled `Py_buffer`, released when dropped.
///
/// The view lives in a `Box`: an exporter may point `view.shape` or `view.strides` into the
/// `Py_buffer` itself, so once filled it must not move. It holds raw pointers, so it is neither
/// `Send` nor `Sync`: it is released on the thread that holds the GIL.
pub struct Buffer {
    view: Box<Py_buffer>,
}

impl Buffer {
    /// `PyObject_GetBuffer(obj, &view, flags)`; `None` when the exporter refused (or `obj` has
    /// no buffer protocol) and set an exception.
    ///
    /// # Safety
    /// `obj` is a valid object (a borrowed reference is enough) and the GIL is held, also
    /// wherever the `Buffer` is dropped.
    pub unsafe fn get(obj: *mut PyObject, flags: c_int) -> Option<Buffer> {
        let mut view = Box::new(Py_buffer::new());
        // SAFETY: `obj` is valid and the GIL held (the caller's promise); `view` is a writable
        // Py_buffer at an address that stays fixed. On success view.obj holds a new reference
        // to the exporter, dropped by PyBuffer_Release; on failure the view is not filled and
        // must not be released.
        if unsafe { PyObject_GetBuffer(obj, &mut *view, flags) } < 0 {
            return None;
        }
        Some(Buffer { view })
    }

    /// Bytes in the buffer: the product of the shape times the item size.
    pub fn len_bytes(&self) -> usize {
        self.view.len as usize
    }

    /// Call `visit` with the bytes of each item, in C order (the order of `tobytes()`).
    pub fn for_each_item(&self, visit: &mut impl FnMut(&[u8])) {
        let v = &*self.view;
        if v.len == 0 {
            return; // also covers a zero in the shape, and an empty 1-D buffer
        }
        // SAFETY: the view is filled (it exists only after a successful GetBuffer) and not yet
        // released; with PyBUF_INDIRECT the exporter described its memory by ndim, shape,
        // strides and suboffsets, which is what `walk` follows.
        unsafe { walk(v, v.buf as *const u8, 0, visit) }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: the view was filled by PyObject_GetBuffer and is released exactly once, here,
        // with the GIL held (`get`'s promise). This drops the reference in view.obj.
        unsafe { PyBuffer_Release(&mut *self.view) }
    }
}

/// Visit the items of dimension `dim` and below, starting at `ptr`.
///
/// The rule of PEP 3118 (CPython's memoryobject.c spells it `ADJUST_PTR`): the item at index
/// `i` of dimension `d` starts at `ptr + i * strides[d]`; if `suboffsets[d] >= 0`, that address
/// holds a pointer, and the item is at that pointer plus `suboffsets[d]`.
///
/// # Safety
/// `v` is a filled view and `ptr` the start of an item of dimension `dim` inside it.
unsafe fn walk(v: &Py_buffer, ptr: *const u8, dim: usize, visit: &mut impl FnMut(&[u8])) {
    let ndim = v.ndim as usize;
    if dim == ndim {
        // SAFETY: `ptr` starts an item of `itemsize` readable bytes (the exporter's promise).
        visit(unsafe { std::slice::from_raw_parts(ptr, v.itemsize as usize) });
        return;
    }
    // SAFETY: with PyBUF_INDIRECT requested, shape and strides hold ndim entries each;
    // suboffsets is NULL or holds ndim entries; dim < ndim.
    let (extent, stride, suboffset): (Py_ssize_t, Py_ssize_t, Py_ssize_t) = unsafe {
        let suboffset = if v.suboffsets.is_null() { -1 } else { *v.suboffsets.add(dim) };
        (*v.shape.add(dim), *v.strides.add(dim), suboffset)
    };
    for i in 0..extent {
        // SAFETY: index i < shape[dim], so the exporter's layout puts an item of this dimension
        // there (a negative stride counts back from ptr, which the exporter placed accordingly);
        // with suboffset >= 0 that address holds a valid pointer.
        unsafe {
            let mut item = ptr.offset(i * stride);
            if suboffset >= 0 {
                item = (*(item as *const *const u8)).offset(suboffset);
            }
            walk(v, item, dim + 1, visit);
        }
    }
}

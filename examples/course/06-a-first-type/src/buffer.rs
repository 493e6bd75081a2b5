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
//! [`Layout`] is what work with the GIL released gets instead: a plain description of the
//! memory, borrowed from the `Buffer`, so the memory stays exported while it is read.

use std::ffi::c_int;

use pyo3_ffi::{PyBuffer_Release, PyObject, PyObject_GetBuffer, Py_buffer};

use crate::gil::Python;

/// What a reader of any layout asks for: shape, strides and suboffsets (`PyBUF_INDIRECT`), not
/// writable, no format (the items are read as bytes). A request for less (`PyBUF_SIMPLE`, which
/// `"y*"` makes) is refused by exporters whose memory is strided or indirect.
pub const ANY_LAYOUT: c_int = pyo3_ffi::PyBUF_INDIRECT;

/// A filled `Py_buffer`, released when dropped.
///
/// The view lives in a `Box`: an exporter may point `view.shape` or `view.strides` into the
/// `Py_buffer` itself, so once filled it must not move. It holds raw pointers, so it is neither
/// `Send` nor `Sync`: it is released on the thread that holds the GIL, and cannot be captured
/// by work that runs with the GIL released.
pub struct Buffer {
    view: Box<Py_buffer>,
}

impl Buffer {
    /// `PyObject_GetBuffer(obj, &view, flags)`; `None` when the exporter refused (or `obj` has
    /// no buffer protocol) and set an exception.
    ///
    /// # Safety
    /// `obj` is a valid object (a borrowed reference is enough).
    pub unsafe fn get(_py: Python<'_>, obj: *mut PyObject, flags: c_int) -> Option<Buffer> {
        let mut view = Box::new(Py_buffer::new());
        // SAFETY: `obj` is valid (the caller's promise), the GIL held (the token); `view` is a
        // writable Py_buffer at an address that stays fixed. On success view.obj holds a new
        // reference to the exporter, dropped by PyBuffer_Release; on failure the view is not
        // filled and must not be released.
        if unsafe { PyObject_GetBuffer(obj, &mut *view, flags) } < 0 {
            return None;
        }
        Some(Buffer { view })
    }

    /// Bytes in the buffer: the product of the shape times the item size.
    pub fn len_bytes(&self) -> usize {
        self.view.len as usize
    }

    /// The memory's description, for reading it (with the GIL released or not) while this
    /// `Buffer` keeps it exported.
    pub fn layout(&self) -> Layout<'_> {
        let v = &*self.view;
        let ndim = v.ndim as usize;
        // SAFETY: the view is filled and not yet released; with PyBUF_INDIRECT requested,
        // shape and strides hold ndim entries each (none when ndim is 0), and suboffsets is
        // NULL or holds ndim entries. They live as long as the view, and so as `&self`.
        unsafe {
            let dims = |p: *mut isize| if ndim == 0 { &[][..] } else { std::slice::from_raw_parts(p as *const isize, ndim) };
            Layout {
                buf: v.buf as *const u8,
                len: v.len as usize,
                itemsize: v.itemsize as usize,
                shape: dims(v.shape),
                strides: dims(v.strides),
                suboffsets: if v.suboffsets.is_null() { None } else { Some(dims(v.suboffsets)) },
            }
        }
    }
}

/// A buffer's memory as plain data: where it starts, and how its items are laid out.
#[derive(Clone, Copy)]
pub struct Layout<'a> {
    buf: *const u8,
    len: usize,
    itemsize: usize,
    shape: &'a [isize],
    strides: &'a [isize],
    suboffsets: Option<&'a [isize]>,
}

// SAFETY: a Layout borrows from a `Buffer` (lifetime 'a), which keeps the memory exported and
// valid until it is dropped, on the GIL-holding thread, after 'a ends. Reading that memory
// needs no interpreter state, so any thread may do it. (Another Python thread may still write
// to a mutable exporter meanwhile: the sum then sees some of the old bytes and some of the
// new, as a C extension would.)
unsafe impl Send for Layout<'_> {}
// SAFETY: as above; a Layout is only read.
unsafe impl Sync for Layout<'_> {}

impl Layout<'_> {
    /// Call `visit` with the bytes of each item, in C order (the order of `tobytes()`).
    pub fn for_each_item(&self, visit: &mut impl FnMut(&[u8])) {
        if self.len == 0 {
            return; // also covers a zero in the shape, and an empty 1-D buffer
        }
        // SAFETY: the exporter described its memory by shape, strides and suboffsets, and it
        // stays exported for the Layout's lifetime.
        unsafe { walk(self, self.buf, 0, visit) }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: the view was filled by PyObject_GetBuffer and is released exactly once, here,
        // with the GIL held: `get` took a token, and a `Buffer` (not `Send`, not `Sync`) cannot
        // enter work that runs with the GIL released. This drops the reference in view.obj.
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
/// `v` describes exported memory and `ptr` is the start of an item of dimension `dim` in it.
unsafe fn walk(v: &Layout<'_>, ptr: *const u8, dim: usize, visit: &mut impl FnMut(&[u8])) {
    if dim == v.shape.len() {
        // SAFETY: `ptr` starts an item of `itemsize` readable bytes (the exporter's promise).
        visit(unsafe { std::slice::from_raw_parts(ptr, v.itemsize) });
        return;
    }
    let (extent, stride) = (v.shape[dim], v.strides[dim]);
    let suboffset = v.suboffsets.map_or(-1, |s| s[dim]);
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

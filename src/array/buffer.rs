//! The buffer protocol, exporter side: `bf_getbuffer` / `bf_releasebuffer`.
//!
//! A consumer (`memoryview(a)`, `numpy.asarray(a)`, `bytes(a)`, `fast_sum(a)`) calls
//! `PyObject_GetBuffer(a, &view, flags)`, which lands in [`getbuffer`]. The flags say what the
//! consumer can cope with; the exporter starts from the full description of its memory and
//! degrades or refuses it — the order CPython's own reference exporter, `Modules/_testbuffer.c`
//! (`ndarray_getbuf`), follows:
//!
//! | request                      | what the Array does                                          |
//! |------------------------------|--------------------------------------------------------------|
//! | `PyBUF_WRITABLE`             | BufferError if the Array is read-only                        |
//! | no `PyBUF_FORMAT`            | `format = NULL` (the consumer assumes unsigned bytes)        |
//! | `PyBUF_C/F/ANY_CONTIGUOUS`   | BufferError unless the memory has that contiguity            |
//! | no `PyBUF_STRIDES`           | BufferError unless C-contiguous; then `strides = NULL`       |
//! | no `PyBUF_ND`                | `shape = NULL`, `ndim = 1`: "`len` bytes" (refused together  |
//! |                              | with `PyBUF_FORMAT`, which cannot describe that)             |
//!
//! `shape` and `strides` point at the arrays inline in the Array object, `format` at a static
//! string: they stay valid as long as the Array, and `view->obj` holds a new reference to the
//! Array, so they outlive every export (NumPy's buffer.c makes the same promise). While any export
//! is outstanding the Array refuses to change its shape in place (`exports` counter).

use std::ffi::{c_int, CStr};

use pyo3_ffi::{PyObject, Py_buffer};

use super::object::ArrayObject;
use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc};
use crate::capi::panic;
use crate::kernels::array::dtype::DType;
use crate::kernels::array::view::is_c_contiguous;

/// The format string exported for each dtype (what NumPy exports; see `DType::buffer_format`).
/// Static, so the pointer handed out never dangles.
pub fn format_cstr(dtype: DType) -> &'static CStr {
    match dtype {
        DType::Bool => c"?",
        DType::UInt8 => c"B",
        DType::Int32 => c"i",
        DType::Int64 => {
            if std::mem::size_of::<std::ffi::c_long>() == 8 {
                c"l"
            } else {
                c"q"
            }
        }
        DType::Float32 => c"f",
        DType::Float64 => c"d",
        DType::Complex128 => c"Zd",
    }
}

/// Fortran order: the first dimension varies fastest.
pub fn is_f_contiguous(shape: &[usize], strides: &[isize], itemsize: usize) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut expected = itemsize as isize;
    for (&n, &s) in shape.iter().zip(strides) {
        if n != 1 && s != expected {
            return false;
        }
        expected = expected.saturating_mul(n as isize);
    }
    true
}

fn has(flags: c_int, bits: c_int) -> bool {
    flags & bits == bits
}

/// `bf_getbuffer`: fill `*view` for the request `flags`, or set BufferError and return -1
/// (leaving `view->obj` NULL, as the protocol requires on failure).
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn getbuffer(obj: *mut PyObject, view: *mut Py_buffer, flags: c_int) -> c_int {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, -1, || {
        // SAFETY: called by PyObject_GetBuffer on an Array with a writable Py_buffer.
        let array = unsafe { ArrayObject::from_ptr(obj) };
        // SAFETY: `view` is the caller's writable Py_buffer, not aliased during the call.
        let v = unsafe { &mut *view };
        // The export pins the layout until `releasebuffer`: `view->shape`/`view->strides` point
        // into it. Pinned from the first read, so a refusal below unpins by dropping the guard.
        let a = array.pin();
        v.obj = std::ptr::null_mut();
        if has(flags, pyo3_ffi::PyBUF_WRITABLE) && !array.is_writable() {
            return Err(raise(py, Exc::BufferError, "Array is not writable"));
        }
        let itemsize = array.dtype().itemsize();
        let (shape, strides) = (a.shape(), a.strides());
        let c_contig = is_c_contiguous(shape, strides, itemsize);
        let f_contig = is_f_contiguous(shape, strides, itemsize);
        let format_requested = has(flags, pyo3_ffi::PyBUF_FORMAT);
        // Each contiguity request includes PyBUF_STRIDES: test all of its bits, as _testbuffer does.
        if has(flags, pyo3_ffi::PyBUF_C_CONTIGUOUS) && !c_contig {
            return Err(raise(py, Exc::BufferError, "Array is not C-contiguous"));
        }
        if has(flags, pyo3_ffi::PyBUF_F_CONTIGUOUS) && !f_contig {
            return Err(raise(py, Exc::BufferError, "Array is not Fortran contiguous"));
        }
        if has(flags, pyo3_ffi::PyBUF_ANY_CONTIGUOUS) && !(c_contig || f_contig) {
            return Err(raise(py, Exc::BufferError, "Array is not contiguous"));
        }
        let strides_requested = has(flags, pyo3_ffi::PyBUF_STRIDES);
        if !strides_requested && !c_contig {
            return Err(raise(
                py,
                Exc::BufferError,
                "Array is not C-contiguous: the consumer did not ask for strides (PyBUF_STRIDES)",
            ));
        }
        let nd_requested = has(flags, pyo3_ffi::PyBUF_ND);
        if !nd_requested && format_requested {
            return Err(raise(py, Exc::BufferError, "Array: cannot cast to unsigned bytes if the format flag is present"));
        }
        v.buf = a.data().cast();
        v.len = a.nbytes() as isize;
        v.itemsize = itemsize as isize;
        v.readonly = (!array.is_writable()) as c_int;
        v.format = if format_requested { format_cstr(array.dtype()).as_ptr() as *mut _ } else { std::ptr::null_mut() };
        if nd_requested {
            v.ndim = a.ndim() as c_int;
            v.shape = a.shape_ptr();
            v.strides = if strides_requested { a.strides_ptr() } else { std::ptr::null_mut() };
        } else {
            // PyBUF_SIMPLE: `len` contiguous bytes, no shape.
            v.ndim = 1;
            v.shape = std::ptr::null_mut();
            v.strides = std::ptr::null_mut();
        }
        v.suboffsets = std::ptr::null_mut();
        v.internal = std::ptr::null_mut();
        a.into_export();
        // INCREF: view->obj. The consumer's PyBuffer_Release will call our releasebuffer and then
        // Py_DECREF(view->obj); until then this reference keeps the Array (and its memory) alive.
        // SAFETY: `obj` is alive (we are called on it); Py_NewRef returns a new reference.
        v.obj = unsafe { crate::capi::object::new_ref(obj) };
        Ok(0)
    })
}

/// `bf_releasebuffer`: one export ended. CPython calls it from `PyBuffer_Release` before it
/// drops `view->obj`; nothing was allocated per export, so only the counter changes.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn releasebuffer(obj: *mut PyObject, _view: *mut Py_buffer) {
    // SAFETY: `obj` is the Array the view was taken from, alive through view->obj.
    unsafe { ArrayObject::from_ptr(obj) }.unexport();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_agree_with_dtype() {
        for d in DType::ALL {
            assert_eq!(format_cstr(d).to_str().unwrap(), d.buffer_format());
        }
    }

    #[test]
    fn fortran_order() {
        assert!(is_f_contiguous(&[3, 4], &[8, 24], 8));
        assert!(!is_f_contiguous(&[3, 4], &[32, 8], 8));
        assert!(is_f_contiguous(&[5], &[8], 8));
    }
}

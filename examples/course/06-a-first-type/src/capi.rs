//! The helpers steps 02–04 introduced, gathered in one file so that `lib.rs` shows only what is
//! new. Each is a small version of a file in rawcapi's `src/capi/`:
//!
//! - [`Python`], the GIL token, and [`Python::allow_threads`] (rawcapi: `src/capi/gil.rs`);
//! - [`PyErrSet`], [`PyResult`], [`raise`]: "return NULL with an exception set" (`error.rs`);
//! - [`Owned`]: a new reference, `Py_DECREF`ed on drop (`object.rs`);
//! - [`Buffer`]: `PyObject_GetBuffer` … `PyBuffer_Release` as a value (`buffer.rs`);
//! - [`guard`]: no panic crosses `extern "C"` (`panic.rs`).

use std::ffi::{c_int, CString};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use pyo3_ffi::{PyObject, Py_buffer};

/// Proof that this thread is attached to the interpreter (holds the GIL) for `'py`.
/// Zero-sized, `Copy`, and `!Send` (the `*mut ()`), so it cannot reach code that runs with the
/// GIL released.
#[derive(Clone, Copy)]
pub struct Python<'py>(PhantomData<(&'py (), *mut ())>);

impl Python<'_> {
    /// The token, made once at the top of an `extern "C"` entry point.
    ///
    /// # Safety
    /// The calling thread is attached for all of `'py`: CPython calls module functions, type
    /// slots and the exec slot attached.
    pub unsafe fn assume_attached<'py>() -> Python<'py> {
        Python(PhantomData)
    }

    /// `Py_BEGIN_ALLOW_THREADS work() Py_END_ALLOW_THREADS`. The work is `Send`, so it cannot
    /// capture the token, an [`Owned`] or a [`Buffer`]; the GIL comes back on every path out,
    /// a panic's unwinding included.
    pub fn allow_threads<R: Send>(self, work: impl FnOnce() -> R + Send) -> R {
        struct Restore(*mut pyo3_ffi::PyThreadState);
        impl Drop for Restore {
            fn drop(&mut self) {
                // SAFETY: the state was saved by PyEval_SaveThread on this thread (Restore is
                // !Send) and is restored once, here.
                unsafe { pyo3_ffi::PyEval_RestoreThread(self.0) }
            }
        }
        // SAFETY: `self` proves this thread is attached, which PyEval_SaveThread requires.
        let _restore = Restore(unsafe { pyo3_ffi::PyEval_SaveThread() });
        work()
    }
}

/// Proof that a Python exception is set on this thread: return the error marker.
#[must_use = "an exception is set: return the error marker"]
pub struct PyErrSet(());

impl PyErrSet {
    /// Right after a C-API call returned its error marker (NULL or -1): the callee set it.
    pub fn fetched() -> Self {
        PyErrSet(())
    }
}

pub type PyResult<T> = Result<T, PyErrSet>;

/// The built-in exception classes the course's modules raise.
#[derive(Clone, Copy)]
#[allow(dead_code)] // a step uses only those its functions need
pub enum Exc {
    TypeError,
    ValueError,
    BufferError,
    SystemError,
}

/// `PyErr_SetString(exc, message)`.
pub fn raise(_py: Python<'_>, exc: Exc, message: &str) -> PyErrSet {
    let text = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
    // SAFETY: attached (the token). The PyExc_* statics are set before any module code runs
    // (borrowed references); PyErr_SetString copies the text.
    unsafe {
        let class = match exc {
            Exc::TypeError => pyo3_ffi::PyExc_TypeError,
            Exc::ValueError => pyo3_ffi::PyExc_ValueError,
            Exc::BufferError => pyo3_ffi::PyExc_BufferError,
            Exc::SystemError => pyo3_ffi::PyExc_SystemError,
        };
        pyo3_ffi::PyErr_SetString(class, text.as_ptr());
    }
    PyErrSet(())
}

/// A strong (new) reference, `Py_DECREF`ed when dropped. `!Send`: dropped only attached.
pub struct Owned(NonNull<PyObject>);

impl Owned {
    /// Take a new reference returned by a C-API call; NULL (exception set) becomes `Err`.
    ///
    /// # Safety
    /// `ptr` is a new reference or NULL with an exception set; the thread is attached.
    pub unsafe fn from_new(ptr: *mut PyObject) -> PyResult<Owned> {
        NonNull::new(ptr).map(Owned).ok_or_else(PyErrSet::fetched)
    }

    pub fn as_ptr(&self) -> *mut PyObject {
        self.0.as_ptr()
    }

    /// Hand the reference over (to a return value, or a field that owns it) without a DECREF.
    pub fn into_raw(self) -> *mut PyObject {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        ptr
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: we own one reference, and an Owned lives only where the thread is attached.
        unsafe { pyo3_ffi::Py_DECREF(self.0.as_ptr()) }
    }
}

/// A filled `Py_buffer`, released when dropped. Boxed: an exporter may point `shape` and
/// `strides` into the `Py_buffer` itself, so it must not move once filled. `!Send`.
pub struct Buffer {
    view: Box<Py_buffer>,
}

impl Buffer {
    /// `PyObject_GetBuffer(obj, &view, flags)`; the exporter's exception on failure.
    ///
    /// # Safety
    /// `obj` is a valid object (borrowed); the thread is attached.
    pub unsafe fn get(_py: Python<'_>, obj: *mut PyObject, flags: c_int) -> PyResult<Buffer> {
        // SAFETY: an all-zero Py_buffer is a valid "not filled" value (pointers NULL).
        let mut view: Box<Py_buffer> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `obj` valid, attached, `view` writable at a stable address. On success
        // `view.obj` holds a NEW reference to the exporter, dropped by PyBuffer_Release.
        if unsafe { pyo3_ffi::PyObject_GetBuffer(obj, &mut *view, flags) } < 0 {
            return Err(PyErrSet::fetched());
        }
        Ok(Buffer { view })
    }

    /// The memory as plain data, usable with the GIL released while `self` holds the export.
    pub fn bytes(&self) -> Bytes<'_> {
        let v = &*self.view;
        let ndim = v.ndim as usize;
        // SAFETY: a filled view's shape/strides/suboffsets are NULL or point at `ndim`
        // Py_ssize_t the exporter keeps alive until PyBuffer_Release, which cannot run while
        // `self` is borrowed.
        let part = |p: *mut isize| (!p.is_null()).then(|| unsafe { std::slice::from_raw_parts(p, ndim) });
        Bytes {
            buf: v.buf as *const u8,
            len: v.len as usize,
            itemsize: v.itemsize as usize,
            shape: part(v.shape),
            strides: part(v.strides),
            suboffsets: part(v.suboffsets),
        }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: filled by a successful PyObject_GetBuffer, released once, here, attached.
        unsafe { pyo3_ffi::PyBuffer_Release(&mut *self.view) }
    }
}

/// A buffer's memory and layout, as plain data (see `sum.rs` for the walk).
pub struct Bytes<'a> {
    pub buf: *const u8,
    pub len: usize,
    pub itemsize: usize,
    pub shape: Option<&'a [isize]>,
    pub strides: Option<&'a [isize]>,
    pub suboffsets: Option<&'a [isize]>,
}

// SAFETY: the memory `Bytes` describes stays exported, unmoved, while the `Buffer` it borrows
// from lives; reading it from the thread that runs the GIL-released work is what the buffer
// protocol allows (the exporter may not resize or free it meanwhile).
unsafe impl Send for Bytes<'_> {}
// SAFETY: as above; the work only reads.
unsafe impl Sync for Bytes<'_> {}

/// Run an entry point's body: `Ok(v)` → `v`; `Err` → `error_marker` (the exception is set); a
/// panic → `SystemError` and `error_marker`, so no unwinding reaches CPython.
pub fn guard<T>(py: Python<'_>, error_marker: T, body: impl FnOnce() -> PyResult<T>) -> T {
    // AssertUnwindSafe: after a panic nothing the body touched is looked at again.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(_exception_is_set)) => error_marker,
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let _ = raise(py, Exc::SystemError, &format!("panicked: {text}"));
            error_marker
        }
    }
}

//! Owned references: the one place rawcapi calls `Py_DECREF`.
//!
//! Every `PyObject *` is either *owned* (a "new reference": the holder must `Py_DECREF` it once)
//! or *borrowed* (someone else keeps it alive; the holder must not decref it). C code tracks this
//! in comments and by hand on every return path. rawcapi wraps each new reference it receives in
//! [`Owned`], whose `Drop` is the `Py_DECREF`, so an early return or `?` cannot leak it, and
//! [`Owned::into_raw`] is the hand-over when the reference is returned to the caller.

use std::ptr::NonNull;

use pyo3_ffi::{Py_DECREF, PyObject};

use crate::capi::error::{PyErrSet, PyResult};
use crate::capi::gil::Python;

/// A strong (owned) reference to a Python object, dropped (`Py_DECREF`) only where the thread is
/// attached: it is `!Send` (it holds a raw pointer), so it cannot enter work that runs with the
/// GIL released, nor another thread.
pub struct Owned(NonNull<PyObject>);

impl Owned {
    /// Take ownership of a new reference returned by a C-API call; `NULL` means that call failed
    /// and set an exception, which becomes `Err`.
    ///
    /// # Safety
    /// `ptr` must be a new reference (or `NULL` with an exception set), and the GIL held.
    pub unsafe fn from_new(ptr: *mut PyObject) -> PyResult<Owned> {
        NonNull::new(ptr).map(Owned).ok_or_else(PyErrSet::fetched)
    }

    pub fn as_ptr(&self) -> *mut PyObject {
        self.0.as_ptr()
    }

    /// Give the reference away (to the interpreter, as a return value) without decrementing it.
    pub fn into_raw(self) -> *mut PyObject {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        ptr
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: we own one reference (see `from_new`) and the GIL is held wherever an `Owned`
        // lives: it is `!Send` (it holds a raw pointer), so it cannot enter a closure that runs
        // with the GIL released.
        unsafe { Py_DECREF(self.0.as_ptr()) }
    }
}

/// A Python int from an unsigned 128-bit value: `PyLong_FromLongLong` (new reference) when it
/// fits 63 bits, else the out-of-line `int_from_wide`.
///
/// Inlined into every caller: on the per-call fast path (`fast_sum(b'hello world')`) the
/// result's construction is most of the time rawcapi itself spends. `PyLong_FromLongLong` goes
/// straight to CPython's small-int cache or one-digit allocation; `PyLong_FromUnsignedLongLong`
/// would forward to it for such values anyway (3.11's longobject.c).
#[inline(always)]
pub fn int_from_u128(py: Python<'_>, value: u128) -> PyResult<Owned> {
    if value <= i64::MAX as u128 {
        // SAFETY: attached (the token); returns a new reference or NULL with MemoryError set.
        return unsafe { Owned::from_new(pyo3_ffi::PyLong_FromLongLong(value as i64)) };
    }
    int_from_wide(py, value)
}

/// [`int_from_u128`] beyond 63 bits: `PyLong_FromUnsignedLongLong` (new reference) up to 64 bits,
/// else `PyLong_FromString` on the decimal digits (new reference).
#[cold]
#[inline(never)]
fn int_from_wide(_py: Python<'_>, value: u128) -> PyResult<Owned> {
    if let Ok(small) = u64::try_from(value) {
        // SAFETY: attached (the token); returns a new reference or NULL with MemoryError set.
        return unsafe { Owned::from_new(pyo3_ffi::PyLong_FromUnsignedLongLong(small)) };
    }
    let digits = std::ffi::CString::new(value.to_string()).expect("digits contain no NUL");
    // SAFETY: attached; `digits` is a NUL-terminated decimal string; passing NULL for `pend` is
    // allowed. Returns a new reference.
    unsafe { Owned::from_new(pyo3_ffi::PyLong_FromString(digits.as_ptr(), std::ptr::null_mut(), 10)) }
}

/// The name of `obj`'s type, for error messages ("not 'str'").
///
/// Full API: `Py_TYPE(obj)->tp_name`, as CPython's own messages print it. The limited API hides
/// `PyTypeObject`'s fields, so the abi3 build asks `PyType_GetName` (3.11+), which returns the
/// type's `__name__`: the same for built-in and Python-defined classes, but without the module
/// prefix some C types carry in `tp_name` (`collections.OrderedDict` becomes `OrderedDict`).
///
/// # Safety
/// `obj` is a valid object (borrowed is fine) and the GIL is held.
#[cfg(not(Py_LIMITED_API))]
pub unsafe fn type_name(_py: Python<'_>, obj: *mut PyObject) -> String {
    // SAFETY: `Py_TYPE` returns a borrowed pointer to the object's type, which outlives the
    // object; `tp_name` is a NUL-terminated string owned by the type.
    let name = unsafe { std::ffi::CStr::from_ptr((*pyo3_ffi::Py_TYPE(obj)).tp_name) };
    // A class statement sets any name it likes: at most MESSAGE_TEXT_MAX characters, as
    // CPython's own messages print `%.200s` of it.
    let bytes = name.to_bytes();
    let head = &bytes[..bytes.len().min(crate::capi::strings::MESSAGE_TEXT_MAX * 4 + 4)];
    crate::capi::strings::message_text(&String::from_utf8_lossy(head))
}

/// See the full-API version above.
///
/// # Safety
/// `obj` is a valid object (borrowed is fine) and the GIL is held.
#[cfg(Py_LIMITED_API)]
pub unsafe fn type_name(py: Python<'_>, obj: *mut PyObject) -> String {
    // SAFETY: GIL held. Py_TYPE is a borrowed reference; PyType_GetName returns a new reference
    // to a str (NULL with an exception set on failure).
    let Ok(name) = (unsafe { Owned::from_new(pyo3_ffi::PyType_GetName(pyo3_ffi::Py_TYPE(obj))) }) else {
        // Best effort, on purpose (docs/09-reliability.md lists it): the name only goes into a
        // message about another error, and the String this returns has no way to report a
        // failure. No user code runs here (a type's `__name__` is read from the type object
        // itself, not looked up), so the one failure is CPython's own MemoryError for a static
        // type's name: the message says "?" and the error it reports is raised as it would be.
        // SAFETY: GIL held; the exception PyType_GetName set is discarded deliberately.
        unsafe { pyo3_ffi::PyErr_Clear() };
        return "?".to_string();
    };
    // SAFETY: GIL held; `name` is a str, alive until the end of this function. `Ok(None)` is a
    // name with a lone surrogate (its UnicodeEncodeError already cleared); an `Err` is a
    // MemoryError, dropped for the reason above.
    match unsafe { crate::capi::strings::utf8_or_none(py, name.as_ptr()) } {
        Ok(text) => text.unwrap_or_else(|| "?".to_string()),
        Err(_) => {
            // SAFETY: as above (best effort, listed in docs/09).
            unsafe { pyo3_ffi::PyErr_Clear() };
            "?".to_string()
        }
    }
}

/// A non-negative Python int as `usize` (`PyLong_AsSsize_t`): TypeError for a non-int,
/// ValueError for a negative one, OverflowError for one too large.
///
/// # Safety
/// `obj` is a valid object (borrowed) and the GIL is held.
pub unsafe fn usize_from_int(py: Python<'_>, obj: *mut PyObject, what: &str) -> PyResult<usize> {
    use crate::capi::error::{raise, Exc};
    // PyLong_AsSsize_t's own TypeError for a non-int says only "an integer is required".
    // SAFETY: GIL held, `obj` valid (borrowed); PyLong_Check only reads its type.
    if unsafe { pyo3_ffi::PyLong_Check(obj) } == 0 {
        // SAFETY: as above.
        let name = unsafe { type_name(py, obj) };
        return Err(raise(py, Exc::TypeError, &format!("{what} must be an int, not '{name}'")));
    }
    // SAFETY: GIL held, `obj` valid. PyLong_AsSsize_t borrows `obj`; it returns -1 with an
    // exception set on failure (TypeError for a non-int, OverflowError when out of range).
    let value = unsafe { pyo3_ffi::PyLong_AsSsize_t(obj) };
    if value == -1 && unsafe { !pyo3_ffi::PyErr_Occurred().is_null() } {
        return Err(PyErrSet::fetched());
    }
    usize::try_from(value).map_err(|_| raise(py, Exc::ValueError, &format!("{what} must be >= 0, not {value}")))
}

/// A new `str` from Rust UTF-8 text: `PyUnicode_FromStringAndSize` (new reference).
pub fn str_from(_py: Python<'_>, text: &str) -> PyResult<Owned> {
    // SAFETY: attached (the token); `text` is `text.len()` bytes of valid UTF-8, which CPython copies.
    unsafe { Owned::from_new(pyo3_ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), text.len() as pyo3_ffi::Py_ssize_t)) }
}

/// `Py_RETURN_NONE`: a new reference to `None`.
pub fn none(_py: Python<'_>) -> Owned {
    // SAFETY: attached (the token); `Py_None()` is a borrowed pointer to the immortal singleton, made a new
    // reference by the Py_INCREF (a no-op on immortal objects from 3.12, required before).
    unsafe {
        let none = pyo3_ffi::Py_None();
        pyo3_ffi::Py_INCREF(none);
        Owned(NonNull::new_unchecked(none))
    }
}

/// `Py_NewRef(obj)`: take a new (strong) reference to `obj` and return it (Include/refcount.h: a
/// static inline `Py_INCREF` + return in the full API, an exported function in the limited API).
///
/// # Safety
/// `obj` is a valid object (borrowed) and the GIL is held.
pub unsafe fn new_ref(obj: *mut PyObject) -> *mut PyObject {
    // SAFETY: forwarded from the caller.
    unsafe { pyo3_ffi::Py_NewRef(obj) }
}

/// `Py_RETURN_NOTIMPLEMENTED`: a new reference to the `NotImplemented` singleton, what a number
/// slot returns for an operand type it does not handle (Python then tries the other operand).
pub fn not_implemented(_py: Python<'_>) -> *mut PyObject {
    // SAFETY: attached (the token). Py_NotImplemented() is the singleton (borrowed);
    // new_ref (Py_NewRef) makes the returned reference a new one, immortal on 3.12+ or not.
    unsafe { new_ref(pyo3_ffi::Py_NotImplemented()) }
}

//! Reading a `str`'s characters without encoding it when possible, and a `str` as a Rust
//! `String` ([`utf8_string`], [`utf8_or_none`], [`str_of`]) where a copy is what is wanted.
//!
//! **Full API (PEP 393, in place).** CPython stores a `str` as an array of fixed-width code units,
//! the narrowest that fits its largest character: 1 byte (Latin-1), 2 bytes (UCS-2) or 4 bytes
//! (UCS-4). The C macros `PyUnicode_KIND`, `PyUnicode_DATA` and `PyUnicode_GET_LENGTH` read
//! that representation directly — no encoding, no copy, lone surrogates included.
//!
//! **Limited API (abi3 build).** Those macros read the `str`'s internal struct, which the stable
//! ABI does not show. What it offers instead (docs/08-abi.md measures each):
//! - `PyUnicode_AsUTF8AndSize` (limited API from 3.10): a pointer to the `str`'s UTF-8 form.
//!   For an ASCII `str` that *is* its storage (no copy); otherwise CPython encodes once and caches
//!   the result in the `str` (memory held until the `str` dies). UTF-8 keeps every `'\n'` as the
//!   byte 0x0A and no other character contains that byte, so a newline count is unchanged. It
//!   fails (UnicodeEncodeError) on a lone surrogate, which has no UTF-8 form, so then:
//! - `PyUnicode_AsUCS4Copy`: a fresh UCS-4 copy (`PyMem_Malloc`ed; 4 bytes a character) that
//!   [`StrUnits`] frees when dropped.
//!
//! A `str` is immutable, so its units can be read with the GIL released for as long as a
//! reference to it (and the [`StrUnits`], for a copy) is held.

use pyo3_ffi::PyObject;

use crate::capi::gil::Python;
use crate::capi::error::{clear_if, no_memory, Exc, PyErrSet, PyResult};
use crate::capi::object::Owned;
use crate::kernels::memory::Units;

/// The code units of a `str`: in the width CPython stores them (full API), or its UTF-8 form
/// (limited API).
#[derive(Clone, Copy)]
pub enum CodeUnits {
    Latin1(Units<u8>),
    Ucs2(Units<u16>),
    Ucs4(Units<u32>),
    /// Only the abi3 build reads a `str` as UTF-8 (see the module comment).
    #[cfg(Py_LIMITED_API)]
    Utf8(Units<u8>),
}

impl CodeUnits {
    /// Bytes of storage the units cover (the size that decides whether to release the GIL).
    pub fn nbytes(&self) -> usize {
        match self {
            CodeUnits::Latin1(u) => u.len(),
            CodeUnits::Ucs2(u) => u.len() * 2,
            CodeUnits::Ucs4(u) => u.len() * 4,
            #[cfg(Py_LIMITED_API)]
            CodeUnits::Utf8(u) => u.len(),
        }
    }
}

/// A `str`'s code units, and whatever keeps them alive beyond the `str` itself. Not `Send`:
/// it stays with the GIL-holding caller while the `Copy` [`CodeUnits`] go to the kernel.
pub struct StrUnits {
    units: CodeUnits,
    /// The `PyUnicode_AsUCS4Copy` buffer the units point into, if they were copied.
    #[cfg(Py_LIMITED_API)]
    copy: *mut pyo3_ffi::Py_UCS4,
}

impl StrUnits {
    pub fn units(&self) -> CodeUnits {
        self.units
    }
}

#[cfg(Py_LIMITED_API)]
impl Drop for StrUnits {
    fn drop(&mut self) {
        if !self.copy.is_null() {
            // SAFETY: `copy` came from PyUnicode_AsUCS4Copy (PyMem_Malloc) and is freed once, here,
            // with the GIL held: `StrUnits` is !Send (raw pointer), so it is dropped by the thread
            // that made it, which holds the GIL outside `allow_threads` closures.
            unsafe { pyo3_ffi::PyMem_Free(self.copy.cast()) }
        }
    }
}

/// The code units of `text`, which must be a `str` (or subclass).
///
/// # Safety
/// `text` is a valid `str` object, the GIL is held, and the caller keeps a reference to `text`
/// (and the returned `StrUnits`) for as long as the units are read.
#[cfg(not(Py_LIMITED_API))]
pub unsafe fn code_units(text: *mut PyObject) -> PyResult<StrUnits> {
    // SAFETY (whole body): `text` is a str (caller's promise), GIL held.
    unsafe {
        // Before 3.12 a str made by the legacy C API may not be in PEP 393 form yet;
        // PyUnicode_READY converts it (and is a no-op returning 0 from 3.12 on).
        if pyo3_ffi::PyUnicode_READY(text) < 0 {
            return Err(PyErrSet::fetched());
        }
        let len = pyo3_ffi::PyUnicode_GET_LENGTH(text) as usize;
        let data = pyo3_ffi::PyUnicode_DATA(text);
        // The data pointer is aligned for its kind: CPython allocates it that way.
        let units = match pyo3_ffi::PyUnicode_KIND(text) {
            pyo3_ffi::PyUnicode_1BYTE_KIND => CodeUnits::Latin1(Units::new(data as *const u8, len)),
            pyo3_ffi::PyUnicode_2BYTE_KIND => CodeUnits::Ucs2(Units::new(data as *const u16, len)),
            _ => CodeUnits::Ucs4(Units::new(data as *const u32, len)),
        };
        Ok(StrUnits { units })
    }
}

/// The limited-API version: UTF-8 (cached in the `str`), or a UCS-4 copy for a `str` with a lone
/// surrogate. Same contract as the full-API version.
///
/// # Safety
/// As above.
#[cfg(Py_LIMITED_API)]
pub unsafe fn code_units(text: *mut PyObject) -> PyResult<StrUnits> {
    let mut size: pyo3_ffi::Py_ssize_t = 0;
    // SAFETY: GIL held, `text` a str. Returns a pointer into `text`'s own UTF-8 (borrowed: valid
    // while `text` lives), or NULL with an exception set.
    let utf8 = unsafe { pyo3_ffi::PyUnicode_AsUTF8AndSize(text, &mut size) };
    if !utf8.is_null() {
        let units = CodeUnits::Utf8(Units::new(utf8 as *const u8, size as usize));
        return Ok(StrUnits { units, copy: std::ptr::null_mut() });
    }
    // SAFETY: an exception is set (the call above failed); PyExc_UnicodeEncodeError is a
    // borrowed reference to a built-in class.
    if unsafe { pyo3_ffi::PyErr_ExceptionMatches(pyo3_ffi::PyExc_UnicodeEncodeError) } == 0 {
        return Err(PyErrSet::fetched()); // MemoryError and the like: pass it on
    }
    // A lone surrogate: no UTF-8 form. Drop that error and copy the characters out as UCS-4.
    // SAFETY: GIL held; an exception is set and we discard it deliberately.
    unsafe { pyo3_ffi::PyErr_Clear() };
    // SAFETY: GIL held, `text` a str. Both borrow `text`; the copy is a new PyMem buffer (NULL
    // with MemoryError set on failure) that we own and StrUnits frees.
    let (copy, len) = unsafe { (pyo3_ffi::PyUnicode_AsUCS4Copy(text), pyo3_ffi::PyUnicode_GetLength(text)) };
    if copy.is_null() {
        return Err(PyErrSet::fetched());
    }
    Ok(StrUnits { units: CodeUnits::Ucs4(Units::new(copy as *const u32, len as usize)), copy })
}

/// The text of the `str` `text`, copied into a Rust `String` (`PyUnicode_AsUTF8AndSize`). `Err`
/// with the exception set: UnicodeEncodeError for a lone surrogate (no UTF-8 form), TypeError if
/// `text` is not a `str`, MemoryError when the copy cannot be allocated (the text's length is
/// the caller's). Where a borrowed `&str` is enough on a hot path (`fastcall::parse`'s keyword
/// names), the call is spelled out there instead, to avoid the allocation.
///
/// # Safety
/// `text` is a valid object (borrowed).
pub unsafe fn utf8_string(py: Python<'_>, text: *mut PyObject) -> PyResult<String> {
    // SAFETY: forwarded.
    let bytes = unsafe { utf8_bytes(text) }?;
    let mut copy = String::new();
    copy.try_reserve_exact(bytes.len()).map_err(|_| no_memory(py))?;
    copy.push_str(&String::from_utf8_lossy(bytes));
    Ok(copy)
}

/// `text`'s own UTF-8 (`PyUnicode_AsUTF8AndSize`), borrowed: valid while `text` lives. `Err`
/// as for [`utf8_string`], the exception set.
///
/// # Safety
/// `text` is a valid object (borrowed), alive while the slice is used; attached.
unsafe fn utf8_bytes<'a>(text: *mut PyObject) -> PyResult<&'a [u8]> {
    let mut size: pyo3_ffi::Py_ssize_t = 0;
    // SAFETY: attached, `text` valid. Returns a pointer into `text`'s own (cached) UTF-8 —
    // borrowed: valid while `text` lives — or NULL with an exception set.
    let utf8 = unsafe { pyo3_ffi::PyUnicode_AsUTF8AndSize(text, &mut size) };
    if utf8.is_null() {
        return Err(PyErrSet::fetched());
    }
    // SAFETY: `utf8` points at `size` bytes of UTF-8, alive while `text` is.
    Ok(unsafe { std::slice::from_raw_parts(utf8 as *const u8, size as usize) })
}

/// How much of a user's text goes into a message or a name lookup: CPython's own messages cut a
/// name the same way (`PyErr_Format(..., "%.200s", ...)`), so a 400 MB `str` passed where a
/// dtype name belongs costs a 200-character copy, not a 400 MB one (which, infallible, would
/// abort the process when the heap cannot give it).
pub const MESSAGE_TEXT_MAX: usize = 200;

/// At most [`MESSAGE_TEXT_MAX`] characters of `text`, cut at a character boundary, with `...`
/// after a cut.
pub fn message_text(text: &str) -> String {
    match text.char_indices().nth(MESSAGE_TEXT_MAX) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}...", &text[..cut]),
    }
}

/// The text of `text` for a caller with its own answer when the text has no UTF-8 form (a
/// message, a name lookup): `Ok(None)` for a `str` with a lone surrogate, whose
/// UnicodeEncodeError is cleared. At most [`MESSAGE_TEXT_MAX`] characters ([`message_text`]):
/// a longer text matches no name, and a message shows its start. Any other failure
/// (MemoryError, TypeError for a non-`str`) stays set and is `Err`.
///
/// # Safety
/// `text` is a valid object (borrowed).
pub unsafe fn utf8_or_none(py: Python<'_>, text: *mut PyObject) -> PyResult<Option<String>> {
    // SAFETY: forwarded; attached (the token). The slice is used before `text` can go.
    match unsafe { utf8_bytes(text) } {
        Ok(bytes) => {
            // A cut within the first MESSAGE_TEXT_MAX * 4 bytes holds at least as many
            // characters as are kept: no more of the text than that is decoded.
            let head = &bytes[..bytes.len().min(MESSAGE_TEXT_MAX * 4 + 4)];
            let text = message_text(&String::from_utf8_lossy(head));
            Ok(Some(if head.len() < bytes.len() && !text.ends_with("...") { format!("{text}...") } else { text }))
        }
        Err(_) => {
            clear_if(py, Exc::UnicodeEncodeError)?;
            Ok(None)
        }
    }
}

/// `str(obj)` as a Rust `String`, for messages (`PyObject_Str`). `Ok(None)` when there is no text
/// to show and the caller picks its own: `str()` failed with ValueError (an `int` beyond
/// `sys.get_int_max_str_digits()` digits refuses conversion that way), or its result has a lone
/// surrogate. Anything else raised by `str()` — and `obj`'s own `__str__` is user code: a
/// KeyboardInterrupt, a MemoryError, an exception class of its own — is `Err`, left set.
///
/// # Safety
/// `obj` is a valid object (borrowed) and the GIL is held.
pub unsafe fn str_of(py: Python<'_>, obj: *mut PyObject) -> PyResult<Option<String>> {
    // SAFETY: GIL held, `obj` valid (borrowed); PyObject_Str returns a NEW reference (owned by
    // `s`) or NULL with an exception set.
    let Ok(s) = (unsafe { Owned::from_new(pyo3_ffi::PyObject_Str(obj)) }) else {
        clear_if(py, Exc::ValueError)?;
        return Ok(None);
    };
    // SAFETY: GIL held; `s` is a str, alive for the call.
    unsafe { utf8_or_none(py, s.as_ptr()) }
}

//! Parsing `METH_FASTCALL | METH_KEYWORDS` arguments.
//!
//! The calling convention (PEP 590's vectorcall, as seen by a C function):
//!
//! ```c
//! static PyObject *
//! fft(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
//! /* args[0 .. nargs)            the positional arguments (borrowed)
//!    args[nargs .. nargs+nkw)    the keyword arguments' values (borrowed)
//!    kwnames                     NULL, or a tuple of nkw str: the keywords' names */
//! ```
//!
//! No argument tuple or dict is built for the call, which is what makes it cheaper than
//! `METH_VARARGS | METH_KEYWORDS`. CPython's own functions parse this with the generated
//! `_PyArg_UnpackKeywords` (Argument Clinic), which is not public; this is the small equivalent.

use pyo3_ffi::{PyObject, Py_ssize_t};

use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc, PyErrSet, PyResult};

/// Match the arguments to `names`: the first `max_positional` may come by position, every one
/// may come by keyword (except those before `first_keyword`). Missing ones are NULL; the first
/// `required` must be present. Errors as CPython words them.
///
/// # Safety
/// `args`, `nargs` and `kwnames` are what CPython passed to a FASTCALL|KEYWORDS function; GIL
/// held. The returned pointers are borrowed from the caller, alive for the call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn parse<const N: usize>(
    py: Python<'_>,
    what: &str,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
    names: [&str; N],
    required: usize,
    max_positional: usize,
    first_keyword: usize,
) -> PyResult<[*mut PyObject; N]> {
    let mut out = [std::ptr::null_mut(); N];
    let nargs = nargs.max(0) as usize;
    if nargs > max_positional {
        return Err(raise(
            py,
            Exc::TypeError,
            &format!("{what}() takes at most {max_positional} positional arguments ({nargs} given)"),
        ));
    }
    for (i, slot) in out.iter_mut().enumerate().take(nargs) {
        // SAFETY: i < nargs, so args[i] is a positional argument (borrowed).
        *slot = unsafe { *args.add(i) };
    }
    if !kwnames.is_null() {
        // SAFETY: kwnames is a tuple (borrowed); its size is the number of keyword values.
        let nkw = unsafe { crate::capi::compat::tuple_len(kwnames) }.max(0) as usize;
        for k in 0..nkw {
            // SAFETY: k < nkw: a borrowed str from the tuple.
            let key = unsafe { crate::capi::compat::tuple_item(kwnames, k as Py_ssize_t) };
            let mut len: Py_ssize_t = 0;
            // SAFETY: `key` is a str; the UTF-8 buffer is cached in it (borrowed) or NULL with
            // an exception set.
            let utf8 = unsafe { pyo3_ffi::PyUnicode_AsUTF8AndSize(key, &mut len) };
            if utf8.is_null() {
                return Err(PyErrSet::fetched());
            }
            // SAFETY: `len` bytes of valid UTF-8, alive while `key` is.
            let key = unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(utf8.cast::<u8>(), len as usize)) };
            let Some(i) = names.iter().position(|&n| n == key).filter(|&i| i >= first_keyword) else {
                return Err(raise(py, Exc::TypeError, &format!("{what}() got an unexpected keyword argument '{key}'")));
            };
            if !out[i].is_null() {
                return Err(raise(py, Exc::TypeError, &format!("{what}() got multiple values for argument '{key}'")));
            }
            // SAFETY: the value of keyword k follows the positionals (borrowed).
            out[i] = unsafe { *args.add(nargs + k) };
        }
    }
    if let Some(i) = (0..required).find(|&i| out[i].is_null()) {
        return Err(raise(py, Exc::TypeError, &format!("{what}() missing required argument '{}' (pos {})", names[i], i + 1)));
    }
    Ok(out)
}

/// NULL or `None`: the argument was not given.
///
/// # Safety
/// `obj` is NULL or valid.
pub unsafe fn is_absent(obj: *mut PyObject) -> bool {
    // SAFETY: Py_None() is the None singleton (borrowed); pointer comparison only.
    obj.is_null() || obj == unsafe { pyo3_ffi::Py_None() }
}

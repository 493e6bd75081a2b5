//! `rawcapi.add/subtract/multiply/divide(a, b, out=None)`: the operators as functions, with an
//! output to write into — NumPy's `np.add(a, b, out=o)`.
//!
//! `METH_FASTCALL | METH_KEYWORDS`: CPython passes the positional arguments as a C array
//! (`args[0..nargs]`, borrowed references), followed by the keyword arguments' values, whose
//! names are in the tuple `kwnames` (NULL when there are none). No argument tuple or dict is
//! built. In C:
//!
//! ```c
//! static PyObject *
//! rawcapi_add(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
//! ```
//!
//! `a` and `b` may be Arrays, any buffer-protocol objects of a supported format, or Python
//! numbers; `out` an Array or any writable buffer of the result's shape (and a dtype the result
//! casts to under NumPy's `same_kind` rule).

use pyo3_ffi::{PyObject, Py_ssize_t};

use crate::array::object::ArrayObject;
use crate::array::operand::{self, classify, BufferArray, NotOperand, Output};
use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc, PyResult};
use crate::capi::object::type_name;
use crate::capi::panic;
use crate::functions::fastcall;
use crate::kernels::array::elementwise::BinaryOp;
use crate::state;

macro_rules! ufunc_doc {
    ($name:literal, $what:literal) => {
        concat!(
            $name,
            "($module, a, b, /, out=None)\n--\n\n",
            $what,
            ", elementwise, with NumPy's broadcasting and type promotion.\n\n",
            "a, b: Arrays, buffer-protocol objects (NumPy arrays, memoryviews) or Python\n",
            "numbers. out: an Array or writable buffer of the broadcast shape to write the\n",
            "result into (it may overlap a and b: overlapping inputs are copied first, as\n",
            "NumPy does); out is returned. Without out, a new Array is returned.\0"
        )
    };
}

pub const ADD_DOC: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(ufunc_doc!("add", "a + b").as_bytes()) {
    Ok(s) => s,
    Err(_) => panic!("doc"),
};
pub const SUBTRACT_DOC: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(ufunc_doc!("subtract", "a - b").as_bytes()) {
    Ok(s) => s,
    Err(_) => panic!("doc"),
};
pub const MULTIPLY_DOC: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(ufunc_doc!("multiply", "a * b").as_bytes()) {
    Ok(s) => s,
    Err(_) => panic!("doc"),
};
pub const DIVIDE_DOC: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(ufunc_doc!("divide", "a / b (true division)").as_bytes()) {
    Ok(s) => s,
    Err(_) => panic!("doc"),
};

/// Parse `(a, b, /, out=None)` from a fastcall argument vector: borrowed references.
///
/// The positional count is checked here with the wording of NumPy's ufuncs ("takes from 2 to 3
/// positional arguments"); keywords go through `fastcall::parse`, like matmul's and fft's.
unsafe fn parse(
    py: Python<'_>,
    name: &str,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> PyResult<(*mut PyObject, *mut PyObject, Option<*mut PyObject>)> {
    if !(2..=3).contains(&nargs) {
        return Err(raise(py, Exc::TypeError, &format!("{name}() takes from 2 to 3 positional arguments but {nargs} were given")));
    }
    // SAFETY: the interpreter's fastcall arguments (our caller's promise); `a` and `b` are
    // positional-only (first keyword: index 2). All three are borrowed.
    let [a, b, out] = unsafe { fastcall::parse(py, name, args, nargs, kwnames, ["a", "b", "out"], 2, 3, 2) }?;
    // SAFETY: `out` is NULL or a borrowed argument.
    let out = if unsafe { fastcall::is_absent(out) } { None } else { Some(out) };
    Ok((a, b, out))
}

unsafe fn ufunc(op: BinaryOp, module: *mut PyObject, args: *const *mut PyObject, nargs: Py_ssize_t, kwnames: *mut PyObject) -> *mut PyObject {
    // SAFETY: called only from the entry points CPython calls attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        let name = op.ufunc_name();
        // SAFETY: the interpreter's fastcall arguments; GIL held.
        let (a_obj, b_obj, out_obj) = unsafe { parse(py, name, args, nargs, kwnames) }?;
        let operand = |obj: *mut PyObject, which: &str| -> PyResult<operand::Operand<'_>> {
            // SAFETY: `obj` is a borrowed argument, alive for the call.
            match unsafe { classify(py, obj) }? {
                Ok(o) => Ok(o),
                Err(NotOperand::BadBuffer(message)) => Err(raise(py, Exc::TypeError, &format!("{name}(): {message}"))),
                Err(NotOperand::Unsupported) => Err(raise(
                    py,
                    Exc::TypeError,
                    // SAFETY: `obj` valid.
                    &format!("{name}() argument '{which}' must be an Array, a buffer-protocol object or a Python number, not '{}'", unsafe { type_name(py, obj) }),
                )),
            }
        };
        let a = operand(a_obj, "a")?;
        let b = operand(b_obj, "b")?;
        let out_buffer;
        let output = match out_obj {
            // SAFETY: `module` is this function's module (borrowed); its state holds the type.
            None => Output::New(unsafe { state::array_type(py, module) }?),
            // SAFETY: `o` valid (borrowed) for the call.
            Some(o) => match unsafe { ArrayObject::downcast(o) } {
                Some(array) => Output::Array(array.pin()),
                None => {
                    // SAFETY: `o` valid, GIL held.
                    if unsafe { pyo3_ffi::PyObject_CheckBuffer(o) } == 0 {
                        // SAFETY: `o` valid (borrowed), GIL held.
                        let t = unsafe { type_name(py, o) };
                        return Err(raise(py, Exc::TypeError, &format!("{name}() argument 'out' must be an Array or a writable buffer, not '{t}'")));
                    }
                    // Ask read-only first so a read-only exporter gets NumPy's ValueError rather
                    // than its own BufferError, then ask again for a writable export.
                    // SAFETY: as above.
                    let probe = unsafe { BufferArray::get(py, o, false) }?.map_err(|m| raise(py, Exc::TypeError, &format!("{name}(): out: {m}")))?;
                    if probe.buffer.raw().readonly != 0 {
                        return Err(raise(py, Exc::ValueError, "output array is read-only"));
                    }
                    drop(probe);
                    // SAFETY: as above.
                    out_buffer = unsafe { BufferArray::get(py, o, true) }?.map_err(|m| raise(py, Exc::TypeError, &format!("{name}(): out: {m}")))?;
                    Output::Buffer { obj: o, buffer: &out_buffer }
                }
            },
        };
        // SAFETY: operands and output alive for the call.
        unsafe { operand::binary(py, op, &a, &b, output) }
    })
}

macro_rules! ufunc_functions {
    ($($name:ident => $op:expr;)*) => {$(
        /// `METH_FASTCALL | METH_KEYWORDS` entry point; arguments borrowed, returns a new reference.
        ///
        /// # Safety
        /// Called by the interpreter with the GIL held and a valid fastcall argument vector.
        pub unsafe extern "C" fn $name(
            module: *mut PyObject,
            args: *const *mut PyObject,
            nargs: Py_ssize_t,
            kwnames: *mut PyObject,
        ) -> *mut PyObject {
            // SAFETY: forwarded from the interpreter.
            unsafe { ufunc($op, module, args, nargs, kwnames) }
        }
    )*};
}

ufunc_functions! {
    add => BinaryOp::Add;
    subtract => BinaryOp::Subtract;
    multiply => BinaryOp::Multiply;
    divide => BinaryOp::Divide;
}

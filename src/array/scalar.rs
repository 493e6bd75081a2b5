//! One element ↔ one Python object, and the `dtype=` argument.
//!
//! Reading gives Python's own scalar types (`bool`, `int`, `float`, `complex`), as `a[i]` and
//! `.tolist()` do. Writing follows NumPy 2's rules for Python scalars (`a[i] = x`,
//! `Array([...], dtype=...)`): into an integer dtype `x` goes through `int(x)` and must fit
//! ("Python integer 300 out of bounds for uint8"), into a float dtype through `float(x)`, into
//! complex through `complex(x)`, into bool through truth value.

use std::ffi::CStr;

use pyo3_ffi::PyObject;

use crate::capi::gil::Python;
use crate::capi::buffer::Buffer;
use crate::capi::error::{clear_if, raise, Exc, PyErrSet, PyResult};
use crate::capi::object::{type_name, Owned};
use crate::capi::strings::{str_of, utf8_or_none};
use crate::kernels::array::dtype::{DType, PyScalarKind};
use crate::kernels::array::element::{Bool, Element, C128};

/// The element at `p` as a new Python object.
///
/// # Safety
/// `p` addresses one readable element of `dtype`; GIL held.
pub unsafe fn to_python(_py: Python<'_>, dtype: DType, p: *const u8) -> PyResult<Owned> {
    // SAFETY: each constructor returns a new reference or NULL with an exception set; the loads
    // read one element (caller).
    unsafe {
        let obj = match dtype {
            DType::Bool => pyo3_ffi::PyBool_FromLong((Bool::load(p).0 != 0) as _),
            DType::UInt8 => pyo3_ffi::PyLong_FromLongLong(u8::load(p) as i64),
            DType::Int32 => pyo3_ffi::PyLong_FromLongLong(i32::load(p) as i64),
            DType::Int64 => pyo3_ffi::PyLong_FromLongLong(i64::load(p)),
            DType::Float32 => pyo3_ffi::PyFloat_FromDouble(f32::load(p) as f64),
            DType::Float64 => pyo3_ffi::PyFloat_FromDouble(f64::load(p)),
            DType::Complex128 => {
                let c = C128::load(p);
                pyo3_ffi::PyComplex_FromDoubles(c.re, c.im)
            }
        };
        Owned::from_new(obj)
    }
}

/// `str(obj)` as a Rust string, for messages (the type name when `str()` has no text to give).
/// `obj`'s `__str__` is user code: what it raises, other than that "no text" ValueError, is `Err`.
unsafe fn display(py: Python<'_>, obj: *mut PyObject) -> PyResult<String> {
    // SAFETY: GIL held, `obj` valid (borrowed).
    unsafe { Ok(str_of(py, obj)?.unwrap_or_else(|| format!("<{}>", type_name(py, obj)))) }
}

/// Is `obj` a str/bytes/bytearray (numbers-only contexts refuse these)?
unsafe fn is_text(obj: *mut PyObject) -> bool {
    // SAFETY: type checks on a valid object.
    unsafe {
        pyo3_ffi::PyUnicode_Check(obj) != 0 || pyo3_ffi::PyBytes_Check(obj) != 0 || pyo3_ffi::PyByteArray_Check(obj) != 0
    }
}

/// Write the Python number `obj` into the element at `p` as `dtype` (NumPy 2's rules, above).
///
/// # Safety
/// `p` addresses one writable element of `dtype`; `obj` is valid (borrowed); GIL held.
pub unsafe fn store_python(py: Python<'_>, obj: *mut PyObject, dtype: DType, p: *mut u8) -> PyResult<()> {
    // SAFETY (whole body): GIL held; every call borrows `obj`; new references are wrapped in Owned.
    unsafe {
        if is_text(obj) {
            return Err(raise(
                py,
                Exc::TypeError,
                &format!("an Array element must be a number, not '{}'", type_name(py, obj)),
            ));
        }
        match dtype {
            DType::Bool => {
                let truth = pyo3_ffi::PyObject_IsTrue(obj);
                if truth < 0 {
                    return Err(PyErrSet::fetched());
                }
                Bool(truth as u8).store(p);
            }
            DType::UInt8 | DType::Int32 | DType::Int64 => {
                // int(x): TypeError for complex, ValueError for NaN, OverflowError for inf.
                let as_int = Owned::from_new(pyo3_ffi::PyNumber_Long(obj))?;
                let mut overflow = 0;
                let v = pyo3_ffi::PyLong_AsLongLongAndOverflow(as_int.as_ptr(), &mut overflow);
                if v == -1 && overflow == 0 && !pyo3_ffi::PyErr_Occurred().is_null() {
                    return Err(PyErrSet::fetched());
                }
                let (lo, hi) = dtype.int_range().expect("an integer dtype");
                if overflow != 0 || v < lo || v > hi {
                    let text = display(py, as_int.as_ptr())?;
                    return Err(raise(py, Exc::OverflowError, &format!("Python integer {text} out of bounds for {}", dtype.name())));
                }
                match dtype {
                    DType::UInt8 => (v as u8).store(p),
                    DType::Int32 => (v as i32).store(p),
                    _ => v.store(p),
                }
            }
            DType::Float32 | DType::Float64 => {
                // float(x): TypeError "float() argument must be a string or a real number, not
                // 'complex'" — NumPy's message too.
                let as_float = Owned::from_new(pyo3_ffi::PyNumber_Float(obj))?;
                let x = pyo3_ffi::PyFloat_AsDouble(as_float.as_ptr());
                if dtype == DType::Float32 {
                    (x as f32).store(p)
                } else {
                    x.store(p)
                }
            }
            DType::Complex128 => {
                let (re, im) = crate::capi::compat::complex_parts(obj)?;
                C128 { re, im }.store(p);
            }
        }
        Ok(())
    }
}

/// The kind of a Python scalar, for dtype inference: bool, int, float or complex, decided as NumPy
/// decides it, by what the number is. `Ok(None)` for anything that is not a number.
///
/// In order: Python's own `bool`, `int`, `float`, `complex` (and subclasses: `numpy.float64`
/// is a `float`); then an object exporting a 0-d buffer, whose format says what it holds
/// (NumPy's other scalars and its 0-d arrays: `np.array(5.7)` is a float although it also has
/// `__index__`), and any other exporter is not a number; then what is left by its protocol:
/// `__index__` makes an int, `__float__` a float. NumPy is not needed for any of it.
///
/// The buffer request and `float(obj)` run the object's own code (`__buffer__`, `__float__`):
/// its exceptions propagate, except the TypeError by which `float()` says "not a number".
///
/// # Safety
/// `obj` valid (borrowed); GIL held.
pub unsafe fn scalar_kind(py: Python<'_>, obj: *mut PyObject) -> PyResult<Option<PyScalarKind>> {
    // SAFETY (whole body): GIL held; type checks and calls that borrow a valid `obj`.
    unsafe {
        if pyo3_ffi::PyBool_Check(obj) != 0 {
            return Ok(Some(PyScalarKind::Bool));
        } else if pyo3_ffi::PyLong_Check(obj) != 0 {
            return Ok(Some(PyScalarKind::Int));
        } else if pyo3_ffi::PyFloat_Check(obj) != 0 {
            return Ok(Some(PyScalarKind::Float));
        } else if pyo3_ffi::PyComplex_Check(obj) != 0 {
            return Ok(Some(PyScalarKind::Complex));
        } else if is_text(obj) {
            return Ok(None);
        }
        if pyo3_ffi::PyObject_CheckBuffer(obj) != 0 {
            // Format and strides: every exporter can describe itself this way (a bare
            // PyBUF_SIMPLE would make a strided exporter refuse). The view is released at once.
            let view = Buffer::get(py, obj, pyo3_ffi::PyBUF_RECORDS_RO)?;
            let raw = view.raw();
            if raw.ndim == 0 && !raw.format.is_null() {
                // SAFETY: a filled view's `format` is a NUL-terminated string the exporter keeps
                // until the view is released.
                let format = CStr::from_ptr(raw.format).to_string_lossy();
                if let Some(kind) = PyScalarKind::of_buffer_format(&format) {
                    return Ok(Some(kind));
                }
            }
            // Bytes, a struct, several elements: not one number. (float() would even read such
            // a buffer's bytes as the text of a number: b"2.5" would become 2.5.)
            return Ok(None);
        }
        if pyo3_ffi::PyIndex_Check(obj) != 0 {
            return Ok(Some(PyScalarKind::Int));
        }
        // What float() accepts (Fraction, Decimal, other objects with __float__). PyNumber_Float
        // returns a new reference or NULL with an exception set.
        let f = pyo3_ffi::PyNumber_Float(obj);
        if f.is_null() {
            clear_if(py, Exc::TypeError)?;
            return Ok(None);
        }
        pyo3_ffi::Py_DECREF(f);
        Ok(Some(PyScalarKind::Float))
    }
}

/// The default dtype NumPy infers for a Python scalar of `kind`.
pub fn default_dtype(kind: PyScalarKind) -> DType {
    match kind {
        PyScalarKind::Bool => DType::Bool,
        PyScalarKind::Int => DType::Int64,
        PyScalarKind::Float => DType::Float64,
        PyScalarKind::Complex => DType::Complex128,
    }
}

/// Parse a `dtype=` argument: `None` (→ `None`), a name (`'float64'`), Python's `bool`, `int`,
/// `float`, `complex` (NumPy's defaults for them), or any object whose `name` or `__name__`
/// attribute is a supported name (`numpy.dtype('int32')`, `numpy.float32`).
///
/// # Safety
/// `obj` is NULL or valid (borrowed); GIL held.
pub unsafe fn parse_dtype(py: Python<'_>, obj: *mut PyObject) -> PyResult<Option<DType>> {
    // SAFETY (whole body): GIL held; borrowed `obj`; new references wrapped in Owned.
    unsafe {
        if obj.is_null() || obj == pyo3_ffi::Py_None() {
            return Ok(None);
        }
        let builtin = [
            (&raw mut pyo3_ffi::PyBool_Type, DType::Bool),
            (&raw mut pyo3_ffi::PyLong_Type, DType::Int64),
            (&raw mut pyo3_ffi::PyFloat_Type, DType::Float64),
            (&raw mut pyo3_ffi::PyComplex_Type, DType::Complex128),
        ];
        for (ty, d) in builtin {
            if obj == ty.cast() {
                return Ok(Some(d));
            }
        }
        let name = if pyo3_ffi::PyUnicode_Check(obj) != 0 {
            utf8_or_none(py, obj)?
        } else {
            let mut found = None;
            for attr in [c"name", c"__name__"] {
                // A new reference, or NULL with an exception set: AttributeError means "no such
                // name, try the next"; anything else (a property's own error) propagates.
                let value = pyo3_ffi::PyObject_GetAttrString(obj, attr.as_ptr());
                if value.is_null() {
                    clear_if(py, Exc::AttributeError)?;
                    continue;
                }
                let value = Owned::from_new(value)?;
                if pyo3_ffi::PyUnicode_Check(value.as_ptr()) != 0 {
                    found = utf8_or_none(py, value.as_ptr())?;
                    break;
                }
            }
            found
        };
        if let Some(d) = name.as_deref().and_then(DType::from_name) {
            return Ok(Some(d));
        }
        let shown = match name {
            Some(name) => name,
            None => display(py, obj)?,
        };
        let names: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
        Err(raise(py, Exc::TypeError, &format!("data type '{shown}' not understood (supported: {})", names.join(", "))))
    }
}

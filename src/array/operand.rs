//! The operands of an arithmetic operation, from Python objects to kernel views — and running it.
//!
//! NumPy's ufunc entry (`ufunc_generic_fastcall`) does three things before any loop runs, and so
//! does this file:
//! 1. classify each operand: an Array; a Python scalar (`bool`, `int`, `float`, `complex`), which
//!    NEP 50 makes "weak" — it takes the Array's dtype instead of widening it; or any other
//!    buffer-protocol object (a NumPy array, a NumPy scalar, a `memoryview`), read as an Array
//!    of its format's dtype;
//! 2. convert the weak scalars to the operation's dtype (`uint8 + 300` is an `OverflowError`, as
//!    in NumPy 2; `uint8 < 300` is simply all True);
//! 3. pick the loop, allocate the result (uninitialised: the loop writes every element, and for a
//!    large result those first writes are spread over threads), release the GIL, run.
//!
//! Operands are borrowed references for the whole operation; a buffer operand's `Py_buffer` is
//! held (and released on every path) by [`Buffer`]. Reading that buffer as an array
//! ([`BufferArray`]) is done once, for every caller: `Array(obj)`, `matmul` and the FFTs use it
//! too, each wording its refusals (`add(): unsupported buffer format ...` here, `Array() cannot
//! take buffer format ...` there).

use std::ffi::{c_int, CStr};

use pyo3_ffi::{PyObject, PyTypeObject};

use crate::capi::gil::Python;
use crate::array::object::{new_array, too_big, ArrayObject, Pin};
// A lone Python scalar, with no Array to fix its dtype (`rawcapi.add(1, 2.5)`), takes the dtype
// `Array(1)` would.
use crate::array::scalar::default_dtype;
use crate::capi::buffer::Buffer;
use crate::capi::error::{raise, Exc, PyErrSet, PyResult};
use crate::capi::object::type_name;
use crate::capi::strings::str_of;
use crate::kernels::array::broadcast::broadcast_shapes;
use crate::kernels::array::dtype::{DType, PyScalarKind};
use crate::kernels::array::element::{Bool, C128};
use crate::kernels::array::elementwise::{
    complex_abs_hypot, complex_abs_takes_hypot, resolve_binary, resolve_unary, BinaryOp, LoopError, UnaryOp};
use crate::kernels::array::ufunc::{binary_into_paced, unary_into_paced, Threads, UfuncError};
use crate::kernels::array::view::{c_strides, ArrayView, ArrayViewMut, MAX_NDIM};

/// One operand, classified.
pub enum Operand<'a> {
    /// An Array (borrowed; the caller's reference keeps it alive), pinned for the operation.
    Array(Pin<'a>),
    /// Another exporter's memory, held for the operation.
    Buffer(BufferArray),
    /// A Python scalar, still a Python object (borrowed): converted once the dtype is known.
    Scalar { obj: *mut PyObject, kind: PyScalarKind },
}

/// A held `Py_buffer` read as an array: its dtype, shape and strides (as usize/isize).
///
/// The one reading of a filled `Py_buffer` as a typed array (`capi::buffer::layout_of` reads the
/// untyped byte layout for `fast_sum`/`count_lines`): the ufuncs read their buffer operands
/// with it, and so do `Array(obj)`, `Array.frombuffer`, `matmul` and the FFTs. What it refuses
/// ([`UnreadableBuffer`]) each caller words in its own way.
pub struct BufferArray {
    pub buffer: Buffer,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub strides: Vec<isize>,
}

/// Why an object is not an operand.
pub enum NotOperand {
    /// No buffer protocol, or not a number: the number slots answer `NotImplemented`.
    Unsupported,
    /// A buffer rawcapi cannot read ([`UnreadableBuffer`]), as the message for the ufuncs.
    BadBuffer(String),
}

/// What a filled buffer describes that an Array cannot be: the facts, not yet a message (the
/// ufuncs name the operand; `Array()`, `matmul` and the FFTs list the supported formats).
pub enum UnreadableBuffer {
    /// A struct format with no rawcapi dtype (a NULL format means `'B'`, uint8).
    Format(String),
    /// The format names a dtype, but the exporter claims another item size.
    ItemSize { format: String, itemsize: isize, dtype: DType },
    /// More dimensions than an Array can have ([`MAX_NDIM`]).
    TooManyDims(usize),
}

impl BufferArray {
    /// Read a held buffer as an array. The buffer is released (dropped) when it is refused.
    ///
    /// A 0-d export (a NumPy scalar, a 0-d array) is one element: empty shape and strides,
    /// whatever its `shape`/`strides` pointers hold. An exporter that leaves `shape` NULL is
    /// `len` bytes of `itemsize`-byte elements in one dimension, and one that leaves `strides`
    /// NULL is C-contiguous — what the protocol says of a consumer that did not ask for them.
    /// (Exporters that answer `PyBUF_RECORDS(_RO)`, which every caller asks for, give both.)
    pub fn new(py: Python<'_>, buffer: Buffer) -> PyResult<Result<BufferArray, UnreadableBuffer>> {
        let raw = buffer.raw();
        let format = if raw.format.is_null() {
            "B".to_string()
        } else {
            // SAFETY: a non-NULL format is a NUL-terminated string owned by the exporter, valid
            // until release (`buffer` holds it).
            unsafe { CStr::from_ptr(raw.format) }.to_string_lossy().into_owned()
        };
        let Some(dtype) = DType::from_buffer_format(&format) else {
            return Ok(Err(UnreadableBuffer::Format(format)));
        };
        if raw.itemsize != dtype.itemsize() as isize {
            return Ok(Err(UnreadableBuffer::ItemSize { format, itemsize: raw.itemsize, dtype }));
        }
        let ndim = raw.ndim.max(0) as usize;
        if ndim > MAX_NDIM {
            return Ok(Err(UnreadableBuffer::TooManyDims(ndim)));
        }
        let shape: Vec<usize> = if ndim == 0 {
            Vec::new()
        } else if raw.shape.is_null() {
            vec![raw.len as usize / dtype.itemsize()]
        } else {
            // SAFETY: `ndim` entries owned by the exporter, valid while the buffer is held.
            unsafe { std::slice::from_raw_parts(raw.shape, ndim) }.iter().map(|&n| n.max(0) as usize).collect()
        };
        let strides: Vec<isize> = if ndim == 0 {
            Vec::new()
        } else if raw.strides.is_null() || raw.shape.is_null() {
            c_strides(&shape, dtype.itemsize()).ok_or_else(|| too_big(py))?
        } else {
            // SAFETY: as for `shape`.
            unsafe { std::slice::from_raw_parts(raw.strides, ndim) }.to_vec()
        };
        Ok(Ok(BufferArray { buffer, dtype, shape, strides }))
    }

    /// `PyObject_GetBuffer(obj, flags)` read as an array: the exporter's own exception if it
    /// refuses the flags, [`UnreadableBuffer`] if rawcapi refuses what it describes.
    ///
    /// # Safety
    /// `obj` valid (borrowed), GIL held.
    pub unsafe fn request(py: Python<'_>, obj: *mut PyObject, flags: c_int) -> PyResult<Result<BufferArray, UnreadableBuffer>> {
        // SAFETY: forwarded.
        let buffer = unsafe { Buffer::get(py, obj, flags) }?;
        Self::new(py, buffer)
    }

    /// A ufunc operand: ask `obj` for its memory with format and strides (`PyBUF_RECORDS_RO`),
    /// or, for an `out=` operand, writable (`PyBUF_RECORDS`). A refusal is the message the
    /// caller raises (after its `"add(): "`).
    ///
    /// # Safety
    /// `obj` valid (borrowed), GIL held.
    pub unsafe fn get(py: Python<'_>, obj: *mut PyObject, writable: bool) -> PyResult<Result<BufferArray, String>> {
        let flags = if writable { pyo3_ffi::PyBUF_RECORDS } else { pyo3_ffi::PyBUF_RECORDS_RO };
        // SAFETY: forwarded.
        Ok(unsafe { Self::request(py, obj, flags) }?.map_err(|refusal| match refusal {
            UnreadableBuffer::Format(format) => {
                // SAFETY: `obj` valid, GIL held.
                let name = unsafe { type_name(py, obj) };
                let supported = DType::ALL.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ");
                format!("unsupported buffer format '{format}' of a '{name}' operand (rawcapi supports {supported})")
            }
            UnreadableBuffer::ItemSize { format, itemsize, dtype } => {
                format!("buffer format '{format}' claims itemsize {itemsize} (expected {})", dtype.itemsize())
            }
            UnreadableBuffer::TooManyDims(ndim) => format!("a buffer of {ndim} dimensions (rawcapi supports at most {MAX_NDIM})"),
        }))
    }

    /// The kernel's view of the buffer's memory (valid while `self` holds the buffer).
    pub fn view(&self) -> ArrayView<'_> {
        ArrayView { data: self.buffer.raw().buf as *const u8, dtype: self.dtype, shape: &self.shape, strides: &self.strides }
    }
}

/// Classify `obj` as an operand.
///
/// # Safety
/// `obj` valid (borrowed) and alive for as long as the operand is used; GIL held.
pub unsafe fn classify<'a>(py: Python<'_>, obj: *mut PyObject) -> PyResult<Result<Operand<'a>, NotOperand>> {
    // SAFETY (all checks): `obj` valid, GIL held.
    unsafe {
        if let Some(array) = ArrayObject::downcast(obj) {
            return Ok(Ok(Operand::Array(array.pin())));
        }
        // Exact float/complex only: NumPy's float64/complex128 scalars subclass them but are
        // "strong" (they carry a dtype), and they export a buffer, so they are read below.
        let kind = if pyo3_ffi::PyBool_Check(obj) != 0 {
            Some(PyScalarKind::Bool)
        } else if pyo3_ffi::PyLong_Check(obj) != 0 {
            Some(PyScalarKind::Int)
        } else if pyo3_ffi::PyFloat_CheckExact(obj) != 0 {
            Some(PyScalarKind::Float)
        } else if pyo3_ffi::PyComplex_CheckExact(obj) != 0 {
            Some(PyScalarKind::Complex)
        } else {
            None
        };
        if let Some(kind) = kind {
            return Ok(Ok(Operand::Scalar { obj, kind }));
        }
        if pyo3_ffi::PyObject_CheckBuffer(obj) != 0 {
            return Ok(match BufferArray::get(py, obj, false)? {
                Ok(b) => Ok(Operand::Buffer(b)),
                Err(message) => Err(NotOperand::BadBuffer(message)),
            });
        }
        // Subclasses of float/complex that are not NumPy scalars: plain Python numbers.
        if pyo3_ffi::PyFloat_Check(obj) != 0 {
            return Ok(Ok(Operand::Scalar { obj, kind: PyScalarKind::Float }));
        }
        if pyo3_ffi::PyComplex_Check(obj) != 0 {
            return Ok(Ok(Operand::Scalar { obj, kind: PyScalarKind::Complex }));
        }
    }
    Ok(Err(NotOperand::Unsupported))
}

impl Operand<'_> {
    /// The dtype of a "strong" operand (Array or buffer); `None` for a weak Python scalar.
    fn strong_dtype(&self) -> Option<DType> {
        match self {
            Operand::Array(a) => Some(a.array().dtype()),
            Operand::Buffer(b) => Some(b.dtype),
            Operand::Scalar { .. } => None,
        }
    }
}

/// A Python scalar converted to a dtype: 16 bytes hold any element.
struct ScalarValue {
    storage: C128,
    dtype: DType,
}

impl ScalarValue {
    fn new<T: Copy>(dtype: DType, value: T) -> Self {
        let mut storage = C128::default();
        assert!(size_of::<T>() <= size_of::<C128>());
        // SAFETY: `T` fits in the 16 bytes (asserted); the write is unaligned-safe.
        unsafe { (&mut storage as *mut C128 as *mut T).write_unaligned(value) };
        ScalarValue { storage, dtype }
    }

    fn view(&self) -> ArrayView<'_> {
        ArrayView { data: &self.storage as *const C128 as *const u8, dtype: self.dtype, shape: &[], strides: &[] }
    }
}

/// A Python int that does not fit the operation's integer dtype.
struct OutOfBounds {
    positive: bool,
    /// Outside even int64: NumPy's conversion (`PyLong_AsLong`) fails before any range check.
    beyond_i64: bool,
}

/// Convert a weak Python scalar to `dtype` (NEP 50). `Ok(Err(..))` for an int outside an integer
/// dtype's range, which the caller turns into NumPy 2's OverflowError (arithmetic) or a known
/// answer (comparison).
unsafe fn convert_scalar(obj: *mut PyObject, kind: PyScalarKind, dtype: DType) -> PyResult<Result<ScalarValue, OutOfBounds>> {
    // SAFETY (all calls): `obj` is a valid number of `kind` (borrowed), GIL held.
    unsafe {
        let as_f64 = || -> PyResult<f64> {
            // PyLong_AsDouble / PyFloat_AsDouble return -1.0 with an exception set on failure
            // (OverflowError: int too large to convert to float).
            let v = if kind == PyScalarKind::Float { pyo3_ffi::PyFloat_AsDouble(obj) } else { pyo3_ffi::PyLong_AsDouble(obj) };
            if v == -1.0 && !pyo3_ffi::PyErr_Occurred().is_null() {
                return Err(PyErrSet::fetched());
            }
            Ok(v)
        };
        Ok(Ok(match dtype {
            DType::Complex128 if kind == PyScalarKind::Complex => {
                // Both parts, in the full and the limited API (capi::compat).
                let (re, im) = crate::capi::compat::complex_parts(obj)?;
                ScalarValue::new(dtype, C128 { re, im })
            }
            DType::Complex128 => ScalarValue::new(dtype, C128 { re: as_f64()?, im: 0.0 }),
            DType::Float64 => ScalarValue::new(dtype, as_f64()?),
            // Python int -> double -> float, the two roundings NumPy's conversion makes.
            DType::Float32 => ScalarValue::new(dtype, as_f64()? as f32),
            DType::Bool => ScalarValue::new(dtype, Bool((pyo3_ffi::PyObject_IsTrue(obj) == 1) as u8)),
            DType::UInt8 | DType::Int32 | DType::Int64 => {
                let mut overflow = 0;
                let v = pyo3_ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow);
                if v == -1 && !pyo3_ffi::PyErr_Occurred().is_null() {
                    return Err(PyErrSet::fetched());
                }
                let (lo, hi) = dtype.int_range().expect("an integer dtype");
                if overflow != 0 || v < lo || v > hi {
                    return Ok(Err(OutOfBounds { positive: overflow > 0 || v > hi, beyond_i64: overflow != 0 }));
                }
                match dtype {
                    DType::UInt8 => ScalarValue::new(dtype, v as u8),
                    DType::Int32 => ScalarValue::new(dtype, v as i32),
                    _ => ScalarValue::new(dtype, v),
                }
            }
        }))
    }
}


/// Where a result goes.
pub enum Output<'a> {
    /// A new Array of this type (borrowed).
    New(*mut PyTypeObject),
    /// An existing Array (in-place operators, `out=`), pinned; returned with a new reference.
    Array(Pin<'a>),
    /// A writable buffer of another object (`out=`); the object is returned.
    Buffer { obj: *mut PyObject, buffer: &'a BufferArray },
}

/// A view of an operand that is ready for the kernel (the scalar storage lives here).
enum Ready<'a> {
    View(ArrayView<'a>),
    Scalar(ScalarValue),
}

impl Ready<'_> {
    fn view(&self) -> ArrayView<'_> {
        match self {
            Ready::View(v) => *v,
            Ready::Scalar(s) => s.view(),
        }
    }
}

fn loop_error(py: Python<'_>, e: LoopError) -> PyErrSet {
    raise(py, Exc::TypeError, &e.to_string())
}

fn ufunc_error(py: Python<'_>, e: UfuncError) -> PyErrSet {
    match e {
        UfuncError::Broadcast(b) => raise(py, Exc::ValueError, &b.to_string()),
        // NumPy raises UFuncTypeError, a TypeError subclass.
        e @ UfuncError::OutputCast { .. } => raise(py, Exc::TypeError, &e.to_string()),
        e @ UfuncError::NoMemory { .. } => raise(py, Exc::MemoryError, &e.to_string()),
        // The poll that stopped the loop found a signal whose handler raised (KeyboardInterrupt).
        UfuncError::Stopped => PyErrSet::fetched(),
    }
}

/// An operand as a kernel view; a weak scalar is converted to the dtype NEP 50 gives it beside
/// `other`.
unsafe fn ready<'a>(py: Python<'_>, op: BinaryOp, this: &'a Operand, other: &Operand) -> PyResult<Result<Ready<'a>, OutOfBounds>> {
    Ok(Ok(match this {
        Operand::Array(x) => Ready::View(x.view()),
        Operand::Buffer(x) => Ready::View(x.view()),
        Operand::Scalar { obj, kind } => {
            let dtype = match other.strong_dtype() {
                // True division of integers runs in float64 (NumPy's `'dd->d'` loop for ints), and
                // NumPy converts a Python int straight to float64 for it: `uint8 / 300` is fine.
                Some(d) if op == BinaryOp::Divide && (d.is_integer() || d == DType::Bool) && *kind != PyScalarKind::Float && *kind != PyScalarKind::Complex => {
                    DType::Float64
                }
                Some(d) => DType::promote_with_scalar(d, *kind).ok_or_else(|| {
                    raise(py, Exc::TypeError, &format!("{} with a Python complex gives complex64 in NumPy, a dtype rawcapi does not have", d.name()))
                })?,
                None => default_dtype(*kind),
            };
            // SAFETY: `obj` is a valid scalar of `kind` (caller's promise).
            match unsafe { convert_scalar(*obj, *kind, dtype) }? {
                Ok(v) => Ready::Scalar(v),
                Err(oob) => return Ok(Err(oob)),
            }
        }
    }))
}

/// `a op b` into `output`: a new reference to the result (the new Array, or the output object).
///
/// # Safety
/// Operands and output objects are valid for the call; GIL held.
pub unsafe fn binary(py: Python<'_>, op: BinaryOp, a: &Operand, b: &Operand, output: Output) -> PyResult<*mut PyObject> {
    // SAFETY: operands valid (caller's promise).
    let (ra, rb) = match unsafe { (ready(py, op, a, b)?, ready(py, op, b, a)?) } {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (ra, rb) => {
            // An int outside the other operand's integer dtype.
            let (oob, scalar, array_side) = match (ra, rb) {
                (Err(o), Ok(other)) => (o, a, other),
                (Ok(other), Err(o)) => (o, b, other),
                // Two Python ints, both outside int64 (`rawcapi.add(2**70, 2**70)`).
                _ => return Err(raise(py, Exc::OverflowError, "Python int too large to convert to C long")),
            };
            let Operand::Scalar { obj, .. } = scalar else { unreachable!("only scalars are converted") };
            let dtype = array_side.view().dtype;
            // NumPy 2 compares an integer Array with any Python int; everything else (arithmetic,
            // and bool Arrays, whose loop is int64) must convert the int first, and fails.
            if !op.is_comparison() || !dtype.is_integer() {
                if oob.beyond_i64 {
                    return Err(raise(py, Exc::OverflowError, "Python int too large to convert to C long"));
                }
                // SAFETY: `obj` valid (borrowed), GIL held. An int subclass's `__str__` is user
                // code: its exception propagates (`?`), as str_of says.
                let text = unsafe { str_of(py, *obj) }?.unwrap_or_else(|| "?".to_string());
                return Err(raise(py, Exc::OverflowError, &format!("Python integer {text} out of bounds for {dtype}", dtype = dtype.name())));
            }
            // NumPy 2 answers comparisons with out-of-range ints without converting them: the
            // int is above (or below) every value of the dtype.
            let scalar_first = std::ptr::eq(scalar, a);
            let op = if scalar_first { op.swapped() } else { op };
            let value = match op {
                BinaryOp::Equal => false,
                BinaryOp::NotEqual => true,
                BinaryOp::Less | BinaryOp::LessEqual => oob.positive,
                _ => !oob.positive,
            };
            let constant = ScalarValue::new(DType::Bool, Bool(value as u8));
            // SAFETY: the views are of live operands and a local cell; output valid (caller).
            return unsafe { fill_like(py, &array_side.view(), &constant.view(), output) };
        }
    };
    let (va, vb) = (ra.view(), rb.view());
    let kernel = resolve_binary(op, va.dtype, vb.dtype).map_err(|e| loop_error(py, e))?;
    let shape = broadcast_shapes(va.shape, vb.shape).map_err(|e| raise(py, Exc::ValueError, &e.to_string()))?;
    // SAFETY: forwarded; the closure only builds the Send views into the kernel call.
    unsafe { run(py, output, kernel.output, &shape, |out, threads, poll| binary_into_paced(&kernel, &va, &vb, out, threads, poll)) }
}

/// `op(a)` into `output`.
///
/// # Safety
/// As [`binary`].
pub unsafe fn unary(py: Python<'_>, op: UnaryOp, a: &ArrayView, output: Output) -> PyResult<*mut PyObject> {
    let mut kernel = resolve_unary(op, a.dtype).map_err(|e| loop_error(py, e))?;
    if op == UnaryOp::Absolute && a.dtype == DType::Complex128 && complex_abs_takes_hypot(a.shape, a.strides) {
        kernel = complex_abs_hypot();
    }
    // SAFETY: forwarded.
    unsafe { run(py, output, kernel.output, a.shape, |out, threads, poll| unary_into_paced(&kernel, a, out, threads, poll)) }
}

/// Fill an output shaped like `like` with a broadcast 0-d `value`.
unsafe fn fill_like(py: Python<'_>, like: &ArrayView, value: &ArrayView, output: Output) -> PyResult<*mut PyObject> {
    let kernel = resolve_unary(UnaryOp::Copy, value.dtype).map_err(|e| loop_error(py, e))?;
    // SAFETY: forwarded.
    unsafe { run(py, output, kernel.output, like.shape, |out, threads, poll| unary_into_paced(&kernel, value, out, threads, poll)) }
}

/// Get the output's view (allocating a new Array of `dtype` and `shape` if asked), release the
/// GIL when the output is large, run `work` with a poll for signals, and return a new
/// reference to the result. "Large" counts the output's elements, not its memory: a
/// zero-stride `out=` can hold any number of elements in a few bytes.
unsafe fn run(
    py: Python<'_>,
    output: Output,
    dtype: DType,
    shape: &[usize],
    work: impl FnOnce(&ArrayViewMut, Threads, &mut dyn FnMut() -> bool) -> Result<(), UfuncError> + Send,
) -> PyResult<*mut PyObject> {
    let threads = Threads::configured();
    match output {
        Output::New(ty) => {
            // SAFETY: `ty` is the Array type; the kernel writes every element before the Array
            // is returned (on an error it is dropped unread).
            let result = unsafe { new_array(py, ty, dtype, shape) }?;
            // SAFETY: `result` is an Array we just made.
            let array = unsafe { ArrayObject::from_ptr(result.as_ptr()) }.pin();
            let out = array.view_mut(py)?;
            // (`new_array` has asked for huge pages if the result is large, and left the memory
            // untouched: the loop's writes, spread over the threads, are its first touch.)
            let nbytes = array.nbytes();
            py.allow_threads_polling_above(nbytes, |poll| work(&out, threads, poll)).map_err(|e| ufunc_error(py, e))?;
            Ok(result.into_raw())
        }
        Output::Array(array) => {
            if !array.array().is_writable() {
                return Err(raise(py, Exc::ValueError, "output array is read-only"));
            }
            let out = array.view_mut(py)?;
            py.allow_threads_polling_above(array.nbytes(), |poll| work(&out, threads, poll)).map_err(|e| ufunc_error(py, e))?;
            // SAFETY: `array` is alive (borrowed); Py_NewRef returns a new reference to it.
            Ok(unsafe { crate::capi::object::new_ref(array.array().as_ptr()) })
        }
        Output::Buffer { obj, buffer } => {
            let out = ArrayViewMut {
                data: buffer.buffer.raw().buf as *mut u8,
                dtype: buffer.dtype,
                shape: &buffer.shape,
                strides: &buffer.strides,
            };
            let nbytes = out.size() * out.dtype.itemsize();
            py.allow_threads_polling_above(nbytes, |poll| work(&out, threads, poll)).map_err(|e| ufunc_error(py, e))?;
            // SAFETY: `obj` valid (borrowed); new reference returned.
            Ok(unsafe { crate::capi::object::new_ref(obj) })
        }
    }
}

//! `fft`, `ifft`, `rfft`, `irfft`: numpy.fft's one-dimensional transforms, computed by rustfft
//! with the GIL released and plans cached in module state.
//!
//! The article's C extension wraps `compute_fft` in `Py_BEGIN_ALLOW_THREADS` so other Python
//! threads run during the transform. The same here, plus the parts a real one needs:
//! - numpy.fft's semantics: `n` pads with zeros or truncates the input along `axis` (default:
//!   the axis length, or `2*(m-1)` for irfft); `norm` is `"backward"` (default: 1/n on the
//!   inverse), `"ortho"` (1/√n both ways) or `"forward"` (1/n on the forward transform); the
//!   result is complex128 (float64 for irfft); integer and bool input is read as float64;
//! - the plan for a length is built once per module and reused (src/kernels/fft.rs, `FftPlans`);
//! - many lines (a 2-D input) are split over threads; a long transform checks for Ctrl-C between
//!   blocks of lines;
//! - `out=` receives a copy of the finished result (never a partial one).
//!
//! Where this differs from NumPy 2: float32 input gives complex128, not complex64 (rawcapi's
//! Array has no complex64), and is computed in double precision.

use std::sync::Arc;

use pyo3_ffi::{PyObject, Py_ssize_t};

use super::fastcall;
use super::operand::{check_out, Operand};
use crate::array::object::{new_array, ArrayObject};
use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc, PyErrSet, PyResult};
use crate::capi::object::{type_name, Owned};
use crate::capi::panic;
use crate::capi::strings::utf8_or_none;
use crate::kernels::array::copy::copy_cast;
use crate::kernels::array::dtype::DType;
use crate::kernels::fft::{transform, FftError, FftPlans, Job, Transform};
use crate::kernels::tasks::never_stop;

macro_rules! doc {
    ($name:literal, $what:literal) => {
        concat!(
            $name,
            "($module, a, n=None, axis=-1, norm=None, out=None)\n--\n\n",
            $what,
            "\n\nnumpy.fft.",
            $name,
            "'s semantics: n pads with zeros or truncates the input along axis;\n",
            "norm is None/'backward', 'ortho' or 'forward'. a is an Array, any\n",
            "buffer-protocol object or a nested sequence; integer and bool input is read\n",
            "as float64. Any length, large primes included. The GIL is released during the\n",
            "transform, many lines use all of rawcapi's threads, Ctrl-C interrupts it.\n",
            "out: an Array or writable buffer of the result's shape and dtype.\0"
        )
    };
}

pub const FFT_DOC: &str = doc!("fft", "Discrete Fourier transform along one axis; complex128 result.");
pub const IFFT_DOC: &str = doc!("ifft", "Inverse discrete Fourier transform along one axis; complex128 result.");
pub const RFFT_DOC: &str = doc!("rfft", "Transform of real input along one axis: the n//2+1 non-negative frequencies, complex128.");
pub const IRFFT_DOC: &str = doc!("irfft", "Inverse of rfft: n real points (default 2*(m-1)) from m frequencies, float64.");

/// Below this many elements the GIL is kept (the transform takes microseconds).
const RELEASE_GIL_ELEMS: usize = 1 << 14;

macro_rules! entry {
    ($name:ident, $transform:expr) => {
        /// `METH_FASTCALL | METH_KEYWORDS`: `(a, n=None, axis=-1, norm=None, out=None)`.
        ///
        /// # Safety
        /// Called by CPython only: `module` is this module, the arguments a vectorcall, GIL held.
        pub unsafe extern "C" fn $name(module: *mut PyObject, args: *const *mut PyObject, nargs: Py_ssize_t, kwnames: *mut PyObject) -> *mut PyObject {
            // SAFETY: CPython calls this function attached (holding the GIL).
            let py = unsafe { Python::assume_attached() };
            panic::guard(py, std::ptr::null_mut(), || {
                // SAFETY: CPython's FASTCALL arguments and this module; GIL held.
                Ok(unsafe { call(py, module, args, nargs, kwnames, $transform, stringify!($name)) }?.into_raw())
            })
        }
    };
}
entry!(fft, Transform::Fft);
entry!(ifft, Transform::Ifft);
entry!(rfft, Transform::Rfft);
entry!(irfft, Transform::Irfft);

/// # Safety
/// As for the entry points.
unsafe fn call(
    py: Python<'_>,
    module: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
    kind: Transform,
    what: &str,
) -> PyResult<Owned> {
    // SAFETY (whole body): GIL held; the arguments are borrowed from the caller for the call.
    unsafe {
        let [a, n, axis, norm, out] = fastcall::parse(py, what, args, nargs, kwnames, ["a", "n", "axis", "norm", "out"], 1, 5, 0)?;
        let ty = crate::state::array_type(py, module)?;
        let input = Operand::read(py, a, ty)?;
        if kind == Transform::Rfft && input.dtype == DType::Complex128 {
            return Err(raise(py, Exc::TypeError, "rfft: input must be real (got complex128); use fft for complex input"));
        }
        let ndim = input.shape.len();
        let axis_value = if fastcall::is_absent(axis) { -1 } else { ssize(py, axis, what, "axis")? };
        let axis = normalise_axis(axis_value, ndim).ok_or_else(|| {
            raise(py, Exc::IndexError, &format!("{what}: axis {axis_value} is out of bounds for array of dimension {ndim}"))
        })?;
        let available = input.shape[axis] as isize;
        let n_value = if fastcall::is_absent(n) {
            if kind == Transform::Irfft {
                2 * (available - 1)
            } else {
                available
            }
        } else {
            ssize(py, n, what, "n")?
        };
        if n_value < 1 {
            return Err(raise(py, Exc::ValueError, &format!("Invalid number of FFT data points ({n_value}) specified.")));
        }
        let n = n_value as usize;
        let scale = scale(py, kind, n, norm)?;

        let mut out_shape = input.shape.clone();
        out_shape[axis] = kind.out_len(n);
        let out_dtype = kind.out_dtype();
        // `out` is checked before the transform, so a wrong one fails at once.
        let target = if fastcall::is_absent(out) {
            None
        } else {
            let target = Operand::write(py, out, what)?;
            check_out(py, what, &target, &out_shape, out_dtype)?;
            Some(target)
        };
        // Every element is written by the transform (py, a zero-size result has none).
        let result = new_array(py, ty, out_dtype, &out_shape)?;
        let out_data = OutPtr(ArrayObject::from_ptr(result.as_ptr()).pin().data());
        let plans: Arc<FftPlans> = crate::state::fft_plans(py, module)?;
        let view = input.view();
        let elements: usize = out_shape.iter().product::<usize>().max(input.shape.iter().product());
        // Looking up (or building) the plan and transforming touch no Python object: the closure
        // captures the plan cache (an Arc, plain Rust), the input view and the output pointer.
        let run = |check: &mut dyn FnMut() -> bool, threads: usize| {
            let plan = plans.get(n, kind);
            let job = Job { transform: kind, plan: &plan, buffers: plans.buffers(), n, scale, input: view, axis, out: out_data.get() };
            // SAFETY: the input stays exported (held by `input`) and the output is the fresh
            // Array's memory, seen by no one else until we return it.
            transform(&job, threads, check)
        };
        let finished = if elements < RELEASE_GIL_ELEMS {
            run(&mut never_stop, 1)
        } else {
            let threads = crate::kernels::parallel::num_threads();
            py.allow_threads_checking_signals(|signals| run(&mut || signals.poll(), threads))
        };
        match finished {
            Ok(()) => {}
            // KeyboardInterrupt (or whatever the handler raised) is set; drop the half result.
            Err(FftError::Stopped) => return Err(PyErrSet::fetched()),
            Err(FftError::NoMemory) => {
                return Err(raise(py, Exc::MemoryError, &format!("{what}: cannot allocate work buffers for a transform of length {n}")))
            }
        }
        let Some(target) = target else { return Ok(result) };
        let src_pin = ArrayObject::from_ptr(result.as_ptr()).pin();
        let src = src_pin.view();
        let dst = target.view_mut();
        // SAFETY: `src` is fresh memory, so it cannot overlap `dst` (which may be the input).
        py.allow_threads_above(src.size() * out_dtype.itemsize(), || copy_cast(src, dst));
        drop(target);
        // new_ref (Py_NewRef): a NEW reference to `out`, returned to the caller.
        Owned::from_new(crate::capi::object::new_ref(out))
    }
}

/// The fresh result's data pointer, handed to the GIL-free closure.
#[derive(Clone, Copy)]
struct OutPtr(*mut u8);
// SAFETY: the memory belongs to a new Array no other code can reach until the call returns; the
// kernel's threads write disjoint lines of it.
unsafe impl Send for OutPtr {}
// SAFETY: as above.
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// A method, not `.0`: a closure then captures the whole `OutPtr` (which is Send) rather
    /// than just its raw-pointer field (which is not) — Rust 2021 captures disjoint fields.
    fn get(self) -> *mut u8 {
        self.0
    }
}

/// `axis` in `-ndim..ndim` to `0..ndim`.
fn normalise_axis(axis: isize, ndim: usize) -> Option<usize> {
    let ndim = ndim as isize;
    let a = if axis < 0 { axis + ndim } else { axis };
    (0..ndim).contains(&a).then_some(a as usize)
}

/// The factor each output element is multiplied by, from `norm`.
///
/// # Safety
/// `norm` NULL or valid; GIL held.
unsafe fn scale(py: Python<'_>, kind: Transform, n: usize, norm: *mut PyObject) -> PyResult<f64> {
    let inverse = matches!(kind, Transform::Ifft | Transform::Irfft);
    // SAFETY: forwarded.
    let mode = if unsafe { fastcall::is_absent(norm) } { "backward".to_string() } else { unsafe { str_value(py, norm) }?.unwrap_or_default() };
    let n = n as f64;
    Ok(match (mode.as_str(), inverse) {
        ("backward", false) | ("forward", true) => 1.0,
        ("backward", true) | ("forward", false) => 1.0 / n,
        ("ortho", _) => 1.0 / n.sqrt(),
        _ => {
            // SAFETY: forwarded.
            let shown = unsafe { repr_or_type(py, norm) }?;
            return Err(raise(py, Exc::ValueError, &format!("Invalid norm value {shown}; should be \"backward\",\"ortho\" or \"forward\".")));
        }
    })
}

/// The text of a `str` object, or `None` for anything else (`Err`: MemoryError).
unsafe fn str_value(py: Python<'_>, obj: *mut PyObject) -> PyResult<Option<String>> {
    // SAFETY: valid object, GIL held.
    unsafe {
        if pyo3_ffi::PyUnicode_Check(obj) == 0 {
            return Ok(None);
        }
        utf8_or_none(py, obj) // None for a lone surrogate: not a valid norm anyway
    }
}

unsafe fn repr_or_type(py: Python<'_>, obj: *mut PyObject) -> PyResult<String> {
    // SAFETY: valid object, GIL held.
    unsafe { Ok(str_value(py, obj)?.unwrap_or_else(|| format!("of type '{}'", type_name(py, obj)))) }
}

/// A Python int argument as `isize` (TypeError for other types, OverflowError when too big).
unsafe fn ssize(py: Python<'_>, obj: *mut PyObject, what: &str, name: &str) -> PyResult<isize> {
    // SAFETY: valid object, GIL held. PyNumber_Index gives a NEW reference to an int (honouring
    // __index__, so NumPy integers work) or NULL with TypeError set.
    unsafe {
        if pyo3_ffi::PyLong_Check(obj) == 0 && pyo3_ffi::PyIndex_Check(obj) == 0 {
            return Err(raise(py, Exc::TypeError, &format!("{what}: {name} must be an integer, not '{}'", type_name(py, obj))));
        }
        let index = Owned::from_new(pyo3_ffi::PyNumber_Index(obj))?;
        let v = pyo3_ffi::PyLong_AsSsize_t(index.as_ptr());
        if v == -1 && !pyo3_ffi::PyErr_Occurred().is_null() {
            return Err(PyErrSet::fetched());
        }
        Ok(v)
    }
}

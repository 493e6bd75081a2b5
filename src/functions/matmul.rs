//! `matmul(a, b, /, out=None)` and the Array's `@`: NumPy's `matmul`, delegated to a BLAS-class
//! kernel with the GIL released.
//!
//! The article's point about `a @ b` in NumPy is that Python does none of the computing: the
//! ndarray hands raw pointers and strides to BLAS `dgemm`. Here the same hand-off, step by step:
//! 1. take each operand's memory (src/functions/operand.rs): an Array as it is, a NumPy array
//!    or other exporter through its buffer, a list through `Array(list)`;
//! 2. apply NumPy's rules: result dtype by promotion; a 1-D first operand is a row (its
//!    dimension removed from the result), a 1-D second operand a column; dimensions before the
//!    last two are batch dimensions and broadcast;
//! 3. hand the kernel (src/kernels/matmul.rs) raw pointers and *element* strides — an operand
//!    already in the computing dtype, aligned, is used where it lies, in any layout (gemm takes
//!    strides of either sign); others are first cast into a contiguous copy;
//! 4. release the GIL for the multiply, re-taking it briefly between blocks to let Ctrl-C raise
//!    KeyboardInterrupt (src/capi/gil.rs, `SignalCheck`);
//! 5. return the fresh result Array — or, for `out=`, copy the finished result into it, so a
//!    stopped multiply never leaves a half-written `out` (and `out` may overlap `a` or `b`).
//!
//! Dtypes: float64, complex128 and float32 go to gemm (float32 is computed in float32, as NumPy's
//! `sgemm` path does, so results match NumPy's to float32 rounding, not bit for bit) — except
//! float64 blocks with a C of 1024² elements or more on an AVX-512 CPU, which go to rawcapi's own
//! kernel (src/kernels/dgemm.rs); bool, uint8, int32, int64 are computed exactly in their dtype,
//! wrapping on overflow like NumPy.

use pyo3_ffi::{PyObject, PyTypeObject, Py_ssize_t};

use super::fastcall;
use super::operand::{check_out, Operand};
use crate::array::object::{new_array, shape_text, ArrayObject};
use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc, PyErrSet, PyResult};
use crate::capi::object::{not_implemented, Owned}; // not_implemented: a new reference
use crate::capi::panic;
use crate::kernels::array::copy::{copy_cast, gather};
use crate::kernels::array::dtype::DType;
use crate::kernels::array::element::{Bool, Element, C128};
use crate::kernels::matmul::{matmul as matmul_kernel, MatmulElem, Operand as KernelOperand, Product};
use crate::kernels::tasks::never_stop;

pub const DOC: &std::ffi::CStr = c"matmul($module, a, b, /, out=None)
--

Matrix product of a and b with NumPy's matmul rules.

a and b: Arrays, buffer-protocol objects (NumPy arrays in any layout) or
nested sequences. 2-D operands multiply as matrices; a 1-D first operand
is a row vector and a 1-D second operand a column vector (that dimension
is removed from the result); leading dimensions are batch dimensions and
broadcast. The result dtype follows NumPy's promotion. float64, complex128
and float32 use a BLAS-class kernel (gemm, or rawcapi's own for large
float64 products on AVX-512 CPUs) on rawcapi's threads, with the GIL
released; integer and bool dtypes are computed exactly (wrapping).

out: an Array or writable buffer of the result's shape and dtype; the result
is written there and out is returned. Ctrl-C interrupts a long multiply.";

/// Below this many multiply-adds the GIL is kept: releasing it would cost more than the work.
const RELEASE_GIL_MADDS: usize = 1 << 16;

/// `METH_FASTCALL | METH_KEYWORDS`: `args[0]`, `args[1]` are a and b; `out` by keyword or third.
///
/// # Safety
/// Called by CPython only: `module` is this module, `args`/`nargs`/`kwnames` a vectorcall, GIL held.
pub unsafe extern "C" fn matmul(module: *mut PyObject, args: *const *mut PyObject, nargs: Py_ssize_t, kwnames: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        // SAFETY: CPython's FASTCALL arguments; GIL held. Borrowed references.
        let [a, b, out] = unsafe { fastcall::parse(py, "matmul", args, nargs, kwnames, ["a", "b", "out"], 2, 3, 2) }?;
        // SAFETY: `module` is this module (borrowed), GIL held.
        let ty = unsafe { crate::state::array_type(py, module) }?;
        // SAFETY: borrowed arguments alive for the call.
        let out = if unsafe { fastcall::is_absent(out) } { None } else { Some(out) };
        Ok(unsafe { matmul_objects(py, ty, a, b, out) }?.into_raw())
    })
}

/// `a @ b` for any two operands (Arrays, exporters, sequences), optionally into `out`.
/// Returns the new result Array, or a new reference to `out`.
///
/// # Safety
/// `ty` is the Array type; `a`, `b`, `out` valid (borrowed) for the call; GIL held.
pub unsafe fn matmul_objects(py: Python<'_>, ty: *mut PyTypeObject, a: *mut PyObject, b: *mut PyObject, out: Option<*mut PyObject>) -> PyResult<Owned> {
    // SAFETY: forwarded contract.
    let (a, b) = unsafe { (Operand::read(py, a, ty)?, Operand::read(py, b, ty)?) };
    let geometry = Geometry::of(py, &a, &b)?;
    let dtype = DType::promote(a.dtype, b.dtype);
    // `out` is checked before the multiply, so a wrong one fails at once, not after it.
    let target = match out {
        Some(out) => {
            // SAFETY: `out` valid (borrowed); GIL held.
            let target = unsafe { Operand::write(py, out, "matmul") }?;
            check_out(py, "matmul", &target, &geometry.result_shape, dtype)?;
            Some((out, target))
        }
        None => None,
    };
    // SAFETY (each arm): the operands' memory is kept alive by `a` and `b`; GIL held.
    let result = unsafe {
        match dtype {
            DType::Bool => compute::<Bool>(py, ty, &a, &b, &geometry),
            DType::UInt8 => compute::<u8>(py, ty, &a, &b, &geometry),
            DType::Int32 => compute::<i32>(py, ty, &a, &b, &geometry),
            DType::Int64 => compute::<i64>(py, ty, &a, &b, &geometry),
            DType::Float32 => compute::<f32>(py, ty, &a, &b, &geometry),
            DType::Float64 => compute::<f64>(py, ty, &a, &b, &geometry),
            DType::Complex128 => compute::<C128>(py, ty, &a, &b, &geometry),
        }
    }?;
    let Some((out, target)) = target else { return Ok(result) };
    // SAFETY: `result` is an Array we just made.
    let src_pin = unsafe { ArrayObject::from_ptr(result.as_ptr()) }.pin();
    let src = src_pin.view();
    let dst = target.view_mut();
    // SAFETY: `src` is fresh memory no one else can see, so it cannot overlap `dst`; both owners
    // (`result`, `target`) outlive the copy.
    py.allow_threads_above(src.size() * dtype.itemsize(), || unsafe { copy_cast(src, dst) });
    drop(target);
    // SAFETY: `out` is alive; new_ref (Py_NewRef) returns a NEW reference to it (what we return).
    unsafe { Owned::from_new(crate::capi::object::new_ref(out)) }
}

/// The shapes NumPy's matmul rules give two operands.
struct Geometry {
    m: usize,
    n: usize,
    k: usize,
    a_vector: bool,
    b_vector: bool,
    batch: Vec<usize>,
    result_shape: Vec<usize>,
}

const SIGNATURE: &str = "(n?,k),(k,m?)->(n?,m?)";

impl Geometry {
    fn of(py: Python<'_>, a: &Operand, b: &Operand) -> PyResult<Geometry> {
        for (i, op) in [a, b].into_iter().enumerate() {
            if op.shape.is_empty() {
                return Err(raise(
                    py,
                    Exc::ValueError,
                    &format!(
                        "matmul: Input operand {i} does not have enough dimensions (has 0, gufunc core with signature {SIGNATURE} requires 1)"
                    ),
                ));
            }
        }
        let (an, bn) = (a.shape.len(), b.shape.len());
        let (a_vector, b_vector) = (an == 1, bn == 1);
        let (m, ka) = if a_vector { (1, a.shape[0]) } else { (a.shape[an - 2], a.shape[an - 1]) };
        let (kb, n) = if b_vector { (b.shape[0], 1) } else { (b.shape[bn - 2], b.shape[bn - 1]) };
        if ka != kb {
            return Err(raise(
                py,
                Exc::ValueError,
                &format!(
                    "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature {SIGNATURE} (size {kb} is different from {ka}); shapes {} and {}",
                    shape_text(&a.shape),
                    shape_text(&b.shape)
                ),
            ));
        }
        let a_batch = &a.shape[..an.saturating_sub(2)];
        let b_batch = &b.shape[..bn.saturating_sub(2)];
        let nd = a_batch.len().max(b_batch.len());
        let mut batch = vec![0usize; nd];
        for (i, slot) in batch.iter_mut().enumerate() {
            let da = (i + a_batch.len()).checked_sub(nd).map_or(1, |j| a_batch[j]);
            let db = (i + b_batch.len()).checked_sub(nd).map_or(1, |j| b_batch[j]);
            *slot = match (da, db) {
                (x, y) if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => {
                    return Err(raise(
                        py,
                        Exc::ValueError,
                        &format!(
                            "matmul: batch dimensions could not be broadcast together: shapes {} and {} (batch {} and {})",
                            shape_text(&a.shape),
                            shape_text(&b.shape),
                            shape_text(a_batch),
                            shape_text(b_batch)
                        ),
                    ))
                }
            };
        }
        let mut result_shape = batch.clone();
        if !a_vector {
            result_shape.push(m);
        }
        if !b_vector {
            result_shape.push(n);
        }
        Ok(Geometry { m, n, k: ka, a_vector, b_vector, batch, result_shape })
    }
}

/// An operand as the kernel takes it: a `T` pointer and element strides, over its own memory
/// or over a contiguous cast copy.
struct Prepared<T> {
    ptr: *const T,
    strides: Vec<isize>,
    _copy: Option<Vec<T>>,
}

/// Use `op` in place when it is already `T`, aligned, with strides in whole elements;
/// otherwise cast it into a C-contiguous copy (GIL released for big ones).
///
/// # Safety
/// `op`'s memory stays readable for the call; GIL held.
unsafe fn prepare<T: Element>(py: Python<'_>, op: &Operand) -> PyResult<Prepared<T>> {
    let size = std::mem::size_of::<T>() as isize;
    let in_place = op.dtype == T::DTYPE
        && (op.data as usize).is_multiple_of(std::mem::align_of::<T>())
        && op.strides.iter().all(|&s| s % size == 0);
    if in_place {
        return Ok(Prepared { ptr: op.data as *const T, strides: op.strides.iter().map(|&s| s / size).collect(), _copy: None });
    }
    let view = op.view();
    let count: usize = op.shape.iter().product();
    // SAFETY: the view's memory is readable for the call (caller); the closure reads only it.
    let copy = py.allow_threads_above(count * op.dtype.itemsize(), || unsafe { gather::<T>(&view) })
        .ok_or_else(|| raise(py, Exc::MemoryError, &format!("matmul: cannot allocate a {} copy of shape {}", T::DTYPE.name(), shape_text(&op.shape))))?;
    let mut strides = vec![0isize; op.shape.len()];
    let mut step = 1isize;
    for (s, &d) in strides.iter_mut().zip(&op.shape).rev() {
        *s = step;
        step *= d.max(1) as isize;
    }
    Ok(Prepared { ptr: copy.as_ptr(), strides, _copy: Some(copy) })
}

/// Multiply in `T` into a new Array.
///
/// # Safety
/// As for [`matmul_objects`].
unsafe fn compute<T: MatmulElem>(py: Python<'_>, ty: *mut PyTypeObject, a: &Operand, b: &Operand, g: &Geometry) -> PyResult<Owned> {
    // SAFETY: every element is written by the kernel below before the Array is returned (k = 0
    // writes zeros; an empty result has no elements).
    let result = unsafe { new_array(py, ty, T::DTYPE, &g.result_shape) }?;
    let count: usize = g.result_shape.iter().product();
    if count == 0 {
        return Ok(result);
    }
    // SAFETY: forwarded.
    let (pa, pb) = unsafe { (prepare::<T>(py, a)?, prepare::<T>(py, b)?) };
    let core = |p: &Prepared<T>, vector_is_row: bool, vector: bool| -> (isize, isize) {
        let s = &p.strides;
        match (vector, vector_is_row) {
            (true, true) => (0, s[0]),  // 1-D a: one row of k
            (true, false) => (s[0], 0), // 1-D b: one column of k
            _ => (s[s.len() - 2], s[s.len() - 1]),
        }
    };
    let (a_rs, a_cs) = core(&pa, true, g.a_vector);
    let (b_rs, b_cs) = core(&pb, false, g.b_vector);
    let offsets = batch_offsets(&g.batch, &a.shape, &pa.strides, &b.shape, &pb.strides, (g.m * g.n) as isize)
        .ok_or_else(|| raise(py, Exc::MemoryError, "matmul: cannot allocate the batch index"))?;
    // SAFETY: `result` is a fresh C-contiguous Array of T.
    let c = unsafe { ArrayObject::from_ptr(result.as_ptr()) }.pin().data() as *mut T;
    let product = Product {
        m: g.m,
        n: g.n,
        k: g.k,
        a: KernelOperand { ptr: pa.ptr, rs: a_rs, cs: a_cs },
        b: KernelOperand { ptr: pb.ptr, rs: b_rs, cs: b_cs },
        c,
        c_rs: g.n as isize,
        c_cs: 1,
        batch: &offsets,
    };
    let madds = offsets.len().saturating_mul(g.m).saturating_mul(g.n).saturating_mul(g.k.max(1));
    let threads = crate::kernels::parallel::num_threads();
    let finished = if madds < RELEASE_GIL_MADDS {
        // SAFETY: A and B are kept alive by the operands and copies, C is ours alone.
        unsafe { matmul_kernel(&product, 1, &mut never_stop) }
    } else {
        // SAFETY: as above; nothing in the closure touches a Python object (it captures only
        // the `Product`, raw pointers into memory held alive by this frame).
        py.allow_threads_checking_signals(|signals| unsafe { matmul_kernel(&product, threads, &mut || signals.poll()) })
    };
    match finished {
        Ok(()) => Ok(result),
        // A signal handler raised (KeyboardInterrupt): the exception is set; `result`, half
        // computed and never seen by Python, is dropped here.
        Err(_) => Err(PyErrSet::fetched()),
    }
}

/// Element offsets of A, B and C for every batch index (C order), broadcasting size-1 and
/// missing batch dimensions with stride 0. `None` if the index cannot be allocated.
fn batch_offsets(batch: &[usize], a_shape: &[usize], a_strides: &[isize], b_shape: &[usize], b_strides: &[isize], c_item: isize) -> Option<Vec<[isize; 3]>> {
    let nd = batch.len();
    // Batch strides aligned to the broadcast batch shape; 0 where the operand broadcasts.
    let aligned = |shape: &[usize], strides: &[isize]| -> Vec<isize> {
        let own = shape.len().saturating_sub(2);
        (0..nd)
            .map(|i| match (i + own).checked_sub(nd) {
                Some(j) if shape[j] != 1 => strides[j],
                _ => 0,
            })
            .collect()
    };
    let (sa, sb) = (aligned(a_shape, a_strides), aligned(b_shape, b_strides));
    let total: usize = batch.iter().product();
    let mut offsets = Vec::new();
    offsets.try_reserve_exact(total).ok()?;
    let mut index = vec![0usize; nd];
    let (mut oa, mut ob) = (0isize, 0isize);
    for item in 0..total {
        offsets.push([oa, ob, item as isize * c_item]);
        // Odometer step, last dimension fastest.
        for d in (0..nd).rev() {
            index[d] += 1;
            oa += sa[d];
            ob += sb[d];
            if index[d] < batch[d] {
                break;
            }
            oa -= sa[d] * batch[d] as isize;
            ob -= sb[d] * batch[d] as isize;
            index[d] = 0;
        }
    }
    Some(offsets)
}

/// `Py_nb_matrix_multiply` of the Array type: `a @ b` where either is an Array (the other may be
/// any operand `matmul` takes). For an operand it cannot read it returns `NotImplemented`, so
/// Python then tries the other operand's `__rmatmul__` (the binary-operator protocol).
///
/// # Safety
/// Called by CPython only, with two valid operands (borrowed), GIL held.
pub unsafe extern "C" fn nb_matrix_multiply(a: *mut PyObject, b: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        // SAFETY: GIL held; `a`, `b` are valid borrowed operands; one of them is an Array (that
        // is why CPython called this slot), whose type is the module's Array type.
        unsafe {
            let Some(ty) = array_type_of(a, b) else { return Ok(not_implemented(py)) };
            if !readable(a) || !readable(b) {
                return Ok(not_implemented(py));
            }
            Ok(matmul_objects(py, ty, a, b, None)?.into_raw())
        }
    })
}

/// `Py_nb_inplace_matrix_multiply`: `a @= b` as NumPy 2 defines it — `matmul(a, b, out=a)`, so
/// it works when the product has `a`'s shape and dtype and raises otherwise.
///
/// # Safety
/// Called by CPython only, with two valid operands (borrowed), GIL held.
pub unsafe extern "C" fn nb_inplace_matrix_multiply(a: *mut PyObject, b: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        // SAFETY: as in `nb_matrix_multiply`; `a` is the Array (in-place slots are only called
        // on the left operand's type).
        unsafe {
            let Some(ty) = array_type_of(a, b) else { return Ok(not_implemented(py)) };
            if !readable(b) {
                return Ok(not_implemented(py));
            }
            Ok(matmul_objects(py, ty, a, b, Some(a))?.into_raw())
        }
    })
}

/// The Array type of whichever operand is an Array.
unsafe fn array_type_of(a: *mut PyObject, b: *mut PyObject) -> Option<*mut PyTypeObject> {
    // SAFETY: valid objects, GIL held.
    unsafe { ArrayObject::downcast(a).or_else(|| ArrayObject::downcast(b)).map(|x| x.type_ptr()) }
}

/// Can `matmul` take `obj` without guessing: an Array, a buffer exporter, a list or a tuple.
unsafe fn readable(obj: *mut PyObject) -> bool {
    // SAFETY: type checks on a valid object, GIL held.
    unsafe {
        ArrayObject::downcast(obj).is_some()
            || pyo3_ffi::PyObject_CheckBuffer(obj) != 0
            || pyo3_ffi::PyList_Check(obj) != 0
            || pyo3_ffi::PyTuple_Check(obj) != 0
    }
}


#[cfg(test)]
mod tests {
    use super::batch_offsets;

    #[test]
    fn batch_offsets_broadcast() {
        // a: (2, 1, m, k) strides (10, 5, ..), b: (3, k, n) strides (7, ..) → batch (2, 3).
        let off = batch_offsets(&[2, 3], &[2, 1, 4, 4], &[10, 5, 1, 1], &[3, 4, 4], &[7, 1, 1], 100).unwrap();
        let want: Vec<[isize; 3]> = vec![[0, 0, 0], [0, 7, 100], [0, 14, 200], [10, 0, 300], [10, 7, 400], [10, 14, 500]];
        assert_eq!(off, want);
        assert_eq!(batch_offsets(&[], &[4, 4], &[4, 1], &[4], &[1], 16).unwrap(), vec![[0, 0, 0]]);
    }
}

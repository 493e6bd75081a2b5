//! Sums: `.sum()` over everything, and `.sum(axis=k)`.
//!
//! Integers are summed exactly ([`sum_all`] gives an `i128`, which cannot overflow for any array
//! that fits in memory: at most 2^63 elements of at most 2^63 in magnitude). Floats and complex
//! follow NumPy's order of operations so that results agree bit for bit where NumPy's order is
//! known: NumPy adds each contiguous run with *pairwise summation* (blocks of 128 with eight
//! accumulators, halves above that; `pairwise_sum` in numpy/_core/src/umath/loops_utils.h.src)
//! into an accumulator that starts at 0.0, and visits the runs in memory order.

use super::copy::{for_each_row, simplify, try_for_each_row};
use super::dtype::DType;
use super::element::{Bool, Element, C128};
use super::view::{ArrayView, ArrayViewMut, MAX_NDIM};
use crate::kernels::tasks::{Pacer, Stopped, POLL_ELEMENTS};

/// The sum of all elements, in the type `.sum()` returns to Python.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Total {
    /// bool (a count), uint8, int32, int64: exact.
    Int(i128),
    /// float64, or float32 widened exactly after summing in float32 as NumPy does.
    Float(f64),
    Complex(C128),
}

/// Elements that float sums accumulate in their own type.
trait FloatAcc: Element + std::ops::Add<Output = Self> {
    /// Where NumPy's pairwise base case starts: -0.0, the additive identity that keeps the sign
    /// of a sum of negative zeros (the reduction's own 0.0 start then makes it +0.0).
    const NEG_ZERO: Self;
}

impl FloatAcc for f32 {
    const NEG_ZERO: Self = -0.0;
}

impl FloatAcc for f64 {
    const NEG_ZERO: Self = -0.0;
}

const PW_BLOCKSIZE: usize = 128;

/// NumPy's pairwise sum of `n` elements from `p`, `stride` bytes apart.
///
/// # Safety
/// The `n` elements are readable.
unsafe fn pairwise<T: FloatAcc>(p: *const u8, n: usize, stride: isize) -> T {
    // SAFETY (whole body): indices stay below `n` (caller).
    unsafe {
        let at = |i: usize| T::load(p.offset(i as isize * stride));
        if n < 8 {
            let mut res = T::NEG_ZERO;
            for i in 0..n {
                res = res + at(i);
            }
            res
        } else if n <= PW_BLOCKSIZE {
            let mut r = [at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)];
            let mut i = 8;
            while i < n - n % 8 {
                for (j, rj) in r.iter_mut().enumerate() {
                    *rj = *rj + at(i + j);
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            while i < n {
                res = res + at(i);
                i += 1;
            }
            res
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            pairwise::<T>(p, n2, stride) + pairwise::<T>(p.offset(n2 as isize * stride), n - n2, stride)
        }
    }
}

/// [`pairwise`] with a poll between pieces of at most [`POLL_ELEMENTS`]: above that size the
/// halves are split exactly where `pairwise` splits them (both are far above `PW_BLOCKSIZE`),
/// so the additions, and the result, are the same bit for bit. `None`: a poll said stop.
///
/// # Safety
/// As for [`pairwise`].
unsafe fn pairwise_paced<T: FloatAcc>(p: *const u8, n: usize, stride: isize, pace: &mut Pacer) -> Option<T> {
    // SAFETY (whole body): forwarded from the caller; the halves are inside the `n` elements.
    unsafe {
        if n <= POLL_ELEMENTS {
            let r = pairwise::<T>(p, n, stride);
            return pace.done(n).then_some(r);
        }
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        let first = pairwise_paced::<T>(p, n2, stride, pace)?;
        Some(first + pairwise_paced::<T>(p.offset(n2 as isize * stride), n - n2, stride, pace)?)
    }
}

/// NumPy's pairwise sum for complex128: the same scheme over the interleaved (re, im) doubles,
/// so four complex lanes per block (`CDOUBLE_pairwise_sum`).
///
/// # Safety
/// The `m` complex elements are readable.
unsafe fn pairwise_complex(p: *const u8, m: usize, stride: isize) -> C128 {
    // SAFETY (whole body): indices stay below `m` (caller).
    unsafe {
        let at = |i: usize| C128::load(p.offset(i as isize * stride));
        let add = |a: C128, b: C128| C128 { re: a.re + b.re, im: a.im + b.im };
        if m < 4 {
            let mut res = C128 { re: -0.0, im: -0.0 };
            for i in 0..m {
                res = add(res, at(i));
            }
            res
        } else if 2 * m <= PW_BLOCKSIZE {
            let mut r = [at(0), at(1), at(2), at(3)];
            let mut k = 4;
            while k < m - m % 4 {
                for (j, rj) in r.iter_mut().enumerate() {
                    *rj = add(*rj, at(k + j));
                }
                k += 4;
            }
            let mut res = add(add(r[0], r[1]), add(r[2], r[3]));
            while k < m {
                res = add(res, at(k));
                k += 1;
            }
            res
        } else {
            // Halves counted in doubles (2 per element), rounded down to a multiple of 8 doubles.
            let mut n2 = m;
            n2 -= n2 % 8;
            let m2 = n2 / 2;
            add(pairwise_complex(p, m2, stride), pairwise_complex(p.offset(m2 as isize * stride), m - m2, stride))
        }
    }
}

/// [`pairwise_complex`] with a poll between pieces, split where it splits (see [`pairwise_paced`]).
///
/// # Safety
/// As for [`pairwise_complex`].
unsafe fn pairwise_complex_paced(p: *const u8, m: usize, stride: isize, pace: &mut Pacer) -> Option<C128> {
    // SAFETY (whole body): forwarded from the caller; the halves are inside the `m` elements.
    unsafe {
        if m <= POLL_ELEMENTS {
            let r = pairwise_complex(p, m, stride);
            return pace.done(m).then_some(r);
        }
        let m2 = (m - m % 8) / 2;
        let a = pairwise_complex_paced(p, m2, stride, pace)?;
        let b = pairwise_complex_paced(p.offset(m2 as isize * stride), m - m2, stride, pace)?;
        Some(C128 { re: a.re + b.re, im: a.im + b.im })
    }
}

/// Reorder a view's dimensions into memory order (largest |stride| first) and flip negative
/// strides, as NumPy's iterator does before a full reduction; returns the new data pointer.
fn memory_order(v: &ArrayView, shape: &mut [usize; MAX_NDIM], strides: &mut [isize; MAX_NDIM]) -> *const u8 {
    let nd = v.shape.len();
    let mut order: Vec<usize> = (0..nd).collect();
    order.sort_by_key(|&d| std::cmp::Reverse(v.strides[d].unsigned_abs()));
    let mut data = v.data;
    for (k, &d) in order.iter().enumerate() {
        let (n, s) = (v.shape[d], v.strides[d]);
        shape[k] = n;
        strides[k] = s.abs();
        if s < 0 && n > 0 {
            data = data.wrapping_offset(s * (n as isize - 1));
        }
    }
    data
}

/// The sum of every element of `v`.
///
/// # Safety
/// Every element of `v` is readable for the call.
pub unsafe fn sum_all(v: ArrayView) -> Total {
    // SAFETY: forwarded.
    unsafe { sum_all_paced(v, &mut crate::kernels::tasks::never_stop) }.expect("never_stop never stops")
}

/// [`sum_all`] calling `poll` after every [`POLL_ELEMENTS`] elements or so, whatever the
/// layout (a zero-stride view can have any length); `Err(Stopped)` when a poll says stop.
///
/// # Safety
/// As for [`sum_all`].
pub unsafe fn sum_all_paced(v: ArrayView, poll: &mut dyn FnMut() -> bool) -> Result<Total, Stopped> {
    let mut pace = Pacer::new(poll);
    let pace = &mut pace;
    let nd = v.shape.len();
    let mut shape0 = [0usize; MAX_NDIM];
    let mut strides0 = [0isize; MAX_NDIM];
    let data = memory_order(&v, &mut shape0, &mut strides0);
    let mut shape = [0usize; MAX_NDIM];
    let mut strides = [[0isize; MAX_NDIM]; 1];
    let nd = simplify(&shape0[..nd], [&strides0[..nd]], &mut shape, &mut strides);
    let n = shape[nd - 1];
    let s = strides[0][nd - 1];
    let shape = &shape[..nd];
    // SAFETY (every `unsafe` in this match): each row of `n` elements `s` bytes apart starts at
    // an offset inside `v`, whose every element the caller promises readable.
    let total = match v.dtype {
        DType::Float64 => {
            let mut acc = 0.0f64;
            try_for_each_row(shape, &strides, |[o]| unsafe { pairwise_paced::<f64>(data.offset(o), n, s, pace) }.map(|r| acc += r).is_some())
                .then_some(Total::Float(acc))
        }
        DType::Float32 => {
            let mut acc = 0.0f32;
            try_for_each_row(shape, &strides, |[o]| unsafe { pairwise_paced::<f32>(data.offset(o), n, s, pace) }.map(|r| acc += r).is_some())
                .then_some(Total::Float(acc as f64))
        }
        DType::Complex128 => {
            let mut acc = C128 { re: 0.0, im: 0.0 };
            try_for_each_row(shape, &strides, |[o]| {
                // SAFETY: as above: data + o starts a row of `n` complex128 elements `s` bytes
                // apart, all elements of `v`, which the caller promises readable.
                let Some(r) = (unsafe { pairwise_complex_paced(data.offset(o), n, s, pace) }) else {
                    return false;
                };
                acc = C128 { re: acc.re + r.re, im: acc.im + r.im };
                true
            })
            .then_some(Total::Complex(acc))
        }
        // SAFETY (these four): int_total reads, for each row offset `o` from for_each_row over
        // (shape, strides), the `n` elements data + o + i*s, i < n: exactly the elements of `v`
        // after memory_order/simplify, readable per the caller; T matches v.dtype in each arm.
        DType::Bool => unsafe { int_total::<Bool>(data, shape, &strides, n, s, pace, |b| (b.0 != 0) as i64) }.map(Total::Int),
        DType::UInt8 => unsafe { int_total::<u8>(data, shape, &strides, n, s, pace, |x| x as i64) }.map(Total::Int),
        DType::Int32 => unsafe { int_total::<i32>(data, shape, &strides, n, s, pace, |x| x as i64) }.map(Total::Int),
        DType::Int64 => unsafe { int_total::<i64>(data, shape, &strides, n, s, pace, |x| x) }.map(Total::Int),
    };
    total.ok_or(Stopped)
}

/// Exact integer total (order does not matter). Each value is split into its high 32 bits
/// (signed) and low 32 bits (unsigned), summed in two 64-bit accumulators that cannot overflow
/// within a piece of up to 2^31 elements (the pacer's pieces are far shorter), and combined in
/// i128 per piece: exact, and a loop the compiler vectorises (an i128 add per element would
/// not be). `None`: a poll said stop.
#[allow(clippy::too_many_arguments)]
unsafe fn int_total<T: Element>(
    data: *const u8,
    shape: &[usize],
    strides: &[[isize; MAX_NDIM]; 1],
    n: usize,
    s: isize,
    pace: &mut Pacer,
    value: impl Fn(T) -> i64,
) -> Option<i128> {
    let mut acc: i128 = 0;
    let finished = try_for_each_row(shape, strides, |[o]| {
        pace.pieces(n, |start, len| {
            let (mut hi, mut lo) = (0i64, 0u64);
            for i in start..start + len {
                // SAFETY: inside the row (caller).
                let v = value(unsafe { T::load(data.offset(o + i as isize * s)) });
                hi += v >> 32;
                lo += v as u32 as u64;
            }
            acc += ((hi as i128) << 32) + lo as i128;
        })
    });
    finished.then_some(acc)
}

/// The dtype `.sum(axis=k)` produces: int64 for bool and every integer dtype (NumPy gives
/// uint64 for unsigned input; rawcapi has no uint64), the input's own dtype otherwise.
pub fn axis_sum_dtype(dtype: DType) -> DType {
    match dtype {
        DType::Bool | DType::UInt8 | DType::Int32 | DType::Int64 => DType::Int64,
        other => other,
    }
}

/// `dst = src.sum(axis)`: `dst.shape` is `src.shape` without `axis`, `dst.dtype` is
/// [`axis_sum_dtype`]. Integer sums wrap in int64 (as NumPy's do). Along the last axis each
/// output element is a pairwise sum of its row (NumPy's order for C-contiguous input); along
/// any other axis the rows are added one after another, as NumPy's `out += row` loop does.
///
/// # Safety
/// Every element of `src` is readable and of `dst` writable; they do not overlap.
pub unsafe fn sum_axis(src: ArrayView, axis: usize, dst: ArrayViewMut) {
    // SAFETY: forwarded.
    unsafe { sum_axis_paced(src, axis, dst, &mut crate::kernels::tasks::never_stop) }.expect("never_stop never stops")
}

/// [`sum_axis`] calling `poll` after every [`POLL_ELEMENTS`] elements or so; `Err(Stopped)`
/// when a poll says stop (`dst` is then partly written).
///
/// # Safety
/// As for [`sum_axis`].
pub unsafe fn sum_axis_paced(src: ArrayView, axis: usize, dst: ArrayViewMut, poll: &mut dyn FnMut() -> bool) -> Result<(), Stopped> {
    let mut pace = Pacer::new(poll);
    let pace = &mut pace;
    let nd = src.shape.len();
    assert!(axis < nd, "axis {axis} out of range for {nd} dimensions");
    assert_eq!(dst.dtype, axis_sum_dtype(src.dtype));
    let n = src.shape[axis];
    let step = src.strides[axis];
    // The output's layout, with the reduced axis removed from the source's.
    let mut kept_shape = [0usize; MAX_NDIM];
    let mut kept_src = [0isize; MAX_NDIM];
    let mut k = 0;
    for d in (0..nd).filter(|&d| d != axis) {
        kept_shape[k] = src.shape[d];
        kept_src[k] = src.strides[d];
        k += 1;
    }
    assert_eq!(&kept_shape[..k], dst.shape, "output shape");
    // NumPy's iterator drops length-1 dimensions, so an axis followed only by length-1 axes is
    // reduced as the last one: pairwise, not row by row (for (4, 1) complex along axis 0 the
    // two orders differ in the last bit).
    let effectively_last = src.shape[axis + 1..].iter().all(|&len| len == 1);
    if !effectively_last {
        // SAFETY: forwarded from the caller.
        return if unsafe { sum_rows(src, axis, &kept_shape[..k], &kept_src[..k], dst, pace) } { Ok(()) } else { Err(Stopped) };
    }
    // The last axis: each output element is the pairwise sum of its (strided) lane.
    let mut walk_shape = [1usize; MAX_NDIM];
    walk_shape[..k].copy_from_slice(&kept_shape[..k]);
    let walk_nd = k + 1; // a trailing length-1 dimension: each "row" is one output element
    let mut strides = [[0isize; MAX_NDIM]; 2];
    strides[0][..k].copy_from_slice(&kept_src[..k]);
    strides[1][..k].copy_from_slice(dst.strides);
    let mut finished = true;
    with_acc(src.dtype, |kind| {
        finished = try_for_each_row(&walk_shape[..walk_nd], &strides, |[so, dof]| {
            // SAFETY: `so` addresses the first element of a lane of `n` elements `step` apart
            // inside `src`; `dof` one element of `dst` (caller).
            unsafe {
                let p = src.data.offset(so);
                let out = dst.data.offset(dof);
                match kind {
                    AccKind::F64 => pairwise_paced::<f64>(p, n, step, pace).map(|r| (0.0 + r).store(out)).is_some(),
                    AccKind::F32 => pairwise_paced::<f32>(p, n, step, pace).map(|r| (0.0 + r).store(out)).is_some(),
                    AccKind::C128 => pairwise_complex_paced(p, n, step, pace).map(|r| C128 { re: 0.0 + r.re, im: 0.0 + r.im }.store(out)).is_some(),
                    AccKind::Int(load) => {
                        let mut acc = 0i64;
                        let lane_done = pace.pieces(n, |start, len| {
                            for i in start as isize..(start + len) as isize {
                                acc = acc.wrapping_add(load(p.offset(i * step)));
                            }
                        });
                        acc.store(out);
                        lane_done
                    }
                }
            }
        });
    });
    if finished {
        Ok(())
    } else {
        Err(Stopped)
    }
}

/// A sum over a non-last axis, NumPy's way: zero the output, then add the input's slices along
/// the axis into it one after another (`out += a[i]`), each slice walked in long contiguous rows.
/// Every output element gets the same additions in the same order as a lane-by-lane loop
/// (0.0 + a[0] + a[1] + ...), but memory is read in order instead of one column at a time.
unsafe fn sum_rows(src: ArrayView, axis: usize, kept_shape: &[usize], kept_src: &[isize], dst: ArrayViewMut, pace: &mut Pacer) -> bool {
    let n = src.shape[axis];
    let step = src.strides[axis];
    let mut shape = [0usize; MAX_NDIM];
    let mut strides = [[0isize; MAX_NDIM]; 2];
    let nd = simplify(kept_shape, [kept_src, dst.strides], &mut shape, &mut strides);
    let shape = &shape[..nd];
    let inner = shape[nd - 1];
    let (ss, ds) = (strides[0][nd - 1], strides[1][nd - 1]);
    // SAFETY (all closures below): offsets come from the simplified layout of `dst` and of one
    // slice of `src`, both inside the caller's views.
    #[allow(clippy::too_many_arguments)] // one generic loop, instantiated per dtype below
    unsafe fn run<T: Copy>(
        src: *const u8,
        n: usize,
        step: isize,
        shape: &[usize],
        strides: &[[isize; MAX_NDIM]; 2],
        inner: usize,
        (ss, ds): (isize, isize),
        dst: *mut u8,
        pace: &mut Pacer,
        zero: T,
        load: impl Fn(*const u8) -> T,
        read: impl Fn(*const u8) -> T,
        write: impl Fn(T, *mut u8),
        add: impl Fn(T, T) -> T,
    ) -> bool {
        for_each_row(shape, strides, |[_, dof]| {
            for j in 0..inner as isize {
                // SAFETY: see `sum_rows`.
                write(zero, unsafe { dst.offset(dof + j * ds) });
            }
        });
        for i in 0..n as isize {
            // SAFETY: slice `i` of the reduced axis starts inside `src`.
            let base = unsafe { src.offset(i * step) };
            let slice_done = try_for_each_row(shape, strides, |[so, dof]| {
                pace.pieces(inner, |start, len| {
                    for j in start as isize..(start + len) as isize {
                        // SAFETY: see `sum_rows`.
                        unsafe {
                            let d = dst.offset(dof + j * ds);
                            write(add(read(d), load(base.offset(so + j * ss))), d);
                        }
                    }
                })
            });
            if !slice_done {
                return false;
            }
        }
        true
    }
    let (p, out, sd, strides) = (src.data, dst.data, (ss, ds), &strides);
    // SAFETY: forwarded from `sum_axis`'s caller; each dtype's loads read its own element type.
    unsafe {
        match src.dtype {
            DType::Float64 => run(p, n, step, shape, strides, inner, sd, out, pace, 0.0f64, |q| f64::load(q), |q| f64::load(q), |v, q| v.store(q), |a, b| a + b),
            DType::Float32 => run(p, n, step, shape, strides, inner, sd, out, pace, 0.0f32, |q| f32::load(q), |q| f32::load(q), |v, q| v.store(q), |a, b| a + b),
            DType::Complex128 => run(
                p, n, step, shape, strides, inner, sd, out, pace,
                C128 { re: 0.0, im: 0.0 },
                |q| C128::load(q),
                |q| C128::load(q),
                |v, q| v.store(q),
                |a, b| C128 { re: a.re + b.re, im: a.im + b.im },
            ),
            DType::Bool => run(p, n, step, shape, strides, inner, sd, out, pace, 0i64, |q| (*q != 0) as i64, |q| i64::load(q), |v, q| v.store(q), i64::wrapping_add),
            DType::UInt8 => run(p, n, step, shape, strides, inner, sd, out, pace, 0i64, |q| u8::load(q) as i64, |q| i64::load(q), |v, q| v.store(q), i64::wrapping_add),
            DType::Int32 => run(p, n, step, shape, strides, inner, sd, out, pace, 0i64, |q| i32::load(q) as i64, |q| i64::load(q), |v, q| v.store(q), i64::wrapping_add),
            DType::Int64 => run(p, n, step, shape, strides, inner, sd, out, pace, 0i64, |q| i64::load(q), |q| i64::load(q), |v, q| v.store(q), i64::wrapping_add),
        }
    }
}

#[derive(Clone, Copy)]
enum AccKind {
    F64,
    F32,
    C128,
    Int(unsafe fn(*const u8) -> i64),
}

fn with_acc(dtype: DType, f: impl FnOnce(AccKind)) {
    unsafe fn load_bool(p: *const u8) -> i64 {
        // SAFETY: forwarded from sum_axis.
        (unsafe { *p } != 0) as i64
    }
    unsafe fn load_u8(p: *const u8) -> i64 {
        // SAFETY: forwarded.
        unsafe { u8::load(p) as i64 }
    }
    unsafe fn load_i32(p: *const u8) -> i64 {
        // SAFETY: forwarded.
        unsafe { i32::load(p) as i64 }
    }
    unsafe fn load_i64(p: *const u8) -> i64 {
        // SAFETY: forwarded.
        unsafe { i64::load(p) }
    }
    f(match dtype {
        DType::Float64 => AccKind::F64,
        DType::Float32 => AccKind::F32,
        DType::Complex128 => AccKind::C128,
        DType::Bool => AccKind::Int(load_bool),
        DType::UInt8 => AccKind::Int(load_u8),
        DType::Int32 => AccKind::Int(load_i32),
        DType::Int64 => AccKind::Int(load_i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_pairwise(a: &[f64]) -> f64 {
        let n = a.len();
        if n < 8 {
            return a.iter().fold(-0.0, |r, &x| r + x);
        }
        if n <= 128 {
            let mut r: Vec<f64> = a[..8].to_vec();
            let mut i = 8;
            while i < n - n % 8 {
                for j in 0..8 {
                    r[j] += a[i + j];
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for &x in &a[i..] {
                res += x;
            }
            return res;
        }
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        naive_pairwise(&a[..n2]) + naive_pairwise(&a[n2..])
    }

    fn data(n: usize) -> Vec<f64> {
        let mut s = 12345u64;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 10f64.powi((s % 11) as i32 - 5)
            })
            .collect()
    }

    #[test]
    fn pairwise_matches_reference_and_negative_zero_sums_to_positive() {
        for n in [0, 1, 7, 8, 9, 127, 128, 129, 1000, 4097] {
            let a = data(n);
            let v = ArrayView { data: a.as_ptr() as *const u8, dtype: DType::Float64, shape: &[n], strides: &[8] };
            // SAFETY: `a` holds exactly n f64 (n = 0 reads nothing) and lives through the call.
            assert_eq!(unsafe { sum_all(v) }, Total::Float(0.0 + naive_pairwise(&a)), "n={n}");
        }
        let z = [-0.0f64];
        let v = ArrayView { data: z.as_ptr() as *const u8, dtype: DType::Float64, shape: &[1], strides: &[8] };
        // SAFETY: the view is the single f64 of the live local `z`.
        assert_eq!(unsafe { sum_all(v) }, Total::Float(0.0));
    }

    #[test]
    fn paced_sums_split_where_pairwise_splits() {
        use crate::kernels::tasks::POLL_ELEMENTS;
        for n in [POLL_ELEMENTS + 13, 5 * POLL_ELEMENTS + 3] {
            let a = data(2 * n); // also read as n complex128
            let v = ArrayView { data: a.as_ptr() as *const u8, dtype: DType::Float64, shape: &[n], strides: &[8] };
            let mut polls = 0;
            let mut poll = || {
                polls += 1;
                true
            };
            // SAFETY: `a` holds 2n f64, so n f64 and n complex128 are readable through the call.
            unsafe {
                assert_eq!(sum_all_paced(v, &mut poll), Ok(Total::Float(0.0 + naive_pairwise(&a[..n]))), "n={n}");
                let mut carry_on = crate::kernels::tasks::never_stop;
                let mut pace = Pacer::new(&mut carry_on);
                let (paced, whole) = (pairwise_complex_paced(v.data, n, 16, &mut pace).unwrap(), pairwise_complex(v.data, n, 16));
                assert_eq!((paced.re.to_bits(), paced.im.to_bits()), (whole.re.to_bits(), whole.im.to_bits()), "n={n}");
            }
            // A poll once at least POLL_ELEMENTS have been done, so at most 2 * POLL_ELEMENTS apart.
            assert!(polls >= n / (2 * POLL_ELEMENTS), "n={n}: {polls} polls");
        }
    }

    #[test]
    fn a_stop_ends_a_sum_of_any_length() {
        // 2^40 elements over one f64 (stride 0): without a poll inside the row this would not
        // end for hours. The first poll says stop.
        let one = [1.0f64];
        let huge = ArrayView { data: one.as_ptr() as *const u8, dtype: DType::Float64, shape: &[1 << 40], strides: &[0] };
        let tall = ArrayView { data: one.as_ptr() as *const u8, dtype: DType::Float64, shape: &[1 << 40, 2], strides: &[0, 0] };
        let ints = [1i64];
        let huge_int = ArrayView { data: ints.as_ptr() as *const u8, dtype: DType::Int64, shape: &[1 << 40], strides: &[0] };
        let mut out = [0.0f64; 2];
        // SAFETY: every view reads only the one element of its local array (stride 0); `dst`
        // is the two f64 of the separate local `out`.
        unsafe {
            assert_eq!(sum_all_paced(huge, &mut || false), Err(Stopped));
            assert_eq!(sum_all_paced(huge_int, &mut || false), Err(Stopped));
            let dst = ArrayViewMut { data: out.as_mut_ptr() as *mut u8, dtype: DType::Float64, shape: &[2], strides: &[8] };
            assert_eq!(sum_axis_paced(tall, 0, dst, &mut || false), Err(Stopped));
            let dst = ArrayViewMut { data: out.as_mut_ptr() as *mut u8, dtype: DType::Float64, shape: &[], strides: &[] };
            assert_eq!(sum_axis_paced(huge, 0, dst, &mut || false), Err(Stopped));
        }
    }

    #[test]
    fn integer_totals_are_exact() {
        let a = [i64::MAX, i64::MAX, i64::MAX];
        // SAFETY (the blocks below): the first view is the 3 i64 of local `a`. For `b` (4 bytes),
        // data + 2 is inside the array, and the [2, 2] view with strides [-2, 1] from there reads
        // bytes 2 - 2i + j, i, j < 2, i.e. bytes 0..4 of `b`; any byte is a valid Bool.
        let v = ArrayView { data: a.as_ptr() as *const u8, dtype: DType::Int64, shape: &[3], strides: &[8] };
        assert_eq!(unsafe { sum_all(v) }, Total::Int(3 * i64::MAX as i128));
        let b = [0u8, 1, 2, 0];
        let v = ArrayView { data: b.as_ptr(), dtype: DType::Bool, shape: &[2, 2], strides: &[-2, 1] };
        let v = ArrayView { data: unsafe { v.data.add(2) }, ..v };
        assert_eq!(unsafe { sum_all(v) }, Total::Int(2));
    }

    #[test]
    fn axis_sums() {
        // [[1, 2, 3], [4, 5, 6]] as int32
        let a = [1i32, 2, 3, 4, 5, 6];
        let src = ArrayView { data: a.as_ptr() as *const u8, dtype: DType::Int32, shape: &[2, 3], strides: &[12, 4] };
        let mut out0 = [0i64; 3];
        let dst = ArrayViewMut { data: out0.as_mut_ptr() as *mut u8, dtype: DType::Int64, shape: &[3], strides: &[8] };
        // SAFETY (the three sum_axis calls): src/row read 12i + 4j (i < 2, j < 3) resp. 4j (j < 6),
        // i.e. the 6 i32 of local `a`; each dst is the whole of its own local i64 array (3, 2
        // and 1 elements, 0-d = one element), writable and separate from `a`, so no overlap.
        unsafe { sum_axis(src, 0, dst) };
        assert_eq!(out0, [5, 7, 9]);
        let mut out1 = [0i64; 2];
        let dst = ArrayViewMut { data: out1.as_mut_ptr() as *mut u8, dtype: DType::Int64, shape: &[2], strides: &[8] };
        unsafe { sum_axis(src, 1, dst) };
        assert_eq!(out1, [6, 15]);
        // A 1-d sum over axis 0 gives a 0-d result.
        let mut out = [0i64; 1];
        let row = ArrayView { data: a.as_ptr() as *const u8, dtype: DType::Int32, shape: &[6], strides: &[4] };
        let dst = ArrayViewMut { data: out.as_mut_ptr() as *mut u8, dtype: DType::Int64, shape: &[], strides: &[] };
        // SAFETY: `row` is the 6 i32 of `a`; the 0-d dst is the one i64 of the separate `out`.
        unsafe { sum_axis(row, 0, dst) };
        assert_eq!(out, [21]);
    }
}

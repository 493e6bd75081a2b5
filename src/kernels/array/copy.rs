//! Strided copy with dtype conversion: the loop behind `Array(buffer)`, `.copy()`, `.astype()`,
//! `a[...] = b` and reshape-by-copy, and [`gather`], the heavy kernels' cast into a contiguous
//! scratch copy (a matmul operand not already in the computing dtype).
//!
//! One loop per (source dtype, destination dtype) pair, picked from a table by [`copy_cast`] —
//! NumPy's cast loops, reduced to rawcapi's seven dtypes. The conversions are NumPy's on x86-64,
//! bit for bit (see [`Element`] for each rule). Every load and store is unaligned-safe, because a
//! foreign buffer (a `memoryview` sliced at an odd byte, say) need not be aligned.

use super::element::{load_as, Element};
use super::view::{ArrayView, ArrayViewMut, MAX_NDIM};
use crate::kernels::tasks::{never_stop, Pacer, Stopped};

/// Drop length-1 dimensions and merge neighbours that step evenly in every operand, so a
/// contiguous (or evenly strided) operand becomes one long inner run. `strides[k]` are the
/// operands' strides over the same `shape`. Returns the new ndim (>= 1; shape `[1]` for 0-d).
pub fn simplify<const K: usize>(
    shape: &[usize],
    strides: [&[isize]; K],
    out_shape: &mut [usize; MAX_NDIM],
    out_strides: &mut [[isize; MAX_NDIM]; K],
) -> usize {
    let mut nd = 0;
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue;
        }
        if nd > 0 {
            // Merge the previous kept dimension (outer) with this one when outer = inner * len.
            let mergeable = (0..K).all(|k| out_strides[k][nd - 1] == strides[k][d] * shape[d] as isize);
            if mergeable {
                out_shape[nd - 1] *= shape[d];
                for k in 0..K {
                    out_strides[k][nd - 1] = strides[k][d];
                }
                continue;
            }
        }
        out_shape[nd] = shape[d];
        for k in 0..K {
            out_strides[k][nd] = strides[k][d];
        }
        nd += 1;
    }
    if nd == 0 {
        out_shape[0] = 1;
        for s in out_strides.iter_mut() {
            s[0] = 0;
        }
        nd = 1;
    }
    nd
}

/// Call `row(offsets)` once per index of every dimension but the last, in C order, with each
/// operand's byte offset of that row's first element. An empty shape (some length 0) calls
/// nothing. `shape.len() >= 1`.
pub fn for_each_row<const K: usize>(shape: &[usize], strides: &[[isize; MAX_NDIM]; K], mut row: impl FnMut([isize; K])) {
    try_for_each_row(shape, strides, |offsets| {
        row(offsets);
        true
    });
}

/// [`for_each_row`] that stops when `row` returns `false` (a poll said stop), and says so.
pub fn try_for_each_row<const K: usize>(shape: &[usize], strides: &[[isize; MAX_NDIM]; K], mut row: impl FnMut([isize; K]) -> bool) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let outer = &shape[..shape.len() - 1];
    let mut idx = [0usize; MAX_NDIM];
    let mut off = [0isize; K];
    loop {
        if !row(off) {
            return false;
        }
        let mut d = outer.len();
        loop {
            if d == 0 {
                return true;
            }
            d -= 1;
            idx[d] += 1;
            for k in 0..K {
                off[k] += strides[k][d];
            }
            if idx[d] < outer[d] {
                break;
            }
            for k in 0..K {
                off[k] -= strides[k][d] * outer[d] as isize;
            }
            idx[d] = 0;
        }
    }
}

/// Copy `src` into `dst` (same shape), converting each element to `dst.dtype`.
///
/// Broadcasting is expressed by zero strides in `src` (see [`broadcast_strides`]).
///
/// # Safety
/// Every element `src` describes is readable and every element `dst` describes writable for the
/// call, and the two do not overlap unless they are exactly the same elements in the same order
/// (check with [`may_overlap`] and copy through a temporary otherwise).
///
/// [`broadcast_strides`]: super::broadcast::broadcast_strides
/// [`may_overlap`]: super::view::may_overlap
pub unsafe fn copy_cast(src: ArrayView, dst: ArrayViewMut) {
    // SAFETY: forwarded from the caller.
    let finished = unsafe { copy_cast_paced(src, dst, &mut never_stop) };
    debug_assert!(finished.is_ok(), "never_stop never stops");
}

/// [`copy_cast`] calling `poll` between pieces of [`POLL_ELEMENTS`](crate::kernels::tasks::POLL_ELEMENTS) elements (a view's size
/// is the caller's choice: a zero-stride source can make a copy of any length out of one
/// element). `Err(Stopped)` when a poll says stop; `dst` is then partly written.
///
/// # Safety
/// As for [`copy_cast`].
pub unsafe fn copy_cast_paced(src: ArrayView, dst: ArrayViewMut, poll: &mut dyn FnMut() -> bool) -> Result<(), Stopped> {
    assert_eq!(src.shape, dst.shape, "copy_cast needs equal shapes");
    let mut pace = Pacer::new(poll);
    // SAFETY: forwarded from the caller; S and D are the element types of the views' dtypes.
    let finished = crate::with_elem_type!(src.dtype, S => crate::with_elem_type!(dst.dtype, D => unsafe { copy_typed::<S, D>(src, dst, &mut pace) }));
    if finished {
        Ok(())
    } else {
        Err(Stopped)
    }
}

unsafe fn copy_typed<S: Element, D: Element>(src: ArrayView, dst: ArrayViewMut, pace: &mut Pacer) -> bool {
    let mut shape = [0usize; MAX_NDIM];
    let mut strides = [[0isize; MAX_NDIM]; 2];
    let nd = simplify(src.shape, [src.strides, dst.strides], &mut shape, &mut strides);
    let n = shape[nd - 1];
    let (ss, ds) = (strides[0][nd - 1], strides[1][nd - 1]);
    let same = S::DTYPE == D::DTYPE;
    let size = std::mem::size_of::<S>() as isize;
    try_for_each_row(&shape[..nd], &strides, |[so, dof]| {
        pace.pieces(n, |start, len| {
            // SAFETY: the offsets and the row's elements start..start + len stay inside the
            // views (caller).
            unsafe {
                let (sp, dp) = (src.data.offset(so + start as isize * ss), dst.data.offset(dof + start as isize * ds));
                if same && ss == size && ds == size {
                    // One memmove per contiguous piece (exact same elements is allowed: overlap-safe).
                    std::ptr::copy(sp, dp, len * size as usize);
                } else {
                    for i in 0..len as isize {
                        S::load(sp.offset(i * ss)).cast::<D>().store(dp.offset(i * ds));
                    }
                }
            }
        })
    })
}

/// Try to allocate `len` default elements, `None` when the memory is not there (the glue raises
/// MemoryError instead of letting the allocator abort the process).
pub fn try_vec<T: Clone + Default>(len: usize) -> Option<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, T::default());
    Some(v)
}

/// Copy a strided view of any dtype into a new C-contiguous vector of `T`, cast as NumPy casts.
/// `None` when the copy cannot be allocated.
///
/// # Safety
/// `view` describes readable memory for the whole call.
pub unsafe fn gather<T: Element>(view: &ArrayView) -> Option<Vec<T>> {
    let size = view.size();
    let mut out: Vec<T> = Vec::new();
    out.try_reserve_exact(size).ok()?;
    if size == 0 {
        return Some(out);
    }
    let ndim = view.shape.len();
    let mut index = vec![0usize; ndim];
    let mut offset: isize = 0;
    // Odometer over the shape, innermost dimension fastest: the C order of the result.
    'outer: loop {
        let inner = if ndim == 0 { 1 } else { view.shape[ndim - 1] };
        let step = if ndim == 0 { 0 } else { view.strides[ndim - 1] };
        for j in 0..inner {
            // SAFETY: (index, j) is inside the shape, so the offset is inside the view's memory.
            out.push(unsafe { load_as::<T>(view.data.offset(offset + j as isize * step), view.dtype) });
        }
        if ndim <= 1 {
            break;
        }
        let mut d = ndim - 1;
        loop {
            if d == 0 {
                break 'outer;
            }
            d -= 1;
            index[d] += 1;
            offset += view.strides[d];
            if index[d] < view.shape[d] {
                break;
            }
            offset -= view.strides[d] * view.shape[d] as isize;
            index[d] = 0;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::array::broadcast::broadcast_strides;
    use crate::kernels::array::dtype::DType;
    use crate::kernels::array::element::{Bool, C128};

    fn as_bytes<T>(v: &[T]) -> *const u8 {
        v.as_ptr() as *const u8
    }

    #[test]
    fn a_stop_ends_a_copy_of_any_length() {
        // 2^40 elements from one f64 into one i64 (both stride 0): the first poll says stop.
        let src = [2.5f64];
        let mut dst = [0i64];
        let sv = ArrayView { data: as_bytes(&src), dtype: DType::Float64, shape: &[1 << 40], strides: &[0] };
        let dv = ArrayViewMut { data: dst.as_mut_ptr() as *mut u8, dtype: DType::Int64, shape: &[1 << 40], strides: &[0] };
        let mut polls = 0;
        // SAFETY: each view is the one element of its local array.
        let r = unsafe {
            copy_cast_paced(sv, dv, &mut || {
                polls += 1;
                false
            })
        };
        assert_eq!((r, polls, dst), (Err(Stopped), 1, [2]));
    }

    #[test]
    fn strided_cast_copy_reversed_and_broadcast() {
        let src: Vec<i32> = (0..12).collect();
        let mut dst = vec![0f64; 12];
        // src viewed as 3x4 reversed along both axes.
        // SAFETY: `src` holds 12 i32 = 48 bytes, so byte 44 (its last element) is inside the
        // same allocation.
        let base = unsafe { as_bytes(&src).add(11 * 4) };
        let sv = ArrayView { data: base, dtype: DType::Int32, shape: &[3, 4], strides: &[-16, -4] };
        let dv = ArrayViewMut { data: dst.as_mut_ptr() as *mut u8, dtype: DType::Float64, shape: &[3, 4], strides: &[32, 8] };
        // SAFETY: sv's elements are at base - 16i - 4j for i < 3, j < 4, i.e. bytes 0..48 of
        // `src`; dv's are at 32i + 8j, i.e. bytes 0..96 of `dst` (12 f64). Both Vecs live to the
        // end of the test, and they are separate allocations, so they do not overlap.
        unsafe { copy_cast(sv, dv) };
        assert_eq!(dst, (0..12).rev().map(|x| x as f64).collect::<Vec<_>>());

        // A row broadcast over 3 rows.
        let row = [1.5f64, -2.5];
        let bs = broadcast_strides(&[2], &[8], &[3, 2]);
        assert_eq!(*bs, [0, 8]);
        let mut out = [0u8; 6];
        let sv = ArrayView { data: as_bytes(&row), dtype: DType::Float64, shape: &[3, 2], strides: &bs };
        let dv = ArrayViewMut { data: out.as_mut_ptr(), dtype: DType::UInt8, shape: &[3, 2], strides: &[2, 1] };
        // SAFETY: sv reads only row[0] and row[1] (stride 0 over the 3 rows, 8 over 2 f64);
        // dv writes bytes 2i + j <= 5 of the 6-byte `out`. Distinct locals, no overlap.
        unsafe { copy_cast(sv, dv) };
        assert_eq!(out, [1, 254, 1, 254, 1, 254]);
    }

    #[test]
    fn simplify_merges_contiguous() {
        let mut shape = [0usize; MAX_NDIM];
        let mut strides = [[0isize; MAX_NDIM]; 1];
        let nd = simplify(&[2, 1, 3, 4], [&[96, 7, 32, 8]], &mut shape, &mut strides);
        assert_eq!((nd, shape[0], strides[0][0]), (1, 24, 8));
        let nd = simplify(&[2, 3], [&[8, 16]], &mut shape, &mut strides);
        assert_eq!(nd, 2);
        let nd = simplify(&[], [&[]], &mut shape, &mut strides);
        assert_eq!((nd, shape[0]), (1, 1));
    }

    #[test]
    fn gather_transposed_with_casts() {
        let data: [i32; 6] = [1, 2, 3, 4, 5, 6]; // 2x3, read transposed as 3x2
        let view = ArrayView { data: data.as_ptr().cast(), dtype: DType::Int32, shape: &[3, 2], strides: &[4, 12] };
        // SAFETY: the transposed view reads bytes 4i + 12j (i < 3, j < 2), the 6 i32 of the live
        // local `data`, through a pointer from data.as_ptr() (provenance over the whole array).
        let out: Vec<f64> = unsafe { gather(&view) }.unwrap();
        assert_eq!(out, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let rev = ArrayView { data: data.as_ptr().wrapping_add(5).cast(), dtype: DType::Int32, shape: &[6], strides: &[-4] };
        // SAFETY: the reversed view reads bytes 20 - 4i (i < 6) into `data`, all 6 i32 of the
        // live local, through a pointer derived from the whole array (not from a subslice, whose
        // reference would cover only data[5]).
        let out: Vec<i64> = unsafe { gather(&rev) }.unwrap();
        assert_eq!(out, [6, 5, 4, 3, 2, 1]);
        let scalar = ArrayView { data: data.as_ptr().cast(), dtype: DType::Int32, shape: &[], strides: &[] };
        // SAFETY: the 0-d view reads one i32, data[0], of the live local `data`.
        assert_eq!(unsafe { gather::<C128>(&scalar) }.unwrap(), [C128 { re: 1.0, im: 0.0 }]);
    }

    #[test]
    fn bool_bytes_are_normalised() {
        let bytes = [0u8, 2, 1];
        let view = ArrayView { data: bytes.as_ptr(), dtype: DType::Bool, shape: &[3], strides: &[1] };
        // SAFETY (both): the view is exactly the 3 bytes of the live local `bytes`; any byte value
        // is a valid bool-dtype element (gather normalises nonzero to 1).
        assert_eq!(unsafe { gather::<Bool>(&view) }.unwrap(), [Bool(0), Bool(1), Bool(1)]);
        assert_eq!(unsafe { gather::<i64>(&view) }.unwrap(), [0, 1, 1]);
    }
}

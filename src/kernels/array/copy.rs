//! Strided copy with dtype conversion: the loop behind `Array(buffer)`, `.copy()`, `.astype()`,
//! `a[...] = b` and reshape-by-copy.
//!
//! One loop per (source dtype, destination dtype) pair, picked from a table by [`copy_cast`] —
//! NumPy's cast loops, reduced to rawcapi's seven dtypes. The conversions are NumPy's on x86-64,
//! bit for bit (see [`Elem`] for each rule). Every load and store is unaligned-safe, because a
//! foreign buffer (a `memoryview` sliced at an odd byte, say) need not be aligned.

use super::dtype::DType;
use super::view::{ArrayView, ArrayViewMut, MAX_NDIM};

/// A complex128 element: two f64, real part first (C99 `double complex`, NumPy's `Zd`).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[repr(C)]
pub struct C128 {
    pub re: f64,
    pub im: f64,
}

/// A bool element as stored: one byte, 0 or 1 when we write it. A foreign byte that is neither
/// is read as `!= 0` (as NumPy does), so no invalid Rust `bool` is ever formed from memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct Bool8(pub u8);

/// float → int32 as x86-64's `cvttsd2si` (32-bit) gives it, which is what NumPy's C cast
/// `(npy_int)x` compiles to: truncation toward zero when the result fits, otherwise (NaN, ±inf,
/// out of range) the "integer indefinite" value `i32::MIN`. C calls the out-of-range case
/// undefined; NumPy on x86-64 gives this, so rawcapi defines it so on every platform.
pub fn f64_to_i32_x86(x: f64) -> i32 {
    if x > -2147483649.0 && x < 2147483648.0 {
        x as i32
    } else {
        i32::MIN
    }
}

/// float → int64 as `cvttsd2si` (64-bit): truncation, or `i64::MIN` for NaN, ±inf, out of range.
pub fn f64_to_i64_x86(x: f64) -> i64 {
    // ±2^63 are exact doubles, and no double lies strictly between -2^63 - 1 and -2^63.
    let limit = (1u64 << 63) as f64;
    if x >= -limit && x < limit {
        x as i64
    } else {
        i64::MIN
    }
}

/// An element type: how it is loaded and stored, and how every other dtype converts into it.
///
/// Conversions go through the widest type of the source's kind, which gives NumPy's single
/// rounding everywhere: bool; any integer → i64 (exact); any float → f64 (exact); complex.
/// - integer → integer wraps (two's complement truncation, C's cast);
/// - integer → float rounds to nearest (i64 → f32 directly, no double rounding);
/// - float → integer truncates; NaN/inf/out of range as `f64_to_i64_x86`/`f64_to_i32_x86`;
///   float → uint8 is the int32 conversion's low byte (what NumPy's `(npy_ubyte)x` compiles to:
///   300.7 → 44, -1.0 → 255, 1e10 → 0);
/// - anything → bool is `!= 0` (NaN is true; a complex is true if either part is non-zero);
/// - complex → real drops the imaginary part (NumPy warns with ComplexWarning; rawcapi does not).
pub trait Elem: Copy + Send + Sync + 'static {
    const DTYPE: DType;
    fn from_bool(b: bool) -> Self;
    fn from_i64(x: i64) -> Self;
    fn from_f64(x: f64) -> Self;
    fn from_c128(c: C128) -> Self;
    /// Convert `self` into `D` by the rules above.
    fn cast<D: Elem>(self) -> D;

    /// # Safety
    /// `p` is readable for `size_of::<Self>()` bytes (any alignment).
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: the caller's promise; every bit pattern is a valid value of each Elem type.
        unsafe { (p as *const Self).read_unaligned() }
    }

    /// # Safety
    /// `p` is writable for `size_of::<Self>()` bytes (any alignment).
    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: the caller's promise.
        unsafe { (p as *mut Self).write_unaligned(self) }
    }
}

macro_rules! int_elem {
    ($t:ty, $dt:expr, $from_f64:expr) => {
        impl Elem for $t {
            const DTYPE: DType = $dt;
            #[inline(always)]
            fn from_bool(b: bool) -> Self {
                b as $t
            }
            #[inline(always)]
            fn from_i64(x: i64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                $from_f64(x)
            }
            #[inline(always)]
            fn from_c128(c: C128) -> Self {
                Self::from_f64(c.re)
            }
            #[inline(always)]
            fn cast<D: Elem>(self) -> D {
                D::from_i64(self as i64)
            }
        }
    };
}

int_elem!(u8, DType::UInt8, |x: f64| f64_to_i32_x86(x) as u8);
int_elem!(i32, DType::Int32, f64_to_i32_x86);
int_elem!(i64, DType::Int64, f64_to_i64_x86);

macro_rules! float_elem {
    ($t:ty, $dt:expr) => {
        impl Elem for $t {
            const DTYPE: DType = $dt;
            #[inline(always)]
            fn from_bool(b: bool) -> Self {
                if b {
                    1.0
                } else {
                    0.0
                }
            }
            #[inline(always)]
            fn from_i64(x: i64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn from_c128(c: C128) -> Self {
                c.re as $t
            }
            #[inline(always)]
            fn cast<D: Elem>(self) -> D {
                D::from_f64(self as f64)
            }
        }
    };
}

float_elem!(f32, DType::Float32);
float_elem!(f64, DType::Float64);

impl Elem for Bool8 {
    const DTYPE: DType = DType::Bool;
    #[inline(always)]
    fn from_bool(b: bool) -> Self {
        Bool8(b as u8)
    }
    #[inline(always)]
    fn from_i64(x: i64) -> Self {
        Bool8((x != 0) as u8)
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        Bool8((x != 0.0) as u8)
    }
    #[inline(always)]
    fn from_c128(c: C128) -> Self {
        Bool8((c.re != 0.0 || c.im != 0.0) as u8)
    }
    #[inline(always)]
    fn cast<D: Elem>(self) -> D {
        D::from_bool(self.0 != 0)
    }
}

impl Elem for C128 {
    const DTYPE: DType = DType::Complex128;
    #[inline(always)]
    fn from_bool(b: bool) -> Self {
        C128 { re: if b { 1.0 } else { 0.0 }, im: 0.0 }
    }
    #[inline(always)]
    fn from_i64(x: i64) -> Self {
        C128 { re: x as f64, im: 0.0 }
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        C128 { re: x, im: 0.0 }
    }
    #[inline(always)]
    fn from_c128(c: C128) -> Self {
        c
    }
    #[inline(always)]
    fn cast<D: Elem>(self) -> D {
        D::from_c128(self)
    }
}

/// Call `$body` with `$T` bound to the element type of `$dtype` — the dtype-keyed table every
/// typed loop is picked from.
#[macro_export]
macro_rules! with_elem_type {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::kernels::array::dtype::DType::Bool => {
                type $T = $crate::kernels::array::copy::Bool8;
                $body
            }
            $crate::kernels::array::dtype::DType::UInt8 => {
                type $T = u8;
                $body
            }
            $crate::kernels::array::dtype::DType::Int32 => {
                type $T = i32;
                $body
            }
            $crate::kernels::array::dtype::DType::Int64 => {
                type $T = i64;
                $body
            }
            $crate::kernels::array::dtype::DType::Float32 => {
                type $T = f32;
                $body
            }
            $crate::kernels::array::dtype::DType::Float64 => {
                type $T = f64;
                $body
            }
            $crate::kernels::array::dtype::DType::Complex128 => {
                type $T = $crate::kernels::array::copy::C128;
                $body
            }
        }
    };
}

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
    if shape.contains(&0) {
        return;
    }
    let outer = &shape[..shape.len() - 1];
    let mut idx = [0usize; MAX_NDIM];
    let mut off = [0isize; K];
    loop {
        row(off);
        let mut d = outer.len();
        loop {
            if d == 0 {
                return;
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
/// (check with [`extent`] and copy through a temporary otherwise).
pub unsafe fn copy_cast(src: ArrayView, dst: ArrayViewMut) {
    assert_eq!(src.shape, dst.shape, "copy_cast needs equal shapes");
    // SAFETY: forwarded from the caller; S and D are the element types of the views' dtypes.
    with_elem_type!(src.dtype, S => with_elem_type!(dst.dtype, D => unsafe { copy_typed::<S, D>(src, dst) }))
}

unsafe fn copy_typed<S: Elem, D: Elem>(src: ArrayView, dst: ArrayViewMut) {
    let mut shape = [0usize; MAX_NDIM];
    let mut strides = [[0isize; MAX_NDIM]; 2];
    let nd = simplify(src.shape, [src.strides, dst.strides], &mut shape, &mut strides);
    let n = shape[nd - 1];
    let (ss, ds) = (strides[0][nd - 1], strides[1][nd - 1]);
    let same = S::DTYPE == D::DTYPE;
    let size = std::mem::size_of::<S>() as isize;
    for_each_row(&shape[..nd], &strides, |[so, dof]| {
        // SAFETY: the offsets and the row's `n` elements stay inside the views (caller).
        unsafe {
            let (sp, dp) = (src.data.offset(so), dst.data.offset(dof));
            if same && ss == size && ds == size {
                // One memmove per contiguous row (exact same elements is allowed: overlap-safe).
                std::ptr::copy(sp, dp, n * size as usize);
            } else {
                for i in 0..n as isize {
                    S::load(sp.offset(i * ss)).cast::<D>().store(dp.offset(i * ds));
                }
            }
        }
    });
}

/// The byte range `[lo, hi)` relative to `data` that a view's elements occupy (`(0, 0)` when it
/// has no elements). Two views whose ranges do not intersect cannot overlap.
pub fn extent(shape: &[usize], strides: &[isize], itemsize: usize) -> (isize, isize) {
    if shape.contains(&0) {
        return (0, 0);
    }
    let (mut lo, mut hi) = (0isize, itemsize as isize);
    for (&n, &s) in shape.iter().zip(strides) {
        let span = s * (n as isize - 1);
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    (lo, hi)
}

/// True when the memory ranges of `a` and `b` intersect (a conservative overlap test).
pub fn ranges_overlap(a: &ArrayView, b: &ArrayView) -> bool {
    let (alo, ahi) = extent(a.shape, a.strides, a.dtype.itemsize());
    let (blo, bhi) = extent(b.shape, b.strides, b.dtype.itemsize());
    if alo == ahi || blo == bhi {
        return false;
    }
    let (a0, b0) = (a.data as isize, b.data as isize);
    a0 + alo < b0 + bhi && b0 + blo < a0 + ahi
}

/// Strides that make an operand of `shape`/`strides` read as `target` under NumPy's broadcasting
/// rules (align trailing dimensions; a length-1 or missing dimension repeats with stride 0).
/// `None` when the shapes are incompatible.
pub fn broadcast_strides(shape: &[usize], strides: &[isize], target: &[usize]) -> Option<Vec<isize>> {
    if shape.len() > target.len() {
        return None;
    }
    let lead = target.len() - shape.len();
    let mut out = vec![0isize; target.len()];
    for (i, &t) in target.iter().enumerate().skip(lead) {
        let (n, s) = (shape[i - lead], strides[i - lead]);
        out[i] = if n == t {
            s
        } else if n == 1 {
            0
        } else {
            return None;
        };
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_bytes<T>(v: &[T]) -> *const u8 {
        v.as_ptr() as *const u8
    }

    #[test]
    fn x86_float_to_int_rules_match_numpy() {
        // np.array([...]).astype(...) on x86-64 with NumPy 2.4.
        let xs = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 300.0, -1.0, 1e10, 256.5, -129.7, 2f64.powi(31), -2f64.powi(31) - 1.0, 2f64.powi(63), 4e9];
        let u8s: Vec<u8> = xs.iter().map(|&x| u8::from_f64(x)).collect();
        assert_eq!(u8s, [0, 0, 0, 44, 255, 0, 0, 127, 0, 0, 0, 0]);
        let i32s: Vec<i32> = xs.iter().map(|&x| i32::from_f64(x)).collect();
        let m = i32::MIN;
        assert_eq!(i32s, [m, m, m, 300, -1, m, 256, -129, m, m, m, m]);
        let i64s: Vec<i64> = xs.iter().map(|&x| i64::from_f64(x)).collect();
        let m = i64::MIN;
        assert_eq!(i64s, [m, m, m, 300, -1, 10_000_000_000, 256, -129, 2147483648, -2147483649, m, 4_000_000_000]);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_rules_equal_the_instructions() {
        use std::arch::x86_64::{_mm_cvttsd_si32, _mm_cvttsd_si64, _mm_set_sd};
        let mut seed = 0x9e3779b97f4a7c15u64;
        for _ in 0..100_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let x = f64::from_bits(seed);
            // SAFETY: SSE2 is part of x86-64.
            let (a32, a64) = unsafe { (_mm_cvttsd_si32(_mm_set_sd(x)), _mm_cvttsd_si64(_mm_set_sd(x))) };
            assert_eq!(f64_to_i32_x86(x), a32, "{x}");
            assert_eq!(f64_to_i64_x86(x), a64, "{x}");
            let y = (seed >> 11) as f64 * 2f64.powi(-20) - 2f64.powi(32);
            let (b32, b64) = unsafe { (_mm_cvttsd_si32(_mm_set_sd(y)), _mm_cvttsd_si64(_mm_set_sd(y))) };
            assert_eq!(f64_to_i32_x86(y), b32, "{y}");
            assert_eq!(f64_to_i64_x86(y), b64, "{y}");
        }
    }

    #[test]
    fn int_to_float32_rounds_once() {
        // 2^60 + 2^36 + 1: via f64 it would round to 2^60 + 2^36 and then to 2^60 (tie to even);
        // directly it rounds up to 2^60 + 2^37.
        let x: i64 = (1 << 60) + (1 << 36) + 1;
        assert_eq!(f32::from_i64(x), ((1i64 << 60) + (1i64 << 37)) as f32);
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
        let bs = broadcast_strides(&[2], &[8], &[3, 2]).unwrap();
        assert_eq!(bs, vec![0, 8]);
        let mut out = [0u8; 6];
        let sv = ArrayView { data: as_bytes(&row), dtype: DType::Float64, shape: &[3, 2], strides: &bs };
        let dv = ArrayViewMut { data: out.as_mut_ptr(), dtype: DType::UInt8, shape: &[3, 2], strides: &[2, 1] };
        // SAFETY: sv reads only row[0] and row[1] (stride 0 over the 3 rows, 8 over 2 f64);
        // dv writes bytes 2i + j <= 5 of the 6-byte `out`. Distinct locals, no overlap.
        unsafe { copy_cast(sv, dv) };
        assert_eq!(out, [1, 254, 1, 254, 1, 254]);
        assert_eq!(broadcast_strides(&[3], &[8], &[3, 2]), None);
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
    fn overlap_test() {
        let buf = [0u8; 64];
        let a = ArrayView { data: buf.as_ptr(), dtype: DType::Float64, shape: &[4], strides: &[8] };
        // SAFETY: offsets 32 and 24 are inside the 64-byte `buf` (`add`'s in-bounds rule); the
        // views are only compared by address range, never dereferenced.
        let b = ArrayView { data: unsafe { buf.as_ptr().add(32) }, dtype: DType::Float64, shape: &[4], strides: &[8] };
        let c = ArrayView { data: unsafe { buf.as_ptr().add(24) }, dtype: DType::Float64, shape: &[4], strides: &[-8] };
        assert!(!ranges_overlap(&a, &b));
        assert!(ranges_overlap(&a, &c));
        assert!(!ranges_overlap(&b, &c));
    }

    #[test]
    fn bool_and_complex_casts() {
        assert_eq!(Bool8::from_f64(f64::NAN), Bool8(1));
        assert_eq!(Bool8::from_c128(C128 { re: 0.0, im: -0.0 }), Bool8(0));
        assert_eq!(Bool8::from_c128(C128 { re: 0.0, im: 2.0 }), Bool8(1));
        assert_eq!(i64::from_c128(C128 { re: 3.7, im: -1.0 }), 3);
        assert_eq!(Bool8(7).cast::<i32>(), 1);
        assert_eq!((-1i64).cast::<u8>(), 255);
        assert_eq!(300i32.cast::<u8>(), 44);
    }
}

//! The Rust type that stands for each dtype's elements, and NumPy's casts between them — one
//! module for every kernel: the copies (`copy.rs`: `astype`, `a[...] = b`), the elementwise
//! loops (`elementwise.rs`, `ufunc.rs`), the sums, and the heavy kernels (`kernels/matmul.rs`,
//! `kernels/fft.rs`).
//!
//! The casts are C's conversions, which are what NumPy's casting loops do: integers wrap, an
//! integer becomes the nearest float, a complex keeps its real part, anything non-zero is True.
//! Where C leaves a conversion undefined (a float too large for an integer), NumPy on x86-64 gives
//! what the instruction gives, and rawcapi defines it so on every platform (see [`Element`]).
//!
//! Where casts run:
//! - inside the elementwise loops, a chunk at a time, when an operand's dtype differs from the
//!   loop's (uint8 + float64 reads the uint8 and converts), so no full converted copy of an
//!   input is ever made ([`cast_loop`]);
//! - in a copy between dtypes, one loop per (source, destination) pair (`copy.rs`);
//! - in the heavy kernels: a matmul of an int32 and a float64 array computes in float64 (NumPy's
//!   promotion); an FFT of an int64 array reads it as float64. The operand that is not already in
//!   the computing type is gathered into a contiguous scratch copy through [`load_as`], one
//!   element at a time.

use super::dtype::DType;

/// A NumPy bool in memory: one byte, 0 or 1 when we write it. Not Rust's `bool`, because foreign
/// memory may hold other byte values and reading those as `bool` would be undefined behaviour;
/// a foreign byte that is neither is read as `!= 0`, as NumPy does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Bool(pub u8);

/// A complex128 element: two f64, real first (NumPy's `npy_cdouble`, C99's `double _Complex`,
/// the buffer protocol's `Zd`). It is `num_complex`'s `Complex<f64>` (`#[repr(C)] { re, im }`),
/// the complex type gemm (its `c64`), rustfft and realfft share, so the heavy kernels hand their
/// buffers to those crates as they are. The elementwise loops spell out their own formulas on
/// `re` and `im` (NumPy's, bit for bit) rather than use `num_complex`'s operators.
pub type C128 = num_complex::Complex<f64>;

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

/// An element type: one of the dtypes, how it is loaded and stored, and how every other dtype
/// converts into it.
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
pub trait Element: Copy + Send + Sync + Default + 'static {
    const DTYPE: DType;
    /// C's `(T)v` from an integer: wraps to the width.
    fn from_i64(x: i64) -> Self;
    /// C's `(T)v` from a double, with x86-64's answer where C's is undefined.
    fn from_f64(x: f64) -> Self;
    fn from_c128(c: C128) -> Self;
    /// `(D)self` by the rules above: through the widest type of `self`'s kind, so the
    /// conversion is exact where C's is.
    fn cast<D: Element>(self) -> D;

    /// # Safety
    /// `p` is readable for `size_of::<Self>()` bytes (any alignment).
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: the caller's promise; every bit pattern is a valid value of each Element type
        // (a bool byte other than 0 or 1 included: `Bool` is a `u8`, not a `bool`).
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

/// The integers and the reals: `cast` goes through the widest type of the kind (`$wide`, i64 or
/// f64), entered by `D::$from_wide`.
macro_rules! number_element {
    ($t:ty, $dt:expr, through $wide:ty => $from_wide:ident, from_f64: $from_f64:expr) => {
        impl Element for $t {
            const DTYPE: DType = $dt;
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
            fn cast<D: Element>(self) -> D {
                D::$from_wide(self as $wide)
            }
        }
    };
}
number_element!(u8, DType::UInt8, through i64 => from_i64, from_f64: |x: f64| f64_to_i32_x86(x) as u8);
number_element!(i32, DType::Int32, through i64 => from_i64, from_f64: f64_to_i32_x86);
number_element!(i64, DType::Int64, through i64 => from_i64, from_f64: f64_to_i64_x86);
number_element!(f32, DType::Float32, through f64 => from_f64, from_f64: |x: f64| x as f32);
number_element!(f64, DType::Float64, through f64 => from_f64, from_f64: |x: f64| x);

impl Element for Bool {
    const DTYPE: DType = DType::Bool;
    #[inline(always)]
    fn from_i64(x: i64) -> Self {
        Bool((x != 0) as u8)
    }
    /// NaN is "non-zero", hence True, as in C.
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        Bool((x != 0.0) as u8)
    }
    #[inline(always)]
    fn from_c128(c: C128) -> Self {
        Bool((c.re != 0.0 || c.im != 0.0) as u8)
    }
    /// A bool is the integer 0 or 1 (any non-zero byte reads as 1).
    #[inline(always)]
    fn cast<D: Element>(self) -> D {
        D::from_i64((self.0 != 0) as i64)
    }
}

impl Element for C128 {
    const DTYPE: DType = DType::Complex128;
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
    fn cast<D: Element>(self) -> D {
        D::from_c128(self)
    }
}

/// Call `$body` with `$T` bound to the element type of `$dtype` — the dtype-keyed table every
/// typed loop is picked from.
#[macro_export]
macro_rules! with_elem_type {
    ($dtype:expr, $T:ident => $body:expr) => {
        $crate::with_elem_type!(@each $dtype, $T, $body;
            Bool => $crate::kernels::array::element::Bool, UInt8 => u8, Int32 => i32, Int64 => i64,
            Float32 => f32, Float64 => f64, Complex128 => $crate::kernels::array::element::C128)
    };
    // One match arm per (dtype, element type) pair above.
    (@each $dtype:expr, $T:ident, $body:expr; $($d:ident => $t:ty),*) => {
        match $dtype {
            $($crate::kernels::array::dtype::DType::$d => {
                type $T = $t;
                $body
            })*
        }
    };
}

/// Read the element of `dtype` at `p` and cast it to `T` (one element of a gather whose source
/// dtype is known only at run time).
///
/// # Safety
/// `p` is valid for reading one element of `dtype` (any alignment).
#[inline(always)]
pub unsafe fn load_as<T: Element>(p: *const u8, dtype: DType) -> T {
    // SAFETY: the caller guarantees an element of `dtype`, hence of `S`, is readable at `p`.
    with_elem_type!(dtype, S => unsafe { S::load(p) }.cast::<T>())
}

/// A casting loop: `n` elements from `src` (byte stride `src_stride`) to `dst` (byte stride
/// `dst_stride`). NumPy's `PyArrayMethod_StridedLoop` for a cast, in Rust.
pub type CastLoop = unsafe fn(src: *const u8, src_stride: isize, dst: *mut u8, dst_stride: isize, n: usize);

/// # Safety
/// `src` readable and `dst` writable at every strided position for `n` elements.
unsafe fn cast_strided<S: Element, D: Element>(src: *const u8, ss: isize, dst: *mut u8, ds: isize, n: usize) {
    if ss == size_of::<S>() as isize && ds == size_of::<D>() as isize {
        // Both packed (the usual case: a contiguous run into a chunk buffer): index from the
        // base pointers, a loop shape the compiler vectorises.
        let (s, d) = (src as *const S, dst as *mut D);
        for i in 0..n {
            // SAFETY: as below, with element-sized steps.
            unsafe { d.add(i).write_unaligned(s.add(i).read_unaligned().cast::<D>()) };
        }
        return;
    }
    for i in 0..n as isize {
        // SAFETY: in bounds by the caller's promise; unaligned access is allowed for foreign buffers.
        unsafe {
            let v = (src.offset(i * ss) as *const S).read_unaligned();
            (dst.offset(i * ds) as *mut D).write_unaligned(v.cast::<D>());
        }
    }
}

/// The cast loop from one dtype to another (NumPy's `PyArray_GetCastingImpl`).
pub fn cast_loop(from: DType, to: DType) -> CastLoop {
    with_elem_type!(from, S => with_elem_type!(to, D => cast_strided::<S, D> as CastLoop))
}

/// NumPy's `can_cast(from, to, casting='same_kind')`, the rule for writing a result into an
/// `out=` of another dtype: never to a lower kind (bool < unsigned < signed < float < complex),
/// any size within a kind.
pub fn can_cast_same_kind(from: DType, to: DType) -> bool {
    fn rank(d: DType) -> u8 {
        match d {
            DType::Bool => 0,
            DType::UInt8 => 1,
            DType::Int32 | DType::Int64 => 2,
            DType::Float32 | DType::Float64 => 3,
            DType::Complex128 => 4,
        }
    }
    rank(to) >= rank(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast_one<S: Element, D: Element>(s: S) -> D {
        let mut d = std::mem::MaybeUninit::<D>::uninit();
        // SAFETY: one element each way, both locals.
        unsafe {
            cast_loop(S::DTYPE, D::DTYPE)(&s as *const S as *const u8, 0, d.as_mut_ptr() as *mut u8, 0, 1);
            d.assume_init()
        }
    }

    #[test]
    fn casts_are_c_conversions() {
        assert_eq!(cast_one::<i64, u8>(300), 44u8);
        assert_eq!(cast_one::<i32, i64>(-5), -5i64);
        assert_eq!(cast_one::<i64, f64>((1 << 53) + 1), (1u64 << 53) as f64);
        assert_eq!(cast_one::<f64, f32>(0.1), 0.1f32);
        assert_eq!(cast_one::<u8, C128>(7), C128 { re: 7.0, im: 0.0 });
        assert_eq!(cast_one::<Bool, f64>(Bool(1)), 1.0);
        assert_eq!(cast_one::<f64, Bool>(f64::NAN), Bool(1));
        assert_eq!(cast_one::<C128, Bool>(C128 { re: 0.0, im: -0.5 }), Bool(1));
    }

    #[test]
    fn same_kind_matches_numpy() {
        use DType::*;
        assert!(can_cast_same_kind(Float64, Float32));
        assert!(can_cast_same_kind(Int64, Int32));
        assert!(can_cast_same_kind(UInt8, Int32));
        assert!(!can_cast_same_kind(Int32, UInt8));
        assert!(!can_cast_same_kind(Float64, Int64));
        assert!(!can_cast_same_kind(Complex128, Float64));
        assert!(can_cast_same_kind(Bool, Complex128));
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
            // SAFETY: as above.
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
    fn bool_and_complex_casts() {
        assert_eq!(Bool::from_f64(f64::NAN), Bool(1));
        assert_eq!(Bool::from_c128(C128 { re: 0.0, im: -0.0 }), Bool(0));
        assert_eq!(Bool::from_c128(C128 { re: 0.0, im: 2.0 }), Bool(1));
        assert_eq!(i64::from_c128(C128 { re: 3.7, im: -1.0 }), 3);
        assert_eq!(Bool(7).cast::<i32>(), 1);
        assert_eq!((-1i64).cast::<u8>(), 255);
        assert_eq!(300i32.cast::<u8>(), 44);
    }
}

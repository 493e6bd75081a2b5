//! The Rust type that stands for each dtype's elements, and the casts between them.
//!
//! The casts are C's conversions, which are what NumPy's casting loops do: integers wrap, an
//! integer becomes the nearest float, a complex keeps its real part, anything non-zero is True.
//! Casts run inside the elementwise loops, a chunk at a time, when an operand's dtype differs
//! from the loop's (uint8 + float64 reads the uint8 and converts), so no full converted copy
//! of an input is ever made.

use super::dtype::DType;

/// A NumPy bool in memory: one byte, 0 or 1. Not Rust's `bool`, because foreign memory may hold
/// other byte values and reading those as `bool` would be undefined behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Bool(pub u8);

/// A complex128 element: two f64, real first (NumPy's `npy_cdouble`, C99's `double _Complex`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct C128 {
    pub re: f64,
    pub im: f64,
}

/// Which of C's conversions a value goes through.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Real,
    Complex,
}

/// An element type: its dtype and conversions through the widest type of its kind.
pub trait Element: Copy + Send + Sync + 'static {
    const DTYPE: DType;
    const KIND: Kind;
    fn to_i64(self) -> i64;
    fn to_f64(self) -> f64;
    fn to_c128(self) -> C128;
    /// C's `(T)v` from an integer: wraps to the width.
    fn from_i64(v: i64) -> Self;
    /// C's `(T)v` from a double (Rust's `as` saturates where C is undefined).
    fn from_f64(v: f64) -> Self;
    fn from_c128(v: C128) -> Self;
}

macro_rules! integer_element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            const KIND: Kind = Kind::Integer;
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn to_c128(self) -> C128 {
                C128 { re: self as f64, im: 0.0 }
            }
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn from_c128(v: C128) -> Self {
                v.re as $t
            }
        }
    };
}
integer_element!(u8, DType::UInt8);
integer_element!(i32, DType::Int32);
integer_element!(i64, DType::Int64);

macro_rules! real_element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            const KIND: Kind = Kind::Real;
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn to_c128(self) -> C128 {
                C128 { re: self as f64, im: 0.0 }
            }
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn from_c128(v: C128) -> Self {
                v.re as $t
            }
        }
    };
}
real_element!(f32, DType::Float32);
real_element!(f64, DType::Float64);

impl Element for Bool {
    const DTYPE: DType = DType::Bool;
    const KIND: Kind = Kind::Integer;
    fn to_i64(self) -> i64 {
        (self.0 != 0) as i64
    }
    fn to_f64(self) -> f64 {
        (self.0 != 0) as u8 as f64
    }
    fn to_c128(self) -> C128 {
        C128 { re: self.to_f64(), im: 0.0 }
    }
    fn from_i64(v: i64) -> Self {
        Bool((v != 0) as u8)
    }
    fn from_f64(v: f64) -> Self {
        // NaN is "non-zero", hence True, as in C.
        Bool((v != 0.0) as u8)
    }
    fn from_c128(v: C128) -> Self {
        Bool((v.re != 0.0 || v.im != 0.0) as u8)
    }
}

impl Element for C128 {
    const DTYPE: DType = DType::Complex128;
    const KIND: Kind = Kind::Complex;
    fn to_i64(self) -> i64 {
        self.re as i64
    }
    fn to_f64(self) -> f64 {
        self.re
    }
    fn to_c128(self) -> C128 {
        self
    }
    fn from_i64(v: i64) -> Self {
        C128 { re: v as f64, im: 0.0 }
    }
    fn from_f64(v: f64) -> Self {
        C128 { re: v, im: 0.0 }
    }
    fn from_c128(v: C128) -> Self {
        v
    }
}

/// `(D)s` — the conversion goes through the source's own kind, so it is exact where C's is.
#[inline(always)]
pub fn convert<S: Element, D: Element>(s: S) -> D {
    match S::KIND {
        Kind::Integer => D::from_i64(s.to_i64()),
        Kind::Real => D::from_f64(s.to_f64()),
        Kind::Complex => D::from_c128(s.to_c128()),
    }
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
            unsafe { d.add(i).write_unaligned(convert::<S, D>(s.add(i).read_unaligned())) };
        }
        return;
    }
    for i in 0..n as isize {
        // SAFETY: in bounds by the caller's promise; unaligned access is allowed for foreign buffers.
        unsafe {
            let v = (src.offset(i * ss) as *const S).read_unaligned();
            (dst.offset(i * ds) as *mut D).write_unaligned(convert::<S, D>(v));
        }
    }
}

/// The cast loop from one dtype to another (NumPy's `PyArray_GetCastingImpl`).
pub fn cast_loop(from: DType, to: DType) -> CastLoop {
    macro_rules! to {
        ($s:ty) => {
            match to {
                DType::Bool => cast_strided::<$s, Bool> as CastLoop,
                DType::UInt8 => cast_strided::<$s, u8>,
                DType::Int32 => cast_strided::<$s, i32>,
                DType::Int64 => cast_strided::<$s, i64>,
                DType::Float32 => cast_strided::<$s, f32>,
                DType::Float64 => cast_strided::<$s, f64>,
                DType::Complex128 => cast_strided::<$s, C128>,
            }
        };
    }
    match from {
        DType::Bool => to!(Bool),
        DType::UInt8 => to!(u8),
        DType::Int32 => to!(i32),
        DType::Int64 => to!(i64),
        DType::Float32 => to!(f32),
        DType::Float64 => to!(f64),
        DType::Complex128 => to!(C128),
    }
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
}

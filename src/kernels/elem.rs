//! Element types the heavy kernels compute in, and NumPy's casts into them.
//!
//! A matmul of an int32 and a float64 array computes in float64 (NumPy's promotion); an FFT of
//! an int64 array reads it as float64. The operand that is not already in the computing type is
//! gathered into a contiguous scratch copy through [`load`], one element at a time.

use num_complex::Complex;

use super::array::dtype::DType;
use super::array::view::ArrayView;

pub type C64 = Complex<f64>;

/// A bool element as stored (one byte). Not Rust's `bool`: foreign memory may hold any byte,
/// and reading one that is not 0 or 1 as `bool` would be undefined behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
pub struct Truth(pub u8);

/// A type a kernel computes in: one of the Array dtypes, with NumPy's casts from the others.
pub trait Elem: Copy + Send + Sync + Default + 'static {
    const DTYPE: DType;
    fn from_i64(v: i64) -> Self;
    fn from_f64(v: f64) -> Self;
    fn from_c64(v: C64) -> Self;
}

macro_rules! int_elem {
    ($t:ty, $d:expr) => {
        impl Elem for $t {
            const DTYPE: DType = $d;
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn from_c64(v: C64) -> Self {
                v.re as $t
            }
        }
    };
}
int_elem!(u8, DType::UInt8);
int_elem!(i32, DType::Int32);
int_elem!(i64, DType::Int64);

impl Elem for Truth {
    const DTYPE: DType = DType::Bool;
    fn from_i64(v: i64) -> Self {
        Truth((v != 0) as u8)
    }
    fn from_f64(v: f64) -> Self {
        Truth((v != 0.0) as u8)
    }
    fn from_c64(v: C64) -> Self {
        Truth((v.re != 0.0 || v.im != 0.0) as u8)
    }
}

impl Elem for f32 {
    const DTYPE: DType = DType::Float32;
    fn from_i64(v: i64) -> Self {
        v as f32
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn from_c64(v: C64) -> Self {
        v.re as f32
    }
}

impl Elem for f64 {
    const DTYPE: DType = DType::Float64;
    fn from_i64(v: i64) -> Self {
        v as f64
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn from_c64(v: C64) -> Self {
        v.re
    }
}

impl Elem for C64 {
    const DTYPE: DType = DType::Complex128;
    fn from_i64(v: i64) -> Self {
        C64::new(v as f64, 0.0)
    }
    fn from_f64(v: f64) -> Self {
        C64::new(v, 0.0)
    }
    fn from_c64(v: C64) -> Self {
        v
    }
}

/// Read the element of `dtype` at `p` and cast it to `T`.
///
/// # Safety
/// `p` is valid for reading one element of `dtype` (any alignment).
#[inline(always)]
pub unsafe fn load<T: Elem>(p: *const u8, dtype: DType) -> T {
    // SAFETY: the caller guarantees an element of `dtype` is readable at `p`; unaligned reads
    // because a buffer exporter may hand out any address.
    unsafe {
        match dtype {
            DType::Bool => T::from_i64((p.read() != 0) as i64),
            DType::UInt8 => T::from_i64(p.read() as i64),
            DType::Int32 => T::from_i64(p.cast::<i32>().read_unaligned() as i64),
            DType::Int64 => T::from_i64(p.cast::<i64>().read_unaligned()),
            DType::Float32 => T::from_f64(p.cast::<f32>().read_unaligned() as f64),
            DType::Float64 => T::from_f64(p.cast::<f64>().read_unaligned()),
            DType::Complex128 => T::from_c64(p.cast::<C64>().read_unaligned()),
        }
    }
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
pub unsafe fn gather<T: Elem>(view: &ArrayView) -> Option<Vec<T>> {
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
            out.push(unsafe { load::<T>(view.data.offset(offset + j as isize * step), view.dtype) });
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
        // SAFETY: the 0-d view reads one i32, data[0], of the live local `data`.
        let scalar = ArrayView { data: data.as_ptr().cast(), dtype: DType::Int32, shape: &[], strides: &[] };
        assert_eq!(unsafe { gather::<C64>(&scalar) }.unwrap(), [C64::new(1.0, 0.0)]);
    }

    #[test]
    fn bool_bytes_are_normalised() {
        let bytes = [0u8, 2, 1];
        let view = ArrayView { data: bytes.as_ptr(), dtype: DType::Bool, shape: &[3], strides: &[1] };
        // SAFETY (both): the view is exactly the 3 bytes of the live local `bytes`; any byte value
        // is a valid bool-dtype element (gather normalises nonzero to 1).
        assert_eq!(unsafe { gather::<Truth>(&view) }.unwrap(), [Truth(0), Truth(1), Truth(1)]);
        assert_eq!(unsafe { gather::<i64>(&view) }.unwrap(), [0, 1, 1]);
    }
}

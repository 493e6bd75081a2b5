//! `arange`'s fill: NumPy's `@NAME@_fill` (numpy/_core/src/multiarray/arraytypes.c.src).
//!
//! NumPy sets the first two elements from the Python numbers `start` and `start + step`
//! (converted to the dtype), then fills the rest from *those two stored values*:
//! `delta = a[1] - a[0]` and `a[i] = a[0] + i * delta`, computed in the dtype itself (float32
//! arithmetic for float32, wrapping integer arithmetic for integers). Doing the same gives the
//! same bits, including `arange(0.5, 5, 0.5, dtype=int64)`'s zeros (delta is 0 after casting).

use super::dtype::DType;
use super::element::{Element, C128};
use crate::kernels::tasks::{never_stop, Pacer, Stopped};

/// Fill `a[2..len]` of the contiguous 1-d array at `data` from `a[0]` and `a[1]`.
///
/// Bool has no fill (NumPy refuses lengths above 2); the caller checks that.
///
/// # Safety
/// `data` is writable for `len` elements of `dtype`, and `a[0]`, `a[1]` are set when `len > 2`.
pub unsafe fn arange_fill(data: *mut u8, dtype: DType, len: usize) {
    // SAFETY: forwarded.
    let finished = unsafe { arange_fill_paced(data, dtype, len, &mut never_stop) };
    debug_assert!(finished.is_ok(), "never_stop never stops");
}

/// [`arange_fill`] calling `poll` between pieces of the fill (its length is the caller's);
/// `Err(Stopped)` when a poll says stop, with the array partly filled.
///
/// # Safety
/// As for [`arange_fill`].
pub unsafe fn arange_fill_paced(data: *mut u8, dtype: DType, len: usize, poll: &mut dyn FnMut() -> bool) -> Result<(), Stopped> {
    if len <= 2 {
        return Ok(());
    }
    let mut pace = Pacer::new(poll);
    let pace = &mut pace;
    // SAFETY (each arm): elements 0..len of `data` (caller).
    let finished = unsafe {
        match dtype {
            DType::Bool => panic!("arange_fill: bool has no fill function"),
            DType::UInt8 => fill_int::<u8>(data, len, pace),
            DType::Int32 => fill_int::<i32>(data, len, pace),
            DType::Int64 => fill_int::<i64>(data, len, pace),
            DType::Float32 => {
                let start = f32::load(data);
                let delta = f32::load(data.add(4)) - start;
                // `i * delta` with i converted to float, as C's usual arithmetic conversions do.
                each(len, pace, |i| (start + i as f32 * delta).store(data.add(4 * i)))
            }
            DType::Float64 => {
                let start = f64::load(data);
                let delta = f64::load(data.add(8)) - start;
                each(len, pace, |i| (start + i as f64 * delta).store(data.add(8 * i)))
            }
            DType::Complex128 => {
                let start = C128::load(data);
                let next = C128::load(data.add(16));
                let (dr, di) = (next.re - start.re, next.im - start.im);
                each(len, pace, |i| {
                    let k = i as f64;
                    C128 { re: start.re + k * dr, im: start.im + k * di }.store(data.add(16 * i))
                })
            }
        }
    };
    if finished {
        Ok(())
    } else {
        Err(Stopped)
    }
}

/// Integers: `start + i*delta` in 64-bit arithmetic, truncated to the dtype on store — the same
/// value modulo 2^bits as C's promotion to `npy_intp` and back.
/// `fill(i)` for every i in 2..len, in paced pieces; `false` when a poll said stop.
fn each(len: usize, pace: &mut Pacer, mut fill: impl FnMut(usize)) -> bool {
    pace.pieces(len - 2, |start, n| {
        for i in 2 + start..2 + start + n {
            fill(i);
        }
    })
}

/// `false` when a poll said stop.
unsafe fn fill_int<T: Element + Into<i64>>(data: *mut u8, len: usize, pace: &mut Pacer) -> bool {
    let size = std::mem::size_of::<T>();
    // SAFETY: elements 0..len are inside the array (caller).
    unsafe {
        let start: i64 = T::load(data).into();
        let delta = Into::<i64>::into(T::load(data.add(size))).wrapping_sub(start);
        each(len, pace, |i| T::from_i64(start.wrapping_add((i as i64).wrapping_mul(delta))).store(data.add(size * i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_like_numpy_uint8() {
        // np.arange(250, 260, dtype=np.uint8)
        let mut a = [0u8; 10];
        a[0] = 250;
        a[1] = 251;
        // SAFETY: `a` is a live local [u8; 10], so its pointer is writable for the 10 u8 elements
        // passed as `len`, and a[0], a[1] are set above (arange_fill's contract).
        unsafe { arange_fill(a.as_mut_ptr(), DType::UInt8, 10) };
        assert_eq!(a, [250, 251, 252, 253, 254, 255, 0, 1, 2, 3]);
    }

    #[test]
    fn a_stop_ends_the_fill_and_pieces_join_up() {
        use crate::kernels::tasks::POLL_ELEMENTS;
        let n = 3 * POLL_ELEMENTS + 5;
        let mut a = vec![0i64; n];
        a[1] = 3;
        // SAFETY (both calls): `a` holds n i64, a[0] and a[1] are set.
        unsafe {
            assert_eq!(arange_fill_paced(a.as_mut_ptr() as *mut u8, DType::Int64, n, &mut || false), Err(Stopped));
            assert_eq!((a[POLL_ELEMENTS + 1], a[POLL_ELEMENTS + 2]), (3 * (POLL_ELEMENTS as i64 + 1), 0));
            assert_eq!(arange_fill_paced(a.as_mut_ptr() as *mut u8, DType::Int64, n, &mut || true), Ok(()));
        }
        assert!(a.iter().enumerate().all(|(i, &x)| x == 3 * i as i64));
    }

    #[test]
    fn float32_fills_in_float32() {
        let mut a = [0f32; 1000];
        a[0] = 0.1f64 as f32;
        a[1] = (0.1f64 + 0.3) as f32;
        // SAFETY: `a` is a live local [f32; 1000]: 4000 bytes, writable for the 1000 float32
        // elements passed as `len` (load/store are unaligned, but f32 alignment holds anyway);
        // a[0], a[1] are set above.
        unsafe { arange_fill(a.as_mut_ptr() as *mut u8, DType::Float32, 1000) };
        let d = a[1] - a[0];
        assert_eq!(a[999], a[0] + 999.0f32 * d);
    }
}

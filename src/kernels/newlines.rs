//! Counting `'\n'`: the article's Rust `count_lines`, over bytes and over the code units of a
//! `str` as CPython stores it (1, 2 or 4 bytes per character, PEP 393).
//!
//! `'\n'` is the code unit 10 in every PEP 393 kind, and no other character's code unit is 10,
//! so counting units equal to 10 counts `'\n'` characters without decoding anything.
//!
//! Layers as in `sum.rs`: one loop per path, [`count_newlines`] on the current path,
//! [`count_newlines_threaded`] / [`count_newlines_layout`] split across threads.

use super::memory::Units;
use super::parallel;
use super::simd::{self, Path};
use super::strided::{fold_runs, BadLayout, Layout};

/// The portable loop, for any code-unit width. Blocks of 255 × 64 keep the per-block counts
/// small; the compiler vectorises the inner loop into SSE2 compares and subtracts.
pub fn count_newlines_scalar<T: Copy + Into<u32>>(units: Units<T>) -> u64 {
    let mut count = 0u64;
    const BLOCK: usize = 255 * 64;
    let mut start = 0;
    while start < units.len() {
        let end = (start + BLOCK).min(units.len());
        let mut block = 0u32;
        for i in start..end {
            // SAFETY: `i < end <= units.len()`.
            block += u32::from(unsafe { units.read(i) }.into() == 10);
        }
        count += u64::from(block);
        start = end;
    }
    count
}

/// A PEP 393 code unit (`u8` Latin-1, `u16` UCS-2, `u32` UCS-4), with its kernel per path.
pub trait CodeUnit: Copy + Into<u32> + Sync + 'static {
    /// # Safety
    /// `path` is supported by this CPU.
    unsafe fn count_unchecked(path: Path, units: Units<Self>) -> u64;
}

macro_rules! code_unit {
    ($t:ty, $simd_fn:ident) => {
        impl CodeUnit for $t {
            #[inline]
            unsafe fn count_unchecked(path: Path, units: Units<Self>) -> u64 {
                match path {
                    // SAFETY: the caller checked the CPU supports the path's instructions.
                    #[cfg(target_arch = "x86_64")]
                    Path::Avx512 => unsafe { simd::avx512::$simd_fn(units) },
                    // SAFETY: as above.
                    #[cfg(target_arch = "x86_64")]
                    Path::Avx2 => unsafe { simd::avx2::$simd_fn(units) },
                    _ => count_newlines_scalar(units),
                }
            }
        }
    };
}
code_unit!(u8, count_newlines_u8);
code_unit!(u16, count_newlines_u16);
code_unit!(u32, count_newlines_u32);

/// The count on a given path, for tests and measurements that compare paths.
///
/// # Panics
/// If this CPU does not support `path`.
pub fn count_newlines_on<T: CodeUnit>(path: Path, units: Units<T>) -> u64 {
    assert!(path.is_supported(), "SIMD path {} not supported by this CPU", path.name());
    // SAFETY: checked just above.
    unsafe { T::count_unchecked(path, units) }
}

/// The number of elements equal to 10 (`'\n'`), on the current path, one thread.
#[inline]
pub fn count_newlines<T: CodeUnit>(units: Units<T>) -> u64 {
    // As in `sum_bytes`: a plain loop wins below a vector's latency.
    if units.len() < 16 {
        // SAFETY: `i < units.len()`.
        return (0..units.len()).filter(|&i| unsafe { units.read(i) }.into() == 10).count() as u64;
    }
    // SAFETY: `simd::current()` only ever returns a supported path.
    unsafe { T::count_unchecked(simd::current(), units) }
}

/// [`count_newlines`], split across threads when the input is large (`parallel::fold`).
#[inline]
pub fn count_newlines_threaded<T: CodeUnit>(units: Units<T>) -> u64 {
    parallel::fold(units, count_newlines::<T>)
}

/// The number of `b'\n'` bytes a buffer layout covers (strides, suboffsets, repeats); large
/// contiguous runs are split across threads.
///
/// # Safety
/// As for [`fold_runs`]: the layout's memory is readable for the whole call.
pub unsafe fn count_newlines_layout(layout: &Layout) -> Result<u128, BadLayout> {
    // SAFETY: forwarded to the caller.
    unsafe { fold_runs(layout, &mut |run| count_newlines_threaded(run)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oracle<T: Copy + Into<u32>>(units: &[T]) -> u64 {
        units.iter().filter(|&&u| u.into() == 10).count() as u64
    }

    #[test]
    fn bytes() {
        for path in simd::supported() {
            assert_eq!(count_newlines_on(path, Units::from_slice(b"a\nb\n\nc")), 3);
            assert_eq!(count_newlines_on(path, Units::from_slice(b"")), 0);
            assert_eq!(count_newlines_on(path, Units::from_slice(b"no newline")), 0);
        }
    }

    #[test]
    fn wide_units_count_only_ten() {
        // 0x010A and 0x0A00 contain a byte 10 but are not '\n'.
        let ucs2: Vec<u16> = [10, 0x010A, 0x0A00, 10, 0xD800].repeat(41);
        let ucs4: Vec<u32> = [0x1F600, 10, 0x0A0A0A, 0x10FFFF, 10, 10, 0x0A000A0A].repeat(37);
        for path in simd::supported() {
            assert_eq!(count_newlines_on(path, Units::from_slice(&ucs2)), 82, "{path:?}");
            assert_eq!(count_newlines_on(path, Units::from_slice(&ucs4)), 111, "{path:?}");
        }
    }

    /// Every length 0..300 at every element offset within a 64-byte line, all three widths.
    fn every_length_and_alignment<T: CodeUnit + std::fmt::Debug>(make: impl Fn(u32) -> T) {
        let size = std::mem::size_of::<T>();
        let lanes = 64 / size;
        let storage: Vec<T> = (0..(300 + 2 * lanes) as u32).map(|i| make(i)).collect();
        let base = storage.as_ptr().align_offset(64);
        for path in simd::supported() {
            for start in 0..=lanes {
                for len in 0..300 {
                    let slice = &storage[base + start..base + start + len];
                    assert_eq!(count_newlines_on(path, Units::from_slice(slice)), oracle(slice), "{path:?} {start} {len}");
                }
            }
        }
    }

    #[test]
    fn every_length_and_alignment_u8() {
        every_length_and_alignment(|i| if i % 3 == 0 { 10u8 } else { (i * 7 % 256) as u8 });
    }

    #[test]
    fn every_length_and_alignment_u16() {
        every_length_and_alignment(|i| if i % 5 < 2 { 10u16 } else { ((i * 40503) % 65536) as u16 | 0x0A00 });
    }

    #[test]
    fn every_length_and_alignment_u32() {
        every_length_and_alignment(|i| if i % 4 == 1 { 10u32 } else { i.wrapping_mul(2654435761) % 0x110000 | 0x0A00 });
    }

    #[test]
    fn all_newlines_and_block_boundaries() {
        // Counts past 255 per lane, and lengths around the scalar loop's blocks.
        let data = vec![10u8; 255 * 64 * 3 + 5];
        let wide = vec![10u32; 70_001];
        for path in simd::supported() {
            for len in [255 * 64 - 1, 255 * 64, 255 * 64 + 1, data.len()] {
                assert_eq!(count_newlines_on(path, Units::from_slice(&data[..len])), len as u64);
                assert_eq!(count_newlines_on(path, Units::from_slice(&data[1..len])), len as u64 - 1);
            }
            assert_eq!(count_newlines_on(path, Units::from_slice(&wide)), wide.len() as u64);
        }
    }

    #[test]
    fn threaded_matches() {
        let data: Vec<u16> = (0..50_001u32).map(|i| if i % 7 == 0 { 10 } else { i as u16 }).collect();
        for pieces in 1..=5 {
            assert_eq!(parallel::fold_in_pieces(Units::from_slice(&data), pieces, &count_newlines::<u16>), oracle(&data));
        }
        assert_eq!(count_newlines_threaded(Units::from_slice(&data)), oracle(&data));
    }
}

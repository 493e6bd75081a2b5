//! The sum of bytes: the article's `fast_sum` loop, `total += data[i]`.
//!
//! Three layers, innermost first:
//! - one loop per instruction-set path: [`sum_bytes_scalar`] here, `vpsadbw` in
//!   `simd/avx2.rs` and `simd/avx512.rs`;
//! - [`sum_bytes`]: the path chosen at run time (`simd::current()`), one thread;
//! - [`sum_bytes_threaded`] / [`sum_layout`]: large contiguous runs split across threads
//!   (`parallel.rs`), any buffer layout walked as runs (`strided.rs`).

use super::memory::Units;
use super::parallel;
use super::simd::{self, Path};
use super::strided::{fold_runs, BadLayout, Layout};

/// Bytes per block whose sum fits a `u32` lane: 255 × 2^24 < 2^32.
const BLOCK: usize = 1 << 24;

/// The portable loop. Written so the compiler can vectorise it for the baseline target: the
/// inner loop widens each byte into a `u32` accumulator over blocks short enough never to
/// overflow, and the blocks add into a `u64`. On x86-64 LLVM turns it into SSE2
/// `punpcklbw`/`paddd` (16 bytes per step); it cannot find `psadbw` by itself.
pub fn sum_bytes_scalar(bytes: Units<u8>) -> u64 {
    let mut total = 0u64;
    let mut start = 0;
    while start < bytes.len() {
        let end = (start + BLOCK).min(bytes.len());
        let mut block = 0u32;
        for i in start..end {
            // SAFETY: `i < end <= bytes.len()`.
            block += u32::from(unsafe { bytes.read(i) });
        }
        total += u64::from(block);
        start = end;
    }
    total
}

/// The sum on a given path.
///
/// # Safety
/// `path` is supported by this CPU (`Path::is_supported`).
#[inline]
unsafe fn sum_bytes_unchecked(path: Path, bytes: Units<u8>) -> u64 {
    match path {
        // SAFETY: the caller checked the CPU supports the path's instructions.
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => unsafe { simd::avx512::sum_bytes(bytes) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => unsafe { simd::avx2::sum_bytes(bytes) },
        _ => sum_bytes_scalar(bytes),
    }
}

/// The sum on a given path, for tests and measurements that compare paths.
///
/// # Panics
/// If this CPU does not support `path`.
pub fn sum_bytes_on(path: Path, bytes: Units<u8>) -> u64 {
    assert!(path.is_supported(), "SIMD path {} not supported by this CPU", path.name());
    // SAFETY: checked just above.
    unsafe { sum_bytes_unchecked(path, bytes) }
}

/// Below this many bytes a plain loop finishes before a vector's load-and-reduce latency
/// would (`b'hello world'` is 11): the per-call fast path of docs/appendix-a-speed.md.
const TINY: usize = 16;

/// The sum of fewer than [`TINY`] bytes: one 8-byte word added lane-wise in a register (SWAR)
/// when there are 8, then the rest one by one. Every byte is still read exactly once.
#[inline(always)]
fn sum_tiny(bytes: Units<u8>) -> u64 {
    debug_assert!(bytes.len() < TINY);
    let mut total = 0u64;
    let mut i = 0;
    if bytes.len() >= 8 {
        // SAFETY: bytes 0..8 are in bounds.
        let word = unsafe { bytes.read_u64_le(0) };
        // Adjacent bytes into four 16-bit lanes (each <= 510), then the lanes into the top one.
        const LOW: u64 = 0x00FF_00FF_00FF_00FF;
        let pairs = (word & LOW) + ((word >> 8) & LOW);
        total = pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48;
        i = 8;
    }
    while i < bytes.len() {
        // SAFETY: `i < bytes.len()`.
        total += u64::from(unsafe { bytes.read(i) });
        i += 1;
    }
    total
}

/// The sum of every byte on the current path, one thread.
#[inline]
pub fn sum_bytes(bytes: Units<u8>) -> u64 {
    if bytes.len() < TINY {
        return sum_tiny(bytes);
    }
    // SAFETY: `simd::current()` only ever returns a supported path.
    unsafe { sum_bytes_unchecked(simd::current(), bytes) }
}

/// [`sum_bytes`], split across threads when the input is large (`parallel::fold`). The tiny
/// case is decided here, inline in the caller, before anything else.
#[inline(always)]
pub fn sum_bytes_threaded(bytes: Units<u8>) -> u64 {
    if bytes.len() < TINY {
        return sum_tiny(bytes);
    }
    sum_bytes_threaded_large(bytes)
}

#[inline(never)]
fn sum_bytes_threaded_large(bytes: Units<u8>) -> u64 {
    parallel::fold(bytes, sum_bytes)
}

/// The sum of every byte a buffer layout covers, in any order: the buffer-protocol form of
/// [`sum_bytes`] (strides, suboffsets, repeats; see `strided.rs`). Each contiguous run — for
/// the usual contiguous buffer the only one — is split across threads when large.
///
/// # Safety
/// As for [`fold_runs`]: the layout's memory is readable for the whole call.
pub unsafe fn sum_layout(layout: &Layout) -> Result<u128, BadLayout> {
    // SAFETY: forwarded to the caller.
    unsafe { fold_runs(layout, &mut |run| sum_bytes_threaded(run)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oracle(data: &[u8]) -> u64 {
        data.iter().map(|&b| u64::from(b)).sum()
    }

    #[test]
    fn article_example_on_every_path() {
        for path in simd::supported() {
            assert_eq!(sum_bytes_on(path, Units::from_slice(b"hello world")), 1116, "{path:?}");
        }
    }

    #[test]
    fn every_length_and_alignment_up_to_300_on_every_path() {
        // Offsets 0..=64 against a 64-byte aligned base cover every head length the AVX-512
        // path can meet; lengths past 256 cross its unrolled block.
        let mut storage = vec![0u8; 600 + 128];
        let base = storage.as_ptr().align_offset(64);
        for (i, b) in storage.iter_mut().enumerate() {
            *b = ((i as u32).wrapping_mul(2654435761) >> 13) as u8;
        }
        for path in simd::supported() {
            for start in 0..=64 {
                for len in 0..300 {
                    let slice = &storage[base + start..base + start + len];
                    assert_eq!(sum_bytes_on(path, Units::from_slice(slice)), oracle(slice), "{path:?} {start} {len}");
                }
            }
        }
    }

    #[test]
    fn tiny_inputs_every_length_and_value() {
        let mut data = [0u8; 15];
        for fill in [0u8, 1, 10, 127, 128, 254, 255] {
            for (k, b) in data.iter_mut().enumerate() {
                *b = fill.wrapping_add((k * 37) as u8);
            }
            for len in 0..TINY {
                let slice = &data[..len];
                assert_eq!(sum_tiny(Units::from_slice(slice)), oracle(slice), "{fill} {len}");
            }
        }
        assert_eq!(sum_tiny(Units::from_slice(&[255u8; 15])), 255 * 15);
    }

    #[test]
    fn all_255_cannot_overflow_on_any_path() {
        let data = vec![255u8; BLOCK * 2 + 3];
        for path in simd::supported() {
            for start in [0, 1, 63] {
                let slice = &data[start..];
                assert_eq!(sum_bytes_on(path, Units::from_slice(slice)), 255 * slice.len() as u64, "{path:?}");
            }
        }
    }

    #[test]
    fn split_sum_matches_for_every_piece_count() {
        let data: Vec<u8> = (0..100_003u32).map(|i| (i * 7919 % 256) as u8).collect();
        let expected = oracle(&data);
        for pieces in 1..=9 {
            assert_eq!(parallel::fold_in_pieces(Units::from_slice(&data), pieces, &sum_bytes), expected, "{pieces}");
        }
        assert_eq!(sum_bytes_threaded(Units::from_slice(&data)), expected);
    }
}

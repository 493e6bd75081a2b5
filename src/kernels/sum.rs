//! The sum of bytes: the article's `fast_sum` loop, `total += data[i]`.

use super::memory::Units;
use super::strided::{fold_runs, BadLayout, Layout};

/// Bytes per block whose sum fits a `u32` lane: 255 × 2^24 < 2^32.
const BLOCK: usize = 1 << 24;

/// The sum of every byte, as an unsigned integer.
///
/// Written so the compiler can vectorise it: the inner loop widens each byte into a `u32`
/// accumulator over blocks short enough never to overflow, and the blocks add into a `u64`
/// (255 × 2^64 / 255 bytes — 64 EiB — before that could overflow).
pub fn sum_bytes(bytes: Units<u8>) -> u64 {
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

/// The sum of every byte a buffer layout covers, in any order: the buffer-protocol form of
/// [`sum_bytes`] (strides, suboffsets, repeats; see `strided.rs`).
///
/// # Safety
/// As for [`fold_runs`]: the layout's memory is readable for the whole call.
pub unsafe fn sum_layout(layout: &Layout) -> Result<u128, BadLayout> {
    // SAFETY: forwarded to the caller.
    unsafe { fold_runs(layout, &mut |run| sum_bytes(run)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oracle(data: &[u8]) -> u64 {
        data.iter().map(|&b| u64::from(b)).sum()
    }

    #[test]
    fn article_example() {
        assert_eq!(sum_bytes(Units::from_slice(b"hello world")), 1116);
    }

    #[test]
    fn empty() {
        assert_eq!(sum_bytes(Units::from_slice(&[])), 0);
    }

    #[test]
    fn every_length_and_offset_up_to_300() {
        let data: Vec<u8> = (0..600u32).map(|i| (i * 7919 % 256) as u8).collect();
        for start in 0..17 {
            for len in 0..300 {
                let slice = &data[start..start + len];
                assert_eq!(sum_bytes(Units::from_slice(slice)), oracle(slice), "{start} {len}");
            }
        }
    }

    #[test]
    fn all_255_across_block_boundaries() {
        let data = vec![255u8; BLOCK * 2 + 3];
        assert_eq!(sum_bytes(Units::from_slice(&data)), 255 * data.len() as u64);
    }
}

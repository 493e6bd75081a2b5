//! Counting `'\n'`: the article's Rust `count_lines`, over bytes and over the code units of a
//! `str` as CPython stores it (1, 2 or 4 bytes per character, PEP 393).

use super::memory::Units;
use super::strided::{fold_runs, BadLayout, Layout};

/// The number of elements equal to 10 (`'\n'`) in a run of bytes, UCS-2 or UCS-4 code units.
///
/// `'\n'` is the code unit 10 in every PEP 393 kind, and no other character's code unit is 10,
/// so counting units equal to 10 counts `'\n'` characters without decoding anything.
pub fn count_newlines<T: Copy + Into<u32>>(units: Units<T>) -> u64 {
    let mut count = 0u64;
    // Blocks of 255 × 64 keep per-block counts small; the compiler vectorises the inner loop
    // into compares and subtracts.
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

/// The number of `b'\n'` bytes a buffer layout covers (strides, suboffsets, repeats).
///
/// # Safety
/// As for [`fold_runs`]: the layout's memory is readable for the whole call.
pub unsafe fn count_newlines_layout(layout: &Layout) -> Result<u128, BadLayout> {
    // SAFETY: forwarded to the caller.
    unsafe { fold_runs(layout, &mut |run| count_newlines(run)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(count_newlines(Units::from_slice(b"a\nb\n\nc")), 3);
        assert_eq!(count_newlines(Units::from_slice(b"")), 0);
        assert_eq!(count_newlines(Units::from_slice(b"no newline")), 0);
    }

    #[test]
    fn wide_units_count_only_ten() {
        // 0x010A and 0x0A00 contain a byte 10 but are not '\n'.
        let ucs2: Vec<u16> = vec![10, 0x010A, 0x0A00, 10, 0xD800];
        assert_eq!(count_newlines(Units::from_slice(&ucs2)), 2);
        let ucs4: Vec<u32> = vec![0x1F600, 10, 0x0A0A0A, 0x10FFFF, 10, 10];
        assert_eq!(count_newlines(Units::from_slice(&ucs4)), 3);
    }

    #[test]
    fn every_length_and_offset() {
        let data: Vec<u8> = (0..40_000u32).map(|i| if i % 13 == 0 { 10 } else { (i % 251) as u8 }).collect();
        for start in 0..9 {
            for len in [0, 1, 63, 64, 65, 255 * 64 - 1, 255 * 64, 255 * 64 + 1, 30_000] {
                let slice = &data[start..start + len];
                let expected = slice.iter().filter(|&&b| b == 10).count() as u64;
                assert_eq!(count_newlines(Units::from_slice(slice)), expected);
            }
        }
    }
}

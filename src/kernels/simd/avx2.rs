//! AVX2 kernels: 32 bytes per instruction.
//!
//! Every function here is `#[target_feature(enable = "avx2,popcnt")]` and may only run on a CPU
//! with those features; callers go through `simd::Path::Avx2`, set only after
//! `is_x86_feature_detected!`. AVX2 has no masked byte loads, so the last `< 32` bytes go through
//! a plain loop; each element is still read exactly once.

use std::arch::x86_64::*;

use crate::kernels::memory::Units;

/// The sum of the bytes: `vpsadbw` against zero adds each group of 8 bytes into a 64-bit lane.
///
/// # Safety
/// The CPU supports AVX2 and POPCNT.
#[target_feature(enable = "avx2,popcnt")]
pub unsafe fn sum_bytes(bytes: Units<u8>) -> u64 {
    let p = bytes.as_ptr();
    let n = bytes.len();
    let zero = _mm256_setzero_si256();
    let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
    let mut i = 0;
    // SAFETY (whole block): `Units` promises `n` readable bytes at `p`; each unaligned load
    // covers bytes inside `i..n` (guarded by `n - i`), and the tail reads `i..n` one by one.
    unsafe {
        while n - i >= 128 {
            let q = p.add(i);
            a0 = _mm256_add_epi64(a0, _mm256_sad_epu8(_mm256_loadu_si256(q.cast()), zero));
            a1 = _mm256_add_epi64(a1, _mm256_sad_epu8(_mm256_loadu_si256(q.add(32).cast()), zero));
            a2 = _mm256_add_epi64(a2, _mm256_sad_epu8(_mm256_loadu_si256(q.add(64).cast()), zero));
            a3 = _mm256_add_epi64(a3, _mm256_sad_epu8(_mm256_loadu_si256(q.add(96).cast()), zero));
            i += 128;
        }
        while n - i >= 32 {
            a0 = _mm256_add_epi64(a0, _mm256_sad_epu8(_mm256_loadu_si256(p.add(i).cast()), zero));
            i += 32;
        }
        let mut tail = 0u64;
        while i < n {
            tail += u64::from(bytes.read(i));
            i += 1;
        }
        // __m256i and [u64; 4] have the same size, and every bit pattern is a valid u64.
        let lanes: [u64; 4] = std::mem::transmute(_mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
        lanes.iter().sum::<u64>() + tail
    }
}

/// One newline counter per code-unit width. `vpcmpeq{b,w,d}` sets every byte of a matching lane
/// to 0xFF, `vpmovmskb` gathers one bit per byte, `popcnt` counts: a match of a `size`-byte unit
/// adds exactly `size` bits, so the bit total divided by `size` is the count.
macro_rules! count_newlines_fn {
    ($name:ident, $t:ty, $cmpeq:ident, $set1:ident) => {
        /// The number of code units equal to 10 (`'\n'`).
        ///
        /// # Safety
        /// The CPU supports AVX2 and POPCNT.
        #[target_feature(enable = "avx2,popcnt")]
        pub unsafe fn $name(units: Units<$t>) -> u64 {
            const LANES: usize = 32 / std::mem::size_of::<$t>();
            let p = units.as_ptr();
            let n = units.len();
            let nl = $set1(10);
            // A macro, not a closure, so the code is compiled inside this function, with its
            // target features.
            macro_rules! bits {
                ($v:expr) => {
                    u64::from((_mm256_movemask_epi8($cmpeq($v, nl)) as u32).count_ones())
                };
            }
            let (mut b0, mut b1, mut b2, mut b3) = (0u64, 0u64, 0u64, 0u64);
            let mut i = 0;
            // SAFETY (whole block): every load covers units inside `i..n` (guarded by `n - i`);
            // the tail reads the rest one by one.
            unsafe {
                while n - i >= 4 * LANES {
                    let q = p.add(i);
                    b0 += bits!(_mm256_loadu_si256(q.cast()));
                    b1 += bits!(_mm256_loadu_si256(q.add(LANES).cast()));
                    b2 += bits!(_mm256_loadu_si256(q.add(2 * LANES).cast()));
                    b3 += bits!(_mm256_loadu_si256(q.add(3 * LANES).cast()));
                    i += 4 * LANES;
                }
                while n - i >= LANES {
                    b0 += bits!(_mm256_loadu_si256(p.add(i).cast()));
                    i += LANES;
                }
                let mut tail = 0u64;
                while i < n {
                    tail += u64::from(u32::from(units.read(i)) == 10);
                    i += 1;
                }
                (b0 + b1 + b2 + b3) / std::mem::size_of::<$t>() as u64 + tail
            }
        }
    };
}

count_newlines_fn!(count_newlines_u8, u8, _mm256_cmpeq_epi8, _mm256_set1_epi8);
count_newlines_fn!(count_newlines_u16, u16, _mm256_cmpeq_epi16, _mm256_set1_epi16);
count_newlines_fn!(count_newlines_u32, u32, _mm256_cmpeq_epi32, _mm256_set1_epi32);

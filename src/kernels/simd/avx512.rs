//! AVX-512 (F + BW) kernels: 64 bytes per instruction, mask registers for compares and for the
//! ragged ends.
//!
//! Every function here is `#[target_feature(enable = "avx512f,avx512bw,popcnt")]`: the compiler
//! may use those instructions inside, so calling one on a CPU without them is undefined
//! behaviour. Callers go through `simd::Path::Avx512`, which is only ever set when
//! `is_x86_feature_detected!` said yes.
//!
//! The ends of the input are read with *masked* loads (`vmovdqu8 zmm{k}{z}`): lanes outside the
//! mask are neither read nor able to fault, so a head up to the first 64-byte boundary and a
//! tail shorter than a vector need no scalar loop, and each element is still read exactly once.
//! The middle uses aligned loads, which never split a cache line.

use std::arch::x86_64::*;

use crate::kernels::memory::Units;

/// The low `k` bits set (`k <= 64`).
#[inline(always)]
fn low_bits(k: usize) -> u64 {
    if k >= 64 {
        u64::MAX
    } else {
        (1u64 << k) - 1
    }
}

/// Elements of `size` bytes from `addr` up to the next 64-byte boundary (0 if aligned). CPython
/// aligns code units to their size, so the division is exact.
#[inline(always)]
fn head_len(addr: usize, size: usize) -> usize {
    ((64 - (addr & 63)) & 63) / size
}

/// The sum of the bytes: `vpsadbw` against zero adds each group of 8 bytes into a 64-bit lane,
/// so the accumulators cannot overflow for any input that fits in memory.
///
/// # Safety
/// The CPU supports AVX-512F, AVX-512BW and POPCNT.
#[target_feature(enable = "avx512f,avx512bw,popcnt")]
pub unsafe fn sum_bytes(bytes: Units<u8>) -> u64 {
    let p = bytes.as_ptr();
    let n = bytes.len();
    let zero = _mm512_setzero_si512();
    let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
    // SAFETY (whole block): `Units` promises `n` readable bytes at `p`. Every load below covers
    // bytes in `i..n` only: masked loads touch exactly the lanes their mask names, and the
    // unmasked loads are guarded by `n - i >= width`; `i` is 64-aligned after the head, so the
    // aligned loads are aligned.
    unsafe {
        let mut i = head_len(p as usize, 1).min(n);
        if i > 0 {
            a0 = _mm512_sad_epu8(_mm512_maskz_loadu_epi8(low_bits(i), p.cast()), zero);
        }
        while n - i >= 256 {
            let q = p.add(i);
            a0 = _mm512_add_epi64(a0, _mm512_sad_epu8(_mm512_load_si512(q.cast()), zero));
            a1 = _mm512_add_epi64(a1, _mm512_sad_epu8(_mm512_load_si512(q.add(64).cast()), zero));
            a2 = _mm512_add_epi64(a2, _mm512_sad_epu8(_mm512_load_si512(q.add(128).cast()), zero));
            a3 = _mm512_add_epi64(a3, _mm512_sad_epu8(_mm512_load_si512(q.add(192).cast()), zero));
            i += 256;
        }
        while n - i >= 64 {
            a1 = _mm512_add_epi64(a1, _mm512_sad_epu8(_mm512_load_si512(p.add(i).cast()), zero));
            i += 64;
        }
        if i < n {
            let tail = _mm512_maskz_loadu_epi8(low_bits(n - i), p.add(i).cast());
            a2 = _mm512_add_epi64(a2, _mm512_sad_epu8(tail, zero));
        }
        let all = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
        _mm512_reduce_add_epi64(all) as u64
    }
}

/// One newline counter per code-unit width. The compare writes one mask bit per lane that
/// equals 10 and `popcnt` counts them; zero-filled masked-off lanes never equal 10.
macro_rules! count_newlines_fn {
    ($name:ident, $t:ty, $lanes:expr, $mask:ty, $maskz_load:ident, $cmpeq:ident, $set1:ident, $elem:ty) => {
        /// The number of code units equal to 10 (`'\n'`).
        ///
        /// # Safety
        /// The CPU supports AVX-512F, AVX-512BW and POPCNT.
        #[target_feature(enable = "avx512f,avx512bw,popcnt")]
        pub unsafe fn $name(units: Units<$t>) -> u64 {
            const LANES: usize = $lanes;
            let p = units.as_ptr();
            let n = units.len();
            let nl = $set1(10);
            let (mut c0, mut c1, mut c2, mut c3) = (0u64, 0u64, 0u64, 0u64);
            // SAFETY (whole block): as in `sum_bytes`, every load stays within `i..n` (masked
            // loads by their mask, full ones by the `n - i` guards) and the full loads start
            // 64-byte aligned after the head. `p` is aligned to its element size (`Units`).
            unsafe {
                let mut i = head_len(p as usize, std::mem::size_of::<$t>()).min(n);
                if i > 0 {
                    let v = $maskz_load(low_bits(i) as $mask, p.cast::<$elem>());
                    c0 = u64::from($cmpeq(v, nl).count_ones());
                }
                while n - i >= 4 * LANES {
                    let q = p.add(i);
                    c0 += u64::from($cmpeq(_mm512_load_si512(q.cast()), nl).count_ones());
                    c1 += u64::from($cmpeq(_mm512_load_si512(q.add(LANES).cast()), nl).count_ones());
                    c2 += u64::from($cmpeq(_mm512_load_si512(q.add(2 * LANES).cast()), nl).count_ones());
                    c3 += u64::from($cmpeq(_mm512_load_si512(q.add(3 * LANES).cast()), nl).count_ones());
                    i += 4 * LANES;
                }
                while n - i >= LANES {
                    c1 += u64::from($cmpeq(_mm512_load_si512(p.add(i).cast()), nl).count_ones());
                    i += LANES;
                }
                if i < n {
                    let v = $maskz_load(low_bits(n - i) as $mask, p.add(i).cast::<$elem>());
                    c2 += u64::from($cmpeq(v, nl).count_ones());
                }
            }
            c0 + c1 + c2 + c3
        }
    };
}

count_newlines_fn!(count_newlines_u8, u8, 64, u64, _mm512_maskz_loadu_epi8, _mm512_cmpeq_epi8_mask, _mm512_set1_epi8, i8);
count_newlines_fn!(count_newlines_u16, u16, 32, u32, _mm512_maskz_loadu_epi16, _mm512_cmpeq_epi16_mask, _mm512_set1_epi16, i16);
count_newlines_fn!(count_newlines_u32, u32, 16, u16, _mm512_maskz_loadu_epi32, _mm512_cmpeq_epi32_mask, _mm512_set1_epi32, i32);

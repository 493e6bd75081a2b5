//! A float64 matrix multiply for AVX-512, built the way BLIS and OpenBLAS build theirs: pack the
//! operands into cache-sized panels, then run a register-blocked micro-kernel over them.
//!
//! rawcapi hands most products to the `gemm` crate (src/kernels/matmul.rs). This file exists for
//! one regime where a kernel of our own measured faster: float64 products whose C is larger than
//! the L3 cache share. gemm reaches ~125 GFLOP/s on one core of this machine (2-vCPU Zen 5 VM,
//! AVX-512 peak 133 measured with an FMA loop) while C fits in cache, but only 110–117 at
//! n = 2048, whose 32 MiB C is the whole L3: C is read and written once per k-panel, and those
//! passes then wait on memory. With the blocking below the same 2048³ product ran at 121–124
//! (1.04–1.08× gemm interleaved in one process, and 1.07–1.11× at n = 3000); at 256³ gemm is
//! ahead (this kernel runs at 0.94× its speed), so matmul.rs only sends blocks with a C of 1024²
//! elements or more here ([`takes`]). docs/07 has the figures and the method.
//!
//! The loop nest (BLIS's five loops around the micro-kernel), with this file's constants:
//!
//! ```text
//! for jc in 0..n step NC                  a column panel of C and B
//!   for pc in 0..k step KC                a k-panel: C is read and written once per panel
//!     pack B[pc.., jc..] (KC×NC, 4 MiB)   into NR-wide micro-panels: stays in L3
//!     for ic in 0..m step MC
//!       pack A[ic.., pc..] (MC×KC, 576 KiB) into MR-tall micro-panels: stays in L2
//!       for jr in 0..NC step NR           one B micro-panel (KC×NR, 32 KiB): stays in L1
//!         for ir in 0..MC step MR         one A micro-panel streams from L2
//!           micro-kernel: a 24×8 tile of C in 24 zmm registers, KC rank-1 updates
//! ```
//!
//! Vectors run down C's columns (8 rows of one column per zmm register), so the kernel wants C's
//! row stride to be 1. rawcapi's results are row-major (column stride 1); for those, `dgemm`
//! multiplies the transposes instead, `Cᵀ = Bᵀ·Aᵀ`, which is the same memory seen the other way.
//!
//! Packing copies every operand element once per use of its panel; that is what buys the
//! micro-kernel unit-stride, aligned loads whatever the operands' strides (transposed, reversed
//! or sliced views are all packed the same way). Partial tiles at the edges (in the kernel's
//! orientation: fewer than 24 rows or 8 columns left) are computed whole on zero-padded panels
//! into a scratch tile, and only their valid part is stored into, or added to, C; so are all
//! tiles of a C with neither stride 1.
//!
//! Memory: the two packing buffers (4.6 MiB) come from the global allocator per call, like
//! gemm's, which aborts if it cannot allocate them.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::matmul::Operand;
use crate::kernels::simd::{self, Path};

/// Rows of the micro-kernel's C tile: three zmm registers of 8 doubles.
pub const MR: usize = 24;
/// Columns of the C tile: one broadcast B element each.
pub const NR: usize = 8;
/// Depth of a k-panel. A B micro-panel (KC×NR doubles, 32 KiB) stays in the 48 KiB L1 while A
/// micro-panels stream past it. Measured: 512 and 768 both ran at 121–125 GFLOP/s at n = 2048;
/// 512 is gemm's own panel depth, and matmul.rs cuts k into chunks of a multiple of 512 for its
/// interrupt checks, so each chunk is a whole number of panels.
const KC: usize = 512;
/// Rows of A packed per block: MC×KC doubles (576 KiB) stay in the 1 MiB L2. A multiple of MR.
const MC: usize = 144;
/// Columns of B packed per panel: KC×NC doubles (4 MiB) stay in L3. A multiple of NR.
const NC: usize = 1024;
/// From this many elements of C (1024², 8 MiB of float64) a block goes to this kernel. Measured
/// with examples/bench_heavy.py against NumPy, two processes each: 1024² on one thread went from
/// 1.15–1.16× (gemm) to 1.19–1.20×, and the 512×2048 blocks of a 2-thread 2048² product from
/// 0.98–1.08× to 1.09–1.22×. A 256³ product ran at 0.94× gemm's speed in this kernel, so smaller
/// blocks stay with gemm.
const MIN_C_ELEMENTS: usize = 1 << 20;
/// Nor narrower than this in either dimension: only square products were measured, and a C with
/// fewer than 24 columns (the kernel's rows, once a row-major C is transposed) would make every
/// tile a padded one.
const MIN_SIDE: usize = 256;

// The packed panels' layout relies on these: blocks are whole micro-panels, and a micro-panel of
// A (MR·kc doubles, 192·kc bytes) starts 64-byte aligned for every kc, as `_mm512_load_pd` needs.
const _: () = assert!(MC.is_multiple_of(MR) && NC.is_multiple_of(NR) && (MR * 8).is_multiple_of(64) && (NR * 8).is_multiple_of(64));

/// Whether `dgemm` should take an `m×k · k×n` product: the CPU path is AVX-512 (the process-wide
/// SIMD setting, src/kernels/simd) and C is large enough for this kernel to be the faster one.
pub fn takes(m: usize, n: usize, k: usize) -> bool {
    m.min(n) >= MIN_SIDE && k >= 64 && m.saturating_mul(n) >= MIN_C_ELEMENTS && simd::current() == Path::Avx512
}

/// One cache line of doubles: the packing buffers are made of these, so they are 64-byte aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f64; 8]);

/// An uninitialised, 64-byte aligned buffer of at least `n` doubles. Every element the kernel
/// reads is written by a packer first.
fn buffer(n: usize) -> Vec<Line> {
    Vec::with_capacity(n.div_ceil(8))
}

/// `C = A·B` (`accumulate == false`) or `C += A·B` for an m×k A, k×n B and m×n C, each given by
/// a pointer to its first element and a row and column stride in elements (any sign) — for A
/// and B, matmul.rs's `Operand`.
///
/// # Safety
/// When m, n and k are all non-zero, the CPU has AVX-512F ([`takes`] checks the process's SIMD
/// path, which only names a path the CPU supports). A and B are readable and C writable — and,
/// with `accumulate`, readable and initialised — by this call only, at every element the shapes
/// and strides describe; C does not overlap A or B.
#[allow(clippy::too_many_arguments)]
pub unsafe fn dgemm(m: usize, n: usize, k: usize, a: Operand<f64>, b: Operand<f64>, c: *mut f64, c_rs: isize, c_cs: isize, accumulate: bool) {
    if m == 0 || n == 0 {
        return;
    }
    if c_rs != 1 && c_cs == 1 {
        // A row-major C: compute Cᵀ (n×m, row stride 1) = Bᵀ·Aᵀ. Transposing is swapping strides.
        // SAFETY: the same elements, described the other way round.
        return unsafe { dgemm(n, m, k, b.transposed(), a.transposed(), c, c_cs, c_rs, accumulate) };
    }
    if k == 0 {
        if !accumulate {
            for j in 0..n as isize {
                for i in 0..m as isize {
                    // SAFETY: (i, j) is inside the m×n C described by the caller.
                    unsafe { c.offset(i * c_rs + j * c_cs).write(0.0) };
                }
            }
        }
        return;
    }
    // SAFETY: the caller's contract, including the CPU feature.
    unsafe { dgemm_avx512(m, n, k, a, b, c, c_rs, c_cs, accumulate) }
}

/// The five loops (module docs), compiled for AVX-512 so the packers' copies use it too.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn dgemm_avx512(m: usize, n: usize, k: usize, a: Operand<f64>, b: Operand<f64>, c: *mut f64, c_rs: isize, c_cs: isize, accumulate: bool) {
    // Equal k-panels no deeper than KC (gemm's rule too): 600 is two panels of 300, not 512 + 88.
    let kc = k.div_ceil(k.div_ceil(KC));
    let mut a_buf = buffer(MC * kc);
    let mut b_buf = buffer(NC.min(n.next_multiple_of(NR)) * kc);
    let (pa, pb) = (a_buf.as_mut_ptr().cast::<f64>(), b_buf.as_mut_ptr().cast::<f64>());
    // A partial tile is computed here whole, then its valid part is added to C.
    let mut tile = [Line([0.0; 8]); MR * NR / 8];
    let tile = tile.as_mut_ptr().cast::<f64>();
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(kc) {
            let kcur = kc.min(k - pc);
            // The first k-panel of a fresh C stores; every later one adds to what is there.
            let load = accumulate || pc > 0;
            // SAFETY (all pointer arithmetic below): jc + nc ≤ n, pc + kcur ≤ k, ic + mc ≤ m;
            // the packers write mc.next_multiple_of(MR)·kcur ≤ MC·kc doubles (MC is a multiple
            // of MR) and nc.next_multiple_of(NR)·kcur ≤ NC.min(n.next_multiple_of(NR))·kc (NC
            // is a multiple of NR), the buffers' capacities.
            unsafe { pack::<NR>(nc, kcur, b.ptr.offset(pc as isize * b.rs + jc as isize * b.cs), b.cs, b.rs, pb) };
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                // SAFETY: as above.
                unsafe { pack::<MR>(mc, kcur, a.ptr.offset(ic as isize * a.rs + pc as isize * a.cs), a.rs, a.cs, pa) };
                for jr in (0..nc).step_by(NR) {
                    let cols = NR.min(nc - jr);
                    for ir in (0..mc).step_by(MR) {
                        let rows = MR.min(mc - ir);
                        // SAFETY: as above; the micro-panels at ir·kcur and jr·kcur were packed.
                        unsafe {
                            let (ap, bp) = (pa.add(ir * kcur), pb.add(jr * kcur));
                            let ct = c.offset((ic + ir) as isize * c_rs + (jc + jr) as isize * c_cs);
                            if rows == MR && cols == NR && c_rs == 1 {
                                kernel_24x8(kcur, ap, bp, ct, c_cs, load);
                            } else {
                                kernel_24x8(kcur, ap, bp, tile, MR as isize, false);
                                for j in 0..cols {
                                    for i in 0..rows {
                                        let q = ct.offset(i as isize * c_rs + j as isize * c_cs);
                                        let v = *tile.add(j * MR + i);
                                        *q = if load { *q + v } else { v };
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The micro-kernel: `C[0..24, 0..8] (+)= Ap · Bp`, where `Ap` is a packed 24×kc micro-panel
/// (24 rows of one k, then the next k) and `Bp` a packed kc×8 one. Each column of the C tile
/// is contiguous (row stride 1), the columns `c_cs` apart. The 24 accumulators are zmm registers for the
/// whole loop; each step loads 3 vectors of A, broadcasts 8 elements of B and issues 24 FMAs —
/// 12 cycles on a core with two 512-bit FMA units, and 11 loads to feed them.
///
/// # Safety
/// AVX-512F; `ap` holds 24·kc doubles, `bp` 8·kc, 64-byte aligned; the 24×8 tile at `c` is
/// writable (readable too when `load`).
#[target_feature(enable = "avx512f")]
unsafe fn kernel_24x8(kc: usize, ap: *const f64, bp: *const f64, c: *mut f64, c_cs: isize, load: bool) {
    // SAFETY (whole body): the caller's contract; every load below is inside the two panels,
    // every C access inside the tile.
    unsafe {
        // C is touched only after the loop; ask for its lines now so they arrive meanwhile.
        for j in 0..NR as isize {
            let col = c.offset(j * c_cs).cast::<i8>();
            _mm_prefetch::<_MM_HINT_T0>(col);
            _mm_prefetch::<_MM_HINT_T0>(col.add(64));
            _mm_prefetch::<_MM_HINT_T0>(col.add(128));
        }
        let z = _mm512_setzero_pd();
        // Accumulator c{r}{j}: rows 8r..8r+8 of column j. Named, not an array, so that they
        // stay in registers (an array indexed in a loop was kept in memory: half speed).
        let (mut c00, mut c10, mut c20, mut c01, mut c11, mut c21) = (z, z, z, z, z, z);
        let (mut c02, mut c12, mut c22, mut c03, mut c13, mut c23) = (z, z, z, z, z, z);
        let (mut c04, mut c14, mut c24, mut c05, mut c15, mut c25) = (z, z, z, z, z, z);
        let (mut c06, mut c16, mut c26, mut c07, mut c17, mut c27) = (z, z, z, z, z, z);
        // `$m!(j, rows 0-7, rows 8-15, rows 16-23)` for each column j of the tile.
        macro_rules! each_column {
            ($m:ident) => {
                $m!(0, c00, c10, c20);
                $m!(1, c01, c11, c21);
                $m!(2, c02, c12, c22);
                $m!(3, c03, c13, c23);
                $m!(4, c04, c14, c24);
                $m!(5, c05, c15, c25);
                $m!(6, c06, c16, c26);
                $m!(7, c07, c17, c27);
            };
        }
        let (mut ap, mut bp) = (ap, bp);
        for _ in 0..kc {
            // A streams from L2: fetch the next steps' lines into L1 ahead of use.
            // (wrapping_add: near the panel's end these addresses are past it; a prefetch of
            // any address is harmless, but `add` must stay in bounds.)
            _mm_prefetch::<_MM_HINT_T0>(ap.wrapping_add(8 * MR).cast::<i8>());
            _mm_prefetch::<_MM_HINT_T0>(ap.wrapping_add(8 * MR + 8).cast::<i8>());
            _mm_prefetch::<_MM_HINT_T0>(ap.wrapping_add(8 * MR + 16).cast::<i8>());
            let a0 = _mm512_load_pd(ap);
            let a1 = _mm512_load_pd(ap.add(8));
            let a2 = _mm512_load_pd(ap.add(16));
            macro_rules! column {
                ($j:literal, $x0:ident, $x1:ident, $x2:ident) => {
                    let b = _mm512_set1_pd(*bp.add($j));
                    $x0 = _mm512_fmadd_pd(a0, b, $x0);
                    $x1 = _mm512_fmadd_pd(a1, b, $x1);
                    $x2 = _mm512_fmadd_pd(a2, b, $x2);
                };
            }
            each_column!(column);
            ap = ap.add(MR);
            bp = bp.add(NR);
        }
        // A macro rather than a closure: a closure would not share this function's AVX-512
        // target feature, and its intrinsics would become calls.
        macro_rules! store {
            ($j:literal, $x0:ident, $x1:ident, $x2:ident) => {
                let col = c.offset($j * c_cs);
                for (r, x) in [$x0, $x1, $x2].into_iter().enumerate() {
                    let q = col.add(8 * r);
                    let x = if load { _mm512_add_pd(_mm512_loadu_pd(q), x) } else { x };
                    _mm512_storeu_pd(q, x);
                }
            };
        }
        each_column!(store);
    }
}

/// Pack `len` rows of a `len`×kc operand into W-wide micro-panels: element (x, p), at
/// `src + x·x_stride + p·k_stride`, goes to `dst[(x / W)·W·kc + p·W + x % W]`; rows past `len`
/// in the last panel are zeros. A block of A is `pack::<MR>(mc, kc, a, a_rs, a_cs)` (its rows are
/// the micro-panels' rows), a panel of B `pack::<NR>(nc, kc, b, b_cs, b_rs)` (its columns are).
///
/// # Safety
/// AVX-512F; every element (x < len, p < kc) is readable; `dst` holds `len.next_multiple_of(W)·kc`
/// doubles.
#[target_feature(enable = "avx512f")]
unsafe fn pack<const W: usize>(len: usize, kc: usize, src: *const f64, x_stride: isize, k_stride: isize, dst: *mut f64) {
    let full = len / W * W;
    // SAFETY (whole body): every read is an element (x < len, p < kc) of the operand, every
    // write inside the panels the caller sized.
    unsafe {
        if x_stride == 1 {
            // Each k's W elements are contiguous: copy them in runs, in memory order.
            for p in 0..kc {
                let s = src.offset(p as isize * k_stride);
                for x0 in (0..full).step_by(W) {
                    std::ptr::copy_nonoverlapping(s.add(x0), dst.add(x0 * kc + p * W), W);
                }
            }
        } else if k_stride == 1 {
            // Each row is contiguous along k: transpose 8 rows × 8 k at a time (W is a multiple
            // of 8, checked at compile time above).
            for x0 in (0..full).step_by(W) {
                for r0 in (0..W).step_by(8) {
                    let rows: [*const f64; 8] = core::array::from_fn(|r| src.offset((x0 + r0 + r) as isize * x_stride));
                    transpose_into(kc, rows, dst.add(x0 * kc + r0), W);
                }
            }
        } else {
            for x0 in (0..full).step_by(W) {
                for p in 0..kc {
                    for r in 0..W {
                        *dst.add(x0 * kc + p * W + r) = *src.offset((x0 + r) as isize * x_stride + p as isize * k_stride);
                    }
                }
            }
        }
        if full < len {
            for p in 0..kc {
                for r in 0..W {
                    let x = full + r;
                    *dst.add(full * kc + p * W + r) = if x < len { *src.offset(x as isize * x_stride + p as isize * k_stride) } else { 0.0 };
                }
            }
        }
    }
}

/// `dst[p·ld + r] = src[r][p]` for r < 8, p < kc: eight contiguous runs transposed into an
/// 8-wide column of a packed panel whose k-steps are `ld` doubles apart. Eight zmm loads, a
/// 3-stage shuffle network (pairs, 128-bit lanes, 256-bit halves), eight stores per 8×8 block.
///
/// # Safety
/// AVX-512F; each `src[r]` has kc readable doubles; `dst` has `(kc - 1)·ld + 8` writable ones.
#[target_feature(enable = "avx512f")]
unsafe fn transpose_into(kc: usize, src: [*const f64; 8], dst: *mut f64, ld: usize) {
    // SAFETY (whole body): reads src[r][p] for p < kc, writes dst[p·ld + r] for p < kc, r < 8.
    unsafe {
        let mut p = 0;
        while p + 8 <= kc {
            let r: [__m512d; 8] = core::array::from_fn(|i| _mm512_loadu_pd(src[i].add(p)));
            // Stage 1: interleave pairs of rows (elements 0,2,4,6 / 1,3,5,7).
            let t0 = _mm512_unpacklo_pd(r[0], r[1]);
            let t1 = _mm512_unpackhi_pd(r[0], r[1]);
            let t2 = _mm512_unpacklo_pd(r[2], r[3]);
            let t3 = _mm512_unpackhi_pd(r[2], r[3]);
            let t4 = _mm512_unpacklo_pd(r[4], r[5]);
            let t5 = _mm512_unpackhi_pd(r[4], r[5]);
            let t6 = _mm512_unpacklo_pd(r[6], r[7]);
            let t7 = _mm512_unpackhi_pd(r[6], r[7]);
            // Stage 2: gather 128-bit lanes 0,2 / 1,3 of two pair-rows.
            let u0 = _mm512_shuffle_f64x2::<0x88>(t0, t2);
            let u1 = _mm512_shuffle_f64x2::<0x88>(t1, t3);
            let u2 = _mm512_shuffle_f64x2::<0xdd>(t0, t2);
            let u3 = _mm512_shuffle_f64x2::<0xdd>(t1, t3);
            let u4 = _mm512_shuffle_f64x2::<0x88>(t4, t6);
            let u5 = _mm512_shuffle_f64x2::<0x88>(t5, t7);
            let u6 = _mm512_shuffle_f64x2::<0xdd>(t4, t6);
            let u7 = _mm512_shuffle_f64x2::<0xdd>(t5, t7);
            // Stage 3: combine the halves: output row q holds element p + q of all 8 sources.
            let out = [
                _mm512_shuffle_f64x2::<0x88>(u0, u4),
                _mm512_shuffle_f64x2::<0x88>(u1, u5),
                _mm512_shuffle_f64x2::<0x88>(u2, u6),
                _mm512_shuffle_f64x2::<0x88>(u3, u7),
                _mm512_shuffle_f64x2::<0xdd>(u0, u4),
                _mm512_shuffle_f64x2::<0xdd>(u1, u5),
                _mm512_shuffle_f64x2::<0xdd>(u2, u6),
                _mm512_shuffle_f64x2::<0xdd>(u3, u7),
            ];
            for (q, v) in out.into_iter().enumerate() {
                _mm512_storeu_pd(dst.add((p + q) * ld), v);
            }
            p += 8;
        }
        while p < kc {
            for (r, s) in src.iter().enumerate() {
                *dst.add(p * ld + r) = *s.add(p);
            }
            p += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    /// Every stride pattern of A, B and C (row-major, column-major, reversed rows, a strided
    /// slice) on shapes with ragged edges, more than one A block (m > 144), more than one
    /// k-panel (k > 512) and more than one column panel (n > 1024), against a naive triple loop;
    /// `accumulate` adding to what C held; nothing outside C written. Each A and B layout pair
    /// meets one C layout (16 calls per shape, not 64: this test also runs unoptimised under
    /// AddressSanitizer).
    #[test]
    fn matches_naive_on_every_layout() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        let mut seed = 7;
        for &(m, n, k) in &[(1, 1, 1), (25, 9, 7), (24, 8, 512), (301, 70, 300), (64, 300, 1100), (50, 1040, 600)] {
            let av: Vec<f64> = (0..m * k).map(|_| lcg(&mut seed)).collect(); // A[i][p] = av[i*k + p]
            let bv: Vec<f64> = (0..k * n).map(|_| lcg(&mut seed)).collect(); // B[p][j] = bv[p*n + j]
            let product: Vec<f64> = (0..m * n).map(|ij| (0..k).map(|p| av[ij / n * k + p] * bv[p * n + ij % n]).sum()).collect();
            // (offset, row stride, column stride) of an r×c matrix inside a buffer of 3·r·c.
            let layouts = |r: usize, c: usize| -> [(isize, isize, isize); 4] {
                let (r, c) = (r as isize, c as isize);
                [(0, c, 1), (0, 1, r), ((r - 1) * c, -c, 1), (0, 2 * c, 2)]
            };
            let at = |(o, rs, cs): (isize, isize, isize), i: usize, j: usize| (o + i as isize * rs + j as isize * cs) as usize;
            for (ai, &la) in layouts(m, k).iter().enumerate() {
                for (bi, &lb) in layouts(k, n).iter().enumerate() {
                    let (ci, accumulate) = ((ai + bi) % 4, ai >= 2);
                    let lc = layouts(m, n)[ci];
                    let (mut a, mut b) = (vec![f64::NAN; 3 * m * k], vec![f64::NAN; 3 * k * n]);
                    for i in 0..m {
                        for p in 0..k {
                            a[at(la, i, p)] = av[i * k + p];
                        }
                    }
                    for p in 0..k {
                        for j in 0..n {
                            b[at(lb, p, j)] = bv[p * n + j];
                        }
                    }
                    let mut c: Vec<f64> = (0..3 * m * n).map(|x| if accumulate { x as f64 * 0.25 } else { f64::NAN }).collect();
                    let before = c.clone();
                    // SAFETY: every layout stays inside its 3·r·c buffer (the writes above index
                    // the Vecs with the same offsets); C is its own Vec; the test returned above
                    // on a CPU without AVX-512F.
                    unsafe {
                        dgemm(
                            m,
                            n,
                            k,
                            Operand { ptr: a.as_ptr().offset(la.0), rs: la.1, cs: la.2 },
                            Operand { ptr: b.as_ptr().offset(lb.0), rs: lb.1, cs: lb.2 },
                            c.as_mut_ptr().offset(lc.0),
                            lc.1,
                            lc.2,
                            accumulate,
                        )
                    };
                    let (mut err, mut norm) = (0.0f64, 0.0f64);
                    let mut in_view = vec![false; c.len()];
                    for i in 0..m {
                        for j in 0..n {
                            let idx = at(lc, i, j);
                            in_view[idx] = true;
                            let want = product[i * n + j] + if accumulate { before[idx] } else { 0.0 };
                            err += (c[idx] - want).powi(2);
                            norm += want * want;
                        }
                    }
                    // Nothing outside the view was written (an edge tile's overflow would land
                    // there: out of bounds on a real array).
                    for (idx, (x, y)) in c.iter().zip(&before).enumerate() {
                        assert!(in_view[idx] || x.to_bits() == y.to_bits(), "{m}x{n}x{k} c{ci}: wrote outside C at {idx}");
                    }
                    let rel = (err / norm.max(1e-300)).sqrt();
                    assert!(rel < 1e-13, "{m}x{n}x{k} layouts a{ai} b{bi} c{ci} acc={accumulate}: {rel:e}");
                }
            }
        }
    }

    /// An operand that is never read (k = 0).
    const NOWHERE: Operand<f64> = Operand { ptr: std::ptr::null(), rs: 0, cs: 0 };

    #[test]
    fn empty_k_zeroes_or_keeps_c() {
        let mut c = vec![5.0; 6];
        // SAFETY: k = 0 reads nothing from A or B and returns before any AVX-512 code; C is
        // a 2×3 row-major Vec.
        unsafe { dgemm(2, 3, 0, NOWHERE, NOWHERE, c.as_mut_ptr(), 3, 1, true) };
        assert_eq!(c, vec![5.0; 6]);
        // SAFETY: as above.
        unsafe { dgemm(2, 3, 0, NOWHERE, NOWHERE, c.as_mut_ptr(), 3, 1, false) };
        assert_eq!(c, vec![0.0; 6]);
    }

    #[test]
    fn takes_only_large_products() {
        assert!(!takes(256, 256, 256));
        assert!(!takes(1000, 1000, 1000));
        assert!(!takes(4096, 4096, 8));
        assert!(!takes(1 << 20, 16, 512)); // a C of 2^24 elements, but 16 wide
        assert_eq!(takes(2048, 2048, 2048), simd::current() == Path::Avx512);
        // tests/test_matmul.py's large products must reach this kernel (both of their k-chunks).
        assert_eq!(takes(1031, 1049, 1024) && takes(1031, 1049, 76), simd::current() == Path::Avx512);
    }
}

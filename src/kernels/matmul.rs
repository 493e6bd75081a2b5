//! Matrix multiply `C = A·B` over strided operands, batched, split over threads.
//!
//! Floating types (f32, f64, complex128) go to the `gemm` crate — faer's BLAS-like kernel, which
//! takes a row and a column stride per operand (in elements, either sign), so transposed,
//! reversed and sliced operands are multiplied in place, without a copy. It picks its AVX-512,
//! AVX2 or scalar micro-kernel at run time — except float64 blocks with a C of 1024² elements or
//! more on the AVX-512 path, which go to rawcapi's own kernel (src/kernels/dgemm.rs;
//! `dgemm::takes` decides). Integer and bool types are computed exactly in their own dtype
//! (wrapping on overflow, as NumPy does) by a plain loop.
//!
//! How the work is cut:
//! - *between threads*: each batch item's C is split into row blocks, and into column blocks too
//!   when there are too few rows to go round (a 64×4096 · 4096×4096 product); the blocks are tasks
//!   pulled from a shared counter by `threads` threads (src/kernels/tasks.rs);
//! - *within a task, for interrupt checks*: the inner dimension k is cut into chunks and the
//!   chunks accumulate into C (`C += A[:, kc]·B[kc, :]`). Cutting k instead of rows costs no extra
//!   packing: gemm packs A and B per k-panel anyway, and each chunk packs only its own panel, so a
//!   1-thread 2048³ product makes the same packing passes as one call — while the calling thread
//!   gets a `poll()` every 2–4·10⁹ flops (20–50 ms), which the glue turns into a signal check.
//!
//! Memory: gemm, and dgemm (4.6 MiB per call), allocate their packing buffers (cache-sized, a few
//! MB at most) with the global allocator, which aborts on failure; everything sized by the operands (the result, cast copies,
//! the batch index) is allocated fallibly by the glue, which raises MemoryError.
//!
//! A stopped multiply leaves C partly computed. The glue only ever hands this kernel a fresh C
//! that it discards on a stop (out= is filled by a copy after success), so no partial result is
//! ever visible from Python.

use gemm::Parallelism;

use super::array::element::{Bool, Element, C128};
use super::tasks::{run_tasks, Stopped};

/// One matrix operand: its first element and its row and column strides, in elements.
#[derive(Clone, Copy, Debug)]
pub struct Operand<T> {
    pub ptr: *const T,
    pub rs: isize,
    pub cs: isize,
}

impl<T> Operand<T> {
    /// The transpose: the same elements with the two strides swapped.
    pub fn transposed(self) -> Self {
        Operand { rs: self.cs, cs: self.rs, ..self }
    }
}

/// `C[b] = A[b] · B[b]` for every batch item `b`. `A` is m×k, `B` is k×n, `C` is m×n.
#[derive(Clone, Copy, Debug)]
pub struct Product<'a, T> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: Operand<T>,
    pub b: Operand<T>,
    pub c: *mut T,
    pub c_rs: isize,
    pub c_cs: isize,
    /// For each batch item, the element offsets of its A, B and C from the pointers above
    /// (broadcast batch dimensions repeat an offset). At least one item.
    pub batch: &'a [[isize; 3]],
}

// SAFETY: a `Product` is a description of memory; `matmul`'s caller promises that A and B are
// readable and C writable (by this call only) from any thread for the whole call.
unsafe impl<T> Send for Product<'_, T> {}
// SAFETY: as above; tasks write disjoint blocks of C.
unsafe impl<T> Sync for Product<'_, T> {}

/// Below this many multiply-adds per thread the product runs on fewer threads: 2^25 is ~0.5 ms
/// of one core's work. Spawning and placing a helper costs ~50 µs and it then needs time to
/// reach full speed; measured with examples/bench_heavy.py, a 256³ product (2^24) took 0.27 ms
/// on one thread and 0.36 ms split over two, so it stays on one; 512³ (2^27) splits.
const MIN_MADDS_PER_THREAD: usize = 1 << 25;
/// gemm's k-panel for f64 on AVX-512 and AVX2 machines (`kernel_params`: at least 512).
const K_PANEL: usize = 512;
/// From this many multiply-adds per thread (~4 ms of one core's work) a helper is moved off
/// the caller's CPU when it starts (parallel::start_away_from): the move costs ~0.1 ms, sharing
/// a CPU for a whole product costs half its speed.
const PLACE_MADDS_PER_THREAD: usize = 1 << 28;
/// Row or column blocks are not cut thinner than this (gemm's packing wants whole panels).
const MIN_BLOCK: usize = 64;

/// An element type with a block multiply `C[block] (+)= A[rows, kc] · B[kc, cols]`.
pub trait MatmulElem: Element {
    /// Multiply-adds between two polls: ~20 ms of work for this type's kernel.
    const POLL_MADDS: usize;
    /// What one k step of a block costs beyond its rows·cols multiply-adds, counted in this
    /// kernel's multiply-adds at full speed: loop and packing overhead paid per k step whatever
    /// the block's size. It is what bounds a chunk of a thin product (m = n = 1: a dot product
    /// of k terms), where rows·cols alone would allow POLL_MADDS k steps — seconds of work.
    const K_STEP_MADDS: usize;
    /// k-chunks are a multiple of this: gemm's k-panel for the gemm types (a thinner chunk makes
    /// gemm store C more often), 1 for the plain loops, which have no panels — rounding their
    /// chunks up to 512 made a 5000² int64 product poll only every ~3 s.
    const K_GRAIN: usize = K_PANEL;

    /// # Safety
    /// The pointers and strides describe an m×k A, k×n B and m×n C, A/B readable and C writable
    /// by this call only. `accumulate = false` overwrites C without reading it; `accumulate =
    /// true` adds to it, so C must then be readable and initialised.
    #[allow(clippy::too_many_arguments)]
    unsafe fn block(m: usize, n: usize, k: usize, c: *mut Self, c_rs: isize, c_cs: isize, accumulate: bool, a: Operand<Self>, b: Operand<Self>);
}

macro_rules! gemm_elem {
    ($t:ty, $one:expr $(, own: $own:path)? $(, then: $then:path)?) => {
        impl MatmulElem for $t {
            const POLL_MADDS: usize = 1 << 30;
            // Measured (1 thread, float64): a 64×64 block runs at ~0.05 ns per multiply-add,
            // a 1×1, 2×2 or 8×8 one at 5–9 ns per k step — ~500 multiply-adds' worth.
            const K_STEP_MADDS: usize = 512;
            unsafe fn block(m: usize, n: usize, k: usize, c: *mut Self, c_rs: isize, c_cs: isize, accumulate: bool, a: Operand<Self>, b: Operand<Self>) {
                // A type with a kernel of rawcapi's own (float64: dgemm.rs says why) sends the
                // products that kernel takes there, the rest to gemm.
                $(
                    #[cfg(target_arch = "x86_64")]
                    if super::dgemm::takes(m, n, k) {
                        // SAFETY: the caller's contract is dgemm's; `takes` checked the CPU path.
                        unsafe { $own(m, n, k, a, b, c, c_rs, c_cs, accumulate) };
                        return;
                    }
                )?
                // SAFETY: the caller's contract is gemm's: valid m×k, k×n, m×n matrices with
                // the given strides, C written by no one else. gemm computes
                // dst = alpha·dst + beta·lhs·rhs, reading dst only when `read_dst`.
                unsafe {
                    gemm::gemm(
                        m, n, k, c, c_cs, c_rs, accumulate, a.ptr, a.cs, a.rs, b.ptr, b.cs, b.rs, $one, $one, false, false, false,
                        Parallelism::None,
                    )
                }
                $(
                    // Only the first k-chunk: a later one adds to C (dst + beta·acc), and
                    // +0 + (−0) is +0 already.
                    if !accumulate {
                        // SAFETY: the m×n C block gemm has just written (the caller's contract).
                        unsafe { $then(m, n, c, c_rs, c_cs) };
                    }
                )?
            }
        }
    };
}
gemm_elem!(f32, 1.0f32);
gemm_elem!(f64, 1.0f64, own: super::dgemm::dgemm);
gemm_elem!(C128, C128::new(1.0, 0.0), then: positive_zero);

/// Turn each −0 in the m×n block at `c` into +0 (both parts), leaving every other value as it is.
///
/// gemm's complex kernel (gemm-common's microkernel, `conj_lhs = conj_rhs = false`) sums
/// −conj(a·b) in its accumulators, from +0, and negates their real parts at the end: a real part
/// that sums to +0 (zeros @ zeros, or any exact cancellation) comes out −0. A sum that starts
/// from 0 and adds products, as NumPy's loop and BLAS's zgemm do, cannot end at −0 in
/// round-to-nearest (+0 + (−0) = +0). Adding +0.0 is exactly that correction: x + 0 = x for
/// every x but −0 (IEEE 754), and NaN stays NaN.
///
/// # Safety
/// `c` with strides `c_rs`, `c_cs` (elements) addresses an m×n block of initialised elements
/// that this call alone reads and writes.
unsafe fn positive_zero(m: usize, n: usize, c: *mut C128, c_rs: isize, c_cs: isize) {
    for i in 0..m as isize {
        for j in 0..n as isize {
            // SAFETY: (i, j) is inside the block (the caller's contract).
            let z = unsafe { &mut *c.offset(i * c_rs + j * c_cs) };
            z.re += 0.0;
            z.im += 0.0;
        }
    }
}

macro_rules! exact_elem {
    ($t:ty, |$acc:ident, $x:ident, $y:ident| $madd:expr) => {
        impl MatmulElem for $t {
            // The plain loop does ~1 multiply-add per ns: poll 32× more often than gemm.
            const POLL_MADDS: usize = 1 << 25;
            const K_GRAIN: usize = 1;
            // Measured (int64): ~1.3 ns per multiply-add, 3.4 ns per k step of a 1×1 block.
            const K_STEP_MADDS: usize = 4;
            unsafe fn block(m: usize, n: usize, k: usize, c: *mut Self, c_rs: isize, c_cs: isize, accumulate: bool, a: Operand<Self>, b: Operand<Self>) {
                // Row of C by row of B (i, p, j order): B and C are walked along their rows.
                // SAFETY: every offset stays inside the m×k, k×n and m×n matrices described.
                unsafe {
                    for i in 0..m as isize {
                        let crow = c.offset(i * c_rs);
                        if !accumulate {
                            for j in 0..n as isize {
                                crow.offset(j * c_cs).write(<$t>::default());
                            }
                        }
                        for p in 0..k as isize {
                            let $x = a.ptr.offset(i * a.rs + p * a.cs).read();
                            let brow = b.ptr.offset(p * b.rs);
                            if c_cs == 1 && b.cs == 1 {
                                // Unit strides: the same loop, in a form LLVM vectorises (with
                                // a run-time check that C and B do not overlap).
                                for j in 0..n {
                                    let $acc = crow.add(j);
                                    let $y = brow.add(j).read();
                                    $acc.write($madd);
                                }
                            } else {
                                for j in 0..n as isize {
                                    let $acc = crow.offset(j * c_cs);
                                    let $y = brow.offset(j * b.cs).read();
                                    $acc.write($madd);
                                }
                            }
                        }
                    }
                }
            }
        }
    };
}
exact_elem!(u8, |acc, x, y| acc.read().wrapping_add(x.wrapping_mul(y)));
exact_elem!(i32, |acc, x, y| acc.read().wrapping_add(x.wrapping_mul(y)));
exact_elem!(i64, |acc, x, y| acc.read().wrapping_add(x.wrapping_mul(y)));
// NumPy's bool matmul: OR of ANDs.
exact_elem!(Bool, |acc, x, y| Bool(acc.read().0 | ((x.0 != 0) & (y.0 != 0)) as u8));

/// How `matmul` cuts the work: row blocks × column blocks per batch item, and k chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub threads: usize,
    pub row_block: usize,
    pub col_block: usize,
    pub k_chunk: usize,
}

/// Choose the threads and blocks for a batch of `batch` m×k·k×n products on up to `threads`.
/// `poll_madds`: multiply-adds per k-chunk (the type's `POLL_MADDS`), with gemm's per-k-step cost.
pub fn plan(batch: usize, m: usize, n: usize, k: usize, threads: usize, poll_madds: usize) -> Plan {
    plan_with_grain(batch, m, n, k, threads, poll_madds, K_PANEL, <f64 as MatmulElem>::K_STEP_MADDS)
}

/// [`plan`] with k-chunks a multiple of `k_grain` (the element type's `K_GRAIN`) and a k step
/// costing `k_step_madds` multiply-adds on top of its block's (the type's `K_STEP_MADDS`).
#[allow(clippy::too_many_arguments)]
pub fn plan_with_grain(batch: usize, m: usize, n: usize, k: usize, threads: usize, poll_madds: usize, k_grain: usize, k_step_madds: usize) -> Plan {
    let item = m.saturating_mul(n).saturating_mul(k);
    let total = item.saturating_mul(batch);
    let threads = threads.max(1).min(total / MIN_MADDS_PER_THREAD + 1);
    // Blocks per batch item: enough for every thread to have one (two when there are a few
    // items, so uneven items balance), none when the batch alone keeps the threads busy.
    let want = if threads == 1 || batch >= 4 * threads { 1 } else { (2 * threads).div_ceil(batch) };
    let rows_can = m.div_ceil(MIN_BLOCK).max(1);
    let row_blocks = want.min(rows_can);
    let col_blocks = want.div_ceil(row_blocks).min(n.div_ceil(MIN_BLOCK).max(1));
    let row_block = m.div_ceil(row_blocks).max(1);
    let col_block = n.div_ceil(col_blocks).max(1);
    // The cost of one k step of a block, so that a chunk is ~poll_madds of work whatever the
    // block's shape: rows·cols multiply-adds, plus the per-step overhead that dominates thin blocks.
    let k_step = row_block.saturating_mul(col_block).saturating_add(k_step_madds).max(1);
    // A whole number of gemm's own k-panels (it takes kc >= 512 when k allows): a thinner chunk
    // would make gemm use shorter panels and store C more often.
    let k_chunk = (poll_madds / k_step).max(1).next_multiple_of(k_grain.max(1)).min(k.max(1));
    Plan { threads, row_block, col_block, k_chunk }
}

/// Compute every `C[b] = A[b]·B[b]` of `p` on up to `threads` threads. `check` runs on the
/// calling thread between blocks; when it returns `false` the work stops and `Err(Stopped)`
/// is returned with C incomplete.
///
/// # Safety
/// A and B are readable, and C writable by this call only, for every batch item, from any
/// thread, for the whole call; the C blocks of different (item, row, column) do not overlap.
pub unsafe fn matmul<T: MatmulElem>(p: &Product<T>, threads: usize, check: &mut dyn FnMut() -> bool) -> Result<(), Stopped> {
    // SAFETY: the caller's contract.
    unsafe { matmul_planned(p, plan_with_grain(p.batch.len(), p.m, p.n, p.k, threads, T::POLL_MADDS, T::K_GRAIN, T::K_STEP_MADDS), check) }
}

/// [`matmul`] with the cuts chosen by the caller.
///
/// # Safety
/// As for [`matmul`].
pub unsafe fn matmul_planned<T: MatmulElem>(p: &Product<T>, plan: Plan, check: &mut dyn FnMut() -> bool) -> Result<(), Stopped> {
    if p.m == 0 || p.n == 0 || p.batch.is_empty() {
        return Ok(());
    }
    let row_blocks = p.m.div_ceil(plan.row_block);
    let col_blocks = p.n.div_ceil(plan.col_block);
    let per_item = row_blocks * col_blocks;
    let ntasks = p.batch.len() * per_item;
    // Each thread's share of a split product is about MIN_MADDS_PER_THREAD or more; from ~4 ms of
    // work each (2^28 multiply-adds) a helper is moved off the caller's CPU at once.
    let per_thread = p.m.saturating_mul(p.n).saturating_mul(p.k).saturating_mul(p.batch.len()) / plan.threads.max(1);
    let place = per_thread >= PLACE_MADDS_PER_THREAD;
    run_tasks(ntasks, plan.threads, place, check, |t, poll| {
        let [ao, bo, co] = p.batch[t / per_item];
        let (rb, cb) = ((t % per_item) / col_blocks, t % col_blocks);
        let (r0, c0) = (rb * plan.row_block, cb * plan.col_block);
        let rows = plan.row_block.min(p.m - r0);
        let cols = plan.col_block.min(p.n - c0);
        // SAFETY (all offsets below): r0+rows ≤ m, c0+cols ≤ n, k0+kc ≤ k, so each pointer
        // is an element of the matrix the caller described.
        let c = unsafe { p.c.offset(co + r0 as isize * p.c_rs + c0 as isize * p.c_cs) };
        if p.k == 0 {
            // An empty sum: zeros (gemm needs no special case, but the loops would skip C).
            // SAFETY: C block valid; k = 0 reads nothing from A or B.
            unsafe { T::block(rows, cols, 0, c, p.c_rs, p.c_cs, false, p.a, p.b) };
            return true;
        }
        let mut k0 = 0;
        while k0 < p.k {
            let kc = plan.k_chunk.min(p.k - k0);
            // SAFETY: see above.
            let a = Operand { ptr: unsafe { p.a.ptr.offset(ao + r0 as isize * p.a.rs + k0 as isize * p.a.cs) }, ..p.a };
            let b = Operand { ptr: unsafe { p.b.ptr.offset(bo + k0 as isize * p.b.rs + c0 as isize * p.b.cs) }, ..p.b };
            // SAFETY: the caller's contract, restricted to this block and chunk.
            unsafe { T::block(rows, cols, kc, c, p.c_rs, p.c_cs, k0 > 0, a, b) };
            k0 += kc;
            if k0 < p.k && !poll() {
                return false;
            }
        }
        poll()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::tasks::never_stop;

    /// A tiny deterministic generator (no rand dependency).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        }
    }

    fn naive<T: Copy + Default + std::ops::Add<Output = T> + std::ops::Mul<Output = T>>(
        m: usize,
        n: usize,
        k: usize,
        a: impl Fn(usize, usize) -> T,
        b: impl Fn(usize, usize) -> T,
    ) -> Vec<T> {
        let mut c = vec![T::default(); m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = T::default();
                for p in 0..k {
                    s = s + a(i, p) * b(p, j);
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    fn rel_err(x: &[f64], y: &[f64]) -> f64 {
        let num: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
        let den: f64 = y.iter().map(|b| b * b).sum();
        (num / den.max(1e-300)).sqrt()
    }

    #[test]
    fn f64_layouts_and_threads() {
        let mut g = Lcg(1);
        for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (130, 70, 300), (64, 300, 9), (0, 4, 4), (4, 4, 0), (257, 129, 513)] {
            // A stored transposed (k×m, read with swapped strides); B stored with a reversed row order.
            let at: Vec<f64> = (0..m * k).map(|_| g.next()).collect();
            let bs: Vec<f64> = (0..k * n).map(|_| g.next()).collect();
            let a_at = |i: usize, p: usize| at[p * m + i];
            let b_at = |p: usize, j: usize| bs[(k - 1 - p) * n + j];
            let want = naive(m, n, k, a_at, b_at);
            for threads in [1, 2, 3] {
                let mut c = vec![f64::NAN; m * n];
                let prod = Product {
                    m,
                    n,
                    k,
                    a: Operand { ptr: at.as_ptr(), rs: 1, cs: m as isize },
                    b: Operand {
                        ptr: bs.as_ptr().wrapping_add(k.saturating_sub(1) * n),
                        rs: -(n as isize),
                        cs: 1,
                    },
                    c: c.as_mut_ptr(),
                    c_rs: n as isize,
                    c_cs: 1,
                    batch: &[[0, 0, 0]],
                };
                // SAFETY: must hold: A reads at[p*m + i] (i < m, p < k), inside the m*k of `at`;
                // B reads (k-1)*n - p*n + j from bs's start (p < k, j < n), inside the k*n of
                // `bs`; C writes i*n + j of the fresh m*n Vec `c`, one batch item, no overlap,
                // no other access during the call; the workers only read `at`/`bs`. B's pointer is
                // derived from the whole `bs` (a subslice's would not cover the earlier rows).
                // m == 0 or n == 0 returns before touching memory.
                unsafe { matmul(&prod, threads, &mut never_stop) }.unwrap();
                assert!(rel_err(&c, &want) < 1e-13 || (want.iter().all(|&w| w == 0.0) && c.iter().all(|&x| x == 0.0)), "{m} {n} {k} {threads}");
            }
        }
    }

    #[test]
    fn complex_and_batched() {
        let mut g = Lcg(7);
        let (batch, m, n, k) = (3, 17, 9, 33);
        let a: Vec<C128> = (0..batch * m * k).map(|_| C128::new(g.next(), g.next())).collect();
        let b: Vec<C128> = (0..k * n).map(|_| C128::new(g.next(), g.next())).collect(); // broadcast
        let mut c = vec![C128::default(); batch * m * n];
        let offsets: Vec<[isize; 3]> = (0..batch).map(|i| [(i * m * k) as isize, 0, (i * m * n) as isize]).collect();
        let prod = Product {
            m,
            n,
            k,
            a: Operand { ptr: a.as_ptr(), rs: k as isize, cs: 1 },
            b: Operand { ptr: b.as_ptr(), rs: n as isize, cs: 1 },
            c: c.as_mut_ptr(),
            c_rs: n as isize,
            c_cs: 1,
            batch: &offsets,
        };
        // SAFETY: item i reads A at i*m*k + r*k + p (r < m, p < k) inside `a` (batch*m*k), B at
        // p*n + j inside `b` (k*n, shared by every item, read only), and writes C at i*m*n +
        // r*n + j inside `c` (batch*m*n): the items' C blocks are disjoint. `c` is fresh and not
        // otherwise accessed until the call returns; all three Vecs outlive it.
        unsafe { matmul(&prod, 2, &mut never_stop) }.unwrap();
        for i in 0..batch {
            let want = naive(m, n, k, |r, p| a[i * m * k + r * k + p], |p, j| b[p * n + j]);
            let got = &c[i * m * n..(i + 1) * m * n];
            let flat = |v: &[C128]| v.iter().flat_map(|z| [z.re, z.im]).collect::<Vec<_>>();
            assert!(rel_err(&flat(got), &flat(&want)) < 1e-13);
        }
    }

    /// A sum of products that starts from 0 never ends at −0: complex zeros of every size (and
    /// k = 0, and a k split into chunks) give +0 in both parts, as NumPy does.
    #[test]
    fn complex_zero_sums_are_positive_zero() {
        for (m, n, k) in [(1, 1, 1), (8, 8, 8), (64, 64, 64), (65, 3, 1200), (5, 7, 0)] {
            let a = vec![C128::new(0.0, 0.0); m * k];
            // −0 in B: every product's parts are ±0, each sum exactly 0.
            let b = vec![C128::new(-0.0, 0.0); k * n];
            let mut c = vec![C128::new(1.0, 1.0); m * n];
            let offsets = [[0isize; 3]];
            let prod = Product {
                m,
                n,
                k,
                a: Operand { ptr: a.as_ptr(), rs: k as isize, cs: 1 },
                b: Operand { ptr: b.as_ptr(), rs: n as isize, cs: 1 },
                c: c.as_mut_ptr(),
                c_rs: n as isize,
                c_cs: 1,
                batch: &offsets,
            };
            // SAFETY: A is m×k, B k×n, C m×n, each contiguous in its Vec, which outlives the call;
            // `c` is not otherwise accessed until it returns.
            unsafe { matmul(&prod, 2, &mut never_stop) }.unwrap();
            for z in &c {
                assert!(z.re == 0.0 && z.re.is_sign_positive() && z.im == 0.0 && z.im.is_sign_positive(), "{m}×{n}×{k}: {z:?}");
            }
        }
    }

    #[test]
    fn integers_wrap_exactly() {
        let a: Vec<u8> = (0..12).map(|i| (i * 37 % 256) as u8).collect(); // 3×4
        let b: Vec<u8> = (0..8).map(|i| (200 + i) as u8).collect(); // 4×2
        let mut c = vec![0u8; 6];
        let prod = Product {
            m: 3,
            n: 2,
            k: 4,
            a: Operand { ptr: a.as_ptr(), rs: 4, cs: 1 },
            b: Operand { ptr: b.as_ptr(), rs: 2, cs: 1 },
            c: c.as_mut_ptr(),
            c_rs: 2,
            c_cs: 1,
            batch: &[[0, 0, 0]],
        };
        // SAFETY: row-major 3x4 A, 4x2 B and 3x2 C are exactly the 12, 8 and 6 u8 of `a`, `b`,
        // `c`; `c` is separate from both inputs and only this call touches it.
        unsafe { matmul(&prod, 1, &mut never_stop) }.unwrap();
        let want: Vec<u8> = naive(3, 2, 4, |i, p| a[i * 4 + p] as u64, |p, j| b[p * 2 + j] as u64).iter().map(|&x| x as u8).collect();
        assert_eq!(c, want);

        let a: Vec<i64> = vec![i64::MAX, 2, 3, -4];
        let mut c = vec![0i64; 4];
        let prod = Product {
            m: 2,
            n: 2,
            k: 2,
            a: Operand { ptr: a.as_ptr(), rs: 2, cs: 1 },
            b: Operand { ptr: a.as_ptr(), rs: 2, cs: 1 },
            c: c.as_mut_ptr(),
            c_rs: 2,
            c_cs: 1,
            batch: &[[0, 0, 0]],
        };
        // SAFETY: A and B are both the 2x2 row-major `a` (4 i64, only read, so sharing is
        // fine); C is the 4 i64 of the separate Vec `c`, touched by nothing else.
        unsafe { matmul(&prod, 1, &mut never_stop) }.unwrap();
        let w = |x: i64, y: i64, z: i64, t: i64| x.wrapping_mul(y).wrapping_add(z.wrapping_mul(t));
        assert_eq!(c, [w(i64::MAX, i64::MAX, 2, 3), w(i64::MAX, 2, 2, -4), w(3, i64::MAX, -4, 3), w(3, 2, -4, -4)]);
    }

    #[test]
    fn bool_is_or_of_ands() {
        let a = [Bool(1), Bool(0), Bool(0), Bool(0)]; // 2×2
        let b = [Bool(0), Bool(1), Bool(1), Bool(1)];
        let mut c = [Bool(7); 4];
        let prod = Product {
            m: 2,
            n: 2,
            k: 2,
            a: Operand { ptr: a.as_ptr(), rs: 2, cs: 1 },
            b: Operand { ptr: b.as_ptr(), rs: 2, cs: 1 },
            c: c.as_mut_ptr(),
            c_rs: 2,
            c_cs: 1,
            batch: &[[0, 0, 0]],
        };
        // SAFETY: 2x2 row-major A, B, C are exactly the local arrays `a`, `b` (read) and `c`
        // (written, separate, untouched until the call returns).
        unsafe { matmul(&prod, 1, &mut never_stop) }.unwrap();
        assert_eq!(c, [Bool(0), Bool(1), Bool(0), Bool(0)]);
    }

    #[test]
    fn k_chunks_accumulate_and_stop() {
        let (m, n, k) = (5, 3, 1000);
        let plan = Plan { threads: 1, row_block: m, col_block: n, k_chunk: 300 };
        let a = vec![1.0f64; m * k];
        let mut c = vec![0.0f64; m * n];
        let prod = Product {
            m,
            n,
            k,
            a: Operand { ptr: a.as_ptr(), rs: k as isize, cs: 1 },
            b: Operand { ptr: a.as_ptr(), rs: 1, cs: k as isize },
            c: c.as_mut_ptr(),
            c_rs: n as isize,
            c_cs: 1,
            batch: &[[0, 0, 0]],
        };
        // SAFETY: A reads i*k + p < 5000 and B reads p + j*k <= 999 + 2*1000 < 5000, both in the
        // m*k = 5000 f64 of `a` (only read); C writes i*n + j of the separate 15-f64 Vec `c`.
        unsafe { matmul_planned(&prod, plan, &mut never_stop) }.unwrap();
        assert!(c.iter().all(|&x| x == k as f64));
        let mut polls = 0;
        // SAFETY: the same `prod` over the same live Vecs as the call above.
        let r = unsafe {
            matmul_planned(&prod, plan, &mut || {
                polls += 1;
                false
            })
        };
        assert_eq!((r, polls), (Err(Stopped), 1));
    }

    #[test]
    fn plan_splits_columns_when_rows_are_few() {
        let g = f64::POLL_MADDS;
        let p = plan(1, 64, 4096, 4096, 4, g);
        assert_eq!(p.row_block, 64);
        assert!(p.col_block < 4096);
        let p = plan(1, 1024, 1024, 1024, 2, g);
        assert_eq!((p.threads, p.row_block, p.col_block), (2, 256, 1024));
        assert_eq!(plan(1, 8, 8, 8, 4, g).threads, 1);
        assert!(plan(1, 4096, 4096, 4096, 1, g).k_chunk < 4096);
    }

    #[test]
    fn exact_loops_poll_within_their_budget() {
        // 5000^2 int64 on two threads: every k-chunk of a block is at most ~POLL_MADDS
        // multiply-adds (it was 512 k-steps of a 1250x5000 block: 3.2e9, ~3 s between polls).
        let p = plan_with_grain(1, 5000, 5000, 5000, 2, <i64 as MatmulElem>::POLL_MADDS, <i64 as MatmulElem>::K_GRAIN, <i64 as MatmulElem>::K_STEP_MADDS);
        let madds_per_chunk = p.row_block * p.col_block * p.k_chunk;
        assert!(madds_per_chunk <= 2 * <i64 as MatmulElem>::POLL_MADDS, "{p:?}: {madds_per_chunk}");
    }

    /// The work between two polls of every shape, m·n·k_chunk plus the per-step overhead, stays
    /// within the budget: a (1, 2**36) @ (2**36, 1) product was cut into 2^30-step chunks
    /// (seconds of work each), since rows·cols = 1 allowed POLL_MADDS k steps.
    fn chunk_within_budget<T: MatmulElem>() {
        for (m, n) in [(1, 1), (1, 2), (2, 2), (8, 8), (1, 4096), (64, 64), (4096, 4096)] {
            let p = plan_with_grain(1, m, n, 1 << 36, 1, T::POLL_MADDS, T::K_GRAIN, T::K_STEP_MADDS);
            let work = (p.row_block * p.col_block + T::K_STEP_MADDS) * p.k_chunk;
            let allowed = T::POLL_MADDS + (p.row_block * p.col_block + T::K_STEP_MADDS) * T::K_GRAIN;
            assert!(work <= allowed, "{m}x{n}: {p:?}: {work} > {allowed}");
        }
    }

    #[test]
    fn thin_products_poll_within_their_budget() {
        chunk_within_budget::<f64>();
        chunk_within_budget::<C128>();
        chunk_within_budget::<i64>();
        chunk_within_budget::<Bool>();
        let p = plan_with_grain(1, 1, 1, 1 << 36, 1, f64::POLL_MADDS, f64::K_GRAIN, f64::K_STEP_MADDS);
        assert!(p.k_chunk <= 1 << 21, "{p:?}");
    }
}

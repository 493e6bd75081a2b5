//! One large transform split across threads: the four-step decomposition.
//!
//! A transform of n = n1·n2 points is n2 transforms of length n1, a twiddle multiplication, and
//! n1 transforms of length n2 (Bailey's "four-step" FFT; the fourth step is a transpose). With
//! `x[j1·n2 + j2]` seen as an n1×n2 matrix, `w = e^(∓2πi/n)`:
//!
//! ```text
//! 1. each column j2:  Y[k1, j2] = Σ_j1 x[j1·n2 + j2] · w^(n2·j1·k1)      (length-n1 transforms)
//! 2.                  Y[k1, j2] ·= w^(j2·k1)                              (twiddles)
//! 3. each row k1:     Z[k1, k2] = Σ_j2 Y[k1, j2] · w^(n1·j2·k2)           (length-n2 transforms)
//! 4. transpose:       X[k1 + n1·k2] = Z[k1, k2]
//! ```
//!
//! Steps 1–2 are independent per column, step 3 per row, step 4 per block of output rows: each
//! step is a pool job whose tasks (groups of columns or rows) the threads claim from a counter
//! (src/kernels/tasks.rs), and the end of a job is the barrier between steps. The transforms of
//! length n1 and n2 are rustfft's plans, from the module's plan cache; twiddles are products of
//! two tables of about √n entries each, computed with `sin_cos` (one rounding each, and one for
//! the product: ~1e-16 relative).
//!
//! Real transforms of even length n ride on a complex one of n/2 points: the even samples as real
//! parts and the odd ones as imaginary parts, split apart afterwards with one more twiddle
//! (rfft), or combined before (irfft). Those passes split by ranges of frequencies.
//!
//! rustfft's own single-threaded plan is faster on one thread (it does the same decomposition
//! with fewer passes over memory), so this path is used only for a large line with threads to
//! spare ([`splits`]).

use std::sync::Arc;

use rustfft::Fft;

use super::array::element::C128;
use super::tasks::run_tasks;

/// From this many points a single line is split across threads (~1 ms of one thread's work).
pub const MIN_POINTS: usize = 1 << 16;
/// Columns (step 1) or output rows (step 4) per group: 16 complex numbers are 256 bytes, four
/// cache lines, read or written together from every row.
const GROUP: usize = 16;

/// Whether a line of `n` points (complex) is worth splitting over `threads` threads, and how:
/// `Some((n1, n2))` with n1 the largest divisor of n not above √n, when it is at least 16.
pub fn splits(n: usize, threads: usize) -> Option<(usize, usize)> {
    if threads < 2 || n < MIN_POINTS {
        return None;
    }
    let mut n1 = (n as f64).sqrt() as usize;
    while n1 > 1 && !n.is_multiple_of(n1) {
        n1 -= 1;
    }
    (n1 >= 16).then_some((n1, n / n1))
}

/// A raw pointer that tasks writing disjoint parts of one buffer share.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: used only by tasks that touch disjoint elements, inside a call that outlives them.
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Shared<T> {}

/// `w^t = e^(sign·2πi·t/n)` for `t < n`, as `hi[t / l] · lo[t % l]`.
struct Twiddles {
    l: usize,
    lo: Vec<C128>,
    hi: Vec<C128>,
}

impl Twiddles {
    fn new(n: usize, sign: f64) -> Twiddles {
        let l = ((n as f64).sqrt() as usize).max(1);
        let at = |t: usize| {
            let (s, c) = (sign * 2.0 * std::f64::consts::PI * t as f64 / n as f64).sin_cos();
            C128::new(c, s)
        };
        Twiddles { l, lo: (0..l).map(at).collect(), hi: (0..n.div_ceil(l) + 1).map(|i| at(i * l)).collect() }
    }

    /// A cursor at `t` that steps by `step` (both below n; the sum stays below n).
    fn cursor(&self, t: usize, step: usize) -> Cursor<'_> {
        Cursor { tw: self, hi: t / self.l, lo: t % self.l, dhi: step / self.l, dlo: step % self.l }
    }
}

struct Cursor<'a> {
    tw: &'a Twiddles,
    hi: usize,
    lo: usize,
    dhi: usize,
    dlo: usize,
}

impl Cursor<'_> {
    /// The current twiddle, then advance.
    #[inline]
    fn next(&mut self) -> C128 {
        let w = self.tw.hi[self.hi] * self.tw.lo[self.lo];
        self.lo += self.dlo;
        self.hi += self.dhi;
        if self.lo >= self.tw.l {
            self.lo -= self.tw.l;
            self.hi += 1;
        }
        w
    }
}

/// Why a split transform did not finish (the same as the line-by-line path's).
pub use super::fft::FftError;

thread_local! {
    /// Each thread's work buffer for the tasks below, kept between tasks and calls (a fresh
    /// 256 KiB buffer per task cost a page fault per 4 KiB). At most the largest task's size:
    /// GROUP·n1 + scratch elements, 1 MiB for 2^24 points.
    static LOCAL: std::cell::RefCell<Vec<C128>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `f(buffer of len elements)` with this thread's buffer; `None` if it cannot grow to `len`.
fn with_local<R>(len: usize, f: impl FnOnce(&mut [C128]) -> R) -> Option<R> {
    let mut v = LOCAL.with(|l| std::mem::take(&mut *l.borrow_mut()));
    if v.len() < len {
        v.try_reserve_exact(len - v.len()).ok()?;
        v.resize(len, C128::default());
    }
    let r = f(&mut v[..len]);
    LOCAL.with(|l| *l.borrow_mut() = v);
    Some(r)
}

/// The complex transform of the n = n1·n2 points at `src`, written to `out` times `scale`,
/// using `work` (n elements, may be `src` itself) in between. `p1`, `p2`: plans of lengths n1
/// and n2 in the transform's direction; `sign` −1 forward, +1 inverse.
///
/// Two passes over memory: steps 1–2 read `src` by groups of columns and write `work`; steps
/// 3–4 transform groups of rows of `work` and write them transposed into `out`.
///
/// # Safety
/// `src` has n readable elements, `work` n writable ones (`src` or separate), `out` n writable
/// ones separate from both; none is touched by anyone else during the call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn four_step(
    src: *const C128,
    work: *mut C128,
    out: *mut C128,
    (n1, n2): (usize, usize),
    p1: &Arc<dyn Fft<f64>>,
    p2: &Arc<dyn Fft<f64>>,
    sign: f64,
    scale: f64,
    threads: usize,
    check: &mut dyn FnMut() -> bool,
) -> Result<(), FftError> {
    let n = n1 * n2;
    let tw = Twiddles::new(n, sign);
    let (x, w, o) = (Shared(src.cast_mut()), Shared(work), Shared(out));
    let no_memory = std::sync::atomic::AtomicBool::new(false);
    let fail = || {
        no_memory.store(true, std::sync::atomic::Ordering::Relaxed);
        false
    };

    // Steps 1 and 2, by groups of GROUP columns: gather, transform, twiddle, store in `work`.
    let scratch1 = p1.get_inplace_scratch_len();
    let r = run_tasks(n2.div_ceil(GROUP), threads, check, |g, poll| {
        let (c0, cols) = (g * GROUP, GROUP.min(n2 - g * GROUP));
        let (x, w) = (x, w);
        let done = with_local(cols * n1 + scratch1, |local| {
            let (buf, scratch) = local.split_at_mut(cols * n1);
            for j1 in 0..n1 {
                for c in 0..cols {
                    // SAFETY: j1·n2 + c0 + c < n; this task alone reads (and, when `work` is
                    // `src`, writes) columns c0..c0+cols, and reads them all before writing.
                    buf[c * n1 + j1] = unsafe { *x.0.add(j1 * n2 + c0 + c) };
                }
            }
            p1.process_with_scratch(buf, scratch);
            for c in 0..cols {
                let mut cur = tw.cursor(0, c0 + c);
                for v in &mut buf[c * n1..(c + 1) * n1] {
                    *v *= cur.next();
                }
            }
            for k1 in 0..n1 {
                for c in 0..cols {
                    // SAFETY: as above.
                    unsafe { *w.0.add(k1 * n2 + c0 + c) = buf[c * n1 + k1] };
                }
            }
        });
        if done.is_none() {
            return fail();
        }
        poll()
    });
    finish(r, &no_memory)?;

    // Steps 3 and 4, by groups of rows: transform them in place (rustfft takes several at once),
    // then store them transposed, out[k2·n1 + k1] = Z[k1, k2]·scale: each k2 writes the group's
    // consecutive k1, a run of `rows` elements.
    let rows_per_task = (GROUP * n1).div_ceil(n2).clamp(GROUP.min(n1), n1);
    let scratch2 = p2.get_inplace_scratch_len();
    let r = run_tasks(n1.div_ceil(rows_per_task), threads, check, |t, poll| {
        let r0 = t * rows_per_task;
        let rows = rows_per_task.min(n1 - r0);
        let (w, o) = (w, o);
        let done = with_local(scratch2, |scratch| {
            // SAFETY: rows r0..r0+rows of the n1×n2 `work`, this task's alone (steps 1–2 have
            // finished: run_tasks returned).
            let chunk = unsafe { std::slice::from_raw_parts_mut(w.0.add(r0 * n2), rows * n2) };
            p2.process_with_scratch(chunk, scratch);
            for k2 in 0..n2 {
                for r in 0..rows {
                    // SAFETY: (k2·n1 + r0 + r) < n, in this task's columns of `out`.
                    unsafe { *o.0.add(k2 * n1 + r0 + r) = chunk[r * n2 + k2] * scale };
                }
            }
        });
        if done.is_none() {
            return fail();
        }
        poll()
    });
    finish(r, &no_memory)
}

fn finish(r: Result<(), super::tasks::Stopped>, no_memory: &std::sync::atomic::AtomicBool) -> Result<(), FftError> {
    if no_memory.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(FftError::NoMemory);
    }
    r.map_err(|_| FftError::Stopped)
}

/// Split the spectrum `z` (m = n/2 points) of the packed real signal `x[2j] + i·x[2j+1]` into
/// the first m + 1 points of x's spectrum (rfft), times `scale`, written to `out`.
///
/// # Safety
/// `out` has m + 1 writable elements, private to the call, not overlapping `z`.
pub unsafe fn split_real(z: &[C128], out: *mut C128, scale: f64, threads: usize, check: &mut dyn FnMut() -> bool) -> Result<(), FftError> {
    let m = z.len();
    let tw = Twiddles::new(2 * m, -1.0);
    let o = Shared(out);
    let chunk = (m + 1).div_ceil(4 * threads.max(1)).max(1 << 14);
    let r = run_tasks((m + 1).div_ceil(chunk), threads, check, |t, poll| {
        let o = o;
        let k0 = t * chunk;
        let mut cur = tw.cursor(k0, 1);
        for k in k0..(k0 + chunk).min(m + 1) {
            let a = z[k % m];
            let b = z[(m - k % m) % m].conj();
            let e = (a + b) * 0.5;
            let od = (a - b) * C128::new(0.0, -0.5);
            // SAFETY: k ≤ m, this task's range.
            unsafe { *o.0.add(k) = (e + cur.next() * od) * scale };
        }
        poll()
    });
    r.map_err(|_| FftError::Stopped)
}

/// The reverse of [`split_real`]: from the first m + 1 points `x` of a real signal's spectrum
/// (imaginary parts of the first and last ignored), the m points whose inverse transform is
/// `(x[2j] + i·x[2j+1])·m/n·…` — see the module comment — written to `z`.
pub fn join_real(x: &[C128], z: &mut [C128], threads: usize, check: &mut dyn FnMut() -> bool) -> Result<(), FftError> {
    let m = z.len();
    assert_eq!(x.len(), m + 1);
    let tw = Twiddles::new(2 * m, 1.0);
    let zp = Shared(z.as_mut_ptr());
    let chunk = m.div_ceil(4 * threads.max(1)).max(1 << 14);
    let at = |k: usize| {
        let v = x[k];
        if k == 0 || k == m {
            C128::new(v.re, 0.0)
        } else {
            v
        }
    };
    let r = run_tasks(m.div_ceil(chunk), threads, check, |t, poll| {
        let zp = zp;
        let k0 = t * chunk;
        let mut cur = tw.cursor(k0, 1);
        for k in k0..(k0 + chunk).min(m) {
            let a = at(k);
            let b = at(m - k).conj();
            let e = (a + b) * 0.5;
            let od = (a - b) * cur.next() * 0.5;
            // SAFETY: k < m, this task's range of `z`.
            unsafe { *zp.0.add(k) = e + C128::new(0.0, 1.0) * od };
        }
        poll()
    });
    r.map_err(|_| FftError::Stopped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::tasks::never_stop;
    use rustfft::FftPlanner;

    fn signal(n: usize) -> Vec<C128> {
        (0..n).map(|j| C128::new((j as f64 * 0.37).sin() + 1e-3 * (j % 17) as f64, (j as f64 * 1.1).cos())).collect()
    }

    fn max_rel(a: &[C128], b: &[C128]) -> f64 {
        let d = a.iter().zip(b).map(|(x, y)| (x - y).norm()).fold(0.0, f64::max);
        let s = b.iter().map(|y| y.norm()).fold(0.0, f64::max);
        d / s
    }

    #[test]
    fn four_step_matches_rustfft_on_one_thread() {
        let mut planner = FftPlanner::new();
        for n in [1 << 16, 3 * (1 << 15), 100_000, 1 << 18] {
            let (n1, n2) = splits(n, 2).unwrap();
            assert_eq!(n1 * n2, n);
            for (sign, inverse) in [(-1.0, false), (1.0, true)] {
                let mut plan = |len| if inverse { planner.plan_fft_inverse(len) } else { planner.plan_fft_forward(len) };
                let (p, p1, p2) = (plan(n), plan(n1), plan(n2));
                let x = signal(n);
                let mut want = x.clone();
                p.process(&mut want);
                for threads in [1, 2, 3, 5] {
                    let mut data = x.clone();
                    let mut out = vec![C128::default(); n];
                    // SAFETY: `data` (source and work) and `out` are separate Vecs of n elements.
                    unsafe { four_step(data.as_ptr(), data.as_mut_ptr(), out.as_mut_ptr(), (n1, n2), &p1, &p2, sign, 1.0, threads, &mut never_stop) }.unwrap();
                    // A separate source is left as it was.
                    let mut work = vec![C128::default(); n];
                    let mut out2 = vec![C128::default(); n];
                    // SAFETY: three separate Vecs of n elements.
                    unsafe { four_step(x.as_ptr(), work.as_mut_ptr(), out2.as_mut_ptr(), (n1, n2), &p1, &p2, sign, 1.0, threads, &mut never_stop) }.unwrap();
                    assert!(out2 == out);
                    let err = max_rel(&out, &want);
                    assert!(err <= 1e-12, "n={n} inverse={inverse} threads={threads}: {err:e}");
                }
            }
        }
    }

    #[test]
    fn real_split_and_join_match_the_real_transform() {
        let mut planner = FftPlanner::new();
        let n = 1 << 17;
        let m = n / 2;
        let x: Vec<f64> = (0..n).map(|j| (j as f64 * 0.01).sin() + 0.5 * ((j * 7 % 13) as f64)).collect();
        // Reference: the complex transform of the real signal.
        let mut full: Vec<C128> = x.iter().map(|&v| C128::new(v, 0.0)).collect();
        planner.plan_fft_forward(n).process(&mut full);
        let mut z: Vec<C128> = (0..m).map(|j| C128::new(x[2 * j], x[2 * j + 1])).collect();
        planner.plan_fft_forward(m).process(&mut z);
        let mut spec = vec![C128::default(); m + 1];
        // SAFETY: `spec` has m + 1 elements, separate from `z`.
        unsafe { split_real(&z, spec.as_mut_ptr(), 1.0, 3, &mut never_stop) }.unwrap();
        assert!(max_rel(&spec, &full[..=m]) <= 1e-12);
        // And back: join, inverse transform of m points, unpack, against n·x.
        let mut back = vec![C128::default(); m];
        join_real(&spec, &mut back, 3, &mut never_stop).unwrap();
        planner.plan_fft_inverse(m).process(&mut back);
        let err = (0..m).map(|j| (2.0 * back[j].re - n as f64 * x[2 * j]).abs().max((2.0 * back[j].im - n as f64 * x[2 * j + 1]).abs())).fold(0.0, f64::max);
        let top = x.iter().map(|v| v.abs()).fold(0.0, f64::max) * n as f64;
        assert!(err / top <= 1e-12, "{:e}", err / top);
    }

    #[test]
    fn small_or_prime_lengths_are_not_split() {
        assert_eq!(splits(1 << 20, 1), None);
        assert_eq!(splits(1000, 4), None);
        assert_eq!(splits(999_983, 4), None); // a prime
        assert_eq!(splits(1 << 20, 2), Some((1024, 1024)));
    }
}

//! Discrete Fourier transforms along one axis of a strided array: fft, ifft, rfft, irfft.
//!
//! The transforms are `rustfft` (complex, any length: mixed radix, Rader and Bluestein for large
//! primes, AVX when the CPU has it) and `realfft` (real input / real output on top of it). Each
//! *line* along the axis is gathered into a contiguous buffer (casting the input dtype, padding
//! with zeros or truncating to the transform length `n`), transformed, scaled, and stored into a
//! fresh C-contiguous result. When the axis is the last one, a line of the result is contiguous
//! and the transform writes straight into it, with no second copy. Many lines are split over
//! threads.
//!
//! Plans: building a plan computes twiddle tables and picks an algorithm (~12 ms for 2^20); using
//! a built one costs nothing. [`FftPlans`] keeps them, keyed by (length, transform). It is plain
//! Rust owned by the module state (src/state.rs), so:
//! - *with the GIL released* it is still safe: a `Mutex` guards the map (the GIL is not what
//!   protects it), and a plan handed out is an `Arc` to an immutable, `Send + Sync` object, used
//!   outside the lock by as many threads as like;
//! - *across subinterpreters* each module object has its own cache, and the cache holds no Python
//!   object, so nothing of one interpreter is reachable from another; a plan outlives its cache
//!   entry (or the whole module) for as long as a running transform holds its `Arc`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use realfft::{ComplexToReal, ComplexToRealEven, ComplexToRealOdd, RealToComplex, RealToComplexEven, RealToComplexOdd};
use rustfft::{Fft, FftPlanner};

use super::array::copy::try_vec;
use super::array::dtype::DType;
use super::array::element::{load_as, Element, C128};
use super::array::view::ArrayView;
use super::tasks::run_tasks;

/// Which transform: numpy.fft's four.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transform {
    /// complex → complex, e^{-2πi jk/n}
    Fft,
    /// complex → complex, e^{+2πi jk/n} (unnormalised here; the glue passes the 1/n scale)
    Ifft,
    /// real n → complex n/2+1
    Rfft,
    /// complex n/2+1 → real n (imaginary parts of the zero and Nyquist terms ignored)
    Irfft,
}

impl Transform {
    /// Elements of each output line for transform length `n`.
    pub fn out_len(self, n: usize) -> usize {
        match self {
            Transform::Rfft => n / 2 + 1,
            _ => n,
        }
    }

    /// Input elements of each line the transform uses (more are ignored, fewer are zero-padded).
    pub fn in_len(self, n: usize) -> usize {
        match self {
            Transform::Irfft => n / 2 + 1,
            _ => n,
        }
    }

    /// The dtype of the result: float64 for irfft, complex128 otherwise.
    pub fn out_dtype(self) -> DType {
        match self {
            Transform::Irfft => DType::Float64,
            _ => DType::Complex128,
        }
    }
}

/// A built transform, shared by reference count.
#[derive(Clone)]
pub enum Plan {
    Complex(Arc<dyn Fft<f64>>),
    RealForward(Arc<dyn RealToComplex<f64>>),
    RealInverse(Arc<dyn ComplexToReal<f64>>),
}

/// At most this many plans are kept; one more empties the cache (the plans in use live on).
/// Bounds the memory a program that transforms many different lengths can pin.
const MAX_PLANS: usize = 64;

struct Cache {
    /// rustfft's planner also remembers the inner FFTs it built (shared by real and complex
    /// plans of related lengths), which is why one planner serves all four transforms.
    planner: FftPlanner<f64>,
    plans: HashMap<(usize, Transform), Plan>,
}

/// The plan cache the module state owns, with the work buffers transforms reuse.
pub struct FftPlans {
    cache: Mutex<Cache>,
    buffers: Buffers,
}

/// Line and scratch buffers kept between calls. A 2^20-point transform needs 32 MB of them;
/// allocating that afresh each call costs page faults (the kernel zeroes every new page) worth
/// ~10% of the transform. At most [`MAX_KEPT_BYTES`] per element type are kept.
#[derive(Default)]
pub struct Buffers {
    complex: Mutex<Vec<Vec<C128>>>,
    real: Mutex<Vec<Vec<f64>>>,
}

const MAX_KEPT_BYTES: usize = 64 << 20;

/// Take a buffer of `len` elements from `kept` (the smallest big enough) or allocate one;
/// `None` when it cannot be allocated. Contents are unspecified (callers overwrite them).
fn take<T: Clone + Default>(kept: &Mutex<Vec<Vec<T>>>, len: usize) -> Option<Vec<T>> {
    let reused = {
        let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
        let best = kept.iter().enumerate().filter(|(_, v)| v.capacity() >= len).min_by_key(|(_, v)| v.capacity()).map(|(i, _)| i);
        best.map(|i| kept.swap_remove(i))
    };
    match reused {
        Some(mut v) => {
            // Within capacity: no allocation, and no write for the part that already exists.
            v.truncate(len);
            v.resize(len, T::default());
            Some(v)
        }
        None => try_vec(len),
    }
}

/// Give a buffer back for the next call, unless the kept ones already hold enough memory.
fn give<T>(kept: &Mutex<Vec<Vec<T>>>, v: Vec<T>) {
    if v.capacity() == 0 {
        return;
    }
    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
    let held: usize = kept.iter().map(|b| b.capacity() * std::mem::size_of::<T>()).sum();
    if held + v.capacity() * std::mem::size_of::<T>() <= MAX_KEPT_BYTES {
        kept.push(v);
    }
}

impl Default for FftPlans {
    fn default() -> Self {
        Self::new()
    }
}

impl FftPlans {
    pub fn new() -> Self {
        FftPlans { cache: Mutex::new(Cache { planner: FftPlanner::new(), plans: HashMap::new() }), buffers: Buffers::default() }
    }

    /// The plan for `transform` of length `n` (n ≥ 1), built on first use.
    ///
    /// Building happens under the lock, so two threads asking for the same new length build it
    /// once. (A plan's twiddle tables are allocated by rustfft, infallibly.)
    pub fn get(&self, n: usize, transform: Transform) -> Plan {
        // A panic while the lock was held (out of memory while planning) leaves a map that is
        // still consistent — an insert either happened or not — so a poisoned lock is used anyway.
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(plan) = cache.plans.get(&(n, transform)) {
            return plan.clone();
        }
        if cache.plans.len() >= MAX_PLANS {
            *cache = Cache { planner: FftPlanner::new(), plans: HashMap::new() };
        }
        let planner = &mut cache.planner;
        let plan = match transform {
            Transform::Fft => Plan::Complex(planner.plan_fft_forward(n)),
            Transform::Ifft => Plan::Complex(planner.plan_fft_inverse(n)),
            Transform::Rfft if n.is_multiple_of(2) => Plan::RealForward(Arc::new(RealToComplexEven::new(n, planner))),
            Transform::Rfft => Plan::RealForward(Arc::new(RealToComplexOdd::new(n, planner))),
            Transform::Irfft if n.is_multiple_of(2) => Plan::RealInverse(Arc::new(ComplexToRealEven::new(n, planner))),
            Transform::Irfft => Plan::RealInverse(Arc::new(ComplexToRealOdd::new(n, planner))),
        };
        cache.plans.insert((n, transform), plan.clone());
        plan
    }

    /// How many plans are cached (for tests).
    pub fn len(&self) -> usize {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).plans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The work buffers to pass in [`Job::buffers`].
    pub fn buffers(&self) -> &Buffers {
        &self.buffers
    }
}

/// Why a transform did not finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FftError {
    /// `check` asked to stop (a signal is pending).
    Stopped,
    /// A line buffer or scratch space could not be allocated.
    NoMemory,
}

/// One transform along `axis` of `input`, `n` points per line, results multiplied by `scale`.
pub struct Job<'a> {
    pub transform: Transform,
    pub plan: &'a Plan,
    /// Where line and scratch buffers come from and go back to (`FftPlans::buffers`).
    pub buffers: &'a Buffers,
    pub n: usize,
    pub scale: f64,
    pub input: ArrayView<'a>,
    pub axis: usize,
    /// The result: C-contiguous, `input.shape` with `shape[axis] = transform.out_len(n)`, of
    /// `transform.out_dtype()`. Memory private to this call (a fresh allocation).
    pub out: *mut u8,
}

// SAFETY: a `Job` describes memory: its creator promises the input readable and `out` writable
// by this call only, from any thread, for the whole call. Lines write disjoint parts of `out`.
unsafe impl Send for Job<'_> {}
// SAFETY: as above.
unsafe impl Sync for Job<'_> {}

/// Elements transformed between two polls of the calling thread (a few ms of work).
const ELEMS_PER_POLL: usize = 1 << 18;
/// Below this many elements in all, one thread.
const MIN_ELEMS_PER_THREAD: usize = 1 << 15;

/// Run the job on up to `threads` threads; `check` as for [`run_tasks`].
///
/// # Safety
/// The input view describes readable memory and `out` is as documented on [`Job`].
pub unsafe fn transform(job: &Job, threads: usize, check: &mut dyn FnMut() -> bool) -> Result<(), FftError> {
    let shape = job.input.shape;
    let line_len = job.transform.out_len(job.n);
    let lines: usize = shape.iter().enumerate().filter(|&(d, _)| d != job.axis).map(|(_, &s)| s).product();
    if lines == 0 || line_len == 0 {
        return Ok(());
    }
    // The result is C-contiguous, so consecutive elements of an output line are `inner` apart.
    let inner: usize = shape[job.axis + 1..].iter().product();
    let total = lines.saturating_mul(job.n);
    let threads = threads.max(1).min(total / MIN_ELEMS_PER_THREAD + 1);
    let lines_per_task = (ELEMS_PER_POLL / job.n.max(1)).clamp(1, lines.div_ceil(4 * threads));
    let ntasks = lines.div_ceil(lines_per_task);
    let no_memory = std::sync::atomic::AtomicBool::new(false);

    // Helpers are not placed (parallel::start_away_from): not measured for transforms.
    let result = run_tasks(ntasks, threads, false, check, |t, poll| {
        let first = t * lines_per_task;
        let last = (first + lines_per_task).min(lines);
        let Some(mut work) = LineWork::new(job) else {
            no_memory.store(true, std::sync::atomic::Ordering::Relaxed);
            return false;
        };
        let mut since_poll = 0;
        for line in first..last {
            // Line number → (index before the axis, index after it) → input and output offsets.
            let (outer, inner_i) = (line / inner, line % inner);
            let in_offset = input_offset(&job.input, job.axis, line);
            let out_first = outer * line_len * inner + inner_i;
            // SAFETY: the offsets come from indices inside the input shape and the output shape.
            unsafe { work.line(job, in_offset, out_first, inner) };
            since_poll += job.n;
            if since_poll >= ELEMS_PER_POLL {
                since_poll = 0;
                if !poll() {
                    return false;
                }
            }
        }
        poll()
    });
    if no_memory.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(FftError::NoMemory);
    }
    result.map_err(|_| FftError::Stopped)
}

/// Byte offset of the first element of line `line` (C order over every dimension but `axis`).
fn input_offset(view: &ArrayView, axis: usize, mut line: usize) -> isize {
    let mut offset = 0isize;
    for d in (0..view.shape.len()).rev() {
        if d == axis {
            continue;
        }
        let len = view.shape[d];
        offset += (line % len) as isize * view.strides[d];
        line /= len;
    }
    offset
}

/// One thread's buffers: a line in the transform's input type, one for its output when the
/// output line is not contiguous, and the plan's scratch space. Taken from the job's
/// [`Buffers`] or allocated fallibly, and given back when dropped.
struct LineWork<'a> {
    complex: Vec<C128>,
    real: Vec<f64>,
    scratch: Vec<C128>,
    buffers: &'a Buffers,
}

impl Drop for LineWork<'_> {
    fn drop(&mut self) {
        give(&self.buffers.complex, std::mem::take(&mut self.complex));
        give(&self.buffers.complex, std::mem::take(&mut self.scratch));
        give(&self.buffers.real, std::mem::take(&mut self.real));
    }
}

impl<'a> LineWork<'a> {
    fn new(job: &Job<'a>) -> Option<LineWork<'a>> {
        let n = job.n;
        let (complex, real, scratch) = match job.plan {
            Plan::Complex(p) => (n, 0, p.get_inplace_scratch_len().max(p.get_outofplace_scratch_len())),
            Plan::RealForward(p) => (n / 2 + 1, n, p.get_scratch_len()),
            Plan::RealInverse(p) => (n / 2 + 1, n, p.get_scratch_len()),
        };
        let b = job.buffers;
        let mut work = LineWork { complex: Vec::new(), real: Vec::new(), scratch: Vec::new(), buffers: b };
        // One at a time, so that what was taken goes back (by Drop) if a later one fails.
        work.complex = take(&b.complex, complex)?;
        work.real = take(&b.real, real)?;
        work.scratch = take(&b.complex, scratch)?;
        Some(work)
    }

    /// Transform one line: input from byte offset `in_offset`, output to elements
    /// `out_first, out_first + step, ...` of the result.
    ///
    /// # Safety
    /// The offsets name a line inside the job's input and output.
    unsafe fn line(&mut self, job: &Job, in_offset: isize, out_first: usize, step: usize) {
        let n = job.n;
        let avail = job.input.shape[job.axis];
        let in_step = job.input.strides[job.axis];
        // SAFETY: the line starts inside the input view.
        let src = unsafe { job.input.data.offset(in_offset) };
        let dtype = job.input.dtype;
        let used = avail.min(job.transform.in_len(n));
        match job.plan {
            Plan::Complex(plan) => {
                let out = job.out.cast::<C128>();
                // SAFETY: `used` elements of the input line exist.
                unsafe { gather_line(src, dtype, in_step, &mut self.complex[..used]) };
                self.complex[used..].fill(C128::default());
                if step == 1 {
                    // Contiguous output line: transform from the line buffer straight into the
                    // result (the result is ours alone). Out of place, because rustfft's in-place
                    // transform is an out-of-place one into scratch plus a copy back.
                    // SAFETY: elements out_first..out_first+n are this line's, private memory.
                    let line = unsafe { std::slice::from_raw_parts_mut(out.add(out_first), n) };
                    plan.process_outofplace_with_scratch(&mut self.complex, line, &mut self.scratch);
                    scale(line, job.scale);
                } else {
                    plan.process_with_scratch(&mut self.complex, &mut self.scratch);
                    scale(&mut self.complex, job.scale);
                    // SAFETY: the strided output line lies inside the result.
                    unsafe { scatter(&self.complex, out.add(out_first), step) };
                }
            }
            Plan::RealForward(plan) => {
                let m = n / 2 + 1;
                // SAFETY: as above.
                unsafe { gather_line(src, dtype, in_step, &mut self.real[..used]) };
                self.real[used..].fill(0.0);
                let out = job.out.cast::<C128>();
                let spectrum: &mut [C128] = if step == 1 {
                    // SAFETY: as for the complex case.
                    unsafe { std::slice::from_raw_parts_mut(out.add(out_first), m) }
                } else {
                    &mut self.complex
                };
                plan.process_with_scratch(&mut self.real, spectrum, &mut self.scratch).expect("buffer lengths match the plan");
                scale(spectrum, job.scale);
                if step != 1 {
                    // SAFETY: as above.
                    unsafe { scatter(&self.complex, out.add(out_first), step) };
                }
            }
            Plan::RealInverse(plan) => {
                let m = n / 2 + 1;
                // SAFETY: as above.
                unsafe { gather_line(src, dtype, in_step, &mut self.complex[..used]) };
                self.complex[used..].fill(C128::default());
                // numpy.fft.irfft ignores the imaginary parts of the zero-frequency term and (for
                // even n) the Nyquist term: a real signal's spectrum has none there.
                self.complex[0].im = 0.0;
                if n.is_multiple_of(2) {
                    self.complex[m - 1].im = 0.0;
                }
                let out = job.out.cast::<f64>();
                let signal: &mut [f64] = if step == 1 {
                    // SAFETY: as for the complex case.
                    unsafe { std::slice::from_raw_parts_mut(out.add(out_first), n) }
                } else {
                    &mut self.real
                };
                plan.process_with_scratch(&mut self.complex, signal, &mut self.scratch).expect("buffer lengths match the plan");
                scale(signal, job.scale);
                if step != 1 {
                    // SAFETY: as above.
                    unsafe { scatter(&self.real, out.add(out_first), step) };
                }
            }
        }
    }
}

/// Read `dst.len()` elements of `dtype`, `step` bytes apart, cast to `T`. The common
/// float64/complex128 cases read directly; the casting case matches the dtype per element
/// (`load_as`) — `element::cast_loop` would match it once per line.
///
/// # Safety
/// The elements are readable.
unsafe fn gather_line<T: Element>(src: *const u8, dtype: DType, step: isize, dst: &mut [T]) {
    // SAFETY (every read): element j of the line is at src + j·step, inside the input.
    unsafe {
        if dtype == T::DTYPE {
            let src = src.cast::<T>();
            if step == std::mem::size_of::<T>() as isize {
                // One memcpy: each element read once, no reference to the foreign memory formed.
                std::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len());
            } else {
                for (j, d) in dst.iter_mut().enumerate() {
                    *d = src.cast::<u8>().offset(j as isize * step).cast::<T>().read_unaligned();
                }
            }
        } else {
            for (j, d) in dst.iter_mut().enumerate() {
                *d = load_as::<T>(src.offset(j as isize * step), dtype);
            }
        }
    }
}

fn scale<T: Copy + std::ops::MulAssign<f64>>(line: &mut [T], by: f64) {
    if by != 1.0 {
        for x in line {
            *x *= by;
        }
    }
}

/// Store `line` at `dst, dst + step, ...` (element steps).
///
/// # Safety
/// Those elements are writable and private to the caller.
unsafe fn scatter<T: Copy>(line: &[T], dst: *mut T, step: usize) {
    for (j, &x) in line.iter().enumerate() {
        // SAFETY: the caller's contract.
        unsafe { dst.add(j * step).write(x) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::tasks::never_stop;
    use std::f64::consts::PI;

    fn naive_dft(x: &[C128], sign: f64) -> Vec<C128> {
        let n = x.len();
        (0..n)
            .map(|k| {
                x.iter()
                    .enumerate()
                    .map(|(j, &v)| v * C128::from_polar(1.0, sign * 2.0 * PI * ((j * k) % n) as f64 / n as f64))
                    .sum()
            })
            .collect()
    }

    fn close(a: &[C128], b: &[C128]) -> bool {
        let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).norm_sqr()).sum();
        let den: f64 = b.iter().map(|y| y.norm_sqr()).sum();
        num.sqrt() <= 1e-11 * den.sqrt().max(1e-300) || num == 0.0
    }

    fn signal(len: usize) -> Vec<C128> {
        (0..len).map(|j| C128::new((j as f64 * 0.7).sin() + 0.1 * j as f64, (j as f64 * 1.3).cos())).collect()
    }

    #[test]
    fn complex_lengths_padding_truncation() {
        let plans = FftPlans::new();
        for &(len, n) in &[(1, 1), (2, 2), (7, 7), (64, 64), (97, 97), (10, 16), (16, 10), (0, 5)] {
            let x = signal(len);
            let view = ArrayView { data: x.as_ptr().cast(), dtype: DType::Complex128, shape: &[len], strides: &[16] };
            for (transform, sign) in [(Transform::Fft, -1.0), (Transform::Ifft, 1.0)] {
                let plan = plans.get(n, transform);
                let mut out = vec![C128::default(); n];
                let job = Job { transform, plan: &plan, buffers: plans.buffers(), n, scale: 1.0, input: view, axis: 0, out: out.as_mut_ptr().cast() };
                // SAFETY: `view` is exactly the `len` complex128 of `x` (len = 0 reads nothing);
                // `out` is a fresh Vec of n = out_len(n) C128 (16-byte complex128, the Fft/Ifft
                // output dtype), shape [n], used by nothing else during the call. Both outlive it.
                unsafe { transform_fn(&job) };
                let mut padded = x.clone();
                padded.resize(n, C128::default());
                assert!(close(&out, &naive_dft(&padded, sign)), "{len} {n} {transform:?}");
            }
        }
    }

    /// # Safety
    /// As [`transform`]: `job.input` readable, `job.out` as documented on [`Job`].
    unsafe fn transform_fn(job: &Job) {
        // SAFETY: forwarded unchanged from this function's caller (same contract as transform).
        unsafe { transform(job, 2, &mut never_stop) }.unwrap();
    }

    #[test]
    fn real_round_trip_and_axis0_of_2d() {
        let plans = FftPlans::new();
        // 2-D int32 input, shape (n, 3), transformed along axis 0: strided lines.
        for n in [1usize, 2, 5, 8, 13] {
            let data: Vec<i32> = (0..n as i32 * 3).map(|v| v * v % 17 - 8).collect();
            let view = ArrayView { data: data.as_ptr().cast(), dtype: DType::Int32, shape: &[n, 3], strides: &[12, 4] };
            let m = n / 2 + 1;
            let plan = plans.get(n, Transform::Rfft);
            let mut spec = vec![C128::default(); m * 3];
            let job = Job { transform: Transform::Rfft, plan: &plan, buffers: plans.buffers(), n, scale: 1.0, input: view, axis: 0, out: spec.as_mut_ptr().cast() };
            // SAFETY: `view` reads 12r + 4c (r < n, c < 3): the n*3 i32 of `data`. `spec` is a
            // fresh Vec of m*3 C128, the C-contiguous (out_len(n) = m, 3) complex128 result, used
            // by nothing else until the call returns.
            unsafe { transform_fn(&job) };
            for col in 0..3 {
                let line: Vec<C128> = (0..n).map(|r| C128::new(data[r * 3 + col] as f64, 0.0)).collect();
                let want = naive_dft(&line, -1.0);
                let got: Vec<C128> = (0..m).map(|r| spec[r * 3 + col]).collect();
                assert!(close(&got, &want[..m]), "rfft n={n} col={col}");
            }
            // irfft back, scale 1/n, from the (m, 3) spectrum.
            let sview = ArrayView { data: spec.as_ptr().cast(), dtype: DType::Complex128, shape: &[m, 3], strides: &[48, 16] };
            let plan = plans.get(n, Transform::Irfft);
            let mut back = vec![0.0f64; n * 3];
            let job = Job { transform: Transform::Irfft, plan: &plan, buffers: plans.buffers(), n, scale: 1.0 / n as f64, input: sview, axis: 0, out: back.as_mut_ptr().cast() };
            // SAFETY: `sview` reads 48r + 16c (r < m, c < 3): the m*3 C128 of `spec`, now only read.
            // `back` is a fresh Vec of n*3 f64, the (n, 3) float64 irfft result, private here.
            unsafe { transform_fn(&job) };
            for (b, d) in back.iter().zip(&data) {
                assert!((b - *d as f64).abs() < 1e-12, "irfft n={n}");
            }
        }
    }

    #[test]
    fn irfft_ignores_dc_and_nyquist_imaginary_parts() {
        let plans = FftPlans::new();
        let spec = [C128::new(1.0, 5.0), C128::new(0.5, 0.25), C128::new(2.0, -3.0)];
        let view = ArrayView { data: spec.as_ptr().cast(), dtype: DType::Complex128, shape: &[3], strides: &[16] };
        let plan = plans.get(4, Transform::Irfft);
        let mut out = [0.0f64; 4];
        let job = Job { transform: Transform::Irfft, plan: &plan, buffers: plans.buffers(), n: 4, scale: 0.25, input: view, axis: 0, out: out.as_mut_ptr().cast() };
        // SAFETY: `view` is the 3 C128 of the local `spec`; `out` is the local [f64; 4], exactly
        // the n = 4 float64 irfft result, separate from `spec` and untouched during the call.
        unsafe { transform_fn(&job) };
        // Hermitian extension of [1, 0.5+0.25i, 2] then inverse DFT / 4.
        let full = [C128::new(1.0, 0.0), C128::new(0.5, 0.25), C128::new(2.0, 0.0), C128::new(0.5, -0.25)];
        let want: Vec<f64> = naive_dft(&full, 1.0).iter().map(|z| z.re / 4.0).collect();
        for (o, w) in out.iter().zip(&want) {
            assert!((o - w).abs() < 1e-14);
        }
    }

    #[test]
    fn many_rows_on_threads_and_cache_bounds() {
        let plans = FftPlans::new();
        let (rows, n) = (300, 128);
        let x = signal(rows * n);
        let view = ArrayView { data: x.as_ptr().cast(), dtype: DType::Complex128, shape: &[rows, n], strides: &[16 * n as isize, 16] };
        let plan = plans.get(n, Transform::Fft);
        let mut out = vec![C128::default(); rows * n];
        let job = Job { transform: Transform::Fft, plan: &plan, buffers: plans.buffers(), n, scale: 1.0, input: view, axis: 1, out: out.as_mut_ptr().cast() };
        // SAFETY: `view` is the rows*n C128 of `x`, C-contiguous; `out` is a fresh Vec of rows*n
        // C128, the (rows, n) complex128 result, not touched by this thread until the call
        // returns (the worker threads only read `x` and write disjoint lines of `out`).
        unsafe { transform(&job, 3, &mut never_stop) }.unwrap();
        for r in [0, 17, 299] {
            assert!(close(&out[r * n..(r + 1) * n], &naive_dft(&x[r * n..(r + 1) * n], -1.0)));
        }
        for len in 1..=(MAX_PLANS + 5) {
            plans.get(len, Transform::Fft);
        }
        assert!(plans.len() <= MAX_PLANS);
    }

    #[test]
    fn stop_is_reported() {
        let plans = FftPlans::new();
        let (rows, n) = (64, 1 << 14);
        let x = vec![C128::default(); rows * n];
        let view = ArrayView { data: x.as_ptr().cast(), dtype: DType::Complex128, shape: &[rows, n], strides: &[16 * n as isize, 16] };
        let plan = plans.get(n, Transform::Fft);
        let mut out = vec![C128::default(); rows * n];
        let job = Job { transform: Transform::Fft, plan: &plan, buffers: plans.buffers(), n, scale: 1.0, input: view, axis: 1, out: out.as_mut_ptr().cast() };
        // SAFETY: `view` is the rows*n C128 of `x`; `out` a fresh Vec of rows*n C128, the (rows, n)
        // complex128 result, private to the call (which stops early and writes at most that).
        assert_eq!(unsafe { transform(&job, 1, &mut || false) }, Err(FftError::Stopped));
    }
}

//! Running an elementwise loop over whole arrays: NumPy's ufunc machinery in miniature.
//!
//! Given a kernel from `elementwise.rs` and raw views of the operands, this
//! 1. checks, in NumPy's order, that the result may be cast to the output's dtype (`same_kind`,
//!    as NumPy's `out=` and in-place operators) and that the shapes broadcast (errors name the
//!    shapes, as NumPy's do);
//! 2. resolves memory overlap the way NumPy does (`NPY_ITER_COPY_IF_OVERLAP` and its trivial-loop
//!    exceptions, see [`Overlap`]): the result is always what it would be had every input been
//!    copied first, so `a[1:] += a[:-1]` adds the old values;
//! 3. coalesces dimensions (`broadcast.rs`) and calls the inner loop once per innermost row;
//! 4. casts operands whose dtype is not the loop's a chunk at a time into small buffers, never
//!    a whole converted copy (NumPy's buffered iterator);
//! 5. splits large loops across threads by element range (`kernels/parallel.rs`: the project's
//!    thread count and minimum bytes per thread); each thread writes (and so first touches) its
//!    own part of a freshly allocated result.

use std::fmt;

use super::broadcast::{broadcast_shapes, broadcast_strides, check_output_shape, BroadcastError, Dims, Walk};
use super::copy::{copy_cast, try_vec};
use super::dtype::DType;
use super::element::{can_cast_same_kind, cast_loop, CastLoop};
use super::elementwise::{BinaryKernel, UnaryKernel};
use crate::kernels::parallel::{for_each_range, pieces_for};
use crate::kernels::tasks::never_stop;
use super::view::{may_overlap, ArrayView, ArrayViewMut};

/// Elements per cast chunk: small enough for the buffers to stay in L1/L2, large enough that
/// the per-chunk overhead vanishes.
const CHUNK: usize = 1024;

/// How a loop may be split: at most `max` threads, each with at least `min_bytes` of traffic.
#[derive(Clone, Copy, Debug)]
pub struct Threads {
    pub max: usize,
    pub min_bytes: usize,
}

impl Threads {
    pub const ONE: Threads = Threads { max: 1, min_bytes: usize::MAX };

    /// The process-wide setting (`rawcapi.set_num_threads`) and the loops' threshold.
    pub fn configured() -> Threads {
        Threads { max: crate::kernels::parallel::num_threads(), min_bytes: crate::kernels::parallel::loop_min_bytes_per_thread() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UfuncError {
    Broadcast(BroadcastError),
    /// The result's dtype cannot be cast to the output's under `same_kind`.
    OutputCast { ufunc: &'static str, from: DType, to: DType },
    /// A temporary copy (for overlapping operands) could not be allocated.
    NoMemory { bytes: usize },
    /// A poll said stop (the glue's signal check found Ctrl-C): the output is partly written.
    Stopped,
}

impl fmt::Display for UfuncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UfuncError::Broadcast(e) => e.fmt(f),
            UfuncError::OutputCast { ufunc, from, to } => write!(
                f,
                "Cannot cast ufunc '{ufunc}' output from dtype('{}') to dtype('{}') with casting rule 'same_kind'",
                from.name(),
                to.name()
            ),
            UfuncError::NoMemory { bytes } => write!(f, "Unable to allocate {bytes} bytes for a temporary copy of an overlapping operand"),
            UfuncError::Stopped => write!(f, "stopped between blocks"),
        }
    }
}

impl From<BroadcastError> for UfuncError {
    fn from(e: BroadcastError) -> Self {
        UfuncError::Broadcast(e)
    }
}

/// A raw pointer that may cross to the worker threads. The views it comes from are valid for
/// the whole call (the caller's promise) and each thread touches a disjoint range of the output.
#[derive(Clone, Copy)]
struct SendPtr(*mut u8);
// SAFETY: see above; the pointer is only dereferenced inside the loops, under those promises.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

/// One operand as the driver sees it: base pointer, strides over the full (broadcast) shape,
/// and the cast between its dtype and the loop's (`None` when they agree).
struct Plan<'a> {
    base: SendPtr,
    strides: Dims<isize>,
    cast: Option<CastLoop>,
    loop_itemsize: usize,
    /// The operand's own element size (what it moves through memory per element).
    itemsize: usize,
    is_output: bool,
    /// Keeps a temporary copy alive while `base` points into it.
    _copy: Option<Vec<u128>>,
    _life: std::marker::PhantomData<&'a ()>,
}

/// A C-contiguous copy of `v` (same dtype), for an input that partially overlaps the output:
/// [`try_vec`] and [`copy_cast`]. `u128` storage keeps every dtype aligned. (`copy_cast` moves a
/// contiguous bool row as bytes, so a bool byte other than 0/1 is copied as it is; every loop
/// reads a bool as `byte != 0`, so results do not depend on it.)
unsafe fn contiguous_copy(v: &ArrayView) -> Result<Vec<u128>, UfuncError> {
    let itemsize = v.dtype.itemsize();
    let bytes = v.size() * itemsize;
    let mut storage: Vec<u128> = try_vec(bytes.div_ceil(16)).ok_or(UfuncError::NoMemory { bytes })?;
    let out_strides = super::view::c_strides(v.shape, itemsize).expect("an existing view's size fits");
    let dst = ArrayViewMut { data: storage.as_mut_ptr() as *mut u8, dtype: v.dtype, shape: v.shape, strides: &out_strides };
    // SAFETY: `v` is readable (the caller's promise); `dst` is the C-contiguous layout of
    // `storage`, which holds `size` elements and, freshly allocated, overlaps nothing.
    unsafe { copy_cast(*v, dst) };
    Ok(storage)
}

/// How an input that shares memory with the output is handled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overlap {
    /// Disjoint, or the very same elements (`a += b` reads `a[i]` just before writing it).
    Harmless,
    /// Overlapping, but a one-dimensional loop in order reads every element before it is
    /// overwritten: NumPy runs it in place (see [`reads_ahead`]), and so does this driver, on
    /// one thread.
    ReadsAhead,
    /// The byte ranges intersect but no element is shared (interleaved views such as
    /// `a[1::2]` and `a[::2]`): nothing to copy. NumPy's exact solver (`solve_may_share_memory`)
    /// proves this too and skips the copy, but its inner loop, which only compares ranges, then
    /// takes its scalar fallback.
    Interleaved,
    /// Anything else: copied first.
    Copy,
}

/// One-dimensional views (at most one dimension longer than 1) that provably share no byte:
/// NumPy's `solve_may_share_memory` for the case its cheapest search settles — equal |stride|.
/// Element `i` of `a` covers `[a0 + i*s, a0 + i*s + ka)`; the views meet iff some
/// `m = i - j` puts `a0 - b0 + m*s` strictly between `-ka` and `kb`.
fn provably_disjoint(a: &ArrayView, b: &ArrayView) -> bool {
    fn progression(v: &ArrayView) -> Option<(isize, isize, isize)> {
        let mut long = v.shape.iter().zip(v.strides).filter(|&(&n, _)| n > 1);
        let (start, step, n) = match (long.next(), long.next()) {
            (None, _) => (v.data as isize, 0, 1),
            (Some((&n, &s)), None) => {
                // Lowest address first, so both progressions run upwards.
                let start = if s < 0 { v.data as isize + s * (n as isize - 1) } else { v.data as isize };
                (start, s.abs(), n as isize)
            }
            _ => return None,
        };
        Some((start, step, n))
    }
    let (Some((a0, sa, na)), Some((b0, sb, nb))) = (progression(a), progression(b)) else {
        return false;
    };
    let (ka, kb) = (a.dtype.itemsize() as isize, b.dtype.itemsize() as isize);
    let s = if na == 1 { sb } else { sa };
    if (na > 1 && nb > 1 && sa != sb) || s < ka.max(kb) || s == 0 {
        return false;
    }
    let d = a0 - b0;
    // m ranges over -(nb - 1) ..= na - 1; the m that can work are near -d / s.
    let lo = (-(nb - 1)).max((-ka - d).div_euclid(s));
    let hi = (na - 1).min((kb - d).div_euclid(s) + 1);
    !(lo..=hi).any(|m| -ka < d + m * s && d + m * s < kb)
}

/// The stride NumPy's "trivial" one-dimensional loop uses for an operand
/// (`PyArray_TRIVIAL_PAIR_ITERATION_STRIDE`): 0 for one element, else the only stride.
fn trivial_stride(shape: &[usize], strides: &[isize]) -> isize {
    match shape.iter().product::<usize>() {
        1 => 0,
        _ => strides.iter().zip(shape).find(|&(_, &n)| n > 1).map_or(0, |(&s, _)| s),
    }
}

/// NumPy's `PyArray_EQUIVALENTLY_ITERABLE_OVERLAP_OK` for an input read while `out` is written
/// by a trivial (one-dimensional, same-shape) loop: the input is never behind the output, so a
/// sequential loop reads each element before any write reaches it.
fn reads_ahead(v: &ArrayView, out: &ArrayViewMut) -> bool {
    let trivial = |shape: &[usize]| shape.iter().filter(|&&n| n > 1).count() <= 1;
    if v.shape != out.shape || !trivial(v.shape) {
        return false;
    }
    let (s_in, s_out) = (trivial_stride(v.shape, v.strides), trivial_stride(out.shape, out.strides));
    let (p_in, p_out) = (v.data as usize, out.data as usize);
    (s_in > 0 && s_in >= s_out && p_in >= p_out) || (s_in < 0 && s_in <= s_out && p_in <= p_out)
}

/// A one-element loop whose operands all step backwards: NumPy turns it round (measured: its
/// complex multiply then takes the SIMD path, as for forward strides). Longer loops with a
/// backwards output never take NumPy's trivial path (see [`settle_overlaps`]).
fn all_step_backwards(inputs: &[&ArrayView], out: &ArrayViewMut) -> bool {
    // The stride that decides a dimension's direction: of a dimension longer than 1, or, for a
    // one-element 1-d operand, its only one (NumPy flips that too).
    fn steps<'s>(shape: &'s [usize], strides: &'s [isize]) -> impl Iterator<Item = isize> + 's {
        let single = shape.len() == 1 && shape[0] == 1;
        shape.iter().zip(strides.iter()).filter(move |&(&n, _)| n > 1 || single).map(|(_, &s)| s)
    }
    let out_backwards = steps(out.shape, out.strides).next().is_some() && steps(out.shape, out.strides).all(|s| s < 0);
    out.size() == 1 && out_backwards && inputs.iter().all(|v| steps(v.shape, v.strides).all(|s| s <= 0))
}

/// One element written into an existing 1-d output: NumPy's trivial loop passes the inputs with
/// stride 0 and the output with its own stride, and its SIMD complex loop refuses an output
/// stride that is 0 or negative, or an input inside the output element (`is_mem_overlap`).
/// Measured against NumPy 2.4: `x *= y` on one-element arrays and `out=a[1:0:-1]` take the
/// scalar loop, `out=np.empty(1)` the SIMD one.
fn single_element_falls_back(inputs: &[&ArrayView], out: &ArrayViewMut) -> bool {
    if out.size() != 1 {
        return false;
    }
    if out.shape.is_empty() {
        // 0-d: measured only in place (`x *= y` on 0-d arrays), where NumPy falls back.
        return inputs.iter().any(|v| std::ptr::eq(v.data, out.data));
    }
    let step = *out.strides.last().expect("a 1-d or larger output has a stride");
    let start = out.data as usize;
    step <= 0 || inputs.iter().any(|v| (start..start + step as usize).contains(&(v.data as usize)))
}

/// Negated strides, for [`reversed`].
fn negated(strides: &[isize]) -> Dims<isize> {
    let mut d = Dims::from_slice(strides);
    d.iter_mut().for_each(|s| *s = -*s);
    d
}

/// The same elements with every dimension walked the other way: the data pointer moves to the
/// last element. (For an empty view there is nothing to move.)
fn reversed<'s>(data: *mut u8, shape: &[usize], strides: &[isize], negated: &'s Dims<isize>) -> (*mut u8, &'s [isize]) {
    if shape.contains(&0) {
        return (data, negated);
    }
    let last: isize = shape.iter().zip(strides).map(|(&n, &s)| s * (n as isize - 1)).sum();
    (data.wrapping_offset(last), negated)
}

/// How `v` (read into a loop of `loop_dtype`) overlaps `out`. `ReadsAhead` only when NumPy
/// would run its trivial in-order loop: same shape as `out`, one non-trivial dimension.
fn classify_overlap(v: &ArrayView, out: &ArrayViewMut, loop_dtype: DType) -> Overlap {
    if !may_overlap(v, &out.as_const()) || same_elements(v.data, v.dtype, &broadcast_strides(v.shape, v.strides, out.shape), out) {
        Overlap::Harmless
    } else if provably_disjoint(v, &out.as_const()) {
        Overlap::Interleaved
    } else if v.dtype == out.dtype && v.dtype == loop_dtype && reads_ahead(v, out) {
        Overlap::ReadsAhead
    } else {
        Overlap::Copy
    }
}

/// NumPy leaves reads-ahead and interleaved inputs uncopied only on its "trivial loop" path:
/// every input has the output's shape (or is 0-d) and none needs a copy. Otherwise its iterator,
/// which judges overlap by byte ranges alone, copies every input whose range meets the output's.
fn settle_overlaps<const N: usize>(overlaps: [Overlap; N], trivial: bool) -> [Overlap; N] {
    if !trivial || overlaps.contains(&Overlap::Copy) {
        overlaps.map(|o| if matches!(o, Overlap::ReadsAhead | Overlap::Interleaved) { Overlap::Copy } else { o })
    } else {
        overlaps
    }
}

/// Plan an input: broadcast its strides to `shape`, copy it first when `overlap` says so, and
/// choose the cast into the loop's dtype.
unsafe fn plan_input<'a>(v: &ArrayView<'a>, shape: &[usize], loop_dtype: DType, overlap: Overlap) -> Result<Plan<'a>, UfuncError> {
    let mut strides = broadcast_strides(v.shape, v.strides, shape);
    let mut base = v.data as *mut u8;
    let mut copy = None;
    if overlap == Overlap::Copy {
        // SAFETY: `v` describes valid memory (the caller's promise to `binary_into`).
        let storage = unsafe { contiguous_copy(v) }?;
        base = storage.as_ptr() as *mut u8;
        let own = super::view::c_strides(v.shape, v.dtype.itemsize()).expect("an existing view's size fits");
        strides = broadcast_strides(v.shape, &own, shape);
        copy = Some(storage);
    }
    let plan = Plan {
        base: SendPtr(base),
        strides,
        cast: (v.dtype != loop_dtype).then(|| cast_loop(v.dtype, loop_dtype)),
        loop_itemsize: loop_dtype.itemsize(),
        itemsize: v.dtype.itemsize(),
        is_output: false,
        _copy: copy,
        _life: std::marker::PhantomData,
    };
    Ok(plan)
}

/// True when the input (already broadcast to `out`'s shape) reads, for every output element,
/// exactly the bytes of that element — NumPy's "equivalently iterable, overlap OK" case.
fn same_elements(data: *const u8, dtype: DType, strides: &[isize], out: &ArrayViewMut) -> bool {
    std::ptr::eq(data, out.data as *const u8)
        && dtype.itemsize() == out.dtype.itemsize()
        && out.shape.iter().zip(strides.iter().zip(out.strides)).all(|(&n, (&s, &o))| n <= 1 || s == o)
}

/// An output that names one element several times (a zero stride along a dimension longer than
/// 1): NumPy's loop writes it in order, the last write wins, and so it must here.
fn writes_repeat(out: &ArrayViewMut) -> bool {
    out.shape.iter().zip(out.strides).any(|(&n, &s)| n > 1 && s == 0)
}

fn plan_output<'a>(out: &ArrayViewMut<'a>, loop_dtype: DType) -> Plan<'a> {
    Plan {
        base: SendPtr(out.data),
        strides: Dims::from_slice(out.strides),
        cast: (out.dtype != loop_dtype).then(|| cast_loop(loop_dtype, out.dtype)),
        loop_itemsize: loop_dtype.itemsize(),
        itemsize: out.dtype.itemsize(),
        is_output: true,
        _copy: None,
        _life: std::marker::PhantomData,
    }
}

/// Run `call(pointers, n, steps)` over every element of `shape`, with per-operand casting
/// through chunk buffers, split across up to `threads` threads when each gets at least
/// `min_bytes` of memory traffic (the bytes every operand moves per element, times elements).
///
/// # Safety
/// Each plan's base and strides address valid memory of its dtype for the whole shape, the
/// output is writable, and no other thread writes the inputs' memory during the call.
unsafe fn drive<const N: usize>(
    shape: &[usize],
    plans: &[Plan; N],
    call: &(dyn Fn([*mut u8; N], usize, [isize; N]) + Sync),
    threads: Threads,
    poll: &mut dyn FnMut() -> bool,
) -> Result<(), UfuncError> {
    let walk = Walk::<N>::new(shape, std::array::from_fn(|k| &*plans[k].strides));
    let inner = walk.shape.len() - 1;
    let steps: [isize; N] = std::array::from_fn(|k| walk.strides[k][inner]);
    let any_cast = plans.iter().any(|p| p.cast.is_some());
    let bases: [SendPtr; N] = std::array::from_fn(|k| plans[k].base);
    let casts: [Option<CastLoop>; N] = std::array::from_fn(|k| plans[k].cast);
    let loop_sizes: [usize; N] = std::array::from_fn(|k| plans[k].loop_itemsize);
    let outputs: [bool; N] = std::array::from_fn(|k| plans[k].is_output);

    let range = |start: usize, end: usize| {
        // Chunk buffers, one per casting operand, per thread (16 bytes per element fits every dtype).
        let mut buffers: Vec<Vec<u128>> = if any_cast { (0..N).map(|k| vec![0u128; if casts[k].is_some() { CHUNK } else { 0 }]).collect() } else { Vec::new() };
        walk.for_each_run(start, end, |offsets, n| {
            // SAFETY: offsets are inside every operand by the walk's construction from their
            // shapes and strides; the caller promised those address valid memory.
            let ptrs: [*mut u8; N] = std::array::from_fn(|k| unsafe { bases[k].0.offset(offsets[k]) });
            if !any_cast {
                call(ptrs, n, steps);
                return;
            }
            let mut done = 0;
            while done < n {
                let m = (n - done).min(CHUNK);
                let mut chunk_ptrs = [std::ptr::null_mut::<u8>(); N];
                let mut chunk_steps = [0isize; N];
                for k in 0..N {
                    // SAFETY: `done < n`, so the position is one the run covers.
                    let at = unsafe { ptrs[k].offset(done as isize * steps[k]) };
                    match casts[k] {
                        None => {
                            chunk_ptrs[k] = at;
                            chunk_steps[k] = steps[k];
                        }
                        Some(cast) => {
                            let buf = buffers[k].as_mut_ptr() as *mut u8;
                            chunk_ptrs[k] = buf;
                            if outputs[k] {
                                chunk_steps[k] = loop_sizes[k] as isize;
                            } else if steps[k] == 0 {
                                // A broadcast operand: convert its one element once per run.
                                if done == 0 {
                                    // SAFETY: one element from a valid position into the buffer.
                                    unsafe { cast(at, 0, buf, 0, 1) };
                                }
                                chunk_steps[k] = 0;
                            } else {
                                // SAFETY: `m` strided elements from a valid run into a buffer of CHUNK.
                                unsafe { cast(at, steps[k], buf, loop_sizes[k] as isize, m) };
                                chunk_steps[k] = loop_sizes[k] as isize;
                            }
                        }
                    }
                }
                call(chunk_ptrs, m, chunk_steps);
                for k in 0..N {
                    if let (true, Some(cast)) = (outputs[k], casts[k]) {
                        // SAFETY: the loop filled `m` elements of the buffer; the destination
                        // positions are inside the output run.
                        unsafe { cast(chunk_ptrs[k], loop_sizes[k] as isize, ptrs[k].offset(done as isize * steps[k]), steps[k], m) };
                    }
                }
                done += m;
            }
        });
    };
    let bytes_per_element: usize = plans.iter().map(|p| p.itemsize).sum();
    run_pieces(walk.size(), bytes_per_element, threads, &range, poll)
}

/// NumPy's "trivial loop" test (`PyArray_TRIVIALLY_ITERABLE_OP_*`) in its commonest form: every
/// input already of the loop's dtype and of the output's shape, each operand one contiguous run
/// in C order, the output in the loop's output dtype and sharing no memory with an input, and
/// at least two elements (for one, NumPy's loop choice follows other rules:
/// `single_element_falls_back`). Then the whole operation is one run of the inner loop, with
/// no walk, plans or overlap analysis to build — what `a + b` on two fresh arrays costs most of
/// its time on at small sizes (docs/06 has the measurements). The general path's `trivial`
/// flag in [`binary_into`] is a wider notion (it only decides which overlaps need copies).
fn trivially_iterable(inputs: &[&ArrayView], loop_input: DType, out: &ArrayViewMut, loop_output: DType) -> bool {
    let out_view = out.as_const();
    out.dtype == loop_output
        && out.size() >= 2
        && out_view.is_c_contiguous()
        && inputs.iter().all(|v| v.dtype == loop_input && v.shape == out.shape && v.is_c_contiguous() && !may_overlap(v, &out_view))
}

/// Memory traffic (bytes every operand moves, summed) between two polls of an elementwise
/// loop: 20–100 ms of one core's work (more for loops that cast). Each block is split over the
/// threads on its own, which costs a helper start (~50 µs) and a wait for the slowest piece per
/// block, so blocks are not made smaller than they need to be: a 10^8-element float64 `a + b`
/// (2.4 GB of traffic) is five.
const POLL_BYTES: usize = 1 << 29;

/// Run `run(start, end)` over `0..n` elements, in blocks of [`POLL_BYTES`] with a `poll` on
/// the calling thread between them, each block cut into pieces for threads by the bytes every
/// operand moves per element: the one split rule of [`drive`] and the trivial loop. The blocks
/// run in order, so a loop that must stay in order (reads-ahead, a repeated output) still is.
fn run_pieces(n: usize, bytes_per_element: usize, threads: Threads, run: &(dyn Fn(usize, usize) + Sync), poll: &mut dyn FnMut() -> bool) -> Result<(), UfuncError> {
    let block = (POLL_BYTES / bytes_per_element.max(1)).max(1);
    let mut start = 0;
    while start < n {
        let end = n.min(start.saturating_add(block));
        let pieces = pieces_for((end - start).saturating_mul(bytes_per_element), threads.max, threads.min_bytes);
        for_each_range(end - start, pieces, &|s, e| run(start + s, start + e));
        start = end;
        if start < n && !poll() {
            return Err(UfuncError::Stopped);
        }
    }
    Ok(())
}

/// `p` advanced by `i` elements of `itemsize` bytes (no dereference, so no bounds promise here).
fn nth(p: &SendPtr, i: usize, itemsize: isize) -> *mut u8 {
    p.0.wrapping_offset(i as isize * itemsize)
}

/// `out[...] = a op b` with NumPy's broadcasting, casting and overlap rules.
///
/// # Safety
/// The views describe valid memory for their shapes and dtypes (the output writable) for the
/// whole call, and no other thread writes that memory meanwhile.
pub unsafe fn binary_into(kernel: &BinaryKernel, a: &ArrayView, b: &ArrayView, out: &ArrayViewMut, threads: Threads) -> Result<(), UfuncError> {
    // SAFETY: forwarded.
    unsafe { binary_into_paced(kernel, a, b, out, threads, &mut never_stop) }
}

/// [`binary_into`] calling `poll` on this thread between blocks of the loop (the output's size
/// is the caller's choice: a broadcast can make any number of elements out of a few);
/// `Err(UfuncError::Stopped)` when a poll says stop.
///
/// # Safety
/// As [`binary_into`].
pub unsafe fn binary_into_paced(
    kernel: &BinaryKernel,
    a: &ArrayView,
    b: &ArrayView,
    out: &ArrayViewMut,
    threads: Threads,
    poll: &mut dyn FnMut() -> bool,
) -> Result<(), UfuncError> {
    // NumPy's order: type resolution (and the output cast it implies) before the iterator
    // looks at shapes.
    if !can_cast_same_kind(kernel.output, out.dtype) {
        return Err(UfuncError::OutputCast { ufunc: kernel.op.ufunc_name(), from: kernel.output, to: out.dtype });
    }
    if trivially_iterable(&[a, b], kernel.input, out, kernel.output) {
        let steps = [a.dtype.itemsize() as isize, b.dtype.itemsize() as isize, out.dtype.itemsize() as isize];
        let (pa, pb, po) = (SendPtr(a.data as *mut u8), SendPtr(b.data as *mut u8), SendPtr(out.data));
        let inner = kernel.inner;
        return run_pieces(out.size(), steps.iter().sum::<isize>() as usize, threads, &|s, e| {
            // SAFETY: s < e ≤ n, and each view is one contiguous run of n elements, valid for
            // the call (caller's promise); the output shares no memory with the inputs.
            unsafe { inner(nth(&pa, s, steps[0]), nth(&pb, s, steps[1]), nth(&po, s, steps[2]), e - s, steps) }
        }, poll);
    }
    let inputs = broadcast_shapes(a.shape, b.shape)?;
    check_output_shape(&inputs, out.shape)?;
    let (na, nb, no) = (negated(a.strides), negated(b.strides), negated(out.strides));
    let (a, b, out) = if all_step_backwards(&[a, b], out) {
        let ((da, sa), (db, sb), (dout, so)) = (
            reversed(a.data as *mut u8, a.shape, a.strides, &na),
            reversed(b.data as *mut u8, b.shape, b.strides, &nb),
            reversed(out.data, out.shape, out.strides, &no),
        );
        (
            ArrayView { data: da, strides: sa, ..*a },
            ArrayView { data: db, strides: sb, ..*b },
            ArrayViewMut { data: dout, strides: so, ..*out },
        )
    } else {
        (*a, *b, *out)
    };
    let (a, b, out) = (&a, &b, &out);
    // NumPy's trivial path (where reads-ahead and interleaved inputs stay uncopied; wider than
    // `trivially_iterable` above, which has already taken the plainest case): operands of
    // the output's shape or 0-d, and (measured) an output that does not step backwards.
    let trivial = [a, b].iter().all(|v| v.shape == out.shape || v.shape.is_empty()) && trivial_stride(out.shape, out.strides) >= 0;
    let overlaps = settle_overlaps([classify_overlap(a, out, kernel.input), classify_overlap(b, out, kernel.input)], trivial);
    // SAFETY (plans): the views describe valid memory for the whole call (our caller's promise).
    let plans = [
        unsafe { plan_input(a, out.shape, kernel.input, overlaps[0]) }?,
        unsafe { plan_input(b, out.shape, kernel.input, overlaps[1]) }?,
        plan_output(out, kernel.output),
    ];
    let reads_ahead = overlaps.contains(&Overlap::ReadsAhead);
    let shares_range = reads_ahead || overlaps.contains(&Overlap::Interleaved);
    // Where NumPy's loop would see overlapping operands, or strides its SIMD path refuses, it
    // takes its scalar fallback; take the same one where its bits differ.
    let inner = match kernel.overlap_fallback {
        Some(fallback) if shares_range || single_element_falls_back(&[a, b], out) => fallback,
        _ => kernel.inner,
    };
    // An in-order loop over reads-ahead operands must stay one loop, on one thread; so must one
    // whose output repeats an element (stride 0), where the last write must win.
    let threads = if reads_ahead || writes_repeat(out) { Threads::ONE } else { threads };
    // SAFETY: the plans cover valid memory (caller's promise; copies are owned by the plans).
    unsafe { drive(out.shape, &plans, &|p, n, s| inner(p[0], p[1], p[2], n, s), threads, poll) }
}

/// `out[...] = op(a)`.
///
/// # Safety
/// As [`binary_into`].
pub unsafe fn unary_into(kernel: &UnaryKernel, a: &ArrayView, out: &ArrayViewMut, threads: Threads) -> Result<(), UfuncError> {
    // SAFETY: forwarded.
    unsafe { unary_into_paced(kernel, a, out, threads, &mut never_stop) }
}

/// [`unary_into`] with a `poll` between blocks, as [`binary_into_paced`].
///
/// # Safety
/// As [`binary_into`].
pub unsafe fn unary_into_paced(kernel: &UnaryKernel, a: &ArrayView, out: &ArrayViewMut, threads: Threads, poll: &mut dyn FnMut() -> bool) -> Result<(), UfuncError> {
    if !can_cast_same_kind(kernel.output, out.dtype) {
        return Err(UfuncError::OutputCast { ufunc: kernel.op.ufunc_name(), from: kernel.output, to: out.dtype });
    }
    check_output_shape(a.shape, out.shape)?;
    if trivially_iterable(&[a], kernel.input, out, kernel.output) {
        let steps = [a.dtype.itemsize() as isize, out.dtype.itemsize() as isize];
        let (pa, po) = (SendPtr(a.data as *mut u8), SendPtr(out.data));
        let inner = kernel.inner;
        return run_pieces(out.size(), steps.iter().sum::<isize>() as usize, threads, &|s, e| {
            // SAFETY: as in `binary_into`.
            unsafe { inner(nth(&pa, s, steps[0]), nth(&po, s, steps[1]), e - s, steps) }
        }, poll);
    }
    let (na, no) = (negated(a.strides), negated(out.strides));
    let (a, out) = if all_step_backwards(&[a], out) {
        let ((da, sa), (dout, so)) = (reversed(a.data as *mut u8, a.shape, a.strides, &na), reversed(out.data, out.shape, out.strides, &no));
        (ArrayView { data: da, strides: sa, ..*a }, ArrayViewMut { data: dout, strides: so, ..*out })
    } else {
        (*a, *out)
    };
    let (a, out) = (&a, &out);
    let [overlap] = settle_overlaps([classify_overlap(a, out, kernel.input)], a.shape == out.shape && trivial_stride(out.shape, out.strides) >= 0);
    let threads = if overlap == Overlap::ReadsAhead || writes_repeat(out) { Threads::ONE } else { threads };
    // SAFETY: `a` describes valid memory for the whole call (our caller's promise).
    let plans = [unsafe { plan_input(a, out.shape, kernel.input, overlap) }?, plan_output(out, kernel.output)];
    let inner = kernel.inner;
    // SAFETY: as in `binary_into`.
    unsafe { drive(out.shape, &plans, &|p, n, s| inner(p[0], p[1], n, s), threads, poll) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::array::elementwise::{resolve_binary, resolve_unary, BinaryOp, UnaryOp};

    fn view<'a, T>(data: &'a [T], dtype: DType, shape: &'a [usize], strides: &'a [isize]) -> ArrayView<'a> {
        ArrayView { data: data.as_ptr() as *const u8, dtype, shape, strides }
    }

    #[test]
    fn broadcast_add_with_cast() {
        // (2,3) uint8 + (3,) float64 -> float64
        let a: [u8; 6] = [1, 2, 3, 4, 5, 255];
        let b: [f64; 3] = [0.5, -1.0, 10.0];
        let mut out = [0f64; 6];
        let k = resolve_binary(BinaryOp::Add, DType::UInt8, DType::Float64).unwrap();
        let o = ArrayViewMut { data: out.as_mut_ptr() as *mut u8, dtype: DType::Float64, shape: &[2, 3], strides: &[24, 8] };
        // SAFETY: the views are exactly the locals: `a` 6 u8 at 3i + j, `b` 3 f64 at 8j, `out`
        // 6 f64 at 24i + 8j (writable, separate from the inputs); all live through the call and
        // no other thread touches them.
        unsafe { binary_into(&k, &view(&a, DType::UInt8, &[2, 3], &[3, 1]), &view(&b, DType::Float64, &[3], &[8]), &o, Threads::ONE) }.unwrap();
        assert_eq!(out, [1.5, 1.0, 13.0, 4.5, 4.0, 265.0]);
    }

    #[test]
    fn shape_and_cast_errors() {
        let a = [0f64; 6];
        let mut out = [0i32; 6];
        let k = resolve_binary(BinaryOp::Add, DType::Float64, DType::Float64).unwrap();
        let o = ArrayViewMut { data: out.as_mut_ptr() as *mut u8, dtype: DType::Int32, shape: &[6], strides: &[4] };
        // SAFETY (both calls): every view lies within its live local: `a` (6 f64) is read as
        // [6]/[8], [2, 3]/[24, 8] and [2]/[8]; `out` is 6 i32 at stride 4, `out64` 6 f64 at
        // 24i + 8j. Inputs are only read, so sharing `a` between them is fine; single-threaded.
        let e = unsafe { binary_into(&k, &view(&a, DType::Float64, &[6], &[8]), &view(&a, DType::Float64, &[6], &[8]), &o, Threads::ONE) }.unwrap_err();
        assert_eq!(e.to_string(), "Cannot cast ufunc 'add' output from dtype('float64') to dtype('int32') with casting rule 'same_kind'");
        let mut out64 = [0f64; 6];
        let o = ArrayViewMut { data: out64.as_mut_ptr() as *mut u8, dtype: DType::Float64, shape: &[2, 3], strides: &[24, 8] };
        let e = unsafe { binary_into(&k, &view(&a, DType::Float64, &[2, 3], &[24, 8]), &view(&a, DType::Float64, &[2], &[8]), &o, Threads::ONE) }.unwrap_err();
        assert_eq!(e.to_string(), "operands could not be broadcast together with shapes (2,3) (2,) ");
    }

    #[test]
    fn overlapping_in_place_matches_copy_semantics() {
        // a[1:] += a[:-1]  — NumPy copies the input first, so each element adds the OLD left neighbour.
        let mut a: Vec<i64> = (1..=8).collect();
        let expected: Vec<i64> = std::iter::once(1).chain((1..8).map(|i| a[i] + a[i - 1])).collect();
        let k = resolve_binary(BinaryOp::Add, DType::Int64, DType::Int64).unwrap();
        let p = a.as_mut_ptr() as *mut u8;
        // SAFETY: `a` has 8 i64 = 64 bytes, so p + 8 is inside it; `out` covers bytes 8..64 and
        // `left` bytes 0..56. binary_into allows overlapping operands (it resolves the overlap,
        // here by copying the input); `a` is not otherwise used until the assert after the call.
        let out = ArrayViewMut { data: unsafe { p.add(8) }, dtype: DType::Int64, shape: &[7], strides: &[8] };
        let left = ArrayView { data: p, dtype: DType::Int64, shape: &[7], strides: &[8] };
        // SAFETY: the views above, over the live `a` (see there).
        unsafe { binary_into(&k, &out.as_const(), &left, &out, Threads::ONE) }.unwrap();
        assert_eq!(a, expected);
        // Reversed in-place: a[::-1] *= a  (element i gets a[i] * a[n-1-i] from the OLD values).
        let mut a: Vec<i64> = (1..=5).collect();
        let old = a.clone();
        let p = a.as_mut_ptr() as *mut u8;
        // SAFETY: `a` has 5 i64 = 40 bytes; p + 32 is its last element and `rev` (stride -8)
        // covers bytes 32 - 8i, i < 5, i.e. 0..40, as does `fwd`. The overlap is handled by
        // binary_into; `a` is not otherwise used until the assert after the call.
        let rev = ArrayViewMut { data: unsafe { p.add(32) }, dtype: DType::Int64, shape: &[5], strides: &[-8] };
        let fwd = ArrayView { data: p, dtype: DType::Int64, shape: &[5], strides: &[8] };
        let k = resolve_binary(BinaryOp::Multiply, DType::Int64, DType::Int64).unwrap();
        // SAFETY: the views above, over the live `a` (see there).
        unsafe { binary_into(&k, &rev.as_const(), &fwd, &rev, Threads::ONE) }.unwrap();
        assert_eq!(a, (0..5).map(|i| old[i] * old[4 - i]).collect::<Vec<_>>());
    }

    #[test]
    fn interleaved_views_are_disjoint() {
        let buf = [0u8; 256];
        let p = buf.as_ptr();
        // SAFETY: every `off` used below is at most 112, inside the 256-byte `buf`; the views are
        // only compared by address arithmetic in provably_disjoint, never dereferenced.
        let v = |off: usize, n: &'static [usize], s: &'static [isize]| ArrayView { data: unsafe { p.add(off) }, dtype: DType::Complex128, shape: n, strides: s };
        // Even and odd complex elements: the ranges overlap, the elements never do.
        assert!(provably_disjoint(&v(0, &[4], &[32]), &v(16, &[4], &[32])));
        assert!(!provably_disjoint(&v(0, &[4], &[32]), &v(32, &[4], &[32])));
        // Reversed odd elements against forward even ones.
        assert!(provably_disjoint(&v(112, &[4], &[-32]), &v(0, &[4], &[32])));
        // Half-element offset: they do share bytes.
        assert!(!provably_disjoint(&v(0, &[4], &[32]), &v(8, &[4], &[32])));
        // Different strides: not settled here.
        assert!(!provably_disjoint(&v(0, &[4], &[32]), &v(16, &[2], &[64])));
        // A single element between two others.
        assert!(provably_disjoint(&v(16, &[1], &[0]), &v(0, &[4], &[32])));
        assert!(!provably_disjoint(&v(64, &[1], &[0]), &v(0, &[4], &[32])));
    }

    /// The trivial loop (`trivially_iterable`: contiguous operands, a separate output) gives the
    /// general path's bits: the same product written into every other element of a wider buffer
    /// (a strided output, so the walk, plans and overlap analysis run) — complex multiply, whose
    /// two loops round differently, and on one and on several threads.
    #[test]
    fn trivial_loop_matches_general_path() {
        let n = 5000;
        let a: Vec<f64> = (0..2 * n).map(|i| (i as f64 * 0.37).sin() * 1e3).collect(); // n complex128
        let b: Vec<f64> = (0..2 * n).map(|i| (i as f64 * 0.11).cos() / 7.0).collect();
        let shape = [n];
        let k = resolve_binary(BinaryOp::Multiply, DType::Complex128, DType::Complex128).unwrap();
        let u = resolve_unary(UnaryOp::Negative, DType::Complex128).unwrap();
        for threads in [Threads::ONE, Threads { max: 3, min_bytes: 1 }] {
            let (mut fast, mut wide) = (vec![0f64; 2 * n], vec![0f64; 4 * n]);
            let (va, vb) = (view(&a, DType::Complex128, &shape, &[16]), view(&b, DType::Complex128, &shape, &[16]));
            let o_fast = ArrayViewMut { data: fast.as_mut_ptr() as *mut u8, dtype: DType::Complex128, shape: &shape, strides: &[16] };
            let o_wide = ArrayViewMut { data: wide.as_mut_ptr() as *mut u8, dtype: DType::Complex128, shape: &shape, strides: &[32] };
            assert!(trivially_iterable(&[&va, &vb], DType::Complex128, &o_fast, DType::Complex128));
            assert!(!trivially_iterable(&[&va, &vb], DType::Complex128, &o_wide, DType::Complex128));
            // SAFETY: `a`, `b` hold n complex128 each (contiguous views); `fast` n and `wide` 2n
            // complex128, written at stride 16 and 32 bytes: all locals, live through the calls,
            // outputs separate from the inputs.
            unsafe { binary_into(&k, &va, &vb, &o_fast, threads) }.unwrap();
            // SAFETY: as above.
            unsafe { binary_into(&k, &va, &vb, &o_wide, threads) }.unwrap();
            let every_other: Vec<f64> = wide.chunks(4).flat_map(|c| [c[0], c[1]]).collect();
            assert_eq!(fast.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), every_other.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
            // SAFETY: as above, one input.
            unsafe { unary_into(&u, &va, &o_fast, threads) }.unwrap();
            // SAFETY: as above.
            unsafe { unary_into(&u, &va, &o_wide, threads) }.unwrap();
            let every_other: Vec<f64> = wide.chunks(4).flat_map(|c| [c[0], c[1]]).collect();
            assert_eq!(fast, every_other);
            assert_eq!(fast[..2], [-a[0], -a[1]]);
        }
    }

    #[test]
    fn threads_and_chunks_agree_with_one_thread() {
        let n = 3 * 65536 + 17;
        let a: Vec<i32> = (0..n as i32).collect();
        let b: Vec<f32> = (0..n).map(|i| i as f32 * 0.25).collect();
        let k = resolve_binary(BinaryOp::Multiply, DType::Int32, DType::Float32).unwrap();
        let shape = [n];
        let run = |threads| {
            let mut out = vec![0f64; n];
            let o = ArrayViewMut { data: out.as_mut_ptr() as *mut u8, dtype: DType::Float64, shape: &shape, strides: &[8] };
            // SAFETY: `a` (n i32), `b` (n f32) and `out` (n f64, fresh, writable) each match their
            // contiguous view of n elements and outlive the call; the inputs are only read, and
            // the worker threads binary_into starts write disjoint chunks of `out`.
            unsafe { binary_into(&k, &view(&a, DType::Int32, &shape, &[4]), &view(&b, DType::Float32, &shape, &[4]), &o, threads) }.unwrap();
            out
        };
        let one = run(Threads::ONE);
        assert_eq!(one[7], 7.0 * 1.75);
        assert_eq!(run(Threads { max: 4, min_bytes: 1 }), one);
        assert_eq!(run(Threads { max: 3, min_bytes: 4096 }), one);
    }

    #[test]
    fn a_stop_ends_a_broadcast_loop_of_any_length() {
        // (2^20, 1) + (1, 2^20): 2^40 sums, into one element (a zero-stride output).
        let (a, b) = (vec![1.0f64; 1 << 20], vec![2.0f64; 1 << 20]);
        let mut out = [0.0f64];
        let va = view(&a, DType::Float64, &[1 << 20, 1], &[8, 8]);
        let vb = view(&b, DType::Float64, &[1, 1 << 20], &[8, 8]);
        let vo = ArrayViewMut { data: out.as_mut_ptr() as *mut u8, dtype: DType::Float64, shape: &[1 << 20, 1 << 20], strides: &[0, 0] };
        let kernel = resolve_binary(BinaryOp::Add, DType::Float64, DType::Float64).unwrap();
        let mut polls = 0;
        // SAFETY: the inputs are the live vectors; the output is the one element of `out`.
        let r = unsafe {
            binary_into_paced(&kernel, &va, &vb, &vo, Threads::ONE, &mut || {
                polls += 1;
                false
            })
        };
        assert_eq!((r, polls, out), (Err(UfuncError::Stopped), 1, [3.0]));
    }

    #[test]
    fn unary_abs_of_reversed_view() {
        let a = [-1.5f32, 2.0, -0.0];
        let mut out = [9f32; 3];
        let k = resolve_unary(UnaryOp::Absolute, DType::Float32).unwrap();
        let o = ArrayViewMut { data: out.as_mut_ptr() as *mut u8, dtype: DType::Float32, shape: &[3], strides: &[4] };
        // SAFETY: `a` is 3 f32 = 12 bytes, so byte 8 is its last element and `rev` (stride -4)
        // reads bytes 8, 4, 0; `o` is the 3 f32 of the separate local `out`.
        let rev = ArrayView { data: unsafe { (a.as_ptr() as *const u8).add(8) }, dtype: DType::Float32, shape: &[3], strides: &[-4] };
        // SAFETY: the views above, over the live locals `a` and `out`.
        unsafe { unary_into(&k, &rev, &o, Threads::ONE) }.unwrap();
        assert_eq!(out, [0.0, 2.0, 1.5]);
    }
}

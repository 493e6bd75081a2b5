//! Splitting one scan across threads: scoped threads per call, no pool.
//!
//! A byte sum or a newline count over `n` bytes splits into independent sums over pieces, so a
//! large input is cut into one piece per thread, each piece scanned by the single-threaded
//! kernel, and the results added. The threads are `std::thread::scope` threads created for the
//! call and joined before it returns:
//! - no state outlives a call, so nothing can be left broken in a child after `fork()` (a pool's
//!   worker threads do not exist in the child, while its bookkeeping says they do);
//! - the pieces borrow the caller's memory for exactly the scope's lifetime, checked by the
//!   compiler, with no `'static` or reference counting;
//! - spawning costs ~40–55 µs per thread on the machine the threshold was measured on, which is
//!   why only inputs of at least [`DEFAULT_MIN_BYTES_PER_THREAD`] per thread are split
//!   (docs/appendix-a-speed.md shows how that figure was measured).
//!
//! A thread that cannot be spawned (`Builder::spawn_scoped` returns the OS error, e.g. EAGAIN at
//! a process limit) is not an error: its piece runs on the calling thread instead.
//!
//! The glue releases the GIL before calling in, so the workers and the calling thread only
//! touch memory, never Python objects.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use super::memory::Units;

/// Below this many bytes per thread, another thread costs more than it saves. Measured with
/// `examples/bench.py --threshold` (table in docs/appendix-a-speed.md): creating and joining a thread
/// costs ~45 µs on the 2-core AVX-512 VM, one thread reads a buffer in its large L3 at 80+ GB/s
/// and DRAM at 13–19 GB/s, and with the other core busy a new thread waits for it; a forced
/// split stayed slower than one thread up to 16 MiB there. So calls split only from 32 MiB.
pub const DEFAULT_MIN_BYTES_PER_THREAD: usize = 16 << 20;

/// The same for the elementwise loops (`a + b`, src/kernels/array/ufunc.rs), which split from a
/// smaller size. Their bytes are *traffic* — every operand's bytes, read or written — and a
/// result written by two threads is also faulted in by two. Measured with a float64 add on the
/// 2-core VM (one process, interleaved, medians, both cores otherwise idle): 3e5 elements
/// (7 MB of traffic, 60 µs) were 0.92x as fast split in two as on one thread, 5e5 (12 MB)
/// 1.2–1.4x, 1e6 (24 MB) 1.4–1.6x. So a loop splits from 10 MiB, 5 MiB per thread.
pub const DEFAULT_LOOP_MIN_BYTES_PER_THREAD: usize = 5 << 20;

/// The largest thread count `set_num_threads` accepts: far above any core count, low enough
/// that a typo (`set_num_threads(10**9)`) is refused rather than attempted.
pub const MAX_THREADS: usize = 1024;

/// 0 = not chosen yet (then [`configure_from_env`] decides).
static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);
static MIN_BYTES_PER_THREAD: AtomicUsize = AtomicUsize::new(DEFAULT_MIN_BYTES_PER_THREAD);

/// The CPUs this process may run on (`sched_getaffinity` on Linux, via std), at least 1.
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// The environment variable that sets the default thread count.
pub const ENV_VAR: &str = "RAWCAPI_NUM_THREADS";

/// Parse a thread count (from the environment or a test): an integer in `1..=MAX_THREADS`.
pub fn parse_num_threads(value: &str) -> Result<usize, String> {
    match value.trim().parse::<i64>() {
        Ok(n) if (1..=MAX_THREADS as i64).contains(&n) => Ok(n as usize),
        Ok(n) => Err(format!("{n} is out of range: expected 1 to {MAX_THREADS}")),
        Err(_) => Err(format!("{value:?} is not an integer")),
    }
}

/// The thread count before any `set_num_threads`: `RAWCAPI_NUM_THREADS` if set (read once per
/// process, at the first import), else [`available_cpus`]. A malformed value is an error at
/// import, like a bad `RAWCAPI_SIMD`.
pub fn configure_from_env() -> Result<usize, String> {
    static CONFIGURED: OnceLock<Result<usize, String>> = OnceLock::new();
    CONFIGURED
        .get_or_init(|| {
            let n = match std::env::var(ENV_VAR) {
                Ok(value) if !value.trim().is_empty() => parse_num_threads(&value).map_err(|e| format!("{ENV_VAR}={value:?}: {e}"))?,
                _ => available_cpus(),
            };
            // Only if nothing was set yet (an explicit set_num_threads wins).
            let _ = NUM_THREADS.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed);
            Ok(n)
        })
        .clone()
}

/// Threads a large scan may use (1 = the calling thread alone).
pub fn num_threads() -> usize {
    match NUM_THREADS.load(Ordering::Relaxed) {
        0 => configure_from_env().unwrap_or_else(|_| available_cpus()),
        n => n,
    }
}

/// Set the thread count, process-wide; returns the previous one.
///
/// # Panics
/// If `n` is not in `1..=MAX_THREADS` (the glue validates first and raises ValueError).
pub fn set_num_threads(n: usize) -> usize {
    assert!((1..=MAX_THREADS).contains(&n), "thread count {n} out of range");
    let previous = num_threads();
    NUM_THREADS.store(n, Ordering::Relaxed);
    previous
}

/// Set the minimum piece size and return the previous one: for tests (split tiny inputs to
/// check the splitting) and for measuring the threshold. 0 is treated as 1.
pub fn set_min_bytes_per_thread(nbytes: usize) -> usize {
    MIN_BYTES_PER_THREAD.swap(nbytes.max(1), Ordering::Relaxed)
}

/// The current minimum piece size in bytes (see [`set_min_bytes_per_thread`]).
pub fn min_bytes_per_thread() -> usize {
    MIN_BYTES_PER_THREAD.load(Ordering::Relaxed)
}

/// The minimum piece size of an elementwise loop: [`DEFAULT_LOOP_MIN_BYTES_PER_THREAD`], or
/// less when [`set_min_bytes_per_thread`] has lowered the scans' threshold below it (the tests'
/// way to split tiny inputs applies to every kind of work).
pub fn loop_min_bytes_per_thread() -> usize {
    min_bytes_per_thread().min(DEFAULT_LOOP_MIN_BYTES_PER_THREAD)
}

/// The CPU the calling thread runs on (`sched_getcpu`), read before it spawns helpers so each
/// helper can start on another one ([`start_away_from`]). `None` where unknown.
pub fn current_cpu() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: no arguments, no memory touched; returns -1 on failure.
        let cpu = unsafe { libc::sched_getcpu() };
        usize::try_from(cpu).ok()
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Move a just-started helper thread to the `index`-th CPU after `caller_cpu` among the CPUs
/// this process may use, then allow every one of them again. For long work only.
///
/// Why: on the 2-vCPU VM a new thread always started on its parent's CPU (`sched_getcpu` in
/// both, 12 of 12 spawns), and a helper that computes without pause could share that CPU with
/// its caller for a whole 10 ms product (105 GFLOP/s instead of ~210). Setting the helper's
/// affinity to one other CPU migrates it at once; restoring the full mask straight after leaves
/// the scheduler free to move it later (rawcapi pins nothing) and keeps any mask the user set
/// with `taskset` or `os.sched_setaffinity`: only CPUs in it are chosen.
///
/// The price is the wait for the move: 35–140 µs more before the helper starts (waking an idle
/// vCPU), measured. For the scans and elementwise loops, which last a millisecond or so and
/// whose helpers get moved soon enough by the scheduler, that made things slower (a 64 MiB
/// fast_sum on two threads: 1.6 ms with the move, 1.2 ms without; a 1e6 add: 1.3x NumPy
/// instead of 1.6x), so only `tasks::run_tasks` callers with long tasks ask for it.
/// A hint: on failure, or with one CPU allowed, nothing changes. Elsewhere than Linux, a no-op.
///
/// Returns the CPU the thread ran on while it was pinned there (for the test), `None` when it
/// was not moved.
pub fn start_away_from(caller_cpu: Option<usize>, index: usize) -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        let caller_cpu = caller_cpu?;
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: `cpu_set_t` is a plain bit array; all-zero is the empty set.
        let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: pid 0 = this thread; `allowed` is a writable cpu_set_t of `size` bytes.
        if unsafe { libc::sched_getaffinity(0, size, &mut allowed) } != 0 {
            return None;
        }
        let max = 8 * size;
        // SAFETY (CPU_ISSET, CPU_SET): indices below `max` are inside the set's bits.
        let cpus: Vec<usize> = (0..max).filter(|&c| unsafe { libc::CPU_ISSET(c, &allowed) }).collect();
        if cpus.len() < 2 {
            return None;
        }
        let from = cpus.iter().position(|&c| c == caller_cpu).unwrap_or(0);
        let target = cpus[(from + 1 + index) % cpus.len()];
        if target == caller_cpu {
            return None;
        }
        // SAFETY: as above, the empty set ...
        let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: ... with one bit set, `target` < `max`.
        unsafe { libc::CPU_SET(target, &mut one) };
        // SAFETY: pid 0 = this thread; both sets are valid cpu_set_t values of `size` bytes.
        unsafe {
            if libc::sched_setaffinity(0, size, &one) != 0 {
                return None;
            }
            // Pinned to `target`: the kernel has moved the thread there before returning.
            let moved_to = current_cpu();
            libc::sched_setaffinity(0, size, &allowed);
            moved_to
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (caller_cpu, index);
        None
    }
}

/// How many pieces to cut `nbytes` into with `threads` threads available.
pub fn pieces_for(nbytes: usize, threads: usize, min_bytes_per_thread: usize) -> usize {
    threads.min(nbytes / min_bytes_per_thread.max(1)).max(1)
}

/// `kernel(units)`, or the sum of `kernel` over pieces of `units` scanned on scoped threads
/// when the input is large enough (see the module comment). `kernel` must be additive:
/// `kernel(a ++ b) == kernel(a) + kernel(b)`.
#[inline(always)]
pub fn fold<T: Copy + Sync>(units: Units<T>, kernel: impl Fn(Units<T>) -> u64 + Sync) -> u64 {
    let nbytes = units.len().saturating_mul(std::mem::size_of::<T>());
    let min_bytes = MIN_BYTES_PER_THREAD.load(Ordering::Relaxed);
    // The common small call: one compare, then the kernel, inlined into the caller. The split
    // is out of line so its stack frame and spills are not paid by every tiny call.
    if nbytes < min_bytes.saturating_mul(2) {
        return kernel(units);
    }
    fold_large(units, nbytes, min_bytes, &kernel)
}

#[inline(never)]
fn fold_large<T: Copy + Sync>(units: Units<T>, nbytes: usize, min_bytes: usize, kernel: &(impl Fn(Units<T>) -> u64 + Sync)) -> u64 {
    let pieces = pieces_for(nbytes, num_threads(), min_bytes);
    if pieces <= 1 {
        return kernel(units);
    }
    fold_in_pieces(units, pieces, kernel)
}

/// Cut `units` into `pieces` near-equal pieces; scan `pieces - 1` on new threads and the last
/// on this one. (`fold` chooses `pieces`; tests call this directly to force a split.)
pub fn fold_in_pieces<T: Copy + Sync>(units: Units<T>, pieces: usize, kernel: &(impl Fn(Units<T>) -> u64 + Sync)) -> u64 {
    let pieces = pieces.max(1);
    std::thread::scope(|scope| {
        let mut workers = Vec::with_capacity(pieces - 1);
        let mut total = 0u64;
        let mut rest = units;
        for k in 0..pieces - 1 {
            let (piece, after) = rest.split_at(rest.len() / (pieces - k));
            rest = after;
            let spawned = builder("rawcapi-scan").spawn_scoped(scope, move || kernel(piece));
            match spawned {
                Ok(handle) => workers.push(handle),
                // No thread to be had: do the piece here rather than fail the call.
                Err(_) => total += kernel(piece),
            }
        }
        total += kernel(rest);
        for worker in workers {
            // A panicking kernel is a bug; carry the panic to this thread, where the entry
            // point's guard turns it into SystemError (the GIL is re-taken while unwinding).
            total += worker.join().unwrap_or_else(|payload| std::panic::resume_unwind(payload));
        }
        total
    })
}

/// The builder for a worker. Under `cargo test` it can be made to ask for an impossible stack,
/// so the OS refuses the thread and the fallback path runs for real.
fn builder(name: &str) -> std::thread::Builder {
    let builder = std::thread::Builder::new().name(name.into());
    #[cfg(test)]
    if tests::REFUSE_SPAWNS.load(Ordering::Relaxed) {
        return builder.stack_size(1 << 62);
    }
    builder
}

/// Call `work(start, end)` over `0..total`, on this thread and up to `threads - 1` helpers,
/// each range exactly once, and return when all are done.
///
/// For work that is not a sum (the elementwise loops write disjoint ranges of an output). The
/// range is cut into `chunks_per_thread * threads` chunks that the threads *claim* from a shared
/// counter, rather than into one fixed piece per thread. That matters on a busy machine: a
/// spawned helper may not get a core for milliseconds, and with fixed pieces the caller would sit
/// in `join` until it does (measured: a 1e6-element add 3x slower on two threads than on one
/// while other processes kept both cores busy). Here the caller keeps claiming chunks, so a
/// helper that starts late finds nothing left and simply exits; the caller waits only for
/// chunks that were actually claimed. Helpers are therefore plain (detached) threads, not
/// scoped ones: see the SAFETY argument in the body for why `work` is still never called after
/// this function returns.
///
/// A helper that cannot be spawned is not an error (its share is claimed by the others). A panic
/// in `work` on any thread is re-raised on this one after every claimed chunk has finished.
pub fn for_each_range(total: usize, threads: usize, work: &(dyn Fn(usize, usize) + Sync)) {
    const CHUNKS_PER_THREAD: usize = 4;
    let threads = threads.clamp(1, total.max(1));
    if threads == 1 {
        work(0, total);
        return;
    }
    let chunks = (threads * CHUNKS_PER_THREAD).min(total);
    let shared = std::sync::Arc::new(Claims {
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        chunks,
        total,
        // SAFETY (of the lifetime erasure): `work` is called only by a thread that claimed a
        // chunk (`next < chunks`), and this function does not return before `done == claimed`,
        // i.e. before every such call has returned. A helper that runs after that point fails
        // its claim and never dereferences the pointer; a raw pointer may dangle unused.
        work: unsafe { std::mem::transmute::<*const (dyn Fn(usize, usize) + Sync + '_), *const (dyn Fn(usize, usize) + Sync + 'static)>(work) },
        panic: std::sync::Mutex::new(None),
    });
    for _ in 1..threads {
        let helper = std::sync::Arc::clone(&shared);
        // A failed spawn drops its Arc clone and leaves its chunks to the others.
        let _ = builder("rawcapi-loop").spawn(move || helper.run());
    }
    shared.run();
    // Every chunk has been claimed (our own `run` only returns when the counter is exhausted);
    // wait for the ones other threads are still running.
    let mut spins = 0u32;
    while shared.done.load(Ordering::Acquire) < shared.chunks {
        spins += 1;
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    let payload = shared.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(payload) = payload {
        std::panic::resume_unwind(payload);
    }
}

/// The state [`for_each_range`]'s threads share.
struct Claims {
    next: AtomicUsize,
    done: AtomicUsize,
    chunks: usize,
    total: usize,
    work: *const (dyn Fn(usize, usize) + Sync + 'static),
    panic: std::sync::Mutex<Option<Box<dyn std::any::Any + Send>>>,
}

// SAFETY: `work` points at a `Sync` closure (callable from any thread), dereferenced only under
// the claim protocol described in `for_each_range`; the other fields are atomics and a mutex.
unsafe impl Send for Claims {}
// SAFETY: as above.
unsafe impl Sync for Claims {}

impl Claims {
    fn run(&self) {
        loop {
            let chunk = self.next.fetch_add(1, Ordering::Relaxed);
            if chunk >= self.chunks {
                return;
            }
            let bound = |i: usize| self.total / self.chunks * i + (self.total % self.chunks).min(i);
            // SAFETY: a successful claim; the caller of `for_each_range` is still waiting for
            // this chunk, so the closure behind `work` is alive.
            let work = unsafe { &*self.work };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(bound(chunk), bound(chunk + 1))));
            if let Err(payload) = result {
                self.panic.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(payload);
            }
            self.done.fetch_add(1, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    pub(super) static REFUSE_SPAWNS: AtomicBool = AtomicBool::new(false);
    /// Tests run in parallel: the ones that set REFUSE_SPAWNS hold this, so one cannot clear
    /// the flag while another relies on it.
    static REFUSING: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[cfg(target_os = "linux")]
    fn affinity() -> Vec<usize> {
        // SAFETY: a zeroed cpu_set_t is the empty set; pid 0 = this thread; indices < 8*size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            assert_eq!(libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set), 0);
            (0..8 * std::mem::size_of::<libc::cpu_set_t>()).filter(|&c| libc::CPU_ISSET(c, &set)).collect()
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_helper_starts_off_the_callers_cpu_and_keeps_every_cpu_allowed() {
        let before = affinity();
        let caller = current_cpu();
        assert!(caller.is_some_and(|c| before.contains(&c)));
        let (cpu_after_move, mask_after) = std::thread::spawn(move || {
            let moved_to = start_away_from(caller, 0);
            (moved_to, affinity())
        })
        .join()
        .unwrap();
        // Nothing stays pinned: the helper may run anywhere the process may.
        assert_eq!(mask_after, before);
        // With one CPU allowed there is nowhere to move; with more, the helper ran on another
        // allowed CPU than the caller's (read while it was pinned there).
        if before.len() >= 2 {
            assert!(cpu_after_move.is_some_and(|c| before.contains(&c) && Some(c) != caller), "{cpu_after_move:?} {before:?}");
        } else {
            assert_eq!(cpu_after_move, None);
        }
        // No caller CPU, or one outside the set: no failure, and the mask is left as it was.
        assert_eq!(start_away_from(None, 0), None);
        start_away_from(Some(usize::MAX / 2), 3);
        assert_eq!(affinity(), before);
    }

    #[test]
    fn a_refused_spawn_runs_the_piece_here() {
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let expected: u64 = data.iter().map(|&b| u64::from(b)).sum();
        let threads_seen = std::sync::Mutex::new(std::collections::HashSet::new());
        let kernel = |u: Units<u8>| {
            threads_seen.lock().unwrap().insert(std::thread::current().id());
            // SAFETY: i < u.len() (read's contract). `u` is a piece split from
            // Units::from_slice(&data), and `data` is alive and unmodified for the whole
            // fold_in_pieces call, which joins every piece before returning.
            (0..u.len()).map(|i| u64::from(unsafe { u.read(i) })).sum::<u64>()
        };
        let _refusing = REFUSING.lock().unwrap_or_else(|e| e.into_inner());
        REFUSE_SPAWNS.store(true, Ordering::Relaxed);
        let total = fold_in_pieces(Units::from_slice(&data), 4, &kernel);
        REFUSE_SPAWNS.store(false, Ordering::Relaxed);
        assert_eq!(total, expected);
        assert_eq!(threads_seen.lock().unwrap().len(), 1, "every piece ran on the calling thread");
    }

    #[test]
    fn refused_loop_helpers_leave_every_range_to_the_caller() {
        let seen = std::sync::Mutex::new(vec![0u8; 1000]);
        let caller = std::thread::current().id();
        let others = AtomicUsize::new(0);
        let _refusing = REFUSING.lock().unwrap_or_else(|e| e.into_inner());
        REFUSE_SPAWNS.store(true, Ordering::Relaxed);
        for_each_range(1000, 4, &|lo, hi| {
            if std::thread::current().id() != caller {
                others.fetch_add(1, Ordering::Relaxed);
            }
            seen.lock().unwrap()[lo..hi].iter_mut().for_each(|x| *x += 1);
        });
        REFUSE_SPAWNS.store(false, Ordering::Relaxed);
        assert!(seen.lock().unwrap().iter().all(|&x| x == 1), "every index exactly once");
        assert_eq!(others.load(Ordering::Relaxed), 0, "no helper could be spawned, so the caller did it all");
    }

    #[test]
    fn pieces_never_exceed_threads_or_size() {
        assert_eq!(pieces_for(0, 8, 100), 1);
        assert_eq!(pieces_for(99, 8, 100), 1);
        assert_eq!(pieces_for(200, 8, 100), 2);
        assert_eq!(pieces_for(10_000, 8, 100), 8);
        assert_eq!(pieces_for(10_000, 1, 100), 1);
        assert_eq!(pieces_for(10, 4, 0), 4);
    }

    #[test]
    fn every_piece_count_sums_every_element_once() {
        let data: Vec<u32> = (0..10_007u32).collect();
        let units = Units::from_slice(&data);
        let expected: u64 = data.iter().map(|&x| u64::from(x)).sum();
        // SAFETY (in `kernel`): i < u.len() (read's contract); every `u` is a piece of
        // Units::from_slice over `data` or `data[..3]`, and `data` outlives every
        // fold_in_pieces call below, which joins its pieces before returning.
        let kernel = |u: Units<u32>| (0..u.len()).map(|i| u64::from(unsafe { u.read(i) })).sum::<u64>();
        for pieces in 0..=13 {
            assert_eq!(fold_in_pieces(units, pieces, &kernel), expected, "{pieces}");
        }
        // More pieces than elements: some pieces are empty, the total is unchanged.
        let small = Units::from_slice(&data[..3]);
        assert_eq!(fold_in_pieces(small, 7, &kernel), 3);
    }

    #[test]
    fn ranges_cover_everything_once() {
        use std::sync::Mutex;
        for (total, threads) in [(10, 3), (1000, 4), (5, 8), (0, 4), (100, 1), (1, 2)] {
            let seen = Mutex::new(vec![0u8; total]);
            for_each_range(total, threads, &|s, e| {
                for i in s..e {
                    seen.lock().unwrap()[i] += 1;
                }
            });
            assert!(seen.into_inner().unwrap().iter().all(|&c| c == 1), "{total} {threads}");
        }
    }

    #[test]
    #[should_panic(expected = "chunk panic")]
    fn a_panic_in_any_chunk_reaches_the_caller() {
        for_each_range(100, 4, &|s, _| {
            if s >= 50 {
                panic!("chunk panic");
            }
        });
    }

    #[test]
    fn parse_refuses_nonsense() {
        assert_eq!(parse_num_threads(" 3 "), Ok(3));
        assert!(parse_num_threads("0").unwrap_err().contains("out of range"));
        assert!(parse_num_threads("-2").unwrap_err().contains("out of range"));
        assert!(parse_num_threads("many").unwrap_err().contains("not an integer"));
        assert!(parse_num_threads("100000").is_err());
    }

    #[test]
    #[should_panic(expected = "boom")]
    fn a_worker_panic_reaches_the_caller() {
        let data = vec![0u8; 1000];
        fold_in_pieces(Units::from_slice(&data), 4, &|u: Units<u8>| {
            if u.as_ptr() == data.as_ptr() {
                panic!("boom");
            }
            0
        });
    }
}

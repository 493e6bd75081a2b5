//! One persistent pool of worker threads for every parallel kernel.
//!
//! A parallel call hands the pool a *job*, a closure `job(participant)` that every participant
//! runs; the participants pull their share of work from counters inside the job (tasks, tiles,
//! pieces), so a participant that arrives late simply finds less to do. The calling thread is
//! always participant 0 and always runs the job, so a call completes even if no worker ever
//! joins it.
//!
//! ```text
//! run(threads, job)                                worker i (parked or spinning)
//!   publish job, epoch += 1, seats = threads - 1      sees the new epoch
//!   wake sleeping workers (futex)                     takes a seat (under the lock), running += 1
//!   job(0)                                            job(i + 1)
//!   close: seats = 0, wait until running == 0         running -= 1, back to spinning/parking
//! ```
//!
//! Why the job can borrow the caller's stack (the scoped-join discipline of `std::thread::scope`,
//! kept without a new thread per call): a worker reaches the job only by taking a seat while the
//! job is published, both under the pool's lock, and `run` does not return before it has closed
//! the seats and seen `running == 0`. So no worker calls the job after `run` returns, and the
//! closure's borrows outlive every use (see the SAFETY comment in [`Pool::run`]).
//!
//! Idle cost: after a job a worker spins for at most [`SPIN`] (so back-to-back calls skip the
//! futex wake-up), then parks on a condition variable: an idle pool costs no CPU. Workers spin
//! only while the pool has no more workers than CPUs; an oversubscribed pool parks at once, since
//! a spinning worker would take a core from the threads doing the work.
//!
//! One job at a time: a second caller that finds the pool busy (another Python thread, or a
//! kernel called from inside a job) runs its job alone on its own thread instead of waiting.
//! That never deadlocks and never blocks a thread on another's work.
//!
//! `fork()`: only the forking thread exists in the child, so the pool's workers do not, and its
//! locks may be held by threads that are gone. A `pthread_atfork` child handler forgets the
//! inherited pool (leaking its memory, a few hundred bytes, rather than touching its locks), and
//! the child's first parallel call builds a new one. The registry lock is taken by the prepare
//! handler, so the fork never happens while another thread holds it. This is the flaw of rayon's
//! global pool that rawcapi avoids: rayon's registry is built once per process and not rebuilt
//! after a fork, so a child's first parallel call waits forever for workers that do not exist.
//!
//! Shutdown: [`shutdown`] stops and joins every worker; the glue calls it from a `Py_AtExit`
//! function, so no thread of rawcapi outlives `Py_FinalizeEx`. A later parallel call (after a
//! re-initialisation) builds a new pool.

use std::any::Any;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a worker spins, watching for a new job, before it parks.
pub const SPIN: Duration = Duration::from_micros(10);

/// A job with its lifetime erased (`'static` is what a type alias of a trait object means).
type Job = dyn Fn(usize) + Sync;

thread_local! {
    /// Set on the pool's own threads: a kernel called from inside a job runs inline.
    static IS_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// The state the caller and the workers share, under [`Shared::state`].
struct State {
    /// The published job, lifetime erased (see [`Pool::run`]); `None` when no job is open.
    job: Option<*const Job>,
    /// Workers that may still join the open job.
    seats: usize,
    /// Workers inside the job.
    running: usize,
    /// Bumped at every publication; a worker joins each epoch at most once.
    epoch: u64,
    /// Workers whose index is at least this exit (shutdown sets 0).
    keep: usize,
    /// The first panic of a worker in the current job, re-raised on the caller.
    panic: Option<Box<dyn Any + Send>>,
}

struct Shared {
    state: Mutex<State>,
    /// Workers park here.
    wake: Condvar,
    /// The caller waits here for `running == 0`.
    idle: Condvar,
    /// A copy of `State::epoch` that spinning workers read without the lock.
    epoch: AtomicU64,
    /// A copy of `State::running` that the caller spins on before it sleeps on `idle`.
    running: AtomicUsize,
    /// Whether workers may spin (the pool has no more workers than CPUs).
    spin: AtomicBool,
}

// SAFETY: the raw job pointer in `State` is only dereferenced under the protocol of `Pool::run`
// (by a seated worker, while the caller waits); everything else is Send + Sync already.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

/// A pool: its shared state and its workers.
pub struct Pool {
    shared: Arc<Shared>,
    /// Held by the caller whose job is running (one job at a time).
    submit: Mutex<()>,
    /// The workers' join handles, in index order.
    workers: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic never happens while these locks are held (jobs run outside them), but if one did
    // the state is a set of counters that stay consistent: use it anyway.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pool {
    fn new() -> Pool {
        let state = State { job: None, seats: 0, running: 0, epoch: 0, keep: usize::MAX, panic: None };
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                wake: Condvar::new(),
                idle: Condvar::new(),
                epoch: AtomicU64::new(0),
                running: AtomicUsize::new(0),
                spin: AtomicBool::new(true),
            }),
            submit: Mutex::new(()),
            workers: Mutex::new(Vec::new()),
        }
    }

    /// The number of worker threads (for tests).
    pub fn workers(&self) -> usize {
        lock(&self.workers).len()
    }

    /// Start workers until there are `n` (or the OS refuses one). Caller holds `submit`.
    fn grow(&self, n: usize) -> usize {
        let mut workers = lock(&self.workers);
        if workers.len() >= n {
            return workers.len();
        }
        while workers.len() < n {
            let index = workers.len();
            let shared = Arc::clone(&self.shared);
            match std::thread::Builder::new().name("rawcapi-pool".into()).spawn(move || worker(&shared, index)) {
                Ok(handle) => workers.push(handle),
                Err(_) => break,
            }
        }
        // (available_cpus reads cgroup files: tens of µs, so only when the pool has grown.)
        self.shared.spin.store(workers.len() < super::parallel::available_cpus(), Ordering::Relaxed);
        workers.len()
    }

    /// Run `job` on the calling thread (participant 0) and up to `threads - 1` workers; return
    /// when every participant has returned from it. A panic in any participant is re-raised here
    /// after all have returned. Returns how many workers joined.
    pub fn run(&self, threads: usize, job: &(dyn Fn(usize) + Sync)) -> usize {
        let Ok(_submitting) = self.submit.try_lock() else {
            // Another job is running: this one runs alone (see the module comment).
            job(0);
            return 0;
        };
        let seats = self.grow(threads.saturating_sub(1)).min(threads.saturating_sub(1));
        if seats == 0 {
            job(0);
            return 0;
        }
        // SAFETY (of the lifetime erasure): the pointer is dereferenced only by a worker that
        // took a seat while `state.job` was `Some`, under the lock; before returning, this
        // function (also under the lock) sets `job = None` and `seats = 0`, so no worker can take
        // a seat afterwards, then waits until `running == 0`, i.e. until every seated worker has
        // returned from the job. The closure and everything it borrows outlive this call, so
        // they outlive every dereference. Unwinding out of `job(0)` is caught below, so the close
        // and the wait happen on every path.
        let erased = unsafe { std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const Job>(job) };
        let shared = &*self.shared;
        {
            let mut st = lock(&shared.state);
            st.job = Some(erased);
            st.seats = seats;
            st.epoch += 1;
            shared.epoch.store(st.epoch, Ordering::Release);
        }
        for _ in 0..seats {
            shared.wake.notify_one();
        }
        let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(0)));
        let (joined, running) = {
            let mut st = lock(&shared.state);
            let joined = seats - st.seats;
            st.job = None;
            st.seats = 0;
            (joined, st.running)
        };
        // The seated workers usually finish at about the same time as this thread: spin for a
        // while before sleeping (waking a sleeping thread costs tens of µs on a VM).
        if running > 0 {
            let start = Instant::now();
            while shared.running.load(Ordering::Acquire) > 0 && start.elapsed() < SPIN {
                for _ in 0..64 {
                    std::hint::spin_loop();
                }
            }
        }
        let theirs = {
            let mut st = lock(&shared.state);
            while st.running > 0 {
                st = shared.idle.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            st.panic.take()
        };
        if let Err(payload) = mine {
            std::panic::resume_unwind(payload);
        }
        if let Some(payload) = theirs {
            std::panic::resume_unwind(payload);
        }
        joined
    }

    /// Stop every worker and join it. Waits for a job still running on a worker to end.
    fn stop(&self) {
        {
            let mut st = lock(&self.shared.state);
            st.keep = 0;
        }
        self.shared.wake.notify_all();
        for handle in lock(&self.workers).drain(..) {
            let _ = handle.join();
        }
    }
}

impl Drop for Pool {
    /// A pool that goes away takes its workers with it (a no-op after [`shutdown`]).
    fn drop(&mut self) {
        self.stop();
    }
}

/// A worker's life: wait for an epoch it has not seen, take a seat if one is left, run the job.
fn worker(shared: &Shared, index: usize) {
    IS_WORKER.with(|w| w.set(true));
    let mut seen = 0u64;
    loop {
        if shared.spin.load(Ordering::Relaxed) {
            let start = Instant::now();
            'spin: while shared.epoch.load(Ordering::Acquire) == seen {
                for _ in 0..64 {
                    std::hint::spin_loop();
                    if shared.epoch.load(Ordering::Relaxed) != seen {
                        break 'spin;
                    }
                }
                if start.elapsed() >= SPIN {
                    break;
                }
            }
        }
        let job = {
            let mut st = lock(&shared.state);
            loop {
                if index >= st.keep {
                    return;
                }
                if st.epoch != seen {
                    break;
                }
                st = shared.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            seen = st.epoch;
            match st.job {
                Some(job) if st.seats > 0 => {
                    st.seats -= 1;
                    st.running += 1;
                    shared.running.store(st.running, Ordering::Release);
                    job
                }
                _ => continue,
            }
        };
        // SAFETY: a seat was taken while the job was published; the caller waits for
        // `running == 0` before the closure can go away (Pool::run).
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { (*job)(index + 1) }));
        let mut st = lock(&shared.state);
        if let Err(payload) = result {
            st.panic.get_or_insert(payload);
        }
        st.running -= 1;
        shared.running.store(st.running, Ordering::Release);
        if st.running == 0 {
            shared.idle.notify_all();
        }
    }
}

/// The process's pool, behind a lock that a fork can never find held (the atfork handlers take
/// it around the fork). A spin lock, because it is taken and released in different functions
/// (prepare, parent, child) and held only to clone or swap an `Arc`.
struct Registry {
    locked: AtomicBool,
    pool: std::cell::UnsafeCell<Option<Arc<Pool>>>,
}

// SAFETY: `pool` is only accessed while `locked` is held (Registry::with).
unsafe impl Sync for Registry {}

static REGISTRY: Registry = Registry { locked: AtomicBool::new(false), pool: std::cell::UnsafeCell::new(None) };

impl Registry {
    fn acquire(&self) {
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            std::thread::yield_now();
        }
    }

    fn release(&self) {
        self.locked.store(false, Ordering::Release);
    }

    fn with<R>(&self, f: impl FnOnce(&mut Option<Arc<Pool>>) -> R) -> R {
        self.acquire();
        // SAFETY: the lock is held, so this is the only reference; `f` cannot re-enter (it only
        // clones, creates or takes the Arc).
        let r = f(unsafe { &mut *self.pool.get() });
        self.release();
        r
    }
}

extern "C" fn before_fork() {
    REGISTRY.acquire();
}

extern "C" fn after_fork_in_parent() {
    REGISTRY.release();
}

extern "C" fn after_fork_in_child() {
    // SAFETY: the prepare handler took the lock and this (now only) thread holds it.
    let inherited = unsafe { (*REGISTRY.pool.get()).take() };
    // Its workers do not exist here and its locks may be held by threads that are gone: never
    // touch it, not even to drop it.
    std::mem::forget(inherited);
    REGISTRY.release();
}

/// The pool, created on first use.
fn pool() -> Arc<Pool> {
    static ATFORK: Once = Once::new();
    ATFORK.call_once(|| {
        #[cfg(unix)]
        // SAFETY: three `extern "C" fn()` with no arguments, valid for the life of the process
        // (an extension module is never unloaded by CPython).
        unsafe {
            libc::pthread_atfork(Some(before_fork), Some(after_fork_in_parent), Some(after_fork_in_child));
        }
    });
    REGISTRY.with(|slot| Arc::clone(slot.get_or_insert_with(|| Arc::new(Pool::new()))))
}

/// Run `job(participant)` on the calling thread and up to `threads - 1` pool workers (see
/// [`Pool::run`]); `threads <= 1`, or a call from inside a job, runs it here alone. Returns
/// how many workers joined.
pub fn run(threads: usize, job: &(dyn Fn(usize) + Sync)) -> usize {
    if threads <= 1 || IS_WORKER.with(|w| w.get()) {
        job(0);
        return 0;
    }
    pool().run(threads, job)
}

/// Stop and join every worker (the pool is rebuilt by the next parallel call). Called at
/// interpreter finalisation and when the thread count is lowered.
pub fn shutdown() {
    if let Some(pool) = REGISTRY.with(|slot| slot.take()) {
        pool.stop();
    }
}

/// Workers alive in the pool now (0 before the first parallel call and after [`shutdown`]).
pub fn worker_count() -> usize {
    REGISTRY.with(|slot| slot.clone()).map_or(0, |p| p.workers())
}

/// The cost of one parallel call that every one of `threads` participants must join, in
/// nanoseconds per call, averaged over `calls`: through the pool (`spawn == false`), or with
/// `threads - 1` threads spawned and joined per call as before the pool (`std::thread::scope`).
/// For examples/bench_heavy.py. The job is an arrival barrier, so a call ends only when every
/// participant has started (a participant that cannot arrive within a second is not waited for).
pub fn parallel_call_cost(threads: usize, spawn: bool, calls: usize) -> f64 {
    let threads = threads.max(1);
    let calls = calls.max(1);
    let start = Instant::now();
    for _ in 0..calls {
        let arrived = std::sync::atomic::AtomicUsize::new(0);
        let barrier = |_: usize| {
            arrived.fetch_add(1, Ordering::AcqRel);
            let t0 = Instant::now();
            while arrived.load(Ordering::Acquire) < threads && t0.elapsed() < Duration::from_secs(1) {
                std::thread::yield_now();
            }
        };
        if spawn {
            std::thread::scope(|s| {
                for i in 1..threads {
                    let barrier = &barrier;
                    s.spawn(move || barrier(i));
                }
                barrier(0);
            });
        } else {
            run(threads, &barrier);
        }
    }
    start.elapsed().as_nanos() as f64 / calls as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Tests that shut the pool down run one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn every_participant_runs_the_job_and_borrows_stay_valid() {
        for threads in [1, 2, 3, 8] {
            let counts: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
            let next = AtomicUsize::new(0);
            run(threads, &|_| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= counts.len() {
                    return;
                }
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1), "{threads}");
        }
    }

    #[test]
    fn workers_join_when_there_is_time() {
        let _serial = lock(&SERIAL);
        // A job that waits (bounded) for a second participant: with a pool, one comes.
        let pool = Pool::new();
        let seen = Mutex::new(std::collections::HashSet::new());
        let joined = pool.run(2, &|p| {
            seen.lock().unwrap().insert(p);
            let start = Instant::now();
            while seen.lock().unwrap().len() < 2 && start.elapsed() < Duration::from_secs(5) {
                std::thread::yield_now();
            }
        });
        assert_eq!(joined, 1);
        assert_eq!(seen.into_inner().unwrap().len(), 2);
    }

    #[test]
    fn a_nested_call_runs_inline() {
        let inner_participants = Mutex::new(Vec::new());
        run(2, &|_| {
            run(4, &|p| inner_participants.lock().unwrap().push(p));
        });
        // Each participant of the outer job ran the inner one alone, as participant 0.
        let v = inner_participants.into_inner().unwrap();
        assert!(!v.is_empty() && v.iter().all(|&p| p == 0), "{v:?}");
    }

    #[test]
    #[should_panic(expected = "worker boom")]
    fn a_worker_panic_reaches_the_caller() {
        let _serial = lock(&SERIAL);
        let pool = Pool::new();
        let arrived = AtomicUsize::new(0);
        pool.run(2, &|p| {
            arrived.fetch_add(1, Ordering::SeqCst);
            let start = Instant::now();
            while arrived.load(Ordering::SeqCst) < 2 && start.elapsed() < Duration::from_secs(5) {
                std::thread::yield_now();
            }
            if p != 0 {
                panic!("worker boom");
            }
        });
    }

    #[test]
    fn concurrent_callers_all_finish() {
        let total = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let next = AtomicUsize::new(0);
                        run(3, &|_| {
                            while next.fetch_add(1, Ordering::Relaxed) < 10 {
                                total.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 4 * 200 * 10);
    }

    #[test]
    fn shutdown_joins_every_worker_and_the_next_call_rebuilds() {
        let _serial = lock(&SERIAL);
        run(3, &|_| {});
        shutdown();
        assert_eq!(worker_count(), 0);
        let next = AtomicUsize::new(0);
        run(3, &|_| {
            next.fetch_add(1, Ordering::Relaxed);
        });
        assert!(next.load(Ordering::Relaxed) >= 1);
        assert_eq!(worker_count(), 2);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_forked_child_gets_a_fresh_pool() {
        let _serial = lock(&SERIAL);
        run(2, &|_| {});
        assert!(worker_count() >= 1);
        // SAFETY: fork in a test process: the child only runs the pool (plain Rust, its own
        // allocations) and leaves with _exit, never returning into the test harness.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let inherited = worker_count();
            let arrived = AtomicUsize::new(0);
            let joined = run(2, &|_| {
                arrived.fetch_add(1, Ordering::SeqCst);
                let start = Instant::now();
                while arrived.load(Ordering::SeqCst) < 2 && start.elapsed() < Duration::from_secs(5) {
                    std::thread::yield_now();
                }
            });
            let ok = inherited == 0 && joined == 1 && arrived.load(Ordering::SeqCst) == 2;
            // SAFETY: leave the child at once.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child just forked.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child status {status}");
    }
}

//! Numbered tasks on scoped threads, with a stop poll between blocks.
//!
//! The heavy kernels (matmul, fft) cut their work into tasks and run them on up to `threads`
//! threads, the calling thread included. Only the calling thread may run `check`: in the glue it
//! re-takes the GIL to look for a pending Ctrl-C, and a thread state can only be restored on the
//! thread that saved it. The other threads see the outcome through a shared flag.
//!
//! Beside src/kernels/parallel.rs: that one cuts an additive scan into one equal piece per thread
//! and adds the results; this one hands out uneven tasks dynamically and can be stopped between
//! them, which is what a multiply split into blocks and an FFT over many lines need. Both create
//! scoped threads per call (no pool) and run on fewer threads when one cannot be spawned; both
//! take the thread count from `rawcapi.set_num_threads` ([`super::parallel::num_threads`]).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The work was stopped by `check` (a pending signal). Whatever it was writing is incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// Run `task(i, poll)` for every `i in 0..ntasks`, on the calling thread and up to `threads - 1`
/// scoped helper threads, which pull task numbers from a shared counter (so uneven tasks
/// balance). A task calls `poll()` between its blocks and returns early when it answers `false`.
///
/// On the calling thread `poll` calls `check` (and remembers a "stop"); on helper threads it reads
/// the shared flag. After a stop no new task starts, the threads already running finish their
/// current block, and the result is `Err(Stopped)`.
///
/// `place_helpers`: start each helper on another CPU than the caller's
/// ([`super::parallel::start_away_from`]) — worth its ~0.1 ms only when every thread has
/// milliseconds of work.
///
/// A helper thread that cannot be spawned (out of threads or memory) is simply not used: the
/// work runs on fewer threads, never aborts. A panic in any task propagates to the caller after
/// all threads have stopped (`std::thread::scope` re-raises it).
pub fn run_tasks<F>(ntasks: usize, threads: usize, place_helpers: bool, check: &mut dyn FnMut() -> bool, task: F) -> Result<(), Stopped>
where
    F: Fn(usize, &mut dyn FnMut() -> bool) -> bool + Sync,
{
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let helpers = threads.max(1).min(ntasks).saturating_sub(1);

    let worker = |poll: &mut dyn FnMut() -> bool| loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= ntasks {
            return;
        }
        if !task(i, poll) {
            stop.store(true, Ordering::Relaxed);
            return;
        }
    };

    let cpu = super::parallel::current_cpu();
    std::thread::scope(|scope| {
        for index in 0..helpers {
            let worker = &worker;
            let stop = &stop;
            let spawned = std::thread::Builder::new().name("rawcapi-worker".into()).spawn_scoped(scope, move || {
                // Off the caller's CPU, for long tasks (see parallel::start_away_from).
                if place_helpers {
                    let _ = super::parallel::start_away_from(cpu, index);
                }
                worker(&mut || !stop.load(Ordering::Relaxed))
            });
            if spawned.is_err() {
                break;
            }
        }
        worker(&mut || {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            if !check() {
                stop.store(true, Ordering::Relaxed);
                return false;
            }
            true
        });
    });
    if stop.load(Ordering::Relaxed) {
        Err(Stopped)
    } else {
        Ok(())
    }
}

/// Never stop: the `check` for callers that have no signals to look at (tests, small work).
pub fn never_stop() -> bool {
    true
}

/// Elements a single-threaded loop (a sum, a cast) handles between two calls of its poll:
/// ~0.1 ms of the slowest such loop, so that a poll lands well within the glue's 50 ms
/// signal-check interval, while a poll that finds the interval not yet up (one clock read)
/// costs nothing measurable.
pub const POLL_ELEMENTS: usize = 1 << 16;

/// Counts the elements a loop has handled and calls `poll` once at least [`POLL_ELEMENTS`] have
/// been handled since the last call (pieces are at most that long, so polls are at most twice
/// that apart), however the loop is shaped (a long row, or many short ones).
pub struct Pacer<'a> {
    poll: &'a mut dyn FnMut() -> bool,
    since: usize,
}

impl<'a> Pacer<'a> {
    pub fn new(poll: &'a mut dyn FnMut() -> bool) -> Self {
        Pacer { poll, since: 0 }
    }

    /// `n` more elements are done. `false`: the poll said stop.
    pub fn done(&mut self, n: usize) -> bool {
        self.since = self.since.saturating_add(n);
        if self.since < POLL_ELEMENTS {
            return true;
        }
        self.since = 0;
        (self.poll)()
    }

    /// `f(start, len)` over `0..n` in pieces of at most [`POLL_ELEMENTS`], counting each.
    /// `false` as soon as a poll says stop (the rest of `0..n` is not run).
    pub fn pieces(&mut self, n: usize, mut f: impl FnMut(usize, usize)) -> bool {
        let mut start = 0;
        while start < n {
            let len = (n - start).min(POLL_ELEMENTS);
            f(start, len);
            start += len;
            if !self.done(len) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn every_task_runs_once() {
        for threads in [1, 2, 5] {
            let hits: Vec<AtomicU64> = (0..100).map(|_| AtomicU64::new(0)).collect();
            let r = run_tasks(100, threads, threads == 2, &mut never_stop, |i, poll| {
                hits[i].fetch_add(1, Ordering::Relaxed);
                poll()
            });
            assert_eq!(r, Ok(()));
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }

    #[test]
    fn a_stop_ends_the_work() {
        let done = AtomicUsize::new(0);
        let mut calls = 0;
        let mut check = || {
            calls += 1;
            calls < 3
        };
        let r = run_tasks(1000, 2, true, &mut check, |_, poll| {
            done.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(std::time::Duration::from_micros(100));
            poll()
        });
        assert_eq!(r, Err(Stopped));
        assert!(done.load(Ordering::Relaxed) < 1000);
    }

    #[test]
    fn a_pacer_polls_by_elements_whatever_the_pieces() {
        let mut polls = 0;
        let mut poll = || {
            polls += 1;
            true
        };
        let mut pace = Pacer::new(&mut poll);
        // Short rows and one long row: a poll per POLL_ELEMENTS elements either way.
        for _ in 0..4 * POLL_ELEMENTS {
            assert!(pace.done(1));
        }
        let mut seen = 0;
        assert!(pace.pieces(4 * POLL_ELEMENTS + 7, |start, len| {
            assert_eq!(start, seen);
            assert!(len <= POLL_ELEMENTS);
            seen += len;
        }));
        assert_eq!(seen, 4 * POLL_ELEMENTS + 7);
        drop(pace);
        assert_eq!(polls, 8);
        let mut stop = || false;
        let mut pace = Pacer::new(&mut stop);
        let mut ran = 0;
        assert!(!pace.pieces(10 * POLL_ELEMENTS, |_, len| ran += len));
        assert_eq!(ran, POLL_ELEMENTS);
    }

    #[test]
    fn zero_tasks() {
        assert_eq!(run_tasks(0, 4, false, &mut never_stop, |_, _| unreachable!()), Ok(()));
    }
}

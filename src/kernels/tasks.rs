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
    fn zero_tasks() {
        assert_eq!(run_tasks(0, 4, false, &mut never_stop, |_, _| unreachable!()), Ok(()));
    }
}

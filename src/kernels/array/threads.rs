//! Splitting one large elementwise loop across scoped threads.
//!
//! LOCAL STOPGAP: the project's thread-count setting and splitting helper belong to the "speed"
//! branch (`set_num_threads`); when it is merged, `num_threads`/`set_num_threads` here become
//! calls to it and this file keeps only `split_range`'s use of them.
//!
//! Threads are `std::thread::scope` threads, so the work may borrow the caller's views; a
//! thread that cannot be spawned (`Builder::spawn_scoped` returns an error when the OS refuses)
//! is not fatal — its share runs on the calling thread instead.

use std::sync::atomic::{AtomicUsize, Ordering};

/// 0 means "not set": use every core the OS gives this process.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// How many threads a large loop is split across.
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    }
}

/// Set the thread count (`0` restores the default); returns the previous setting.
pub fn set_num_threads(n: usize) -> usize {
    THREADS.swap(n, Ordering::Relaxed)
}

/// Call `work(start, end)` over `0..total` cut into at most `threads` contiguous ranges of at
/// least `min_per_thread` items each; the calling thread takes the first range.
pub fn split_range(total: usize, threads: usize, min_per_thread: usize, work: &(dyn Fn(usize, usize) + Sync)) {
    let parts = threads.min(total / min_per_thread.max(1)).max(1);
    if parts == 1 {
        work(0, total);
        return;
    }
    let bounds: Vec<usize> = (0..=parts).map(|i| total / parts * i + (total % parts).min(i)).collect();
    std::thread::scope(|scope| {
        let mut inline = Vec::new();
        for i in 1..parts {
            let (start, end) = (bounds[i], bounds[i + 1]);
            let spawned = std::thread::Builder::new().name("rawcapi-loop".into()).spawn_scoped(scope, move || work(start, end));
            if spawned.is_err() {
                inline.push((start, end));
            }
        }
        work(bounds[0], bounds[1]);
        for (start, end) in inline {
            work(start, end);
        }
        // Leaving the scope joins the threads; a panic in one is re-raised here, on the caller.
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn ranges_cover_everything_once() {
        for (total, threads, min) in [(10, 3, 1), (1000, 4, 100), (5, 8, 1), (0, 4, 1), (100, 2, 1000)] {
            let seen = Mutex::new(vec![0u8; total]);
            split_range(total, threads, min, &|s, e| {
                for i in s..e {
                    seen.lock().unwrap()[i] += 1;
                }
            });
            assert!(seen.into_inner().unwrap().iter().all(|&c| c == 1), "{total} {threads} {min}");
        }
    }
}

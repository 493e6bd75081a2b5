//! Releasing the GIL: `Py_BEGIN_ALLOW_THREADS` … `Py_END_ALLOW_THREADS`.
//!
//! In C the pair of macros expands to
//!
//! ```c
//! { PyThreadState *_save = PyEval_SaveThread();   /* Py_BEGIN_ALLOW_THREADS */
//!   ...work that touches no Python object...
//!   PyEval_RestoreThread(_save); }                  /* Py_END_ALLOW_THREADS */
//! ```
//!
//! and a `return` or `goto` between them that skips the restore leaves the thread without its
//! GIL — a crash waiting to happen. rawcapi makes the restore a `Drop`, so it runs on every path
//! out of the block, a panic's unwinding included, and [`allow_threads`] takes the work as a
//! closure that must be `Send`: the compiler then refuses a closure that captures an
//! [`Owned`](crate::capi::object::Owned) reference or a [`Buffer`](crate::capi::buffer::Buffer)
//! (both hold raw pointers, so neither is `Send`), which is how "touch no Python object while the
//! GIL is released" is checked rather than trusted.

use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3_ffi::{PyEval_RestoreThread, PyEval_SaveThread, PyThreadState};

/// Holds the thread state saved by `PyEval_SaveThread`; dropping it takes the GIL back.
struct Released(*mut PyThreadState);

impl Drop for Released {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `PyEval_SaveThread` on this thread (`Released` is `!Send`)
        // and is restored exactly once, here.
        unsafe { PyEval_RestoreThread(self.0) }
    }
}

/// Run `work` with the GIL released, and take the GIL back before returning — also when `work`
/// panics (the panic then continues, with the GIL held, to the entry point's catch).
///
/// The caller must hold the GIL.
pub fn allow_threads<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    // SAFETY: the caller holds the GIL (every entry point runs with it), which is what
    // PyEval_SaveThread requires; the returned state is restored by `Released::drop`.
    let _released = Released(unsafe { PyEval_SaveThread() });
    work()
}

/// Below this many bytes of input a scan runs with the GIL held: releasing and re-taking it
/// costs more than the scan (see docs/03-gil.md for how the figure was measured).
pub const DEFAULT_RELEASE_THRESHOLD: usize = 1 << 20;

static RELEASE_THRESHOLD: AtomicUsize = AtomicUsize::new(DEFAULT_RELEASE_THRESHOLD);

/// [`allow_threads`] when the work covers at least the threshold's number of bytes; otherwise
/// just `work()`, GIL held.
pub fn allow_threads_above<R: Send>(nbytes: usize, work: impl FnOnce() -> R + Send) -> R {
    if nbytes >= RELEASE_THRESHOLD.load(Ordering::Relaxed) {
        allow_threads(work)
    } else {
        work()
    }
}

/// Set the threshold and return the old one (the private `_set_gil_release_threshold`, used by
/// the tests to force either path and by `examples/gil_threshold.py` to measure it).
pub fn set_release_threshold(nbytes: usize) -> usize {
    RELEASE_THRESHOLD.swap(nbytes, Ordering::Relaxed)
}

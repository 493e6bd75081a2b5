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

/// How often, at most, [`SignalCheck::poll`] re-takes the GIL: well under the one second in which
/// Ctrl-C should be felt, rare enough that the GIL round trip (which may wait for another Python
/// thread to let go of it) costs nothing measurable.
const SIGNAL_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// Handed to the work of [`allow_threads_checking_signals`]: a way back into the interpreter
/// between blocks of a long computation, on the thread that released the GIL.
///
/// In C this is the loop that a long-running extension writes by hand:
///
/// ```c
/// Py_BEGIN_ALLOW_THREADS
/// for (block = 0; block < nblocks; block++) {
///     compute(block);
///     Py_BLOCK_THREADS                         /* PyEval_RestoreThread(_save) */
///     int interrupted = PyErr_CheckSignals();  /* runs the handlers; -1: exception set */
///     Py_UNBLOCK_THREADS                       /* _save = PyEval_SaveThread() */
///     if (interrupted) break;
/// }
/// Py_END_ALLOW_THREADS
/// if (interrupted) return NULL;                /* KeyboardInterrupt is set */
/// ```
///
/// Not `Send`: a thread state can only be restored on the thread that saved it, so the work's
/// helper threads never poll through this (see src/kernels/tasks.rs).
pub struct SignalCheck {
    thread_state: *mut PyThreadState,
    last: std::time::Instant,
    interrupted: bool,
}

impl SignalCheck {
    /// `true`: carry on. `false`: a signal handler raised (KeyboardInterrupt for Ctrl-C); the
    /// exception is set on this thread and stays set once the GIL is taken back for good, so the
    /// caller stops its work and returns the error marker (`Err(PyErrSet::fetched())`).
    pub fn poll(&mut self) -> bool {
        if self.interrupted {
            return false;
        }
        if self.last.elapsed() < SIGNAL_CHECK_INTERVAL {
            return true;
        }
        // SAFETY: `thread_state` was saved by PyEval_SaveThread on this thread (SignalCheck is
        // !Send and lives inside `allow_threads_checking_signals` on that thread) and the GIL is
        // currently released by us. Restoring takes the GIL; PyErr_CheckSignals needs it and may
        // run Python signal handlers; PyEval_SaveThread releases it again and returns the same
        // thread state. No Python object of the work is touched in between.
        unsafe {
            PyEval_RestoreThread(self.thread_state);
            self.interrupted = pyo3_ffi::PyErr_CheckSignals() != 0;
            self.thread_state = PyEval_SaveThread();
        }
        self.last = std::time::Instant::now();
        !self.interrupted
    }

    /// Whether a poll found a signal (and so an exception is set).
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }
}

/// For a loop whose length the caller chooses (a sum, a cast, an elementwise loop): `work` gets
/// a poll to call between its blocks. At or above the threshold's number of bytes it runs as in
/// [`allow_threads_checking_signals`], and the poll is [`SignalCheck::poll`]; below, it runs
/// with the GIL held and the poll always answers "carry on" (the work is short, and no signal
/// handler then runs in the middle of it). When the poll has answered `false`, an exception is
/// set: the caller returns `Err(PyErrSet::fetched())`.
///
/// The caller must hold the GIL.
pub fn allow_threads_polling_above<R: Send>(nbytes: usize, work: impl FnOnce(&mut dyn FnMut() -> bool) -> R + Send) -> R {
    if nbytes >= RELEASE_THRESHOLD.load(Ordering::Relaxed) {
        allow_threads_checking_signals(|signals| work(&mut || signals.poll()))
    } else {
        work(&mut || true)
    }
}

/// [`allow_threads`] for long work that wants to be interruptible: `work` gets a [`SignalCheck`]
/// to poll between blocks. When a poll returns `false`, the work should stop, and the caller
/// return `Err(PyErrSet::fetched())` after this function returns (the GIL is held again then).
pub fn allow_threads_checking_signals<R: Send>(work: impl FnOnce(&mut SignalCheck) -> R + Send) -> R {
    // SAFETY: as in `allow_threads`: the caller holds the GIL.
    let thread_state = unsafe { PyEval_SaveThread() };
    let mut check = SignalCheck { thread_state, last: std::time::Instant::now(), interrupted: false };
    // The guard restores whatever thread state `check` holds last, on every path (panics too).
    struct Restore<'a>(&'a mut SignalCheck);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            // SAFETY: the state was saved on this thread and the GIL is released by us.
            unsafe { PyEval_RestoreThread(self.0.thread_state) }
        }
    }
    let guard = Restore(&mut check);
    work(&mut *guard.0)
}

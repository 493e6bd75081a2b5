//! Being attached to the interpreter, as a value; and releasing the GIL,
//! `Py_BEGIN_ALLOW_THREADS` … `Py_END_ALLOW_THREADS`.
//!
//! ## The rule C states and Rust checks
//!
//! Almost every C-API function has one unwritten precondition: the calling thread is *attached*
//! to the interpreter — it holds the GIL on a default build, or has an active thread state on a
//! free-threaded one. C leaves that to the programmer. rawcapi makes it a value: a
//! [`Python<'py>`] token, zero bytes wide, that only exists where the thread is attached.
//! Functions that call the C API or touch a Python object take one (`py: Python<'py>`) or are
//! `unsafe fn`s whose `# Safety` says "attached". Only the `extern "C"` entry points that CPython
//! calls (and the bodies several of them share, called from nowhere else) make a token
//! ([`Python::assume_attached`], the one `unsafe` step), and hand it down.
//! Releasing the GIL consumes nothing but cannot be reached without one, and the work it runs
//! gets none.
//!
//! The token proves attachment, not exclusive access: on a free-threaded build two attached
//! threads run at once, so nothing `&mut` or `Sync` is derived from it.
//!
//! ## Releasing the GIL
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
//! out of the block, a panic's unwinding included, and [`Python::allow_threads`] takes the work
//! as a closure that must be `Send`. The token is not `Send` (it holds a `*mut ()` marker), and
//! neither is an [`Owned`](crate::capi::object::Owned) reference, a
//! [`Buffer`](crate::capi::buffer::Buffer) or an Array's pin guard, so a closure that captures
//! any of them does not compile: inside the release there is no way to raise, to create, use or
//! drop an object, or to release the GIL a second time. Guards created before the release (a held
//! buffer, a pinned Array) live across it; the work receives plain data borrowed from them.
//!
//! Each case below fails to compile; the twin after it, which differs only in the violation,
//! compiles (these examples are doctests, so `cargo test` checks both claims).
//!
//! Raising while released (`PyErr_SetString` without the GIL):
//! ```compile_fail,E0277
//! # use rawcapi::capi::{error::{raise, Exc}, gil::Python};
//! fn f(py: Python<'_>) {
//!     let _ = py.allow_threads(|| raise(py, Exc::ValueError, "inside"));
//! }
//! ```
//! ```
//! # use rawcapi::capi::{error::{raise, Exc}, gil::Python};
//! fn f(py: Python<'_>) {
//!     let _ = py.allow_threads(|| ());
//!     let _ = raise(py, Exc::ValueError, "after");
//! }
//! ```
//! Creating an object while released:
//! ```compile_fail,E0277
//! # use rawcapi::capi::{gil::Python, object::str_from};
//! fn f(py: Python<'_>) {
//!     let _ = py.allow_threads(|| str_from(py, "inside").is_ok());
//! }
//! ```
//! ```
//! # use rawcapi::capi::{gil::Python, object::str_from};
//! fn f(py: Python<'_>) {
//!     let ok = py.allow_threads(|| true);
//!     let _ = ok && str_from(py, "after").is_ok();
//! }
//! ```
//! Dropping an object (`Py_DECREF`) while released:
//! ```compile_fail,E0277
//! # use rawcapi::capi::{gil::Python, object::Owned};
//! fn f(py: Python<'_>, obj: Owned) {
//!     py.allow_threads(move || drop(obj));
//! }
//! ```
//! ```
//! # use rawcapi::capi::{gil::Python, object::Owned};
//! fn f(py: Python<'_>, obj: Owned) {
//!     py.allow_threads(move || ());
//!     drop(obj);
//! }
//! ```
//! Using an owned reference while released:
//! ```compile_fail,E0277
//! # use rawcapi::capi::{gil::Python, object::Owned};
//! fn f(py: Python<'_>, obj: &Owned) {
//!     let _ = py.allow_threads(|| obj.as_ptr() as usize);
//! }
//! ```
//! ```
//! # use rawcapi::capi::{gil::Python, object::Owned};
//! fn f(py: Python<'_>, obj: &Owned) {
//!     let _ = py.allow_threads(|| 0usize);
//!     let _ = obj.as_ptr() as usize;
//! }
//! ```
//! Using a held buffer while released (the buffer itself may live across the release; what the
//! work reads is its memory, described by plain data taken out before):
//! ```compile_fail,E0277
//! # use rawcapi::capi::{buffer::Buffer, gil::Python};
//! fn f(py: Python<'_>, buffer: &Buffer) {
//!     let _ = py.allow_threads(|| buffer.len_bytes());
//! }
//! ```
//! ```
//! # use rawcapi::capi::{buffer::Buffer, gil::Python};
//! fn f(py: Python<'_>, buffer: &Buffer) {
//!     let n = buffer.len_bytes();
//!     let _ = py.allow_threads(move || n);
//! }
//! ```
//! Releasing twice (`PyEval_SaveThread` on a thread that is already detached):
//! ```compile_fail,E0277
//! # use rawcapi::capi::gil::Python;
//! fn f(py: Python<'_>) {
//!     py.allow_threads(|| py.allow_threads(|| ()));
//! }
//! ```
//! ```
//! # use rawcapi::capi::gil::Python;
//! fn f(py: Python<'_>) {
//!     py.allow_threads(|| ());
//!     py.allow_threads(|| ());
//! }
//! ```
//!
//! What the compiler cannot check: that an `unsafe fn`'s "attached" precondition holds (its
//! caller's `// SAFETY:` line says why), that a raw `*mut PyObject` (plain data, `Copy`) is not
//! dereferenced inside a release — raw pointers are not `Send`, so capturing one fails too, but an
//! address smuggled as a `usize` would not — and that an [`Owned`](crate::capi::object::Owned)
//! stored in a thread-local is not dropped after the thread detached.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3_ffi::{PyEval_RestoreThread, PyEval_SaveThread, PyThreadState};

/// Proof that the current thread is attached to the interpreter, for the lifetime `'py`.
///
/// Zero-sized and `Copy`; `!Send` and `!Sync` (the `*mut ()` marker), so it cannot reach
/// another thread, nor work that runs with the GIL released. PyO3's `Python<'py>` is the model;
/// this one only carries the proof.
#[derive(Clone, Copy)]
pub struct Python<'py>(PhantomData<(&'py (), *mut ())>);

impl Python<'_> {
    /// The token, in an `extern "C"` function that CPython called.
    ///
    /// The lifetime is the caller's to choose, so make it once, at the top of the entry point,
    /// and pass it down; never store it.
    ///
    /// # Safety
    /// The calling thread is attached to the interpreter (holds the GIL) for all of `'py`:
    /// CPython calls module functions, type slots and the exec slot attached.
    pub unsafe fn assume_attached<'py>() -> Python<'py> {
        Python(PhantomData)
    }
}

/// Holds the thread state saved by `PyEval_SaveThread`; dropping it takes the GIL back.
struct Released(*mut PyThreadState);

impl Drop for Released {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `PyEval_SaveThread` on this thread (`Released` is `!Send`)
        // and is restored exactly once, here.
        unsafe { PyEval_RestoreThread(self.0) }
    }
}

impl<'py> Python<'py> {
    /// Run `work` with the GIL released, and take the GIL back before returning — also when
    /// `work` panics (the panic then continues, attached again, to the entry point's catch).
    pub fn allow_threads<R: Send>(self, work: impl FnOnce() -> R + Send) -> R {
        // SAFETY: `self` proves this thread is attached, which is what PyEval_SaveThread
        // requires; the returned state is restored by `Released::drop` on this thread.
        let _released = Released(unsafe { PyEval_SaveThread() });
        work()
    }

    /// [`allow_threads`](Self::allow_threads) when the work covers at least the threshold's
    /// number of bytes; otherwise just `work()`, attached.
    pub fn allow_threads_above<R: Send>(self, nbytes: usize, work: impl FnOnce() -> R + Send) -> R {
        if nbytes >= RELEASE_THRESHOLD.load(Ordering::Relaxed) {
            self.allow_threads(work)
        } else {
            work()
        }
    }

    /// For a loop whose length the caller chooses (a sum, a cast, an elementwise loop): `work`
    /// gets a poll to call between its blocks. At or above the threshold's number of bytes it
    /// runs as in [`allow_threads_checking_signals`](Self::allow_threads_checking_signals), and
    /// the poll is [`SignalCheck::poll`]; below, it runs attached and the poll always answers
    /// "carry on" (the work is short, and no signal handler then runs in the middle of it). When
    /// the poll has answered `false`, an exception is set: the caller returns
    /// `Err(PyErrSet::fetched())`.
    pub fn allow_threads_polling_above<R: Send>(self, nbytes: usize, work: impl FnOnce(&mut dyn FnMut() -> bool) -> R + Send) -> R {
        if nbytes >= RELEASE_THRESHOLD.load(Ordering::Relaxed) {
            self.allow_threads_checking_signals(|signals| work(&mut || signals.poll()))
        } else {
            work(&mut || true)
        }
    }

    /// [`allow_threads`](Self::allow_threads) for long work that wants to be interruptible:
    /// `work` gets a [`SignalCheck`] to poll between blocks. When a poll returns `false`, the
    /// work should stop, and the caller return `Err(PyErrSet::fetched())` after this function
    /// returns (attached again then).
    pub fn allow_threads_checking_signals<R: Send>(self, work: impl FnOnce(&mut SignalCheck) -> R + Send) -> R {
        // SAFETY: as in `allow_threads`: `self` proves this thread is attached.
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
}

/// Below this many bytes of input a scan runs with the GIL held: releasing and re-taking it
/// costs more than the scan (see docs/03-gil.md for how the figure was measured).
pub const DEFAULT_RELEASE_THRESHOLD: usize = 1 << 20;

static RELEASE_THRESHOLD: AtomicUsize = AtomicUsize::new(DEFAULT_RELEASE_THRESHOLD);

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

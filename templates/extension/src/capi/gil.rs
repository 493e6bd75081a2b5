//! Being attached to the interpreter, as a value; and releasing the GIL,
//! `Py_BEGIN_ALLOW_THREADS` … `Py_END_ALLOW_THREADS`.
//!
//! Almost every C-API function requires that the calling thread is *attached* to the
//! interpreter (holds the GIL on a default build, has an active thread state on a free-threaded
//! one). C leaves that to the programmer; here it is a value, [`Python<'py>`], zero bytes wide,
//! that only exists where the thread is attached. Functions that call the C API take one. Only
//! the `extern "C"` entry points that CPython calls make a token ([`Python::assume_attached`], the
//! one `unsafe` step) and hand it down.
//!
//! The token proves attachment, not exclusive access: on a free-threaded build two attached
//! threads run at once, so nothing `&mut` or `Sync` is derived from it.
//!
//! In C, releasing the GIL is a pair of macros:
//!
//! ```c
//! { PyThreadState *_save = PyEval_SaveThread();   /* Py_BEGIN_ALLOW_THREADS */
//!   ...work that touches no Python object...
//!   PyEval_RestoreThread(_save); }                  /* Py_END_ALLOW_THREADS */
//! ```
//!
//! and a `return` between them that skips the restore leaves the thread without its GIL. Here
//! the restore is a `Drop`, so it runs on every path, a panic's unwinding included, and
//! [`Python::allow_threads`] takes the work as a closure that must be `Send`. The token is not
//! `Send`, nor is an [`Owned`](crate::capi::object::Owned) reference or a
//! [`Buffer`](crate::capi::buffer::Buffer), so a closure that captures one does not compile:
//! the work cannot raise, create, use or drop an object, or release the GIL twice. Guards made
//! before the release (a held buffer) live across it; the work receives plain data.

use std::marker::PhantomData;

use pyo3_ffi::{PyEval_RestoreThread, PyEval_SaveThread, PyThreadState};

/// Proof that the current thread is attached to the interpreter, for the lifetime `'py`.
///
/// Zero-sized and `Copy`; `!Send` and `!Sync` (the `*mut ()` marker), so it cannot reach
/// another thread, nor work that runs with the GIL released. PyO3's `Python<'py>` is the model.
#[derive(Clone, Copy)]
pub struct Python<'py>(PhantomData<(&'py (), *mut ())>);

impl Python<'_> {
    /// The token, in an `extern "C"` function that CPython called.
    ///
    /// Make it once, at the top of the entry point, and pass it down; never store it.
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

impl Python<'_> {
    /// Run `work` with the GIL released, and take the GIL back before returning, also when
    /// `work` panics (the panic then continues, attached again, to the entry point's guard).
    pub fn allow_threads<R: Send>(self, work: impl FnOnce() -> R + Send) -> R {
        // SAFETY: `self` proves this thread is attached, which PyEval_SaveThread requires; the
        // returned state is restored by `Released::drop` on this thread.
        let _released = Released(unsafe { PyEval_SaveThread() });
        work()
    }
}

//! Being attached to the interpreter, as a value; and releasing the GIL
//! (`Py_BEGIN_ALLOW_THREADS` … `Py_END_ALLOW_THREADS`).
//!
//! Nearly every C-API function requires that the calling thread hold the GIL (be *attached*,
//! in the words of newer CPython docs). C leaves that to the programmer. Here it is a value:
//! a [`Python<'py>`] token, zero bytes wide, that exists only where the thread is attached.
//! The entry points CPython calls make one ([`Python::assume_attached`], the one `unsafe`
//! step) and pass it down. [`Python::allow_threads`] releases the GIL around a closure that
//! must be `Send`; the token is not `Send`, and neither is anything holding a raw pointer to a
//! Python object (`Owned`, `Buffer`), so the released work cannot capture them.

use std::marker::PhantomData;

use pyo3_ffi::{PyEval_RestoreThread, PyEval_SaveThread, PyThreadState};

/// Proof that the current thread holds the GIL, for the lifetime `'py`.
///
/// Zero-sized and `Copy`. The `*mut ()` in the marker makes it neither `Send` nor `Sync`, so
/// it cannot reach another thread, nor work that runs with the GIL released.
#[derive(Clone, Copy)]
pub struct Python<'py>(PhantomData<(&'py (), *mut ())>);

impl Python<'_> {
    /// The token, at the top of an `extern "C"` function that CPython called.
    ///
    /// # Safety
    /// The calling thread holds the GIL for all of `'py`: CPython calls module functions with
    /// it held. Make the token once per entry point and pass it down; never store it.
    pub unsafe fn assume_attached<'py>() -> Python<'py> {
        Python(PhantomData)
    }
}

/// The thread state saved by `PyEval_SaveThread`; dropping it takes the GIL back.
struct Released(*mut PyThreadState);

impl Drop for Released {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from PyEval_SaveThread on this thread (`Released` holds a raw
        // pointer, so it is not `Send`), and it is restored exactly once, here.
        unsafe { PyEval_RestoreThread(self.0) }
    }
}

impl<'py> Python<'py> {
    /// Run `work` with the GIL released; take it back before returning, also when `work`
    /// panics (the panic then goes on, attached again, to the entry point's `guard`).
    pub fn allow_threads<R: Send>(self, work: impl FnOnce() -> R + Send) -> R {
        // SAFETY: `self` proves this thread holds the GIL, which PyEval_SaveThread requires;
        // it returns the thread state that `Released::drop` restores on this thread.
        let _released = Released(unsafe { PyEval_SaveThread() });
        work()
    }
}

//! A per-object lock for the free-threaded build: `Py_BEGIN_CRITICAL_SECTION(op)` …
//! `Py_END_CRITICAL_SECTION()`.
//!
//! On a free-threaded CPython (PEP 703) every object carries a small mutex (`ob_mutex`), and a
//! *critical section* holds it: C code between the two macros runs while no other critical section
//! on the same object does. CPython's own mutable objects (list, dict, bytearray …) lock
//! themselves this way, so `list.append` from two threads stays correct without a GIL. In C:
//!
//! ```c
//! Py_BEGIN_CRITICAL_SECTION(self);      /* { PyCriticalSection _cs; PyCriticalSection_Begin(&_cs, self) */
//! ... read or write the object's fields ...
//! Py_END_CRITICAL_SECTION();            /*   PyCriticalSection_End(&_cs); } */
//! ```
//!
//! `Include/cpython/critical_section.h` defines both macros as a bare `{` and `}` when
//! `Py_GIL_DISABLED` is not defined, so on a default build they cost nothing and the GIL does the
//! job. [`Python::critical_section`] is the same: on a free-threaded build (`cfg(Py_GIL_DISABLED)`)
//! it calls `PyCriticalSection_Begin`/`_End` around the closure, elsewhere it only runs the
//! closure — one function of the same shape on every build, so call sites have no `cfg`.
//!
//! Three properties of CPython's critical sections shape how rawcapi uses them:
//! - The section is **not held while the thread is detached**. CPython suspends a thread's
//!   critical sections when it would block, and when it detaches (`Py_BEGIN_ALLOW_THREADS`:
//!   `detach_thread` in `Python/pystate.c` calls `_PyCriticalSection_SuspendAll`), and takes
//!   them again when it re-attaches. So a critical section cannot
//!   protect what a kernel reads with the GIL released; an Array's pin does that (an atomic count,
//!   `src/array/object.rs`), and the critical section covers the short attached steps.
//! - It may be suspended whenever the thread **would block** inside it (on another object's lock,
//!   on I/O), which is how CPython avoids the deadlocks that per-object locks otherwise bring. Code
//!   inside one may run Python code (an element's `__float__`), at the price that the section may
//!   be suspended there.
//! - The `PyCriticalSection` struct is linked into the thread's stack of active sections
//!   (`PyThreadState.critical_section`), so it must stay at one address from `_Begin` to `_End`:
//!   here it is a local that is never moved, and `_End` runs from a `Drop`, on every path out,
//!   a panic's unwinding included.

use crate::capi::gil::Python;
use pyo3_ffi::PyObject;

impl<'py> Python<'py> {
    /// Run `f` inside a critical section on `obj`: `Py_BEGIN_CRITICAL_SECTION(obj)` … `f()` …
    /// `Py_END_CRITICAL_SECTION()`. On a build with a GIL this is just `f()`.
    ///
    /// # Safety
    /// `obj` is a live object (borrowed) for the whole call.
    pub unsafe fn critical_section<R>(self, obj: *mut PyObject, f: impl FnOnce() -> R) -> R {
        #[cfg(all(Py_GIL_DISABLED, Py_3_13, not(Py_LIMITED_API)))]
        {
            use pyo3_ffi::{PyCriticalSection, PyCriticalSection_Begin, PyCriticalSection_End};
            use std::mem::MaybeUninit;
            /// Ends the section when dropped; holds its address, so the struct never moves.
            struct End(*mut PyCriticalSection);
            impl Drop for End {
                fn drop(&mut self) {
                    // SAFETY: the section was begun on this thread by `critical_section` below,
                    // and is the innermost one still open (sections nest like the frames that
                    // open them); attached (the token's frame).
                    unsafe { PyCriticalSection_End(self.0) }
                }
            }
            // CPython fills the struct in `_Begin`; its fields are private.
            let mut section = MaybeUninit::<PyCriticalSection>::uninit();
            // One pointer for both calls: CPython keeps it in the thread state until `_End`.
            let raw = section.as_mut_ptr();
            // SAFETY: attached (the token); `obj` live (the caller); `section` is a local that
            // stays where it is until `_end` (declared after it, so dropped before it) ends it.
            unsafe { PyCriticalSection_Begin(raw, obj) };
            let _end = End(raw);
            f()
        }
        #[cfg(not(all(Py_GIL_DISABLED, Py_3_13, not(Py_LIMITED_API))))]
        {
            let _ = obj; // the GIL serialises attached threads
            f()
        }
    }
}

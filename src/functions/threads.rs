//! `set_num_threads(n, /)`, `get_num_threads()`: how many threads one large scan may use.
//!
//! The setting is process-wide (like NumPy's BLAS or Numba's), kept in `kernels::parallel` as an
//! atomic; the worker pool behind it (src/kernels/pool.rs) grows to it on demand, and is stopped
//! when the setting is lowered and at interpreter finalisation ([`register_shutdown`]). `_set_parallel_threshold` is private, for the tests and the threshold
//! measurement in examples/bench.py.

use pyo3_ffi::PyObject;

use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc, PyErrSet};
use crate::capi::object::{int_from_u128, none, type_name, usize_from_int};
use crate::capi::panic;
use crate::kernels::parallel;

pub const SET_DOC: &std::ffi::CStr = c"set_num_threads($module, n, /)
--

Use up to n threads (1 to 1024) for one large fast_sum, count_lines, matmul
or fft/ifft/rfft/irfft call; 1 means the calling thread only. Small inputs always use one thread.
The default is RAWCAPI_NUM_THREADS if set, else the number of CPUs this
process may run on. The setting is process-wide.";

/// `METH_O`: `n` is a borrowed reference.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn set_num_threads(_module: *mut PyObject, n: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        // SAFETY: `n` valid (borrowed), GIL held. A bool is an int subclass, but
        // set_num_threads(True) is almost surely a mistake, so it is refused with the rest.
        if unsafe { pyo3_ffi::PyLong_Check(n) } == 0 || unsafe { pyo3_ffi::PyBool_Check(n) } != 0 {
            let name = unsafe { type_name(py, n) };
            return Err(raise(py, Exc::TypeError, &format!("set_num_threads() argument must be int, not '{name}'")));
        }
        let mut overflow = 0;
        // SAFETY: `n` is an int (checked), GIL held; borrowed. Out-of-range values set `overflow`
        // instead of raising.
        let value = unsafe { pyo3_ffi::PyLong_AsLongLongAndOverflow(n, &mut overflow) };
        if value == -1 && overflow == 0 && unsafe { !pyo3_ffi::PyErr_Occurred().is_null() } {
            return Err(PyErrSet::fetched());
        }
        let max = parallel::MAX_THREADS;
        if overflow != 0 || !(1..=max as i64).contains(&value) {
            let shown = if overflow != 0 { "an integer beyond 64 bits".to_string() } else { value.to_string() };
            return Err(raise(py, Exc::ValueError, &format!("set_num_threads(n): n must be between 1 and {max}, got {shown}")));
        }
        let previous = parallel::set_num_threads(value as usize);
        if (value as usize) < previous {
            // Fewer threads from now on: let the workers go (the next parallel call starts the
            // ones it needs). Joining waits for a job another thread may be running, so the GIL
            // is released meanwhile (that job's caller may need it to check for signals).
            py.allow_threads(crate::kernels::pool::shutdown);
        }
        Ok(none(py).into_raw())
    })
}

pub const GET_DOC: &std::ffi::CStr = c"get_num_threads($module, /)
--

Return the number of threads one large call may use (see set_num_threads).";

/// `METH_NOARGS`: the second argument is always NULL.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn get_num_threads(_module: *mut PyObject, _unused: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || Ok(int_from_u128(py, parallel::num_threads() as u128)?.into_raw()))
}

pub const THRESHOLD_DOC: &std::ffi::CStr = c"_set_parallel_threshold($module, nbytes, /)
--

Split a scan across threads only when every thread gets at least nbytes
bytes (elementwise loops: nbytes or their own lower default, whichever is
smaller); return the previous value. For tests (split tiny inputs) and for
measuring the threshold (examples/bench.py --threshold).";

/// `METH_O`: `nbytes` is a borrowed reference to an int.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn set_parallel_threshold(_module: *mut PyObject, nbytes: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, std::ptr::null_mut(), || {
        // SAFETY: `nbytes` valid (borrowed), GIL held.
        let n = unsafe { usize_from_int(py, nbytes, "nbytes") }?;
        Ok(int_from_u128(py, parallel::set_min_bytes_per_thread(n) as u128)?.into_raw())
    })
}

/// Whether [`stop_pool_at_exit`] is registered for the current interpreter runtime. CPython
/// empties its list of exit functions when it runs them (`call_ll_exitfuncs` in
/// Python/pylifecycle.c), so after a `Py_FinalizeEx` and a new `Py_Initialize` the next module
/// exec registers it again.
static REGISTERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Arrange for the worker pool to be stopped and joined by `Py_FinalizeEx`, so that no thread of
/// rawcapi outlives the interpreter (an embedding application that finalizes and goes on, or
/// initializes again, would otherwise keep idle workers). Called from the module's exec slot.
///
/// `Py_AtExit` functions run at the very end of `Py_FinalizeEx`, after the interpreter is gone
/// (Doc/c-api/sys.rst: "Since Python's internal finalization will have completed before the
/// cleanup function, no Python APIs should be called by func"); stopping the pool touches no
/// Python object, so that is the right moment: every Python-level user of rawcapi has finished.
pub fn register_shutdown(_py: Python) {
    use std::sync::atomic::Ordering;
    if REGISTERED.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: attached (the token); `stop_pool_at_exit` is an `extern "C" fn()` that lives as
    // long as the process (CPython never unloads extension modules). Py_AtExit returns -1 when
    // its 32 slots are full: then the workers are left to the process's exit, as before.
    if unsafe { pyo3_ffi::Py_AtExit(Some(stop_pool_at_exit)) } != 0 {
        REGISTERED.store(false, Ordering::Release);
    }
}

/// The `Py_AtExit` function: stop and join the pool's workers. No Python API is called here.
extern "C" fn stop_pool_at_exit() {
    REGISTERED.store(false, std::sync::atomic::Ordering::Release);
    // A panic must not unwind into CPython; the pool's own code does not panic, but be sure.
    let _ = std::panic::catch_unwind(crate::kernels::pool::shutdown);
}

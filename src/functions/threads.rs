//! `set_num_threads(n, /)`, `get_num_threads()`: how many threads one large scan may use.
//!
//! The setting is process-wide (like NumPy's BLAS or Numba's), kept in `kernels::parallel` as an
//! atomic: there is no pool behind it, so it is the only state, and a `fork()` child inherits a
//! correct copy of it. `_set_parallel_threshold` is private, for the tests and the threshold
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
        parallel::set_num_threads(value as usize);
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

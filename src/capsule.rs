//! rawcapi's C API for other extension modules: a table of C function pointers in a `PyCapsule`.
//!
//! C extensions share functions this way: NumPy's `import_array()` fetches the capsule
//! `numpy._core._multiarray_umath._ARRAY_API` and calls through the pointer table inside it.
//! rawcapi does the same. The exec slot sets `rawcapi._C_API` to a capsule named
//! `"rawcapi._C_API"` holding the address of [`C_API`], and `include/rawcapi.h` declares the
//! same struct and `import_rawcapi()` (`PyCapsule_Import` + a version check).
//!
//! ```c
//! static const rawcapi_CAPI table = { 1, sizeof(rawcapi_CAPI), capi_sum_bytes, ... };
//! PyObject *capsule = PyCapsule_New((void *)&table, "rawcapi._C_API", NULL);
//! PyModule_AddObjectRef(module, "_C_API", capsule);
//! ```
//!
//! The table is one `static` for the whole process: it may only hold what is the same in every
//! (sub)interpreter — function pointers. The Array type is per interpreter (module state,
//! src/state.rs), so `Array_New` looks it up in the calling interpreter's `rawcapi` module;
//! `Array_Check` and the accessors recognise an Array by its type (any interpreter's): its token on
//! 3.14+, its `tp_dealloc` before (`ArrayObject::downcast`).
//!
//! The struct's layout is checked against the header by the layout check (src/layout/).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use pyo3_ffi::{PyObject, Py_ssize_t};

use crate::array::object::{zeros, ArrayObject};
use crate::capi::gil::Python;
use crate::capi::error::{raise, Exc, PyErrSet, PyResult};
use crate::capi::object::Owned;
use crate::capi::panic;
use crate::kernels::array::dtype::DType;
use crate::kernels::array::view::MAX_NDIM;
use crate::kernels::memory::Units;
use crate::kernels::newlines::count_newlines_threaded;
use crate::kernels::sum::sum_bytes_threaded;

/// `RAWCAPI_C_API_VERSION` in include/rawcapi.h. The table only grows: a new field goes at the
/// end and raises this number; no field ever moves or changes meaning.
pub const VERSION: u32 = 1;

/// `RAWCAPI_CAPSULE_NAME`: `PyCapsule_Import` checks it ("module.attribute").
pub const CAPSULE_NAME: &CStr = c"rawcapi._C_API";

/// `rawcapi_CAPI` in include/rawcapi.h, field for field (the C names, for the layout check).
#[repr(C)]
#[allow(non_snake_case)]
pub struct CApi {
    pub version: u32,
    pub size: u32,
    pub sum_bytes: unsafe extern "C" fn(*const c_void, usize, *mut u64) -> c_int,
    pub count_newlines: unsafe extern "C" fn(*const c_void, usize, *mut u64) -> c_int,
    pub Array_Check: unsafe extern "C" fn(*mut PyObject) -> c_int,
    pub Array_New: unsafe extern "C" fn(*const c_char, c_int, *const Py_ssize_t) -> *mut PyObject,
    pub Array_Data: unsafe extern "C" fn(*mut PyObject) -> *mut c_void,
    pub Array_NDim: unsafe extern "C" fn(*mut PyObject) -> c_int,
    pub Array_Shape: unsafe extern "C" fn(*mut PyObject) -> *const Py_ssize_t,
    pub Array_Strides: unsafe extern "C" fn(*mut PyObject) -> *const Py_ssize_t,
    pub Array_DType: unsafe extern "C" fn(*mut PyObject) -> *const c_char,
    pub Array_IsWritable: unsafe extern "C" fn(*mut PyObject) -> c_int,
}

/// The table. Immutable, and only function pointers: safe to share between interpreters.
pub static C_API: CApi = CApi {
    version: VERSION,
    size: std::mem::size_of::<CApi>() as u32,
    sum_bytes: capi_sum_bytes,
    count_newlines: capi_count_newlines,
    Array_Check: capi_array_check,
    Array_New: capi_array_new,
    Array_Data: capi_array_data,
    Array_NDim: capi_array_ndim,
    Array_Shape: capi_array_shape,
    Array_Strides: capi_array_strides,
    Array_DType: capi_array_dtype,
    Array_IsWritable: capi_array_is_writable,
};

/// Called from the exec slot: `module._C_API = PyCapsule(&C_API, "rawcapi._C_API")`.
///
/// # Safety
/// `module` is the rawcapi module being executed (borrowed); GIL held.
pub unsafe fn add_to(module: *mut PyObject) -> PyResult<()> {
    // SAFETY: GIL held. The pointer is to an immutable static that outlives every interpreter;
    // CPython never writes through it (the C side receives it as `const`). The name is a static
    // C string, as PyCapsule_New requires (it keeps the pointer). No destructor: nothing to free.
    // Returns a new reference.
    let capsule = unsafe {
        Owned::from_new(pyo3_ffi::PyCapsule_New(ptr::addr_of!(C_API) as *mut c_void, CAPSULE_NAME.as_ptr(), None))
    }?;
    // SAFETY: GIL held; PyObject_SetAttrString borrows both objects (the module takes its own
    // reference), and returns -1 with an exception set on failure.
    if unsafe { pyo3_ffi::PyObject_SetAttrString(module, c"_C_API".as_ptr(), capsule.as_ptr()) } < 0 {
        return Err(PyErrSet::fetched());
    }
    Ok(())
}

// -- Kernels: no GIL, no Python objects, so no exception can be raised: a panic (a rawcapi
// bug) is caught here and reported as -1, never unwound into the C caller.

/// Run a kernel over `len` bytes at `data`; 0 and `*result` set, or -1 on a caught panic.
///
/// # Safety
/// `data` points at `len` readable bytes (or `len` is 0); `result` is writable.
unsafe fn run_kernel(data: *const c_void, len: usize, result: *mut u64, kernel: fn(Units<u8>) -> u64) -> c_int {
    if result.is_null() || (data.is_null() && len != 0) {
        return -1;
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if len == 0 {
            0
        } else {
            kernel(Units::new(data as *const u8, len))
        }
    }));
    match outcome {
        Ok(value) => {
            // SAFETY: `result` is non-NULL and writable (the caller's promise).
            unsafe { *result = value };
            0
        }
        Err(_) => -1,
    }
}

/// `int sum_bytes(const void *data, size_t len, uint64_t *result)`.
unsafe extern "C" fn capi_sum_bytes(data: *const c_void, len: usize, result: *mut u64) -> c_int {
    // SAFETY: forwarded from the C caller (documented in the header).
    unsafe { run_kernel(data, len, result, sum_bytes_threaded) }
}

/// `int count_newlines(const void *data, size_t len, uint64_t *result)`.
unsafe extern "C" fn capi_count_newlines(data: *const c_void, len: usize, result: *mut u64) -> c_int {
    // SAFETY: forwarded from the C caller (documented in the header).
    unsafe { run_kernel(data, len, result, count_newlines_threaded::<u8>) }
}

// -- rawcapi.Array: the GIL is held, errors are Python exceptions, panics go through `guard`.

/// `int Array_Check(PyObject *obj)`: 1 for an Array of any interpreter's rawcapi, else 0.
unsafe extern "C" fn capi_array_check(obj: *mut PyObject) -> c_int {
    // SAFETY: `obj` is a valid object (borrowed) and the GIL is held (the header's contract).
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, -1, || Ok(unsafe { ArrayObject::downcast(obj) }.is_some() as c_int))
}

/// The Array behind `obj`, or TypeError naming what it is instead.
///
/// # Safety
/// `obj` valid (borrowed), GIL held.
unsafe fn array<'a>(py: Python<'_>, obj: *mut PyObject) -> PyResult<&'a ArrayObject> {
    // SAFETY: forwarded.
    unsafe { ArrayObject::downcast(obj) }.ok_or_else(|| {
        // SAFETY: forwarded.
        let name = unsafe { crate::capi::object::type_name(py, obj) };
        raise(py, Exc::TypeError, &format!("expected a rawcapi.Array, not '{name}'"))
    })
}

/// `PyObject *Array_New(const char *dtype, int ndim, const Py_ssize_t *shape)`: new reference.
unsafe extern "C" fn capi_array_new(dtype: *const c_char, ndim: c_int, shape: *const Py_ssize_t) -> *mut PyObject {
    // SAFETY: CPython calls this function attached (holding the GIL).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || {
        if dtype.is_null() {
            return Err(raise(py, Exc::ValueError, "Array_New: dtype is NULL"));
        }
        // SAFETY: a NUL-terminated string (the header's contract), read before returning.
        let name = unsafe { CStr::from_ptr(dtype) }.to_string_lossy();
        let dtype = DType::from_name(&name).ok_or_else(|| raise(py, Exc::ValueError, &format!("Array_New: unknown dtype '{name}'")))?;
        let ndim = usize::try_from(ndim)
            .ok()
            .filter(|&n| n <= MAX_NDIM)
            .ok_or_else(|| raise(py, Exc::ValueError, &format!("Array_New: ndim must be 0..={MAX_NDIM}, not {ndim}")))?;
        if shape.is_null() && ndim > 0 {
            return Err(raise(py, Exc::ValueError, "Array_New: shape is NULL"));
        }
        let mut sizes = Vec::with_capacity(ndim);
        for i in 0..ndim {
            // SAFETY: `shape` points at `ndim` sizes (the header's contract).
            let n = unsafe { *shape.add(i) };
            sizes.push(usize::try_from(n).map_err(|_| raise(py, Exc::ValueError, &format!("Array_New: negative dimension {n} in shape")))?);
        }
        let module = current_module(py)?;
        // SAFETY: `module` is a rawcapi module (checked), kept alive by `module` while used.
        let ty = unsafe { crate::state::array_type(py, module.as_ptr()) }?;
        // SAFETY: `ty` is that module's Array type (borrowed); GIL held.
        Ok(unsafe { zeros(py, ty, dtype, &sizes) }?.into_raw())
    })
}

/// The calling interpreter's `rawcapi` module (new reference), checked to be made from this
/// library's description: `import rawcapi` returns `sys.modules["rawcapi"]` once it is imported.
fn current_module(py: Python<'_>) -> PyResult<Owned> {
    // SAFETY: GIL held; returns a new reference or NULL with the import's exception set.
    let module = unsafe { Owned::from_new(pyo3_ffi::PyImport_ImportModule(c"rawcapi".as_ptr())) }?;
    // SAFETY: GIL held; `module` is a live object (borrowed for the call). The check is by the
    // module's token on 3.15 (the form it was made from has no PyModuleDef there) and by its
    // definition before (src/capi/export.rs).
    let ours = unsafe { crate::capi::export::is_module_of(module.as_ptr(), crate::module_def()) };
    if !ours {
        return Err(raise(py, Exc::ImportError, "rawcapi C API: sys.modules['rawcapi'] is not the rawcapi extension module"));
    }
    Ok(module)
}

/// `void *Array_Data(PyObject *array)`.
unsafe extern "C" fn capi_array_data(obj: *mut PyObject) -> *mut c_void {
    // SAFETY: the header's contract: called attached (holding the GIL), `obj` valid.
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null_mut(), || Ok(unsafe { array(py, obj) }?.pin().data().cast()))
}

/// `int Array_NDim(PyObject *array)`.
unsafe extern "C" fn capi_array_ndim(obj: *mut PyObject) -> c_int {
    // SAFETY: the header's contract: called attached (holding the GIL), `obj` valid.
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, -1, || Ok(unsafe { array(py, obj) }?.pin().ndim() as c_int))
}

/// `const Py_ssize_t *Array_Shape(PyObject *array)`: the Array's own inline shape, as
/// `Py_ssize_t` (the same size as `usize`; every size fits `isize`).
unsafe extern "C" fn capi_array_shape(obj: *mut PyObject) -> *const Py_ssize_t {
    // SAFETY: the header's contract: called attached (holding the GIL), `obj` valid. The pointer
    // is into the Array object, valid while it lives; what it points at changes only through
    // `a.shape = ...`, which a held buffer export refuses (include/rawcapi.h says so).
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null(), || Ok(unsafe { array(py, obj) }?.pin().shape().as_ptr().cast()))
}

/// `const Py_ssize_t *Array_Strides(PyObject *array)`.
unsafe extern "C" fn capi_array_strides(obj: *mut PyObject) -> *const Py_ssize_t {
    // SAFETY: the header's contract: called attached (holding the GIL), `obj` valid.
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null(), || Ok(unsafe { array(py, obj) }?.pin().strides().as_ptr()))
}

/// `const char *Array_DType(PyObject *array)`: a static NUL-terminated name.
unsafe extern "C" fn capi_array_dtype(obj: *mut PyObject) -> *const c_char {
    // SAFETY: the header's contract: called attached (holding the GIL), `obj` valid.
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, ptr::null(), || Ok(dtype_c_name(unsafe { array(py, obj) }?.dtype()).as_ptr()))
}

/// `int Array_IsWritable(PyObject *array)`.
unsafe extern "C" fn capi_array_is_writable(obj: *mut PyObject) -> c_int {
    // SAFETY: the header's contract: called attached (holding the GIL), `obj` valid.
    let py = unsafe { Python::assume_attached() };
    panic::guard(py, -1, || Ok(unsafe { array(py, obj) }?.is_writable() as c_int))
}

/// `DType::name()` as a C string: one arm per dtype, so a new dtype fails to compile here
/// until it has one.
fn dtype_c_name(dtype: DType) -> &'static CStr {
    let name = match dtype {
        DType::Bool => c"bool",
        DType::UInt8 => c"uint8",
        DType::Int32 => c"int32",
        DType::Int64 => c"int64",
        DType::Float32 => c"float32",
        DType::Float64 => c"float64",
        DType::Complex128 => c"complex128",
    };
    debug_assert_eq!(name.to_str().ok(), Some(dtype.name()));
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_c_names_match_the_rust_names() {
        for dtype in DType::ALL {
            assert_eq!(dtype_c_name(dtype).to_str().unwrap(), dtype.name());
        }
    }

    #[test]
    fn kernels_through_the_table() {
        let data = b"a\nbc\n\n\xff";
        let mut result = 0u64;
        // SAFETY: `data` is readable for its length; `result` is writable.
        unsafe {
            assert_eq!((C_API.sum_bytes)(data.as_ptr().cast(), data.len(), &mut result), 0);
            assert_eq!(result, data.iter().map(|&b| u64::from(b)).sum::<u64>());
            assert_eq!((C_API.count_newlines)(data.as_ptr().cast(), data.len(), &mut result), 0);
            assert_eq!(result, 3);
            assert_eq!((C_API.sum_bytes)(ptr::null(), 0, &mut result), 0);
            assert_eq!(result, 0);
            assert_eq!((C_API.sum_bytes)(ptr::null(), 1, &mut result), -1);
            assert_eq!((C_API.sum_bytes)(data.as_ptr().cast(), 1, ptr::null_mut()), -1);
        }
    }
}

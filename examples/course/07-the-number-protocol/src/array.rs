//! `course07.Array`: the smallest n-dimensional array type that works.
//!
//! As Python (the memory is a C `double` block the object owns, exported without copying):
//!
//! ```python
//! class Array:                                  # final: no subclasses
//!     def __new__(cls, values=None, shape=None):
//!         ...                                   # floats, or zeros of `shape`, or both
//!     shape: tuple[int, ...]                    # settable to a shape of the same size,
//!                                               # unless the buffer is exported
//!     strides: tuple[int, ...]                  # bytes, C order
//!     dtype = "float64"
//!     def __buffer__(self, flags): ...          # memoryview(a), numpy.asarray(a)
//!     def __add__(self, other): ...             # src/number.rs
//! ```
//!
//! The slot functions come in the order CPython calls them: new, traverse, dealloc; then the
//! attributes, the buffer slots, and the slot table and spec that `lib.rs` builds the type from.

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicIsize, Ordering};

use pyo3_ffi::{PyObject, PyTypeObject, PyType_Slot, PyType_Spec, Py_buffer, Py_ssize_t};

use crate::error::{no_memory, raise, try_guard, Exc};
use crate::gil::Python;
use crate::owned::Owned;

/// The most dimensions an Array has: shape and strides live inline in the object.
pub const MAX_NDIM: usize = 8;
/// float64 is the only dtype: 8-byte C doubles, struct-module format "d".
const ITEMSIZE: usize = 8;
const FORMAT: &CStr = c"d";

/// The object: `PyObject_HEAD` and the fields every slot reads through a cast of `self`.
#[repr(C)]
pub struct ArrayObject {
    /// `ob_refcnt` and `ob_type`; for a heap type, `ob_type` is a strong reference (dealloc
    /// drops it).
    ob_base: PyObject,
    /// `len` doubles from `libc::calloc`, owned, freed in dealloc (NULL before it is set).
    data: *mut f64,
    len: usize,
    /// ndim, shape and strides. In a cell: the shape setter rewrites them in place, which is
    /// only allowed while nothing has been handed a pointer to them (see `exports`).
    layout: UnsafeCell<Layout>,
    /// Outstanding buffer exports and pins (> 0), none (0), or the shape being rewritten (-1).
    /// Atomic so the count stays right when two threads export at once (free-threaded builds).
    exports: AtomicIsize,
}

#[derive(Clone, Copy)]
struct Layout {
    ndim: usize,
    shape: [Py_ssize_t; MAX_NDIM],
    /// Bytes from one element to the next along each dimension.
    strides: [Py_ssize_t; MAX_NDIM],
}

impl Layout {
    /// The C-order (row-major) layout of `shape`; the caller checked `shape.len() <= MAX_NDIM`
    /// and that the size fits.
    fn c_order(shape: &[usize]) -> Layout {
        let mut layout = Layout { ndim: shape.len(), shape: [0; MAX_NDIM], strides: [0; MAX_NDIM] };
        let mut step = ITEMSIZE as Py_ssize_t;
        for d in (0..shape.len()).rev() {
            layout.shape[d] = shape[d] as Py_ssize_t;
            layout.strides[d] = step;
            step *= (shape[d] as Py_ssize_t).max(1);
        }
        layout
    }
}

/// While a `Pin` lives, the Array's layout cannot change: it counts in `exports`, and the shape
/// setter refuses to run while that is non-zero. The layout is read only through a pin.
pub struct Pin<'a>(&'a ArrayObject);

impl ArrayObject {
    /// Count one more user of the layout; `BufferError` while the shape is being rewritten.
    fn acquire(&self, py: Python<'_>) -> Option<()> {
        self.exports
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n >= 0).then_some(n + 1))
            .ok()
            .map(|_| ())
            .or_else(|| raise(py, Exc::BufferError, "the Array's shape is being changed"))
    }

    pub fn pin(&self, py: Python<'_>) -> Option<Pin<'_>> {
        self.acquire(py)?;
        Some(Pin(self))
    }
}

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        self.0.exports.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pin<'_> {
    fn layout(&self) -> &Layout {
        // SAFETY: the layout is written only by the shape setter, which holds `exports` at -1;
        // this pin holds it above 0, so nothing writes it while the reference lives.
        unsafe { &*self.0.layout.get() }
    }

    pub fn shape(&self) -> &[Py_ssize_t] {
        &self.layout().shape[..self.layout().ndim]
    }

    pub fn strides(&self) -> &[Py_ssize_t] {
        &self.layout().strides[..self.layout().ndim]
    }

    /// The elements, in C order: the memory of every Array is one C-contiguous block.
    pub fn values(&self) -> &[f64] {
        if self.0.len == 0 {
            return &[];
        }
        // SAFETY: `data` holds `len` initialised doubles (calloc) while the object lives, and the
        // pin borrows the object. What this cannot rule out is a write through an exported
        // buffer by another thread during the read: the buffer protocol leaves that race to
        // the user, as NumPy does.
        unsafe { std::slice::from_raw_parts(self.0.data, self.0.len) }
    }
}

/// The elements of an Array just made by [`new_zeroed`], to fill in.
///
/// # Safety
/// `array` is a new Array that no other code has seen: no pin, no export, no other reference.
pub unsafe fn values_mut(array: &Owned) -> &mut [f64] {
    // SAFETY: forwarded; new_zeroed allocated `len` doubles (at least one) at `data`.
    let this = unsafe { &*(array.as_ptr() as *const ArrayObject) };
    // SAFETY: as above: the memory is initialised (calloc) and reachable only through here.
    unsafe { std::slice::from_raw_parts_mut(this.data, this.len) }
}

/// `self` of an Array slot as the Rust struct.
///
/// # Safety
/// `obj` is a live Array (CPython calls the type's slots only with instances of the type; the
/// type has no subclasses).
pub unsafe fn as_array<'a>(obj: *mut PyObject) -> &'a ArrayObject {
    // SAFETY: forwarded; the object was allocated with basicsize = size_of::<ArrayObject>().
    unsafe { &*(obj as *const ArrayObject) }
}

/// A new Array of type `ty` with shape `shape`, every element 0.0: `tp_alloc` for the object,
/// `calloc` for the data. Returns a new reference.
///
/// # Safety
/// `ty` is the Array type (borrowed); attached.
pub unsafe fn new_zeroed(py: Python<'_>, ty: *mut PyTypeObject, shape: &[usize]) -> Option<Owned> {
    if shape.len() > MAX_NDIM {
        return raise(py, Exc::ValueError, &format!("an Array has at most {MAX_NDIM} dimensions, not {}", shape.len()));
    }
    let len = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n.checked_mul(ITEMSIZE).is_some_and(|b| b <= isize::MAX as usize))
        .or_else(|| raise(py, Exc::ValueError, "the Array would be too large"))?;
    // SAFETY: attached; `ty` is a type. Py_tp_alloc is inherited (PyType_GenericAlloc): it
    // returns the object zero-filled, with ob_type = ty and a NEW reference to ty taken for it
    // (heap type), already tracked by the collector (HAVE_GC), or NULL with MemoryError set.
    let obj = unsafe {
        let alloc: pyo3_ffi::allocfunc = std::mem::transmute(pyo3_ffi::PyType_GetSlot(ty, pyo3_ffi::Py_tp_alloc));
        Owned::from_new(alloc(ty, 0))?
    };
    // The zero-filled object is already a valid, empty Array (data NULL, len 0, exports 0), so
    // dropping `obj` on the error path below runs dealloc on a consistent object.
    // SAFETY: calloc of len.max(1) doubles (never 0, whose result may be NULL); overflow was
    // ruled out above.
    let data = unsafe { libc::calloc(len.max(1), ITEMSIZE) } as *mut f64;
    if data.is_null() {
        return no_memory(py);
    }
    let this = obj.as_ptr() as *mut ArrayObject;
    // SAFETY: `this` is the object just allocated, not yet visible to any other code; traverse
    // (the collector may run) reads no field of it but ob_type.
    unsafe {
        (*this).data = data;
        (*this).len = len;
        (*this).layout = UnsafeCell::new(Layout::c_order(shape));
    }
    Some(obj)
}

/// `Array(values=None, shape=None)`: `tp_new`, called with the type and the call's arguments
/// (borrowed references).
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn array_new(ty: *mut PyTypeObject, args: *mut PyObject, kwds: *mut PyObject) -> *mut PyObject {
    // SAFETY: CPython calls type slots attached.
    let py = unsafe { Python::assume_attached() };
    try_guard(py, ptr::null_mut(), || {
        let mut values: *mut PyObject = ptr::null_mut();
        let mut shape: *mut PyObject = ptr::null_mut();
        let mut keywords = [c"values".as_ptr() as *mut c_char, c"shape".as_ptr() as *mut c_char, ptr::null_mut()];
        // SAFETY: attached; `args` is a tuple and `kwds` a dict or NULL (CPython's call); the
        // keyword list is NULL-terminated and matches the two "O" units, which store BORROWED
        // references (the call's tuple and dict keep them alive) or leave NULL when not given.
        let parsed = unsafe {
            pyo3_ffi::PyArg_ParseTupleAndKeywords(
                args,
                kwds,
                c"|OO:Array".as_ptr(),
                keywords.as_mut_ptr().cast(),
                &mut values as *mut *mut PyObject,
                &mut shape as *mut *mut PyObject,
            )
        };
        if parsed == 0 {
            return None;
        }
        // SAFETY: attached; Py_None is the singleton (borrowed), only compared.
        let none = unsafe { pyo3_ffi::Py_None() };
        let given = |obj: *mut PyObject| !obj.is_null() && obj != none;
        // SAFETY (both): attached; the objects are valid borrowed references.
        let values = if given(values) { Some(unsafe { read_floats(py, values) }?) } else { None };
        let shape = if given(shape) { Some(unsafe { read_shape(py, shape) }?) } else { None };
        let shape = match (&shape, &values) {
            (None, None) => return raise(py, Exc::TypeError, "Array() needs values, a shape, or both"),
            (None, Some(v)) => vec![v.len()],
            (Some(s), _) => s.clone(),
        };
        // SAFETY: `ty` is the type being called: the Array type (it has no subclasses).
        let array = unsafe { new_zeroed(py, ty, &shape) }?;
        if let Some(values) = values {
            // SAFETY: a new Array no one else has seen.
            let this = unsafe { as_array(array.as_ptr()) };
            if values.len() != this.len {
                let message = format!("cannot give {} values the shape {shape:?}", values.len());
                return raise(py, Exc::ValueError, &message);
            }
            // SAFETY: `data` has room for `len` doubles and no other reference exists yet.
            unsafe { ptr::copy_nonoverlapping(values.as_ptr(), this.data, values.len()) };
        }
        Some(array.into_raw())
    })
}

/// The floats of a sequence (each item through `float()`'s rules: `PyFloat_AsDouble`).
///
/// # Safety
/// `seq` is a valid object (borrowed); attached.
unsafe fn read_floats(py: Python<'_>, seq: *mut PyObject) -> Option<Vec<f64>> {
    // SAFETY: attached; `seq` valid. PySequence_Size is -1 with TypeError set for a
    // non-sequence; a str is a sequence, and its items then fail PyFloat_AsDouble.
    let n = unsafe { pyo3_ffi::PySequence_Size(seq) };
    if n < 0 {
        return None;
    }
    let mut out = reserved(py, n)?;
    for i in 0..n {
        // SAFETY: attached; PySequence_GetItem returns a NEW reference (dropped by `Owned`).
        let item = unsafe { Owned::from_new(pyo3_ffi::PySequence_GetItem(seq, i)) }?;
        // SAFETY: attached; `item` valid. -1.0 with an exception set means failure.
        let x = unsafe { pyo3_ffi::PyFloat_AsDouble(item.as_ptr()) };
        if x == -1.0 && unsafe { !pyo3_ffi::PyErr_Occurred().is_null() } {
            return None;
        }
        out.push(x);
    }
    Some(out)
}

/// An empty Vec with room for the `n` items a sequence's `__len__` announced. Fallibly: a
/// `__len__` may claim more than memory can hold, and `Vec::with_capacity` would then abort the
/// process instead of raising MemoryError.
fn reserved<T>(py: Python<'_>, n: Py_ssize_t) -> Option<Vec<T>> {
    let mut v = Vec::new();
    match v.try_reserve(n as usize) {
        Ok(()) => Some(v),
        Err(_) => no_memory(py),
    }
}

/// A shape: an int, or a sequence of ints, each >= 0.
///
/// # Safety
/// `obj` is a valid object (borrowed); attached.
unsafe fn read_shape(py: Python<'_>, obj: *mut PyObject) -> Option<Vec<usize>> {
    // SAFETY: attached; `obj` valid; PyLong_Check only reads its type.
    let dims = if unsafe { pyo3_ffi::PyLong_Check(obj) } != 0 {
        // SAFETY: as above; -1 with OverflowError set when it does not fit.
        vec![unsafe { pyo3_ffi::PyLong_AsSsize_t(obj) }]
    } else {
        // SAFETY: as in read_floats.
        let n = unsafe { pyo3_ffi::PySequence_Size(obj) };
        if n < 0 {
            return None;
        }
        let mut dims = reserved(py, n)?;
        for i in 0..n {
            // SAFETY: attached; a NEW reference, dropped at the end of the iteration.
            let item = unsafe { Owned::from_new(pyo3_ffi::PySequence_GetItem(obj, i)) }?;
            // SAFETY: attached; TypeError set for a non-integer, OverflowError for a huge one.
            dims.push(unsafe { pyo3_ffi::PyLong_AsSsize_t(item.as_ptr()) });
        }
        dims
    };
    // SAFETY: attached; a -1 with an exception set is a failed conversion.
    if dims.contains(&-1) && unsafe { !pyo3_ffi::PyErr_Occurred().is_null() } {
        return None;
    }
    dims.iter()
        .map(|&d| usize::try_from(d).ok().or_else(|| raise(py, Exc::ValueError, &format!("negative dimension {d} in shape"))))
        .collect()
}

/// `tp_traverse`. An Array holds one reference the collector must know of: its type. A heap
/// type's instances must visit it (Doc/c-api/typeobj.rst, since 3.9), or a cycle that runs
/// through the type (instance -> type -> module -> module dict -> instance) is never freed.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn array_traverse(obj: *mut PyObject, visit: pyo3_ffi::visitproc, arg: *mut c_void) -> c_int {
    // No guard, no token: traverse must not raise, and nothing here can panic.
    // SAFETY: `obj` is a live Array; Py_VISIT(Py_TYPE(self)) borrows the type for the call.
    unsafe { visit(pyo3_ffi::Py_TYPE(obj).cast(), arg) }
}

/// `tp_dealloc`: the reference count reached zero (or the collector cleared a cycle).
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn array_dealloc(obj: *mut PyObject) {
    // Untrack first: once fields start being freed, a collection triggered by anything below
    // must not find this half-destroyed object in its lists and traverse it.
    // SAFETY: `obj` is a tracked GC object being destroyed; attached (CPython deallocates
    // attached).
    unsafe { pyo3_ffi::PyObject_GC_UnTrack(obj.cast()) };
    // SAFETY: `data` is NULL or our calloc'd block; no export can be outstanding (each holds a
    // reference to `obj`, and the count is zero).
    unsafe { libc::free((*(obj as *mut ArrayObject)).data.cast()) };
    // SAFETY: the type outlives its instances (each holds a reference, dropped last, below).
    // Py_tp_free is inherited: PyObject_GC_Del for a GC type.
    unsafe {
        let ty = pyo3_ffi::Py_TYPE(obj);
        let free: pyo3_ffi::freefunc = std::mem::transmute(pyo3_ffi::PyType_GetSlot(ty, pyo3_ffi::Py_tp_free));
        free(obj.cast());
        // A heap type's instance owns a reference to its type: drop it after the memory.
        pyo3_ffi::Py_DECREF(ty.cast());
    }
}

/// A tuple of ints: `PyTuple_New` and `PyTuple_SetItem`, which STEALS the item's reference.
fn tuple_of(_py: Python<'_>, items: &[Py_ssize_t]) -> Option<Owned> {
    // SAFETY: attached (the token); a NEW reference, or NULL with MemoryError set.
    let tuple = unsafe { Owned::from_new(pyo3_ffi::PyTuple_New(items.len() as Py_ssize_t)) }?;
    for (i, &x) in items.iter().enumerate() {
        // SAFETY: attached; a NEW reference, handed to the tuple below.
        let item = unsafe { Owned::from_new(pyo3_ffi::PyLong_FromSsize_t(x)) }?;
        // SAFETY: `tuple` is a new tuple of this length, slot `i` still empty. SetItem steals
        // the reference (even on failure), so `into_raw` gives ours away without a DECREF.
        if unsafe { pyo3_ffi::PyTuple_SetItem(tuple.as_ptr(), i as Py_ssize_t, item.into_raw()) } < 0 {
            return None;
        }
    }
    Some(tuple)
}

/// `a.shape`.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn get_shape(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: CPython calls getters attached.
    let py = unsafe { Python::assume_attached() };
    try_guard(py, ptr::null_mut(), || {
        // SAFETY: getters of this type are called with an Array.
        let pin = unsafe { as_array(obj) }.pin(py)?;
        Some(tuple_of(py, pin.shape())?.into_raw())
    })
}

/// `a.shape = new_shape`: same number of elements, and refused while the buffer is exported,
/// because every consumer was handed pointers to the shape and strides arrays inside the object.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn set_shape(obj: *mut PyObject, value: *mut PyObject, _closure: *mut c_void) -> c_int {
    // SAFETY: CPython calls setters attached.
    let py = unsafe { Python::assume_attached() };
    try_guard(py, -1, || {
        if value.is_null() {
            return raise(py, Exc::TypeError, "cannot delete an Array's shape");
        }
        // SAFETY: setters of this type are called with an Array; `value` is borrowed.
        let (this, shape) = (unsafe { as_array(obj) }, unsafe { read_shape(py, value) }?);
        let len = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if len != Some(this.len) || shape.len() > MAX_NDIM {
            return raise(py, Exc::ValueError, &format!("cannot reshape an Array of {} values to {shape:?}", this.len));
        }
        if this.exports.compare_exchange(0, -1, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return raise(py, Exc::BufferError, "cannot reshape an Array while its buffer is exported");
        }
        // SAFETY: `exports` is -1: no pin or export exists and none can start until it is 0.
        unsafe { *this.layout.get() = Layout::c_order(&shape) };
        this.exports.store(0, Ordering::Release);
        Some(0)
    })
}

/// `a.strides`: bytes per step along each dimension, as NumPy reports them.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn get_strides(obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: CPython calls getters attached.
    let py = unsafe { Python::assume_attached() };
    try_guard(py, ptr::null_mut(), || {
        // SAFETY: getters of this type are called with an Array.
        let pin = unsafe { as_array(obj) }.pin(py)?;
        Some(tuple_of(py, pin.strides())?.into_raw())
    })
}

/// `a.dtype`: the one element type, named as NumPy names it.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn get_dtype(_obj: *mut PyObject, _closure: *mut c_void) -> *mut PyObject {
    // SAFETY: CPython calls getters attached.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: attached; a NEW reference, or NULL with an exception set.
    try_guard(py, ptr::null_mut(), || Some(unsafe { Owned::from_new(pyo3_ffi::PyUnicode_FromString(c"float64".as_ptr())) }?.into_raw()))
}

static mut GETSET: [pyo3_ffi::PyGetSetDef; 4] = [
    pyo3_ffi::PyGetSetDef {
        name: c"shape".as_ptr(),
        get: Some(get_shape),
        set: Some(set_shape),
        doc: c"The length of each dimension.".as_ptr(),
        closure: ptr::null_mut(),
    },
    pyo3_ffi::PyGetSetDef {
        name: c"strides".as_ptr(),
        get: Some(get_strides),
        set: None,
        doc: c"Bytes between neighbours along each dimension.".as_ptr(),
        closure: ptr::null_mut(),
    },
    pyo3_ffi::PyGetSetDef {
        name: c"dtype".as_ptr(),
        get: Some(get_dtype),
        set: None,
        doc: c"The element type: 'float64'.".as_ptr(),
        closure: ptr::null_mut(),
    },
    pyo3_ffi::PyGetSetDef { name: ptr::null(), get: None, set: None, doc: ptr::null(), closure: ptr::null_mut() },
];

/// `bf_getbuffer`: fill `view` for a consumer (memoryview, NumPy, `PyObject_GetBuffer`).
/// The memory is always C-contiguous, so every request can be met but a Fortran-order one.
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn array_getbuffer(obj: *mut PyObject, view: *mut Py_buffer, flags: c_int) -> c_int {
    // SAFETY: CPython calls buffer slots attached.
    let py = unsafe { Python::assume_attached() };
    let result = try_guard(py, -1, || {
        // SAFETY: `obj` is an Array (this type's slot).
        let this = unsafe { as_array(obj) };
        // One more export: the layout stays fixed until the matching releasebuffer. Taken
        // before reading the layout, so a concurrent reshape is refused, not raced.
        this.acquire(py)?;
        let pin = Pin(this);
        let (shape, strides) = (pin.shape(), pin.strides());
        let fortran = shape.iter().filter(|&&n| n > 1).count() <= 1 || shape.contains(&0);
        if flags & pyo3_ffi::PyBUF_F_CONTIGUOUS == pyo3_ffi::PyBUF_F_CONTIGUOUS && !fortran {
            return raise(py, Exc::BufferError, "the Array is C-contiguous, not Fortran-contiguous");
        }
        let wants = |bits: c_int| flags & bits == bits;
        // No shape asked for (PyBUF_SIMPLE, PyBUF_WRITABLE): the consumer sees `len` unsigned
        // bytes, ndim 1, as _testbuffer.c and memoryobject.c export them; a format alongside
        // would contradict that.
        let flat = !wants(pyo3_ffi::PyBUF_ND);
        if flat && wants(pyo3_ffi::PyBUF_FORMAT) {
            return raise(py, Exc::BufferError, "cannot export as unsigned bytes with a format");
        }
        // SAFETY: `view` is the consumer's Py_buffer to fill. `shape`/`strides`/`format` point
        // into the object and a static: they stay valid and unchanged while the export holds
        // `exports` > 0 and `view.obj` keeps the object alive. view.obj is a NEW reference,
        // dropped by PyBuffer_Release after it calls our releasebuffer.
        unsafe {
            (*view).buf = this.data.cast();
            (*view).obj = obj;
            pyo3_ffi::Py_INCREF(obj);
            (*view).len = (this.len * ITEMSIZE) as Py_ssize_t;
            (*view).itemsize = ITEMSIZE as Py_ssize_t;
            (*view).readonly = 0;
            (*view).ndim = if flat { 1 } else { shape.len() as c_int };
            (*view).format = if wants(pyo3_ffi::PyBUF_FORMAT) { FORMAT.as_ptr() as *mut c_char } else { ptr::null_mut() };
            (*view).shape = if flat { ptr::null_mut() } else { shape.as_ptr() as *mut Py_ssize_t };
            (*view).strides = if wants(pyo3_ffi::PyBUF_STRIDES) { strides.as_ptr() as *mut Py_ssize_t } else { ptr::null_mut() };
            (*view).suboffsets = ptr::null_mut();
            (*view).internal = ptr::null_mut();
        }
        // The export keeps the count: releasebuffer gives it back.
        std::mem::forget(pin);
        Some(0)
    });
    if result < 0 {
        // A refused request leaves `view.obj` NULL (Doc/c-api/typeobj.rst, bf_getbuffer), so
        // that no consumer releases a view that was never filled.
        // SAFETY: `view` is the consumer's Py_buffer, writable for this call.
        unsafe { (*view).obj = ptr::null_mut() };
    }
    result
}

/// `bf_releasebuffer`: a consumer is done with one export (PyBuffer_Release calls this, then
/// drops view.obj).
///
/// # Safety
/// Called by CPython only, attached, with the arguments its slot or table entry promises.
unsafe extern "C" fn array_releasebuffer(obj: *mut PyObject, _view: *mut Py_buffer) {
    // SAFETY: `obj` is an Array with at least this export outstanding.
    unsafe { as_array(obj) }.exports.fetch_sub(1, Ordering::AcqRel);
}

macro_rules! slot {
    ($id:expr, $f:expr) => {
        PyType_Slot { slot: $id, pfunc: $f as *mut c_void }
    };
}

/// `static PyType_Slot Array_slots[]`: read by `PyType_FromModuleAndSpec`, never written.
static mut SLOTS: [PyType_Slot; 9] = [
    // `Array(...)`. Without it a heap type inherits object.__new__ (Objects/typeobject.c,
    // type_ready_set_new), which would make an Array with no data and no shape.
    slot!(pyo3_ffi::Py_tp_new, array_new),
    // Frees the data, the object, and the instance's reference to its type.
    slot!(pyo3_ffi::Py_tp_dealloc, array_dealloc),
    // Required with Py_TPFLAGS_HAVE_GC; visits the type.
    slot!(pyo3_ffi::Py_tp_traverse, array_traverse),
    slot!(pyo3_ffi::Py_tp_getset, (&raw mut GETSET).cast::<c_void>()),
    // The exporter's side of the buffer protocol.
    slot!(pyo3_ffi::Py_bf_getbuffer, array_getbuffer),
    slot!(pyo3_ffi::Py_bf_releasebuffer, array_releasebuffer),
    // `a + b`, `a + 2.0` and `2.0 + a`: CPython calls this one slot for both operand orders.
    slot!(pyo3_ffi::Py_nb_add, crate::number::nb_add),
    slot!(pyo3_ffi::Py_tp_doc, c"Array(values=None, shape=None)\n--\n\nAn n-dimensional array of float64.".as_ptr()),
    PyType_Slot { slot: 0, pfunc: ptr::null_mut() },
];

/// `static PyType_Spec Array_spec`. HAVE_GC: instances hold a strong reference to their heap
/// type, which can be part of a cycle. IMMUTABLETYPE (3.10+): `Array.x = 1` is refused, since
/// the type is shared by every Array of the module. No BASETYPE: no subclasses, so every
/// `self` a slot receives has exactly this layout.
pub static mut SPEC: PyType_Spec = PyType_Spec {
    name: c"course07.Array".as_ptr(),
    basicsize: std::mem::size_of::<ArrayObject>() as c_int,
    itemsize: 0,
    flags: (pyo3_ffi::Py_TPFLAGS_DEFAULT | pyo3_ffi::Py_TPFLAGS_HAVE_GC | IMMUTABLE) as c_uint,
    slots: (&raw mut SLOTS).cast(),
};

#[cfg(Py_3_10)]
const IMMUTABLE: std::ffi::c_ulong = pyo3_ffi::Py_TPFLAGS_IMMUTABLETYPE;
#[cfg(not(Py_3_10))]
const IMMUTABLE: std::ffi::c_ulong = 0;

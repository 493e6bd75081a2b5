//! The Array object: one `PyObject` header over a raw strided buffer, and its lifecycle.
//!
//! In C this is the struct every slot casts `self` to:
//!
//! ```c
//! typedef struct {
//!     PyObject_HEAD                 /* ob_refcnt, ob_type: what makes it a Python object */
//!     char *data;                   /* element [0, 0, ...] (may be inside someone else's memory) */
//!     int dtype; Py_ssize_t ndim;
//!     Py_ssize_t shape[32], strides[32];
//!     PyObject *base;               /* the Array whose memory this views, or NULL */
//!     void *allocation;             /* what to free(), or NULL when the memory is not ours */
//!     Py_buffer *imported;          /* a held export of another object (frombuffer), or NULL */
//!     int writable;
//!     Py_ssize_t exports;           /* our buffer exports still outstanding */
//! } ArrayObject;
//! ```
//!
//! Exactly one of three things owns the memory: `allocation` (a fresh array), `imported` (a
//! zero-copy view of another exporter, released in dealloc), or `base` (a view of another Array,
//! which stays alive because we hold a strong reference to it). `shape` and `strides` are inline
//! so the pointers handed out by the buffer export (`view->shape`) live exactly as long as the
//! Array — the rule NumPy's buffer.c follows.
//!
//! The memory is allocated with an alignment of 64 bytes (a cache line; any SIMD load width), and
//! fallibly: a failed allocation is `MemoryError`, never an abort.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3_ffi::{PyObject, PyTypeObject, Py_buffer};

use crate::capi::error::{raise, Exc, PyErrSet, PyResult};
use crate::capi::gil::Python;
use crate::capi::object::Owned;
use crate::kernels::array::dtype::DType;
use crate::kernels::array::view::{self, ArrayView, ArrayViewMut, MAX_NDIM};

/// The top bit of `exports`: set while `set_layout` writes the layout (the other bits count
/// exports and pins, far fewer than 2^63).
const LAYOUT_WRITER: usize = 1 << (usize::BITS - 1);

/// Alignment of every allocation an Array owns.
pub const ALIGN: usize = 64;

#[repr(C)]
pub struct ArrayObject {
    /// `PyObject_HEAD`: the reference count and `ob_type` (a strong reference to the type, since
    /// the type is a heap type — see `dealloc`).
    ob_base: PyObject,
    data: *mut u8,
    dtype: DType,
    /// ndim, shape, strides. In a cell because `a.shape = ...` may change them in place (only
    /// while nothing holds a pointer to them: see [`ArrayObject::pin`] and `set_layout`).
    layout: UnsafeCell<Layout>,
    /// Strong reference to the Array that owns the memory, or NULL.
    base: *mut PyObject,
    /// What `libc::free` must be given, or NULL.
    allocation: *mut c_void,
    /// A `Box<Py_buffer>` turned into a raw pointer (filled by `PyObject_GetBuffer`), or NULL.
    imported: *mut Py_buffer,
    writable: bool,
    /// Outstanding buffer exports and pins (`bf_getbuffer` minus `bf_releasebuffer`, plus live
    /// [`Pin`]s), with [`LAYOUT_WRITER`] set while the shape setter writes. Atomic so the count
    /// stays right, and the writer alone, even on a free-threaded interpreter, where two threads
    /// may export, pin or set the shape at once.
    exports: AtomicUsize,
}

/// The inline layout. `shape` is stored as `usize` and exported as `Py_ssize_t` (same size;
/// every value is at most `isize::MAX`); only the first `ndim` entries are meaningful.
struct Layout {
    ndim: usize,
    shape: [usize; MAX_NDIM],
    /// Bytes between neighbours per dimension (negative and zero allowed).
    strides: [isize; MAX_NDIM],
}

/// A pinned Array: while this guard lives, the Array's layout (ndim, shape, strides) and data
/// pointer cannot change, because it counts as an export and the shape setter refuses to run
/// while any export is outstanding (`BufferError`). The layout and the memory are reachable only
/// through a pin, so a kernel that reads them with the GIL released reads what was pinned.
///
/// `!Send` (it borrows the Python object), so the pin itself stays on the attached thread and
/// is dropped there; the GIL-free work receives the plain [`ArrayView`] borrowed from it.
pub struct Pin<'a>(&'a ArrayObject);

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        self.0.exports.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<'a> Pin<'a> {
    /// The Array pinned.
    pub fn array(&self) -> &'a ArrayObject {
        self.0
    }

    fn layout(&self) -> &Layout {
        // SAFETY: the layout is written only by `set_layout`, which refuses to run while any
        // export or pin is outstanding; this pin is one, so nothing writes it while `&self`
        // (and so the returned reference) lives.
        unsafe { &*self.0.layout.get() }
    }

    pub fn ndim(&self) -> usize {
        self.layout().ndim
    }

    pub fn shape(&self) -> &[usize] {
        let l = self.layout();
        &l.shape[..l.ndim]
    }

    pub fn strides(&self) -> &[isize] {
        let l = self.layout();
        &l.strides[..l.ndim]
    }

    /// The first element's address. Unlike the shape and strides, the data pointer never
    /// changes after `alloc_object` (a new layout addresses the same memory), so the raw
    /// pointer may be used after this pin is dropped, for as long as the Array is alive.
    pub fn data(&self) -> *mut u8 {
        self.0.data
    }

    pub fn size(&self) -> usize {
        self.shape().iter().product()
    }

    pub fn nbytes(&self) -> usize {
        self.size() * self.0.dtype.itemsize()
    }

    pub fn is_c_contiguous(&self) -> bool {
        view::is_c_contiguous(self.shape(), self.strides(), self.0.dtype.itemsize())
    }

    /// Pointers to the inline shape/strides, for the buffer export, which keeps its own pin
    /// (the export count) until `bf_releasebuffer`.
    pub(crate) fn shape_ptr(&self) -> *mut isize {
        self.layout().shape.as_ptr() as *mut isize
    }

    pub(crate) fn strides_ptr(&self) -> *mut isize {
        self.layout().strides.as_ptr() as *mut isize
    }

    /// Keep the pin for a buffer export: the count stays up until `bf_releasebuffer` takes it
    /// back ([`ArrayObject::unexport`]), one for one.
    pub(crate) fn into_export(self) {
        std::mem::forget(self);
    }

    /// The memory as a kernel view, valid while the pin lives.
    pub fn view(&self) -> ArrayView<'_> {
        ArrayView { data: self.0.data, dtype: self.0.dtype, shape: self.shape(), strides: self.strides() }
    }

    /// The memory as a writable kernel view, or `ValueError: assignment destination is read-only`
    /// (NumPy's message) for an Array made from a read-only exporter.
    pub fn view_mut(&self, py: Python<'_>) -> PyResult<ArrayViewMut<'_>> {
        if !self.0.writable {
            return Err(raise(py, Exc::ValueError, "assignment destination is read-only"));
        }
        Ok(ArrayViewMut { data: self.0.data, dtype: self.0.dtype, shape: self.shape(), strides: self.strides() })
    }
}

/// Where a new Array's memory comes from.
pub enum Memory {
    /// A fresh allocation from [`allocate`], now owned by the Array.
    Allocated { data: *mut u8, allocation: *mut c_void },
    /// Memory inside the Array `owner` (a strong reference moves into the new Array's `base`).
    ViewOf { data: *mut u8, owner: Owned },
    /// Memory of another exporter, held through this filled buffer (released in dealloc).
    Imported { data: *mut u8, buffer: Box<Py_buffer> },
}

/// Is `ty` the Array type of some rawcapi module (any interpreter's)? Exactly that type:
/// Array is not subclassable (no `Py_TPFLAGS_BASETYPE`, src/array/spec.rs).
///
/// 3.14+: `PyType_GetBaseByToken(ty, token, NULL)` (Doc/c-api/type.rst) looks through `ty`'s MRO
/// for a type whose `Py_tp_token` is the Array's (src/array/spec.rs): 1 if there is one, 0 if
/// not, -1 with an exception set. With `result` NULL it takes no reference, so recognising an
/// Array costs no reference-count traffic on the shared type (atomic on a free-threaded build).
/// Since no class can derive from Array, the type found can only be `ty` itself: the test is
/// exact.
///
/// # Safety
/// `ty` is a live type object (borrowed); the GIL is held.
#[cfg(Py_3_14)]
unsafe fn is_array_type(ty: *mut PyTypeObject) -> bool {
    // SAFETY: `ty` is a type; the token is a non-NULL static address (the call refuses NULL);
    // a NULL `result` asks for no reference.
    let found = unsafe { pyo3_ffi::PyType_GetBaseByToken(ty, super::spec::token(), ptr::null_mut()) };
    match found {
        1 => true,
        0 => false,
        _ => {
            // The documented errors are a NULL token and a `ty` that is not a type, neither
            // possible here. Array_Check promises never to fail (include/rawcapi.h), so should
            // one happen it is cleared and `ty` is not an Array type.
            // SAFETY: GIL held; an exception is set (the -1 contract).
            unsafe { pyo3_ffi::PyErr_Clear() };
            false
        }
    }
}

/// Before 3.14 (no type tokens): is its `tp_dealloc` this module's? One function pointer
/// comparison (`PyType_GetSlot` reads any type's slots from 3.10 on, static types included).
///
/// # Safety
/// `ty` is a live type object (borrowed); the GIL is held.
#[cfg(not(Py_3_14))]
unsafe fn is_array_type(ty: *mut PyTypeObject) -> bool {
    // SAFETY: `ty` is a live type object; GetSlot reads its slot without side effects.
    let dealloc_slot = unsafe { pyo3_ffi::PyType_GetSlot(ty, pyo3_ffi::Py_tp_dealloc) };
    dealloc_slot == dealloc as *mut c_void
}

impl ArrayObject {
    /// `self` as the Array struct, if `obj` is an Array (of any rawcapi module instance).
    ///
    /// An exact-type test that needs neither the module state nor the type object, and cannot be
    /// fooled by another type's layout: on 3.14+ "does its type carry the Array's token"
    /// ([`is_array_type`]), before that "is its `tp_dealloc` ours".
    ///
    /// # Safety
    /// `obj` is a valid object (borrowed) and the GIL is held. The reference is valid while
    /// `obj` is alive.
    pub unsafe fn downcast<'a>(obj: *mut PyObject) -> Option<&'a ArrayObject> {
        // SAFETY: `obj` valid; Py_TYPE is a borrowed pointer to its (live) type.
        let ty = unsafe { pyo3_ffi::Py_TYPE(obj) };
        // SAFETY: `ty` is a live type object; GIL held.
        if unsafe { is_array_type(ty) } {
            // SAFETY: only the Array type (tokened by, and deallocated with, this module's code)
            // has instances allocated by `alloc_object`: an ArrayObject.
            Some(unsafe { &*(obj as *const ArrayObject) })
        } else {
            None
        }
    }

    /// # Safety
    /// `obj` is an Array (for example `self` in one of the type's slots).
    pub unsafe fn from_ptr<'a>(obj: *mut PyObject) -> &'a ArrayObject {
        // SAFETY: the caller's promise.
        unsafe { &*(obj as *const ArrayObject) }
    }

    pub fn as_ptr(&self) -> *mut PyObject {
        self as *const ArrayObject as *mut PyObject
    }

    /// `Py_TYPE(self)`: the Array type (borrowed).
    pub fn type_ptr(&self) -> *mut PyTypeObject {
        self.ob_base.ob_type
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Pin the layout and memory for reading (see [`Pin`]): the only way to reach them.
    pub fn pin(&self) -> Pin<'_> {
        let before = self.exports.fetch_add(1, Ordering::AcqRel);
        if before & LAYOUT_WRITER != 0 {
            // Only on a free-threaded build: another thread is inside `set_layout` right now,
            // copying a few hundred bytes. Our count is already up, so no second writer can
            // start; wait for this one to finish before reading.
            while self.exports.load(Ordering::Acquire) & LAYOUT_WRITER != 0 {
                std::hint::spin_loop();
            }
        }
        Pin(self)
    }

    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// `bf_releasebuffer`: one export ([`Pin::into_export`]) ended.
    pub(crate) fn unexport(&self) {
        self.exports.fetch_sub(1, Ordering::AcqRel);
    }

    /// The object that owns this Array's memory, for a view of it: `self` if it owns its memory
    /// (allocation or imported buffer), else its own `base` — so chains of views all point at the
    /// owner, as NumPy's `base` does.
    pub fn memory_owner(&self, _py: Python<'_>) -> Owned {
        let owner = if self.base.is_null() { self.as_ptr() } else { self.base };
        // SAFETY: `owner` is alive (self, or held by self); Py_NewRef returns a new reference.
        unsafe { Owned::from_new(crate::capi::object::new_ref(owner)).expect("new_ref never returns NULL") }
    }

    /// The `base` attribute: the Array viewed, or the exporter of an imported buffer, or None.
    pub fn base_object(&self) -> *mut PyObject {
        if !self.base.is_null() {
            self.base
        } else if !self.imported.is_null() {
            // SAFETY: a filled buffer we hold; `obj` is its strong reference to the exporter (or
            // NULL for exporters that set none).
            unsafe { (*self.imported).obj }
        } else {
            ptr::null_mut()
        }
    }

    /// Change the shape/strides in place (`a.shape = ...`). Refused while the buffer is exported
    /// (consumers hold pointers to these very arrays) or pinned by GIL-free work.
    ///
    /// A reference into the layout exists only while a [`Pin`] lives, and a pin counts as an
    /// export, so when the count is zero no reference to the layout exists.
    ///
    /// The check and the write are one step even where two attached threads run at once (a
    /// free-threaded build): the writer claims the count by swapping 0 for [`LAYOUT_WRITER`], so a
    /// second writer, or an export, sees it taken; a pin taken meanwhile waits in [`Self::pin`]
    /// until the write is over. With the GIL none of that can happen, and the swap costs what
    /// the load did.
    pub(crate) fn set_layout(&self, py: Python<'_>, shape: &[usize], strides: &[isize]) -> PyResult<()> {
        assert!(shape.len() <= MAX_NDIM && shape.len() == strides.len());
        if let Err(n) = self.exports.compare_exchange(0, LAYOUT_WRITER, Ordering::Acquire, Ordering::Acquire) {
            let n = n & !LAYOUT_WRITER;
            return Err(raise(
                py,
                Exc::BufferError,
                &format!("cannot reshape an Array in place while its buffer is exported or in use ({n} outstanding)"),
            ));
        }
        let mut layout = Layout { ndim: shape.len(), shape: [0; MAX_NDIM], strides: [0; MAX_NDIM] };
        layout.shape[..shape.len()].copy_from_slice(shape);
        layout.strides[..strides.len()].copy_from_slice(strides);
        // SAFETY: the count was 0 when this thread claimed it, so no export or pin was
        // outstanding: nothing outside Rust points into the layout and no Rust reference to it
        // exists. Until the claim is released below, no other writer can claim it and every new
        // pin waits before reading.
        unsafe { *self.layout.get() = layout };
        // Release: a pin that waited sees the whole new layout.
        self.exports.fetch_and(!LAYOUT_WRITER, Ordering::Release);
        Ok(())
    }
}

/// A NumPy-style `array is too big` for a shape whose byte size overflows `isize`.
pub fn too_big(py: Python<'_>) -> PyErrSet {
    raise(py, Exc::ValueError, "array is too big; `arr.size * arr.dtype.itemsize` is larger than the maximum possible size.")
}

/// `shape` → a Python-style tuple text `(2, 3)` / `(5,)` / `()` for messages.
pub fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// Allocate `nbytes` bytes aligned to [`ALIGN`], zeroed or not; `MemoryError` (with NumPy's
/// wording) on failure. Returns (aligned data pointer, pointer to pass to `libc::free`).
///
/// Zeroed memory comes from `calloc` (over-allocated by `ALIGN` and aligned up by hand): for a
/// large block glibc maps fresh pages that the kernel already zeroed, so no memset runs and the
/// first write touches each page once. `posix_memalign` + memset would touch every page twice.
/// Uninitialised memory comes from `malloc`, aligned up the same way (why not `posix_memalign`:
/// in the body).
pub fn allocate(py: Python<'_>, nbytes: usize, zeroed: bool, dtype: DType, shape: &[usize]) -> PyResult<(*mut u8, *mut c_void)> {
    // One byte at least, so that the data pointer of an empty array is a real, unique address.
    let n = nbytes.max(1);
    let (data, allocation) = if zeroed {
        // `n <= isize::MAX` (checked by the caller), so `n + ALIGN` cannot overflow usize.
        // SAFETY: calloc with a valid size; NULL on failure, checked below.
        let raw = unsafe { libc::calloc(n + ALIGN, 1) };
        let pad = (ALIGN - raw as usize % ALIGN) % ALIGN;
        (raw.cast::<u8>().wrapping_add(pad), raw)
    } else {
        // malloc and align by hand rather than posix_memalign: glibc's memalign carves the
        // aligned block out of a larger chunk and frees the leftover pieces into its fast bins,
        // and the next large malloc then stops to consolidate them (`malloc_consolidate`: 7% of
        // a 1000-element `a + b`, measured with perf). 64 spare bytes per Array cost less.
        // SAFETY: malloc with a valid size (as above); NULL on failure, checked below.
        let raw = unsafe { libc::malloc(n + ALIGN) };
        let pad = (ALIGN - raw as usize % ALIGN) % ALIGN;
        (raw.cast::<u8>().wrapping_add(pad), raw)
    };
    if allocation.is_null() {
        return Err(raise(
            py,
            Exc::MemoryError,
            &format!(
                "Unable to allocate {} for an array with shape {} and data type {}",
                human_bytes(nbytes),
                shape_text(shape),
                dtype.name()
            ),
        ));
    }
    // Huge pages for large blocks, as NumPy's allocator asks for every block of 4 MiB or more:
    // fewer page faults on first touch and fewer TLB misses in every later loop over it.
    // SAFETY: the `nbytes` bytes at `data` were just allocated and are ours.
    unsafe { crate::kernels::array::pages::advise_huge_pages(data, nbytes) };
    Ok((data, allocation))
}

/// NumPy's `_ArrayMemoryError` size text: `8.00 EiB`.
fn human_bytes(n: usize) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.2} {}", units[unit])
    }
}

/// `ty->tp_alloc(ty, 0)` and fill every field. The single place an ArrayObject comes to life.
///
/// On failure everything `memory` owns is released (its drop, or an explicit free).
///
/// # Safety
/// `ty` is the Array type (borrowed); GIL held; `data`, `shape`, `strides`, `dtype` describe
/// memory that `memory` keeps valid; `shape.len() == strides.len() <= MAX_NDIM`.
pub unsafe fn alloc_object(
    py: Python<'_>,
    ty: *mut PyTypeObject,
    dtype: DType,
    shape: &[usize],
    strides: &[isize],
    memory: Memory,
    writable: bool,
) -> PyResult<Owned> {
    assert!(shape.len() <= MAX_NDIM && shape.len() == strides.len(), "bad ndim {}", shape.len());
    // SAFETY: `ty` is a valid type; its tp_alloc slot is PyType_GenericAlloc (inherited from
    // `object`), which returns a NEW reference to a zeroed object of tp_basicsize bytes with
    // ob_refcnt = 1 and ob_type = ty — and, ty being a heap type, Py_INCREF(ty): every instance
    // holds a reference to its heap type, which `dealloc` gives back. The type has
    // Py_TPFLAGS_HAVE_GC, so the block starts with the GC header and the object comes back
    // already tracked: `traverse` may see it before the fields below are written, and finds
    // NULL `base` and `imported` (zeroed), which it skips. (Nothing between here and the last
    // write allocates or calls Python code, so no collection can start in between anyway.)
    let obj = unsafe {
        let alloc: pyo3_ffi::allocfunc = std::mem::transmute(pyo3_ffi::PyType_GetSlot(ty, pyo3_ffi::Py_tp_alloc));
        alloc(ty, 0)
    };
    if obj.is_null() {
        // Give back what `memory` owns: free a fresh allocation, release an imported buffer; a
        // `ViewOf` owner reference is an `Owned` and drops by itself.
        match memory {
            // SAFETY: the allocation is ours and nothing points into it yet.
            Memory::Allocated { allocation, .. } => unsafe { libc::free(allocation) },
            Memory::ViewOf { .. } => {}
            Memory::Imported { buffer, .. } => release_imported(py, Box::into_raw(buffer)),
        }
        return Err(PyErrSet::fetched());
    }
    let (data, base, allocation, imported) = match memory {
        Memory::Allocated { data, allocation } => (data, ptr::null_mut(), allocation, ptr::null_mut()),
        Memory::ViewOf { data, owner } => (data, owner.into_raw(), ptr::null_mut(), ptr::null_mut()),
        Memory::Imported { data, buffer } => (data, ptr::null_mut(), ptr::null_mut(), Box::into_raw(buffer)),
    };
    let mut layout = Layout { ndim: shape.len(), shape: [0; MAX_NDIM], strides: [0; MAX_NDIM] };
    layout.shape[..shape.len()].copy_from_slice(shape);
    layout.strides[..strides.len()].copy_from_slice(strides);
    let this = obj as *mut ArrayObject;
    // SAFETY: `obj` is a fresh object of tp_basicsize = size_of::<ArrayObject>() bytes; we write
    // every field after the header without reading the (zeroed) previous values.
    unsafe {
        ptr::addr_of_mut!((*this).data).write(data);
        ptr::addr_of_mut!((*this).dtype).write(dtype);
        ptr::addr_of_mut!((*this).layout).write(UnsafeCell::new(layout));
        ptr::addr_of_mut!((*this).base).write(base);
        ptr::addr_of_mut!((*this).allocation).write(allocation);
        ptr::addr_of_mut!((*this).imported).write(imported);
        ptr::addr_of_mut!((*this).writable).write(writable);
        ptr::addr_of_mut!((*this).exports).write(AtomicUsize::new(0));
        Owned::from_new(obj)
    }
}

/// `PyBuffer_Release` and free the box of an imported buffer.
fn release_imported(_py: Python<'_>, buffer: *mut Py_buffer) {
    // SAFETY: `buffer` came from Box::into_raw of a buffer filled by PyObject_GetBuffer and is
    // released exactly once; GIL held (all callers are slots or constructors).
    unsafe {
        pyo3_ffi::PyBuffer_Release(buffer);
        drop(Box::from_raw(buffer));
    }
}

/// A new C-contiguous Array of `shape` whose contents are **uninitialised** — for results that a
/// kernel fills completely (and, for large ones, first-touches in parallel).
///
/// # Safety
/// `ty` is the Array type (borrowed), GIL held, and the caller writes every element before the
/// Array is read or reachable from Python code.
pub unsafe fn new_array(py: Python<'_>, ty: *mut PyTypeObject, dtype: DType, shape: &[usize]) -> PyResult<Owned> {
    // SAFETY: forwarded.
    unsafe { new_contiguous(py, ty, dtype, shape, false) }
}

/// A new C-contiguous Array of `shape` filled with zeros (`rawcapi.zeros`).
///
/// # Safety
/// `ty` is the Array type (borrowed) and the GIL is held.
pub unsafe fn zeros(py: Python<'_>, ty: *mut PyTypeObject, dtype: DType, shape: &[usize]) -> PyResult<Owned> {
    // SAFETY: forwarded; zeroed memory is a valid value of every dtype.
    unsafe { new_contiguous(py, ty, dtype, shape, true) }
}

unsafe fn new_contiguous(py: Python<'_>, ty: *mut PyTypeObject, dtype: DType, shape: &[usize], zeroed: bool) -> PyResult<Owned> {
    if shape.len() > MAX_NDIM {
        return Err(raise(
            py,
            Exc::ValueError,
            &format!("maximum supported dimension for an Array is {MAX_NDIM}, found {}", shape.len()),
        ));
    }
    let nbytes = view::nbytes(shape, dtype.itemsize()).ok_or_else(|| too_big(py))?;
    let strides = view::c_strides(shape, dtype.itemsize()).ok_or_else(|| too_big(py))?;
    let (data, allocation) = allocate(py, nbytes, zeroed, dtype, shape)?;
    // SAFETY: fresh memory of `nbytes` bytes described by the C strides; GIL held.
    unsafe { alloc_object(py, ty, dtype, shape, &strides, Memory::Allocated { data, allocation }, true) }
}

/// A view of `owner`'s memory with its own layout (slices, `.T`, reshape). `base` becomes the
/// memory's owner, so the memory outlives the view.
///
/// # Safety
/// `data`/`shape`/`strides` address only memory inside `owner`'s; GIL held.
pub unsafe fn new_view(py: Python<'_>, owner: &ArrayObject, data: *mut u8, shape: &[usize], strides: &[isize]) -> PyResult<Owned> {
    let memory = Memory::ViewOf { data, owner: owner.memory_owner(py) };
    // SAFETY: forwarded; the owner reference moves into `base` and keeps the memory alive.
    unsafe { alloc_object(py, owner.type_ptr(), owner.dtype, shape, strides, memory, owner.writable) }
}

/// `tp_dealloc`: the reference count reached zero. Untrack the object, release what it owns,
/// free it with the type's `tp_free`, and then drop the reference every instance of a heap type
/// holds on its type (taken by `tp_alloc`). Without that last `Py_DECREF` the type object could
/// never be freed (a leak per module instance); doing it *before* `tp_free` could free the type
/// while its `tp_free` is still needed.
///
/// Untracking comes first: releasing an imported buffer can run Python code (an exporter's
/// `__release_buffer__`), which can start a collection, and the collector must not traverse an
/// object whose refcount is zero and whose buffer is half released. `tp_free` is the one the
/// type inherited for a GC type, `PyObject_GC_Del` (it frees the block from its GC header).
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn dealloc(obj: *mut PyObject) {
    // No panic::guard: nothing below can panic, and dealloc cannot report an error anyway.
    // SAFETY: CPython calls tp_dealloc attached.
    let py = unsafe { Python::assume_attached() };
    let this = obj as *mut ArrayObject;
    // SAFETY: `obj` is an Array whose refcount is zero; we are its only user. Every export holds
    // a reference (view->obj), so no export can be outstanding now. It was tracked by tp_alloc,
    // and PyObject_GC_UnTrack (borrowed) accepts an object that is tracked or not.
    unsafe {
        pyo3_ffi::PyObject_GC_UnTrack(obj.cast());
        let ty = pyo3_ffi::Py_TYPE(obj);
        let allocation = (*this).allocation;
        if !allocation.is_null() {
            libc::free(allocation);
        }
        let imported = (*this).imported;
        if !imported.is_null() {
            release_imported(py, imported);
        }
        // Py_CLEAR(self->base): a strong reference to the owner of the memory.
        let base = std::mem::replace(&mut (*this).base, ptr::null_mut());
        pyo3_ffi::Py_XDECREF(base);
        let free: pyo3_ffi::freefunc = std::mem::transmute(pyo3_ffi::PyType_GetSlot(ty, pyo3_ffi::Py_tp_free));
        free(obj.cast());
        pyo3_ffi::Py_DECREF(ty.cast());
    }
}

/// `tp_traverse`: report to the cycle collector every object this Array holds a strong
/// reference to — its type, its `base` (a view's owner), and the object its imported buffer
/// holds (`imported->obj`: the exporter of a `frombuffer` Array). In C, xxlimited's
/// `Xxo_traverse` with `Py_VISIT`:
///
/// ```c
/// Py_VISIT(Py_TYPE(self));        /* heap type: every instance holds its type (3.9+ rule) */
/// Py_VISIT(self->base);
/// if (self->imported) Py_VISIT(self->imported->obj);
/// return 0;
/// ```
///
/// There is no `tp_clear`. All three references are fixed when the Array is made and point at
/// objects that existed before it, so no cycle is made of Arrays alone: every cycle through an
/// Array also passes through another object (the exporter, its `__dict__`, a list, the module
/// dict), and clearing that one breaks the cycle. The Array is then freed by `dealloc`, when
/// nothing can reach it any more. A `tp_clear` could only drop `base` or the imported buffer,
/// and those own the memory `data` points into: it would have to empty the Array, refuse while
/// it is exported or pinned, and still could not know whether a view of its memory outlives the
/// collection; and code that runs during the collection (an exporter's `__release_buffer__`)
/// can reach and keep an emptied Array. docs/05 §5 has the full argument; `tests/test_gc.py`
/// the cases.
///
/// # Safety
/// Called only by CPython (through the method or slot table), with the GIL held and the
/// arguments its calling convention promises.
pub unsafe extern "C" fn traverse(obj: *mut PyObject, visit: pyo3_ffi::visitproc, arg: *mut c_void) -> std::ffi::c_int {
    // No panic::guard: nothing below can panic, and a traverse function must have no side
    // effects (no exception, no reference count changed).
    let this = obj as *const ArrayObject;
    // SAFETY: `obj` is a live, tracked Array (tp_alloc zeroed it before tracking, and dealloc
    // untracks before releasing anything), so `base` and `imported` are NULL or what we own;
    // Py_TYPE is a borrowed pointer to its type.
    let held = unsafe {
        let imported = (*this).imported;
        let exporter = if imported.is_null() { ptr::null_mut() } else { (*imported).obj };
        [pyo3_ffi::Py_TYPE(obj).cast::<PyObject>(), (*this).base, exporter]
    };
    for object in held {
        if !object.is_null() {
            // Py_VISIT: `visit` borrows the object; a non-zero result must be returned at once.
            // SAFETY: `object` is alive (we hold a strong reference to it).
            let r = unsafe { visit(object, arg) };
            if r != 0 {
                return r;
            }
        }
    }
    0
}

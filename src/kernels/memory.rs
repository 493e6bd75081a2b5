//! Memory that another thread may write while a kernel reads it.
//!
//! A `Py_buffer` is a window onto someone else's memory. With the GIL released, another Python
//! thread can write into the same `bytearray` or NumPy array while a kernel scans it. rawcapi
//! promises *per-element* results: each byte (or code unit) value a kernel uses is a value that
//! element really held at some moment during the call — not a snapshot of the whole buffer.
//!
//! A Rust `&[u8]` promises much more: that nothing changes the bytes while the reference lives,
//! which lets the compiler re-read an element and assume it gets the same value. So kernels
//! never see a `&[T]` of foreign memory. They take [`Units`], a raw pointer and a length, and
//! read each element exactly once through the pointer (plain loads or SIMD loads), combining
//! the values already in registers. No `&mut` to that memory is ever formed.
//!
//! (Strictly, the C and Rust memory models call an unsynchronised concurrent write a data race
//! whatever the reader does; what makes the per-element promise hold in practice is that each
//! element is loaded once by an ordinary machine load, the same footing NumPy's loops stand on.)

/// `len` elements of type `T` starting at `ptr`, readable for the duration of a kernel call.
#[derive(Clone, Copy, Debug)]
pub struct Units<T> {
    ptr: *const T,
    len: usize,
}

// SAFETY: `Units` is a read-only window; the creator of one promises (see `Units::new`) that the
// memory stays readable while any copy is in use, on any thread. Kernels only read through it.
unsafe impl<T: Sync> Send for Units<T> {}
// SAFETY: as above; shared access is read-only.
unsafe impl<T: Sync> Sync for Units<T> {}

impl<T: Copy> Units<T> {
    /// # Safety
    /// `ptr` must be valid for reads of `len` elements of `T` (and aligned for `T`) for as long as
    /// the returned value or any copy of it is used, from whichever thread uses it. For `len == 0`
    /// any pointer will do.
    pub unsafe fn new(ptr: *const T, len: usize) -> Self {
        Units { ptr, len }
    }

    /// A `Units` over memory Rust owns, for the kernels' tests only: the result does not carry
    /// the slice's lifetime, so a safe caller could outlive the slice and then read freed memory
    /// through [`Units::read`]. Compiled for tests alone, where every slice outlives its `Units`;
    /// production code builds `Units` with the `unsafe` [`Units::new`] and says why it holds.
    #[cfg(test)]
    pub fn from_slice(slice: &[T]) -> Self {
        Units { ptr: slice.as_ptr(), len: slice.len() }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_ptr(&self) -> *const T {
        self.ptr
    }

    /// The `i`-th element, read once.
    ///
    /// # Safety
    /// `i < self.len()`.
    #[inline(always)]
    pub unsafe fn read(&self, i: usize) -> T {
        // SAFETY: in bounds by the caller's promise; readable by `new`'s contract.
        unsafe { self.ptr.add(i).read() }
    }

    /// Split into the first `mid` elements and the rest.
    pub fn split_at(self, mid: usize) -> (Self, Self) {
        assert!(mid <= self.len, "split point {mid} beyond length {}", self.len);
        // SAFETY: both halves lie inside the original window.
        unsafe { (Units::new(self.ptr, mid), Units::new(self.ptr.add(mid), self.len - mid)) }
    }
}

impl Units<u8> {
    /// Bytes `i..i + 8` as one little-endian `u64`, each byte read once (one unaligned load).
    ///
    /// # Safety
    /// `i + 8 <= self.len()`.
    #[inline(always)]
    pub unsafe fn read_u64_le(&self, i: usize) -> u64 {
        // SAFETY: in bounds by the caller's promise; readable by `new`'s contract; any 8 bytes
        // are a valid u64.
        u64::from_le(unsafe { (self.ptr.add(i) as *const u64).read_unaligned() })
    }
}

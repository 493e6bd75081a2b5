//! Asking the kernel for huge pages on a large, fresh result — what NumPy does for every
//! allocation of 4 MiB or more (`numpy/_core/src/multiarray/alloc.c`).
//!
//! A fresh 800 MB result is mostly page faults: the first write to each page traps into the
//! kernel, which zeroes the page and maps it. With 4 KiB pages that is ~200 000 traps; with
//! transparent huge pages (2 MiB) it is ~400. Where THP is set to `madvise` (a common default),
//! only memory marked with `MADV_HUGEPAGE` gets them, so without this hint rawcapi would pay
//! 500x more traps than NumPy for the same result — and every loop over a large array would
//! miss the TLB more often (measured: a 1e6-element add into 4 KiB-page arrays ran at 0.9x the
//! speed of NumPy's on huge pages). `array::object::allocate` asks for every large block. A
//! result's first touch is also split across threads (`ufunc.rs`), so the zeroing of its pages
//! runs on every core.

/// NumPy's threshold for the hint.
pub const HUGE_PAGE_HINT_BYTES: usize = 1 << 22;

/// Mark the whole pages inside `[data, data + len)` as wanting huge pages. A hint: failure is
/// ignored (the memory works the same, only slower to fault in).
///
/// # Safety
/// `[data, data + len)` is memory this process allocated and owns.
pub unsafe fn advise_huge_pages(data: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    if len >= HUGE_PAGE_HINT_BYTES {
        const PAGE: usize = 4096;
        let offset = (PAGE - data as usize % PAGE) % PAGE;
        // SAFETY: the range is inside the caller's allocation and page-aligned; madvise with
        // MADV_HUGEPAGE changes no contents.
        unsafe { libc::madvise(data.add(offset).cast(), len - offset, libc::MADV_HUGEPAGE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (data, len);
}

//! The Rust heap, counted: a `#[global_allocator]` that forwards to the system allocator and
//! keeps two atomic counters, live blocks and live bytes.
//!
//! CPython's own leak counters (`sys.gettotalrefcount()`, `sys.getallocatedblocks()`) see only
//! Python objects and `PyMem_*` blocks. A `Vec` that rawcapi forgets to free is invisible to
//! them, so the leak tests (tests/refcounts/) also read these counters through the private
//! `rawcapi._rust_heap()` and require them to come back to the same values.
//!
//! Counting is off until the first `_rust_heap()` call turns it on (the leak check makes that
//! call before anything it measures). Until then each allocation and free pays one relaxed load
//! and a predictable branch; once on, two relaxed atomic additions more, about 11 ns per
//! allocate-and-free pair measured on a 67 ns `fast_sum(bytearray(100))` call — too much to
//! charge every user for (docs/09-reliability.md gives both measurements). Blocks allocated
//! before counting started and freed after it make the counts drift below zero by a constant,
//! which the leak check's N-versus-2N differences cancel.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// Forwards every request to [`System`] and counts what is live.
pub struct CountingAllocator;

// Signed, so a block freed here that another allocator handed out (which cannot happen inside
// one cdylib, but would be a bug worth seeing) shows up as a negative count, not a wrap-around.
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

static COUNTING: AtomicBool = AtomicBool::new(false);

#[inline(always)]
fn count(blocks: isize, bytes: isize) {
    if !COUNTING.load(Ordering::Relaxed) {
        return;
    }
    // Relaxed: the counters are only read when the test has joined every thread it started,
    // and that join already orders the updates before the read.
    LIVE_BLOCKS.fetch_add(blocks, Ordering::Relaxed);
    LIVE_BYTES.fetch_add(bytes, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract (alignment, size, pairing of alloc and dealloc) is System's; the
// counters only observe the results.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(1, layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(1, layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; `ptr` came from this allocator with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        count(-1, -(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded; on failure the old block is untouched and still counted.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(0, new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// `(live_blocks, live_bytes)` of the Rust heap since counting started, as `rawcapi._rust_heap()`
/// returns them; the first call starts the counting (and returns `(0, 0)`).
pub fn live() -> (isize, isize) {
    COUNTING.store(true, Ordering::Relaxed);
    (LIVE_BLOCKS.load(Ordering::Relaxed), LIVE_BYTES.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_counted_while_it_lives() {
        // Other tests run on parallel threads and allocate too, so the difference is exact only
        // when nothing else ran in between: try a few times, one clean observation suffices.
        const SIZE: usize = 1 << 24;
        let clean = (0..50).any(|_| {
            let before = live();
            let v: Vec<u8> = std::hint::black_box(Vec::with_capacity(SIZE));
            let during = live();
            drop(v);
            let after = live();
            during.0 - before.0 == 1 && during.1 - before.1 == SIZE as isize && after == before
        });
        assert!(clean, "a 16 MiB Vec never showed up as exactly one block of 16 MiB");
    }
}

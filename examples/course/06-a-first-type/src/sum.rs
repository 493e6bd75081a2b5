//! The sum of every byte a buffer covers, in any layout: plain Rust, no Python (step 03).

use crate::capi::Bytes;

/// `sum(memoryview(data).tobytes())`, reading the memory in place.
pub fn sum_bytes(b: &Bytes<'_>) -> u64 {
    match (b.shape, b.strides) {
        // No shape, or no strides: `len` contiguous bytes (the buffer protocol's rule).
        (None, _) | (_, None) => contiguous(b.buf, b.len),
        (Some(shape), Some(strides)) => walk(b, shape, strides, 0, b.buf),
    }
}

fn contiguous(buf: *const u8, len: usize) -> u64 {
    if len == 0 {
        return 0;
    }
    // SAFETY: the exporter says `len` bytes at `buf` are readable while the export is held.
    let bytes = unsafe { std::slice::from_raw_parts(buf, len) };
    bytes.iter().map(|&x| x as u64).sum()
}

/// Dimension `dim` of the view that starts at `ptr` (PEP 3118's suboffset rule: after the
/// stride step, a dimension with a suboffset >= 0 holds a pointer to follow).
fn walk(b: &Bytes<'_>, shape: &[isize], strides: &[isize], dim: usize, ptr: *const u8) -> u64 {
    if dim == shape.len() {
        return contiguous(ptr, b.itemsize);
    }
    let mut total = 0;
    for i in 0..shape[dim] {
        // SAFETY: for 0 <= i < shape[dim], ptr + i*stride stays inside the exported memory.
        let mut p = unsafe { ptr.offset(i * strides[dim]) };
        if let Some(sub) = b.suboffsets.map(|s| s[dim]).filter(|&s| s >= 0) {
            // SAFETY: a dimension with a suboffset stores pointers; the exporter guarantees
            // the pointed-to memory is readable at that offset.
            p = unsafe { (*(p as *const *const u8)).offset(sub) };
        }
        total += walk(b, shape, strides, dim + 1, p);
    }
    total
}

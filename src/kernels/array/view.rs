//! The raw description of an array's memory that every array kernel takes.
//!
//! This is the article's ndarray diagram without the `PyObject` header: a data pointer, a dtype,
//! a shape and byte strides. The `Array` object (src/array/) owns or borrows the memory and
//! hands kernels these views; the kernels never see a Python object.

use super::dtype::DType;

/// Up to this many dimensions (NumPy allows 64; the issue asks for 32).
pub const MAX_NDIM: usize = 32;

/// A read-only strided view. `strides` are in bytes and may be negative or zero.
#[derive(Clone, Copy, Debug)]
pub struct ArrayView<'a> {
    pub data: *const u8,
    pub dtype: DType,
    pub shape: &'a [usize],
    pub strides: &'a [isize],
}

/// A writable strided view (the output of a loop). Two views may overlap; loops that care
/// (in-place operations) check with `may_overlap` and buffer as NumPy does.
#[derive(Clone, Copy, Debug)]
pub struct ArrayViewMut<'a> {
    pub data: *mut u8,
    pub dtype: DType,
    pub shape: &'a [usize],
    pub strides: &'a [isize],
}

// SAFETY: views are descriptions; every read or write through one is in an `unsafe` kernel whose
// caller promises the memory is valid (and, for a mutable view, not written by anyone else) for
// the call, whichever thread runs it.
unsafe impl Send for ArrayView<'_> {}
// SAFETY: as above.
unsafe impl Sync for ArrayView<'_> {}
// SAFETY: as above.
unsafe impl Send for ArrayViewMut<'_> {}
// SAFETY: as above.
unsafe impl Sync for ArrayViewMut<'_> {}

impl ArrayView<'_> {
    /// Number of elements (1 for 0-d).
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// The packed row-major layout: strides of a C-contiguous array of this shape.
    pub fn is_c_contiguous(&self) -> bool {
        is_c_contiguous(self.shape, self.strides, self.dtype.itemsize())
    }
}

impl<'a> ArrayViewMut<'a> {
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn as_const(&self) -> ArrayView<'a> {
        ArrayView { data: self.data, dtype: self.dtype, shape: self.shape, strides: self.strides }
    }
}

/// The bytes `[start, end)` a view's elements cover, or `None` when it has no elements.
/// Negative strides extend the range below `data`.
pub fn byte_extent(data: *const u8, shape: &[usize], strides: &[isize], itemsize: usize) -> Option<(usize, usize)> {
    if shape.contains(&0) {
        return None;
    }
    let (mut lo, mut hi) = (data as isize, data as isize);
    for (&n, &s) in shape.iter().zip(strides) {
        let reach = s.wrapping_mul(n as isize - 1);
        if reach < 0 {
            lo = lo.wrapping_add(reach);
        } else {
            hi = hi.wrapping_add(reach);
        }
    }
    Some((lo as usize, hi as usize + itemsize))
}

/// NumPy's `may_share_memory` (bounds check only): true when the two views' byte ranges
/// intersect, so writing one may change what the other reads. False positives are possible
/// (interleaved strides), never false negatives.
pub fn may_overlap(a: &ArrayView, b: &ArrayView) -> bool {
    match (
        byte_extent(a.data, a.shape, a.strides, a.dtype.itemsize()),
        byte_extent(b.data, b.shape, b.strides, b.dtype.itemsize()),
    ) {
        (Some((a0, a1)), Some((b0, b1))) => a0 < b1 && b0 < a1,
        _ => false,
    }
}

/// True when `strides` are those of a C-contiguous array of `shape` (dimensions of length 1
/// may have any stride, as in NumPy's flags).
pub fn is_c_contiguous(shape: &[usize], strides: &[isize], itemsize: usize) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut expected = itemsize as isize;
    for (&n, &s) in shape.iter().zip(strides).rev() {
        if n != 1 && s != expected {
            return false;
        }
        expected = expected.saturating_mul(n as isize);
    }
    true
}

/// The strides of a new C-contiguous array; `None` when the byte size overflows `isize`
/// (NumPy: "array is too big").
pub fn c_strides(shape: &[usize], itemsize: usize) -> Option<Vec<isize>> {
    let mut strides = vec![0isize; shape.len()];
    let mut step = isize::try_from(itemsize).ok()?;
    for (i, &n) in shape.iter().enumerate().rev() {
        strides[i] = step;
        step = step.checked_mul(isize::try_from(n).ok()?)?;
    }
    Some(strides)
}

/// Total bytes of a C-contiguous array of `shape`, or `None` on overflow.
pub fn nbytes(shape: &[usize], itemsize: usize) -> Option<usize> {
    shape.iter().try_fold(itemsize, |acc, &n| acc.checked_mul(n)).filter(|&b| b <= isize::MAX as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguity_and_strides() {
        assert_eq!(c_strides(&[2, 3, 4], 8), Some(vec![96, 32, 8]));
        assert!(is_c_contiguous(&[2, 3], &[24, 8], 8));
        assert!(!is_c_contiguous(&[2, 3], &[8, 16], 8));
        assert!(is_c_contiguous(&[1, 3], &[999, 8], 8));
        assert_eq!(nbytes(&[1 << 40, 1 << 40], 8), None);
        assert_eq!(c_strides(&[1 << 62, 4], 8), None);
    }

    #[test]
    fn overlap_by_byte_range() {
        let buf = [0u8; 64];
        let p = buf.as_ptr();
        // SAFETY: every `off` used below is at most 32, inside the 64-byte `buf`; the views are
        // only compared by address range in may_overlap, never dereferenced.
        let view = |off: usize, shape: &'static [usize], strides: &'static [isize]| ArrayView {
            data: unsafe { p.add(off) },
            dtype: super::super::dtype::DType::Float64,
            shape,
            strides,
        };
        assert!(may_overlap(&view(8, &[3], &[8]), &view(0, &[3], &[8])));
        assert!(!may_overlap(&view(24, &[3], &[8]), &view(0, &[3], &[8])));
        // Reversed view: covers [0, 24) from its last element up.
        assert!(may_overlap(&view(16, &[3], &[-8]), &view(16, &[1], &[8])));
        assert!(!may_overlap(&view(16, &[0], &[8]), &view(16, &[1], &[8])));
        assert_eq!(byte_extent(p, &[2, 3], &[-24, 8], 8), Some((p as usize - 24, p as usize + 24)));
        // Adjacent ranges [0, 32) and [32, 64) do not overlap; a reversed [0, 32) meets the first.
        assert!(!may_overlap(&view(0, &[4], &[8]), &view(32, &[4], &[8])));
        assert!(may_overlap(&view(0, &[4], &[8]), &view(24, &[4], &[-8])));
        assert!(!may_overlap(&view(32, &[4], &[8]), &view(24, &[4], &[-8])));
    }
}

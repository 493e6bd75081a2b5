//! The buffer protocol's general memory layout, walked as contiguous byte runs.
//!
//! A `Py_buffer` describes `ndim` dimensions with a `shape`, byte `strides` (negative and zero
//! allowed) and optional PIL-style `suboffsets` (at a dimension whose suboffset is `>= 0`, the
//! address reached so far holds a *pointer*, which is followed and offset by the suboffset; see
//! `PyBuffer_GetPointer`). fast_sum and count_lines are sums over bytes, so the order in which the
//! bytes are visited does not matter. That lets the walk:
//! - flip negative strides (visit a dimension backwards),
//! - turn a zero-stride dimension into a repetition count instead of visiting it `n` times,
//! - merge dimensions that together cover one contiguous block,
//!
//! so a C-contiguous, F-contiguous or reversed buffer is one run, and only a genuinely gappy
//! layout is visited piece by piece.

use super::memory::Units;

/// The layout of a buffer, as the buffer protocol gives it (without Python types).
#[derive(Clone, Copy, Debug)]
pub struct Layout<'a> {
    /// The address of the element with every index 0 (`Py_buffer.buf`).
    pub buf: *const u8,
    /// Bytes per element.
    pub itemsize: usize,
    /// Elements per dimension; empty for a 0-d buffer (one element).
    pub shape: &'a [isize],
    /// Bytes between neighbours in each dimension; the same length as `shape`.
    pub strides: &'a [isize],
    /// Per dimension, `>= 0` means "follow the pointer found here, then add this".
    pub suboffsets: Option<&'a [isize]>,
}

// SAFETY: a `Layout` is a description; reading through it needs `unsafe` (`fold_runs`), whose
// caller promises the memory stays readable on whichever thread reads it.
unsafe impl Send for Layout<'_> {}
// SAFETY: as above.
unsafe impl Sync for Layout<'_> {}

impl Layout<'static> {
    /// `len` contiguous bytes at `buf`, described as a single element of `len` bytes (0-d).
    pub fn contiguous(buf: *const u8, len: usize) -> Self {
        Layout { buf, itemsize: len, shape: &[], strides: &[], suboffsets: None }
    }
}

impl Layout<'_> {
    /// C-contiguous without suboffsets: the strides are what a packed row-major array has.
    fn is_c_contiguous(&self) -> bool {
        if self.suboffsets.is_some_and(|s| s.iter().any(|&o| o >= 0)) {
            return false;
        }
        let mut expected = self.itemsize as isize;
        for (&len, &stride) in self.shape.iter().zip(self.strides).rev() {
            if len != 1 && stride != expected {
                return false;
            }
            expected = expected.saturating_mul(len);
        }
        true
    }
}

/// The layout cannot be what it claims (a negative dimension, or sizes whose product overflows).
#[derive(Debug, PartialEq, Eq)]
pub struct BadLayout(pub &'static str);

/// One dimension after simplification: `len` steps of `step > 0` bytes from `offset`.
#[derive(Clone, Copy, Debug)]
struct Dim {
    len: usize,
    step: usize,
    /// Added to the address before stepping: `stride * (len - 1)` for a flipped negative stride.
    offset: isize,
    suboffset: Option<isize>,
}

/// The most dimensions a layout may have: CPython's `PyBUF_MAX_NDIM`. Exporters that follow the
/// protocol never give more; [`fold_runs`] refuses more, and so keeps its per-dimension working
/// space on the stack: it allocates nothing, so it cannot fail (or abort) under memory pressure.
pub const MAX_NDIM: usize = 64;

/// A fixed-capacity list of dimensions on the stack (what `Vec<Dim>` would be, without the heap).
struct Dims {
    items: [Dim; MAX_NDIM],
    len: usize,
}

impl Dims {
    fn new() -> Self {
        Dims { items: [Dim { len: 0, step: 0, offset: 0, suboffset: None }; MAX_NDIM], len: 0 }
    }

    fn push(&mut self, d: Dim) {
        // Callers push at most one Dim per layout dimension, and ndim <= MAX_NDIM is checked.
        self.items[self.len] = d;
        self.len += 1;
    }

    fn as_slice(&self) -> &[Dim] {
        &self.items[..self.len]
    }

    fn last_mut(&mut self) -> Option<&mut Dim> {
        self.len.checked_sub(1).map(|i| &mut self.items[i])
    }
}

/// Add up `kernel(run)` over every contiguous run of bytes the layout covers, counting each
/// byte as often as the layout names it (a zero stride names the same bytes repeatedly).
///
/// # Safety
/// Every address the layout describes — and every pointer stored where a suboffset says to
/// follow one — must be readable for the duration of the call, as the buffer protocol promises
/// for a buffer that has not been released.
pub unsafe fn fold_runs(layout: &Layout, kernel: &mut dyn FnMut(Units<u8>) -> u64) -> Result<u128, BadLayout> {
    let ndim = layout.shape.len();
    assert_eq!(layout.strides.len(), ndim, "strides and shape differ in length");
    if let Some(sub) = layout.suboffsets {
        assert_eq!(sub.len(), ndim, "suboffsets and shape differ in length");
    }
    if layout.shape.iter().any(|&len| len < 0) {
        return Err(BadLayout("negative dimension"));
    }
    if ndim > MAX_NDIM {
        return Err(BadLayout("more than 64 dimensions"));
    }
    if layout.itemsize > isize::MAX as usize {
        return Err(BadLayout("size overflows"));
    }
    if layout.is_c_contiguous() {
        // The common case, without allocating: one run over the whole buffer.
        let mut len = layout.itemsize;
        for &n in layout.shape {
            len = len.checked_mul(n as usize).ok_or(BadLayout("size overflows"))?;
        }
        return Ok(if len == 0 { 0 } else { u128::from(kernel(Units::new(layout.buf, len))) });
    }
    let mut repeat: u128 = 1;
    let mut dims = Dims::new();
    for i in 0..ndim {
        let len = usize::try_from(layout.shape[i]).map_err(|_| BadLayout("negative dimension"))?;
        if len == 0 {
            return Ok(0);
        }
        let stride = layout.strides[i];
        let suboffset = layout.suboffsets.map(|s| s[i]).filter(|&s| s >= 0);
        if stride == 0 || len == 1 {
            // Every index of this dimension reaches the same address: visit it once, count it
            // `len` times. (With a suboffset the pointer must still be followed, so keep it.)
            repeat = repeat.checked_mul(len as u128).ok_or(BadLayout("repeat count overflows"))?;
            if suboffset.is_some() {
                dims.push(Dim { len: 1, step: 0, offset: 0, suboffset });
            }
            continue;
        }
        let offset = if stride < 0 {
            stride.checked_mul(len as isize - 1).ok_or(BadLayout("offset overflows"))?
        } else {
            0
        };
        dims.push(Dim { len, step: stride.unsigned_abs(), offset, suboffset });
    }
    // Merge an inner dimension into its outer neighbour when together they are one evenly
    // stepped block (and neither follows a pointer).
    let mut merged = Dims::new();
    for &d in dims.as_slice() {
        if let Some(outer) = merged.last_mut() {
            if outer.suboffset.is_none() && d.suboffset.is_none() && Some(outer.step) == d.len.checked_mul(d.step) {
                outer.offset = outer.offset.checked_add(d.offset).ok_or(BadLayout("offset overflows"))?;
                outer.len = outer.len.checked_mul(d.len).ok_or(BadLayout("size overflows"))?;
                outer.step = d.step;
                continue;
            }
        }
        merged.push(d);
    }
    // The innermost dimension becomes one run when its elements sit back to back.
    let mut run_len = layout.itemsize;
    if let Some(&last) = merged.as_slice().last() {
        if last.suboffset.is_none() && last.step == layout.itemsize {
            run_len = last.len.checked_mul(layout.itemsize).ok_or(BadLayout("size overflows"))?;
            let outer = &merged.as_slice()[..merged.len - 1];
            // The run's own offset (a flipped negative stride) applies at the leaf, after the
            // outer dimensions have followed their suboffset pointers, not to `buf`.
            let total = walk(outer, layout.buf, last.offset, run_len, kernel);
            return repeat.checked_mul(total).ok_or(BadLayout("sum overflows"));
        }
    }
    let total = walk(merged.as_slice(), layout.buf, 0, run_len, kernel);
    repeat.checked_mul(total).ok_or(BadLayout("sum overflows"))
}

/// Visit `dims` (outermost first) from `ptr`, calling `kernel` on the `run_len` bytes at each
/// leaf address plus `leaf_offset`.
unsafe fn walk(dims: &[Dim], ptr: *const u8, leaf_offset: isize, run_len: usize, kernel: &mut dyn FnMut(Units<u8>) -> u64) -> u128 {
    let Some((d, inner)) = dims.split_first() else {
        return u128::from(kernel(Units::new(ptr.wrapping_offset(leaf_offset), run_len)));
    };
    let mut total = 0u128;
    // wrapping_*: the address one step past the last element may lie outside the exporter's
    // allocation, where `offset`/`add` would be undefined behaviour even though it is never read.
    let mut p = ptr.wrapping_offset(d.offset);
    for _ in 0..d.len {
        let q = match d.suboffset {
            // PIL-style: the address holds a pointer to the sub-array.
            Some(sub) => (p as *const *const u8).read_unaligned().wrapping_offset(sub),
            None => p,
        };
        total += walk(inner, q, leaf_offset, run_len, kernel);
        p = p.wrapping_add(d.step);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::sum::sum_bytes;

    /// The oracle: visit every index in C order, exactly as `PyBuffer_GetPointer` does.
    fn naive(layout: &Layout) -> u128 {
        let n = layout.shape.len();
        let mut idx = vec![0isize; n];
        if layout.shape.iter().any(|&s| s == 0) {
            return 0;
        }
        let mut total = 0u128;
        loop {
            let mut p = layout.buf;
            for i in 0..n {
                p = p.wrapping_offset(layout.strides[i] * idx[i]);
                if let Some(sub) = layout.suboffsets {
                    if sub[i] >= 0 {
                        // SAFETY: `naive` is a safe test helper, so this rests on its callers:
                        // each passes a layout whose every address, and every row pointer a
                        // suboffset points at, lies inside live test data (see each test). Here
                        // p is a slot of the row-pointer Vec holding a pointer derived from the
                        // whole data Vec; read_unaligned needs no alignment.
                        p = unsafe { (p as *const *const u8).read_unaligned() }.wrapping_offset(sub[i]);
                    }
                }
            }
            for k in 0..layout.itemsize {
                // SAFETY: p is an element address the layout names and k < itemsize, so p + k is
                // inside the live test data the caller's layout describes (see above); u8 has no
                // invalid values.
                total += u128::from(unsafe { *p.add(k) });
            }
            let mut i = n;
            loop {
                if i == 0 {
                    return total;
                }
                i -= 1;
                idx[i] += 1;
                if idx[i] < layout.shape[i] {
                    break;
                }
                idx[i] = 0;
            }
        }
    }

    fn fast(layout: &Layout) -> u128 {
        // SAFETY: a safe test helper: every caller passes a layout whose addresses (and the row
        // pointers its suboffsets follow) are inside test data alive for the call, which is
        // fold_runs's contract; sum_bytes only reads the runs fold_runs hands it.
        unsafe { fold_runs(layout, &mut |run| sum_bytes(run)) }.unwrap()
    }

    fn data() -> Vec<u8> {
        (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()
    }

    #[test]
    fn contiguous_2d_is_one_run() {
        let d = data();
        let layout = Layout { buf: d.as_ptr(), itemsize: 4, shape: &[8, 16], strides: &[64, 4], suboffsets: None };
        let mut runs = 0;
        // SAFETY: the 8x16 layout of 4-byte items covers bytes 0..512 of the 4096-byte `d`,
        // which lives through the call.
        let total = unsafe { fold_runs(&layout, &mut |r| { runs += 1; sum_bytes(r) }) }.unwrap();
        assert_eq!(runs, 1);
        assert_eq!(total, naive(&layout));
    }

    #[test]
    fn negative_zero_and_gappy_strides() {
        let d = data();
        // SAFETY: 2048 < 4096 = d.len(), so `mid` is inside `d`. The cases below reach from
        // 693 bytes before `mid` (100 x stride -7) to 362 bytes after it (10x10 of 2 bytes at
        // stride 40: 9*40 + 2), all inside `d`, which outlives fast() and naive().
        let mid = unsafe { d.as_ptr().add(2048) };
        let cases: &[(usize, &[isize], &[isize])] = &[
            (1, &[100], &[-1]),
            (1, &[100], &[3]),
            (1, &[100], &[-7]),
            (2, &[10, 10], &[-40, 2]),
            (2, &[10, 10], &[40, -2]),
            (1, &[5, 6, 7], &[0, -1, 6]),
            (1, &[5, 6, 7], &[42, 7, 1]),
            (8, &[4, 3], &[-24, -8]),
            (3, &[4, 3], &[1, 100]),
            (1, &[1000], &[0]),
            (1, &[], &[]),
        ];
        for (itemsize, shape, strides) in cases {
            let layout = Layout { buf: mid, itemsize: *itemsize, shape, strides, suboffsets: None };
            assert_eq!(fast(&layout), naive(&layout), "{itemsize} {shape:?} {strides:?}");
        }
    }

    #[test]
    fn empty_dimension_is_zero() {
        let d = data();
        let layout = Layout { buf: d.as_ptr(), itemsize: 1, shape: &[3, 0, 2], strides: &[1, 1, 1], suboffsets: None };
        assert_eq!(fast(&layout), 0);
    }

    #[test]
    fn pil_style_suboffsets() {
        let d = data();
        // Three rows scattered through the data, reached through an array of row pointers.
        // SAFETY: 100 and 3000 are inside the 4096-byte `d` (pointers from d.as_ptr(), so they
        // may read all of `d`). Each row is read at +8..+26 (suboffset 8, 5 items of 2 bytes,
        // stride 4): bytes 108..126, 3008..3026 and 8..26. `reversed` starts at byte 16 of the
        // 24-byte `rows` (its last pointer) and steps -8 over the 3 slots. `d` and `rows` live
        // through every call.
        let rows: Vec<*const u8> = vec![unsafe { d.as_ptr().add(100) }, unsafe { d.as_ptr().add(3000) }, d.as_ptr()];
        let layout = Layout {
            buf: rows.as_ptr() as *const u8,
            itemsize: 2,
            shape: &[3, 5],
            strides: &[std::mem::size_of::<*const u8>() as isize, 4],
            suboffsets: Some(&[8, -1]),
        };
        assert_eq!(fast(&layout), naive(&layout));
        // SAFETY: with 8-byte pointers (the 64-bit targets this runs on; -8 and 16 hard-code
        // that), byte 16 is the last of the 3 slots of `rows`, and stride -8 visits slots 2, 1, 0.
        let reversed = Layout { buf: unsafe { (rows.as_ptr() as *const u8).add(16) }, strides: &[-8, 4], ..layout };
        assert_eq!(fast(&reversed), naive(&reversed));
    }

    #[test]
    fn suboffsets_then_reversed_contiguous_rows() {
        // Found by the hypothesis tests (a reversed _testbuffer PIL array): the innermost run's
        // flip offset was applied to `buf` before the row pointer was followed, not after.
        let d = data();
        // SAFETY: offsets 100, 3000, 40 are inside the 4096-byte `d`; byte 16 is the last of
        // the 3 pointers (24 bytes) in `rows`. The walk reads the 3 slots (stride -8 from it),
        // follows each pointer +8, then reads 2 items of 8 bytes at -8j: bytes q..q+16 of each
        // row, inside `d`. `d` and `rows` live through fast() and naive().
        let rows: Vec<*const u8> = vec![unsafe { d.as_ptr().add(100) }, unsafe { d.as_ptr().add(3000) }, unsafe { d.as_ptr().add(40) }];
        let layout = Layout {
            buf: unsafe { (rows.as_ptr() as *const u8).add(16) },
            itemsize: 8,
            shape: &[3, 1, 1, 2],
            strides: &[-8, -16, -32, -8],
            suboffsets: Some(&[8, -1, -1, -1]),
        };
        assert_eq!(fast(&layout), naive(&layout));
    }

    #[test]
    fn huge_zero_stride_repeat_is_exact_and_instant() {
        let d = [255u8];
        let layout = Layout { buf: d.as_ptr(), itemsize: 1, shape: &[1 << 60, 1 << 60], strides: &[0, 0], suboffsets: None };
        assert_eq!(fast(&layout), 255u128 << 120);
    }

    #[test]
    fn more_than_64_dimensions_are_refused_and_64_work() {
        let d = data();
        let shape = [1isize; 65];
        let strides = [2isize; 65];
        let layout = Layout { buf: d.as_ptr(), itemsize: 1, shape: &shape, strides: &strides, suboffsets: None };
        // SAFETY (both calls): fold_runs refuses more than 64 dimensions before reading
        // anything; even unrefused, the layouts would read bytes 0 and 2 of the 4096-byte `d`.
        assert_eq!(unsafe { fold_runs(&layout, &mut |r| sum_bytes(r)) }, Err(BadLayout("more than 64 dimensions")));
        let mut shape = [1isize; 65];
        shape[64] = 2;
        let layout = Layout { buf: d.as_ptr(), itemsize: 1, shape: &shape, strides: &strides, suboffsets: None };
        assert_eq!(unsafe { fold_runs(&layout, &mut |r| sum_bytes(r)) }, Err(BadLayout("more than 64 dimensions")));
        let layout = Layout { buf: d.as_ptr(), itemsize: 1, shape: &shape[1..], strides: &strides[1..], suboffsets: None };
        assert_eq!(fast(&layout), naive(&layout));
    }

    #[test]
    fn overflowing_sizes_are_refused_not_wrapped() {
        // A kernel that reads nothing: the layout is never walked when it is refused.
        let buf = [0u8; 1];
        // SAFETY (both calls): fold_runs returns the overflow errors before walking the layout,
        // and the kernel reads nothing anyway; `buf` is a live 1-byte array.
        let layout = Layout { buf: buf.as_ptr(), itemsize: 1, shape: &[isize::MAX, 3], strides: &[-(1 << 40), 0], suboffsets: None };
        assert_eq!(unsafe { fold_runs(&layout, &mut |_| 0) }, Err(BadLayout("offset overflows")));
        let layout = Layout { buf: buf.as_ptr(), itemsize: usize::MAX, shape: &[2], strides: &[1], suboffsets: None };
        assert_eq!(unsafe { fold_runs(&layout, &mut |_| 0) }, Err(BadLayout("size overflows")));
    }

    #[test]
    fn negative_dimension_is_refused() {
        let d = data();
        let layout = Layout { buf: d.as_ptr(), itemsize: 1, shape: &[-1], strides: &[1], suboffsets: None };
        // SAFETY: a negative dimension is refused before anything is read; `d` is live anyway.
        assert_eq!(unsafe { fold_runs(&layout, &mut |r| sum_bytes(r)) }, Err(BadLayout("negative dimension")));
    }
}

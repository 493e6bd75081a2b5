//! NumPy's broadcasting, and the walk over N-d strided operands that every elementwise loop uses.
//!
//! Broadcasting lines shapes up from the right; a dimension of length 1 (or a missing one)
//! stretches to the other operand's length by giving it stride 0, so no data is copied.
//! The walk then merges ("coalesces") neighbouring dimensions that every operand steps through
//! evenly, so a C-contiguous 4-d operation is one inner loop of `size` elements, and only the
//! innermost dimension is handed to the inner loop — NumPy's iterator does the same before it
//! calls a ufunc's `(args, dimensions, steps)` loop.

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::view::MAX_NDIM;

/// A shape or strides of at most [`MAX_NDIM`] entries, kept inline: preparing an operation
/// allocates nothing on the heap (for small arrays that preparation is most of the time).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dims<T: Copy + Default> {
    len: usize,
    data: [T; MAX_NDIM],
}

impl<T: Copy + Default> Dims<T> {
    /// `n` copies of `value`.
    ///
    /// # Panics
    /// If `n > MAX_NDIM` (callers check the dimension count of what they are given first).
    pub fn filled(n: usize, value: T) -> Self {
        assert!(n <= MAX_NDIM, "{n} dimensions, at most {MAX_NDIM} supported");
        Dims { len: n, data: [value; MAX_NDIM] }
    }

    pub fn from_slice(values: &[T]) -> Self {
        let mut d = Dims::filled(values.len(), T::default());
        d.copy_from_slice(values);
        d
    }

    fn push(&mut self, value: T) {
        self.data[self.len] = value;
        self.len += 1;
    }
}

impl<T: Copy + Default> Deref for Dims<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.data[..self.len]
    }
}

impl<T: Copy + Default> DerefMut for Dims<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.data[..self.len]
    }
}

impl<T: Copy + Default + fmt::Debug> fmt::Debug for Dims<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.deref().fmt(f)
    }
}

/// Shapes that cannot be broadcast together, as NumPy reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BroadcastError {
    /// "operands could not be broadcast together with shapes (2,3) (4,) ".
    Operands(Vec<usize>, Vec<usize>),
    /// "non-broadcastable output operand with shape (3,) doesn't match the broadcast shape (2,3)".
    Output { out: Vec<usize>, broadcast: Vec<usize> },
}

/// NumPy's spelling of a shape in messages: `(2,3)`, `(4,)`, `()`.
pub fn shape_str(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",")),
    }
}

impl fmt::Display for BroadcastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // NumPy's message ends with a space after the last shape; kept so messages match.
            BroadcastError::Operands(a, b) => {
                write!(f, "operands could not be broadcast together with shapes {} {} ", shape_str(a), shape_str(b))
            }
            BroadcastError::Output { out, broadcast } => write!(
                f,
                "non-broadcastable output operand with shape {} doesn't match the broadcast shape {}",
                shape_str(out),
                shape_str(broadcast)
            ),
        }
    }
}

/// The shape `a` and `b` broadcast to (`np.broadcast_shapes(a, b)`).
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Dims<usize>, BroadcastError> {
    let ndim = a.len().max(b.len());
    let mut out = Dims::filled(ndim, 0usize);
    for i in 0..ndim {
        // Dimension i counted from the right; a missing dimension is a 1.
        let da = if i < a.len() { a[a.len() - 1 - i] } else { 1 };
        let db = if i < b.len() { b[b.len() - 1 - i] } else { 1 };
        out[ndim - 1 - i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(BroadcastError::Operands(a.to_vec(), b.to_vec())),
        };
    }
    Ok(out)
}

/// The shape of an operation's result when it writes into `out`: the inputs must broadcast to
/// exactly `out`'s shape (an output is never stretched).
pub fn check_output_shape(inputs: &[usize], out: &[usize]) -> Result<(), BroadcastError> {
    match broadcast_shapes(inputs, out) {
        Ok(full) if *full == *out => Ok(()),
        Ok(full) => Err(BroadcastError::Output { out: out.to_vec(), broadcast: full.to_vec() }),
        Err(_) => Err(BroadcastError::Output { out: out.to_vec(), broadcast: inputs.to_vec() }),
    }
}

/// The strides that read an operand of `shape`/`strides` as if it had shape `target` (which it
/// must broadcast to): leading missing dimensions and stretched length-1 dimensions get stride 0.
pub fn broadcast_strides(shape: &[usize], strides: &[isize], target: &[usize]) -> Dims<isize> {
    assert!(shape.len() <= target.len() && shape.len() == strides.len(), "operand has more dimensions than the target");
    let lead = target.len() - shape.len();
    let mut out = Dims::filled(target.len(), 0isize);
    for (i, (&n, &s)) in shape.iter().zip(strides).enumerate() {
        let t = target[lead + i];
        assert!(n == t || n == 1, "shape {shape:?} does not broadcast to {target:?}");
        out[lead + i] = if n == t && n != 1 { s } else { 0 };
    }
    out
}

/// An N-d iteration space over `N` operands that share one shape, after coalescing.
/// `shape.len() >= 1` always (a 0-d operation becomes one dimension of length 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Walk<const N: usize> {
    pub shape: Dims<usize>,
    /// `strides[k][d]`: bytes operand `k` moves per step along dimension `d`.
    pub strides: [Dims<isize>; N],
}

impl<const N: usize> Walk<N> {
    /// Build the walk for operands that all have `shape` (strides already broadcast), dropping
    /// length-1 dimensions and merging dimension `d` into `d+1` when every operand's stride
    /// along `d` equals its stride along `d+1` times the length of `d+1`.
    pub fn new(shape: &[usize], strides: [&[isize]; N]) -> Self {
        let mut out_shape = Dims::filled(0, 0usize);
        let mut out_strides = [Dims::filled(0, 0isize); N];
        if shape.contains(&0) {
            out_shape.push(0);
            out_strides.iter_mut().for_each(|s| s.push(0));
            return Walk { shape: out_shape, strides: out_strides };
        }
        for (d, &n) in shape.iter().enumerate() {
            if n == 1 {
                continue;
            }
            if let Some(last) = out_shape.len().checked_sub(1) {
                if (0..N).all(|k| out_strides[k][last] == strides[k][d] * n as isize) {
                    out_shape[last] *= n;
                    for k in 0..N {
                        out_strides[k][last] = strides[k][d];
                    }
                    continue;
                }
            }
            out_shape.push(n);
            for k in 0..N {
                out_strides[k].push(strides[k][d]);
            }
        }
        if out_shape.is_empty() {
            out_shape.push(1);
            out_strides.iter_mut().for_each(|s| s.push(0));
        }
        Walk { shape: out_shape, strides: out_strides }
    }

    /// Number of elements visited.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// Length of the innermost dimension (the inner loop's `n`).
    pub fn inner_len(&self) -> usize {
        *self.shape.last().expect("a walk has at least one dimension")
    }

    /// Visit the flat (C-order) index range `start..end`, calling `inner(offsets, n)` for each
    /// piece of the innermost dimension inside it; `offsets[k]` is operand `k`'s byte offset
    /// from its base pointer at the piece's first element. The range lets the work be split
    /// across threads at any element, not only at row boundaries.
    pub fn for_each_run(&self, start: usize, end: usize, mut inner: impl FnMut([isize; N], usize)) {
        let ndim = self.shape.len();
        let inner_len = self.inner_len();
        if start >= end || inner_len == 0 {
            return;
        }
        // Unravel `start` into a multi-index (outer dimensions) and a position in the row.
        let mut index = Dims::filled(ndim, 0usize);
        let mut rest = start;
        for d in (0..ndim).rev() {
            index[d] = rest % self.shape[d];
            rest /= self.shape[d];
        }
        let mut remaining = end - start;
        while remaining > 0 {
            let pos = index[ndim - 1];
            let n = (inner_len - pos).min(remaining);
            let offsets: [isize; N] =
                std::array::from_fn(|k| (0..ndim).map(|d| index[d] as isize * self.strides[k][d]).sum());
            inner(offsets, n);
            remaining -= n;
            // Next row: carry through the outer dimensions.
            index[ndim - 1] = 0;
            let mut d = ndim - 1;
            while d > 0 {
                d -= 1;
                index[d] += 1;
                if index[d] < self.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_broadcast_like_numpy() {
        assert_eq!(*broadcast_shapes(&[2, 3], &[3]).unwrap(), [2, 3]);
        assert_eq!(*broadcast_shapes(&[4, 1, 3], &[5, 1]).unwrap(), [4, 5, 3]);
        assert_eq!(*broadcast_shapes(&[], &[2]).unwrap(), [2]);
        assert_eq!(*broadcast_shapes(&[0], &[1]).unwrap(), [0]);
        let err = broadcast_shapes(&[2, 3], &[4]).unwrap_err();
        assert_eq!(err.to_string(), "operands could not be broadcast together with shapes (2,3) (4,) ");
        assert_eq!(
            check_output_shape(&[2, 3], &[3]).unwrap_err().to_string(),
            "non-broadcastable output operand with shape (3,) doesn't match the broadcast shape (2,3)"
        );
        assert_eq!(check_output_shape(&[3], &[2, 3]), Ok(()));
        assert_eq!(shape_str(&[]), "()");
    }

    #[test]
    fn stretched_dimensions_get_stride_zero() {
        assert_eq!(*broadcast_strides(&[3], &[8], &[2, 3]), [0, 8]);
        assert_eq!(*broadcast_strides(&[2, 1], &[16, 8], &[2, 5]), [16, 0]);
        assert_eq!(*broadcast_strides(&[1], &[8], &[1]), [0]);
    }

    #[test]
    fn contiguous_operands_coalesce_to_one_dimension() {
        let w = Walk::<2>::new(&[2, 3, 4], [&[96, 32, 8], &[48, 16, 4]]);
        assert_eq!(*w.shape, [24]);
        assert_eq!((&*w.strides[0], &*w.strides[1]), (&[8isize][..], &[4isize][..]));
        // A broadcast row does not merge with the rows it repeats over.
        let w = Walk::<2>::new(&[2, 3], [&[24, 8], &[0, 8]]);
        assert_eq!(*w.shape, [2, 3]);
        let w = Walk::<1>::new(&[], [&[]]);
        assert_eq!(*w.shape, [1]);
        let w = Walk::<1>::new(&[3, 0], [&[8, 8]]);
        assert_eq!(w.size(), 0);
    }

    #[test]
    fn runs_cover_every_element_once_from_any_start() {
        let w = Walk::<1>::new(&[3, 4], [&[40, 8]]);
        for start in 0..12 {
            for end in start..=12 {
                let mut seen = Vec::new();
                w.for_each_run(start, end, |[off], n| {
                    for i in 0..n as isize {
                        seen.push((off + 8 * i) / 8);
                    }
                });
                let expected: Vec<isize> = (start..end).map(|i| (i / 4 * 5 + i % 4) as isize).collect();
                assert_eq!(seen, expected, "{start}..{end}");
            }
        }
    }
}

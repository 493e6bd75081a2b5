//! When can a reshape be a view? NumPy's `_attempt_nocopy_reshape` (numpy/_core/src/multiarray/
//! shape.c), C order: group old and new dimensions into runs with equal products; a run of old
//! dimensions can be re-split only if it is evenly strided (each stride = next stride × next
//! length).

/// Strides that present the memory of (`old_shape`, `old_strides`) as `new_shape` in C order
/// without copying, or `None` when a copy is needed. The element counts must be equal.
pub fn nocopy_strides(old_shape: &[usize], old_strides: &[isize], new_shape: &[usize], itemsize: usize) -> Option<Vec<isize>> {
    let size: usize = old_shape.iter().product();
    assert_eq!(size, new_shape.iter().product::<usize>(), "reshape must keep the element count");
    let newnd = new_shape.len();
    if old_shape == new_shape {
        return Some(old_strides.to_vec());
    }
    if size == 0 {
        // No element is ever addressed: any strides will do; use the C-contiguous ones.
        return super::view::c_strides(new_shape, itemsize);
    }
    let (olddims, oldstrides): (Vec<usize>, Vec<isize>) =
        old_shape.iter().zip(old_strides).filter(|(&n, _)| n != 1).map(|(&n, &s)| (n, s)).unzip();
    let oldnd = olddims.len();
    let mut newstrides = vec![0isize; newnd];
    let (mut oi, mut oj, mut ni, mut nj) = (0, 1, 0, 1);
    while ni < newnd && oi < oldnd {
        let mut np = new_shape[ni];
        let mut op = olddims[oi];
        while np != op {
            if np < op {
                np *= new_shape[nj];
                nj += 1;
            } else {
                op *= olddims[oj];
                oj += 1;
            }
        }
        for ok in oi..oj - 1 {
            if oldstrides[ok] != olddims[ok + 1] as isize * oldstrides[ok + 1] {
                return None;
            }
        }
        newstrides[nj - 1] = oldstrides[oj - 1];
        for nk in (ni + 1..nj).rev() {
            newstrides[nk - 1] = newstrides[nk] * new_shape[nk] as isize;
        }
        ni = nj;
        nj += 1;
        oi = oj;
        oj += 1;
    }
    let last_stride = if ni >= 1 { newstrides[ni - 1] } else { itemsize as isize };
    for s in newstrides.iter_mut().skip(ni) {
        *s = last_stride;
    }
    Some(newstrides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_always_views() {
        assert_eq!(nocopy_strides(&[2, 3, 4], &[96, 32, 8], &[6, 4], 8), Some(vec![32, 8]));
        assert_eq!(nocopy_strides(&[24], &[8], &[2, 1, 12], 8), Some(vec![96, 96, 8]));
    }

    #[test]
    fn transposed_needs_a_copy_but_splitting_does_not() {
        // A 3x4 C array transposed: 4x3 with strides (8, 32).
        assert_eq!(nocopy_strides(&[4, 3], &[8, 32], &[12], 8), None);
        assert_eq!(nocopy_strides(&[4, 3], &[8, 32], &[2, 2, 3], 8), Some(vec![16, 8, 32]));
        // Every other element: (6,) stride 16 -> (2, 3) strides (48, 16).
        assert_eq!(nocopy_strides(&[6], &[16], &[2, 3], 8), Some(vec![48, 16]));
        // Negative strides stay a view when split.
        assert_eq!(nocopy_strides(&[6], &[-8], &[3, 2], 8), Some(vec![-16, -8]));
        assert_eq!(nocopy_strides(&[0, 3], &[8, 8], &[3, 0], 8), Some(vec![0, 8]));
    }
}

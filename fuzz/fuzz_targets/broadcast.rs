//! Broadcasting and the N-d walk of the elementwise loops (`kernels::array::broadcast`), against
//! naive definitions: NumPy's right-aligned broadcasting rule, and a C-order enumeration of
//! every element's byte offset in each operand. Any sub-range of the walk (how the work is split
//! across threads) must visit exactly the same offsets, in the same order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawcapi::kernels::array::broadcast::{broadcast_shapes, broadcast_strides, check_output_shape, Walk};

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map(|(f, r)| (*f, r)).unwrap_or((0, &[]));
        self.0 = rest;
        first
    }
}

fn naive_broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let ndim = a.len().max(b.len());
    let pad = |s: &[usize]| -> Vec<usize> { std::iter::repeat(1).take(ndim - s.len()).chain(s.iter().copied()).collect() };
    let (a, b) = (pad(a), pad(b));
    a.iter().zip(&b).map(|(&x, &y)| if x == y || y == 1 { Some(x) } else if x == 1 { Some(y) } else { None }).collect()
}

fn naive_offsets(shape: &[usize], strides: &[isize]) -> Vec<isize> {
    let size: usize = shape.iter().product();
    (0..size)
        .map(|mut flat| {
            let mut off = 0isize;
            for d in (0..shape.len()).rev() {
                off += (flat % shape[d]) as isize * strides[d];
                flat /= shape[d];
            }
            off
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut shape = |input: &mut Input| -> Vec<usize> { (0..input.byte() % 6).map(|_| usize::from(input.byte() % 5)).collect() };
    let a = shape(&mut input);
    let b = shape(&mut input);
    let expected = naive_broadcast(&a, &b);
    let got = broadcast_shapes(&a, &b).ok().map(|d| d.to_vec());
    assert_eq!(got, expected, "{a:?} {b:?}");
    assert_eq!(broadcast_shapes(&b, &a).ok().map(|d| d.to_vec()), expected, "not symmetric: {a:?} {b:?}");
    let Some(target) = expected else { return };
    // Writing into an operand of shape `a`: allowed exactly when the result has `a`'s shape.
    assert_eq!(check_output_shape(&b, &a).is_ok(), target == a, "{a:?} {b:?}");
    let mut strides = |input: &mut Input, n: usize| -> Vec<isize> { (0..n).map(|_| isize::from(input.byte() as i8) * 8).collect() };
    let sa = strides(&mut input, a.len());
    let sb = strides(&mut input, b.len());
    let ba = broadcast_strides(&a, &sa, &target);
    let bb = broadcast_strides(&b, &sb, &target);
    let walk = Walk::<2>::new(&target, [&ba, &bb]);
    let (oa, ob) = (naive_offsets(&target, &ba), naive_offsets(&target, &bb));
    assert_eq!(walk.size(), oa.len());
    let size = oa.len();
    let start = usize::from(input.byte()) % (size + 1);
    let end = start + usize::from(input.byte()) % (size - start + 1);
    let mut seen = Vec::new();
    walk.for_each_run(start, end, |[x, y], n| {
        for i in 0..n as isize {
            seen.push((x + i * walk.strides[0][walk.shape.len() - 1], y + i * walk.strides[1][walk.shape.len() - 1]));
        }
    });
    let expected: Vec<(isize, isize)> = (start..end).map(|i| (oa[i], ob[i])).collect();
    assert_eq!(seen, expected, "target {target:?} strides {ba:?} {bb:?} range {start}..{end}");
});

//! `kernels::strided::fold_runs` against a naive index-by-index walk (`PyBuffer_GetPointer`'s
//! definition), on layouts decoded from the fuzzer's bytes:
//!
//! - in-bounds layouts over a real buffer (any itemsize, 0-6 dimensions, negative, zero and
//!   gappy strides, a PIL-style pointer array in the outer dimension): the byte sums and the
//!   newline counts must be equal;
//! - wild layouts (arbitrary isize strides and itemsize, few elements) over no memory at all,
//!   with a kernel that only measures run lengths: no panic, and either the exact byte count
//!   or an error that the values justify (an overflow).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawcapi::kernels::memory::Units;
use rawcapi::kernels::newlines::count_newlines;
use rawcapi::kernels::strided::{fold_runs, Layout};
use rawcapi::kernels::sum::sum_bytes;

const DATA_LEN: usize = 4096;

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map(|(f, r)| (*f, r)).unwrap_or((0, &[]));
        self.0 = rest;
        first
    }
    fn isize(&mut self) -> isize {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.byte();
        }
        isize::from_le_bytes(b)
    }
}

/// Visit every index in C order; `None` if some address falls outside `0..DATA_LEN - itemsize`.
fn naive(data: &[u8], rows: &[usize], base: isize, itemsize: usize, shape: &[isize], strides: &[isize], pil: bool) -> Option<(u128, u128)> {
    if shape.iter().any(|&n| n == 0) {
        return Some((0, 0));
    }
    let mut idx = vec![0isize; shape.len()];
    let (mut sum, mut lines) = (0u128, 0u128);
    loop {
        let mut addr = base;
        for i in 0..shape.len() {
            addr += strides[i] * idx[i];
            if pil && i == 0 {
                // The pointer array: entry `addr / 8` names a row start; suboffset 0.
                if addr < 0 || addr % 8 != 0 || addr as usize / 8 >= rows.len() {
                    return None;
                }
                addr = rows[addr as usize / 8] as isize;
            }
        }
        if addr < 0 || addr as usize + itemsize > data.len() {
            return None;
        }
        for &b in &data[addr as usize..addr as usize + itemsize] {
            sum += u128::from(b);
            lines += u128::from(b == b'\n');
        }
        let mut i = shape.len();
        loop {
            if i == 0 {
                return Some((sum, lines));
            }
            i -= 1;
            idx[i] += 1;
            if idx[i] < shape[i] {
                break;
            }
            idx[i] = 0;
        }
    }
}

fn in_bounds(input: &mut Input) {
    let data: Vec<u8> = (0..DATA_LEN).map(|i| if i % 11 == 0 { b'\n' } else { (i * 37 % 251) as u8 }).collect();
    let itemsize = 1 + usize::from(input.byte() % 16);
    let ndim = usize::from(input.byte() % 7);
    let pil = ndim > 0 && input.byte() % 4 == 0;
    let mut shape = Vec::new();
    let mut strides = Vec::new();
    for _ in 0..ndim {
        shape.push(isize::from(input.byte() % 7));
        strides.push(isize::from(input.byte() as i8) * if input.byte() % 2 == 0 { 1 } else { itemsize as isize });
    }
    let base = isize::from(input.byte()) * 8;
    // PIL: `buf` points into an array of row pointers; each row starts somewhere in `data`.
    let rows: Vec<usize> = (0..64).map(|_| 512 + usize::from(input.byte()) * 8).collect();
    let Some(expected) = naive(&data, &rows, if pil { base } else { 2048 + base - 1024 }, itemsize, &shape, &strides, pil) else { return };
    let pointers: Vec<*const u8> = rows.iter().map(|&r| data.as_ptr().wrapping_add(r)).collect();
    let (buf, suboffsets): (*const u8, Option<Vec<isize>>) = if pil {
        let mut s = vec![-1isize; ndim];
        s[0] = 0;
        ((pointers.as_ptr() as *const u8).wrapping_offset(base), Some(s))
    } else {
        (data.as_ptr().wrapping_offset(2048 + base - 1024), None)
    };
    let layout = Layout { buf, itemsize, shape: &shape, strides: &strides, suboffsets: suboffsets.as_deref() };
    // SAFETY: `naive` checked that every address the layout names lies inside `data` (and,
    // for PIL, that every pointer it follows is an entry of `pointers`).
    let sum = unsafe { fold_runs(&layout, &mut |run| sum_bytes(run)) }.expect("a valid layout");
    let lines = unsafe { fold_runs(&layout, &mut |run| count_newlines(run)) }.expect("a valid layout");
    assert_eq!((sum, lines), expected, "itemsize {itemsize} shape {shape:?} strides {strides:?} pil {pil}");
}

fn wild(input: &mut Input) {
    let itemsize = match input.byte() % 4 {
        0 => usize::from(input.byte()),
        1 => input.isize() as usize,
        _ => 1 + usize::from(input.byte() % 8),
    };
    let ndim = usize::from(input.byte() % 5);
    let mut shape = Vec::new();
    let mut strides = Vec::new();
    for _ in 0..ndim {
        shape.push(isize::from(input.byte() % 6));
        strides.push(match input.byte() % 3 {
            0 => input.isize(),
            1 => isize::from(input.byte() as i8),
            _ => input.isize() >> (input.byte() % 64),
        });
    }
    let layout = Layout { buf: std::ptr::null::<u8>().wrapping_add(1 << 40), itemsize, shape: &shape, strides: &strides, suboffsets: None };
    // SAFETY: the kernel never dereferences the run it is given: it only measures it.
    let result = unsafe { fold_runs(&layout, &mut |run: Units<u8>| run.len() as u64) };
    let elements: u128 = shape.iter().map(|&n| n as u128).product();
    let expected_bytes = elements.checked_mul(itemsize as u128);
    match result {
        Ok(bytes) => assert_eq!(Some(bytes), expected_bytes, "itemsize {itemsize} shape {shape:?} strides {strides:?}"),
        Err(bad) => {
            // Refusing is right only when some size or offset really does not fit an isize.
            let overflow = itemsize > isize::MAX as usize
                || expected_bytes.is_none_or(|b| b > isize::MAX as u128)
                || shape.iter().zip(&strides).any(|(&n, &s)| (s as i128) * (n as i128 - 1).max(0) > isize::MAX as i128 || (s as i128) * (n as i128 - 1).max(0) < isize::MIN as i128)
                || shape.iter().zip(&strides).map(|(&n, &s)| if s < 0 { (s as i128) * (n as i128 - 1).max(0) } else { 0 }).sum::<i128>() < isize::MIN as i128;
            assert!(overflow, "{bad:?} for itemsize {itemsize} shape {shape:?} strides {strides:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    if input.byte() % 2 == 0 {
        in_bounds(&mut input);
    } else {
        wild(&mut input);
    }
});

//! The `Array` type's kernels: plain Rust over raw strided memory, no Python.
//!
//! `dtype.rs` is the element-type descriptor (NumPy's dtype, reduced to what rawcapi supports);
//! `view.rs` is the raw (pointer, dtype, shape, strides) description every loop takes — the
//! kernel-side picture of the article's ndarray diagram. `element.rs` is the Rust type of each
//! dtype's elements and NumPy's casts between them, for every kernel here and for the heavy ones
//! (`kernels/matmul.rs`, `kernels/fft.rs`). `copy.rs` converts between dtypes while copying
//! between any two layouts; `reduce.rs` sums; `reshape.rs` decides when a reshape can be a view.
//!
//! The arithmetic (NumPy's ufuncs in miniature): `elementwise.rs` (the inner loops and the table
//! that picks one by dtype), `broadcast.rs` (broadcasting and the N-d walk), `ufunc.rs` (the
//! driver: overlap, casting, threads — split by `kernels/parallel.rs`) and `pages.rs` (the
//! huge-page hint for large results).

pub mod arange;
pub mod broadcast;
pub mod copy;
pub mod dtype;
pub mod element;
pub mod elementwise;
pub mod pages;
pub mod reduce;
pub mod reshape;
pub mod ufunc;
pub mod view;

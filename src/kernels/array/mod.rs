//! The `Array` type's kernels: plain Rust over raw strided memory, no Python.
//!
//! `dtype.rs` is the element-type descriptor (NumPy's dtype, reduced to what rawcapi supports);
//! `view.rs` is the raw (pointer, dtype, shape, strides) description every loop takes — the
//! kernel-side picture of the article's ndarray diagram. `copy.rs` converts between dtypes while
//! copying between any two layouts; `reduce.rs` sums; `reshape.rs` decides when a reshape can be
//! a view.

pub mod arange;
pub mod copy;
pub mod dtype;
pub mod reduce;
pub mod reshape;
pub mod view;

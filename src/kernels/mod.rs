//! Plain Rust, no Python: the work itself.
//!
//! Nothing under `src/kernels/` names `pyo3_ffi`. The glue in `src/functions/` turns Python
//! objects into the raw descriptions these modules take (a pointer and a length, or a strided
//! layout), releases the GIL, and calls in. Everything here is covered by `cargo test`.

pub mod array;
pub mod memory;
pub mod newlines;
pub mod parallel;
pub mod simd;
pub mod strided;
pub mod sum;
pub mod dgemm;
pub mod matmul;
pub mod tasks;
pub mod fft;

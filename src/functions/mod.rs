//! The module's functions: glue only.
//!
//! Each function parses its arguments, turns the Python object into a raw description of its
//! memory (`src/capi/`), releases the GIL when the input is large enough to pay for it, calls a
//! kernel (`src/kernels/`), and builds the Python result. No loop over data lives here.

pub mod count_lines;
pub mod fast_sum;
pub mod fastcall;
pub mod fft;
pub mod include;
pub mod layout_check;
pub mod matmul;
pub mod operand;
pub mod private;
pub mod simd;
pub mod threads;
pub mod ufuncs;

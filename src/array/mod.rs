//! `rawcapi.Array`: a native type built by hand from a `PyType_Spec` — the article's ndarray.
//!
//! Read in this order (docs/05-array-type.md walks through the same files beside their C):
//!
//! | file          | what it is                                                             |
//! |---------------|------------------------------------------------------------------------|
//! | `object.rs`   | the object struct, `tp_alloc` → fields, `tp_dealloc`, `tp_traverse`; `new_array`, `zeros`, `new_view` for other Rust code |
//! | `spec.rs`     | the slot table and `PyType_Spec`; `PyType_FromModuleAndSpec`            |
//! | `getset.rs`   | attributes: shape, strides, ndim, size, itemsize, nbytes, dtype, base, T |
//! | `construct.rs`| `Array(obj)`, `Array.frombuffer`, `zeros`, `arange`                    |
//! | `scalar.rs`   | one element ↔ one Python number; the `dtype=` argument                 |
//! | `index.rs`    | `len`, `a[key]`, `a[key] = value`                                       |
//! | `methods.rs`  | astype, copy, tolist, reshape, sum; `repr`                             |
//! | `buffer.rs`   | the buffer protocol, exporter side                                     |
//!
//! The loops they call are in `src/kernels/array/` (no Python there).

pub mod buffer;
pub mod construct;
pub mod getset;
pub mod index;
pub mod methods;
pub mod number;
pub mod object;
pub mod operand;
pub mod scalar;
pub mod spec;

pub use object::{new_array, new_view, zeros, ArrayObject};

//! The C-API idioms rawcapi uses, each spelled out in exactly one file.
//!
//! The functions in `src/functions/` are written in terms of these helpers, never in terms of the
//! raw calls they wrap, so each idiom (and each reference-counting rule) is explained once:
//!
//! | file        | C idiom                                                        |
//! |-------------|----------------------------------------------------------------|
//! | `export.rs` | `PyInit_*` + `PyModuleDef`, `PyModExport_*` + `PySlot[]`: one module, two forms |
//! | `error.rs`  | `return NULL` with an exception set; `PyErr_SetString`          |
//! | `panic.rs`  | (none in C) catching a Rust panic at the `extern "C"` boundary  |
//! | `object.rs` | `Py_DECREF` on every path: an owned (new) reference             |
//! | `critical_section.rs` | `Py_BEGIN_CRITICAL_SECTION(op)`: a free-threaded build's per-object lock |
//! | `compat.rs` | `PyTuple_GET_ITEM` & co.: the macros abi3 replaces by functions  |
//! | `bytes.rs`  | `PyBytes_AS_STRING` / `Py_SIZE`: reading a `bytes` in place     |
//! | `buffer.rs` | `PyObject_GetBuffer` … `PyBuffer_Release`                       |
//! | `gil.rs`    | `Py_BEGIN_ALLOW_THREADS` … `Py_END_ALLOW_THREADS`               |
//! | `strings.rs`| `PyUnicode_KIND` / `PyUnicode_DATA`: reading a `str` in place   |
//! | `table.rs`  | `static PyMethodDef m[] = {...}`: a table the compiler counts   |

pub mod buffer;
pub mod compat;
pub mod critical_section;
pub mod bytes;
pub mod error;
pub mod export;
pub mod gil;
pub mod object;
pub mod panic;
pub mod strings;
pub mod table;

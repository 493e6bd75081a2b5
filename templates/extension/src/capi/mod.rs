//! The C-API idioms this extension uses, each spelled out in exactly one file. The module's code
//! is written in terms of these helpers, so each rule (who owns a reference, when the GIL may be
//! released) is explained once.
//!
//! | file        | C idiom                                                        |
//! |-------------|----------------------------------------------------------------|
//! | `gil.rs`    | "the GIL is held" as a value; `Py_BEGIN/END_ALLOW_THREADS`      |
//! | `error.rs`  | `return NULL` with an exception set; `PyErr_SetString`          |
//! | `panic.rs`  | (none in C) catching a Rust panic at the `extern "C"` boundary  |
//! | `object.rs` | `Py_DECREF` on every path: an owned (new) reference             |
//! | `buffer.rs` | `PyObject_GetBuffer` … `PyBuffer_Release`                       |
//! | `table.rs`  | `static PyMethodDef m[] = {...}`: a table the compiler counts   |

pub mod buffer;
pub mod error;
pub mod gil;
pub mod object;
pub mod panic;
pub mod table;

//! The tables CPython reads — `PyMethodDef[]`, `PyGetSetDef[]`, `PyType_Slot[]`,
//! `PyModuleDef_Slot[]` — with the length counted by the compiler.
//!
//! C leaves the length out and lets the compiler count the initialisers:
//!
//! ```c
//! static PyMethodDef module_methods[] = {
//!     {"byte_sum", byte_sum, METH_O, byte_sum_doc},
//!     {NULL, NULL, 0, NULL}                       /* sentinel */
//! };
//! ```
//!
//! A Rust `static` must spell its type, length included, and a hand-written `[PyMethodDef; 3]`
//! has to be edited with every entry. So each table is written as a `const` list (a slice, whose
//! length the compiler counts, sentinel included, in the same order C writes it) and the
//! `static mut` CPython is handed is made from it at compile time:
//!
//! ```ignore
//! const METHOD_LIST: &[PyMethodDef] = &[
//!     // ... one PyMethodDef per function ...
//!     PyMethodDef::zeroed(),
//! ];
//! static mut METHODS: [PyMethodDef; METHOD_LIST.len()] = table(METHOD_LIST);
//! ```
//!
//! The list itself never reaches the binary as a separate object: it is evaluated into the
//! static's initial bytes. The static stays `static mut` because the C fields that take these
//! tables (`m_methods`, `Py_tp_methods`, ...) are `*mut`.

/// The list as an array of its own length: the initial value of a `static mut` table.
///
/// Evaluated at compile time (a `static`'s initialiser is a constant context), so a list whose
/// length differs from the static's is a build error, not a run-time one — and with the length
/// written as `LIST.len()` it cannot differ.
pub const fn table<T: Copy, const N: usize>(list: &[T]) -> [T; N] {
    assert!(list.len() == N, "a table's static has a different length from its list");
    assert!(N > 0, "a table has at least its sentinel");
    let mut out = [list[0]; N];
    let mut i = 1;
    while i < N {
        out[i] = list[i];
        i += 1;
    }
    out
}

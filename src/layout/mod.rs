//! The layout check: do pyo3-ffi's Rust structs have the sizes and field offsets that the C
//! compiler gives the interpreter's own `Python.h`?
//!
//! rawcapi hands CPython pointers to structs it laid out in Rust (`PyModuleDef`, 3.15's `PySlot`
//! array, the `PyMethodDef` table, `PyType_Spec`, `Py_buffer` filled by an exporter ...). CPython
//! reads them with the offsets *its* compiler chose. If pyo3-ffi's declaration of one field
//! disagreed — a field added in a new CPython release, a `cfg` flag wrong for this interpreter —
//! nothing would fail to compile: CPython would just read the wrong bytes. So both views are
//! listed here and compared:
//!
//! - the C view: `src/layout/c_view.c`, compiled by `build.rs` against the target interpreter's
//!   headers and linked in ([`c_view`]);
//! - the Rust view: `size_of`/`offset_of!` of the same structs and fields ([`rust_view`]).
//!
//! rawcapi's own C API table (`src/capsule.rs` against `include/rawcapi.h`) is checked the same way.
//!
//! [`compare`] lists every difference; `cargo test` and pytest (`rawcapi._layout()`, on every
//! interpreter the module is built for) require that list to be empty.

use std::mem::{offset_of, size_of};

use pyo3_ffi::{
    PyMethodDef, PyModuleDef, PyModuleDef_Base, PyModuleDef_Slot, PyObject, PyType_Slot, PyType_Spec, PyVarObject,
    Py_buffer,
};

/// One measured quantity: `("sizeof(PyObject)", 16)` or `("offsetof(PyObject, ob_type)", 8)`.
pub type Entry = (String, usize);

/// `("sizeof(T)", size_of::<T>())`, named exactly as `c_view.c`'s `SIZE(T)` names it.
macro_rules! size {
    ($t:ident) => {
        size!($t as $t)
    };
    // A Rust type whose C name differs.
    ($t:ident as $c:ident) => {
        (concat!("sizeof(", stringify!($c), ")").to_string(), size_of::<$t>())
    };
}

/// `("offsetof(T, field)", offset_of!(T, field))`, named as `c_view.c`'s `OFFSET(T, field)`.
macro_rules! offset {
    ($t:ident, $field:ident) => {
        offset!($t as $t, $field)
    };
    ($t:ident as $c:ident, $field:ident) => {
        (concat!("offsetof(", stringify!($c), ", ", stringify!($field), ")").to_string(), offset_of!($t, $field))
    };
}

/// Rust's view: the same list as `c_view.c`, from pyo3-ffi's declarations.
pub fn rust_view() -> Vec<Entry> {
    let mut entries = vec![size!(PyObject)];
    #[cfg(Py_GIL_DISABLED)]
    entries.extend([offset!(PyObject, ob_tid), offset!(PyObject, ob_ref_local), offset!(PyObject, ob_ref_shared)]);
    #[cfg(not(Py_GIL_DISABLED))]
    entries.push(offset!(PyObject, ob_refcnt));
    entries.extend([
        offset!(PyObject, ob_type),
        size!(PyVarObject),
        offset!(PyVarObject, ob_base),
        offset!(PyVarObject, ob_size),
        size!(Py_buffer),
        offset!(Py_buffer, buf),
        offset!(Py_buffer, obj),
        offset!(Py_buffer, len),
        offset!(Py_buffer, itemsize),
        offset!(Py_buffer, readonly),
        offset!(Py_buffer, ndim),
        offset!(Py_buffer, format),
        offset!(Py_buffer, shape),
        offset!(Py_buffer, strides),
        offset!(Py_buffer, suboffsets),
        offset!(Py_buffer, internal),
        size!(PyMethodDef),
        offset!(PyMethodDef, ml_name),
        offset!(PyMethodDef, ml_meth),
        offset!(PyMethodDef, ml_flags),
        offset!(PyMethodDef, ml_doc),
        size!(PyModuleDef_Base),
        offset!(PyModuleDef_Base, ob_base),
        offset!(PyModuleDef_Base, m_init),
        offset!(PyModuleDef_Base, m_index),
        offset!(PyModuleDef_Base, m_copy),
        size!(PyModuleDef),
        offset!(PyModuleDef, m_base),
        offset!(PyModuleDef, m_name),
        offset!(PyModuleDef, m_doc),
        offset!(PyModuleDef, m_size),
        offset!(PyModuleDef, m_methods),
        offset!(PyModuleDef, m_slots),
        offset!(PyModuleDef, m_traverse),
        offset!(PyModuleDef, m_clear),
        offset!(PyModuleDef, m_free),
        size!(PyModuleDef_Slot),
        offset!(PyModuleDef_Slot, slot),
        offset!(PyModuleDef_Slot, value),
        size!(PyType_Spec),
        offset!(PyType_Spec, name),
        offset!(PyType_Spec, basicsize),
        offset!(PyType_Spec, itemsize),
        offset!(PyType_Spec, flags),
        offset!(PyType_Spec, slots),
        size!(PyType_Slot),
        offset!(PyType_Slot, slot),
        offset!(PyType_Slot, pfunc),
    ]);
    #[cfg(not(Py_LIMITED_API))]
    entries.extend(type_object_view());
    entries.extend(c_api_view());
    entries.extend(token_view());
    entries
}

/// `("NAME", value)` for a constant, named as `c_view.c`'s `VALUE(NAME)` names it.
#[cfg(Py_3_14)]
macro_rules! value {
    ($name:ident) => {
        (stringify!($name).to_string(), pyo3_ffi::$name as usize)
    };
}

/// 3.14's type token slot, and 3.15's PEP 793 array (src/capi/export.rs): `PySlot` (whose C
/// union member `sl_ptr` is pyo3-ffi's `anon2`), `PyABIInfo`, and the ids and flags rawcapi's
/// array is written with. Slot ids are plain numbers to the compiler on both sides, so only this
/// comparison would notice pyo3-ffi and Python.h disagreeing on one.
fn token_view() -> Vec<Entry> {
    #[allow(unused_mut)] // pushed to only from 3.14 on
    let mut entries = Vec::new();
    #[cfg(Py_3_14)]
    entries.push(value!(Py_tp_token));
    #[cfg(Py_3_15)]
    {
        use pyo3_ffi::{PyABIInfo, PySlot};
        entries.extend([
            size!(PySlot),
            offset!(PySlot, sl_id),
            offset!(PySlot, sl_flags),
            ("offsetof(PySlot, sl_ptr)".to_string(), offset_of!(PySlot, anon2)),
            size!(PyABIInfo),
            offset!(PyABIInfo, abiinfo_major_version),
            offset!(PyABIInfo, abiinfo_minor_version),
            offset!(PyABIInfo, flags),
            offset!(PyABIInfo, build_version),
            offset!(PyABIInfo, abi_version),
            value!(PySlot_STATIC),
            value!(PySlot_INTPTR),
            value!(Py_mod_abi),
            value!(Py_mod_name),
            value!(Py_mod_doc),
            value!(Py_mod_state_size),
            value!(Py_mod_methods),
            value!(Py_mod_state_traverse),
            value!(Py_mod_state_clear),
            value!(Py_mod_state_free),
            value!(Py_mod_exec),
            value!(Py_mod_multiple_interpreters),
            value!(Py_mod_gil),
            value!(Py_mod_token),
        ]);
    }
    entries
}

/// rawcapi's own C API table (src/capsule.rs) against include/rawcapi.h: the same kind of
/// agreement, between this crate and the header C extensions compile against.
fn c_api_view() -> Vec<Entry> {
    use crate::capsule::{CApi, VERSION};
    vec![
        size!(CApi as rawcapi_CAPI),
        offset!(CApi as rawcapi_CAPI, version),
        offset!(CApi as rawcapi_CAPI, size),
        offset!(CApi as rawcapi_CAPI, sum_bytes),
        offset!(CApi as rawcapi_CAPI, count_newlines),
        offset!(CApi as rawcapi_CAPI, Array_Check),
        offset!(CApi as rawcapi_CAPI, Array_New),
        offset!(CApi as rawcapi_CAPI, Array_Data),
        offset!(CApi as rawcapi_CAPI, Array_NDim),
        offset!(CApi as rawcapi_CAPI, Array_Shape),
        offset!(CApi as rawcapi_CAPI, Array_Strides),
        offset!(CApi as rawcapi_CAPI, Array_DType),
        offset!(CApi as rawcapi_CAPI, Array_IsWritable),
        ("RAWCAPI_C_API_VERSION".to_string(), VERSION as usize),
    ]
}

/// `PyTypeObject`, whose fields only the full (version-specific) API shows.
#[cfg(not(Py_LIMITED_API))]
fn type_object_view() -> Vec<Entry> {
    use pyo3_ffi::PyTypeObject;
    #[allow(unused_mut)] // pushed to only from 3.12 on
    let mut entries = vec![
        size!(PyTypeObject),
        offset!(PyTypeObject, ob_base),
        offset!(PyTypeObject, tp_name),
        offset!(PyTypeObject, tp_basicsize),
        offset!(PyTypeObject, tp_itemsize),
        offset!(PyTypeObject, tp_dealloc),
        offset!(PyTypeObject, tp_vectorcall_offset),
        offset!(PyTypeObject, tp_getattr),
        offset!(PyTypeObject, tp_setattr),
        offset!(PyTypeObject, tp_as_async),
        offset!(PyTypeObject, tp_repr),
        offset!(PyTypeObject, tp_as_number),
        offset!(PyTypeObject, tp_as_sequence),
        offset!(PyTypeObject, tp_as_mapping),
        offset!(PyTypeObject, tp_hash),
        offset!(PyTypeObject, tp_call),
        offset!(PyTypeObject, tp_str),
        offset!(PyTypeObject, tp_getattro),
        offset!(PyTypeObject, tp_setattro),
        offset!(PyTypeObject, tp_as_buffer),
        offset!(PyTypeObject, tp_flags),
        offset!(PyTypeObject, tp_doc),
        offset!(PyTypeObject, tp_traverse),
        offset!(PyTypeObject, tp_clear),
        offset!(PyTypeObject, tp_richcompare),
        offset!(PyTypeObject, tp_weaklistoffset),
        offset!(PyTypeObject, tp_iter),
        offset!(PyTypeObject, tp_iternext),
        offset!(PyTypeObject, tp_methods),
        offset!(PyTypeObject, tp_members),
        offset!(PyTypeObject, tp_getset),
        offset!(PyTypeObject, tp_base),
        offset!(PyTypeObject, tp_dict),
        offset!(PyTypeObject, tp_descr_get),
        offset!(PyTypeObject, tp_descr_set),
        offset!(PyTypeObject, tp_dictoffset),
        offset!(PyTypeObject, tp_init),
        offset!(PyTypeObject, tp_alloc),
        offset!(PyTypeObject, tp_new),
        offset!(PyTypeObject, tp_free),
        offset!(PyTypeObject, tp_is_gc),
        offset!(PyTypeObject, tp_bases),
        offset!(PyTypeObject, tp_mro),
        offset!(PyTypeObject, tp_cache),
        offset!(PyTypeObject, tp_subclasses),
        offset!(PyTypeObject, tp_weaklist),
        offset!(PyTypeObject, tp_del),
        offset!(PyTypeObject, tp_version_tag),
        offset!(PyTypeObject, tp_finalize),
        offset!(PyTypeObject, tp_vectorcall),
    ];
    #[cfg(Py_3_12)]
    entries.push(offset!(PyTypeObject, tp_watched));
    #[cfg(Py_3_13)]
    entries.push(offset!(PyTypeObject, tp_versions_used));
    entries
}

/// `c_view.c`'s entry type: `struct { const char *name; size_t value; }`.
#[cfg(not(rawcapi_layout_unmeasured))]
#[repr(C)]
struct CEntry {
    name: *const std::ffi::c_char,
    value: usize,
}

#[cfg(not(rawcapi_layout_unmeasured))]
unsafe extern "C" {
    /// Defined in `c_view.c`: a pointer to its static table, ended by `{NULL, 0}`.
    fn rawcapi_layout_c_view() -> *const CEntry;
}

/// The C compiler's view, read from the table `c_view.c` compiled in.
#[cfg(not(rawcapi_layout_unmeasured))]
pub fn c_view() -> Vec<Entry> {
    let mut entries = Vec::new();
    // SAFETY: the function returns a pointer to a static array of entries, each `name` a string
    // literal, ended by an entry whose name is NULL; nothing writes to it.
    unsafe {
        let mut entry = rawcapi_layout_c_view();
        while !(*entry).name.is_null() {
            let name = std::ffi::CStr::from_ptr((*entry).name).to_string_lossy().into_owned();
            entries.push((name, (*entry).value));
            entry = entry.add(1);
        }
    }
    entries
}

/// Built from a config with no interpreter (the free-threaded `cargo check`): nothing measured.
#[cfg(rawcapi_layout_unmeasured)]
pub fn c_view() -> Vec<Entry> {
    Vec::new()
}

/// One disagreement between the views: an entry with different values, or on one side only.
#[derive(Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub name: String,
    pub c: Option<usize>,
    pub rust: Option<usize>,
}

/// Every entry on which `c` and `rust` disagree, in `c`'s order then `rust`'s extras.
pub fn compare(c: &[Entry], rust: &[Entry]) -> Vec<Mismatch> {
    let lookup = |list: &[Entry], name: &str| list.iter().find(|(n, _)| n == name).map(|&(_, v)| v);
    let mut mismatches = Vec::new();
    for (name, value) in c {
        let rust_value = lookup(rust, name);
        if rust_value != Some(*value) {
            mismatches.push(Mismatch { name: name.clone(), c: Some(*value), rust: rust_value });
        }
    }
    for (name, value) in rust {
        if lookup(c, name).is_none() {
            mismatches.push(Mismatch { name: name.clone(), c: None, rust: Some(*value) });
        }
    }
    mismatches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyo3_ffi_layout_matches_python_h() {
        let c = c_view();
        assert!(c.len() >= 50, "the C table looks truncated: {c:?}");
        let mismatches = compare(&c, &rust_view());
        assert!(mismatches.is_empty(), "pyo3-ffi and Python.h disagree: {mismatches:#?}");
    }

    #[test]
    fn compare_reports_every_kind_of_difference() {
        let entry = |name: &str, value| (name.to_string(), value);
        let c = vec![entry("sizeof(A)", 16), entry("offsetof(A, x)", 8), entry("sizeof(C)", 4)];
        let rust = vec![entry("sizeof(A)", 16), entry("offsetof(A, x)", 12), entry("sizeof(R)", 2)];
        assert_eq!(
            compare(&c, &rust),
            vec![
                Mismatch { name: "offsetof(A, x)".into(), c: Some(8), rust: Some(12) },
                Mismatch { name: "sizeof(C)".into(), c: Some(4), rust: None },
                Mismatch { name: "sizeof(R)".into(), c: None, rust: Some(2) },
            ]
        );
    }
}

/* The layout check, C side: what the C compiler makes of Python.h.
 *
 * Compiled by build.rs against the headers of the interpreter rawcapi is built for (with
 * Py_LIMITED_API defined for an abi3 build), and linked into the crate. Each entry is the
 * sizeof or offsetof of a struct rawcapi shares with CPython; src/layout/mod.rs builds the same
 * list from pyo3-ffi's Rust declarations and compares. The names must match the Rust side's
 * exactly: an entry present on one side only is itself a failure (a field that pyo3-ffi's cfg
 * flags and Python.h's #if PY_VERSION_HEX disagree on). The same check covers rawcapi's own C API
 * table, include/rawcapi.h against src/capsule.rs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
/* rawcapi's own C API table (src/capsule.rs), which C extensions read through this header. */
#define RAWCAPI_NO_IMPORT
#include "rawcapi.h"

typedef struct {
    const char *name;
    size_t value;
} rawcapi_layout_entry;

#define SIZE(T) {"sizeof(" #T ")", sizeof(T)}
#define OFFSET(T, field) {"offsetof(" #T ", " #field ")", offsetof(T, field)}
#define VALUE(N) {#N, (size_t)(N)}

static const rawcapi_layout_entry entries[] = {
    SIZE(PyObject),
#ifdef Py_GIL_DISABLED
    OFFSET(PyObject, ob_tid),
    OFFSET(PyObject, ob_ref_local),
    OFFSET(PyObject, ob_ref_shared),
#else
    OFFSET(PyObject, ob_refcnt),
#endif
    OFFSET(PyObject, ob_type),

    SIZE(PyVarObject),
    OFFSET(PyVarObject, ob_base),
    OFFSET(PyVarObject, ob_size),

    SIZE(Py_buffer),
    OFFSET(Py_buffer, buf),
    OFFSET(Py_buffer, obj),
    OFFSET(Py_buffer, len),
    OFFSET(Py_buffer, itemsize),
    OFFSET(Py_buffer, readonly),
    OFFSET(Py_buffer, ndim),
    OFFSET(Py_buffer, format),
    OFFSET(Py_buffer, shape),
    OFFSET(Py_buffer, strides),
    OFFSET(Py_buffer, suboffsets),
    OFFSET(Py_buffer, internal),

    SIZE(PyMethodDef),
    OFFSET(PyMethodDef, ml_name),
    OFFSET(PyMethodDef, ml_meth),
    OFFSET(PyMethodDef, ml_flags),
    OFFSET(PyMethodDef, ml_doc),

    SIZE(PyModuleDef_Base),
    OFFSET(PyModuleDef_Base, ob_base),
    OFFSET(PyModuleDef_Base, m_init),
    OFFSET(PyModuleDef_Base, m_index),
    OFFSET(PyModuleDef_Base, m_copy),

    SIZE(PyModuleDef),
    OFFSET(PyModuleDef, m_base),
    OFFSET(PyModuleDef, m_name),
    OFFSET(PyModuleDef, m_doc),
    OFFSET(PyModuleDef, m_size),
    OFFSET(PyModuleDef, m_methods),
    OFFSET(PyModuleDef, m_slots),
    OFFSET(PyModuleDef, m_traverse),
    OFFSET(PyModuleDef, m_clear),
    OFFSET(PyModuleDef, m_free),

    SIZE(PyModuleDef_Slot),
    OFFSET(PyModuleDef_Slot, slot),
    OFFSET(PyModuleDef_Slot, value),

    SIZE(PyType_Spec),
    OFFSET(PyType_Spec, name),
    OFFSET(PyType_Spec, basicsize),
    OFFSET(PyType_Spec, itemsize),
    OFFSET(PyType_Spec, flags),
    OFFSET(PyType_Spec, slots),

    SIZE(PyType_Slot),
    OFFSET(PyType_Slot, slot),
    OFFSET(PyType_Slot, pfunc),

#if PY_VERSION_HEX >= 0x030E0000 && (!defined(Py_LIMITED_API) || Py_LIMITED_API+0 >= 0x030E0000)
    /* 3.14+: the Array type's token slot (src/array/spec.rs). */
    VALUE(Py_tp_token),
#endif

#if PY_VERSION_HEX >= 0x030F0000 && (!defined(Py_LIMITED_API) || Py_LIMITED_API+0 >= 0x030F0000)
    /* 3.15+: the PEP 793 entry point's array (src/capi/export.rs), its ABI record, and the slot
     * ids and flags it is written with. */
    SIZE(PySlot),
    OFFSET(PySlot, sl_id),
    OFFSET(PySlot, sl_flags),
    OFFSET(PySlot, sl_ptr),
    SIZE(PyABIInfo),
    OFFSET(PyABIInfo, abiinfo_major_version),
    OFFSET(PyABIInfo, abiinfo_minor_version),
    OFFSET(PyABIInfo, flags),
    OFFSET(PyABIInfo, build_version),
    OFFSET(PyABIInfo, abi_version),
    VALUE(PySlot_STATIC),
    VALUE(PySlot_INTPTR),
    VALUE(Py_mod_abi),
    VALUE(Py_mod_name),
    VALUE(Py_mod_doc),
    VALUE(Py_mod_state_size),
    VALUE(Py_mod_methods),
    VALUE(Py_mod_state_traverse),
    VALUE(Py_mod_state_clear),
    VALUE(Py_mod_state_free),
    VALUE(Py_mod_exec),
    VALUE(Py_mod_multiple_interpreters),
    VALUE(Py_mod_gil),
    VALUE(Py_mod_token),
#endif

#ifndef Py_LIMITED_API
    /* Opaque in the limited API: an abi3 extension only ever holds a PyTypeObject pointer. */
    SIZE(PyTypeObject),
    OFFSET(PyTypeObject, ob_base),
    OFFSET(PyTypeObject, tp_name),
    OFFSET(PyTypeObject, tp_basicsize),
    OFFSET(PyTypeObject, tp_itemsize),
    OFFSET(PyTypeObject, tp_dealloc),
    OFFSET(PyTypeObject, tp_vectorcall_offset),
    OFFSET(PyTypeObject, tp_getattr),
    OFFSET(PyTypeObject, tp_setattr),
    OFFSET(PyTypeObject, tp_as_async),
    OFFSET(PyTypeObject, tp_repr),
    OFFSET(PyTypeObject, tp_as_number),
    OFFSET(PyTypeObject, tp_as_sequence),
    OFFSET(PyTypeObject, tp_as_mapping),
    OFFSET(PyTypeObject, tp_hash),
    OFFSET(PyTypeObject, tp_call),
    OFFSET(PyTypeObject, tp_str),
    OFFSET(PyTypeObject, tp_getattro),
    OFFSET(PyTypeObject, tp_setattro),
    OFFSET(PyTypeObject, tp_as_buffer),
    OFFSET(PyTypeObject, tp_flags),
    OFFSET(PyTypeObject, tp_doc),
    OFFSET(PyTypeObject, tp_traverse),
    OFFSET(PyTypeObject, tp_clear),
    OFFSET(PyTypeObject, tp_richcompare),
    OFFSET(PyTypeObject, tp_weaklistoffset),
    OFFSET(PyTypeObject, tp_iter),
    OFFSET(PyTypeObject, tp_iternext),
    OFFSET(PyTypeObject, tp_methods),
    OFFSET(PyTypeObject, tp_members),
    OFFSET(PyTypeObject, tp_getset),
    OFFSET(PyTypeObject, tp_base),
    OFFSET(PyTypeObject, tp_dict),
    OFFSET(PyTypeObject, tp_descr_get),
    OFFSET(PyTypeObject, tp_descr_set),
    OFFSET(PyTypeObject, tp_dictoffset),
    OFFSET(PyTypeObject, tp_init),
    OFFSET(PyTypeObject, tp_alloc),
    OFFSET(PyTypeObject, tp_new),
    OFFSET(PyTypeObject, tp_free),
    OFFSET(PyTypeObject, tp_is_gc),
    OFFSET(PyTypeObject, tp_bases),
    OFFSET(PyTypeObject, tp_mro),
    OFFSET(PyTypeObject, tp_cache),
    OFFSET(PyTypeObject, tp_subclasses),
    OFFSET(PyTypeObject, tp_weaklist),
    OFFSET(PyTypeObject, tp_del),
    OFFSET(PyTypeObject, tp_version_tag),
    OFFSET(PyTypeObject, tp_finalize),
    OFFSET(PyTypeObject, tp_vectorcall),
#if PY_VERSION_HEX >= 0x030C0000
    OFFSET(PyTypeObject, tp_watched),
#endif
#if PY_VERSION_HEX >= 0x030D0000
    OFFSET(PyTypeObject, tp_versions_used),
#endif
#endif /* !Py_LIMITED_API */

    SIZE(rawcapi_CAPI),
    OFFSET(rawcapi_CAPI, version),
    OFFSET(rawcapi_CAPI, size),
    OFFSET(rawcapi_CAPI, sum_bytes),
    OFFSET(rawcapi_CAPI, count_newlines),
    OFFSET(rawcapi_CAPI, Array_Check),
    OFFSET(rawcapi_CAPI, Array_New),
    OFFSET(rawcapi_CAPI, Array_Data),
    OFFSET(rawcapi_CAPI, Array_NDim),
    OFFSET(rawcapi_CAPI, Array_Shape),
    OFFSET(rawcapi_CAPI, Array_Strides),
    OFFSET(rawcapi_CAPI, Array_DType),
    OFFSET(rawcapi_CAPI, Array_IsWritable),
    {"RAWCAPI_C_API_VERSION", RAWCAPI_C_API_VERSION},

    {NULL, 0},
};

/* The table, NULL-terminated. Static data: any thread, no interpreter needed. */
const rawcapi_layout_entry *rawcapi_layout_c_view(void) { return entries; }

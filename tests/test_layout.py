"""The layout check, run on the imported module: pyo3-ffi's structs against Python.h.

rawcapi._layout() lists (name, C value, Rust value) for the sizeof/offsetof of every struct rawcapi
shares with CPython, the C values compiled from the headers of the interpreter the module was
built for (src/layout/). This runs on every interpreter of the version matrix and on the abi3 build.
"""
import sys

import pytest

import rawcapi

pytestmark = pytest.mark.quick

ABI3 = ".abi3." in rawcapi.__file__


def test_c_and_rust_agree_on_every_entry():
    rows = rawcapi._layout()
    mismatches = [row for row in rows if row[1] != row[2]]
    assert mismatches == []


def test_the_check_covers_the_structs_rawcapi_relies_on():
    names = {name for name, _, _ in rawcapi._layout()}
    for struct in ["PyObject", "PyVarObject", "Py_buffer", "PyMethodDef", "PyModuleDef",
                   "PyModuleDef_Slot", "PyType_Spec", "PyType_Slot"]:
        assert f"sizeof({struct})" in names
    # rawcapi's own C API table against include/rawcapi.h.
    assert {"sizeof(rawcapi_CAPI)", "offsetof(rawcapi_CAPI, Array_IsWritable)", "RAWCAPI_C_API_VERSION"} <= names
    # PyTypeObject is opaque in the limited API, so only the full-API build can measure it.
    assert ("sizeof(PyTypeObject)" in names) == (not ABI3)
    if not ABI3 and sys.version_info >= (3, 13):
        assert "offsetof(PyTypeObject, tp_versions_used)" in names


def test_sizes_agree_with_the_running_interpreter():
    # An independent oracle for the headers: the running interpreter's own type objects.
    rows = {name: c for name, c, _ in rawcapi._layout()}
    assert rows["sizeof(PyObject)"] == object.__basicsize__
    # tuple's tp_basicsize is sizeof(PyTupleObject) minus its one-element ob_item array; from 3.14
    # PyTupleObject caches its hash in a Py_hash_t ob_hash after the header
    # (Include/cpython/tupleobject.h).
    tuple_hash_cache = 8 if sys.version_info >= (3, 14) else 0
    assert rows["sizeof(PyVarObject)"] + tuple_hash_cache == tuple.__basicsize__
    assert rows["offsetof(PyVarObject, ob_size)"] == object.__basicsize__

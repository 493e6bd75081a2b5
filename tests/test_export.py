"""The two entry points (src/capi/export.rs) and the Array's type token, seen through the C API.

rawcapi exports `PyInit_rawcapi` (a `PyModuleDef`) everywhere and, when built for 3.15,
`PyModExport_rawcapi` (a `PySlot` array, PEP 793), which 3.15 prefers. The observable difference:
a module made from the `PySlot` array has no `PyModuleDef`, so `PyModule_GetDef` returns NULL for
it. Both forms must still give the module the same token (the definition's address), its state
and the collector's view of it. The C functions are called through ctypes (`pythonapi` holds the
GIL during each call), so the oracle is CPython itself.
"""
import ctypes
import gc
import sys

import pytest

import rawcapi

pytestmark = pytest.mark.quick

ABI3 = rawcapi.__file__.endswith(".abi3.so")
# Compiled for 3.15 (an abi3 build is compiled for 3.11, the oldest version it supports).
EXPORT_FORM = sys.version_info >= (3, 15) and not ABI3

api = ctypes.pythonapi
library = ctypes.PyDLL(rawcapi.__file__)


def definition():
    """The address of rawcapi's PyModuleDef: what PyInit_rawcapi returns (PyModuleDef_Init returns
    its argument, a borrowed pointer to a static; calling it again only re-marks the header)."""
    init = library.PyInit_rawcapi
    init.restype, init.argtypes = ctypes.c_void_p, []
    return init()


def module_def(module):
    """PyModule_GetDef(module): the address, or None for NULL."""
    get = api.PyModule_GetDef
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object]
    return get(module)


def test_the_library_exports_the_entry_points_of_its_build():
    assert hasattr(library, "PyInit_rawcapi")
    assert hasattr(library, "PyModExport_rawcapi") == EXPORT_FORM


def test_the_interpreter_made_the_module_from_the_expected_form():
    if EXPORT_FORM:
        # 3.15 took PyModExport_rawcapi: no PyModuleDef behind the module.
        assert module_def(rawcapi) is None
    else:
        assert module_def(rawcapi) == definition()


@pytest.mark.skipif(sys.version_info < (3, 15), reason="module tokens are new in 3.15")
def test_both_forms_give_the_module_the_definitions_address_as_token():
    token = ctypes.c_void_p()
    get = api.PyModule_GetToken
    get.restype, get.argtypes = ctypes.c_int, [ctypes.py_object, ctypes.POINTER(ctypes.c_void_p)]
    assert get(rawcapi, ctypes.byref(token)) == 0
    assert token.value == definition()


def test_the_definition_form_makes_a_working_module_on_every_version():
    # What PyInit_rawcapi hands an interpreter that takes it (3.14 and older, or a 3.15 without
    # the export hook): the module as the import machinery builds it from a PyModuleDef
    # (PyModule_FromDefAndSpec, then the exec slot through PyModule_ExecDef). On 3.15 this is the
    # only way to exercise the m_slots the compiler built there (new slot ids: Py_mod_exec is 85).
    import importlib.util

    spec = importlib.util.spec_from_file_location("rawcapi", rawcapi.__file__)
    from_def = api.PyModule_FromDefAndSpec2
    from_def.restype, from_def.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.py_object, ctypes.c_int]
    module = from_def(definition(), spec, 1013)  # PYTHON_API_VERSION, as the macro passes it
    exec_def = api.PyModule_ExecDef
    exec_def.restype, exec_def.argtypes = ctypes.c_int, [ctypes.py_object, ctypes.c_void_p]
    assert exec_def(module, definition()) == 0
    assert module is not rawcapi and module_def(module) == definition()
    assert module.__doc__ == rawcapi.__doc__ and module.__version__ == rawcapi.__version__
    assert module.Array is not rawcapi.Array  # its own state, its own type
    assert (module.Array([1, 2]) + 1).tolist() == [2, 3]
    assert module.fft([1, 2, 3, 4]).tolist() == [10, -2 + 2j, -2, -2 - 2j]
    assert any(r is module.Array for r in gc.get_referents(module))


def test_the_collector_sees_the_module_state():
    # The state holds a strong reference to the Array type (src/state.rs); the module's
    # traverse (m_traverse, or Py_mod_state_traverse) reports it. With the attribute gone from the
    # module's dict, the state is the only way the module reaches the type.
    array_type = rawcapi.Array
    del rawcapi.Array
    try:
        assert any(r is array_type for r in gc.get_referents(rawcapi))
    finally:
        rawcapi.Array = array_type


Py_tp_token = 83  # Include/typeslots.h (3.14+)


@pytest.mark.skipif(sys.version_info < (3, 14) or ABI3, reason="type tokens are new in 3.14")
def test_the_array_type_carries_a_token_the_lookup_finds():
    get_slot = api.PyType_GetSlot
    get_slot.restype, get_slot.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_int]
    token = get_slot(rawcapi.Array, Py_tp_token)
    assert token  # NULL for a type made without a Py_tp_token slot

    by_token = api.PyType_GetBaseByToken
    by_token.restype = ctypes.c_int
    by_token.argtypes = [ctypes.py_object, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    found = ctypes.c_void_p()
    before = sys.getrefcount(rawcapi.Array)
    assert by_token(rawcapi.Array, token, ctypes.byref(found)) == 1
    # The type itself, as a new (strong) reference, which is released here.
    assert found.value == id(rawcapi.Array)
    assert sys.getrefcount(rawcapi.Array) == before + 1
    api.Py_DecRef.argtypes = [ctypes.c_void_p]
    api.Py_DecRef(found)
    assert sys.getrefcount(rawcapi.Array) == before

    class Other:
        pass

    for ty in (Other, int, type(rawcapi)):
        assert by_token(ty, token, None) == 0


def test_recognising_arrays_takes_no_reference_to_the_type():
    # Every Array argument is recognised by its type (PyType_GetBaseByToken on 3.14+, which
    # returns a new reference the check must release). Results are dropped at once, so the
    # type's count must come back to where it was.
    a = rawcapi.Array([1.0, 2.0])
    before = sys.getrefcount(rawcapi.Array)
    for _ in range(2000):
        rawcapi.add(a, a)
        a.tolist()
    assert abs(sys.getrefcount(rawcapi.Array) - before) <= 10

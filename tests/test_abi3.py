"""The abi3 build uses only the stable ABI: every CPython symbol rawcapi.abi3.so imports is one
that CPython promises to keep (the list CPython's own test suite checks, test.test_stable_abi_ctypes).

Runs only when the imported rawcapi is the abi3 build (scripts/test-versions abi3).
"""
import shutil
import subprocess

import pytest

import rawcapi

pytestmark = [
    pytest.mark.quick,
    pytest.mark.skipif(not rawcapi.__file__.endswith(".abi3.so"), reason="not the abi3 build"),
]


def imported_python_symbols():
    if shutil.which("nm") is None:
        pytest.skip("nm (binutils) not installed")
    out = subprocess.run(["nm", "-D", "--undefined-only", rawcapi.__file__], capture_output=True, text=True, check=True).stdout
    return sorted(line.split()[-1] for line in out.splitlines() if line.split()[-1].startswith(("Py", "_Py")))


def test_imports_only_stable_abi_symbols():
    stable = pytest.importorskip("test.test_stable_abi_ctypes").SYMBOL_NAMES
    symbols = imported_python_symbols()
    assert "PyObject_GetBuffer" in symbols  # the list is real: the buffer API (3.11+) is used
    assert [s for s in symbols if s not in stable] == []


def test_does_not_use_the_pep393_macros_or_tp_name():
    # What the replacements replaced: these would be inlined field reads, not symbols, so check
    # instead that the limited-API functions standing in for them are imported.
    symbols = imported_python_symbols()
    for replacement in ["PyUnicode_AsUTF8AndSize", "PyUnicode_AsUCS4Copy", "PyBytes_AsStringAndSize", "PyType_GetName"]:
        assert replacement in symbols

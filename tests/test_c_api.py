"""rawcapi's C API, used the way another C extension uses it.

tests/c_api_consumer.c includes rawcapi.h (from rawcapi.get_include()), calls import_rawcapi() in
its exec slot, and forwards to each entry of the table. It is compiled here with setuptools in a
temporary directory against the running interpreter, then checked against Python and NumPy-free
oracles (plain Python). The version check is exercised with a forged capsule.
"""
import ctypes
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import rawcapi
from interpreters_compat import ISOLATED, ISOLATED_REASON, Interpreter

pytestmark = pytest.mark.quick

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def consumer_path(tmp_path_factory):
    pytest.importorskip("setuptools")
    build = tmp_path_factory.mktemp("c_api_consumer")
    shutil.copy(os.path.join(HERE, "c_api_consumer.c"), build)
    (build / "setup.py").write_text(textwrap.dedent(f"""
        from setuptools import Extension, setup
        setup(name="c_api_consumer", ext_modules=[Extension(
            "c_api_consumer", ["c_api_consumer.c"], include_dirs=[{rawcapi.get_include()!r}])])
    """))
    result = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=build,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    [path] = [p for p in build.iterdir() if p.name.startswith("c_api_consumer") and p.suffix in (".so", ".pyd")]
    return str(path)


def load(path):
    """A fresh module object each call (multi-phase init: the exec slot, and so import_rawcapi(),
    runs again)."""
    loader = importlib.machinery.ExtensionFileLoader("c_api_consumer", path)
    spec = importlib.util.spec_from_file_location("c_api_consumer", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def consumer(consumer_path):
    return load(consumer_path)


def test_get_include_holds_the_header():
    assert os.path.isfile(os.path.join(rawcapi.get_include(), "rawcapi.h"))


def test_capsule_is_named_for_pycapsule_import():
    assert type(rawcapi._C_API).__name__ == "PyCapsule"
    assert '"rawcapi._C_API"' in repr(rawcapi._C_API)


def test_table_version_matches_the_header(consumer):
    table_version, header_version = consumer.api_version()
    assert table_version == header_version == 1


@pytest.mark.parametrize("data", [b"", b"\n", bytes(range(256)) * 1000 + b"\n\n", bytearray(b"a\nb" * 70000)])
def test_kernels(consumer, data):
    assert consumer.total(data) == sum(data)
    assert consumer.newlines(data) == bytes(data).count(b"\n")


@pytest.mark.parametrize("dtype, shape", [("float64", (2, 3)), ("uint8", (5,)), ("int32", ()), ("complex128", (0, 4)), ("bool", (1, 1, 2))])
def test_array_new_and_accessors(consumer, dtype, shape):
    a = consumer.make(dtype, shape)
    assert type(a) is rawcapi.Array and consumer.is_array(a)
    ndim, shape_c, strides, dtype_c, writable, address = consumer.describe(a)
    assert (ndim, shape_c, strides, dtype_c, writable) == (a.ndim, a.shape, a.strides, a.dtype, True)
    assert address != 0
    assert a.tolist() == rawcapi.zeros(shape, dtype=dtype).tolist()


def test_accessors_see_views_and_read_only_memory(consumer):
    base = rawcapi.Array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    view = base[:, ::-2]
    _, shape, strides, _, _, view_address = consumer.describe(view)
    assert shape == view.shape == (2, 2) and strides == view.strides == (24, -16)
    assert view_address == consumer.describe(base)[5] + 16
    frozen = rawcapi.Array.frombuffer(memoryview(b"\x00" * 16).cast("d"))
    assert consumer.describe(frozen)[4] is False


def test_writing_through_array_data(consumer):
    a = consumer.make("float64", (3, 4))
    consumer.iota(a)
    assert a.tolist() == [[float(4 * r + c) for c in range(4)] for r in range(3)]


def test_errors_are_python_exceptions(consumer):
    assert not consumer.is_array([1.0, 2.0])
    with pytest.raises(TypeError, match="expected a rawcapi.Array, not 'list'"):
        consumer.describe([1.0])
    with pytest.raises(ValueError, match="unknown dtype 'float16'"):
        consumer.make("float16", (2,))
    with pytest.raises(ValueError, match="negative dimension -3"):
        consumer.make("float64", (2, -3))
    with pytest.raises(ValueError, match="ndim must be 0..=32, not 33"):
        consumer.make("float64", (1,) * 33)


class ForgedTable(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("size", ctypes.c_uint32)]


def forged_capsule(table, name):
    """A capsule holding `table` under `name`. PyCapsule_New keeps both pointers, so the caller
    keeps `table` and `name` (a ctypes string buffer) alive while the capsule is used."""
    new = ctypes.pythonapi.PyCapsule_New
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    return new(ctypes.addressof(table), ctypes.addressof(name), None)


def test_import_fails_clearly_on_an_older_table(consumer_path, monkeypatch):
    table = ForgedTable(0, ctypes.sizeof(ForgedTable))
    name = ctypes.create_string_buffer(b"rawcapi._C_API")
    monkeypatch.setattr(rawcapi, "_C_API", forged_capsule(table, name))
    with pytest.raises(ImportError, match=r"rawcapi C API version 0 is older than version 1"):
        load(consumer_path)


def test_import_fails_on_a_capsule_with_another_name(consumer_path, monkeypatch):
    table = ForgedTable(1, ctypes.sizeof(ForgedTable))
    name = ctypes.create_string_buffer(b"other._C_API")
    monkeypatch.setattr(rawcapi, "_C_API", forged_capsule(table, name))
    with pytest.raises(AttributeError, match=r'PyCapsule_Import "rawcapi._C_API" is not valid'):
        load(consumer_path)


def test_the_genuine_table_imports_again(consumer_path):
    assert load(consumer_path).total(b"\x01\x02") == 3


@pytest.mark.skipif(not ISOLATED, reason=ISOLATED_REASON)
def test_array_new_uses_the_calling_interpreters_type(consumer_path):
    # One table for the process; the Array type it creates is the calling interpreter's own.
    read, write = os.pipe()
    code = f"""
import importlib.machinery, importlib.util, os, sys
sys.path.insert(0, {os.path.dirname(rawcapi.__file__)!r})
import rawcapi
loader = importlib.machinery.ExtensionFileLoader("c_api_consumer", {consumer_path!r})
spec = importlib.util.spec_from_file_location("c_api_consumer", {consumer_path!r}, loader=loader)
consumer = importlib.util.module_from_spec(spec)
loader.exec_module(consumer)
a = consumer.make("int64", (2,))
os.write({write}, repr((type(a) is rawcapi.Array, id(rawcapi.Array), a.tolist(), consumer.total(b"ab"))).encode())
"""
    with Interpreter() as interp:
        interp.run(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        same_type, type_id, values, total = eval(pipe.read().decode())
    assert same_type and values == [0, 0] and total == ord("a") + ord("b")
    assert type_id != id(rawcapi.Array)  # another interpreter, another type object

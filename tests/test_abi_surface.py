"""What every build must do the same way: each interpreter of the version matrix, and the abi3 build.

The abi3 build replaces the PEP 393 macros, PyBytes_AS_STRING, Py_SIZE and tp_name with limited-API
calls (docs/08-abi.md); these tests pin the observable behaviour those replacements must keep,
against plain Python as the oracle. Both GIL paths are forced with _set_gil_release_threshold.
"""
import array

import pytest

import rawcapi

pytestmark = pytest.mark.quick

TEXTS = [
    "",
    "no newline",
    "a\nb\n",
    "\n" * 1000,
    "caf\xe9\n\xff\n",                      # Latin-1 storage
    "\u20ac\n\u4e2d\u6587\n\n",             # UCS-2 storage
    "\U0001f600\n\U0010ffff\n",              # UCS-4 storage
    "lone \ud800 surrogate\n\udfff\n",       # not encodable to UTF-8
    "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",  # str.splitlines() breaks; only \n counts
    ("x" * 97 + "\n") * 3000,                 # large: the GIL is released
    ("\u4e2d" * 50 + "\n") * 4000 + "\ud800",  # large, UCS-2, with a surrogate
]


@pytest.fixture(params=["gil held", "gil released"])
def threshold(request):
    old = rawcapi._set_gil_release_threshold(0 if request.param == "gil released" else 1 << 62)
    yield request.param
    rawcapi._set_gil_release_threshold(old)


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_count_lines_str_matches_str_count(text, threshold):
    assert rawcapi.count_lines(text) == text.count("\n")


def test_count_lines_str_subclass():
    class Text(str):
        pass

    assert rawcapi.count_lines(Text("a\nb\nc")) == 2


@pytest.mark.parametrize("make", [bytes, bytearray, lambda b: memoryview(b)[::-3], lambda b: array.array("B", b)])
def test_count_lines_bytes_like(make, threshold):
    data = bytes(range(256)) * 50 + b"\n\n"
    obj = make(data)
    assert rawcapi.count_lines(obj) == memoryview(obj).tobytes().count(b"\n")


@pytest.mark.parametrize("make", [bytes, bytearray, lambda b: memoryview(b)[1::2], lambda b: array.array("B", b)])
def test_fast_sum_matches_sum(make, threshold):
    data = bytes(range(256)) * 300
    obj = make(data)
    assert rawcapi.fast_sum(obj) == sum(memoryview(obj).tobytes())


def test_fast_sum_of_empty_bytes_is_zero():
    assert rawcapi.fast_sum(b"") == 0


@pytest.mark.parametrize("func", [rawcapi.fast_sum, rawcapi.count_lines])
def test_type_error_names_the_type(func):
    # The message carries the type's name: tp_name in the full API, PyType_GetName under abi3.
    class Custom:
        pass

    with pytest.raises(TypeError, match="'Custom'"):
        func(Custom())
    with pytest.raises(TypeError, match="'int'"):
        func(42)


def test_version_attribute():
    assert isinstance(rawcapi.__version__, str) and rawcapi.__version__.count(".") == 2

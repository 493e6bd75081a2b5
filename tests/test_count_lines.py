"""count_lines(text): text.count('\\n') for str, and the newline bytes of any buffer."""
import sys

import pytest

import rawcapi
from conftest import BASE, buffer_cases, plain_newlines

STRINGS = [
    "",
    "no newline",
    "\n",
    "a\nb\n\nc",
    "\n" * 1000,
    "caf\xe9\n" * 7,                      # Latin-1 (1 byte per character)
    "\u20ac\n\u010a\u0a00\n",            # UCS-2: U+010A and U+0A00 contain a byte 10 but are not '\n'
    "\U0001f600\n\U000a0a0a\n\U0010ffff",  # UCS-4
    "\ud800\n\udfff\n",                   # lone surrogates (cannot be encoded to UTF-8)
    "x" * 100_003 + "\n",
    ("line \u4e16\u754c\n" * 5000),
    ("\U0001f40d\n" * 30000),
]


@pytest.mark.parametrize("text", STRINGS, ids=range(len(STRINGS)))
def test_str_matches_str_count(text):
    assert rawcapi.count_lines(text) == text.count("\n")


def test_str_subclass():
    class S(str):
        pass

    assert rawcapi.count_lines(S("a\nb\n")) == 2


def test_large_str_every_kind():
    for ch in ("a", "\u0100", "\U00010000"):
        text = (ch * 63 + "\n") * (1 << 16)  # > 4 MiB of characters
        assert rawcapi.count_lines(text) == text.count("\n") == 1 << 16


def test_other_line_breaks_are_not_counted():
    text = "a\rb\r\nc\x0bd\x0ce\x1cf\u2028g\u2029h\x85"
    assert rawcapi.count_lines(text) == text.count("\n") == 1


CASES = buffer_cases()


@pytest.mark.parametrize("data", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_buffers_match_plain_python(data):
    assert rawcapi.count_lines(data) == plain_newlines(data)


def test_mmap(mmap_file):
    assert rawcapi.count_lines(mmap_file) == plain_newlines(mmap_file)


def test_64_mib():
    data = BASE * ((64 << 20) // len(BASE))
    assert rawcapi.count_lines(data) == data.count(b"\n")
    assert rawcapi.count_lines(bytearray(data)) == data.count(b"\n")
    view = memoryview(data)[::3]
    assert rawcapi.count_lines(view) == plain_newlines(view)


@pytest.mark.parametrize("bad", [None, 42, 1.5, ["a\n"], object()])
def test_other_types_raise_type_error(bad):
    name = type(bad).__name__
    with pytest.raises(TypeError, match=rf"^count_lines\(\) argument must be str or a bytes-like object, not '{name}'$"):
        rawcapi.count_lines(bad)


def test_refcount_of_argument_unchanged():
    text = "a\n" * 10
    data = bytearray(b"a\n" * 10)
    before = sys.getrefcount(text), sys.getrefcount(data)
    for _ in range(100):
        rawcapi.count_lines(text)
        rawcapi.count_lines(data)
    assert (sys.getrefcount(text), sys.getrefcount(data)) == before

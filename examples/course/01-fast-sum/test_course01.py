"""course01 against the article's C original, fast_sum, built by the same setup.py from
examples/fast_sum.c: same inputs, same results, same exceptions (type and message)."""
import array
import mmap

import pytest

import course01
import fast_sum as c_original


def plain_sum(data):
    return sum(memoryview(data).tobytes())


def outcome(func, *args, **kwargs):
    try:
        return ("ok", func(*args, **kwargs))
    except Exception as exc:
        return (type(exc), str(exc).replace("fast_sum", "NAME"))


def make_mmap():
    m = mmap.mmap(-1, 300)
    m.write(bytes(range(256)) + b"x" * 44)
    return m


ACCEPTED = {
    "bytes": lambda: b"hello world",
    "empty bytes": lambda: b"",
    "every byte value": lambda: bytes(range(256)) * 3,
    "bytearray": lambda: bytearray(b"\xff" * 1000),
    "empty bytearray": lambda: bytearray(),
    "memoryview": lambda: memoryview(b"abcdef"),
    "contiguous memoryview slice": lambda: memoryview(b"abcdefgh")[2:6],
    "memoryview cast to 2-D": lambda: memoryview(bytes(range(12))).cast("B", (3, 4)),
    "array('i')": lambda: array.array("i", [1, -1, 1 << 20, -(1 << 30)]),
    "array('d')": lambda: array.array("d", [1.5, -2.25, 1e300]),
    "mmap": make_mmap,
    "one megabyte": lambda: bytes(range(256)) * 4096,
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_same_sum_as_the_c_original_and_plain_python(name):
    data = ACCEPTED[name]()
    assert course01.fast_sum(data) == c_original.fast_sum(data) == plain_sum(data)


REFUSED = {
    "non-contiguous memoryview": lambda: ((memoryview(b"abcdef")[::2],), {}),
    "Fortran-order 2-D view": lambda: ((memoryview(bytes(12)).cast("B", (3, 4))[::-1],), {}),
    "str": lambda: (("abc",), {}),
    "int": lambda: ((3,), {}),
    "None": lambda: ((None,), {}),
    "list of ints": lambda: (([1, 2],), {}),
    "no argument": lambda: ((), {}),
    "two arguments": lambda: ((b"a", b"b"), {}),
    "keyword argument": lambda: ((), {"data": b"a"}),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_the_same_way_as_the_c_original(name):
    args, kwargs = REFUSED[name]()
    ours = outcome(course01.fast_sum, *args, **kwargs)
    theirs = outcome(c_original.fast_sum, *args, **kwargs)
    assert ours[0] != "ok" and issubclass(ours[0], Exception)
    assert ours == theirs


def test_a_refused_call_releases_nothing_it_did_not_take():
    """A refused non-contiguous buffer leaves no export behind: the bytearray can be resized
    again afterwards (an export still held would raise BufferError)."""
    data = bytearray(b"abcdef")
    view = memoryview(data)[::2]
    with pytest.raises(BufferError):
        course01.fast_sum(view)
    view.release()
    data.extend(b"more")  # fails with BufferError if an export leaked
    assert course01.fast_sum(data) == plain_sum(data)


def test_the_export_is_released_after_a_successful_call():
    data = bytearray(b"abc")
    assert course01.fast_sum(data) == plain_sum(data)
    data.extend(b"def")  # BufferError here would mean PyBuffer_Release was skipped
    assert course01.fast_sum(data) == plain_sum(data)


def test_module_name_and_docstrings():
    assert course01.__name__ == "course01"
    assert course01.__doc__ == "The article's fast_sum, in Rust."
    assert course01.fast_sum.__doc__ == c_original.fast_sum.__doc__
    assert course01.__spec__.origin.endswith(".so")

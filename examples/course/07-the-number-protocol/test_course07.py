"""course07 against plain Python: results on buffers of every layout (CPython's _testbuffer,
NumPy views), its own errors, caught panics, and reference ownership counted with
sys.getrefcount and tracemalloc."""
import array
import sys
import tracemalloc

import numpy as np
import pytest
from _testbuffer import ND_FORTRAN, ND_PIL, ndarray

import course07

INPUTS = [b"", b"hello world", bytes(range(256)) * 5, bytearray(b"\xff" * 999),
          memoryview(b"abcdefgh")[1:7], array.array("i", [1, -1, 1 << 20])]


def raw(data):
    return memoryview(data).tobytes()


@pytest.mark.parametrize("data", INPUTS, ids=range(len(INPUTS)))
def test_results_match_plain_python(data):
    assert course07.fast_sum(data) == sum(raw(data))
    assert course07.sum_and_len(data) == (sum(raw(data)), len(raw(data)))
    if raw(data):
        assert course07.mean(data) == sum(raw(data)) / len(raw(data))


def test_mean_of_an_empty_buffer_raises_its_own_valueerror():
    with pytest.raises(ValueError, match="^mean of an empty buffer$"):
        course07.mean(b"")


def test_the_error_path_releases_the_buffer():
    """mean() raises after taking the buffer: the bytearray must be resizable afterwards, and
    the exporter's reference count back where it was."""
    data = bytearray()
    before = sys.getrefcount(data)
    for _ in range(1000):
        with pytest.raises(ValueError):
            course07.mean(data)
    assert sys.getrefcount(data) == before
    data.extend(b"now resizable")  # BufferError if an export were still held


def layouts():
    """(name, exporter) pairs: every way a buffer can lay out its items."""
    nd = ndarray(list(range(24)), shape=[4, 6], format="B")
    pil = ndarray(list(range(24)), shape=[4, 6], format="B", flags=ND_PIL)
    a = np.arange(2 * 3 * 5, dtype=np.int32).reshape(2, 3, 5)
    return [
        ("C-contiguous 2-D", nd),
        ("strided, negative stride", nd[::2, ::-3]),
        ("rows reversed", nd[::-1]),
        ("suboffsets (PIL style)", ndarray(list(range(12)), shape=[3, 4], format="i", flags=ND_PIL)),
        ("suboffsets, reversed and strided", pil[::-1, 1::2]),
        ("Fortran order", ndarray(list(range(12)), shape=[3, 4], format="h", flags=ND_FORTRAN)),
        ("0-d", ndarray(7, shape=[], format="B")),
        ("empty 1-D", nd[0][3:3]),
        ("zero in the shape, with suboffsets", pil[:, 1:1]),
        ("memoryview step", memoryview(bytes(range(200)))[::3]),
        ("numpy transposed", a.T),
        ("numpy reversed and strided", a[::-1, ::2, ::-2]),
        ("numpy float64 column", np.linspace(0, 1, 35).reshape(7, 5)[:, 3]),
        ("numpy broadcast (stride 0)", np.broadcast_to(np.arange(4, dtype=np.uint8), (1000, 4))),
        ("numpy 0-d", np.array(123456789, dtype=np.int64)),
        ("numpy empty", np.zeros((3, 0, 2))),
    ]


@pytest.mark.parametrize("name, data", layouts(), ids=[n for n, _ in layouts()])
def test_every_layout_matches_tobytes(name, data):
    expected = sum(memoryview(data).tobytes())
    before = sys.getrefcount(data)
    assert course07.fast_sum(data) == expected
    assert course07.sum_and_len(data) == (expected, memoryview(data).nbytes)
    assert sys.getrefcount(data) == before  # each view released, its reference to data too


def test_layouts_include_what_y_star_refuses():
    """The control for the test above: step 01's "y*" refuses these layouts, so they exercise
    the strided and indirect walks, not a contiguous shortcut."""
    refused = 0
    for _, data in layouts():
        m = memoryview(data)
        if not m.c_contiguous or m.suboffsets:
            refused += 1
    assert refused >= 8


@pytest.mark.parametrize("func", [course07.fast_sum, course07.mean, course07.sum_and_len])
def test_argument_errors(func):
    with pytest.raises(TypeError, match="a bytes-like object is required, not 'str'"):
        func("str")
    with pytest.raises(TypeError, match="takes exactly one argument \\(0 given\\)"):
        func()
    with pytest.raises(TypeError, match="takes exactly one argument \\(2 given\\)"):
        func(b"a", b"b")


def test_pick_checks_its_argument_count():
    for args in [(), (1,), (1, 2), (1, 2, 3, 4)]:
        with pytest.raises(TypeError, match=f"^pick expected 3 arguments, got {len(args)}$"):
            course07.pick(*args)


def test_pick_passes_on_an_exception_from_bool():
    class Bad:
        def __bool__(self):
            raise ZeroDivisionError("no truth here")

    with pytest.raises(ZeroDivisionError, match="no truth here"):
        course07.pick(Bad(), 1, 2)


def test_a_panic_becomes_systemerror_and_the_module_carries_on():
    with pytest.raises(SystemError, match="^course07 panicked: boom$"):
        course07._panic("boom")
    with pytest.raises(SystemError, match="^course07 panicked: \u00e9t\u00e9$"):
        course07._panic("\u00e9t\u00e9")
    assert course07.fast_sum(b"hello world") == 1116


def test_a_panic_while_holding_a_buffer_releases_it():
    """Unwinding drops the Buffer, and its Drop releases the view: the exporter's reference
    count is back, and the bytearray can be resized."""
    data = bytearray(b"abc")
    before = sys.getrefcount(data)
    for _ in range(100):
        with pytest.raises(SystemError, match="^course07 panicked: holding a buffer$"):
            course07._panic_holding(data)
    assert sys.getrefcount(data) == before
    data.extend(b"def")  # BufferError if an export were still held


def test_pick_returns_the_argument_itself_with_a_reference_of_its_own():
    """A borrowed argument returned without Py_INCREF would lose one count per call (and be
    freed while still in use); one Py_INCREF too many would gain one per call."""
    yes, no = object(), object()
    before = sys.getrefcount(yes), sys.getrefcount(no)
    for i in range(1000):
        assert course07.pick(True, yes, no) is yes
        assert course07.pick(i < 0, yes, no) is no
        assert course07.pick([], yes, no) is no
    assert (sys.getrefcount(yes), sys.getrefcount(no)) == before


def test_pick_result_outlives_the_call():
    kept = course07.pick(1, [1, 2, 3] * 2, None)  # the list's only other owner was the tuple
    assert kept == [1, 2, 3, 1, 2, 3]
    assert sys.getrefcount(kept) == 2  # `kept` and getrefcount's own argument


def item_refcounts(t):
    return [sys.getrefcount(item) for item in t]


def test_sum_and_len_gives_each_reference_exactly_once():
    """The tuple and its items must each be owned once: the tuple by the caller, the items by
    the tuple. Compared with a tuple Python builds from fresh ints of the same values (big
    enough not to be cached small ints)."""
    result = course07.sum_and_len(bytes([200]) * 1000)
    oracle = (int("200000"), int("1000"))
    assert result == oracle
    assert sys.getrefcount(result) == sys.getrefcount(oracle) == 2
    assert item_refcounts(result) == item_refcounts(oracle)


def test_no_call_leaks_memory():
    """A leaked tuple or int would stay allocated: 20000 calls, one leak each, would leave
    megabytes traced. Run once first so that one-time allocations are not counted."""
    data = bytes([7]) * 5000
    def calls():
        for _ in range(20000):
            course07.sum_and_len(data)
            course07.mean(data)
            course07.fast_sum(data)
    calls()
    tracemalloc.start()
    try:
        calls()
        current, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert current < 20000 * 16  # well under one small object per call


def test_the_leak_check_sees_a_leak():
    """The control: the same measure over 20000 objects kept alive (what a leak looks like)."""
    tracemalloc.start()
    try:
        kept = [(i * 1000, i * 1000 + 1) for i in range(20000)]
        current, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert current >= 20000 * 16
    del kept

"""course02 against plain Python: results, its own errors, a caught panic, and reference
ownership counted with sys.getrefcount and tracemalloc."""
import array
import sys
import tracemalloc

import pytest

import course02

INPUTS = [b"", b"hello world", bytes(range(256)) * 5, bytearray(b"\xff" * 999),
          memoryview(b"abcdefgh")[1:7], array.array("i", [1, -1, 1 << 20])]


def raw(data):
    return memoryview(data).tobytes()


@pytest.mark.parametrize("data", INPUTS, ids=range(len(INPUTS)))
def test_results_match_plain_python(data):
    assert course02.fast_sum(data) == sum(raw(data))
    assert course02.sum_and_len(data) == (sum(raw(data)), len(raw(data)))
    if raw(data):
        assert course02.mean(data) == sum(raw(data)) / len(raw(data))


def test_mean_of_an_empty_buffer_raises_its_own_valueerror():
    with pytest.raises(ValueError, match="^mean of an empty buffer$"):
        course02.mean(b"")


def test_the_error_path_releases_the_buffer():
    """mean() raises after taking the buffer: the bytearray must be resizable afterwards, and
    the exporter's reference count back where it was."""
    data = bytearray()
    before = sys.getrefcount(data)
    for _ in range(1000):
        with pytest.raises(ValueError):
            course02.mean(data)
    assert sys.getrefcount(data) == before
    data.extend(b"now resizable")  # BufferError if an export were still held


@pytest.mark.parametrize("func", [course02.fast_sum, course02.mean, course02.sum_and_len])
def test_argument_errors_come_from_pyarg_parsetuple(func):
    with pytest.raises(TypeError):
        func("str")
    with pytest.raises(TypeError):
        func()
    with pytest.raises(BufferError):
        func(memoryview(b"abcd")[::2])


def test_a_panic_becomes_systemerror_and_the_module_carries_on():
    with pytest.raises(SystemError, match="^course02 panicked: boom$"):
        course02._panic("boom")
    with pytest.raises(SystemError, match="^course02 panicked: \u00e9t\u00e9$"):
        course02._panic("\u00e9t\u00e9")
    assert course02.fast_sum(b"hello world") == 1116


def test_pick_returns_the_argument_itself_with_a_reference_of_its_own():
    """A borrowed argument returned without Py_INCREF would lose one count per call (and be
    freed while still in use); one Py_INCREF too many would gain one per call."""
    yes, no = object(), object()
    before = sys.getrefcount(yes), sys.getrefcount(no)
    for i in range(1000):
        assert course02.pick(True, yes, no) is yes
        assert course02.pick(i < 0, yes, no) is no
        assert course02.pick([], yes, no) is no
    assert (sys.getrefcount(yes), sys.getrefcount(no)) == before


def test_pick_result_outlives_the_call():
    kept = course02.pick(1, [1, 2, 3] * 2, None)  # the list's only other owner was the tuple
    assert kept == [1, 2, 3, 1, 2, 3]
    assert sys.getrefcount(kept) == 2  # `kept` and getrefcount's own argument


def item_refcounts(t):
    return [sys.getrefcount(item) for item in t]


def test_sum_and_len_gives_each_reference_exactly_once():
    """The tuple and its items must each be owned once: the tuple by the caller, the items by
    the tuple. Compared with a tuple Python builds from fresh ints of the same values (big
    enough not to be cached small ints)."""
    result = course02.sum_and_len(bytes([200]) * 1000)
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
            course02.sum_and_len(data)
            course02.mean(data)
            course02.fast_sum(data)
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

"""matmul/fft as module functions: signatures, module state (plan cache), subinterpreters, limits."""
import inspect
import os

import numpy as np
import pytest

import interpreters_compat
import rawcapi

pytestmark = pytest.mark.quick


@pytest.mark.parametrize(
    "name, text",
    [("matmul", "(a, b, /, out=None)")] + [(f, "(a, n=None, axis=-1, norm=None, out=None)") for f in ("fft", "ifft", "rfft", "irfft")],
)
def test_signatures(name, text):
    assert str(inspect.signature(getattr(rawcapi, name))) == text


def test_many_lengths_past_the_plan_cache_bound():
    # More distinct lengths than the cache keeps (64): evicted plans are rebuilt, results stay right.
    rng = np.random.default_rng(3)
    for n in list(range(1, 90)) + list(range(1, 10)):
        x = rng.standard_normal(n) + 1j * rng.standard_normal(n)
        got = np.asarray(rawcapi.fft(x))
        assert np.allclose(got, np.fft.fft(x), rtol=1e-10, atol=1e-10), n


def test_results_that_cannot_be_allocated_are_memory_errors():
    with pytest.raises(MemoryError):
        rawcapi.matmul(np.broadcast_to(1.0, (1 << 22, 1)), np.broadcast_to(1.0, (1, 1 << 22)))
    with pytest.raises(MemoryError):
        rawcapi.fft(np.ones(3), n=1 << 42)
    with pytest.raises(MemoryError):
        rawcapi.matmul(np.broadcast_to(1.0, (1 << 40, 2, 2)), np.ones((2, 2)))


def test_each_subinterpreter_has_its_own_module_and_plan_cache():
    if not interpreters_compat.AVAILABLE:
        pytest.skip(interpreters_compat.REASON)
    code = f"""
import sys
sys.path.insert(0, {os.path.dirname(os.path.abspath(rawcapi.__file__))!r})
import rawcapi
r = rawcapi.fft([1, 2, 3, 4]).tolist()
assert r == [10, -2 + 2j, -2, -2 - 2j], r
m = rawcapi.matmul([[1, 2], [3, 4]], [[5], [6]]).tolist()
assert m == [[17], [39]], m
"""
    for _ in range(2):
        with interpreters_compat.Interpreter() as interp:
            interp.run(code)
    # The main interpreter's module (and its cache) is untouched.
    assert rawcapi.fft([1, 2, 3, 4]).tolist() == [10, -2 + 2j, -2, -2 - 2j]


def _witness_ticks_inside(call, repeat=4):
    """Count ticks of a Python witness thread that fall in the middle half of `call`: only a call
    that releases the GIL lets the witness run there (as in test_module.py's scan test)."""
    import threading
    import time

    ticks, windows = [], []
    stop = threading.Event()

    def witness():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0)

    t = threading.Thread(target=witness)
    t.start()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            call()
            end = time.perf_counter()
            quarter = (end - start) / 4
            windows.append((start + quarter, end - quarter))
    finally:
        stop.set()
        t.join()
    return sum(1 for tick in ticks for lo, hi in windows if lo < tick < hi)


def test_gil_is_released_during_matmul_and_fft():
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((1200, 1200)), rng.standard_normal((1200, 1200))
    x = rng.standard_normal((64, 1 << 14)) + 0j
    # One kernel thread, so a CPU is left for the witness: with every CPU computing, whether the
    # witness is scheduled inside a few-millisecond call is up to the OS (it once was not, in
    # 4 tries), and that is not what this test is about.
    previous = rawcapi.get_num_threads()
    rawcapi.set_num_threads(1)
    try:
        assert _witness_ticks_inside(lambda: rawcapi.matmul(a, b)) > 0
        assert _witness_ticks_inside(lambda: rawcapi.fft(x)) > 0
    finally:
        rawcapi.set_num_threads(previous)


"""Item 3: property-based tests. Hypothesis generates buffers (every struct format, 0-4
dimensions, negative and zero strides, suboffsets, Fortran order, misaligned starts) and strings
(every PEP 393 kind, every code-point range, lone surrogates), and each function must agree with
its plain-Python oracle — on every SIMD path the CPU has, with the GIL held and released, on
one thread and split across three.

The SIMD paths come from rawcapi's private `_simd_paths()` / `_set_simd_path()` when the module
has them (the speed work); until then the one default path is tested.
"""
import struct

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import rawcapi
from callables import count_lines_oracle, sum_oracle

tb = pytest.importorskip("_testbuffer")

PATHS = tuple(rawcapi._simd_paths()) if hasattr(rawcapi, "_simd_paths") else ("default",)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(params=PATHS)
def simd_path(request):
    """Force one SIMD path for the test, restore the previous one after."""
    if request.param == "default":
        yield request.param
        return
    previous = rawcapi._set_simd_path(request.param)
    try:
        yield request.param
    finally:
        rawcapi._set_simd_path(previous)


@pytest.fixture(params=["one-thread", "split-3-ways"])
def threads(request):
    """Split even tiny inputs across 3 threads (when the module has multi-threaded kernels), so
    every piece boundary the splitting can produce meets the generated layouts."""
    if request.param == "one-thread" or not hasattr(rawcapi, "set_num_threads"):
        yield request.param
        return
    previous_n, previous_min = rawcapi.get_num_threads(), rawcapi._set_parallel_threshold(1)
    rawcapi.set_num_threads(3)
    try:
        yield request.param
    finally:
        rawcapi.set_num_threads(previous_n)
        rawcapi._set_parallel_threshold(previous_min)


@pytest.fixture(params=["gil-held", "gil-released"])
def gil_mode(request):
    """Threshold 0 releases the GIL for every input, so both code paths see every example."""
    threshold = 1 << 62 if request.param == "gil-held" else 0
    previous = rawcapi._set_gil_release_threshold(threshold)
    try:
        yield request.param
    finally:
        rawcapi._set_gil_release_threshold(previous)


# Every native struct format code, and some with an explicit byte order or standard size.
FORMATS = list("bBhHiIlLqQnNefd?cP") + ["<i", ">q", "=h", "!d", "<e", ">H", "@Q"]


def _items(fmt: str, raw: bytes):
    """Values of format `fmt` read from raw bytes: every bit pattern the format can hold."""
    size = struct.calcsize(fmt)
    count = len(raw) // size
    return [v[0] for v in struct.iter_unpack(fmt, raw[: count * size])]


@st.composite
def sliced_ndarrays(draw):
    """A C, Fortran or PIL-style (suboffsets) ndarray of 0-4 dimensions, then sliced with random
    starts and steps (negative included) in every dimension."""
    fmt = draw(st.sampled_from(FORMATS))
    ndim = draw(st.integers(0, 4))
    shape = draw(st.lists(st.integers(0 if ndim else 1, 5), min_size=ndim, max_size=ndim))
    n = 1
    for s in shape:
        n *= s
    size = struct.calcsize(fmt)
    raw = draw(st.binary(min_size=n * size, max_size=n * size))
    items = _items(fmt, raw)
    flags = draw(st.sampled_from([0, tb.ND_FORTRAN, tb.ND_PIL])) if ndim else 0
    if n == 0:
        if ndim == 0:
            return tb.ndarray(0, shape=[], format="B")
        # _testbuffer refuses an empty item list; make a non-empty base and slice to empty.
        base_shape = [max(s, 1) for s in shape]
        m = 1
        for s in base_shape:
            m *= s
        base = tb.ndarray(_items(fmt, bytes(m * size)), shape=base_shape, format=fmt, flags=flags)
        return base[tuple(slice(0, s) for s in shape)] if ndim > 1 else base[0 : shape[0]]
    if ndim == 0:
        return tb.ndarray(items[0], shape=[], format=fmt)
    base = tb.ndarray(items, shape=shape, format=fmt, flags=flags)
    slices = []
    for s in shape:
        step = draw(st.sampled_from([1, 2, 3, -1, -2]))
        start = draw(st.integers(0, s - 1)) if step > 0 else draw(st.integers(0, s - 1))
        slices.append(slice(start, None, step))
    if ndim == 1:
        return base[slices[0]]
    return base[tuple(slices)]


@st.composite
def strided_ndarrays(draw):
    """Explicit strides: zero (broadcast), negative and gappy, over a base just large enough."""
    fmt = draw(st.sampled_from(FORMATS))
    size = struct.calcsize(fmt)
    ndim = draw(st.integers(1, 4))
    shape = draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim))
    steps = draw(st.lists(st.integers(-3, 3), min_size=ndim, max_size=ndim))
    strides = [k * size for k in steps]
    low = sum(min(0, st_ * (n - 1)) for st_, n in zip(strides, shape))
    high = sum(max(0, st_ * (n - 1)) for st_, n in zip(strides, shape))
    nbytes = high - low + size
    raw = draw(st.binary(min_size=nbytes, max_size=nbytes))
    return tb.ndarray(_items(fmt, raw), shape=shape, strides=strides, offset=-low, format=fmt)


@st.composite
def contiguous_bytes(draw):
    """Plain bytes-likes of lengths around the vector widths, at every misalignment."""
    raw = draw(st.binary(min_size=0, max_size=700))
    start = draw(st.integers(0, 63))
    kind = draw(st.sampled_from(["bytes", "bytearray", "memoryview-slice"]))
    padded = bytes(start) + raw
    if kind == "bytes":
        return raw
    if kind == "bytearray":
        return bytearray(raw)
    return memoryview(padded)[start:]


BUFFERS = st.one_of(sliced_ndarrays(), strided_ndarrays(), contiguous_bytes())


def describe(data):
    """What a failing example was: enough to rebuild it by hand."""
    m = memoryview(data)
    note(f"{type(data).__name__} format={m.format!r} itemsize={m.itemsize} shape={m.shape} strides={m.strides} "
         f"suboffsets={m.suboffsets} bytes={m.tobytes()!r}")


def _text(max_codepoint):
    # chr() over integers includes the surrogates U+D800..U+DFFF, which st.characters() leaves out.
    code_points = st.one_of(st.just(10), st.integers(0, max_codepoint))
    return st.lists(code_points, max_size=300).map(lambda cps: "".join(map(chr, cps)))


TEXTS = st.one_of(_text(0x7F), _text(0xFF), _text(0xFFFF), _text(0x10FFFF), st.text(max_size=200))


@SETTINGS
@given(data=BUFFERS)
def test_fast_sum_matches_plain_python(simd_path, gil_mode, threads, data):
    describe(data)
    assert rawcapi.fast_sum(data) == sum_oracle(data)


@SETTINGS
@given(data=BUFFERS)
def test_count_lines_on_buffers_matches_plain_python(simd_path, gil_mode, threads, data):
    describe(data)
    assert rawcapi.count_lines(data) == count_lines_oracle(data)


@SETTINGS
@given(text=TEXTS)
def test_count_lines_on_str_matches_str_count(simd_path, gil_mode, threads, text):
    assert rawcapi.count_lines(text) == text.count("\n")


@SETTINGS
@given(n=st.integers(0, 200_000), byte=st.integers(0, 255))
def test_long_uniform_runs(simd_path, threads, n, byte):
    # Long inputs cross every block boundary of the kernels (and the threaded split, if any).
    data = bytes([byte]) * n
    assert rawcapi.fast_sum(data) == byte * n
    assert rawcapi.count_lines(data) == (n if byte == 10 else 0)
    text = chr(byte) * n
    assert rawcapi.count_lines(text) == (n if byte == 10 else 0)

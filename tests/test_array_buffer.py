"""The Array's buffer export, checked the way CPython checks its own exporters.

The oracle for the request flags is CPython's reference exporter, `_testbuffer.ndarray`: it
re-exports the Array's full buffer (same memory, shape, strides, format) and then answers any
request by its own `ndarray_getbuf` rules. For every flag combination the Array must succeed or
refuse exactly when `_testbuffer` does, and describe the memory identically when it succeeds."""
import ctypes
import itertools
import sys

import numpy as np
import pytest
from hypothesis import given, settings

import rawcapi
from array_strategies import strided_arrays

tb = pytest.importorskip("_testbuffer")
Array = rawcapi.Array

BASE_REQUESTS = [tb.PyBUF_SIMPLE, tb.PyBUF_ND, tb.PyBUF_STRIDES, tb.PyBUF_C_CONTIGUOUS,
                 tb.PyBUF_F_CONTIGUOUS, tb.PyBUF_ANY_CONTIGUOUS, tb.PyBUF_INDIRECT]
ALL_FLAGS = [base | w | f for base, w, f in itertools.product(BASE_REQUESTS, [0, tb.PyBUF_WRITABLE], [0, tb.PyBUF_FORMAT])]


def described(exporter, flags):
    """What a consumer asking with `flags` sees, or the exception type it gets."""
    try:
        nd = tb.ndarray(exporter, getbuf=flags)
    except Exception as e:  # noqa: BLE001 - the type is the observation
        return type(e)
    return (nd.ndim, nd.shape, nd.strides, nd.suboffsets, nd.format, nd.itemsize, nd.nbytes,
            nd.readonly, nd.c_contiguous, nd.f_contiguous, nd.contiguous, nd.tobytes())


def layouts():
    a = Array(np.arange(24, dtype=np.float64).reshape(2, 3, 4))
    yield a
    yield a.T
    yield a[:, ::-1]
    yield a[..., ::2]
    yield a[0]
    yield a[0, 0, 0:1]
    yield a[1, 2, 3, None][...]
    yield Array(7, dtype="int32")
    yield rawcapi.zeros((0, 3), dtype="complex128")
    yield rawcapi.zeros((3, 1), dtype="bool")[:, ::-1]
    yield Array.frombuffer(b"abcdef")
    yield Array.frombuffer(b"abcdef")[::-2]
    yield Array(np.arange(6, dtype=np.int32).reshape(2, 3).T.copy().T)  # Fortran order


@pytest.mark.parametrize("flags", ALL_FLAGS)
def test_every_request_flag_combination_matches_testbuffer(flags):
    for a in layouts():
        reference = tb.ndarray(a, getbuf=tb.PyBUF_FULL_RO if not a.writable else tb.PyBUF_FULL)
        assert described(a, flags) == described(reference, flags), (repr(a), a.strides, flags)


@settings(max_examples=100, deadline=None)
@given(strided_arrays())
def test_every_request_flag_on_generated_layouts(x):
    a = Array.frombuffer(x)  # x's layout: negative, zero, gappy strides, read-only or not
    reference = tb.ndarray(a, getbuf=tb.PyBUF_FULL_RO if not a.writable else tb.PyBUF_FULL)
    for flags in ALL_FLAGS:
        assert described(a, flags) == described(reference, flags), (a.strides, flags)


def test_refusals_are_buffererror_with_reasons():
    a = Array(np.arange(6.0).reshape(2, 3))
    with pytest.raises(BufferError, match="not C-contiguous"):
        tb.ndarray(a.T, getbuf=tb.PyBUF_C_CONTIGUOUS)
    with pytest.raises(BufferError, match="not Fortran contiguous"):
        tb.ndarray(a, getbuf=tb.PyBUF_F_CONTIGUOUS)
    with pytest.raises(BufferError, match="not contiguous"):
        tb.ndarray(a[:, ::2], getbuf=tb.PyBUF_ANY_CONTIGUOUS)
    with pytest.raises(BufferError, match="did not ask for strides"):
        tb.ndarray(a.T, getbuf=tb.PyBUF_ND)
    with pytest.raises(BufferError, match="not writable"):
        tb.ndarray(Array.frombuffer(b"xy"), getbuf=tb.PyBUF_WRITABLE)
    with pytest.raises(BufferError, match="format flag"):
        tb.ndarray(a, getbuf=tb.PyBUF_SIMPLE | tb.PyBUF_FORMAT)


@settings(max_examples=300, deadline=None)
@given(strided_arrays())
def test_memoryview_fields_equal_numpys_for_the_same_layout(x):
    a = Array.frombuffer(x)  # a zero-copy view with x's exact layout
    m, n = memoryview(a), memoryview(x)
    for field in ("format", "itemsize", "ndim", "shape", "strides", "readonly", "nbytes",
                  "c_contiguous", "f_contiguous", "contiguous", "suboffsets"):
        assert getattr(m, field) == getattr(n, field), field
    assert m.tobytes() == n.tobytes() == x.tobytes()
    assert bytes(a) == x.tobytes()
    assert m.obj is a
    if x.dtype.kind != "c":  # memoryview.tolist() cannot unpack 'Zd'
        assert repr(m.tolist()) == repr(n.tolist())


@settings(max_examples=200, deadline=None)
@given(strided_arrays())
def test_numpy_asarray_round_trip_shares_memory(x):
    a = Array(x)
    n = np.asarray(a)
    assert n.dtype == x.dtype and n.shape == x.shape
    assert n.tobytes() == x.tobytes()
    if a.size:
        assert np.shares_memory(n, np.asarray(a))
    back = Array(n)
    assert bytes(back) == bytes(a)
    # And views of the Array export their own layout, still in the Array's memory.
    if a.ndim and a.size:
        v = a[::-1]
        nv = np.asarray(v)
        assert nv.strides == v.strides and np.shares_memory(nv, n)


def test_writes_through_numpy_are_seen_by_the_array():
    a = rawcapi.zeros((2, 3), dtype="int32")
    n = np.asarray(a)
    n[1, :] = [7, 8, 9]
    assert a.tolist() == [[0, 0, 0], [7, 8, 9]]
    a[0, 0] = 5
    assert n[0, 0] == 5
    t = np.asarray(a.T)
    t[2, 0] = -1
    assert a[0, 2] == -1


def test_export_keeps_the_array_alive_and_counts():
    a = rawcapi.arange(6.0)
    m = memoryview(a)
    r = sys.getrefcount(a)
    m2 = memoryview(a)
    assert sys.getrefcount(a) == r + 1  # view->obj is a new reference
    m2.release()
    assert sys.getrefcount(a) == r
    del a
    assert m.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # the memory lives on through m.obj
    a = m.obj
    with pytest.raises(BufferError, match="exported"):
        a.shape = (2, 3)
    m.release()
    a.shape = (2, 3)
    assert a.shape == (2, 3) and a.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    with pytest.raises(AttributeError, match="Incompatible shape"):
        a.T.shape = (6,)
    with pytest.raises(ValueError, match="cannot reshape array of size 6 into shape"):
        a.shape = (4,)


def test_other_consumers():
    a = Array(np.arange(5, dtype=np.float64))
    c = (ctypes.c_double * 5).from_buffer(a)  # asks for a writable C-contiguous buffer
    c[0] = 42.0
    assert a[0] == 42.0
    del c
    with pytest.raises(TypeError):
        (ctypes.c_ubyte * 2).from_buffer(Array.frombuffer(b"ab"))
    assert rawcapi.fast_sum(a[::-1]) == sum(bytes(a))
    assert rawcapi.fast_sum(Array.frombuffer(b"\x01\x02\x03")) == 6


def test_export_formats():
    expected = {"bool": "?", "uint8": "B", "int32": "i", "int64": np.dtype("int64").char,
                "float32": "f", "float64": "d", "complex128": "Zd"}
    for dtype, fmt in expected.items():
        assert memoryview(rawcapi.zeros(2, dtype=dtype)).format == fmt
        assert memoryview(np.zeros(2, dtype=dtype)).format == fmt


def _readonly_numpy():
    x = np.arange(4.0)
    x.flags.writeable = False
    return x


@pytest.mark.parametrize(
    "make,writable",
    [
        (lambda: bytearray(b"abcd"), True),
        (lambda: b"abcd", False),
        (lambda: memoryview(bytearray(b"abcd")), True),
        (lambda: memoryview(bytearray(b"abcd")).toreadonly(), False),
        (lambda: np.arange(4.0), True),
        (_readonly_numpy, False),  # refuses a writable request with ValueError, not BufferError
        (lambda: tb.ndarray(list(range(4)), shape=[4], format="B"), False),
        (lambda: tb.ndarray(list(range(4)), shape=[4], format="B", flags=tb.ND_WRITABLE), True),
    ],
    ids=["bytearray", "bytes", "memoryview", "readonly-memoryview", "numpy", "readonly-numpy", "testbuffer-ro", "testbuffer-rw"],
)
def test_frombuffer_is_writable_exactly_when_the_exporter_is(make, writable):
    x = make()
    a = Array.frombuffer(x)
    assert a.writable is writable
    assert a.writable is not memoryview(x).readonly  # the oracle: CPython's own consumer
    if writable:
        a[0] = 1
        assert memoryview(x).cast("B")[0] == 1 or np.asarray(x).ravel()[0] == 1
    else:
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 1

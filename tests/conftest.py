"""Shared pieces of the pytest suite: the modules under test and the inputs they are fed.

The suite imports the *built* extension: `python setup.py build_ext --inplace` puts
rawcapi.*.so (and the C original fast_sum.*.so) in the repository root, which `python -m pytest`
puts on sys.path; after `pip install .` the installed rawcapi is found instead.
"""
import array
import mmap
import os
import sys

import pytest

import rawcapi

try:
    import fast_sum as c_original  # the article's C extension, built by build_ext
except ImportError:  # pip-installed rawcapi alone
    c_original = None

try:
    import numpy as np
except ImportError:
    np = None

try:
    import _testbuffer  # CPython's buffer-protocol test exporter (ships with the interpreter)
except ImportError:
    _testbuffer = None


def plain_sum(data):
    """The definition fast_sum must meet, in plain Python."""
    return sum(memoryview(data).tobytes())


def plain_newlines(data):
    """The definition count_lines must meet for bytes-like input, in plain Python."""
    return memoryview(data).tobytes().count(b"\n")


def _pattern(n, seed=1):
    """n bytes that are not all alike and contain newlines (deterministic)."""
    out = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = 10 if x % 17 == 0 else (x >> 16) & 0xFF
    return bytes(out)


BASE = _pattern(4099)


def buffer_cases():
    """(id, object) pairs covering every kind of exporter and layout fast_sum must take."""
    cases = [
        ("bytes", BASE),
        ("bytes-empty", b""),
        ("bytearray", bytearray(BASE)),
        ("memoryview", memoryview(BASE)),
        ("memoryview-step2", memoryview(BASE)[::2]),
        ("memoryview-reversed", memoryview(BASE)[::-1]),
        ("memoryview-step-3", memoryview(BASE)[-5::-3]),
        ("memoryview-empty-slice", memoryview(BASE)[10:10]),
        ("memoryview-cast-2d", memoryview(BASE[:4096]).cast("B", (64, 64))),
        ("memoryview-cast-3d-int", memoryview(BASE[:4096]).cast("i", (4, 16, 16))),
        ("memoryview-cast-0d", memoryview(BASE[:8]).cast("q", ())),
    ]
    for code in array.typecodes:
        item = array.array(code).itemsize
        n = len(BASE) // item
        cases.append((f"array-{code}", array.array(code, BASE[: n * item])))
    if np is not None:
        a = np.frombuffer(BASE[:4096], dtype=np.uint8).reshape(64, 64)
        f = np.asfortranarray(a)
        d = np.frombuffer(BASE[:4096], dtype=np.float64).reshape(16, 32)
        cases += [
            ("numpy-c", a),
            ("numpy-fortran", f),
            ("numpy-transposed", a.T),
            ("numpy-sliced", a[3:50:3, 60:1:-7]),
            ("numpy-reversed-2d", a[::-1, ::-1]),
            ("numpy-float64-strided", d[:, ::3]),
            ("numpy-zero-stride", np.lib.stride_tricks.as_strided(a[0], shape=(1000, 64), strides=(0, 1))),
            ("numpy-0d", np.array(1234567.25)),
            ("numpy-empty-2d", np.zeros((0, 5), dtype=np.int32)),
            ("numpy-bool", a > 100),
            ("numpy-complex", d.astype(np.complex128)[::2, 1::5]),
        ]
    if _testbuffer is not None:
        t = _testbuffer
        items = list(BASE[:60])
        cases += [
            ("pil-suboffsets", t.ndarray(items, shape=[6, 10], format="B", flags=t.ND_PIL)),
            ("pil-suboffsets-sliced", t.ndarray(items, shape=[6, 10], format="B", flags=t.ND_PIL)[::-2, 1::3]),
            ("testbuffer-fortran", t.ndarray(items, shape=[6, 10], format="B", flags=t.ND_FORTRAN)),
        ]
    return cases


@pytest.fixture
def mmap_file(tmp_path):
    """An mmap.mmap over a file with known contents (closed after the test)."""
    path = tmp_path / "data.bin"
    path.write_bytes(BASE * 16)
    with open(path, "rb") as fh:
        m = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        yield m
        m.close()

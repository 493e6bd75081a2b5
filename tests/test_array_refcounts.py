"""Reference counts and memory: every path (errors included) gives back what it took.

Run under Debian's debug interpreter, whose `sys.gettotalrefcount()` counts every live
reference in the process: repeating an operation many times must not make it grow. The module
must be compiled *for* that interpreter (pyo3-ffi then spells Py_INCREF/Py_DECREF with the
`_Py_RefTotal` bookkeeping, cfg `Py_REF_DEBUG`): the release build loads there too, but its
inline refcount operations are invisible to the total, which then drifts by one per inline
DECREF. So the test builds a second copy with `PYO3_PYTHON=python3.11-dbg` (a few seconds; cached
in target/dbg). NumPy is not installed there, so the workload uses only Python objects."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import rawcapi

HERE = os.path.dirname(os.path.abspath(rawcapi.__file__))

WORKLOAD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, ROOT)
    import rawcapi
    Array = rawcapi.Array

    def expect(exc, f, *args):
        try:
            f(*args)
        except exc:
            return
        raise AssertionError(f"{f} did not raise {exc}")

    def once():
        a = Array([[1, 2, 3], [4, 5, 6]])
        b = Array([[1.5, 2.5]], dtype="float32")
        c = Array(bytes(range(10)))
        buf = bytearray(16)
        f = Array.frombuffer(buf)
        f[::2] = 7
        v = a[:, ::-1]
        v2 = v.T[1:]
        a[0] = Array([9, 8, 7])
        a[1, ...] = 3
        a[:, 1] = [0, 0]
        s = a.sum() + a.sum(axis=0).sum() + a.reshape(3, 2).sum() + a.T.reshape(6).sum()
        t = a.tolist(), b.tolist(), repr(a), repr(rawcapi.arange(2000)), b.astype("complex128").tolist()
        m = memoryview(v2)
        m.tobytes()
        m.release()
        z = rawcapi.zeros((3, 2), dtype="bool")
        r = rawcapi.arange(0.0, 1.0, 0.1)
        it = list(a) + list(r)
        x = Array(3.0)
        w = Array(a)
        a.shape = (6,)
        a.shape = (2, 3)
        expect(IndexError, lambda: a[5])
        expect(IndexError, lambda: a[1, 2, 3])
        expect(ValueError, Array, [[1, 2], [3]])
        expect(TypeError, Array, ["x"])
        expect(TypeError, Array, memoryview(b"ab").cast("B").cast("c"))
        expect(OverflowError, Array, [2 ** 70])
        expect(ValueError, rawcapi.zeros, (2 ** 62, 4))
        expect(MemoryError, rawcapi.zeros, 2 ** 60 - 1)
        expect(ValueError, a.__setitem__, slice(None), Array([1, 2]))
        expect(ValueError, Array.frombuffer(b"ab").__setitem__, 0, 1)
        expect(ValueError, a.reshape, 4)
        expect(ValueError, a.sum, 5)
        expect(TypeError, rawcapi.arange, "x")
        m = memoryview(a)
        expect(BufferError, setattr, a, "shape", (6,))
        m.release()
        return s, t, z, it, x, w

    for _ in range(50):   # warm caches (interned strings, type attribute cache...)
        once()
    before = sys.gettotalrefcount()
    for _ in range(500):
        once()
    after = sys.gettotalrefcount()
    print(after - before)
    """
)


@pytest.mark.skipif(shutil.which("python3.11-dbg") is None or sys.version_info[:2] != (3, 11),
                    reason="needs Debian's python3.11-dbg (refcount totals)")
def test_no_reference_leaks_under_debug_interpreter(tmp_path):
    if shutil.which("cargo") is None:
        pytest.skip("needs cargo to build the debug-interpreter copy")
    env = dict(os.environ, PYO3_PYTHON=shutil.which("python3.11-dbg"), PYO3_BUILD_EXTENSION_MODULE="1")
    build = subprocess.run(["cargo", "build", "--release", "--target-dir", "target/dbg"], cwd=HERE, env=env,
                           capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stderr
    shutil.copy(os.path.join(HERE, "target/dbg/release/librawcapi.so"), tmp_path / "rawcapi.cpython-311d-x86_64-linux-gnu.so")
    code = WORKLOAD.replace("ROOT", repr(str(tmp_path)))
    out = subprocess.run(["python3.11-dbg", "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    growth = int(out.stdout.strip().splitlines()[-1])
    # A leak on any path would grow the total by at least 500; a few counts of slack absorb the
    # interpreter's own caches (type attribute cache, free lists) settling.
    assert abs(growth) < 20, f"total refcount grew by {growth} over 500 rounds"


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_allocations_are_freed():
    # 60 rounds of 8 MB, touched: leaking them would add ~480 MB of resident memory.
    for _ in range(5):
        rawcapi.zeros(1_000_000)[...] = 1.0
    start = rss_bytes()
    for _ in range(60):
        a = rawcapi.zeros(1_000_000)
        a[...] = 1.0
        b = a[::2].copy()
        c = Array_view = a.reshape(1000, 1000).T.copy()  # noqa: F841
        del a, b, c, Array_view
    assert rss_bytes() - start < 100 * 2**20

"""Every public name of rawcapi, used with static types: `mypy --strict examples/typed_usage.py`
checks this file against the stubs that ship with rawcapi (stubs/rawcapi-stubs, PEP 561), and
tests/test_stubs.py runs it. Also a runnable tour: python examples/typed_usage.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # an in-place build
import rawcapi  # noqa: E402


def newline_report(text: str, data: bytes) -> tuple[int, int, int]:
    return rawcapi.count_lines(text), rawcapi.count_lines(data), rawcapi.fast_sum(data)


def threads_roundtrip(n: int) -> int:
    old = rawcapi.get_num_threads()
    rawcapi.set_num_threads(n)
    try:
        return rawcapi.get_num_threads()
    finally:
        rawcapi.set_num_threads(old)


def arrays() -> list[object]:
    a = rawcapi.Array([[1.0, 2.0], [3.0, 4.0]], dtype="float64")
    b = rawcapi.zeros((2, 3), dtype="int32")
    c = rawcapi.arange(5)
    d = rawcapi.arange(0.0, 1.0, 0.25, dtype="float32")
    view = rawcapi.Array.frombuffer(bytearray(8))
    shape: tuple[int, ...] = a.shape
    total = a.sum()
    columns: rawcapi.Array = a.sum(axis=0)
    first = a[0]
    a[0, 0] = 9.5
    b.shape = (3, 2)
    return [
        shape, a.strides, a.ndim, a.size, a.itemsize, a.nbytes, a.dtype, a.base, a.writable,
        a.c_contiguous, a.T.shape, a.astype("int64").tolist(), a.copy().tolist(), a.reshape(4).shape,
        a.reshape((1, 4)).shape, total, columns.tolist(), first, len(b), c.tolist(), d.tolist(),
        view.nbytes, bytes(memoryview(b)), rawcapi.__version__, rawcapi.get_include(),
    ]


if __name__ == "__main__":
    print(newline_report("a\nb\n", b"\n\x01"), threads_roundtrip(2))
    for value in arrays():
        print(value)

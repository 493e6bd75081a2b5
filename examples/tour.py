"""A tour of rawcapi: each function, what it returns, and how fast it is beside pure Python
and the article's C original (examples/fast_sum.c, built by `setup.py build_ext --inplace`).

    scripts/tour            # sets up .venv, builds, runs this
    python examples/tour.py # after a build

Timings: one process, candidates interleaved round by round, median per call with the
interquartile spread (examples/timing.py).
"""
import array
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # timing.py; an in-place build in the repository root

import rawcapi  # noqa: E402
from timing import compare, fmt_time, report  # noqa: E402

try:
    import fast_sum as c_original
except ImportError:
    c_original = None


def section(title):
    print(f"\n{'=' * 78}\n{title}\n{'=' * 78}")


def py_sum(data):
    """The article's loop, in Python."""
    total = 0
    for byte in memoryview(data).tobytes():
        total += byte
    return total


def py_count_lines(text):
    """The article's Rust count_lines, in Python."""
    count = 0
    for ch in text:
        if ch == "\n":
            count += 1
    return count


def main():
    print(f"rawcapi {rawcapi.__version__} on Python {sys.version.split()[0]}")
    print(rawcapi.__doc__)

    section("fast_sum(data): the sum of the bytes of any buffer")
    print(f"rawcapi.fast_sum(b'hello world')  = {rawcapi.fast_sum(b'hello world')}")
    if c_original:
        print(f"fast_sum.fast_sum(b'hello world') = {c_original.fast_sum(b'hello world')}   (the C original)")
    data = bytes(range(256)) * 16
    examples = {
        "bytearray(data)": bytearray(data),
        "memoryview(data)[::-3]  (negative stride)": memoryview(data)[::-3],
        "memoryview(data).cast('i', (32, 32))": memoryview(data).cast("i", (32, 32)),
        "array.array('d', [0.5, 1.5, 2.5])": array.array("d", [0.5, 1.5, 2.5]),
    }
    for label, obj in examples.items():
        print(f"fast_sum({label}) = {rawcapi.fast_sum(obj)}   sum(memoryview(...).tobytes()) = {sum(memoryview(obj).tobytes())}")
    try:
        rawcapi.fast_sum("a str")
    except TypeError as exc:
        print(f"fast_sum('a str') -> TypeError: {exc}")

    hello = b"hello world"
    candidates = {"pure Python loop": lambda: py_sum(hello), "rawcapi.fast_sum": lambda: rawcapi.fast_sum(hello)}
    if c_original:
        candidates["C original fast_sum"] = lambda: c_original.fast_sum(hello)
    report("Per call, b'hello world':", compare(candidates), baseline="C original fast_sum" if c_original else "pure Python loop")

    mib = bytes(range(256)) * 4096  # 1 MiB
    candidates = {
        "pure Python loop": lambda: py_sum(mib),
        "builtin sum(data)": lambda: sum(mib),
        "rawcapi.fast_sum": lambda: rawcapi.fast_sum(mib),
    }
    if c_original:
        candidates["C original fast_sum"] = lambda: c_original.fast_sum(mib)
    report("1 MiB:", compare(candidates, rounds=7), baseline="builtin sum(data)", nbytes=len(mib))

    section("count_lines(text): the number of '\\n' in a str or bytes-like object")
    text = "Python is the orchestrator,\nC is the engine.\n\u4e16\u754c\n\U0001f40d\n"
    print(f"count_lines({text!r}) = {rawcapi.count_lines(text)}   (str.count: {text.count(chr(10))})")
    print(f"count_lines('\\ud800\\n')   = {rawcapi.count_lines(chr(0xD800) + chr(10))}   (a lone surrogate: no encoding needed)")
    print(f"count_lines(b'a\\nb\\n')     = {rawcapi.count_lines(b'a' + bytes([10]) + b'b' + bytes([10]))}")
    big = ("line with caf\u00e9 \u20ac\n" * 60000)
    report(
        f"A str of {len(big):,} characters (UCS-2):",
        compare({
            "pure Python loop": lambda: py_count_lines(big),
            "str.count('\\n')": lambda: big.count("\n"),
            "rawcapi.count_lines": lambda: rawcapi.count_lines(big),
        }, rounds=7),
        baseline="str.count('\\n')",
    )

    section("The GIL is released while large inputs are scanned")
    bufs = [bytes(range(256)) * (256 << 10) for _ in range(2)]  # two 64 MiB buffers

    def sequential():
        for b in bufs:
            rawcapi.fast_sum(b)

    def two_threads():
        threads = [threading.Thread(target=rawcapi.fast_sum, args=(b,)) for b in bufs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    # One kernel thread per call, so any parallelism comes from the Python threads themselves.
    old = rawcapi.get_num_threads()
    rawcapi.set_num_threads(1)
    try:
        stats = compare({"one thread, two scans": sequential, "two Python threads": two_threads}, rounds=7, target_s=0.05)
    finally:
        rawcapi.set_num_threads(old)
    report(f"Two 64 MiB scans, set_num_threads(1) ({os.cpu_count()} CPUs; they share the memory bandwidth):", stats,
           baseline="one thread, two scans", nbytes=2 * len(bufs[0]))

    section("Array: the article's NumPy case study, by hand")
    a = rawcapi.arange(6.0).reshape(2, 3)
    print(f"a = rawcapi.arange(6.0).reshape(2, 3)   -> {a!r}")
    print(f"a.shape, a.strides, a.dtype                -> {a.shape}, {a.strides}, {a.dtype!r}")
    print(f"a + 1                                      -> {a + 1!r}")
    print(f"a * a.T.T - a                              -> {a * a.T.T - a!r}")
    print(f"a @ a.T                                    -> {a @ a.T!r}")
    print(f"a[:, ::-2]   (a view: no copy)             -> {a[:, ::-2]!r}")
    m = memoryview(a)
    print(f"memoryview(a): format={m.format!r} shape={m.shape} strides={m.strides}  (the Array's own memory)")
    print(f"rawcapi.fft([1, 0, 0, 0])                  -> {rawcapi.fft([1, 0, 0, 0])!r}")

    x = rawcapi.arange(1_000_000.0)
    y = rawcapi.arange(1_000_000.0)
    py_x, py_y = list(range(1_000_000)), list(range(1_000_000))
    report(
        "x + y, one million float64 (one new object; the loop runs in native code):",
        compare({
            "Python lists: [a + b for ...]": lambda: [p + q for p, q in zip(py_x, py_y)],
            "rawcapi Array: x + y": lambda: x + y,
        }, rounds=5),
        baseline="Python lists: [a + b for ...]",
    )
    n = 512
    ma = rawcapi.arange(float(n * n)).reshape(n, n) / float(n * n)
    stats = compare({"rawcapi.matmul": lambda: ma @ ma}, rounds=5)
    st = stats["rawcapi.matmul"]
    print(f"\n{n}x{n} @ {n}x{n} float64: {fmt_time(st.median)} = {2 * n ** 3 / st.median / 1e9:.1f} GFLOP/s "
          f"on {rawcapi.get_num_threads()} thread(s); examples/bench_heavy.py compares it with NumPy")

    try:
        rawcapi._panic("a deliberate panic")
    except SystemError as exc:
        print(f"\nA Rust panic never crosses into C: rawcapi._panic(...) -> SystemError: {exc}")


if __name__ == "__main__":
    main()

"""Measure where releasing the GIL starts to pay for fast_sum and count_lines.

Releasing and re-taking the GIL (PyEval_SaveThread / PyEval_RestoreThread) costs a fixed amount
per call. Below some input size that cost is a noticeable share of the call, and nothing is
gained: a scan that short would not let another thread do useful work anyway. This script times
each size twice in one process, interleaved — GIL always released (threshold 0) and never
released (threshold huge) — and prints the difference and its share of the call.

    python examples/gil_threshold.py

docs/03-buffers-and-gil.md records the figures and the threshold chosen from them.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # timing.py; an in-place build in the repository root

import rawcapi  # noqa: E402
from timing import compare, fmt_time  # noqa: E402

NEVER = 1 << 62


def with_threshold(threshold, func, arg):
    def call():
        old = rawcapi._set_gil_release_threshold(threshold)
        func(arg)
        rawcapi._set_gil_release_threshold(old)
    return call


def uncontended():
    """One thread: the bare cost of PyEval_SaveThread + PyEval_RestoreThread."""
    print("One thread (nobody else wants the GIL):")
    print(f"{'size':>10}  {'held':>11}  {'released':>11}  {'cost':>10}  share")
    for kib in (1, 4, 16, 64, 256, 1024):
        data = bytes(range(256)) * (kib * 4)
        stats = compare(
            {
                "held": with_threshold(NEVER, rawcapi.fast_sum, data),
                "released": with_threshold(0, rawcapi.fast_sum, data),
            },
            rounds=21,
        )
        held, released = stats["held"].median, stats["released"].median
        cost = released - held
        print(f"{kib:>7} KiB  {fmt_time(held)}  {fmt_time(released)}  {fmt_time(cost)}  {cost / released * 100:5.1f}%")


def contended():
    """A second thread runs pure Python. Releasing the GIL lets it run during the scan — but
    re-taking the GIL then waits until that thread drops it (up to sys.getswitchinterval()).
    Per size: the scanning thread's call time and the other thread's progress, both ways."""
    import threading
    import time

    print(f"\nTwo threads (the other one runs Python; switch interval {sys.getswitchinterval() * 1e3:.0f} ms):")
    print(f"{'size':>10}  {'mode':>8}  {'per call':>11}  {'other thread, loops/s':>22}")
    for kib in (16, 64, 256, 1024, 4096, 16384):
        data = bytes(range(256)) * (kib * 4)
        for mode, threshold in (("held", NEVER), ("released", 0)):
            stop = threading.Event()
            loops = [0]

            def other():
                n = 0
                while not stop.is_set():
                    n += 1
                loops[0] = n

            old = rawcapi._set_gil_release_threshold(threshold)
            t = threading.Thread(target=other)
            t.start()
            start = time.perf_counter()
            calls = 0
            while time.perf_counter() - start < 0.5:
                rawcapi.fast_sum(data)
                calls += 1
            elapsed = time.perf_counter() - start
            stop.set()
            t.join()
            rawcapi._set_gil_release_threshold(old)
            print(f"{kib:>7} KiB  {mode:>8}  {fmt_time(elapsed / calls)}  {loops[0] / elapsed:22,.0f}")


if __name__ == "__main__":
    uncontended()
    contended()

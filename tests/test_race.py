"""Threads racing on one Array: shape changes against kernels that run with the GIL released.

An Array's layout (shape, strides) can change in place (`a.shape = ...`). A kernel that reads it
with the GIL released must see one layout from start to end, so every operation pins the Arrays it
reads or writes, and the shape setter raises BufferError while a pin is held. The race runs in a
child process, because the failure it guards against is a segfault, which would take pytest down
with it; the child reports what every thread saw, and the test checks each result against NumPy.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

RACE_SECONDS = float(os.environ.get("RAWCAPI_RACE_SECONDS", "10"))

CHILD = textwrap.dedent(
    r"""
    import json, sys, threading, time
    import numpy as np
    import rawcapi

    SECONDS = float(sys.argv[1])
    # Every operation releases the GIL, whatever its size, so the togglers run while kernels do.
    rawcapi._set_gil_release_threshold(0)
    sys.setswitchinterval(1e-5)

    N = 512 * 512                        # 2 MiB of float64
    SHAPES = [(512, 512), (1024, 256), (256, 1024), (2048, 128)]
    expected = np.arange(N, dtype=np.float64)
    x = rawcapi.arange(float(N)).reshape(512, 512)   # read by the computers
    out = rawcapi.zeros((512, 512))                  # written by the out= computers
    one = rawcapi.Array([[1.0]])                     # (1, 1): broadcasts against every shape
    stop = threading.Event()
    report = {"toggles": 0, "refused": 0, "ops": {}, "failures": []}
    lock = threading.Lock()

    def fail(what):
        with lock:
            if len(report["failures"]) < 20:
                report["failures"].append(what)

    def toggler(target, seed):
        k = seed
        while not stop.is_set():
            k += 1
            try:
                target.shape = SHAPES[k % len(SHAPES)]
            except BufferError:
                with lock:
                    report["refused"] += 1
            except Exception as e:                    # anything else is a bug
                fail(f"shape setter: {type(e).__name__}: {e}")
            else:
                with lock:
                    report["toggles"] += 1

    def check_flat(name, result, want):
        got = np.asarray(result).reshape(-1)
        if result.shape not in SHAPES or not np.array_equal(got, want):
            fail(f"{name}: shape {result.shape}, first values {got[:4].tolist()}")

    def computer(name, op):
        done = 0
        while not stop.is_set():
            try:
                op()
            except Exception as e:
                fail(f"{name}: {type(e).__name__}: {e}")
            done += 1
        with lock:
            report["ops"][name] = report["ops"].get(name, 0) + done

    def binary():
        check_flat("x + one", x + one, expected + 1.0)

    def unary():
        check_flat("-x", -x, -expected)

    def function():
        check_flat("add(x, one)", rawcapi.add(x, one), expected + 1.0)

    written = set()

    def into_out():
        # Writes through `out`'s layout with the GIL released while `out` itself is toggled.
        # Two threads write at once, so `out` may end up holding both values, never another.
        value = float(threading.get_ident() % 1000)
        with lock:
            written.add(value)
        rawcapi.add(one, value - 1.0, out=out)

    def reduction():
        if x.sum() != N * (N - 1) / 2:
            fail(f"x.sum() = {x.sum()}")

    def copy():
        check_flat("x.astype(float64)", x.astype("float64"), expected)

    def transform():
        result = rawcapi.fft(x)                       # along the last axis of whatever shape x had
        want = np.fft.fft(expected.reshape(result.shape))
        if not np.allclose(np.asarray(result), want, rtol=1e-9, atol=1e-6 * N):
            fail(f"fft(x): shape {result.shape}")

    def export():
        with memoryview(x) as m:                      # an export pins the layout while it lives
            if m.shape not in SHAPES or not np.array_equal(np.asarray(m).reshape(-1), expected):
                fail(f"memoryview(x): shape {m.shape}")

    def read_index():
        first = x[0]
        want = expected[: first.shape[0]]
        if not np.array_equal(np.asarray(first), want):
            fail(f"x[0]: shape {first.shape}")

    threads = [threading.Thread(target=toggler, args=(x, 0)), threading.Thread(target=toggler, args=(x, 1)),
               threading.Thread(target=toggler, args=(out, 2))]
    threads += [threading.Thread(target=computer, args=(f.__name__, f))
                for f in (binary, unary, function, into_out, into_out, reduction, copy, transform, export, read_index)]
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join()
    # After the race: every element of `out` holds a value one of the out= calls wrote.
    seen = set(np.unique(np.asarray(out)).tolist())
    if out.shape not in SHAPES or not seen <= written:
        fail(f"out after the race: shape {out.shape}, values {sorted(seen - written)[:5]} never written")
    print(json.dumps(report))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="uses a child process with a POSIX signal exit code")
def test_shape_changes_racing_kernels_give_right_answers_or_buffererror():
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(RACE_SECONDS)],
        capture_output=True, text=True, timeout=RACE_SECONDS * 6 + 60,
    )
    assert proc.returncode == 0, f"the race child died (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failures"] == [], report["failures"]
    # The race really happened: shapes changed between operations, and the setter was refused
    # while an operation held a pin.
    assert report["toggles"] > 0, report
    assert report["refused"] > 0, report
    for name in ("binary", "unary", "function", "into_out", "reduction", "copy", "transform", "export", "read_index"):
        assert report["ops"].get(name, 0) > 0, report

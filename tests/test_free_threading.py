"""Free-threading: rawcapi keeps the GIL off, and shared objects stay right when threads really
run at once.

On a free-threaded CPython (3.13t) nothing serialises attached threads, so these tests are where
the module's claim `Py_mod_gil = Py_MOD_GIL_NOT_USED` is checked. They run on every build (with a
GIL they still interleave, as every operation here releases the GIL), in a child process, because
the failures they guard against are crashes. Each thread checks every result it gets against an
independent answer (plain Python or NumPy), and the child reports what it saw.
"""

import json
import os
import subprocess
import sys
import sysconfig
import textwrap

import pytest

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
STRESS_SECONDS = float(os.environ.get("RAWCAPI_FT_SECONDS", "4"))


def child_env():
    """The environment of a child interpreter, without PYTHON_GIL (which would force the GIL)."""
    env = dict(os.environ)
    env.pop("PYTHON_GIL", None)
    return env


@pytest.mark.skipif(not FREE_THREADED, reason="needs a free-threaded CPython (Py_GIL_DISABLED)")
def test_import_keeps_the_gil_off():
    code = textwrap.dedent(
        """
        import os, sys, warnings
        assert "PYTHON_GIL" not in os.environ
        assert not sys._is_gil_enabled(), "the GIL was already on before the import"
        with warnings.catch_warnings():
            warnings.simplefilter("error")      # "enabling the GIL" is a RuntimeWarning
            import rawcapi
        rawcapi.fast_sum(b"abc"); rawcapi.Array([1.0]) + 1
        print(sys._is_gil_enabled())
        """
    )
    out = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


CHILD = textwrap.dedent(
    r"""
    import json, sys, threading, time
    import numpy as np
    import rawcapi

    SECONDS = float(sys.argv[1])
    rawcapi._set_gil_release_threshold(0)      # every call releases the GIL: overlap on GIL builds too
    if hasattr(sys, "_is_gil_enabled"):
        gil = sys._is_gil_enabled()
    else:
        gil = True
    sys.setswitchinterval(1e-5)

    WRITERS, N = 4, 64
    c = rawcapi.zeros(N, dtype="complex128")  # element i is written only by writer i % WRITERS
    stop = threading.Event()
    lock = threading.Lock()
    report = {"gil": gil, "counts": {}, "failures": []}

    def fail(what):
        with lock:
            if len(report["failures"]) < 20:
                report["failures"].append(what)

    def count(name, n):
        with lock:
            report["counts"][name] = report["counts"].get(name, 0) + n

    def valid(i, z):
        # Written values are complex(v, v) with v = writer * 1e6 + k: a torn element (the real
        # half of one write, the imaginary half of another) has z.real != z.imag.
        return z == 0 or (z.real == z.imag and int(z.real) // 1_000_000 == i % WRITERS)

    def writer(w):
        k = 0
        while not stop.is_set():
            k += 1
            for i in range(w, N, WRITERS):
                v = float(w * 1_000_000 + k)
                c[i] = complex(v, v)
        count("element writes", k * (N // WRITERS))

    def element_reader():
        n = 0
        while not stop.is_set():
            for i in range(N):
                z = c[i]
                if not valid(i, z):
                    fail(f"c[{i}] = {z!r}")
            n += N
        count("element reads", n)

    def list_reader():
        n = 0
        while not stop.is_set():
            for i, z in enumerate(c.tolist()):
                if not valid(i, z):
                    fail(f"tolist()[{i}] = {z!r}")
            n += 1
        count("tolist", n)

    # A shared read-only Array whose shape other threads keep changing in place.
    M = 256 * 256
    x = rawcapi.arange(float(M))
    want = np.arange(M, dtype=np.float64)
    SHAPES = [(M,), (256, 256), (128, 512), (512, 128)]

    def toggler(seed):
        k, done, refused = seed, 0, 0
        while not stop.is_set():
            k += 1
            try:
                x.shape = SHAPES[k % len(SHAPES)]
                done += 1
            except BufferError:
                refused += 1
            except Exception as e:
                fail(f"shape setter: {type(e).__name__}: {e}")
        count("shape changes", done)
        count("shape changes refused", refused)

    def reducer():
        n = 0
        while not stop.is_set():
            if x.sum() != M * (M - 1) / 2:
                fail(f"x.sum() = {x.sum()}")
            col = x.sum(axis=0)                         # along the first axis of the shape it saw
            layout = (M,) if np.ndim(col) == 0 else next(s for s in SHAPES if len(s) == 2 and s[1] == np.shape(col)[0])
            if not np.array_equal(np.asarray(col), want.reshape(layout).sum(axis=0)):
                fail(f"x.sum(axis=0) for {layout}")
            n += 1
        count("reductions", n)

    def exporter():
        n = 0
        while not stop.is_set():
            with memoryview(x) as m:
                if m.shape not in SHAPES or not np.array_equal(np.asarray(m).reshape(-1), want):
                    fail(f"memoryview(x): shape {m.shape}")
            n += 1
        count("exports", n)

    # The thread setting, changed by several threads while products run.
    a = rawcapi.Array(np.arange(96 * 80, dtype=np.float64).reshape(96, 80) / 7)
    b = rawcapi.Array(np.arange(80 * 64, dtype=np.float64).reshape(80, 64) / 3)
    product = np.asarray(a) @ np.asarray(b)

    def thread_setter(seed):
        k, n = seed, 0
        while not stop.is_set():
            k += 1
            rawcapi.set_num_threads(1 + k % 4)
            got = rawcapi.get_num_threads()
            if not 1 <= got <= 4:
                fail(f"get_num_threads() = {got}")
            n += 1
        count("set_num_threads", n)

    def multiplier():
        n = 0
        rawcapi._set_parallel_threshold(1)          # every product is split over the threads set
        while not stop.is_set():
            if not np.allclose(np.asarray(rawcapi.matmul(a, b)), product, rtol=1e-12, atol=0):
                fail("matmul(a, b) differs from NumPy")
            n += 1
        count("products", n)

    # FFTs of several lengths from several threads: they share the module's plan cache, and
    # more lengths than it keeps, so plans are made, shared and evicted while in use.
    rng = np.random.default_rng(7)
    signals = {n: rng.standard_normal(n) + 1j * rng.standard_normal(n) for n in (8, 60, 97, 128, 210, 256, 1000, 4096)}
    spectra = {n: np.fft.fft(s) for n, s in signals.items()}
    inputs = {n: rawcapi.Array(s) for n, s in signals.items()}

    def transformer(seed):
        lengths = sorted(signals)
        k, n = seed, 0
        while not stop.is_set():
            k += 1
            size = lengths[k % len(lengths)]
            got = np.asarray(rawcapi.fft(inputs[size]))
            if np.max(np.abs(got - spectra[size])) > 1e-9 * np.max(np.abs(spectra[size])):
                fail(f"fft of {size} points differs from NumPy")
            back = np.asarray(rawcapi.ifft(rawcapi.fft(inputs[size])))
            if not np.allclose(back, signals[size], rtol=0, atol=1e-9):
                fail(f"ifft(fft(x)) of {size} points is not x")
            n += 1
        count("ffts", n)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    threads += [threading.Thread(target=element_reader) for _ in range(2)]
    threads += [threading.Thread(target=list_reader)]
    threads += [threading.Thread(target=toggler, args=(s,)) for s in range(2)]
    threads += [threading.Thread(target=reducer), threading.Thread(target=exporter)]
    threads += [threading.Thread(target=thread_setter, args=(s,)) for s in range(3)]
    threads += [threading.Thread(target=multiplier) for _ in range(2)]
    threads += [threading.Thread(target=transformer, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join()
    for i, z in enumerate(c.tolist()):
        if z == 0 or not valid(i, z):
            fail(f"after the run, c[{i}] = {z!r}")
    if hasattr(sys, "_is_gil_enabled"):
        report["gil_after"] = sys._is_gil_enabled()
    print(json.dumps(report))
    """
)


def test_threads_share_arrays_plans_and_settings():
    """Writers, readers, shape changes, reductions, exports, products under a changing thread
    setting, and FFTs sharing plans, all at once on shared objects; every result checked."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(STRESS_SECONDS)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, f"child exited {out.returncode}\n{out.stderr[-3000:]}"
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["failures"] == [], report["failures"]
    counts = report["counts"]
    print(f"\n{counts}")
    for name in ("element writes", "element reads", "tolist", "reductions", "exports", "set_num_threads", "products", "ffts"):
        assert counts.get(name, 0) > 0, f"no {name} happened: {counts}"
    # The shape setter both succeeded and was refused (a pin or export was outstanding), so
    # shape changes really overlapped the readers.
    assert counts.get("shape changes", 0) > 0 and counts.get("shape changes refused", 0) > 0, counts
    if FREE_THREADED:
        assert report["gil"] is False and report.get("gil_after") is False, report

"""Heavy compute: rawcapi.matmul and rawcapi.fft beside NumPy (OpenBLAS, pocketfft).

One process; candidates interleaved round by round (examples/timing.py); medians with the
interquartile spread; ratios are NumPy's median over rawcapi's (> 1: rawcapi faster).

    python examples/bench_heavy.py            # everything (about a minute)
    python examples/bench_heavy.py --quick    # fewer rounds

matmul: float64 n×n @ n×n at n = 256, 1024, 2048, on one thread (rawcapi.set_num_threads(1),
threadpoolctl's limit for OpenBLAS) and on every CPU, each sample after a 0.2 s rest (REST_S
below: OpenBLAS's idle workers spin and would otherwise slow the call that follows) and 0.15 s
of untimed calls of the same candidate (WARM_S: both then run in their steady state). OpenBLAS
picks its kernel from the CPU unless OPENBLAS_CORETYPE forces one (this machine's environment
sets Haswell, and an L2 size):
this script removes OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from its own environment and re-runs
itself before NumPy is imported, so NumPy gets the kernel it would choose, and prints which one
threadpoolctl reports. fft: fft of complex input and rfft of real input, n = 1024, 2^16, 2^20,
999983 (a prime), against numpy.fft; both from Python, both allocating their result; rawcapi's
plans are cached after the first call (calibration warms them), as NumPy's are.
"""
import os
import sys
import time

_FORCED = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(v in os.environ for v in _FORCED):
    env = {k: v for k, v in os.environ.items() if k not in _FORCED}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.dirname(_HERE)]  # timing.py; an in-place build of rawcapi

import numpy as np  # noqa: E402

import rawcapi  # noqa: E402
from timing import Stats, _calibrate, compare  # noqa: E402

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # NumPy then runs with its default thread count
    threadpool_info = threadpool_limits = None

QUICK = "--quick" in sys.argv
CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def blas_description():
    if threadpool_info is None:
        return "threadpoolctl not installed: OpenBLAS kernel unknown, NumPy threads not limited"
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(f"{i['internal_api']} {i.get('version')} kernel={i.get('architecture')} threads={i['num_threads']}" for i in blas)


class Threads:
    """rawcapi.set_num_threads and OpenBLAS's thread limit, both, for a `with` block."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.previous = rawcapi.get_num_threads()
        rawcapi.set_num_threads(self.n)
        self.limit = threadpool_limits(self.n, user_api="blas") if threadpool_limits else None
        return self

    def __exit__(self, *exc):
        rawcapi.set_num_threads(self.previous)
        if self.limit is not None:
            self.limit.restore_original_limits()


rows = []

# OpenBLAS's worker threads do not sleep when a call returns: they spin for 2^28 cycles (its
# THREAD_TIMEOUT, ~70 ms here) waiting for the next call. On a 2-core machine a spinning worker
# takes one of the two cores from whatever runs next — in an interleaved benchmark, always the
# rawcapi call that follows (measured: rawcapi's 2-thread 1024 product took 13 ms alone and 22 ms
# right after np.matmul). So the matmul rows rest REST_S before every sample, letting the workers
# park; NumPy's own samples are not slowed by this (its workers wake on the next call).
REST_S = 0.2
# After the rest, the first ~0.1 s of a 2-thread multiply runs slower — for rawcapi's freshly
# spawned helper and for OpenBLAS's woken workers alike (measured, rawcapi n=1024 on 2 threads:
# ~140 GFLOP/s for the first ten calls after a pause, ~220 after; the idle vCPU and its clock
# need that long to come back). So each sample is preceded by WARM_S of untimed calls of the
# same candidate, and both are timed in their steady state. docs/07 gives the cold figures.
WARM_S = 0.15


def compare_rested(candidates, rounds):
    """timing.compare with a rest, then a warm-up, before each sample (see REST_S, WARM_S)."""
    numbers = {name: _calibrate(func, 0.05) for name, func in candidates.items()}
    samples = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            time.sleep(REST_S)
            func, number = candidates[name], numbers[name]
            warm_until = time.perf_counter() + WARM_S
            while time.perf_counter() < warm_until:
                func()
            start = time.perf_counter()
            for _ in range(number):
                func()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: Stats(v) for name, v in samples.items()}


def line(kind, size, threads, stats, ours, theirs, flops=None):
    r, t = stats[ours], stats[theirs]
    ratio = t.median / r.median
    extra = ""
    if flops:
        extra = f"  {flops / r.median / 1e9:6.1f} vs {flops / t.median / 1e9:6.1f} GFLOP/s"
    print(
        f"  {kind:<14} {size:>8}  threads={threads:<2} rawcapi {r.median * 1e3:9.3f} ms ±{r.spread() * 100:4.1f}%"
        f"   numpy {t.median * 1e3:9.3f} ms ±{t.spread() * 100:4.1f}%   ratio {ratio:5.2f}x{extra}"
    )
    rows.append((kind, size, threads, ratio))


def bench_matmul():
    rng = np.random.default_rng(0)
    print("\nmatmul, float64, n×n @ n×n (median per call ± IQR/median)")
    for threads in (1, CPUS):
        with Threads(threads):
            for n in (256, 1024, 2048):
                a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
                rounds = {256: 21, 1024: 11, 2048: 7}[n]
                if QUICK:
                    rounds = max(3, rounds // 3)
                stats = compare_rested({"rawcapi": lambda: rawcapi.matmul(a, b), "numpy": lambda: np.matmul(a, b)}, rounds)
                line("matmul f64", n, threads, stats, "rawcapi", "numpy", flops=2 * n**3)


def bench_fft():
    rng = np.random.default_rng(1)
    print("\nfft (1-D, default threads; median per call ± IQR/median)")
    for n in (1024, 1 << 16, 1 << 20, 999983):
        x = rng.standard_normal(n) + 1j * rng.standard_normal(n)
        r = rng.standard_normal(n)
        rounds = 5 if QUICK else 15
        stats = compare(
            {
                "rawcapi.fft": lambda: rawcapi.fft(x),
                "numpy.fft": lambda: np.fft.fft(x),
                "rawcapi.rfft": lambda: rawcapi.rfft(r),
                "numpy.rfft": lambda: np.fft.rfft(r),
            },
            rounds=rounds,
            target_s=0.05,
        )
        line("fft complex", n, rawcapi.get_num_threads(), stats, "rawcapi.fft", "numpy.fft")
        line("rfft real", n, rawcapi.get_num_threads(), stats, "rawcapi.rfft", "numpy.rfft")


def bench_two_python_threads():
    """Item 3 of the issue: with set_num_threads(1), two Python threads each running a large
    matmul (or FFT) should take about the time of one, because the GIL is released."""
    import threading

    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((1024, 1024)), rng.standard_normal((1024, 1024))
    x = rng.standard_normal(1 << 20) + 1j * rng.standard_normal(1 << 20)
    print("\ntwo Python threads at once, set_num_threads(1) (wall time of both / time of one call)")
    time.sleep(REST_S)
    for name, call in (("matmul 1024", lambda: rawcapi.matmul(a, b)), ("fft 2^20", lambda: rawcapi.fft(x))):

        def both():
            ts = [threading.Thread(target=call) for _ in range(2)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

        with Threads(1):
            stats = compare({"one call": call, "two threads": both}, rounds=5 if QUICK else 9, target_s=0.05)
        one, two = stats["one call"].median, stats["two threads"].median
        print(f"  {name:<12} one call {one * 1e3:8.2f} ms   two threads {two * 1e3:8.2f} ms   ratio {two / one:4.2f} (1.0 = perfect overlap, 2.0 = serialised)")


def main():
    print(f"rawcapi {rawcapi.__version__}, numpy {np.__version__}, {CPUS} CPUs")
    print(f"NumPy BLAS: {blas_description()}")
    print(f"(OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed for this process: {[v for v in _FORCED if v in os.environ] == []})")
    bench_matmul()
    bench_fft()
    bench_two_python_threads()
    print("\ntargets: matmul >= 1.1x at n=1024, 2048 on 1 thread and >= 1.0x on all threads; fft >= 1.5x everywhere")
    for kind, size, threads, ratio in rows:
        target = None
        if kind.startswith("matmul") and size >= 1024:
            target = 1.1 if threads == 1 else 1.0
        elif not kind.startswith("matmul"):
            target = 1.5
        if target:
            print(f"  {kind:<14} {size:>8} threads={threads:<2} {ratio:5.2f}x  {'met' if ratio >= target else 'NOT met'} (>= {target}x)")


if __name__ == "__main__":
    main()

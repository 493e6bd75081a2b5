"""Heavy compute: rawcapi.matmul and rawcapi.fft beside NumPy (OpenBLAS, pocketfft), per thread count.

One process; candidates interleaved round by round (examples/timing.py); medians with the
interquartile spread; ratios are NumPy's median over rawcapi's (> 1: rawcapi faster).

    python examples/bench_heavy.py                          # 1 thread and every CPU
    python examples/bench_heavy.py --threads 1,2,4,8,16     # the scaling table
    python examples/bench_heavy.py --threads 2 --hog        # with a CPU-bound process beside
    python examples/bench_heavy.py --quick                  # fewer rounds, no n = 4096 / 2^24

At each thread count T (rawcapi.set_num_threads(T), and threadpoolctl's limit for NumPy's BLAS):
matmul float64 n×n @ n×n at n = 256, 1024, 2048, 4096 in GFLOP/s and as a ratio to OpenBLAS;
fft of complex input and rfft of real input at 2^20 and 2^24 points in ms, against numpy.fft
(pocketfft, one thread whatever T) and as a share of rawcapi's own 1-thread time. Then the
pool's cost per parallel call (an empty job every participant must join) against spawning the
threads per call, as rawcapi did before it had a pool (rawcapi._parallel_call_cost).

`--hog` starts a process that spins on one core for the whole run (a busy neighbour: another
program, or a noisy VM), so a thread count above the free cores shows how each library copes.

matmul samples rest REST_S and then run WARM_S of untimed calls before being timed (see the
comments below: OpenBLAS's idle workers spin and would slow whatever runs next). OpenBLAS
picks its kernel from the CPU unless OPENBLAS_CORETYPE forces one (this machine's environment
sets Haswell, and an L2 size): this script removes OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from
its own environment and re-runs itself before NumPy is imported, so NumPy gets the kernel it
would choose, and prints which one threadpoolctl reports.
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


def _option(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


THREADS = [int(t) for t in _option("--threads", f"1,{CPUS}").split(",")]
HOG = "--hog" in sys.argv


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


def bench_matmul(threads):
    rng = np.random.default_rng(0)
    sizes = (256, 1024, 2048) if QUICK else (256, 1024, 2048, 4096)
    for n in sizes:
        a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        rounds = {256: 21, 1024: 11, 2048: 7, 4096: 3}[n]
        if QUICK:
            rounds = max(3, rounds // 3)
        stats = compare_rested({"rawcapi": lambda: rawcapi.matmul(a, b), "numpy": lambda: np.matmul(a, b)}, rounds)
        line("matmul f64", n, threads, stats, "rawcapi", "numpy", flops=2 * n**3)


one_thread_ms = {}


def bench_fft(threads):
    rng = np.random.default_rng(1)
    for n in (1 << 20,) if QUICK else (1 << 20, 1 << 24):
        x = rng.standard_normal(n) + 1j * rng.standard_normal(n)
        r = rng.standard_normal(n)
        rounds = (5 if QUICK else 9) if n <= 1 << 20 else 3
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
        for kind, ours, theirs in (("fft complex", "rawcapi.fft", "numpy.fft"), ("rfft real", "rawcapi.rfft", "numpy.rfft")):
            line(kind, f"2^{n.bit_length() - 1}", threads, stats, ours, theirs)
            ms = stats[ours].median * 1e3
            one_thread_ms.setdefault((kind, n), ms if threads == 1 else None)
            base = one_thread_ms.get((kind, n))
            if base and threads > 1:
                print(f"  {'':<14} {'':>8}  rawcapi on {threads} threads: {ms / base:4.2f} of its 1-thread time")
                rows.append((kind + " vs 1 thread", n, threads, base / ms))


def bench_pool_cost():
    print("\nparallel call cost: an empty job all participants join (µs per call; pool vs spawning per call)")
    for t in (2, 4, 8, 16):
        previous = rawcapi.get_num_threads()
        rawcapi.set_num_threads(t)
        pool, spawn = [], []
        for _ in range(5):  # interleaved
            pool.append(rawcapi._parallel_call_cost(t, False, 2000) / 1e3)
            spawn.append(rawcapi._parallel_call_cost(t, True, 200) / 1e3)
        rawcapi.set_num_threads(previous)
        p, s = sorted(pool)[2], sorted(spawn)[2]
        note = " (oversubscribed)" if t > CPUS else ""
        print(f"  threads={t:<2} pool {p:8.1f} µs   spawn {s:8.1f} µs   pool/spawn {p / s:5.3f}{note}")
        rows.append(("pool/spawn", t, t, p / s))
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((256, 256)), rng.standard_normal((256, 256))
    res = {}
    for t in (1, 2):
        with Threads(t):
            res[t] = compare({"m": lambda: rawcapi.matmul(a, b)}, rounds=9, target_s=0.05)["m"].median
    print(f"  matmul 256: 1 thread {res[1] * 1e3:.3f} ms, 2 threads {res[2] * 1e3:.3f} ms ({res[1] / res[2]:.2f}x)")
    rows.append(("matmul 256 2t/1t", 256, 2, res[1] / res[2]))


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


def start_hog():
    """A process that spins on one core until this one exits."""
    import subprocess

    return subprocess.Popen([sys.executable, "-c", "import os\nwhile os.getppid() != 1: pass"])


def main():
    print(f"rawcapi {rawcapi.__version__}, numpy {np.__version__}, {CPUS} CPUs, {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"NumPy BLAS: {blas_description()}")
    print(f"(OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed for this process: {[v for v in _FORCED if v in os.environ] == []})")
    hog = start_hog() if HOG else None
    if hog:
        print("a CPU-bound process occupies one core for the whole run (--hog)")
    try:
        for t in THREADS:
            print(f"\n=== {t} thread(s) (rawcapi.set_num_threads({t}), OpenBLAS limited to {t}; median per call ± IQR/median)")
            with Threads(t):
                bench_matmul(t)
                bench_fft(t)
        bench_pool_cost()
        if not QUICK and not HOG:
            bench_two_python_threads()
    finally:
        if hog:
            hog.kill()
            hog.wait()
    print("\ntargets" + (" (with --hog)" if HOG else ""))
    for kind, size, threads, ratio in rows:
        target = None
        if kind.startswith("matmul f64") and size in (1024, 2048):
            target = 1.1 if threads == 1 else (0.95 if HOG else 1.0) if threads == 2 else None
        elif kind == "fft complex" and threads == 2:
            target = 2.0 if size == "2^20" else 1.5
        elif kind == "fft complex vs 1 thread" and threads == 2:
            target = 1.4
        elif kind == "pool/spawn":
            print(f"  {kind:<24} threads={threads:<2} {ratio:5.3f}  {'met' if ratio <= 0.1 else 'NOT met'} (<= 0.1)")
            continue
        elif kind == "matmul 256 2t/1t":
            target = 1.0
        if target:
            print(f"  {kind:<24} {size:>8} threads={threads:<2} {ratio:5.2f}x  {'met' if ratio >= target else 'NOT met'} (>= {target}x)")


if __name__ == "__main__":
    main()

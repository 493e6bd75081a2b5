"""Array `a + b` beside NumPy's, float64, at 1e3, 1e6 and 1e8 elements.

    python examples/bench_array.py            # all sizes (1e8 needs ~5 GB of RAM)
    python examples/bench_array.py --quick    # 1e3 and 1e6 only

Two forms, both called from Python, one process, candidates interleaved (examples/timing.py):
- fresh result:  Array `a + b`  beside  ndarray `a + b`  (each allocates its result; at 1e8 that
  is 800 MB of new pages per call, whose first-touch page faults cost more than the adding);
- into out=:     `rawcapi.add(a, b, out=o)`  beside  `np.add(a, b, out=o)`.
Each with one thread (rawcapi.set_num_threads(1)) and with the default thread count. NumPy's
elementwise loops are single-threaded whatever the setting.

The ratio is NumPy's median time over rawcapi's (above 1: rawcapi is faster).

Add probe: a small C program (compiled with `cc` into a temporary directory; skipped if there is
no compiler) does `o[i] = a[i] + b[i]` on 1 and on 2 pthreads, each thread a contiguous slice,
with its arrays already faulted in. Its 2-thread/1-thread ratio is how much a second core can
add to this loop on the machine at hand — the ceiling for the "default threads" rows at sizes
that do not fit in the cache, whatever the library.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # timing.py; an in-place build in the repository root
import timing  # noqa: E402

import rawcapi  # noqa: E402


ADD_PROBE_C = r"""
/* examples/bench_array.py's add probe: o[i] = a[i] + b[i] over n doubles on 1 and 2 threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double *a, *b, *o;
static long n;
typedef struct { long lo, hi; } range;
static void *work(void *p) {
    range *r = p;
    for (long i = r->lo; i < r->hi; i++) o[i] = a[i] + b[i];
    return NULL;
}
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static double pass(int threads) {
    pthread_t th[2]; range r[2]; double t0 = now();
    for (int k = 0; k < threads; k++) {
        r[k].lo = n * k / threads; r[k].hi = n * (k + 1) / threads;
        if (k) pthread_create(&th[k], NULL, work, &r[k]);
    }
    work(&r[0]);
    for (int k = 1; k < threads; k++) pthread_join(th[k], NULL);
    return now() - t0;
}
static int cmp(const void *x, const void *y) { double d = *(const double *)x - *(const double *)y; return (d > 0) - (d < 0); }
int main(int argc, char **argv) {
    n = atol(argv[1]); int rounds = atoi(argv[2]);
    a = aligned_alloc(64, n * 8 + 64); b = aligned_alloc(64, n * 8 + 64); o = aligned_alloc(64, n * 8 + 64);
    if (!a || !b || !o) return 1;
    for (long i = 0; i < n; i++) { a[i] = i; b[i] = 2 * i; o[i] = 0; }
    double t1[101], t2[101];
    if (rounds > 101) rounds = 101;
    for (int r = 0; r < rounds; r++) { t1[r] = pass(1); t2[r] = pass(2); }
    qsort(t1, rounds, sizeof *t1, cmp); qsort(t2, rounds, sizeof *t2, cmp);
    printf("%.9f %.9f\n", t1[rounds / 2], t2[rounds / 2]);
    return 0;
}
"""


def add_probe(sizes):
    """{n: (1-thread s, 2-thread s)} from the C add probe, or {} without a C compiler."""
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "add_probe.c"), os.path.join(tmp, "add_probe")
        with open(src, "w") as f:
            f.write(ADD_PROBE_C)
        try:
            subprocess.run(["cc", "-O3", "-march=native", "-pthread", "-o", exe, src], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"(add probe skipped: cannot compile it: {e})")
            return {}
        result = {}
        for n in sizes:
            out = subprocess.run([exe, str(n), "101" if n < 10**7 else "9"], check=True, capture_output=True, text=True).stdout
            one, two = map(float, out.split())
            result[n] = (one, two)
        return result


def bench(n, threads, rounds):
    rng = np.random.default_rng(n)
    na, nb = rng.standard_normal(n), rng.standard_normal(n)
    ra, rb = rawcapi.Array(na), rawcapi.Array(nb)
    # Sanity: same bits before timing anything.
    assert np.asarray(ra + rb).tobytes() == (na + nb).tobytes()
    rawcapi.set_num_threads(threads)
    fresh = timing.compare({"numpy a + b": lambda: na + nb, "rawcapi a + b": lambda: ra + rb}, rounds=rounds)
    no, ro = np.empty(n), rawcapi.zeros(n)
    out = timing.compare(
        {"np.add(a, b, out=o)": lambda: np.add(na, nb, out=no), "rawcapi.add(a, b, out=o)": lambda: rawcapi.add(ra, rb, out=ro)},
        rounds=rounds,
    )
    return fresh, out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip 1e8")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    default_threads = rawcapi.get_num_threads()
    print(f"numpy {np.__version__}, rawcapi {rawcapi.__version__}, {os.cpu_count()} CPUs, default threads {default_threads}")
    sizes = [10**3, 10**6] if args.quick else [10**3, 10**6, 10**8]
    summary = []
    for n in sizes:
        for threads in (1, default_threads):
            fresh, out = bench(n, threads, rounds=args.rounds if n < 10**8 else max(5, args.rounds // 2))
            label = f"n={n:.0e} threads={threads}"
            timing.report(f"{label}: fresh result", fresh, baseline="numpy a + b", nbytes=24 * n)
            timing.report(f"{label}: out=", out, baseline="np.add(a, b, out=o)", nbytes=24 * n)
            summary.append((n, threads, fresh["numpy a + b"].median / fresh["rawcapi a + b"].median,
                            out["np.add(a, b, out=o)"].median / out["rawcapi.add(a, b, out=o)"].median))
    rawcapi.set_num_threads(default_threads)
    probe = add_probe([n for n in sizes if n >= 10**6])
    print("\nratio = NumPy time / rawcapi time (targets at 1e6 and 1e8: >= 0.95 on 1 thread, >= 1.4 default)")
    print(f"  {'n':>6} {'threads':>7} {'fresh a+b':>10} {'out=':>8}   C add probe, 1 thread / 2 threads")
    for n, threads, r_fresh, r_out in summary:
        extra = ""
        if n in probe and threads > 1:
            one, two = probe[n]
            extra = f"   {one / two:.2f}x ({one * 1e3:.2f} ms / {two * 1e3:.2f} ms)"
        print(f"  {n:>6.0e} {threads:>7} {r_fresh:>9.2f}x {r_out:>7.2f}x{extra}")


if __name__ == "__main__":
    main()

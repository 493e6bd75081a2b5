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
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # timing.py; an in-place build in the repository root
import timing  # noqa: E402

import rawcapi  # noqa: E402


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
    print("\nratio = NumPy time / rawcapi time (targets at 1e6 and 1e8: >= 0.95 on 1 thread, >= 1.4 default)")
    print(f"  {'n':>6} {'threads':>7} {'fresh a+b':>10} {'out=':>8}")
    for n, threads, r_fresh, r_out in summary:
        print(f"  {n:>6.0e} {threads:>7} {r_fresh:>9.2f}x {r_out:>7.2f}x")


if __name__ == "__main__":
    main()

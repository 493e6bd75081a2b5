"""Item 1: N calls and 2N calls of every callable leave exactly the same counts behind.

Run with a debug interpreter (Debian's python3.11-dbg), no pytest needed:

    PYTHONPATH=<dir with rawcapi*.so>:tests python3.11-dbg tests/refcounts/check_leaks.py [--counters refs,blocks,heap]

For each case of tests/callables.py (good inputs and error paths alike) it warms up with N calls,
then measures the change of each counter across N calls (d1) and across 2N calls (d2). The
measuring itself costs the same in both, so d1 == d2 exactly unless each call leaves something
behind, in which case d2 - d1 grows with N. No tolerance: a leak of one block per thousand
calls still shows.

Counters:
- refs:   sys.gettotalrefcount()   every Py_INCREF/Py_DECREF the interpreter saw (debug builds)
- blocks: sys.getallocatedblocks() live pymalloc blocks (objects, and PyMem_* memory)
- heap:   rawcapi._rust_heap()     live blocks and bytes of rawcapi's own Rust heap

`refs` is exact only for a module built against the debug interpreter's ABI: a release build's
Py_INCREF/Py_DECREF are inline `ob_refcnt` updates that never touch the debug interpreter's
total, so an object rawcapi frees itself would look leaked (scripts/test-refcounts builds both).
"""
import argparse
import gc
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for callables.py

import rawcapi  # noqa: E402
from callables import Bad, all_calls, call, public_names, SPECS  # noqa: E402

ATTEMPTS = 5  # one exact match in 5 is required; a per-call leak can never match even once
WARM_UP = 5  # x N calls before measuring: caches that fill slowly (type caches, free lists)


def counters(which):
    gc.collect()
    values = []
    if "refs" in which:
        values.append(sys.gettotalrefcount())
    if "blocks" in which:
        values.append(sys.getallocatedblocks())
    if "heap" in which:
        values.extend(rawcapi._rust_heap())
    return values


def run(spec, case, n):
    if isinstance(case, Bad):
        for _ in range(n):
            try:
                call(spec, case)
            except case.exc:
                pass
            else:
                raise AssertionError(f"{spec.name} [{case.label}] did not raise {case.exc.__name__}")
    else:
        for _ in range(n):
            call(spec, case)


def delta(spec, case, n, which):
    before = counters(which)
    run(spec, case, n)
    after = counters(which)
    return [a - b for a, b in zip(after, before)]


class StderrSilenced:
    """Rust's panic hook prints to fd 2; 2N panics would flood the log."""

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--counters", default="refs,blocks,heap")
    parser.add_argument("-n", type=int, default=int(os.environ.get("RAWCAPI_LEAK_N", "200")))
    args = parser.parse_args()
    which = set(args.counters.split(","))
    if "refs" in which and not hasattr(sys, "gettotalrefcount"):
        sys.exit("refs needs a debug interpreter (sys.gettotalrefcount); use python3.11-dbg")
    missing = public_names() - {spec.name for spec in SPECS}
    if missing:
        sys.exit(f"callables without a table entry in tests/callables.py: {sorted(missing)}")

    n = args.n
    rawcapi._rust_heap()  # starts the Rust heap's counting (src/heap.rs), before any warm-up
    failures, unsettled, cases, calls = [], [], 0, 0
    for spec, case in all_calls():
        silence = StderrSilenced() if spec.name == "_panic" else None
        if silence:
            silence.__enter__()
        try:
            run(spec, case, WARM_UP * n)  # warm-up: caches, free lists, lazily created objects
            growing = True
            for _ in range(ATTEMPTS):
                d1 = delta(spec, case, n, which)
                d2 = delta(spec, case, 2 * n, which)
                calls += 3 * n
                if d1 == d2:
                    growing = False
                    break
                # A cache that settles (CPython's, e.g. around AttributeError) can leave a block
                # more or fewer in one window; what leaks grows with the number of calls in
                # every attempt.
                growing = growing and any(b > a for a, b in zip(d1, d2))
            if growing:
                # A block or two up in every attempt: look again at ten times the calls. A leak
                # grows tenfold; a settling cache does not, and matches or shrinks at least once.
                for _ in range(3):
                    e1 = delta(spec, case, 10 * n, which)
                    e2 = delta(spec, case, 20 * n, which)
                    calls += 30 * n
                    if not any(b - a > 2 * max(0, y - x) for a, b, x, y in zip(e1, e2, d1, d2)):
                        growing = False
                        break
                d1, d2 = e1, e2
        finally:
            if silence:
                silence.__exit__()
        cases += 1
        if d1 != d2:
            label = f"{spec.name} [{case.label}]: last measured {d1} then {d2} (N and 2N calls, or 10N and 20N)"
            (failures if growing else unsettled).append(label)
    names = ",".join(c for c in ("refs", "blocks", "heap") if c in which)
    print(f"leak check ({names}; {sys.executable}): {cases} cases, {calls} measured calls, N={n}")
    for line in unsettled:
        print("not exact in", ATTEMPTS, "attempts, but not growing either (no leak):", line)
    for line in failures:
        print("LEAK", line)
    # The plain closing line CI reads.
    print(f"{cases - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

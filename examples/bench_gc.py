"""What the cycle collector costs small Arrays: two builds of rawcapi side by side.

    python examples/bench_gc.py BEFORE.so AFTER.so

BEFORE and AFTER are two rawcapi extension files (for example the in-place build of an older
commit, copied aside, and the current one). Both are loaded into this one process under their own
module objects, and their candidates are timed interleaved, round by round (examples/timing.py),
so the machine's slow moments hit both alike:
- `a + b` of two 10-element float64 Arrays, the result dropped at once: the GC header, tracking
  and untracking on every result;
- the same, 1000 results kept alive in a list and then dropped: allocations that stay alive push
  the generation-0 count past its threshold, so this one also pays the collections;
- `zeros(10)`: allocation alone.
Then, without timing, how many collections of each generation 10**6 `a + b` run, results dropped
and 1000 at a time kept (`gc.get_stats()` before and after): a count, not a time, so the
machine's noise does not touch it.
"""
import gc
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import timing  # noqa: E402


def load(path):
    """The rawcapi extension at `path` as a module object of its own (not put in sys.modules)."""
    spec = importlib.util.spec_from_file_location("rawcapi", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def candidates(label, rawcapi):
    a, b = rawcapi.arange(10.0), rawcapi.arange(10.0)

    def add():
        a + b

    def add_keep_1000():
        kept = [a + b for _ in range(1000)]
        del kept

    def zeros():
        rawcapi.zeros(10)

    return {f"{label} a + b": add, f"{label} 1000 kept": add_keep_1000, f"{label} zeros(10)": zeros}


def collections_during(func, calls):
    """Collections per generation while `func` runs `calls` times."""
    before = [g["collections"] for g in gc.get_stats()]
    for _ in range(calls):
        func()
    return [g["collections"] - b for g, b in zip(gc.get_stats(), before)]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    before, after = load(sys.argv[1]), load(sys.argv[2])
    print(f"Python {sys.version.split()[0]}, gc threshold {gc.get_threshold()}")
    for label, module in (("before", before), ("after", after)):
        x = module.zeros(3)
        print(f"  {label}: {module.__file__}  gc.is_tracked(Array) = {gc.is_tracked(x)}, sys.getsizeof(zeros(3)) = {sys.getsizeof(x)}")
    cands = {**candidates("before", before), **candidates("after", after)}
    stats = timing.compare(cands, rounds=21)
    for what in ("a + b", "1000 kept", "zeros(10)"):
        timing.report(what, {name: stats[name] for name in (f"before {what}", f"after {what}")}, baseline=f"before {what}")
    print("\ncollections (generation 0, 1, 2) during 10**6 a + b")
    for label in ("before", "after"):
        dropped = collections_during(cands[f"{label} a + b"], 10**6)
        kept = collections_during(cands[f"{label} 1000 kept"], 10**3)
        print(f"  {label:<6}  results dropped: {dropped}   1000 kept at a time: {kept}")


if __name__ == "__main__":
    main()

"""What the stable ABI costs: the full-API build against the abi3 build, in one process.

    python setup.py build_ext --inplace          # the full-API build (rawcapi.cpython-3XX-*.so)
    scripts/test-versions abi3                   # the abi3 build (build/matrix/abi3/rawcapi.abi3.so)
    python examples/bench_abi3.py [--full PATH] [--abi3 PATH]

Both files are loaded side by side (each defines its own PyInit_rawcapi, so both module objects
live in this process) and timed interleaved: every round runs each candidate once, and the report
gives per-candidate medians with the spread (min-max of the rounds), and the abi3/full ratio.

What differs (src/capi/strings.rs, bytes.rs): the abi3 build reads a str through
PyUnicode_AsUTF8AndSize (no copy for ASCII; otherwise encoded once and cached in the str), or a
UCS-4 copy for a str with a lone surrogate; and bytes through PyBytes_AsStringAndSize. "fresh"
inputs are new str objects each round (the UTF-8 cache starts empty, as for text just read);
"again" reuses one object (the cache is warm after the first call). str.count('\\n') is what
PyUnicode_Count, the other limited-API option, would run (with the GIL held).
"""
import argparse
import glob
import importlib.machinery
import importlib.util
import os
import statistics
import sysconfig
import time
from types import ModuleType
from typing import Any, Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(path: str, label: str) -> ModuleType:
    # The loader comes from the file's suffix (an extension module's: ExtensionFileLoader).
    spec = importlib.util.spec_from_file_location("rawcapi", path)
    assert spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader), (label, spec)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.__file__ is not None and os.path.samefile(module.__file__, path), (label, module.__file__)
    return module


def rounds_of(make: Callable[[], Any], count: int) -> list[Any]:
    """`count` distinct (but equal) inputs: a fresh object for every round."""
    return [make() for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", default=os.path.join(ROOT, "rawcapi" + sysconfig.get_config_var("EXT_SUFFIX")))
    parser.add_argument("--abi3", default=os.path.join(ROOT, "build", "matrix", "abi3", "rawcapi.abi3.so"))
    parser.add_argument("--rounds", type=int, default=31)
    args = parser.parse_args()
    full, abi3 = load(args.full, "full"), load(args.abi3, "abi3")

    line = "the quick brown fox jumps over the lazy dog\n"
    size = 1 << 20
    texts = {
        "ascii str 1 MB": line * (size // len(line)),
        "latin-1 str 1 MB": line.replace("o", "\xf6") * (size // len(line)),
        "ucs-2 str 1 MB": line.replace("o", "\u4e2d") * (size // len(line)),
        "ucs-4 str 1 MB": line.replace("o", "\U0001f600") * (size // len(line)),
        "str with lone surrogate 1 MB": line * (size // len(line)) + "\ud800",
        "ascii str 40 B": line[:39] + "\n",
    }
    cases: list[tuple[str, list[Any]]] = []
    for name, text in texts.items():
        # A new object with the same characters (slicing + concatenation builds a new str).
        fresh = rounds_of(lambda: text[:-1] + text[-1], args.rounds)
        cases.append((name + ", fresh", fresh))
        cases.append((name + ", again", [text] * args.rounds))
    data = bytes(range(256)) * (size // 256)
    cases.append(("bytes 1 MB (fast_sum)", [data] * args.rounds))
    cases.append(("bytes 40 B (fast_sum)", [data[:40]] * args.rounds))

    print(f"{'input':40} {'full API':>20} {'abi3':>20} {'abi3/full':>10} {'str.count':>12}")
    for name, inputs in cases:
        func_name = "fast_sum" if "fast_sum" in name else "count_lines"
        small = "40 B" in name
        repeat = 2000 if small else 1
        candidates: dict[str, Callable[[Any], Any]] = {"full": getattr(full, func_name), "abi3": getattr(abi3, func_name)}
        if func_name == "count_lines":
            candidates["str.count"] = lambda s: s.count("\n")
            assert full.count_lines(inputs[0]) == abi3.count_lines(inputs[0]) == inputs[0].count("\n")
        else:
            assert full.fast_sum(inputs[0]) == abi3.fast_sum(inputs[0]) == sum(inputs[0])
        # "fresh" needs a separate fresh object per candidate too.
        per_candidate = {c: ([i[:-1] + i[-1] for i in inputs] if "fresh" in name else inputs) for c in candidates}
        times: dict[str, list[float]] = {c: [] for c in candidates}
        for r in range(args.rounds):
            for c, func in candidates.items():
                arg = per_candidate[c][r]
                start = time.perf_counter_ns()
                for _ in range(repeat):
                    func(arg)
                times[c].append((time.perf_counter_ns() - start) / repeat)
        med = {c: statistics.median(t) for c, t in times.items()}

        def show(c: str) -> str:
            unit, scale = ("ns", 1) if med[c] < 1000 else ("us", 1000)
            return f"{med[c] / scale:7.1f} {unit} ({min(times[c]) / scale:.1f}-{max(times[c]) / scale:.1f})"

        ref = show("str.count") if "str.count" in med else ""
        print(f"{name:40} {show('full'):>20} {show('abi3'):>20} {med['abi3'] / med['full']:10.2f} {ref:>12}")


if __name__ == "__main__":
    main()

"""Item 5: memory pressure. In a subprocess under an address-space limit (RLIMIT_AS), the C heap
is drained until malloc returns NULL at every size; then every good case of every callable runs.
Each call must either give the oracle's answer or raise MemoryError — never abort the process
(Rust's infallible `Box::new`/`Vec` would: `handle_alloc_error` aborts) — and once the memory is
given back, every call works again.
"""
import os
import subprocess
import sys
import textwrap

import pytest

import rawcapi

CHILD = textwrap.dedent(
    r"""
    import ctypes, resource, sys
    sys.path.insert(0, {tests!r})
    import rawcapi
    from callables import SPECS, plain

    # Everything the calls need is made before the limit: arguments and expected answers.
    calls = []
    for spec in SPECS:
        if spec.oracle:
            for case in spec.good:
                calls.append((spec, case.label, (case.make(), case.kwargs), spec.oracle(*case.make(), **case.kwargs)))
    calls.append((None, "impossible request", None, None))

    def vm_size():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024

    limit = vm_size() + (64 << 20)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))  # the soft limit only: it can go back

    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_size_t
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_size_t]
    hoard = (ctypes.c_size_t * 4_000_000)()
    held = 0
    outcomes = {{"correct": 0, "MemoryError": 0}}
    wrong = []

    def drain():
        # malloc at halving sizes until it fails at each: afterwards no request of 16 bytes or
        # more can be served (pymalloc's existing pools aside).
        global held
        size = 1 << 26
        while size >= 16 and held < len(hoard):
            p = libc.malloc(size)
            if p:
                hoard[held] = p
                held += 1
            else:
                size //= 2

    def run_all(strict):
        for spec, label, args, expected in calls:
            try:
                if spec is None:
                    # An impossible request must be refused with MemoryError, here by Python.
                    bytearray(1 << 40)
                    result, expected = "allocated", "MemoryError"
                else:
                    result = spec.func(*args[0], **args[1])
            except MemoryError:
                if strict and spec is not None:
                    wrong.append(f"{{label}}: MemoryError with memory available")
                outcomes["MemoryError"] += 1
                continue
            if plain(result) == plain(expected):
                outcomes["correct"] += 1
            else:
                wrong.append(f"{{label}}: {{result!r}} != {{expected!r}}")

    drain()
    run_all(strict=False)
    under_pressure = dict(outcomes)
    for i in range(held):
        libc.free(hoard[i])
    freed = held
    held = 0
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    outcomes.update(correct=0, MemoryError=0)
    run_all(strict=True)
    print("under pressure", under_pressure, "after", outcomes, "blocks drained", freed, "wrong", wrong)
    sys.exit(1 if wrong else 0)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
def test_calls_under_exhausted_heap_fail_cleanly_and_recover():
    tests = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.abspath(rawcapi.__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, tests]), RUST_BACKTRACE="0")
    out = subprocess.run([sys.executable, "-c", CHILD.format(tests=tests)], capture_output=True, text=True, env=env, timeout=300)
    # A negative return code is a signal: SIGABRT from an infallible allocation, SIGSEGV...
    assert out.returncode == 0, f"rc={out.returncode}\n{out.stdout}\n{out.stderr[-3000:]}"
    assert "under pressure" in out.stdout
    # The drain must really have made rawcapi's own allocation (the Py_buffer box) fail at least
    # once, or the test proved nothing.
    pressure = out.stdout.split("under pressure ")[1].split(" after")[0]
    assert "'MemoryError': 0}" not in pressure, out.stdout
    print(out.stdout)

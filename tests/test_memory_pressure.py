"""Item 5: memory pressure, in subprocesses under an address-space limit (RLIMIT_AS).

1. Exhausted heap: the C heap is drained until malloc returns NULL at every size down to 16
   bytes (checked); then every good case of the buffer-scanning functions (EXHAUSTED_HEAP_SAFE)
   runs. Each call must give the oracle's answer or raise MemoryError — never abort the process (Rust's
   infallible `Box::new`/`Vec` would: `handle_alloc_error` aborts) — and once the memory is given
   back, every call works again. Other callables allocate small fixed-size bookkeeping (shape
   and stride vectors, message strings) with Rust's infallible collections, which abort when
   even 16 bytes cannot be had (docs/09-reliability.md says so); they are checked by 2.
2. User-sized requests (LARGE_REQUESTS): with 64 MiB of address space left, every allocation
   whose size the caller chooses raises MemoryError, the module keeps working under the limit,
   and the same requests succeed once the limit is lifted, with the answer an oracle computes
   in plain Python from the same inputs (shape, buffer format and every element).
"""
import os
import subprocess
import sys
import sysconfig
import textwrap

import pytest

import rawcapi

EXHAUSTED_HEAP_SAFE = {"fast_sum", "count_lines"}

# The free-threaded build allocates Python objects with mimalloc, which reserves its arena up front
# (3.13.5t: VmSize 1,058,760 kB with 12 MB resident at start, unchanged after 200 MB of bytearrays)
# and serves objects from inside it. An address-space limit set from VmSize then bounds only the
# C heap: a request that fails in a Python object's allocation is not refused there, and the
# exhausted-heap drain's small blocks can spread over every page of RAM.
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
MIMALLOC = "free-threaded build: mimalloc's reserved arena is not bounded by RLIMIT_AS set from VmSize"
# The cases whose refused allocation is a Python object's (a list, a tuple), not rawcapi's.
PYTHON_OBJECT_REQUESTS = {"Array.tolist 16 Mi floats", "Array(flat list of 10**7 ints), the tuple fits"}

CHILD = textwrap.dedent(
    r"""
    import ctypes, os, resource, sys
    DEBUG = os.environ.get("RAWCAPI_PRESSURE_DEBUG")
    sys.path.insert(0, {tests!r})
    import rawcapi
    from callables import SPECS, plain

    # Everything the calls need is made before the limit: arguments and expected answers.
    calls = []
    for spec in SPECS:
        if spec.oracle and spec.name in {safe!r}:
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
    outcomes = {{"correct": 0, "MemoryError": 0, "rawcapi MemoryError": 0}}
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
        # glibc keeps freed small chunks in exact-size bins (tcache, fastbins) that a request of
        # another size never takes: empty every small size class too.
        for size in range(1024, 0, -8):
            while held < len(hoard):
                p = libc.malloc(size)
                if not p:
                    break
                hoard[held] = p
                held += 1

    def run_all(strict):
        for spec, label, args, expected in calls:
            try:
                if spec is None:
                    # An impossible request must be refused with MemoryError, here by Python.
                    bytearray(1 << 40)
                    result, expected = "allocated", "MemoryError"
                else:
                    if DEBUG:
                        print("CALL", label, flush=True)
                    result = spec.func(*args[0], **args[1])
            except MemoryError:
                if strict and spec is not None:
                    wrong.append(f"{{label}}: MemoryError with memory available")
                outcomes["MemoryError" if spec is None else "rawcapi MemoryError"] += 1
                continue
            if plain(result) == plain(expected):
                outcomes["correct"] += 1
            else:
                wrong.append(f"{{label}}: {{result!r}} != {{expected!r}}")

    drain()
    exhausted = libc.malloc(16) == 0  # the proof that the drain worked
    run_all(strict=False)
    under_pressure = dict(outcomes)
    for i in range(held):
        libc.free(hoard[i])
    freed = held
    held = 0
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    outcomes.update({{"correct": 0, "MemoryError": 0, "rawcapi MemoryError": 0}})
    run_all(strict=True)
    print("exhausted", exhausted, "under pressure", under_pressure, "after", outcomes, "blocks drained", freed, "wrong", wrong)
    sys.exit(1 if wrong else 0)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
@pytest.mark.skipif(FREE_THREADED, reason=MIMALLOC)
def test_calls_under_exhausted_heap_fail_cleanly_and_recover():
    tests = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.abspath(rawcapi.__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, tests]), RUST_BACKTRACE="0")
    out = subprocess.run([sys.executable, "-c", CHILD.format(tests=tests, safe=EXHAUSTED_HEAP_SAFE)], capture_output=True, text=True, env=env, timeout=300)
    # A negative return code is a signal: SIGABRT from an infallible allocation, SIGSEGV...
    assert out.returncode == 0, f"rc={out.returncode}\n{out.stdout}\n{out.stderr[-3000:]}"
    # The drain must really have left no 16 bytes to allocate, or the test proved nothing.
    assert out.stdout.startswith("exhausted True under pressure"), out.stdout
    print(out.stdout)


# (label, setup run before the limit, the request, the check of its result once the limit is
# lifted): each asks for far more than 64 MiB. A check compares `result` with plain Python's
# answer for the same inputs, through `holds` (LIMITED below): the exported shape and format,
# and every element, in C order (a complex128 as its real and imaginary float64), equal by value.
ZEROS_2D = 'holds(result, (4096, 4096), "d", array("d", [0.0]) * (1 << 24))'
# Non-zero inputs where a wrong or missing write would show (a fresh result's pages are zeros).
RANGE_SETUP = "big = rawcapi.arange(float(1 << 24)).reshape(4096, 4096)"
RANGE_2D = 'holds(result, (4096, 4096), "d", array("d", range(1 << 24)))'
# 7**9 int64 elements over one 8-byte element, made before the limit; and the text its repr
# must be, built in plain Python: first and last three of every dimension.
ZERO_STRIDE_SETUP = (
    "import numpy as np\n"
    "big = rawcapi.Array.frombuffer(np.lib.stride_tricks.as_strided(np.array([7], dtype=np.int64), (7,) * 9, (0,) * 9, writeable=False))\n"
    "def summarised_repr(ndim):\n"
    "    text = '7'\n"
    "    for _ in range(ndim):\n"
    "        text = '[' + ', '.join([text] * 3 + ['...'] + [text] * 3) + ']'\n"
    "    return 'Array(' + text + ', shape=(' + ', '.join(['7'] * ndim) + \"), dtype='int64')\"\n"
)
LARGE_REQUESTS = [
    ("zeros 512 MiB", "", "rawcapi.zeros(1 << 26)", 'holds(result, (1 << 26,), "d", array("d", [0.0]) * (1 << 26))'),
    ("arange 512 MiB", "", "rawcapi.arange(1 << 26)", 'holds(result, (1 << 26,), INT64, array("q", range(1 << 26)))'),
    ("Array.copy 128 MiB", RANGE_SETUP, "big.copy()", RANGE_2D),
    ("Array.astype 256 MiB", "big = rawcapi.zeros((4096, 4096))", "big.astype('complex128')",
     'holds(result, (4096, 4096), "Zd", array("d", [0.0, 0.0]) * (1 << 24))'),
    ("Array.reshape copy 128 MiB", "big = rawcapi.zeros((4096, 4096))", "big.T.reshape(-1)",
     'holds(result, (1 << 24,), "d", array("d", [0.0]) * (1 << 24))'),
    ("Array(buffer) copy 128 MiB", RANGE_SETUP, "rawcapi.Array(memoryview(big))", RANGE_2D),
    ("Array.tolist 16 Mi floats", "big = rawcapi.zeros((4096, 4096))", "big.tolist()",
     "result == [[0.0] * 4096 for _ in range(4096)] and {type(x) for row in result for x in row} == {float}"),
    ("Array.sum axis output 256 MiB", "big = rawcapi.zeros((2, 1 << 25))", "big.sum(axis=0)",
     'holds(result, (1 << 25,), "d", array("d", [0.0 + 0.0]) * (1 << 25))'),
    ("Array(list) 10 M ints", "values = [0] * 10_000_000", "rawcapi.Array(values)",
     "holds(result, (10_000_000,), INT64, array('q', values))"),
    # Room for the tuple copies of the list (80 MB each, the shape's and the elements' walk)
    # but not for the 80 MB of element pointers gathered before the first is stored.
    ("Array(flat list of 10**7 ints), the tuple fits", "values = [1] * 10_000_000", "rawcapi.Array(values)",
     "holds(result, (10_000_000,), INT64, array('q', values))"),
    # A few MiB: the row tuples (2000 x 16 kB) and the 4 Mi element pointers do not fit.
    ("Array(nested list) 2000 x 2000", "rows = [[1] * 2000 for _ in range(2000)]", "rawcapi.Array(rows)",
     "holds(result, (2000, 2000), INT64, array('q', [1]) * 4_000_000)"),
    # A summarised repr shows 6 of each dimension: 6**9 elements, a text of 36 MB.
    ("repr of a (7,) * 9 zero-stride view", ZERO_STRIDE_SETUP, "repr(big)", "result == summarised_repr(9)"),
    ("Array.__getitem__ view, then a 128 MiB copy", RANGE_SETUP, "big[::-1, ::-1].copy()",
     'holds(result, (4096, 4096), "d", array("d", range((1 << 24) - 1, -1, -1)))'),
] if hasattr(rawcapi, "Array") else []
if hasattr(rawcapi, "matmul"):
    LARGE_REQUESTS += [
        # Every product is 0.0 * 0.0 (a sum of one term for the outer product, of 4096 for a.T @ a).
        ("matmul output 128 MiB", "a = rawcapi.zeros((4096, 1)); b = rawcapi.zeros((1, 4096))", "rawcapi.matmul(a, b)", ZEROS_2D),
        ("matmul of large operands (128 MiB result)", "a = rawcapi.zeros((4096, 4096))", "rawcapi.matmul(a.T, a)", ZEROS_2D),
        # The DFT of zeros is zeros.
        ("fft 8 Mi points (output and scratch)", "a = rawcapi.zeros(1 << 23)", "rawcapi.fft(a)",
         'holds(result, (1 << 23,), "Zd", array("d", [0.0, 0.0]) * (1 << 23))'),
        # rustfft builds a plan's twiddle tables with infallible allocations: when the plan
        # itself does not fit, the process aborts inside the dependency (docs/09-reliability.md).
        ("fft of a large prime length (plan built by rustfft)", "a = rawcapi.zeros(1000003)", "rawcapi.fft(a, n=4000037)",
         'holds(result, (4000037,), "Zd", array("d", [0.0, 0.0]) * 4000037)',
         "rustfft allocates plan tables infallibly: the process aborts"),
    ]
if hasattr(rawcapi, "add"):
    LARGE_REQUESTS += [
        ("add output 128 MiB", RANGE_SETUP, "rawcapi.add(big, 1.0)",
         'holds(result, (4096, 4096), "d", array("d", range(1, (1 << 24) + 1)))'),
        ("broadcast add 128 MiB", "a = rawcapi.zeros((4096, 1)); b = rawcapi.zeros((1, 4096))", "a + b",
         'holds(result, (4096, 4096), "d", array("d", [0.0 + 0.0]) * (1 << 24))'),
    ]

LIMITED = textwrap.dedent(
    """
    import resource, struct, rawcapi
    from array import array
    # rawcapi exports int64 as C's long where that is 8 bytes (as NumPy does), else long long.
    INT64 = "l" if struct.calcsize("l") == 8 else "q"
    def holds(result, shape, fmt, flat):
        # `flat` (an array.array) in C order; a complex element is read as two float64.
        view = memoryview(result)
        return view.shape == shape and view.format == fmt and view.cast("B").cast(flat.typecode) == flat
    {setup}
    def vm_size():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm_size() + ({headroom} << 20), hard))
    try:
        result = {request}
        print("ALLOCATED")
    except MemoryError:
        print("MemoryError")
    print("SMALL", rawcapi.fast_sum(b"\\x01" * 100) == 100 and (not hasattr(rawcapi, "zeros") or rawcapi.zeros(10).sum() == 0))
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    result = {request}
    print("AFTER", {check})
    """
)


# Address space left under the limit, in MiB, where 64 would not make the request fail at the
# allocation the case is about.
HEADROOM_MIB = {
    "Array(flat list of 10**7 ints), the tuple fits": 200,
    "Array(nested list) 2000 x 2000": 4,
    "repr of a (7,) * 9 zero-stride view": 16,
}


def _params():
    for label, setup, request_, check, *known_abort in LARGE_REQUESTS:
        # A known abort in a dependency stays in the table as a strict xfail: it is reported as
        # long as it happens, and the test fails the day it stops (then drop the mark).
        marks = [pytest.mark.xfail(strict=True, reason=known_abort[0])] if known_abort else []
        if FREE_THREADED and label in PYTHON_OBJECT_REQUESTS:
            marks.append(pytest.mark.skip(reason=MIMALLOC))
        yield pytest.param(label, setup, request_, check, id=label, marks=marks)


@pytest.mark.skipif(not LARGE_REQUESTS, reason="no callable allocates by request yet")
@pytest.mark.parametrize("label, setup, request_, check", list(_params()))
def test_user_sized_allocations_raise_memoryerror_under_rlimit(label, setup, request_, check):
    root = os.path.dirname(os.path.abspath(rawcapi.__file__))
    code = LIMITED.format(setup=setup, request=request_, check=check, headroom=HEADROOM_MIB.get(label, 64))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=root, RUST_BACKTRACE="0"))
    assert out.returncode == 0, f"{label}: rc={out.returncode}\n{out.stderr[-2000:]}"
    assert out.stdout.split() == ["MemoryError", "SMALL", "True", "AFTER", "True"], out.stdout


THREADS_UNAVAILABLE = textwrap.dedent(
    """
    import resource, rawcapi
    rawcapi.set_num_threads(4)
    rawcapi._set_parallel_threshold(1 << 16)
    data = bytearray(b"\\x01") * (1 << 22)
    text = "\\n" * (1 << 22)
    def vm_size():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    # 1 MiB of address space left: no 2 MiB thread stack can be mapped.
    resource.setrlimit(resource.RLIMIT_AS, (vm_size() + (1 << 20), hard))
    print(rawcapi.fast_sum(data) == 1 << 22, rawcapi.count_lines(text) == 1 << 22)
    """
)


@pytest.mark.skipif(not hasattr(rawcapi, "set_num_threads"), reason="no multi-threaded kernels yet")
def test_threads_that_cannot_be_spawned_do_not_fail_the_call():
    """Worker threads whose stacks cannot be mapped: the pieces run on the calling thread.
    (Not under a drained heap: glibc itself aborts a new thread that cannot allocate its
    thread-local storage — 'cannot allocate memory for thread-local data: ABORT' — see
    docs/09-reliability.md.)"""
    root = os.path.dirname(os.path.abspath(rawcapi.__file__))
    out = subprocess.run([sys.executable, "-c", THREADS_UNAVAILABLE], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=root, RUST_BACKTRACE="0"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "True"], out.stdout


HUGE_TEXT = textwrap.dedent(
    """
    import resource, rawcapi
    # 400 MB of the user's text where a short name belongs. An error message or a name lookup
    # copies at most 200 characters of it (as CPython's own "%.200s" does): a copy of the whole
    # text, infallible in Rust, would abort the process when the heap cannot give 400 MB more.
    big = "a" * 400_000_000
    class Big(int):
        def __str__(self):
            return big
    Named = type(big, (), {})
    cases = {
        "fft norm": lambda: rawcapi.fft(rawcapi.zeros(4), norm=big),
        "Array dtype": lambda: rawcapi.Array([1.0], dtype=big),
        "zeros of an object with a 400 MB type name": lambda: rawcapi.zeros(Named()),
        "uint8 + an int whose str is 400 MB": lambda: rawcapi.zeros(3, dtype="uint8") + Big(1000),
    }
    def vm_size():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm_size() + (64 << 20), hard))
    for label, call in cases.items():
        try:
            call()
            print(label, "returned")
        except (TypeError, ValueError, OverflowError, MemoryError) as e:
            print(label, type(e).__name__, len(str(e)) < 1000)
    """
)


def test_messages_about_huge_user_text_raise_instead_of_aborting():
    out = subprocess.run([sys.executable, "-c", HUGE_TEXT], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(rawcapi.__file__))))
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert len(lines) == 4, out.stdout
    for line in lines:
        # The refusal each call makes without a limit, with a message of bounded size.
        assert line.endswith(("TypeError True", "ValueError True", "OverflowError True")), lines

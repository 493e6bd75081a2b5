"""How fast is rawcapi? One process, interleaved rounds, medians with their spread.

    python examples/bench.py                  # the full run (needs ~4 GB of RAM, a few minutes)
    python examples/bench.py --quick          # small sizes only, seconds
    python examples/bench.py --markdown docs/bench-table.md --plot bench.png
    python examples/bench.py --threshold      # where splitting across threads starts to pay

Build first, in release: `python setup.py build_ext --inplace` (rawcapi and the article's C
original `fast_sum`). NumPy and matplotlib are used when installed.

Method. Every group of candidates is timed in rounds; in each round every candidate is timed
once, in an order that rotates from round to round, so slow drift of the machine (other
processes, frequency, page cache) hits all candidates alike. A sample is the time of enough
calls to last ~20 ms, divided by their number. The report gives the median over rounds, the
interquartile range (IQR) as the spread, and ratios computed *per round* then reduced to their
median. Before timing, all candidates of a group are checked to return the same answer: both sides
of every comparison do the same work, called from Python. The `cpu/wall` column is the CPU time
the process got per second of a sample: ~1 for one busy thread, ~N for N; well below that means
other processes had the cores (subprocess candidates such as `wc` show ~0: their CPU is not ours).

Bandwidth probe. A small C program, written to a temporary directory and compiled with
`cc -O3 -march=native`, sums a buffer as 64-bit words on 1 and N threads with the widest vector
loads the compiler is allowed (AVX-512 or AVX2 intrinsics, else a plain loop), nothing but loads
and adds. It shares no code with rawcapi and is the yardstick "what this
machine can read": every large rawcapi figure is also printed as a share of the probe's figure
measured in the same rounds.
"""
import argparse
import mmap
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import rawcapi  # noqa: E402

try:
    import fast_sum as c_original
except ImportError:
    c_original = None
try:
    import numpy as np
except ImportError:
    np = None

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

# The clock of the per-call groups: wall time by default; `--clock cpu` uses this process's CPU
# time instead, which leaves out the time the process waits for a CPU on a loaded machine (the
# per-call candidates are single-threaded, so CPU time is their running time).
PER_CALL_CLOCK = time.perf_counter


def human(nbytes):
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if nbytes >= size and nbytes % size == 0:
            return f"{nbytes // size} {unit}"
    return f"{nbytes} B"


def parse_size(text):
    text = text.strip().upper()
    for suffix, factor in (("GIB", GiB), ("MIB", MiB), ("KIB", KiB), ("G", GiB), ("M", MiB), ("K", KiB)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(text)


def make_bytes(nbytes, newline_every=41):
    """Deterministic text-like bytes: every value occurs, a newline every `newline_every` bytes."""
    line = bytes((i * 37 + 11) % 256 if (i * 37 + 11) % 256 != 10 else 32 for i in range(newline_every - 1)) + b"\n"
    block = line * (MiB // len(line) + 1)
    return (block * (nbytes // len(block) + 1))[:nbytes]


def make_text(nbytes):
    """An ASCII str (1-byte PEP 393 storage) of about `nbytes` characters, lines of ~40."""
    line = "the quick brown fox jumps over the lazy dog\n"
    return (line * (nbytes // len(line) + 1))[:nbytes]


# --- the bandwidth probe ---------------------------------------------------------------------

PROBE_C = r"""
/* Read-bandwidth probe for examples/bench.py: sum a buffer as 64-bit words on T threads.
 * stdin: one thread count per line; stdout: seconds for one pass, and the sum (so the
 * compiler cannot drop the loads). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { const uint64_t *p; size_t n; uint64_t sum; } job;

#if defined(__AVX512F__)
#include <immintrin.h>
/* 256 bytes per step into four independent 64-bit-lane accumulators: nothing but loads and
 * adds, so the loop runs at whatever rate the memory system delivers. */
static uint64_t sum_words(const uint64_t *p, size_t n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 8));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 16));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 24));
    }
    uint64_t s = _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
    for (; i < n; i++) s += p[i];
    return s;
}
#elif defined(__AVX2__)
#include <immintrin.h>
static uint64_t sum_words(const uint64_t *p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(p + i + 4)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(p + i + 8)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(p + i + 12)));
    }
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
    uint64_t s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (; i < n; i++) s += p[i];
    return s;
}
#else
static uint64_t sum_words(const uint64_t *p, size_t n) {
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) { s0 += p[i]; s1 += p[i + 1]; s2 += p[i + 2]; s3 += p[i + 3]; }
    for (; i < n; i++) s0 += p[i];
    return s0 + s1 + s2 + s3;
}
#endif

static void *run(void *arg) {
    job *j = arg;
    j->sum = sum_words(j->p, j->n);
    return NULL;
}

int main(int argc, char **argv) {
    size_t bytes = strtoull(argv[1], NULL, 10) / 64 * 64;
    uint64_t *buf = aligned_alloc(64, bytes);
    if (!buf) return 1;
    memset(buf, 1, bytes);  /* fault every page in before timing */
    size_t words = bytes / 8;
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        int t = atoi(line);
        if (t <= 0 || t > 256) break;
        pthread_t tid[256];
        job jobs[256];
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int k = 0; k < t; k++) {
            /* pieces start on 64-byte boundaries (multiples of 8 words) for the aligned loads */
            size_t lo = words / 8 * k / t * 8, hi = k + 1 == t ? words : words / 8 * (k + 1) / t * 8;
            jobs[k] = (job){buf + lo, hi - lo, 0};
            if (k + 1 < t) pthread_create(&tid[k], NULL, run, &jobs[k]);
        }
        run(&jobs[t - 1]);
        uint64_t sum = jobs[t - 1].sum;
        for (int k = 0; k + 1 < t; k++) { pthread_join(tid[k], NULL); sum += jobs[k].sum; }
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%.9f %llu\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9, (unsigned long long)sum);
        fflush(stdout);
    }
    return 0;
}
"""


class Probe:
    """The compiled probe, kept running with its own buffer of `nbytes`, one pass per request."""

    def __init__(self, nbytes, tmpdir):
        src = os.path.join(tmpdir, "probe.c")
        exe = os.path.join(tmpdir, "probe")
        with open(src, "w") as f:
            f.write(PROBE_C)
        subprocess.run(["cc", "-O3", "-march=native", "-pthread", "-o", exe, src], check=True)
        self.nbytes = nbytes // 64 * 64
        self.proc = subprocess.Popen([exe, str(nbytes)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def seconds(self, threads):
        self.proc.stdin.write(f"{threads}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline().split()[0])

    def close(self):
        self.proc.stdin.write("0\n")
        self.proc.stdin.close()
        self.proc.wait()


# --- the calling conventions, in C -----------------------------------------------------------

CALLCONV_C = r"""
/* Where the per-call nanoseconds go: the same byte sum behind each calling convention. Built by
 * examples/bench.py next to its probe; compare with examples/fast_sum.c and
 * src/functions/fast_sum.rs. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static unsigned long long sum(const unsigned char *p, Py_ssize_t n) {
    unsigned long long total = 0;
    for (Py_ssize_t i = 0; i < n; i++) total += p[i];
    return total;
}

/* The article's: METH_VARARGS builds an argument tuple, "y*" parses a format and fills a view. */
static PyObject *varargs_ystar(PyObject *self, PyObject *args) {
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*", &view)) return NULL;
    unsigned long long total = sum(view.buf, view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(total);
}

/* METH_FASTCALL: arguments arrive as a C array, no tuple; the buffer protocol is still used. */
static PyObject *fastcall_buffer(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 1) { PyErr_SetString(PyExc_TypeError, "expected 1 argument"); return NULL; }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) return NULL;
    unsigned long long total = sum(view.buf, view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(total);
}

/* METH_O: the one argument is passed directly; the buffer protocol is still used. */
static PyObject *o_buffer(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    unsigned long long total = sum(view.buf, view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(total);
}

/* METH_O with an exact-bytes fast path: what rawcapi.fast_sum does for bytes. */
static PyObject *o_bytes(PyObject *self, PyObject *arg) {
    if (PyBytes_CheckExact(arg))
        return PyLong_FromUnsignedLongLong(sum((const unsigned char *)PyBytes_AS_STRING(arg), PyBytes_GET_SIZE(arg)));
    return o_buffer(self, arg);
}

/* The floor: a METH_O call that does nothing and returns None. */
static PyObject *o_empty(PyObject *self, PyObject *arg) { Py_RETURN_NONE; }

static PyMethodDef methods[] = {
    {"varargs_ystar", varargs_ystar, METH_VARARGS, NULL},
    {"fastcall_buffer", (PyCFunction)(void (*)(void))fastcall_buffer, METH_FASTCALL, NULL},
    {"o_buffer", o_buffer, METH_O, NULL},
    {"o_bytes", o_bytes, METH_O, NULL},
    {"o_empty", o_empty, METH_O, NULL},
    {NULL, NULL, 0, NULL}
};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "callconv", NULL, -1, methods};
PyMODINIT_FUNC PyInit_callconv(void) { return PyModule_Create(&module); }
"""


def build_callconv(tmpdir):
    """Compile CALLCONV_C as an extension module (same compiler flags as the C original's
    build) and import it; None when that is not possible."""
    import importlib.util
    import sysconfig

    src = os.path.join(tmpdir, "callconv.c")
    with open(src, "w") as f:
        f.write(CALLCONV_C)
    so = os.path.join(tmpdir, "callconv" + sysconfig.get_config_var("EXT_SUFFIX"))
    cflags = (sysconfig.get_config_var("CFLAGS") or "-O3").split()
    try:
        subprocess.run(["cc", *cflags, "-fPIC", "-shared", "-I", sysconfig.get_paths()["include"], "-o", so, src],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"(no calling-convention module: {e})")
        return None
    spec = importlib.util.spec_from_file_location("callconv", so)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- timing ----------------------------------------------------------------------------------

class Candidate:
    """One thing to time: `call()` does the work once; `setup()` runs untimed before each sample
    (e.g. `set_num_threads`). `seconds`, when given, replaces timing `call` (the probe reports
    its own time)."""

    def __init__(self, label, call, setup=None, seconds=None, nbytes=None, check=True, stmt=None):
        self.label, self.call, self.setup, self.own_seconds = label, call, setup, seconds
        self.nbytes, self.check, self.samples, self.number = nbytes, check, [], 1
        # CPU time this process got per wall-clock second of the sample: ~1 for one busy thread,
        # ~N for N busy threads; well below that means the machine gave it less (other load).
        self.cpu_share = []
        # For per-call timings: a statement compiled into timeit's loop, so no Python-level
        # wrapper call is added to the few tens of nanoseconds being measured.
        self.timer = None if stmt is None else timeit.Timer(stmt[0], globals=stmt[1])

    def calibrate(self, target):
        if self.own_seconds is not None:
            return
        if self.setup:
            self.setup()
        number = 1
        while True:
            t = self._time(number)
            if t >= target or number >= 1 << 24:
                break
            number *= max(2, min(100, int(target / max(t, 1e-9))))
        self.number = number

    def _time(self, number):
        if self.timer is not None:
            if PER_CALL_CLOCK is not time.perf_counter:
                self.timer.timer = PER_CALL_CLOCK
            return self.timer.timeit(number)
        call = self.call
        start = time.perf_counter()
        for _ in range(number):
            call()
        return time.perf_counter() - start

    def sample(self):
        if self.own_seconds is not None:
            self.samples.append(self.own_seconds())
            return
        if self.setup:
            self.setup()
        cpu, wall = time.process_time(), time.perf_counter()
        elapsed = self._time(self.number)  # on the per-call clock
        wall = time.perf_counter() - wall
        self.cpu_share.append((time.process_time() - cpu) / wall)
        self.samples.append(elapsed / self.number)

    def median(self):
        return statistics.median(self.samples)

    def iqr(self):
        if len(self.samples) < 4:
            return max(self.samples) - min(self.samples)
        q = statistics.quantiles(self.samples, n=4)
        return q[2] - q[0]


def run_group(title, candidates, rounds, target, baseline=None, probe=None, results=None):
    """Time `candidates` in interleaved rounds; print and record medians, spread and ratios.

    `baseline`: label the ratios are "times faster than"; `probe`: label of the probe candidate
    whose bandwidth the shares are relative to (the 1-thread probe for 1-thread candidates, the
    all-threads probe for the others)."""
    answers = {c.label: c.call() for c in candidates if c.check and c.own_seconds is None}
    if len(set(answers.values())) > 1:
        raise AssertionError(f"{title}: candidates disagree: {answers}")
    for c in candidates:
        c.calibrate(target)
    for r in range(rounds):
        k = r % len(candidates)
        for c in candidates[k:] + candidates[:k]:
            c.sample()
    by_label = {c.label: c for c in candidates}
    print(f"\n## {title}")
    print(f"  {'candidate':34s} {'median':>10s} {'IQR':>9s} {'GB/s':>8s} {'x ' + (baseline or ''):>14s} {'of probe':>9s} {'cpu/wall':>8s}")
    for c in candidates:
        med = c.median()
        gbs = c.nbytes / med / 1e9 if c.nbytes else None
        ratio = None
        if baseline and baseline in by_label and c.label != baseline:
            base = by_label[baseline]
            ratio = statistics.median(b / s for b, s in zip(base.samples, c.samples))
        share = None
        if probe and c.nbytes and c.label.startswith("rawcapi"):
            ref = by_label.get(probe[0] if "1 thread" in c.label else probe[1])
            if ref:
                share = statistics.median((c.nbytes / s) / (ref.nbytes / p) for p, s in zip(ref.samples, c.samples))
        row = {
            "group": title, "candidate": c.label, "median_s": med, "iqr_s": c.iqr(), "gbps": gbs,
            "ratio": ratio, "baseline": baseline, "share_of_probe": share, "samples": list(c.samples),
            "cpu_share": statistics.median(c.cpu_share) if c.cpu_share else None,
        }
        if results is not None:
            results.append(row)
        print(f"  {c.label:34s} {fmt_time(med):>10s} {fmt_time(c.iqr()):>9s} "
              f"{'' if gbs is None else f'{gbs:8.2f}':>8s} {'' if ratio is None else f'{ratio:13.2f}x':>14s} "
              f"{'' if share is None else f'{share:8.0%}':>9s} "
              f"{'' if row['cpu_share'] is None else format(row['cpu_share'], '8.2f'):>8s}")
    return by_label


def fmt_time(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


# --- the groups ------------------------------------------------------------------------------

def py_fast_sum(data):
    """The article's loop in pure Python."""
    total = 0
    for byte in data:
        total += byte
    return total


def py_count_lines(data):
    count = 0
    for unit in data:
        if unit == 10 or unit == "\n":
            count += 1
    return count


def with_threads(n):
    return lambda: rawcapi.set_num_threads(n)


def per_call(args, results, callconv):
    data = b"hello world"
    env = {"data": data, "rawcapi": rawcapi, "py_fast_sum": py_fast_sum, "sum": sum, "len": len,
           "c_original": c_original, "callconv": callconv,
           "rawcapi_fast_sum": rawcapi.fast_sum, "rawcapi_count_lines": rawcapi.count_lines,
           "c_fast_sum": c_original.fast_sum if c_original else None,
           "bytearray_data": bytearray(data), "memoryview_data": memoryview(data)}
    # Every statement calls a local name (timeit's globals), so no attribute lookup is timed.
    for name in ("varargs_ystar", "fastcall_buffer", "o_buffer", "o_bytes", "o_empty"):
        env[name] = getattr(callconv, name, None)

    def cand(label, stmt, check=True):
        return Candidate(label, lambda: eval(stmt, env), stmt=(stmt, env), check=check)

    cands = [cand("rawcapi.fast_sum", "rawcapi_fast_sum(data)")]
    if c_original:
        cands.append(cand("C original fast_sum", "c_fast_sum(data)"))
    cands += [
        cand("pure Python loop", "py_fast_sum(data)"),
        cand("builtin sum(b)", "sum(data)"),
        cand("empty call: len(b) (not a sum)", "len(data)", check=False),
    ]
    base = "C original fast_sum" if c_original else "pure Python loop"
    clock = "" if PER_CALL_CLOCK is time.perf_counter else " [CPU-time clock]"
    run_group(f"per call: fast_sum(b'hello world'){clock}", cands, args.rounds * 2, args.target, baseline=base, results=results)
    if callconv is None:
        return
    cands = [
        cand("C METH_VARARGS + y* (the article)", "varargs_ystar(data)"),
        cand("C METH_FASTCALL + GetBuffer", "fastcall_buffer(data)"),
        cand("C METH_O + GetBuffer", "o_buffer(data)"),
        cand("C METH_O + exact-bytes path", "o_bytes(data)"),
        cand("rawcapi.fast_sum (METH_O + bytes)", "rawcapi_fast_sum(data)"),
        cand("rawcapi.fast_sum(bytearray)", "rawcapi_fast_sum(bytearray_data)"),
        cand("rawcapi.fast_sum(memoryview)", "rawcapi_fast_sum(memoryview_data)"),
        cand("rawcapi.count_lines (small-int result)", "rawcapi_count_lines(data)", check=False),
        cand("C METH_O returning None (empty)", "o_empty(data)", check=False),
    ]
    run_group(f"per call: where the nanoseconds go (b'hello world'){clock}", cands, args.rounds * 2, args.target,
              baseline="C METH_VARARGS + y* (the article)", results=results)


def sums(args, probes, results):
    n = args.threads
    for size in args.sum_sizes:
        data = make_bytes(size)
        cands = [
            Candidate(f"rawcapi 1 thread", lambda: rawcapi.fast_sum(data), setup=with_threads(1), nbytes=size),
            Candidate(f"rawcapi {n} threads", lambda: rawcapi.fast_sum(data), setup=with_threads(n), nbytes=size),
        ]
        if c_original:
            cands.append(Candidate("C original", lambda: c_original.fast_sum(data), nbytes=size))
        if np is not None:
            cands.append(Candidate("numpy frombuffer().sum()", lambda: int(np.frombuffer(data, np.uint8).sum()), nbytes=size))
        if size <= args.python_max:
            cands.append(Candidate("builtin sum()", lambda: sum(data), nbytes=size))
            cands.append(Candidate("pure Python loop", lambda: py_fast_sum(data), nbytes=size))
        probe = probe_candidates(probes, size, n, cands)
        base = "C original" if c_original else None
        run_group(f"fast_sum, {human(size)} bytes", cands, args.rounds, args.target, baseline=base, probe=probe, results=results)
        del data, cands


def probe_candidates(probes, size, n, cands):
    """Add the probe (1 and n threads) to a group whose size the probe was started for."""
    probe = probes.get(size)
    if probe is None:
        return None
    cands.append(Candidate("probe 1 thread", None, seconds=lambda: probe.seconds(1), nbytes=probe.nbytes))
    cands.append(Candidate(f"probe {n} threads", None, seconds=lambda: probe.seconds(n), nbytes=probe.nbytes))
    return ("probe 1 thread", f"probe {n} threads")


def paths(args, results):
    """Each SIMD path the CPU supports, one thread: what §1 and §2 of docs/appendix-a-speed.md compare."""
    for size in args.path_sizes:
        data = make_bytes(size)
        for what, fn in (("fast_sum", rawcapi.fast_sum), ("count_lines", rawcapi.count_lines)):
            cands = []
            for path in rawcapi._simd_paths():
                def setup(path=path):
                    rawcapi.set_num_threads(1)
                    rawcapi._set_simd_path(path)
                cands.append(Candidate(f"rawcapi {what}, {path}", lambda fn=fn: fn(data), setup=setup, nbytes=size))
            saved = rawcapi._simd_path()
            try:
                run_group(f"SIMD paths: {what}, {human(size)}, 1 thread", cands, args.rounds, args.target,
                          baseline=cands[-1].label, results=results)
            finally:
                rawcapi._set_simd_path(saved)
        del data


def counts(args, probes, results):
    n = args.threads
    for size in args.count_sizes:
        data = make_bytes(size)
        cands = [
            Candidate("rawcapi 1 thread", lambda: rawcapi.count_lines(data), setup=with_threads(1), nbytes=size),
            Candidate(f"rawcapi {n} threads", lambda: rawcapi.count_lines(data), setup=with_threads(n), nbytes=size),
            Candidate("bytes.count(b'\\n')", lambda: data.count(b"\n"), nbytes=size),
        ]
        if np is not None:
            cands.append(Candidate("numpy count_nonzero(a == 10)", lambda: int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10)), nbytes=size))
        if size <= args.python_max:
            cands.append(Candidate("pure Python loop", lambda: py_count_lines(data), nbytes=size))
        probe = probe_candidates(probes, size, n, cands)
        run_group(f"count_lines(bytes), {human(size)}", cands, args.rounds, args.target, baseline="bytes.count(b'\\n')", probe=probe, results=results)
        del data, cands
        text = make_text(size)
        cands = [
            Candidate("rawcapi 1 thread", lambda: rawcapi.count_lines(text), setup=with_threads(1), nbytes=size),
            Candidate(f"rawcapi {n} threads", lambda: rawcapi.count_lines(text), setup=with_threads(n), nbytes=size),
            Candidate("str.count('\\n')", lambda: text.count("\n"), nbytes=size),
        ]
        if size <= args.python_max:
            cands.append(Candidate("pure Python loop", lambda: py_count_lines(text), nbytes=size))
        run_group(f"count_lines(str), {human(size)} ASCII", cands, args.rounds, args.target, baseline="str.count('\\n')", results=results)
        del text, cands


def mmap_file(args, tmpdir, results):
    """Lines of a file in the page cache: rawcapi on an mmap against the command-line tools."""
    size = args.file_size
    path = os.path.join(tmpdir, "lines.txt")
    with open(path, "wb") as f:
        chunk = make_bytes(64 * MiB)
        for _ in range(size // len(chunk)):
            f.write(chunk)
        f.write(chunk[: size % len(chunk)])
    expected = None

    def rawcapi_mmap():
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return rawcapi.count_lines(m)

    def tool(argv):
        return lambda: int(subprocess.run(argv + [path], capture_output=True, text=True, check=True).stdout.split()[0])

    expected = rawcapi_mmap()
    cands = [
        Candidate(f"rawcapi mmap, {args.threads} threads", rawcapi_mmap, setup=with_threads(args.threads), nbytes=size),
        Candidate("rawcapi mmap, 1 thread", rawcapi_mmap, setup=with_threads(1), nbytes=size),
        Candidate("wc -l", tool(["wc", "-l"]), nbytes=size),
        Candidate("grep -c ''", tool(["grep", "-c", ""]), nbytes=size, check=False),  # also counts an unterminated last line
    ]
    assert expected == cands[2].call()
    run_group(f"lines of a {human(size)} file in the page cache (open + mmap + count)", cands, args.rounds, args.target, baseline="wc -l", results=results)
    os.unlink(path)


def python_threads(args, results, tmpdir):
    """N Python threads, each summing its own buffer, against one thread doing the same calls;
    the probe over the same total size shows how far this machine lets N threads scale at all."""
    n, size, calls = args.threads, args.thread_buffer, 3
    buffers = [make_bytes(size) for _ in range(n)]

    def one_thread(fn):
        for _ in range(calls):
            for b in buffers:
                fn(b)

    def n_threads(fn):
        barrier = threading.Barrier(n)

        def work(b):
            barrier.wait()
            for _ in range(calls):
                fn(b)

        threads = [threading.Thread(target=work, args=(b,)) for b in buffers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    total = n * calls * size
    cands = [
        Candidate("rawcapi, 1 Python thread", lambda: one_thread(rawcapi.fast_sum), setup=with_threads(1), nbytes=total, check=False),
        Candidate(f"rawcapi, {n} Python threads", lambda: n_threads(rawcapi.fast_sum), setup=with_threads(1), nbytes=total, check=False),
    ]
    if c_original:
        cands += [
            Candidate("C original, 1 Python thread", lambda: one_thread(c_original.fast_sum), nbytes=total, check=False),
            Candidate(f"C original, {n} Python threads", lambda: n_threads(c_original.fast_sum), nbytes=total, check=False),
        ]
    probe = None
    try:
        probe = Probe(n * size, tmpdir)
        cands.append(Candidate("probe 1 thread (C, same total size)", None, seconds=lambda: probe.seconds(1), nbytes=probe.nbytes))
        cands.append(Candidate(f"probe {n} threads (C, same total size)", None, seconds=lambda: probe.seconds(n), nbytes=probe.nbytes))
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"(no bandwidth probe: {e})")
    try:
        run_group(f"{n} Python threads x fast_sum on own {human(size)} buffers, set_num_threads(1)", cands,
                  args.rounds, args.target, baseline="rawcapi, 1 Python thread", results=results)
    finally:
        if probe:
            probe.close()


def threshold(args):
    """Where does a second thread start to pay? fast_sum forced to split vs one thread."""
    n = args.threads
    old = rawcapi._set_parallel_threshold(1)
    print(f"# splitting threshold: fast_sum on 1 thread vs forced split over {n} (the same buffer again and again: hot in cache up to the L3 size)")
    print(f"  {'size':>9s} {'1 thread':>10s} {f'{n} threads':>10s} {'speed-up':>9s}")
    for size in [64 * KiB << k for k in range(12)]:
        data = make_bytes(size)
        cands = [
            Candidate("1", lambda: rawcapi.fast_sum(data), setup=with_threads(1), nbytes=size),
            Candidate("n", lambda: rawcapi.fast_sum(data), setup=with_threads(n), nbytes=size),
        ]
        for c in cands:
            c.calibrate(args.target)
        for r in range(args.rounds * 2):
            for c in (cands if r % 2 else cands[::-1]):
                c.sample()
        speedup = statistics.median(a / b for a, b in zip(cands[0].samples, cands[1].samples))
        print(f"  {human(size):>9s} {fmt_time(cands[0].median()):>10s} {fmt_time(cands[1].median()):>10s} {speedup:8.2f}x")
    rawcapi._set_parallel_threshold(old)


def check_targets(results, n):
    """The issue's targets, from this run's samples: (description, measured text, holds)."""
    rows = {(r["group"], r["candidate"]): r for r in results}

    def ratio(group, slow, fast):
        """Median over rounds of time(slow) / time(fast), or None if either is missing."""
        a, b = rows.get((group, slow)), rows.get((group, fast))
        if not a or not b:
            return None
        return statistics.median(x / y for x, y in zip(a["samples"], b["samples"]))

    def share(group, candidate):
        r = rows.get((group, candidate))
        return None if not r else r["share_of_probe"]

    out = []

    def target(text, value, ok, fmt):
        if value is not None:
            out.append((text, fmt.format(value), ok(value)))

    call = next((k[0] for k in rows if k[0].startswith("per call: fast_sum")), None)
    target("per call fast_sum(b'hello world') <= 0.35x the C original's time",
           (lambda r: None if r is None else 1 / r)(ratio(call, "C original fast_sum", "rawcapi.fast_sum")), lambda v: v <= 0.35, "{:.3f}x")
    g = "fast_sum, 1 MiB bytes"
    target("fast_sum 1 MiB >= 10x the C original", ratio(g, "C original", "rawcapi 1 thread"), lambda v: v >= 10, "{:.1f}x")
    target("fast_sum 1 MiB >= 20x numpy frombuffer().sum()", ratio(g, "numpy frombuffer().sum()", "rawcapi 1 thread"), lambda v: v >= 20, "{:.1f}x")
    g = "fast_sum, 1 GiB bytes"
    target("fast_sum 1 GiB >= 80% of the probe, 1 thread", share(g, "rawcapi 1 thread"), lambda v: v >= 0.8, "{:.0%}")
    target(f"fast_sum 1 GiB >= 80% of the probe, {n} threads", share(g, f"rawcapi {n} threads"), lambda v: v >= 0.8, "{:.0%}")
    g = "count_lines(bytes), 1 MiB"
    target("count_lines 1 MiB >= 20x bytes.count", ratio(g, "bytes.count(b'\\n')", "rawcapi 1 thread"), lambda v: v >= 20, "{:.1f}x")
    g = "count_lines(bytes), 256 MiB"
    target("count_lines 256 MiB >= 4x bytes.count, 1 thread", ratio(g, "bytes.count(b'\\n')", "rawcapi 1 thread"), lambda v: v >= 4, "{:.1f}x")
    target(f"count_lines 256 MiB >= 8x bytes.count, {n} threads", ratio(g, "bytes.count(b'\\n')", f"rawcapi {n} threads"), lambda v: v >= 8, "{:.1f}x")
    g = next((k[0] for k in rows if k[0].endswith("set_num_threads(1)")), None)
    if g:
        target(f"{n} Python threads on separate buffers >= 1.6x one thread",
               ratio(g, "rawcapi, 1 Python thread", f"rawcapi, {n} Python threads"), lambda v: v >= 1.6, "{:.2f}x")
        # Context, not a target: what the machine itself gave N threads during those rounds.
        target(f"(context) the C probe's own {n}-thread / 1-thread bandwidth, same rounds",
               ratio(g, "probe 1 thread (C, same total size)", f"probe {n} threads (C, same total size)"), lambda v: None, "{:.2f}x")
    return out


def print_targets(targets):
    if not targets:
        return
    print("\n## the issue's targets (medians of per-round ratios in this run)")
    for text, measured, ok in targets:
        print(f"  {'      ' if ok is None else 'holds ' if ok else 'MISSED'}  {text}: {measured}")


def write_markdown(path, results, args):
    lines = [
        f"Machine: {machine()}; Python {sys.version.split()[0]}; rawcapi SIMD path `{rawcapi._simd_path()}`, "
        f"{args.threads} threads; {args.rounds} rounds (per-call: {args.rounds * 2}).",
        "",
    ]
    group = None
    for row in results:
        if row["group"] != group:
            group = row["group"]
            base = f" (speed-up: time of *{row['baseline']}* / time of candidate, median of per-round ratios)" if row["baseline"] else ""
            lines += ["", f"**{group}**{base}", "", "| candidate | median | IQR | GB/s | speed-up | share of probe | cpu/wall |", "|---|---:|---:|---:|---:|---:|---:|"]
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        gbs = "" if row["gbps"] is None else f"{row['gbps']:.2f}"
        share = "" if row["share_of_probe"] is None else f"{row['share_of_probe']:.0%}"
        cpu = "" if row["cpu_share"] is None else f"{row['cpu_share']:.2f}"
        lines.append(f"| {row['candidate']} | {fmt_time(row['median_s'])} | {fmt_time(row['iqr_s'])} | {gbs} | {ratio} | {share} | {cpu} |")
    targets = check_targets(results, args.threads)
    if targets:
        lines += ["", "**The issue's targets** (medians of per-round ratios in this run)", "", "| target | measured | holds |", "|---|---:|---|"]
        lines += [f"| {text} | {measured} | {'' if ok is None else 'yes' if ok else '**no**'} |" for text, measured, ok in targets]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"\nmarkdown table written to {path}")


def write_plot(path, results):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    rows = [r for r in results if r["gbps"] is not None]
    groups = list(dict.fromkeys(r["group"] for r in rows))
    fig, axes = plt.subplots(len(groups), 1, figsize=(9, 2.2 * len(groups)), squeeze=False)
    for ax, g in zip(axes[:, 0], groups):
        rs = [r for r in rows if r["group"] == g]
        ax.barh([r["candidate"] for r in rs], [r["gbps"] for r in rs], xerr=[r["gbps"] * r["iqr_s"] / r["median_s"] for r in rs])
        ax.set_xscale("log")
        ax.invert_yaxis()  # first candidate on top, as in the text table
        ax.set_title(g, fontsize=9)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("GB/s (log scale; error bar: IQR)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}")


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), SIMD paths {', '.join(rawcapi._simd_paths())}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes only (1 KiB, 1 MiB, 16 MiB)")
    p.add_argument("--sum-sizes", type=lambda s: [parse_size(x) for x in s.split(",")])
    p.add_argument("--count-sizes", type=lambda s: [parse_size(x) for x in s.split(",")])
    p.add_argument("--thread-buffer", type=parse_size, help="per-Python-thread buffer (default 64 MiB)")
    p.add_argument("--file-size", type=parse_size, help="file for the mmap group (default 256 MiB, 0 = skip)")
    p.add_argument("--threads", type=int, default=rawcapi.get_num_threads(), help="N for 'N threads' (default: get_num_threads())")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--target", type=float, default=0.02, help="seconds per sample (default 0.02)")
    p.add_argument("--python-max", type=parse_size, default=MiB, help="largest size pure Python / sum() is timed at")
    p.add_argument("--markdown", metavar="FILE")
    p.add_argument("--plot", metavar="FILE.png")
    p.add_argument("--threshold", action="store_true", help="only measure the thread-splitting threshold")
    p.add_argument("--path-sizes", type=lambda s: [parse_size(x) for x in s.split(",")], help="sizes for the per-SIMD-path group (default 1 MiB,64 MiB)")
    p.add_argument("--only", help="comma list of groups: call,sum,count,paths,pythreads,file")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="clock for the per-call groups (cpu: process CPU time, robust to other load)")
    args = p.parse_args()
    global PER_CALL_CLOCK
    if args.clock == "cpu":
        PER_CALL_CLOCK = time.process_time
    if args.quick:
        args.sum_sizes = args.sum_sizes or [KiB, MiB, 16 * MiB]
        args.count_sizes = args.count_sizes or [MiB, 16 * MiB]
        args.thread_buffer = args.thread_buffer or 16 * MiB
        args.file_size = 16 * MiB if args.file_size is None else args.file_size
    args.path_sizes = args.path_sizes or ([MiB] if args.quick else [MiB, 64 * MiB])
    args.sum_sizes = args.sum_sizes or [KiB, MiB, 64 * MiB, GiB]
    args.count_sizes = args.count_sizes or [MiB, 256 * MiB]
    args.thread_buffer = args.thread_buffer or 64 * MiB
    args.file_size = 256 * MiB if args.file_size is None else args.file_size
    only = set((args.only or "call,sum,count,paths,pythreads,file").split(","))

    print(f"# rawcapi benchmark\n{machine()}; Python {sys.version.split()[0]}; "
          f"rawcapi SIMD path {rawcapi._simd_path()}, N = {args.threads} threads"
          f"{'' if c_original else '; C original not built'}{'' if np else '; NumPy not installed'}")
    if args.threshold:
        threshold(args)
        return
    saved_threads = rawcapi.get_num_threads()
    results = []
    with tempfile.TemporaryDirectory(prefix="rawcapi-bench-") as tmpdir:
        # The probe runs at the largest size of each group, where DRAM bandwidth is the limit.
        probes = {}
        try:
            for size in {max(args.sum_sizes), max(args.count_sizes)}:
                if size >= 64 * MiB:
                    probes[size] = Probe(size, tmpdir)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"(no bandwidth probe: {e})")
        try:
            if "call" in only:
                per_call(args, results, build_callconv(tmpdir))
            if "sum" in only:
                sums(args, probes, results)
            if "count" in only:
                counts(args, probes, results)
            if "paths" in only:
                paths(args, results)
            if "pythreads" in only:
                python_threads(args, results, tmpdir)
            if "file" in only and args.file_size:
                mmap_file(args, tmpdir, results)
        finally:
            for probe in probes.values():
                probe.close()
            rawcapi.set_num_threads(saved_threads)
    print_targets(check_targets(results, args.threads))
    if args.markdown:
        write_markdown(args.markdown, results, args)
    if args.plot:
        write_plot(args.plot, results)


if __name__ == "__main__":
    main()

"""Item 4: many threads call every function at once while other threads create, mutate, resize
and drop the inputs. Nothing may crash, deadlock or return an impossible answer.

Writers keep every byte of the shared inputs 0 or 1 (the promise rawcapi makes is per byte, not
a snapshot of the whole buffer), so for an input of at most MAX_LEN bytes:
    0 <= fast_sum(x) <= MAX_LEN   and   count_lines(x) == 0     whatever interleaving happens.
Readers also run every good case of tests/callables.py against its exact oracle, concurrently.
The GIL-release threshold is 0 for the test, so every call releases the GIL and the writers run
while rawcapi reads. Time is bounded (DURATION seconds); a thread still alive after the join
timeout is a deadlock and fails the test.
"""
import faulthandler
import os
import random
import sys
import threading
import time

import pytest

import rawcapi
from callables import SPECS, good_and_expected

np = pytest.importorskip("numpy")

DURATION = 3.0
READERS = 6
WRITERS = 3
MAX_LEN = 4096
SLOTS = 16

# For each callable that takes a bytes-like input: what must hold for any buffer of 0/1 bytes
# of at most MAX_LEN bytes, mutated concurrently. A new buffer-taking function adds a line.
MUTABLE_INVARIANTS = {
    "fast_sum": lambda result: 0 <= result <= MAX_LEN,
    "count_lines": lambda result: result == 0,
}
# Callables of rawcapi's own types on the shared inputs that are of that type: name -> (call,
# invariant). Array elements are kept 0/1 like every other byte.
ARRAY_INVARIANTS = {
    "Array.sum": (lambda a: a.sum(), lambda result: 0 <= result <= MAX_LEN),
    "Array.copy": (lambda a: a.copy().sum(), lambda result: 0 <= result <= MAX_LEN),
    "Array.tolist": (lambda a: a.tolist(), lambda result: set(_flat(result)) <= {0, 1}),
    "Array.__getitem__": (lambda a: a[::-1].sum() if a.ndim else a.sum(), lambda result: 0 <= result <= MAX_LEN),
} if hasattr(rawcapi, "Array") else {}


def _flat(x):
    if isinstance(x, list):
        for item in x:
            yield from _flat(item)
    else:
        yield x


def _zero_one(rng, n):
    return bytes(rng.getrandbits(1) for _ in range(n))


def _new_input(rng):
    kind = rng.randrange(6 if ARRAY_INVARIANTS else 4)
    n = rng.randrange(0, MAX_LEN + 1)
    if kind == 4:  # an Array that owns its memory
        return rawcapi.Array(_zero_one(rng, n))
    if kind == 5:  # an Array viewing a bytearray: the bytearray cannot resize while it lives
        return rawcapi.Array.frombuffer(bytearray(_zero_one(rng, n)))
    if kind == 0:
        return bytearray(_zero_one(rng, n))
    if kind == 1:
        return np.frombuffer(_zero_one(rng, n), dtype=np.uint8).copy()
    if kind == 2:
        a = np.frombuffer(_zero_one(rng, n - n % 4), dtype=np.uint8).copy().reshape(-1, 4)
        return a[::-1, ::2]  # a strided view that keeps its base alive
    return memoryview(bytearray(_zero_one(rng, n)))[::3]


def _mutate(rng, obj):
    """Change an input in place, keeping every byte 0 or 1 and the length <= MAX_LEN.
    Returns True when a bytearray refused to resize because its buffer was exported."""
    if isinstance(obj, bytearray):
        op = rng.randrange(4)
        try:
            if op == 0 and len(obj) < MAX_LEN:
                obj.append(rng.getrandbits(1))
            elif op == 1 and obj:
                obj.pop()
            elif op == 2 and obj:
                i = rng.randrange(len(obj))
                obj[i] ^= 1
            else:
                obj[:] = _zero_one(rng, min(len(obj), MAX_LEN))  # same length: no resize
        except BufferError as e:
            assert "Existing exports of data: object cannot be re-sized" in str(e)
            return True
    elif isinstance(obj, np.ndarray) and obj.size:
        obj ^= 1  # 0 <-> 1, in place, through every layout (views write into their base)
    elif ARRAY_INVARIANTS and isinstance(obj, rawcapi.Array) and obj.size:
        obj[rng.randrange(obj.size)] = rng.getrandbits(1)
    return False


@pytest.mark.valgrind
def test_stress_every_function_while_inputs_mutate():
    # A deadlock must not hang CI forever: after the deadline every thread's Python stack is
    # written out and the process exits. pytest captures fd 2, and an exit loses the capture, so
    # scripts/sanitize names a file (RAWCAPI_STACKS_FILE) that it prints when the run fails, and
    # a longer deadline (RAWCAPI_STRESS_DEADLINE): under valgrind everything runs ~20-50x slower.
    deadline = float(os.environ.get("RAWCAPI_STRESS_DEADLINE", "120"))
    stacks_path = os.environ.get("RAWCAPI_STACKS_FILE")
    stacks = open(stacks_path, "w") if stacks_path else sys.stderr
    faulthandler.dump_traceback_later(deadline, exit=True, file=stacks)
    previous_threshold = rawcapi._set_gil_release_threshold(0)
    previous_switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    shared = [bytearray()] * SLOTS
    stop = threading.Event()
    errors, counts = [], {"calls": 0, "mutations": 0, "refused_resizes": 0}
    lock = threading.Lock()
    # Every thread is started, then all begin together: started one by one, a new thread must
    # win the GIL from those already hammering, which under valgrind (one thread at a time) it
    # could wait minutes for.
    go = threading.Event()
    hammered = [spec for spec in SPECS if spec.thread_safe_to_hammer and spec.oracle]

    def reader(seed):
        rng = random.Random(seed)
        calls = 0
        go.wait()
        try:
            while not stop.is_set():
                r = rng.random()
                obj = shared[rng.randrange(SLOTS)]
                if r < 0.2 and ARRAY_INVARIANTS and isinstance(obj, rawcapi.Array):
                    name = rng.choice(sorted(ARRAY_INVARIANTS))
                    fn, invariant = ARRAY_INVARIANTS[name]
                    result = fn(obj)
                    if not invariant(result):
                        errors.append(f"{name} returned {result!r} on a 0/1 Array of <= {MAX_LEN} elements")
                elif r < 0.7:
                    name = rng.choice(sorted(MUTABLE_INVARIANTS))
                    result = getattr(rawcapi, name)(shared[rng.randrange(SLOTS)])
                    if not MUTABLE_INVARIANTS[name](result):
                        errors.append(f"{name} returned {result} on a 0/1 buffer of <= {MAX_LEN} bytes")
                else:
                    spec = rng.choice(hammered)
                    case = rng.choice(spec.good)
                    result, expected = good_and_expected(spec, case)
                    if result != expected:
                        errors.append(f"{spec.name} [{case.label}] gave {result}, oracle {expected}")
                calls += 1
        except BaseException as e:  # noqa: BLE001 - any exception in a thread is a failure
            errors.append(f"reader: {e!r}")
        with lock:
            counts["calls"] += calls

    def writer(seed):
        rng = random.Random(seed)
        mutations = refused = 0
        go.wait()
        try:
            while not stop.is_set():
                i = rng.randrange(SLOTS)
                if rng.random() < 0.2:
                    shared[i] = _new_input(rng)  # the old one is dropped (maybe mid-call)
                else:
                    refused += _mutate(rng, shared[i])
                mutations += 1
        except BaseException as e:  # noqa: BLE001
            errors.append(f"writer: {e!r}")
        with lock:
            counts["mutations"] += mutations
            counts["refused_resizes"] += refused

    threads = [threading.Thread(target=reader, args=(s,), daemon=True) for s in range(READERS)]
    threads += [threading.Thread(target=writer, args=(100 + s,), daemon=True) for s in range(WRITERS)]
    try:
        for t in threads:
            t.start()
        go.set()
        time.sleep(DURATION)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        alive = [t.name for t in threads if t.is_alive()]
        assert not alive, f"threads still running 30 s after stop (deadlock?): {alive}"
    finally:
        stop.set()
        sys.setswitchinterval(previous_switch)
        rawcapi._set_gil_release_threshold(previous_threshold)
        faulthandler.cancel_dump_traceback_later()
        if stacks is not sys.stderr:
            stacks.close()
    assert not errors, errors[:10]
    print(f"\n{READERS} readers, {WRITERS} writers, {DURATION} s: {counts}")
    assert counts["calls"] > 100 and counts["mutations"] > 100


def test_resizing_while_rawcapi_reads_raises_buffererror():
    """A bytearray whose buffer rawcapi holds (GIL released, long input) refuses to resize; each
    sum is of one of the two lengths the bytearray ever has. A reader thread sums in a loop
    while this thread resizes in a loop, so the two overlap whether or not there is a GIL (with
    one thread per call, a call can end before the resizer runs at all), until a resize has been
    refused while a sum held the buffer, and has succeeded while the reader paused between sums."""
    faulthandler.dump_traceback_later(120, exit=True)
    n = 8 << 20
    data = bytearray(b"\x01") * n
    sums, refused, resized = [], 0, 0
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            sums.append(rawcapi.fast_sum(data))
            time.sleep(0.001)  # the buffer is free here: a resize can succeed

    t = threading.Thread(target=reader, daemon=True)
    try:
        t.start()
        deadline = time.monotonic() + 60
        while (refused == 0 or resized == 0 or len(sums) < 2) and time.monotonic() < deadline:
            try:
                data.pop()  # length n-1 ...
                data.append(1)  # ... and back to n: only these two lengths ever exist
                resized += 1
            except BufferError as e:
                assert str(e) == "Existing exports of data: object cannot be re-sized"
                refused += 1
                if len(data) == n - 1:  # refused between the pop and the append
                    while True:
                        try:
                            data.append(1)
                            break
                        except BufferError:
                            pass
    finally:
        stop.set()
        t.join(timeout=30)
        faulthandler.cancel_dump_traceback_later()
    assert sums and set(sums) <= {n - 1, n}, set(sums) - {n - 1, n}
    assert refused > 0, f"no resize was ever refused during {len(sums)} sums of {n} bytes"
    assert resized > 0, "no resize ever succeeded between sums"

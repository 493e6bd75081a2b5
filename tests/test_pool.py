"""The persistent worker pool behind every parallel call (src/kernels/pool.rs) and the kernels
scheduled on it: a fork child gets a fresh pool and right answers, Python threads may submit at
once, an idle pool costs no CPU, the thread setting bounds the pool, subinterpreters share it;
matmul gives the same bits on every thread count; a large FFT split across threads matches the
1-thread result and NumPy. (Finalisation leaving no thread behind: test_fork_shutdown.py's
embedded interpreter.)"""
import os
import threading
import time

import numpy as np
import pytest

import interpreters_compat
import rawcapi

RNG = np.random.default_rng(20261205)
CPUS = len(os.sched_getaffinity(0))


def pool_tasks():
    """The /proc/self/task entries of the pool's threads (named "rawcapi-pool")."""
    tasks = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as f:
                if f.read().strip() == "rawcapi-pool":
                    tasks.append(task)
        except FileNotFoundError:
            pass
    return tasks


def pool_workers():
    return len(pool_tasks())


def pool_cpu_ticks():
    """CPU time (user + system, in clock ticks) the pool's threads have used."""
    total = 0
    for task in pool_tasks():
        with open(f"/proc/self/task/{task}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total


@pytest.fixture
def threads():
    """set_num_threads for one test, restored after it."""
    previous = rawcapi.get_num_threads()
    yield rawcapi.set_num_threads
    rawcapi.set_num_threads(previous)


def test_the_pool_never_exceeds_the_setting_and_shrinks_with_it(threads):
    a, b = RNG.standard_normal((400, 400)), RNG.standard_normal((400, 400))
    threads(4)
    rawcapi.matmul(a, b)
    assert 1 <= pool_workers() <= 3
    threads(2)
    assert pool_workers() == 0  # lowered: the workers were stopped and joined
    np.testing.assert_allclose(rawcapi.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
    assert pool_workers() <= 1


def test_an_idle_pool_costs_no_cpu(threads):
    threads(max(2, CPUS))
    a = RNG.standard_normal((600, 600))
    rawcapi.matmul(a, a)
    assert pool_workers() >= 1
    time.sleep(0.01)
    before = pool_cpu_ticks()
    time.sleep(0.5)
    # Workers spin for at most 10 µs after a job, then park: 0.5 s of idling is ~0 ticks of CPU
    # (a pool that kept spinning would burn 0.5 s, 50 ticks at 100 Hz, per worker).
    assert pool_cpu_ticks() - before <= 1


def test_a_fork_child_gets_a_fresh_pool_and_right_answers(threads):
    threads(2)
    a, b = RNG.standard_normal((500, 300)), RNG.standard_normal((300, 400))
    want = a @ b
    rawcapi.matmul(a, b)  # the parent's pool exists ...
    assert pool_workers() >= 1
    stop = threading.Event()

    def busy():  # ... and is running a job on another thread while the fork happens
        while not stop.is_set():
            rawcapi.matmul(a, b)

    t = threading.Thread(target=busy)
    t.start()
    time.sleep(0.05)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            inherited = pool_workers()  # the parent's workers do not exist here
            ok = all(np.allclose(rawcapi.matmul(a, b), want, rtol=1e-12, atol=1e-12) for _ in range(5))
            x = RNG.standard_normal(1 << 17) + 0j
            ok = ok and np.allclose(rawcapi.fft(x), np.fft.fft(x), rtol=0, atol=1e-9 * np.abs(x).sum())
            os.write(write_end, f"{inherited} {pool_workers()} {ok}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the fork child hung (a pool inherited from the parent?)")
        time.sleep(0.01)
    stop.set()
    t.join()
    report = os.read(read_end, 100).decode().split()
    os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0
    inherited, fresh, ok = report
    assert inherited == "0" and int(fresh) >= 1 and ok == "True", report


def test_python_threads_submit_at_once(threads):
    threads(max(2, CPUS))
    a = RNG.standard_normal((8, 300, 200))
    b = RNG.standard_normal((200, 250))
    want = a @ b
    x = RNG.standard_normal((4, 1 << 16)) + 1j * RNG.standard_normal((4, 1 << 16))
    fx = np.fft.fft(x)
    errors = []

    def work(i):
        try:
            for _ in range(20):
                if i % 2:
                    got = rawcapi.matmul(a[i], b)
                    assert np.allclose(got, want[i], rtol=1e-12, atol=1e-12)
                else:
                    got = rawcapi.fft(x)
                    assert np.allclose(got, fx, rtol=1e-12, atol=1e-9)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in ts), "a thread hung"
    assert not errors, errors


def test_subinterpreters_share_the_pool(threads):
    if not interpreters_compat.AVAILABLE:
        pytest.skip(interpreters_compat.REASON)
    threads(2)
    root = os.path.dirname(os.path.abspath(rawcapi.__file__))
    code = f"import sys; sys.path.insert(0, {root!r})\n" + (
        "import rawcapi\n"
        "x = [float(i % 7) for i in range(1 << 17)]\n"
        "y = rawcapi.fft(x)\n"
        "assert abs(y[0].real - sum(x)) < 1e-6\n"
    )
    for _ in range(3):
        with interpreters_compat.Interpreter() as interp:
            interp.run(code)
    assert pool_workers() <= 1


# Shapes with partial tiles everywhere: float64 both below and above what rawcapi's own kernel
# takes (C of 1024² elements), and the gemm types.
BITWISE = [
    ("float64", 1031, 1100, 1049),
    ("float64", 257, 513, 129),
    ("float64", 1, 2000, 300),
    ("float32", 300, 301, 257),
    ("complex128", 130, 70, 300),
]


@pytest.mark.parametrize("dtype, m, k, n", BITWISE, ids=[f"{d}-{m}x{k}x{n}" for d, m, k, n in BITWISE])
def test_matmul_gives_the_same_bits_on_every_thread_count(threads, dtype, m, k, n):
    a = RNG.standard_normal((m, k)).astype(dtype)
    b = RNG.standard_normal((k, n)).astype(dtype)
    if dtype == "complex128":
        a = a + 1j * RNG.standard_normal((m, k))
    results = []
    for t in range(1, 2 * CPUS + 1):
        threads(t)
        results.append(np.asarray(rawcapi.matmul(a, b)))
    first = results[0]
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(first, a @ b, rtol=tol, atol=tol * np.sqrt(k))
    for t, r in enumerate(results[1:], start=2):
        assert r.tobytes() == first.tobytes(), f"{t} threads differ from 1"


def max_rel(got, want):
    got, want = np.asarray(got), np.asarray(want)
    return np.abs(got - want).max() / np.abs(want).max()


@pytest.mark.parametrize("n", [1 << 18, 3 << 16, 100_000])
def test_a_large_fft_split_across_threads_matches(threads, n):
    x = RNG.standard_normal(n) + 1j * RNG.standard_normal(n)
    threads(1)
    one = np.asarray(rawcapi.fft(x))
    one_inv = np.asarray(rawcapi.ifft(x))
    for t in (2, 3, 4):
        threads(t)
        assert max_rel(rawcapi.fft(x), one) <= 1e-12
        assert max_rel(rawcapi.fft(x), np.fft.fft(x)) <= 1e-12
        assert max_rel(rawcapi.ifft(x), one_inv) <= 1e-12
        assert max_rel(rawcapi.ifft(x), np.fft.ifft(x)) <= 1e-12
        # A strided, cast input is gathered first: the same transform.
        v32 = x.real.astype(np.float32)
        strided = np.stack([v32, v32], axis=1)[:, 0]  # every other float32
        assert max_rel(rawcapi.fft(strided), np.fft.fft(v32.astype(np.float64))) <= 1e-12


@pytest.mark.parametrize("n", [1 << 18, 200_000])
def test_a_large_real_fft_split_across_threads_matches(threads, n):
    r = RNG.standard_normal(n)
    threads(1)
    one = np.asarray(rawcapi.rfft(r))
    spectrum = np.fft.rfft(r)
    for t in (3, 4):
        threads(t)
        got = rawcapi.rfft(r)
        assert max_rel(got, one) <= 1e-12
        assert max_rel(got, spectrum) <= 1e-12
        back = np.asarray(rawcapi.irfft(spectrum, n=n))
        assert max_rel(back, np.fft.irfft(spectrum, n=n)) <= 1e-12

"""Splitting one call across threads: the setting, its validation, results, fork() and mmap.

Oracles are plain Python (`sum`, `bytes.count`, `str.count`) and, for strided buffers, NumPy.
`_set_parallel_threshold` (private, test-only) lowers the size above which a call is split, so
small inputs exercise the same splitting code as gigabyte ones.
"""
import mmap
import os
import signal
import subprocess
import sys
import threading

import pytest

import rawcapi

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def restore_threads():
    old_threads = rawcapi.get_num_threads()
    old_threshold = rawcapi._set_parallel_threshold(4 << 20)
    rawcapi._set_parallel_threshold(old_threshold)
    try:
        yield
    finally:
        rawcapi.set_num_threads(old_threads)
        rawcapi._set_parallel_threshold(old_threshold)


def pattern(n, seed=0):
    return bytes(((i + seed) * 2654435761 >> 13) & 0xFF for i in range(n))


DATA = pattern(200_003)


def default_threshold():
    """The built-in minimum bytes per thread (the private setter returns the previous value)."""
    current = rawcapi._set_parallel_threshold(1)
    rawcapi._set_parallel_threshold(current)
    return current


def large_enough_to_split():
    """Bytes that the default threshold splits across 2 threads."""
    size = 2 * default_threshold() + 12_345
    return (DATA * (size // len(DATA) + 1))[:size]


def run_child(code, **env_vars):
    env = dict(os.environ)
    env.pop("RAWCAPI_NUM_THREADS", None)
    env.update(env_vars)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


# --- the setting -------------------------------------------------------------------------------

def test_default_is_the_cpus_this_process_may_use():
    child = run_child("import os, rawcapi; print(rawcapi.get_num_threads(), len(os.sched_getaffinity(0)))")
    assert child.returncode == 0, child.stderr
    got, cpus = child.stdout.split()
    assert got == cpus


def test_default_follows_affinity():
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 CPUs to restrict to 1")
    code = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); import rawcapi; print(rawcapi.get_num_threads())"
    assert run_child(code).stdout.split() == ["1"]


def test_env_var_sets_the_default():
    child = run_child("import rawcapi; print(rawcapi.get_num_threads())", RAWCAPI_NUM_THREADS="3")
    assert child.stdout.split() == ["3"], child.stderr


@pytest.mark.parametrize("value, message", [
    ("0", '"0": 0 is out of range: expected 1 to 1024'),
    ("-4", "-4 is out of range"),
    ("lots", '"lots" is not an integer'),
    ("2000", "2000 is out of range"),
])
def test_bad_env_var_fails_the_import_clearly(value, message):
    child = run_child("import rawcapi", RAWCAPI_NUM_THREADS=value)
    assert child.returncode != 0
    assert "ImportError: RAWCAPI_NUM_THREADS=" in child.stderr and message in child.stderr, child.stderr


def test_default_threshold_is_at_least_a_mebibyte():
    # Splitting below ~1 MiB cannot pay for a thread's creation (docs/appendix-a-speed.md).
    assert default_threshold() >= 1 << 20


def test_set_and_get(restore_threads):
    for n in (1, 2, 7, 1024):
        assert rawcapi.set_num_threads(n) is None
        assert rawcapi.get_num_threads() == n


@pytest.mark.parametrize("bad", [0, -1, 1025, 2**70, -(2**70)])
def test_set_refuses_out_of_range(restore_threads, bad):
    before = rawcapi.get_num_threads()
    with pytest.raises(ValueError, match=r"set_num_threads\(n\): n must be between 1 and 1024, got "):
        rawcapi.set_num_threads(bad)
    assert rawcapi.get_num_threads() == before


@pytest.mark.parametrize("bad, type_name", [(2.0, "float"), ("2", "str"), (None, "NoneType"), (True, "bool")])
def test_set_refuses_non_ints(restore_threads, bad, type_name):
    with pytest.raises(TypeError, match=f"set_num_threads\\(\\) argument must be int, not '{type_name}'"):
        rawcapi.set_num_threads(bad)


def test_set_takes_one_argument():
    with pytest.raises(TypeError):
        rawcapi.set_num_threads()
    with pytest.raises(TypeError):
        rawcapi.get_num_threads(1)


def test_threshold_validation(restore_threads):
    with pytest.raises(ValueError):
        rawcapi._set_parallel_threshold(-1)
    with pytest.raises(TypeError):
        rawcapi._set_parallel_threshold("1")


# --- results when split ------------------------------------------------------------------------

@pytest.mark.parametrize("threads", [1, 2, 3, 4, 7, 64])
def test_split_results_match(restore_threads, threads):
    rawcapi.set_num_threads(threads)
    rawcapi._set_parallel_threshold(1000)
    for n in (0, 1, 999, 1000, 1999, 2000, 2001, 77_777, len(DATA)):
        data = DATA[:n]
        assert rawcapi.fast_sum(data) == sum(data), (threads, n)
        assert rawcapi.count_lines(data) == data.count(b"\n"), (threads, n)
        assert rawcapi.fast_sum(bytearray(data)) == sum(data)
        text = data.decode("latin-1")
        for suffix in ("", "\u0100", "\U00010000"):
            assert rawcapi.count_lines(text + suffix) == (text + suffix).count("\n"), (threads, n, suffix)


def test_strided_runs_are_split(restore_threads):
    np = pytest.importorskip("numpy")
    rawcapi.set_num_threads(3)
    rawcapi._set_parallel_threshold(500)
    a = np.frombuffer(DATA, dtype=np.uint8)[:200_000].reshape(40, 5000)
    for view in (a[:, 3:4001], a[::-1, ::2], a[::3], a.T):
        assert rawcapi.fast_sum(view) == int(view.sum(dtype=np.uint64)), view.strides
        assert rawcapi.count_lines(view) == int((view == 10).sum())


def test_default_threshold_multi_threaded_size(restore_threads):
    rawcapi.set_num_threads(2)
    data = large_enough_to_split()
    assert rawcapi.fast_sum(data) == sum(data)
    assert rawcapi.count_lines(data) == data.count(b"\n")
    text = data.decode("latin-1")
    assert rawcapi.count_lines(text) == text.count("\n")


def test_python_threads_each_splitting(restore_threads):
    rawcapi.set_num_threads(3)
    rawcapi._set_parallel_threshold(4096)
    buffers = [pattern(300_001, seed) for seed in range(4)]
    expected = [sum(b) for b in buffers]
    results = [[] for _ in buffers]

    def work(i):
        for _ in range(20):
            results[i].append(rawcapi.fast_sum(buffers[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(buffers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [[e] * 20 for e in expected]


def test_mmap_of_a_file(restore_threads, tmp_path):
    data = (DATA * 30)[:5_000_000]
    path = tmp_path / "lines.bin"
    path.write_bytes(data)
    rawcapi.set_num_threads(2)
    rawcapi._set_parallel_threshold(1 << 20)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        assert rawcapi.fast_sum(m) == sum(data)
        assert rawcapi.count_lines(m) == data.count(b"\n")
        assert rawcapi.count_lines(memoryview(m)[7:-7]) == data[7:-7].count(b"\n")


# --- fork --------------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_multi_threaded_calls_work_after_fork(restore_threads):
    rawcapi.set_num_threads(2)
    data = large_enough_to_split()
    expected = (sum(data), data.count(b"\n"))
    assert (rawcapi.fast_sum(data), rawcapi.count_lines(data)) == expected  # threads used before fork
    pid = os.fork()
    if pid == 0:
        # The child: only this thread exists. A hang must not hang the test suite.
        status = 1
        try:
            signal.alarm(60)
            rawcapi._set_parallel_threshold(1000)
            ok = rawcapi.get_num_threads() == 2
            ok = ok and (rawcapi.fast_sum(data), rawcapi.count_lines(data)) == expected
            rawcapi.set_num_threads(5)
            ok = ok and rawcapi.fast_sum(DATA) == sum(DATA)
            status = 0 if ok else 1
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent is unaffected.
    assert (rawcapi.fast_sum(data), rawcapi.count_lines(data)) == expected


def test_multiprocessing_fork_pool(restore_threads):
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork start method")
    rawcapi.set_num_threads(2)
    rawcapi._set_parallel_threshold(1000)
    rawcapi.fast_sum(DATA)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert pool.map(rawcapi.fast_sum, [DATA, DATA[1:], DATA[:-5]]) == [sum(DATA), sum(DATA[1:]), sum(DATA[:-5])]

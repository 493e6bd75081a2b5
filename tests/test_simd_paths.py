"""Every SIMD path this CPU supports, against the same oracles.

rawcapi picks its kernels' instruction set at run time (AVX-512, AVX2 or the portable loop). On
an AVX-512 machine the default path alone would leave the other two untested, so every test here
runs once per supported path: in-process through the private, test-only `_set_simd_path`, and
once more in a fresh interpreter through the public `RAWCAPI_SIMD` environment variable.

Oracles: `sum()` over the bytes, `bytes.count`, `str.count` — plain Python, independent of the
kernels.
"""
import os
import subprocess
import sys

import pytest

import rawcapi

PATHS = rawcapi._simd_paths()
ALL_PATHS = ("avx512", "avx2", "scalar")


@pytest.fixture(params=PATHS)
def path(request):
    previous = rawcapi._set_simd_path(request.param)
    try:
        yield request.param
    finally:
        rawcapi._set_simd_path(previous)


@pytest.fixture
def split_everything():
    """Split every scan across 3 threads, however small, so the splitting is checked too."""
    old_threads = rawcapi.get_num_threads()
    old_threshold = rawcapi._set_parallel_threshold(1)
    rawcapi.set_num_threads(3)
    try:
        yield
    finally:
        rawcapi.set_num_threads(old_threads)
        rawcapi._set_parallel_threshold(old_threshold)


def pattern(n, seed=0):
    """Deterministic bytes with every value and plenty of newlines."""
    return bytes(((i + seed) * 2654435761 >> 13) & 0xFF for i in range(n))


def test_scalar_is_always_there_and_last():
    assert PATHS[-1] == "scalar"
    assert set(PATHS) <= set(ALL_PATHS)
    assert rawcapi._simd_path() in PATHS


def test_set_path_reports_and_switches(path):
    assert rawcapi._simd_path() == path


# A 64-byte aligned base is not something Python promises, so offsets 0..64 from whatever base
# bytes has cover every alignment the kernels can meet (the AVX-512 head is up to 63 bytes).
DATA = pattern(300 + 64)


def test_sum_every_length_and_offset(path):
    view = memoryview(DATA)
    for start in range(65):
        for length in range(0, 300, 7 if start % 8 else 1):
            chunk = view[start:start + length]
            assert rawcapi.fast_sum(chunk) == sum(chunk), (path, start, length)


def test_sum_exact_bytes_every_length(path):
    for length in range(300):
        data = DATA[length % 64:length % 64 + length]
        assert rawcapi.fast_sum(data) == sum(data), (path, length)


def test_count_bytes_every_length_and_offset(path):
    data = bytes(10 if b % 3 == 0 else b for b in DATA)
    view = memoryview(data)
    for start in range(65):
        for length in range(0, 300, 5 if start % 8 else 1):
            chunk = view[start:start + length]
            assert rawcapi.count_lines(chunk) == chunk.tobytes().count(b"\n"), (path, start, length)
            assert rawcapi.count_lines(chunk.tobytes()) == chunk.tobytes().count(b"\n")


# One character per PEP 393 kind that decides the storage width, plus characters whose code
# units contain the byte 10 without being '\n' (U+010A, U+0A00, U+1000A).
KIND_MARKERS = {"latin1": "\xe9", "ucs2": "\u010a\u0a00", "ucs4": "\U0001000a\U0001f600"}


@pytest.mark.parametrize("kind", KIND_MARKERS)
def test_count_str_every_length(path, kind):
    alphabet = "ab\n" + KIND_MARKERS[kind]
    text = "".join(alphabet[(i * 7 + i // 3) % len(alphabet)] for i in range(400)) + KIND_MARKERS[kind]
    for length in range(0, 400):
        # Slicing makes a new str; keep the marker so the storage width stays that of `kind`.
        chunk = text[:length] + KIND_MARKERS[kind]
        assert rawcapi.count_lines(chunk) == chunk.count("\n"), (path, kind, length)


def test_all_255_across_block_boundaries(path):
    # 2**24 + 3 bytes of 255: the portable loop's u32 block boundary, and sums past 2**32.
    data = b"\xff" * ((1 << 24) * 2 + 3)
    assert rawcapi.fast_sum(data) == 255 * len(data)
    assert rawcapi.fast_sum(memoryview(data)[1:]) == 255 * (len(data) - 1)


def test_all_newlines(path):
    for n in (255 * 64 - 1, 255 * 64, 255 * 64 + 1, 100_003):
        assert rawcapi.count_lines(b"\n" * n) == n
        assert rawcapi.count_lines("\n" * n + "\u0100") == n
        assert rawcapi.count_lines("\n" * n + "\U00010000") == n


def test_every_path_split_across_threads(path, split_everything):
    data = pattern(1_000_003, seed=5)
    assert rawcapi.fast_sum(data) == sum(data)
    assert rawcapi.count_lines(data) == data.count(b"\n")
    text = data.decode("latin-1") + "\u20ac"
    assert rawcapi.count_lines(text) == text.count("\n")


def test_set_path_refuses_bad_names():
    with pytest.raises(ValueError, match=r'unknown SIMD path "sse9"'):
        rawcapi._set_simd_path("sse9")
    with pytest.raises(TypeError, match="must be str, not 'bytes'"):
        rawcapi._set_simd_path(b"avx2")
    assert rawcapi._simd_path() in PATHS


@pytest.mark.parametrize("name", [p for p in ALL_PATHS if p not in PATHS] or ["(none)"])
def test_set_path_refuses_unsupported(name):
    if name == "(none)":
        pytest.skip("this CPU supports every path (the refusal is tested by cargo test)")
    with pytest.raises(ValueError, match="not supported by this CPU"):
        rawcapi._set_simd_path(name)


# --- the environment variable, in fresh interpreters ---------------------------------------

CHILD = """
import rawcapi
data = bytes(range(256)) * 4099 + b"hello world"
text = data.decode("latin-1") + "\\u0100"
print(rawcapi._simd_path(), rawcapi.fast_sum(data), rawcapi.count_lines(data), rawcapi.count_lines(text))
"""


def run_child(env_value, code=CHILD):
    env = dict(os.environ)
    env.pop("RAWCAPI_SIMD", None)
    if env_value is not None:
        env["RAWCAPI_SIMD"] = env_value
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", PATHS)
def test_env_var_forces_each_supported_path(name):
    data = bytes(range(256)) * 4099 + b"hello world"
    text = data.decode("latin-1") + "\u0100"
    child = run_child(name)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == [name, str(sum(data)), str(data.count(b"\n")), str(text.count("\n"))]


def test_env_var_is_case_insensitive_and_empty_means_best():
    assert run_child(PATHS[-1].upper()).stdout.split()[0] == PATHS[-1]
    assert run_child("").stdout.split()[0] == PATHS[0]
    assert run_child(None).stdout.split()[0] == PATHS[0]


def test_env_var_unknown_fails_the_import_clearly():
    child = run_child("neon")
    assert child.returncode != 0
    assert 'ImportError: RAWCAPI_SIMD="neon": unknown SIMD path "neon"' in child.stderr, child.stderr


@pytest.mark.parametrize("name", [p for p in ALL_PATHS if p not in PATHS] or ["(none)"])
def test_env_var_unsupported_fails_the_import_clearly(name):
    if name == "(none)":
        pytest.skip("this CPU supports every path (the refusal is tested by cargo test)")
    child = run_child(name)
    assert child.returncode != 0
    assert "not supported by this CPU" in child.stderr, child.stderr


# --- random inputs, every path ----------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=3000), start=st.integers(0, 70), step=st.sampled_from([1, 1, 1, 2, 3, -1]),
       threads=st.integers(1, 5))
def test_random_bytes_every_path(data, start, step, threads):
    view = memoryview(data)[start::step]
    expected_sum, expected_lines = sum(view), view.tobytes().count(b"\n")
    previous_path = rawcapi._simd_path()
    old_threads, old_threshold = rawcapi.get_num_threads(), rawcapi._set_parallel_threshold(64)
    rawcapi.set_num_threads(threads)
    try:
        for path in PATHS:
            rawcapi._set_simd_path(path)
            assert rawcapi.fast_sum(view) == expected_sum, path
            assert rawcapi.count_lines(view) == expected_lines, path
            assert rawcapi.fast_sum(data) == sum(data), path
    finally:
        rawcapi._set_simd_path(previous_path)
        rawcapi.set_num_threads(old_threads)
        rawcapi._set_parallel_threshold(old_threshold)


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(["\n", "a", "\xe9", "\u010a", "\u0a00", "\U0001000a", "\r"]), max_size=2000))
def test_random_str_every_path(text):
    previous_path = rawcapi._simd_path()
    try:
        for path in PATHS:
            rawcapi._set_simd_path(path)
            assert rawcapi.count_lines(text) == text.count("\n"), path
    finally:
        rawcapi._set_simd_path(previous_path)

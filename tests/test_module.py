"""The module itself: docstrings, signatures, version, panics, and the GIL release."""
import inspect
import os
import re
import threading
import time

import pytest

import rawcapi


def test_version_and_doc():
    assert re.fullmatch(r"\d+\.\d+\.\d+", rawcapi.__version__)
    assert "fast_sum" in rawcapi.__doc__ and "count_lines" in rawcapi.__doc__


def public_callables():
    return sorted(n for n in dir(rawcapi) if not n.startswith("_") and callable(getattr(rawcapi, n)))


def test_module_doc_lists_every_public_callable():
    # help(rawcapi) is the module's table of contents: a function added to the method table
    # without a line in MODULE_DOC (src/lib.rs) fails here. Each is listed as a call, "name(".
    missing = [n for n in public_callables() if not re.search(rf"^  {n}\(", rawcapi.__doc__, re.M)]
    assert missing == []


def test_module_doc_signatures_match_the_functions():
    # The signature MODULE_DOC shows for a function is the one inspect reads from its own
    # docstring's text signature, so the two cannot drift apart.
    for name in public_callables():
        if isinstance(getattr(rawcapi, name), type):
            continue
        line = re.search(rf"^  ({name}\(.*?\))(?:  |$)", rawcapi.__doc__, re.M)
        assert line is not None, f"{name} is not listed in rawcapi.__doc__"
        assert line.group(1) == f"{name}{inspect.signature(getattr(rawcapi, name))}", name


def test_source_header_lists_every_public_callable():
    # The "module as Python" comment at the top of src/lib.rs names every public callable too.
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "lib.rs")
    if not os.path.exists(path):
        pytest.skip("no source tree (installed rawcapi)")
    with open(path) as f:
        header = "".join(line for line in f if line.startswith("//!"))
    missing = [n for n in public_callables() if not re.search(rf"^//! (def|class) {n}\b", header, re.M)]
    assert missing == []


@pytest.mark.parametrize("name, params", [("fast_sum", ["data"]), ("count_lines", ["text"])])
def test_text_signatures(name, params):
    func = getattr(rawcapi, name)
    sig = inspect.signature(func)
    assert list(sig.parameters) == params
    assert all(p.kind is inspect.Parameter.POSITIONAL_ONLY for p in sig.parameters.values())
    # The docstring proper starts after the "--" line that carries the signature.
    assert not func.__doc__.startswith(name)
    assert func.__text_signature__ == f"($module, {params[0]}, /)"


def test_help_shows_signature(capsys):
    help(rawcapi.fast_sum)
    assert "fast_sum(data, /)" in capsys.readouterr().out


def test_panic_becomes_system_error_with_its_message():
    with pytest.raises(SystemError, match=r"^rawcapi panicked: boom \u2603 \(at src/functions/private\.rs:\d+:\d+\)$"):
        rawcapi._panic("boom \u2603")
    # The interpreter (and the module) carry on normally afterwards.
    assert rawcapi.fast_sum(b"hello world") == 1116


def test_private_panic_argument_is_checked():
    with pytest.raises(TypeError):
        rawcapi._panic(42)


def test_gil_threshold_setter_validates():
    with pytest.raises(ValueError, match=r"nbytes must be >= 0, not -1"):
        rawcapi._set_gil_release_threshold(-1)
    with pytest.raises(TypeError):
        rawcapi._set_gil_release_threshold("x")


@pytest.fixture
def release_always():
    old = rawcapi._set_gil_release_threshold(0)
    yield
    rawcapi._set_gil_release_threshold(old)


def test_results_identical_with_gil_released_for_every_size(release_always):
    from conftest import buffer_cases, plain_newlines, plain_sum

    for _, data in buffer_cases():
        assert rawcapi.fast_sum(data) == plain_sum(data)
        assert rawcapi.count_lines(data) == plain_newlines(data)
    for text in ["", "a\n", "\u20ac\n" * 9, "\U0001f600\n" * 9]:
        assert rawcapi.count_lines(text) == text.count("\n")


def _witness_ticks_inside_scans(threshold):
    """Run long scans while a witness thread timestamps itself; count witness ticks that fall
    in the middle half of a scan. Only a scan that releases the GIL lets the witness run there
    (at a call's edges the interpreter may switch threads, hence the margins)."""
    data = memoryview(bytes(128 << 20))[::2]  # strided: slow enough to take ~100 ms per scan
    ticks = []
    stop = threading.Event()

    def witness():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0)

    old = rawcapi._set_gil_release_threshold(threshold)
    windows = []
    t = threading.Thread(target=witness)
    t.start()
    try:
        for _ in range(3):
            start = time.perf_counter()
            assert rawcapi.fast_sum(data) == 0
            end = time.perf_counter()
            windows.append((start + (end - start) / 4, end - (end - start) / 4))
    finally:
        stop.set()
        t.join()
        rawcapi._set_gil_release_threshold(old)
    return sum(1 for tick in ticks for lo, hi in windows if lo < tick < hi)


def test_gil_is_released_during_a_large_scan():
    assert _witness_ticks_inside_scans(threshold=0) > 0


def test_gil_is_held_below_the_threshold():
    """The control: with the threshold above the input size the witness never runs mid-scan,
    which shows the test above can tell the two apart."""
    assert _witness_ticks_inside_scans(threshold=1 << 62) == 0

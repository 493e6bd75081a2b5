"""fast_sum(data) == sum(memoryview(data).tobytes()), for every exporter and layout."""
import array
import os
import subprocess
import sys
import sysconfig
import textwrap

import pytest

import rawcapi
from conftest import BASE, _testbuffer, buffer_cases, c_original, np, plain_sum

CASES = buffer_cases()


@pytest.mark.parametrize("data", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_plain_python(data):
    assert rawcapi.fast_sum(data) == plain_sum(data)


def test_article_example():
    assert rawcapi.fast_sum(b"hello world") == 1116


def test_mmap(mmap_file):
    assert rawcapi.fast_sum(mmap_file) == plain_sum(mmap_file)


def test_64_mib_of_255():
    data = b"\xff" * (64 << 20)
    assert rawcapi.fast_sum(data) == 255 * len(data)


def test_64_mib_pattern_through_every_kind_of_view():
    data = bytearray(BASE * ((64 << 20) // len(BASE) + 1))[: 64 << 20]
    expected = plain_sum(data)
    assert rawcapi.fast_sum(data) == expected
    assert rawcapi.fast_sum(memoryview(data)[::-1]) == expected
    # One byte in every two: the strided walk over a large input.
    assert rawcapi.fast_sum(memoryview(data)[::2]) == plain_sum(memoryview(data)[::2])


def test_sum_beyond_64_bits_is_exact():
    """A zero-stride view can name the same bytes 2**61 times: the exact sum needs > 64 bits."""
    np_ = pytest.importorskip("numpy")
    one = np_.array([255, 7], dtype=np_.uint8)
    huge = np_.lib.stride_tricks.as_strided(one, shape=(1 << 61, 2), strides=(0, 1))
    assert rawcapi.fast_sum(huge) == (255 + 7) << 61


def test_writable_and_readonly_exporters_both_work():
    assert rawcapi.fast_sum(bytearray(b"\x01\x02")) == 3
    assert rawcapi.fast_sum(memoryview(b"\x01\x02").toreadonly()) == 3


@pytest.mark.parametrize("bad", ["a str", None, 42, 1.5, [1, 2, 3], (1,), object()])
def test_non_buffers_raise_cpython_y_star_message(bad):
    name = type(bad).__name__
    with pytest.raises(TypeError, match=rf"^a bytes-like object is required, not '{name}'$"):
        rawcapi.fast_sum(bad)


def test_argument_count_is_checked():
    with pytest.raises(TypeError, match=r"fast_sum\(\) takes exactly one argument \(0 given\)"):
        rawcapi.fast_sum()
    with pytest.raises(TypeError, match=r"fast_sum\(\) takes exactly one argument \(2 given\)"):
        rawcapi.fast_sum(b"a", b"b")
    with pytest.raises(TypeError, match=r"fast_sum\(\) takes no keyword arguments"):
        rawcapi.fast_sum(data=b"a")


@pytest.mark.skipif(_testbuffer is None, reason="needs CPython's _testbuffer")
def test_failing_exporter_propagates_its_exception():
    failing = _testbuffer.ndarray([1, 2, 3], shape=[3], format="B", flags=_testbuffer.ND_GETBUF_FAIL)
    with pytest.raises(BufferError, match="ND_GETBUF_FAIL: forced test exception"):
        rawcapi.fast_sum(failing)


def test_buffer_is_released_on_success():
    """While a buffer is exported a bytearray cannot resize; after the call it must again."""
    data = bytearray(b"abc")
    rawcapi.fast_sum(data)
    data.extend(b"more")  # raises BufferError if the export were still held
    assert rawcapi.fast_sum(data) == plain_sum(data)


def test_buffer_is_released_on_the_error_path():
    """count the exporter's references: a leaked Py_buffer keeps one."""
    data = bytearray(b"abc")
    before = sys.getrefcount(data)
    for _ in range(100):
        rawcapi.fast_sum(data)
        rawcapi.fast_sum(memoryview(data)[::-1])
    assert sys.getrefcount(data) == before
    data.append(1)


@pytest.mark.skipif(c_original is None, reason="C original not built (pip-installed rawcapi)")
@pytest.mark.parametrize(
    "data",
    [b"hello world", b"", BASE, bytearray(BASE), memoryview(BASE), array.array("d", [1.5, -2.0]), b"\xff" * 100_000],
    ids=["article", "empty", "bytes", "bytearray", "memoryview", "array-d", "100k-255"],
)
def test_agrees_with_the_c_original_where_y_star_accepts(data):
    assert rawcapi.fast_sum(data) == c_original.fast_sum(data) == plain_sum(data)


@pytest.mark.skipif(c_original is None, reason="C original not built (pip-installed rawcapi)")
def test_c_original_refuses_what_rawcapi_accepts():
    """y* asks for a C-contiguous buffer; rawcapi takes any layout."""
    strided = memoryview(BASE)[::2]
    with pytest.raises(BufferError):
        c_original.fast_sum(strided)
    assert rawcapi.fast_sum(strided) == plain_sum(strided)


@pytest.mark.skipif(c_original is None, reason="C original not built (pip-installed rawcapi)")
@pytest.mark.skipif(not sysconfig.get_config_var("Py_GIL_DISABLED"), reason="needs a free-threaded CPython")
def test_c_original_declares_it_runs_without_the_gil():
    # Single-phase init: PyUnstable_Module_SetGIL in PyInit_fast_sum. Without it, importing the
    # module turns the GIL on for the whole process, with a RuntimeWarning.
    code = textwrap.dedent(
        f"""
        import sys, warnings
        sys.path.insert(0, {os.path.dirname(c_original.__file__)!r})
        assert not sys._is_gil_enabled(), "the GIL was already on before the import"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            import fast_sum
        assert fast_sum.fast_sum(b"abc") == 294
        print(sys._is_gil_enabled())
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"

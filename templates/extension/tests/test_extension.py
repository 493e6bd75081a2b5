"""The extension against plain Python: byte_sum against sum(), Counter against an int, and
the reference counts the C code is responsible for against sys.getrefcount."""
import array
import inspect
import sys
import threading

import pytest

INPUTS = [
    b"",
    b"hello world",
    bytes(range(256)) * 3,
    bytearray(b"\xff" * 1000),
    memoryview(b"abcdef")[1:4],
    array.array("i", [1, -1, 1 << 30]),
    bytes(range(256)) * 1024,       # 256 KiB: above the threshold, read with the GIL released
]


@pytest.mark.parametrize("data", INPUTS, ids=range(len(INPUTS)))
def test_byte_sum_matches_sum(ext, data):
    assert ext.byte_sum(data) == sum(memoryview(data).cast("B"))


def test_byte_sum_signature(ext):
    assert str(inspect.signature(ext.byte_sum)) == "(data, /)"


def test_byte_sum_rejects_non_buffers(ext):
    with pytest.raises(TypeError, match=r"^a bytes-like object is required, not 'int'$"):
        ext.byte_sum(42)
    with pytest.raises(TypeError, match=r"^a bytes-like object is required, not 'str'$"):
        ext.byte_sum("text")


def test_byte_sum_rejects_a_strided_view(ext):
    # PyBUF_SIMPLE asks for one contiguous run; the memoryview refuses, with its own message.
    with pytest.raises(BufferError, match="not C-contiguous"):
        ext.byte_sum(memoryview(b"abcdef")[::2])


def test_byte_sum_wrong_argument_count(ext, name):
    with pytest.raises(TypeError, match=rf"^{name}\.byte_sum\(\) takes exactly one argument \(0 given\)$"):
        ext.byte_sum()


@pytest.mark.parametrize("size", [10, 1 << 20])
def test_byte_sum_releases_the_buffer(ext, size):
    # PyBuffer_Release on every path: a bytearray refuses to resize while an export is held,
    # and the view's reference to its exporter (view.obj) must be dropped.
    data = bytearray(size)
    before = sys.getrefcount(data)
    for _ in range(100):
        ext.byte_sum(data)
    assert sys.getrefcount(data) == before
    data.append(1)  # BufferError if an export were still held


def test_byte_sum_releases_the_buffer_after_an_error(ext):
    data = bytearray(b"abcdef")
    view = memoryview(data)[::2]
    before = sys.getrefcount(view)
    for _ in range(100):
        with pytest.raises(BufferError):
            ext.byte_sum(view)
    assert sys.getrefcount(view) == before


def test_counter_counts(ext):
    c = ext.Counter()
    assert c.value == 0
    assert c.add(5) == 5
    assert c.add(-7) == -2
    assert c.value == -2
    assert ext.Counter(41).add(1) == 42
    assert ext.Counter(start=-3).value == -3


def test_counter_bad_input(ext):
    with pytest.raises(TypeError):
        ext.Counter("a")
    # PyLong_AsLongLong's own message ("an integer is required (got type str)" on 3.9).
    with pytest.raises(TypeError, match="'str' object cannot be interpreted as an integer|an integer is required"):
        ext.Counter().add("a")
    with pytest.raises(OverflowError):
        ext.Counter(1 << 63)


def test_counter_overflow_leaves_the_value(ext):
    c = ext.Counter((1 << 63) - 2)
    assert c.add(1) == (1 << 63) - 1
    with pytest.raises(OverflowError, match=r"^Counter\.add: the value would leave the int64 range$"):
        c.add(1)
    assert c.value == (1 << 63) - 1


def test_counter_is_exact_under_threads(ext):
    # Without a GIL (a free-threaded build, which Py_mod_gil allows) the atomic update is what
    # keeps concurrent adds from losing one another; with a GIL every call must count too.
    c = ext.Counter()
    threads = [threading.Thread(target=lambda: [c.add(1) for _ in range(20_000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.value == 80_000


def test_counter_instances_give_back_their_type_reference(ext):
    # Every instance of a heap type holds a reference to the type; tp_dealloc must drop it.
    # (Counts are taken outside `assert`: pytest's rewriting of an assert keeps its own
    # reference to each subexpression.)
    counter_type = ext.Counter
    before = sys.getrefcount(counter_type)
    counters = [counter_type(i) for i in range(1000)]
    during = sys.getrefcount(counter_type)
    del counters
    after = sys.getrefcount(counter_type)
    assert (during, after) == (before + 1000, before)


def test_counter_type(ext, name):
    assert ext.Counter.__module__ == name and ext.Counter.__qualname__ == "Counter"
    if sys.version_info >= (3, 10):  # 3.9 reads no text signature from a heap type's tp_doc
        assert str(inspect.signature(ext.Counter)) == "(start=0)"
    with pytest.raises(TypeError):
        type("Sub", (ext.Counter,), {})  # no Py_TPFLAGS_BASETYPE
    with pytest.raises(AttributeError):
        ext.Counter().value = 1  # a getter without a setter
    if sys.version_info >= (3, 10):
        with pytest.raises(TypeError):
            ext.Counter.add = None  # Py_TPFLAGS_IMMUTABLETYPE


def test_module_doc_names_everything(ext):
    public = [n for n in dir(ext) if not n.startswith("_")]
    assert public == ["Counter", "byte_sum"]
    assert all(f"  {n}(" in ext.__doc__ for n in public)


def test_module_file_matches_its_name(ext, name):
    # The .so is named after the module and exports PyInit_<name>: the import itself proves it.
    assert ext.__name__ == name and ext.__file__.rsplit("/", 1)[-1].startswith(name + ".")

"""An exception raised by the user's own code inside a hook rawcapi calls comes out unchanged.

rawcapi calls Python-level hooks of the objects it is given: `__index__` (shapes, indexes, axes,
stores into integer Arrays), `__float__` (element-type inference, stores into float Arrays),
`__complex__` (stores into complex Arrays), `__len__` and `__getitem__` (nested sequences, shapes),
`__buffer__` (every buffer request, Python classes export from CPython 3.12). Where rawcapi
expects one failure (a TypeError from `len()` means "not a sequence", from `float()` "not a
number"), it clears that one only. Everything else, here KeyboardInterrupt, MemoryError,
SystemExit and an exception class of the user's own, must reach the caller as the very object the
hook raised. The table is hook × entry point; each row runs with each exception.

`__release_buffer__` has no caller to propagate to: CPython passes what it raises to
`sys.unraisablehook`. The last tests check that it arrives there and that the export is released
all the same.
"""
import gc
import sys
import weakref

import pytest

import rawcapi

# Fast, and its __buffer__ rows run only from 3.12: the version matrix runs it.
pytestmark = pytest.mark.quick


class UserError(Exception):
    """An exception class of the user's own: nothing in rawcapi or CPython expects it."""


EXCEPTIONS = [KeyboardInterrupt, MemoryError, SystemExit, UserError]

HAS_PYTHON_BUFFER = sys.version_info >= (3, 12)  # PEP 688: __buffer__ / __release_buffer__


class Hook:
    """An object one of whose hooks raises `exc`."""

    def __init__(self, exc):
        self.exc = exc


class Index(Hook):
    def __index__(self):
        raise self.exc


class Float(Hook):
    def __float__(self):
        raise self.exc


class Complex(Hook):
    """A number by float() (so inference takes it), whose complex() fails."""

    def __float__(self):
        return 0.5

    def __complex__(self):
        raise self.exc


class Len(Hook):
    """A sequence (it has __getitem__) whose len() fails."""

    def __len__(self):
        raise self.exc

    def __getitem__(self, i):
        if i < 2:
            return 1
        raise IndexError(i)


class GetItem(Hook):
    """A sequence of length 2 whose items cannot be read."""

    def __len__(self):
        return 2

    def __getitem__(self, i):
        raise self.exc


class Buffer(Hook):
    def __buffer__(self, flags):
        raise self.exc


def _set(target, key, value):
    target[key] = value


def _set_shape(a, shape):
    a.shape = shape


# (hook class, entry point, call). Each call must reach the hook: the test checks that the object
# raised in the hook is the one that comes out.
ROWS = [
    # __index__
    (Index, "zeros(n)", lambda h: rawcapi.zeros(h)),
    (Index, "zeros((2, n))", lambda h: rawcapi.zeros((2, h))),
    (Index, "Array.reshape(n, 3)", lambda h: rawcapi.arange(6).reshape(h, 3)),
    (Index, "Array.reshape((n, 3))", lambda h: rawcapi.arange(6).reshape((h, 3))),
    (Index, "Array.shape = (n, 3)", lambda h: _set_shape(rawcapi.arange(6), (h, 3))),
    (Index, "Array[i]", lambda h: rawcapi.arange(6)[h]),
    (Index, "Array[0, i]", lambda h: rawcapi.zeros((2, 3))[0, h]),
    (Index, "Array[i] = x", lambda h: _set(rawcapi.arange(6), h, 1)),
    (Index, "Array.sum(axis=)", lambda h: rawcapi.zeros((2, 3)).sum(axis=h)),
    (Index, "Array([.., x]) (int64 store)", lambda h: rawcapi.Array([1, h])),
    (Index, "Array([x], dtype='uint8')", lambda h: rawcapi.Array([h], dtype="uint8")),
    (Index, "int64 Array[0] = x", lambda h: _set(rawcapi.zeros(3, dtype="int64"), 0, h)),
    (Index, "matmul(operand)", lambda h: rawcapi.matmul([[h]], [[1]])),
    (Index, "fft(operand)", lambda h: rawcapi.fft([h, 1])),
    (Index, "fft(n=)", lambda h: rawcapi.fft(rawcapi.zeros(4), n=h)),
    (Index, "fft(axis=)", lambda h: rawcapi.fft(rawcapi.zeros(4), axis=h)),
    # __float__
    (Float, "Array(x)", lambda h: rawcapi.Array(h)),
    (Float, "Array([1.0, x])", lambda h: rawcapi.Array([1.0, h])),
    (Float, "Array([x], dtype='float64')", lambda h: rawcapi.Array([h], dtype="float64")),
    (Float, "float64 Array[0] = x", lambda h: _set(rawcapi.zeros(3), 0, h)),
    (Float, "float32 Array[0] = x", lambda h: _set(rawcapi.zeros(3, dtype="float32"), 0, h)),
    (Float, "Array[:] = [x]", lambda h: _set(rawcapi.zeros(1), slice(None), [h])),
    (Float, "arange(x)", lambda h: rawcapi.arange(h)),
    (Float, "arange(0, 5, x)", lambda h: rawcapi.arange(0, 5, h)),
    (Float, "matmul(operand)", lambda h: rawcapi.matmul([[h]], [[1.0]])),
    (Float, "fft(operand)", lambda h: rawcapi.fft([h, 1.0])),
    # __complex__
    (Complex, "Array([x], dtype='complex128')", lambda h: rawcapi.Array([h], dtype="complex128")),
    (Complex, "complex128 Array[0] = x", lambda h: _set(rawcapi.zeros(3, dtype="complex128"), 0, h)),
    # __len__
    (Len, "Array(x)", lambda h: rawcapi.Array(h)),
    (Len, "Array([x, x])", lambda h: rawcapi.Array([h, h])),
    (Len, "zeros(shape)", lambda h: rawcapi.zeros(h)),
    (Len, "Array.reshape(shape)", lambda h: rawcapi.arange(2).reshape(h)),
    (Len, "Array[:] = x", lambda h: _set(rawcapi.zeros(2), slice(None), h)),
    (Len, "matmul(operand)", lambda h: rawcapi.matmul(h, [[1.0], [2.0]])),
    (Len, "fft(operand)", lambda h: rawcapi.fft(h)),
    # __getitem__
    (GetItem, "Array(x)", lambda h: rawcapi.Array(h)),
    (GetItem, "Array([x, x])", lambda h: rawcapi.Array([h, h])),
    (GetItem, "zeros(shape)", lambda h: rawcapi.zeros(h)),
    (GetItem, "Array.reshape(shape)", lambda h: rawcapi.arange(4).reshape(h)),
    (GetItem, "Array[:] = x", lambda h: _set(rawcapi.zeros(2), slice(None), h)),
    (GetItem, "matmul(operand)", lambda h: rawcapi.matmul(h, [[1.0], [2.0]])),
    (GetItem, "fft(operand)", lambda h: rawcapi.fft(h)),
    # __buffer__ (3.12+)
    (Buffer, "Array(x)", lambda h: rawcapi.Array(h)),
    (Buffer, "Array([x]) (inference)", lambda h: rawcapi.Array([h])),
    (Buffer, "Array.frombuffer(x)", lambda h: rawcapi.Array.frombuffer(h)),
    (Buffer, "fast_sum(x)", lambda h: rawcapi.fast_sum(h)),
    (Buffer, "count_lines(x)", lambda h: rawcapi.count_lines(h)),
    (Buffer, "add(a, x)", lambda h: rawcapi.add(rawcapi.zeros(2), h)),
    (Buffer, "Array + x", lambda h: rawcapi.zeros(2) + h),
    (Buffer, "add(a, b, out=x)", lambda h: rawcapi.add(rawcapi.zeros(2), 1.0, out=h)),
    (Buffer, "Array[:] = x", lambda h: _set(rawcapi.zeros(2), slice(None), h)),
    (Buffer, "matmul(x, b)", lambda h: rawcapi.matmul(h, rawcapi.zeros((2, 2)))),
    (Buffer, "matmul(a, b, out=x)", lambda h: rawcapi.matmul(rawcapi.zeros((2, 2)), rawcapi.zeros((2, 2)), out=h)),
    (Buffer, "fft(x)", lambda h: rawcapi.fft(h)),
]

HOOKS = {Index: "__index__", Float: "__float__", Complex: "__complex__", Len: "__len__", GetItem: "__getitem__", Buffer: "__buffer__"}


def _row_param(row):
    hook, entry, call = row
    marks = []
    if hook is Buffer and not HAS_PYTHON_BUFFER:
        marks.append(pytest.mark.skip(reason="a Python class exports a buffer through __buffer__ from CPython 3.12 (PEP 688)"))
    return pytest.param(hook, call, id=f"{HOOKS[hook]}-{entry}", marks=marks)


def test_the_table_covers_every_hook():
    assert {hook for hook, _, _ in ROWS} == set(HOOKS)


@pytest.mark.parametrize("exc_type", EXCEPTIONS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("hook,call", [_row_param(row) for row in ROWS])
def test_the_hooks_own_exception_comes_out(hook, call, exc_type):
    raised = exc_type(f"raised by {HOOKS[hook]}")
    with pytest.raises(exc_type) as excinfo:
        call(hook(raised))
    assert excinfo.value is raised


@pytest.mark.parametrize("hook,call", [_row_param(row) for row in ROWS])
def test_the_error_path_keeps_no_reference(hook, call):
    # Neither the hook's object nor its exception may be left referenced by rawcapi (a buffer
    # or an Owned not released on the way out).
    raised = UserError("from the hook")
    before = sys.getrefcount(raised)
    obj = hook(raised)
    alive = weakref.ref(obj)
    for _ in range(20):
        with pytest.raises(UserError) as excinfo:
            call(obj)
        excinfo.value.__traceback__ = None  # its frames hold `obj`
        del excinfo
    del obj
    gc.collect()
    assert alive() is None
    assert sys.getrefcount(raised) == before


# The one failure each hook site expects keeps its meaning: rawcapi's own answer, not the hook's.


def test_a_len_typeerror_means_not_a_sequence():
    class Unsized:
        def __getitem__(self, i):
            return 1

        def __len__(self):
            raise TypeError("no len")

    with pytest.raises(TypeError, match="must be a buffer-protocol object, a nested sequence of numbers or a number"):
        rawcapi.Array(Unsized())


def test_a_float_typeerror_means_not_a_number():
    class NotANumber:
        def __float__(self):
            raise TypeError("no float")

    with pytest.raises(TypeError, match="an Array element must be a number, not 'NotANumber'"):
        rawcapi.Array([NotANumber()])


def test_a_missing_dtype_name_attribute_is_an_unknown_dtype():
    class Named:
        @property
        def name(self):
            raise AttributeError("no name")

    with pytest.raises(TypeError, match="not understood"):
        rawcapi.zeros(2, dtype=Named())


@pytest.mark.parametrize("exc_type", EXCEPTIONS, ids=lambda e: e.__name__)
def test_a_dtype_name_property_s_own_exception_comes_out(exc_type):
    raised = exc_type("from the name property")

    class Named:
        @property
        def name(self):
            raise raised

    with pytest.raises(exc_type) as excinfo:
        rawcapi.zeros(2, dtype=Named())
    assert excinfo.value is raised


@pytest.mark.parametrize("exc_type", EXCEPTIONS, ids=lambda e: e.__name__)
def test_a_str_hook_used_in_a_message_passes_its_exception_on(exc_type):
    # An unknown dtype is named by str(obj) in the TypeError; str() runs the user's __str__.
    raised = exc_type("from __str__")

    class Shown:
        def __str__(self):
            raise raised

    with pytest.raises(exc_type) as excinfo:
        rawcapi.zeros(2, dtype=Shown())
    assert excinfo.value is raised


def test_an_int_too_long_for_str_is_still_named_in_the_overflow_message():
    # str() of an int beyond sys.get_int_max_str_digits() raises ValueError: the expected "no
    # text" case, which the message replaces by the type name.
    big = 10 ** 5000
    with pytest.raises(OverflowError, match="^Python integer <int> out of bounds for uint8$"):
        rawcapi.Array([big], dtype="uint8")


# __release_buffer__: to sys.unraisablehook, and the export released anyway.

def _not_a_number(call, arg):
    # A 1-d buffer of bytes is not an element: the view is taken, read, released, then refused.
    with pytest.raises(TypeError, match="must be a number"):
        call(arg)


RELEASE_CALLS = [
    ("Array.frombuffer", lambda e: rawcapi.Array.frombuffer(e)),
    ("Array(x)", lambda e: rawcapi.Array(e)),
    ("Array([x]) (inference)", lambda e: _not_a_number(rawcapi.Array, [e])),
    ("fast_sum", lambda e: rawcapi.fast_sum(e)),
    ("count_lines", lambda e: rawcapi.count_lines(e)),
    ("add", lambda e: rawcapi.add(e, 1)),
    ("matmul", lambda e: rawcapi.matmul(rawcapi.Array.frombuffer(e).reshape(2, 4), rawcapi.zeros((4, 1), dtype="uint8"))),
]


@pytest.mark.skipif(not HAS_PYTHON_BUFFER, reason="__release_buffer__ is called from CPython 3.12 (PEP 688)")
@pytest.mark.parametrize("exc_type", EXCEPTIONS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("call", [c for _, c in RELEASE_CALLS], ids=[name for name, _ in RELEASE_CALLS])
def test_release_buffer_exceptions_reach_the_unraisable_hook(call, exc_type, monkeypatch):
    raised = exc_type("from __release_buffer__")
    data = bytearray(b"\x01\n\x03\x04\x05\x06\x07\x08")

    class Exporter:
        def __buffer__(self, flags):
            return memoryview(data)

        def __release_buffer__(self, view):
            view.release()
            raise raised

    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: seen.append(unraisable.exc_value))
    exporter = Exporter()
    alive = weakref.ref(exporter)
    result = call(exporter)
    del result  # a frombuffer Array releases its export when it goes
    gc.collect()
    assert seen, "__release_buffer__'s exception did not reach sys.unraisablehook"
    assert all(exc is raised for exc in seen)
    data.append(0)  # BufferError if any export of `data` were still held
    # The exception's traceback holds __release_buffer__'s frame, and so the exporter (`self`):
    # drop that path, then nothing else may keep the exporter alive.
    raised.__traceback__ = None
    del exporter, seen
    gc.collect()
    assert alive() is None

"""Array construction, conversion and attributes, with NumPy as the oracle."""
import re
import sys
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import rawcapi
from array_strategies import DTYPES, strided_arrays

Array = rawcapi.Array


def same(a, expected):
    """`a` (an Array) equals `expected` (a NumPy array) in dtype, shape and every bit."""
    expected = np.asarray(expected)
    assert a.dtype == expected.dtype.name
    assert a.shape == expected.shape
    assert np.asarray(a).tobytes() == np.ascontiguousarray(expected).tobytes()


@settings(max_examples=300, deadline=None)
@given(strided_arrays())
def test_copy_from_any_numpy_layout(x):
    a = Array(x)
    same(a, x)
    assert a.base is None and a.c_contiguous and a.writable
    assert x.size == 0 or a.strides == np.array(x, order="C").strides
    assert repr(a.tolist()) == repr(x.tolist())  # repr: NaN == NaN
    assert a.ndim == x.ndim and a.size == x.size and a.itemsize == x.itemsize and a.nbytes == x.nbytes


@settings(max_examples=300, deadline=None)
@given(strided_arrays(), st.sampled_from(DTYPES))
def test_astype_matches_numpy_bit_for_bit(x, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy's "invalid value in cast" / ComplexWarning
        expected = x.astype(dtype)
    same(Array(x).astype(dtype), expected)
    same(Array(x, dtype=dtype), expected)


@settings(max_examples=200, deadline=None)
@given(strided_arrays())
def test_copy_through_memoryview_of_the_numpy_view(x):
    # The same layout reached through a memoryview (another exporter, same Py_buffer).
    same(Array(memoryview(x)), x)


def test_tolist_and_scalars_are_python_types():
    a = Array([[True, False]])
    assert a.tolist() == [[True, False]] and type(a.tolist()[0][0]) is bool
    assert type(Array([1])[0]) is int
    assert type(Array([1.5], dtype="float32")[0]) is float
    assert Array([1 + 2j])[0] == 1 + 2j
    assert Array(2.5).tolist() == 2.5 and Array(2.5).shape == ()


@pytest.mark.parametrize(
    "obj",
    [
        [1, 2, 3],
        [1, 2.5],
        [True, False],
        [True, 2],
        [[1, 2], [3, 4]],
        [1, 2j],
        [],
        [[], []],
        [[[1.0]], [[2.0]]],
        (1, (2, 3))[1:],
        [np.float64(1.5), 2],
        [np.int32(7), 1],
        3,
        True,
        1.5,
        [2**62, -(2**62)],
    ],
)
def test_nested_sequences_infer_like_numpy(obj):
    same(Array(obj), np.array(obj))


class OnlyFloat:
    """A Fraction-like number: float() works, and nothing else."""

    def __float__(self):
        return 2.5


class OnlyIndex:
    """An integer by __index__ alone."""

    def __index__(self):
        return 7


def _kind(dtype):
    return np.dtype(dtype).kind


# Each x's kind is what it is, not what its protocol slots suggest: a 0-d float array has
# __index__ (NumPy gives it nb_index) and is still a float; NumPy's bool has no bool base class.
KIND_CASES = [
    np.int8(3),
    np.int32(-4),
    np.uint8(200),
    np.uint64(5),
    np.float16(0.5),
    np.float32(1.5),
    np.float64(2.5),
    np.longdouble(0.25),
    np.bool_(True),
    np.bool_(False),
    np.complex64(1j),
    np.complex128(1 + 2j),
    np.array(5.7),
    np.array(True),
    np.array(3),
    np.array(3, dtype=np.uint16),
    np.array(1.5, dtype=np.float32),
    np.array(2j),
    True,
    7,
    0.5,
    1j,
]


@pytest.mark.parametrize("x", KIND_CASES, ids=repr)
def test_element_kind_is_what_the_number_is(x):
    expected = np.array([x])  # the oracle: NumPy's own inference
    got = Array([x])
    # rawcapi has bool, int64, float64 and complex128 as inferred types; NumPy keeps a
    # scalar's own width (float32, uint64 ...). The kind must agree, and the values.
    assert _kind(got.dtype) == expected.dtype.kind.replace("u", "i")
    assert got.tolist() == expected.tolist()
    alone = Array([x, x])
    assert _kind(alone.dtype) == _kind(got.dtype)


@pytest.mark.parametrize(
    "x,y",
    [(np.array(5.7), 1), (1, np.array(2.5)), (np.array(True), np.array(True)), (np.bool_(True), 2), (np.array(3), 0.5), (np.array(1j), 1)],
    ids=repr,
)
def test_mixed_elements_promote_by_kind_like_numpy(x, y):
    expected = np.array([x, y])
    got = Array([x, y])
    assert _kind(got.dtype) == expected.dtype.kind
    assert got.tolist() == expected.tolist()


def test_zero_d_float_array_is_a_float_not_an_int():
    same(Array([np.array(5.7)]), np.array([np.array(5.7)]))
    same(Array([np.array(True)]), np.array([np.array(True)]))
    same(Array([np.float64(2.5)]), np.array([np.float64(2.5)]))


@pytest.mark.parametrize(
    "x,kind",
    [(OnlyFloat(), "f"), (OnlyIndex(), "i"), (Fraction(1, 4), "f"), (Decimal("2.5"), "f")],
    ids=["only __float__", "only __index__", "Fraction", "Decimal"],
)
def test_objects_known_only_by_their_protocol(x, kind):
    # NumPy makes an object array of these (rawcapi has no object dtype); the oracle is plain
    # Python: what float() and operator.index() accept.
    import operator

    assert np.array([x]).dtype.kind == "O"
    got = Array([x])
    assert _kind(got.dtype) == kind
    assert got.tolist() == [operator.index(x) if kind == "i" else float(x)]


def test_an_exporter_of_bytes_is_not_a_number():
    # float() reads a buffer's bytes as the text of a number (float(PickleBuffer(b"2.5")) is
    # 2.5); an element is a number by what it is, and a buffer of bytes is none.
    import pickle

    text = pickle.PickleBuffer(b"2.5")
    assert float(text) == 2.5
    with pytest.raises(TypeError, match=r"an Array element must be a number, not '(pickle\.)?PickleBuffer'"):
        Array([text])


@pytest.mark.parametrize("dtype", DTYPES)
def test_nested_sequences_with_dtype(dtype):
    obj = [[0, 1], [1, 0]]
    same(Array(obj, dtype=dtype), np.array(obj, dtype=dtype))


def test_python_scalars_into_dtypes_follow_numpy_2():
    same(Array([1.7, -1.2], dtype="int32"), np.array([1.7, -1.2], dtype="int32"))
    with pytest.raises(OverflowError, match="Python integer 300 out of bounds for uint8"):
        Array([300], dtype="uint8")
    with pytest.raises(OverflowError, match="Python integer -1 out of bounds for uint8"):
        Array([-1], dtype="uint8")
    with pytest.raises(OverflowError, match="Python integer 9223372036854775808 out of bounds for int64"):
        Array([2**63])
    with pytest.raises(ValueError, match="cannot convert float NaN to integer"):
        Array([float("nan")], dtype="int64")
    with pytest.raises(TypeError, match="not 'complex'"):
        Array([1j], dtype="float64")


@pytest.mark.parametrize(
    "obj, after",
    [([[1, 2], [3]], 1), ([1, [2]], 1), ([[1], 2], 1), ([[[1, 2]], [[1]]], 2)],
)
def test_ragged_is_valueerror_like_numpy(obj, after):
    with pytest.raises(ValueError, match=f"inhomogeneous shape after {after} dimensions"):
        Array(obj)
    with pytest.raises(ValueError, match=f"inhomogeneous shape after {after} dimensions"):
        np.array(obj)


def test_wrong_types_are_typeerror():
    with pytest.raises(TypeError, match="not 'dict'"):
        Array({})
    with pytest.raises(TypeError, match="must be a number, not 'str'"):
        Array(["a"])
    with pytest.raises(TypeError, match="data type 'float16' not understood"):
        Array([1], dtype="float16")
    with pytest.raises(TypeError):
        Array()


@pytest.mark.parametrize("np_dtype", ["i2", ">f8", "u2", "f2", "u8", "i4,f8", "S3", "<i2"])
def test_unsupported_buffer_format_is_typeerror_naming_it(np_dtype):
    mv = memoryview(np.zeros(2, dtype=np_dtype))
    with pytest.raises(TypeError, match=f"cannot take buffer format '{re.escape(mv.format)}'"):
        Array(mv)


@pytest.mark.parametrize("fmt, dtype", [("?", "bool"), ("B", "uint8"), ("i", "int32"), ("l", "int64"),
                                         ("q", "int64"), ("f", "float32"), ("d", "float64")])
def test_struct_formats(fmt, dtype):
    mv = memoryview(bytearray(np.arange(6).astype(dtype).tobytes())).cast(fmt)
    same(Array(mv), np.arange(6).astype(dtype))


def test_numpy_byte_order_spellings():
    same(Array(np.arange(4, dtype="<i8")), np.arange(4))
    with pytest.raises(TypeError, match=r"buffer format '>d'"):
        Array(np.arange(4, dtype=">f8"))


def test_bytes_are_uint8():
    same(Array(b"\x01\x02\xff"), np.frombuffer(b"\x01\x02\xff", dtype=np.uint8))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), 0, 3, (2, 3), (0, 4), [1, 2, 1, 2]])
def test_zeros(shape, dtype):
    same(rawcapi.zeros(shape, dtype=dtype), np.zeros(shape, dtype=dtype))


def test_zeros_errors():
    with pytest.raises(ValueError, match="negative dimensions are not allowed"):
        rawcapi.zeros((2, -1))
    with pytest.raises(ValueError, match=r"array is too big; `arr.size \* arr.dtype.itemsize` is larger than the maximum possible size."):
        rawcapi.zeros((2**62, 4))
    with pytest.raises(ValueError, match="array is too big"):
        np.zeros((2**62, 4))
    with pytest.raises(MemoryError, match=r"Unable to allocate .* for an array with shape \(1152921504606846975,\) and data type float64"):
        rawcapi.zeros(2**60 - 1)
    with pytest.raises(ValueError, match="maximum supported dimension for an Array is 32, found 33"):
        rawcapi.zeros((1,) * 33)
    assert rawcapi.zeros((1,) * 32).ndim == 32
    with pytest.raises(TypeError, match="cannot be interpreted as an integer"):
        rawcapi.zeros((2.5,))


arange_args = st.one_of(
    st.tuples(st.integers(-50, 50)),
    st.tuples(st.integers(-50, 50), st.integers(-50, 50)),
    st.tuples(st.integers(-50, 50), st.integers(-50, 50), st.integers(-7, 7).filter(bool)),
    st.tuples(st.floats(-100, 100), st.floats(-100, 100), st.floats(0.01, 10) | st.floats(-10, -0.01)),
    st.tuples(st.integers(-20, 20), st.floats(-100, 100), st.integers(1, 5)),
)


@settings(max_examples=300, deadline=None)
@given(arange_args, st.sampled_from([None, "uint8", "int32", "int64", "float32", "float64", "complex128"]))
def test_arange_matches_numpy(args, dtype):
    kw = {} if dtype is None else {"dtype": dtype}
    try:
        expected = np.arange(*args, **kw)
    except (OverflowError, ValueError) as e:
        with pytest.raises(type(e)):
            rawcapi.arange(*args, **kw)
        return
    same(rawcapi.arange(*args, **kw), expected)


def test_arange_large_float32_bits():
    same(rawcapi.arange(0.1, 1e5, 0.3, dtype="float32"), np.arange(0.1, 1e5, 0.3, dtype="float32"))
    same(rawcapi.arange(250, 260, dtype="uint8"), np.arange(250, 260, dtype="uint8"))
    same(rawcapi.arange(0.5, 5, 0.5, dtype="int64"), np.arange(0.5, 5, 0.5, dtype="int64"))


def test_arange_takes_the_kind_of_numpy_zero_d_arrays():
    for args in [(np.array(2.5),), (np.array(1), np.array(4.5)), (0, 3, np.array(0.5)), (np.array(3),), (np.int32(2), 6)]:
        expected = np.arange(*args)
        got = rawcapi.arange(*args)
        assert _kind(got.dtype) == expected.dtype.kind
        assert got.tolist() == expected.tolist()


@pytest.mark.parametrize(
    "args",
    [(2**63 - 2, 2**63 + 2), (0, 2**64, 2**62), (-(2**63) + 2, -(2**63) - 2, -1), (2**63 - 10, 2**63 + 10, 3)],
    ids=repr,
)
@pytest.mark.parametrize("dtype", [None, "int64"])
def test_arange_past_int64_is_overflowerror_never_wrapped(args, dtype):
    kw = {} if dtype is None else {"dtype": dtype}
    with pytest.raises(OverflowError, match="out of bounds for int64"):
        rawcapi.arange(*args, **kw)
    # Float results hold these values (collapsed, as NumPy's float64 does).
    same(rawcapi.arange(*args, dtype="float64"), np.arange(*args, dtype="float64"))


def test_arange_up_to_the_ends_of_int64():
    # The oracle is range(): NumPy turns some of these into float64 for its own reasons.
    for args in [(2**63 - 3, 2**63 - 1), (-(2**63), -(2**63) + 3), (2**63 - 7, 2**63, 3), (-(2**63) + 4, -(2**63) - 1, -2)]:
        got = rawcapi.arange(*args)
        assert got.dtype == "int64" and got.tolist() == list(range(*args)), args


def test_arange_errors():
    with pytest.raises(ZeroDivisionError):
        rawcapi.arange(0, 5, 0)
    with pytest.raises(ValueError, match="arange: cannot compute length"):
        rawcapi.arange(0, float("nan"))
    with pytest.raises(TypeError, match="at most length 2"):
        rawcapi.arange(5, dtype="bool")
    with pytest.raises(TypeError, match="must be int or float, not 'str'"):
        rawcapi.arange("5")


def test_dtype_argument_spellings():
    assert Array([1], dtype=float).dtype == "float64"
    assert Array([1], dtype=int).dtype == "int64"
    assert Array([1], dtype=bool).dtype == "bool"
    assert Array([1], dtype=complex).dtype == "complex128"
    assert Array([1], dtype=np.float32).dtype == "float32"
    assert Array([1], dtype=np.dtype("int32")).dtype == "int32"


def test_repr_is_numpy_style_and_round_trips():
    for a in [Array([1.0, 2.0]), Array([[1, 2], [3, 4]], dtype="int32"), Array(3.0), Array([True]),
              Array([], dtype="uint8"), Array([1 + 2j]), Array([float("inf"), float("nan")], dtype="float32")]:
        text = repr(a)
        assert text.startswith("Array(") and text.endswith(f"dtype='{a.dtype}')")
        back = eval(text, {"Array": Array, "inf": float("inf"), "nan": float("nan")})
        assert back.dtype == a.dtype and back.shape == a.shape
        assert np.array_equal(np.asarray(back), np.asarray(a), equal_nan=True)
    assert repr(Array([1.0, 2.0])) == "Array([1.0, 2.0], dtype='float64')"
    assert repr(rawcapi.arange(10000)) == "Array([0, 1, 2, ..., 9997, 9998, 9999], shape=(10000,), dtype='int64')"
    # An empty Array of several dimensions: `[]` and its shape, as NumPy prints it, whatever its
    # leading lengths (nested brackets for (10**7, 0) would be 40 MB of text).
    for shape in [(0, 3), (2, 0), (10**7, 0), (2**16, 2**16, 0), (0, 0, 5)]:
        want = repr(np.zeros(shape)).replace("array(", "Array(").replace("dtype=float64", "dtype='float64'")
        assert repr(rawcapi.zeros(shape)) == want
    assert repr(rawcapi.zeros(0)) == "Array([], dtype='float64')"


def test_frombuffer_is_a_zero_copy_view_that_keeps_the_exporter_alive():
    buf = bytearray(np.arange(4, dtype=np.float64).tobytes())
    before = sys.getrefcount(buf)
    a = Array.frombuffer(memoryview(buf).cast("d"))
    assert a.dtype == "float64" and a.shape == (4,) and a.writable
    a[1] = 10.0
    assert np.frombuffer(buf)[1] == 10.0  # writes reach the exporter
    with pytest.raises(BufferError):
        buf.append(0)  # the bytearray is exported while `a` lives
    base = a.base
    assert isinstance(base, memoryview)
    del base
    del a
    buf.append(0)  # released in dealloc
    assert sys.getrefcount(buf) == before


def test_frombuffer_read_only_exporter():
    a = Array.frombuffer(b"\x01\x02")
    assert a.dtype == "uint8" and not a.writable
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        a[0] = 1
    assert memoryview(a).readonly
    assert not np.asarray(a).flags.writeable
    assert a[:1].writable is False


def test_frombuffer_keeps_numpy_layout():
    x = np.arange(24, dtype=np.int32).reshape(4, 6)[::-1, ::2]
    a = Array.frombuffer(x)
    assert a.shape == x.shape and a.strides == x.strides
    x[0, 0] = -5
    assert a[0, 0] == -5
    assert a.base is x or a.base.base is x or a.base is not None


def test_module_state_gives_each_module_object_its_own_type():
    import importlib.util

    spec = importlib.util.find_spec("rawcapi")
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    assert other.Array is not rawcapi.Array
    assert other.zeros(2).__class__ is other.Array
    assert rawcapi.zeros(2).__class__ is rawcapi.Array
    # An Array of one module instance is accepted by the other's functions.
    assert other.Array(rawcapi.arange(3)).tolist() == [0, 1, 2]


def test_type_is_final_and_immutable():
    with pytest.raises(TypeError):
        class Sub(Array):  # noqa: F841
            pass
    with pytest.raises(TypeError):
        Array.extra = 1
    assert Array.__module__ == "rawcapi" and Array.__name__ == "Array"


def test_python_code_that_mutates_the_input_cannot_crash_construction():
    # An element's __float__/__index__ runs while the list is being read; it empties the list
    # (dropping the other elements). The construction holds its own references.
    import gc

    outer = []

    class Evil:
        def __float__(self):
            outer.clear()
            gc.collect()
            return 1.5

    outer[:] = [Evil() for _ in range(8)]
    assert Array(outer).tolist() == [1.5] * 8

    a = rawcapi.zeros(4)

    class Reshaper:
        def __index__(self):
            a.shape = (2, 2)
            return 0

    with pytest.raises(BufferError, match="in use"):
        a.sum(axis=Reshaper())  # the layout is pinned while sum runs
    assert Array([Array([1, 2]), Array([3, 4])]).tolist() == [[1, 2], [3, 4]]
    x = 1.0
    for _ in range(100):
        x = [x]
    with pytest.raises(ValueError, match="maximum supported dimension for an Array is 32"):
        Array(x)


class _Endless:
    """A sequence whose __getitem__ never raises IndexError: only its __len__ ends it."""

    def __init__(self, length, value):
        self.length, self.value = length, value

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        return self.value


def test_a_sequence_is_read_as_far_as_its_len():
    # Iterating such an object never ends (tuple(obj) runs out of memory); rawcapi reads len(obj)
    # items by index, on every version.
    assert Array(_Endless(3, 1.5)).tolist() == [1.5, 1.5, 1.5]
    assert Array(_Endless(2, _Endless(3, 7))).tolist() == [[7, 7, 7], [7, 7, 7]]
    assert rawcapi.zeros(_Endless(2, 3)).shape == (3, 3)
    with pytest.raises(ValueError, match="maximum supported dimension for an Array is 32, found 40"):
        rawcapi.zeros(_Endless(40, 1))


def test_a_sequence_never_shows_a_half_built_tuple():
    # The items are read before the tuple that holds them is made: code run by the sequence (its
    # __getitem__ here) that walks every object the collector tracks never meets a tuple with
    # empty slots, which reading would crash on.
    import gc

    class Scanning:
        def __len__(self):
            return 3

        def __getitem__(self, i):
            if i >= 3:
                raise IndexError(i)
            for obj in gc.get_objects():
                if type(obj) is tuple and len(obj) == 3:
                    list(obj)  # reads every slot
            return float(i)

    assert Array(Scanning()).tolist() == [0.0, 1.0, 2.0]


def test_a_deque_is_read_in_one_pass():
    from collections import deque
    values = deque(range(1000))
    assert Array(values).tolist() == list(range(1000))
    assert Array(deque([deque([1, 2]), deque([3, 4])])).tolist() == [[1, 2], [3, 4]]

"""Step 07: `a + b` through nb_add, against NumPy and plain Python floats."""
import gc
import importlib.util
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import course07
from course07 import Array


def fresh_module():
    spec = importlib.util.find_spec("course07")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def values(a):
    """An Array's elements as NumPy sees them through the buffer protocol (a copy)."""
    return np.array(np.asarray(a))


SHAPES = [(), (0,), (1,), (7,), (2, 3), (3, 0, 2), (2, 3, 4), (1, 1, 5, 1)]


def random_array(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 10.0 ** rng.integers(-5, 5, size=shape)
    return Array(x.ravel().tolist(), shape=shape), x


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_array_plus_array_is_numpys_sum(shape):
    a, x = random_array(shape, 1)
    b, y = random_array(shape, 2)
    c = a + b
    assert type(c) is Array and c is not a and c is not b
    assert c.shape == shape and c.strides == Array(shape=shape).strides
    np.testing.assert_array_equal(values(c), x + y)
    np.testing.assert_array_equal(values(a), x)  # the operands are unchanged
    np.testing.assert_array_equal(values(b), y)


@pytest.mark.parametrize("number", [2.5, -0.0, 3, True, 1 << 60, float("inf"), float("nan")])
def test_a_number_on_either_side(number):
    a, x = random_array((2, 3), 3)
    np.testing.assert_array_equal(values(a + number), x + number)
    np.testing.assert_array_equal(values(number + a), number + x)


@settings(database=None)  # leave no .hypothesis/ folder in the step
@given(st.lists(st.tuples(st.floats(width=64), st.floats(width=64)), max_size=50))
def test_elementwise_like_python_floats(pairs):
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    got = memoryview(Array(xs) + Array(ys)).tolist()
    expected = [x + y for x, y in pairs]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g == e or (math.isnan(g) and math.isnan(e))


def test_a_plus_a():
    a, x = random_array((4, 5), 4)
    np.testing.assert_array_equal(values(a + a), x + x)


def test_chained():
    a, x = random_array((3,), 5)
    np.testing.assert_array_equal(values(a + 1 + a + 2.0), x + 1 + x + 2.0)


def test_different_shapes_raise():
    with pytest.raises(ValueError, match=r"cannot add Arrays of shapes \(2, 3\) and \(3,\)"):
        Array(shape=(2, 3)) + Array(shape=3)
    with pytest.raises(ValueError, match=r"shapes \(6,\) and \(2, 3\)"):
        Array(shape=6) + Array(shape=(2, 3))  # same size, different shape: still refused


@pytest.mark.parametrize("other", [[1.0], "x", None, object(), 1j, b"ab"])
def test_other_types_get_notimplemented(other):
    """nb_add returns NotImplemented; the other side declines too; CPython raises."""
    with pytest.raises(TypeError, match=r"unsupported operand type\(s\) for \+"):
        Array([1.0]) + other


@pytest.mark.parametrize("other", [None, object(), 1j])
def test_other_types_on_the_left(other):
    with pytest.raises(TypeError, match=r"unsupported operand type\(s\) for \+"):
        other + Array([1.0])


def test_after_notimplemented_a_sequence_on_the_left_may_concatenate():
    """With both nb_add slots declined, CPython tries the left operand's sq_concat: list and
    str refuse an Array, bytes takes any buffer, so it appends the Array's memory."""
    a = Array([1.0])
    with pytest.raises(TypeError, match="can only concatenate list"):
        [1.0] + a
    with pytest.raises(TypeError, match="can only concatenate str"):
        "x" + a
    assert b"ab" + a == b"ab" + memoryview(a).tobytes()


def test_notimplemented_lets_numpy_answer():
    """Array + ndarray: our slot declines, NumPy's __radd__ reads the Array as a buffer."""
    a, x = random_array((2, 3), 6)
    for result in (a + np.ones((2, 3)), np.ones((2, 3)) + a):
        assert type(result) is np.ndarray
        np.testing.assert_array_equal(result, x + 1)


def test_notimplemented_is_what_the_slot_returns():
    a = Array([1.0])
    assert Array.__add__(a, [1.0]) is NotImplemented
    assert Array.__radd__(a, "x") is NotImplemented


def test_int_beyond_double_range_raises():
    with pytest.raises(OverflowError):
        Array([1.0]) + (1 << 1100)


def test_arrays_of_two_module_objects_add():
    other = fresh_module()
    a, x = random_array((3,), 7)
    b = other.Array([1.0, 2.0, 3.0])
    assert type(a + b) is Array and type(b + a) is other.Array  # the left Array's type
    np.testing.assert_array_equal(values(a + b), x + [1.0, 2.0, 3.0])


def test_in_place_falls_back_to_a_new_object():
    """No nb_inplace_add: `a += 1` is `a = a + 1`, a new Array; the old one is unchanged."""
    a = Array([1.0, 2.0])
    before = a
    a += 1
    assert a is not before
    assert memoryview(before).tolist() == [1.0, 2.0] and memoryview(a).tolist() == [2.0, 3.0]


def test_an_export_does_not_block_addition():
    a = Array([1.0, 2.0])
    m = memoryview(a)
    assert memoryview(a + a).tolist() == [2.0, 4.0]
    m[0] = 5.0  # written through the export, read by the next addition
    assert memoryview(a + 0).tolist() == [5.0, 2.0]


def test_no_reference_leaks():
    a, b = Array([1.0, 2.0]), Array([3.0, 4.0])
    gc.collect()
    refs = (sys.getrefcount(a), sys.getrefcount(b), sys.getrefcount(Array))
    for _ in range(100):
        a + b
        a + 1.0
        1.0 + b
        try:
            a + [1]
        except TypeError:
            pass
    gc.collect()
    assert (sys.getrefcount(a), sys.getrefcount(b), sys.getrefcount(Array)) == refs
    results = [a + b for _ in range(10)]
    assert sys.getrefcount(Array) == refs[2] + 10  # each result holds its type
    del results
    gc.collect()
    assert sys.getrefcount(Array) == refs[2]

"""Indexing, views, assignment, reshape, transpose and sums, with NumPy as the oracle."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import rawcapi
from array_strategies import DTYPES, strided_arrays

Array = rawcapi.Array


def as_np(a):
    return np.asarray(a)


def same(a, expected):
    expected = np.asarray(expected)
    assert a.dtype == expected.dtype.name and a.shape == expected.shape
    assert bytes(a) == expected.tobytes()


@st.composite
def keys(draw, shape):
    """A basic-indexing key for `shape`: ints (negative too), slices with any step, `...`, None."""
    items = []
    dims = list(shape)
    use_ellipsis = draw(st.booleans())
    ellipsis_at = draw(st.integers(0, len(dims))) if use_ellipsis else -1
    for d, n in enumerate(dims):
        if d == ellipsis_at:
            items.append(Ellipsis)
            break
        kind = draw(st.sampled_from(["int", "slice", "none", "stop"]))
        if kind == "stop":
            break
        if kind == "none":
            items.append(None)
        if kind == "int" and n > 0:
            items.append(draw(st.integers(-n, n - 1)))
        else:
            start = draw(st.none() | st.integers(-n - 2, n + 2))
            stop = draw(st.none() | st.integers(-n - 2, n + 2))
            step = draw(st.none() | st.sampled_from([1, 2, 3, -1, -2, -3]))
            items.append(slice(start, stop, step))
    if ellipsis_at == len(dims):
        items.append(Ellipsis)
    if len(items) == 1 and draw(st.booleans()):
        return items[0]
    return tuple(items)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_getitem_matches_numpy_and_views_share_memory(data):
    x = data.draw(strided_arrays())
    a = Array(x)
    key = data.draw(keys(x.shape))
    expected = as_np(a)[key]
    got = a[key]
    if isinstance(expected, np.ndarray):
        assert isinstance(got, Array)
        same(got, expected)
        assert got.strides == expected.strides
        assert got.base is a
        if got.size:
            assert np.shares_memory(as_np(got), as_np(a))
        assert got[...].base is a  # views of views point at the owner
    else:
        assert type(got) is type(expected.item())
        assert repr(got) == repr(expected.item())


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_setitem_scalars_and_broadcast_arrays(data):
    x = np.ascontiguousarray(data.draw(strided_arrays(finite=True, max_side=3)))
    a = Array(x)
    key = data.draw(keys(x.shape))
    target = x[key]
    expected = x.copy()
    choice = data.draw(st.sampled_from(["scalar", "array", "list"]))
    if np.ndim(target) == 0:
        # NumPy's scalar-position assignment of sequences is inconsistent across dtypes
        # ("setting an array element with a sequence" for some); assign numbers there.
        choice = "scalar"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if choice == "scalar":
            value = data.draw(st.sampled_from([0, 1, True, 2.5, -1.5]))
            if x.dtype.kind in "iu" and isinstance(value, float):
                value = int(value) if x.dtype.kind == "i" else 1
            elif x.dtype.kind == "u" and value == -1.5:
                value = 1
        else:
            shape = np.shape(target)
            bshape = tuple(1 if data.draw(st.booleans()) else n for n in shape)[data.draw(st.integers(0, len(shape))):]
            src = data.draw(strided_arrays(dtypes=[data.draw(st.sampled_from(DTYPES))], max_dims=0, finite=True))
            value_np = np.full(bshape, src, dtype=src.dtype) if bshape else np.asarray(src)
            value = Array(value_np) if choice == "array" else value_np.tolist()
            if choice == "list":
                value = value if bshape else [value]
                value_np = np.asarray(value, dtype=None if np.size(value) else src.dtype)
        try:
            expected[key] = value if choice == "scalar" else value_np
        except (TypeError, OverflowError, ValueError) as e:
            with pytest.raises(type(e)):
                a[key] = value
            return
    a[key] = value
    same(a, expected)


def test_overlapping_assignment_reads_the_value_first():
    x = np.arange(10.0)
    a = Array(x)
    a[1:] = a[:-1]
    x[1:] = x[:-1]
    same(a, x)
    a[::-1] = a
    x[::-1] = x.copy()
    same(a, x)
    m = np.arange(12).reshape(3, 4)
    b = Array(m)
    b[...] = b.T.reshape(3, 4)
    same(b, m.T.reshape(3, 4))


def test_assignment_errors():
    a = rawcapi.zeros(3)
    with pytest.raises(ValueError, match=r"could not broadcast input array from shape \(2,\) into shape \(3,\)"):
        a[:] = Array([1.0, 2.0])
    with pytest.raises(ValueError, match="cannot delete array elements"):
        del a[0]
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        Array.frombuffer(b"ab")[0] = 1
    with pytest.raises(TypeError, match="not 'str'"):
        a[0] = "x"
    with pytest.raises(OverflowError, match="Python integer 256 out of bounds for uint8"):
        rawcapi.zeros(2, dtype="uint8")[0] = 256


def test_index_errors_name_the_values():
    a = rawcapi.zeros((3, 2))
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 3"):
        a[5]
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 0 with size 3"):
        a[-4]
    with pytest.raises(IndexError, match="index 2 is out of bounds for axis 1 with size 2"):
        a[0, 2]
    with pytest.raises(IndexError, match="too many indices for array: array is 2-dimensional, but 3 were indexed"):
        a[1, 1, 1]
    with pytest.raises(IndexError, match="single ellipsis"):
        a[..., ...]
    with pytest.raises(IndexError, match=r"only integers, slices .* got 'list'"):
        a[[1]]
    with pytest.raises(IndexError, match="got 'bool'"):
        a[True]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        a[::0]
    with pytest.raises(IndexError):
        a[2**70]
    with pytest.raises(TypeError, match="len\\(\\) of unsized object"):
        len(Array(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d array"):
        list(Array(1.0))


def test_len_iteration_and_transpose():
    x = np.arange(6).reshape(2, 3)
    a = Array(x)
    assert len(a) == 2 and len(a[0]) == 3
    assert [row.tolist() for row in a] == x.tolist()
    assert list(a[1]) == [3, 4, 5]
    same(a.T, x.T)
    assert a.T.strides == x.T.strides and a.T.base is a
    same(a.T.T, x)


@st.composite
def reshapes(draw):
    x = draw(strided_arrays(max_side=4))
    n = x.size
    factors = []
    rest = n
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0] or [0]
        d = draw(st.sampled_from(divisors))
        factors.append(d)
        rest = rest // d if d else 0
    shape = factors + [rest] if n else factors + [0]
    if draw(st.booleans()) and shape:
        shape[draw(st.integers(0, len(shape) - 1))] = -1
        if shape.count(-1) == 1 and 0 in shape:
            shape[shape.index(-1)] = 0 if n == 0 else shape[shape.index(-1)]
    return x, tuple(shape)


@settings(max_examples=400, deadline=None)
@given(reshapes())
def test_reshape_matches_numpy_and_views_when_numpy_does(case):
    x, shape = case
    a = Array.frombuffer(x)  # x's own layout, so view-or-copy is decided on the same strides
    try:
        expected = x.reshape(shape)
    except ValueError as e:
        with pytest.raises(ValueError, match=str(e).split(" into")[0]):
            a.reshape(shape)
        return
    got = a.reshape(shape)
    same(got, expected)
    if x.size:
        is_view = np.shares_memory(expected, x)
        assert np.shares_memory(as_np(got), x) == is_view
        if is_view:  # strides of length-1 dimensions are arbitrary; compare the others
            assert [s for s, n in zip(got.strides, got.shape) if n > 1] == [s for s, n in zip(expected.strides, expected.shape) if n > 1]
    assert a.reshape(*shape).shape == expected.shape if shape else True


def test_reshape_errors():
    a = rawcapi.arange(6)
    with pytest.raises(ValueError, match=r"cannot reshape array of size 6 into shape \(4,newaxis\)"):
        a.reshape(4, -1)
    with pytest.raises(ValueError, match="can only specify one unknown dimension"):
        a.reshape(-1, -1)
    with pytest.raises(ValueError, match=r"cannot reshape array of size 6 into shape \(4,\)"):
        a.reshape(4)


def exact_int_sum(x):
    return sum(int(v) for v in np.ravel(x).tolist())


@settings(max_examples=400, deadline=None)
@given(strided_arrays(finite=True))
def test_sum_all(x):
    a = Array(x)
    got = a.sum()
    if x.dtype.kind in "biu":
        assert type(got) is int and got == exact_int_sum(x)
        return
    expected = np.sum(np.ascontiguousarray(x))  # NumPy's pairwise order over C order
    assert type(got) is (complex if x.dtype.kind == "c" else float)
    # The Array is a C-contiguous copy, so NumPy's order is known: equal bit for bit.
    assert repr(got) == repr(expected.item())


def test_sum_is_exact_for_integers_where_numpy_wraps():
    big = np.full(4, 2**62, dtype=np.int64)
    assert Array(big).sum() == 2**64
    assert np.sum(big) == 0  # NumPy's int64 accumulator wrapped
    assert Array([True, True, False]).sum() == 2
    assert Array(np.full(1000, 255, dtype=np.uint8)).sum() == 255000
    assert Array([-0.0]).sum() == 0.0 and math.copysign(1, Array([-0.0]).sum()) == 1.0


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_sum_axis(data):
    x = data.draw(strided_arrays(finite=True, max_side=5).filter(lambda v: v.ndim >= 1))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    c = np.ascontiguousarray(x)
    got = Array(x).sum(axis=axis)
    if x.dtype.kind in "biu":
        expected = c.astype(np.int64).sum(axis=axis)  # NumPy would give uint64 for uint8
        same(got, expected)
    else:
        expected = c.sum(axis=axis)
        assert got.dtype == expected.dtype.name and got.shape == expected.shape
        # C-contiguous input: NumPy's order (pairwise along the last axis, row by row along
        # the others) is reproduced exactly.
        assert bytes(got) == expected.tobytes()


def test_sum_axis_errors_and_types():
    a = rawcapi.zeros((2, 3))
    with pytest.raises(ValueError, match="axis 2 is out of bounds for array of dimension 2"):
        a.sum(axis=2)
    with pytest.raises(ValueError, match="axis -3 is out of bounds for array of dimension 2"):
        a.sum(axis=-3)
    with pytest.raises(TypeError):
        a.sum(axis="x")
    assert Array([1, 2], dtype="uint8").sum(axis=0).dtype == "int64"
    assert Array([1, 2], dtype="float32").sum(axis=0).dtype == "float32"
    assert Array([[1, 2]]).sum(axis=0).shape == (2,)


def _within_summation_error(got, x, axis=None):
    """|got - exact| <= (n - 1) * eps * sum(|x|): the error bound of adding n numbers in any order
    in x's precision, met by every summation order (NumPy's pairwise one included)."""
    wide = np.complex128 if x.dtype.kind == "c" else np.float64
    exact = x.astype(wide).sum(axis=axis)
    n = x.size if axis is None else x.shape[axis]
    bound = max(n - 1, 1) * np.finfo(x.dtype).eps * np.abs(x).astype(np.float64).sum(axis=axis)
    return np.all(np.abs(np.asarray(got, dtype=wide) - exact) <= bound * (1 + 1e-9) + np.finfo(x.dtype).tiny)


@settings(max_examples=200, deadline=None)
@given(strided_arrays(dtypes=["float32", "float64", "complex128"], finite=True, max_side=6))
def test_sums_of_strided_views_agree_with_numpy(x):
    # Over a non-contiguous view NumPy's iterator may reorder and buffer the loops, so the order
    # of additions (and the last bits) can differ. Both must then be within the error bound of
    # summation in the dtype's precision of the exact sum (with cancellation a fixed relative
    # tolerance is not a bound: float32 -124676.81 vs NumPy's -124678.06 are both correct).
    a = Array.frombuffer(x)
    assert _within_summation_error(a.sum(), x) and _within_summation_error(np.sum(x), x)
    for axis in range(x.ndim):
        got = as_np(a.sum(axis=axis))
        assert got.dtype == x.sum(axis=axis).dtype
        assert _within_summation_error(got, x, axis) and _within_summation_error(x.sum(axis=axis), x, axis)


@pytest.mark.parametrize("values", [[], [2.0], [[0]], [1, 2], 0j, 0.0, -1, [False], [[]]])
def test_truth_value_like_numpy(values):
    x = np.array(values)
    a = Array(x)
    try:
        # NumPy < 2.2 only deprecates bool() of an empty array,
        # returning False with a DeprecationWarning; rawcapi follows NumPy 2.2+: ValueError.
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            expected = bool(x)
    except (ValueError, DeprecationWarning):
        with pytest.raises(ValueError, match="truth value of an (empty array|array with more than one element) is ambiguous"):
            bool(a)
        return
    assert bool(a) is expected


def test_sum_axis_followed_by_unit_axes_is_pairwise_like_numpy():
    """Found by hypothesis: NumPy drops the length-1 axis and sums (4, 1) along axis 0 pairwise,
    which for complex differs in the last bit from adding the rows one after another."""
    x = np.array([[699051.0 + 0j], [699051.0 + 0j], [699051.0 + 0j], [0.05669495304401262]], dtype=np.complex128)
    for axis in (0, -2):
        assert bytes(Array(x).sum(axis=axis)) == x.sum(axis=axis).tobytes()
    y = np.array([[[0.1]], [[0.7]], [[1e16]], [[-1e16]], [[0.3]], [[2.5]], [[1e-3]], [[9.0]], [[4.0]]])
    assert bytes(Array(y).sum(axis=0)) == y.sum(axis=0).tobytes()

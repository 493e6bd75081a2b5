"""Hypothesis strategies shared by the Array tests: NumPy arrays (the oracle's inputs) of every
supported dtype, 0-4 dimensions, in every layout the buffer protocol allows — sliced with
positive and negative steps, transposed, and with zero strides (broadcast views)."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64", "complex128"]


def elements(dtype):
    if dtype == "bool":
        return st.booleans()
    if dtype in ("uint8", "int32", "int64"):
        info = np.iinfo(dtype)
        return st.integers(int(info.min), int(info.max))
    if dtype == "float32":
        return st.floats(width=32, allow_nan=True, allow_infinity=True)
    if dtype == "float64":
        return st.floats(allow_nan=True, allow_infinity=True)
    return st.complex_numbers(allow_nan=True, allow_infinity=True)


@st.composite
def strided_arrays(draw, dtypes=DTYPES, max_dims=4, max_side=4, finite=False):
    """A NumPy array view with an arbitrary layout over a random base array."""
    dtype = draw(st.sampled_from(dtypes))
    ndim = draw(st.integers(0, max_dims))
    shape = draw(st.lists(st.integers(0, max_side), min_size=ndim, max_size=ndim))
    steps = [draw(st.sampled_from([1, 2, -1, -2])) for _ in range(ndim)]
    base_shape = tuple(max(1, n * abs(s)) for n, s in zip(shape, steps))
    elems = elements(dtype)
    if finite and dtype in ("float32", "float64"):
        elems = st.floats(-1e6, 1e6, width=32 if dtype == "float32" else 64)
    if finite and dtype == "complex128":
        elems = st.complex_numbers(max_magnitude=1e6, allow_nan=False, allow_infinity=False)
    base = draw(hnp.arrays(dtype, base_shape, elements=elems))
    # base[::s] has exactly n elements per dimension (1 for n == 0, trimmed away next).
    view = base[tuple(slice(None, None, s) for s in steps)]
    view = view[tuple(slice(0, n) for n in shape)]
    if ndim >= 2 and draw(st.booleans()):
        view = view.transpose(draw(st.permutations(range(ndim))))
    if ndim >= 1 and draw(st.booleans()):
        # Broadcast one dimension: a zero stride.
        axis = draw(st.integers(0, view.ndim - 1))
        strides = list(view.strides)
        strides[axis] = 0
        shp = list(view.shape)
        view = np.lib.stride_tricks.as_strided(view[tuple(slice(0, 1) if d == axis else slice(None) for d in range(view.ndim))], shp, strides, writeable=False)
    return view

"""Step 06: course06.Array, checked through the buffer protocol against memoryview, NumPy and
_testbuffer, and its lifecycle against sys.getrefcount and the collector's own lists."""
import gc
import importlib.util
import sys
import weakref

import numpy as np
import pytest

import course06
from course06 import Array

_testbuffer = pytest.importorskip("_testbuffer")


def fresh_module():
    spec = importlib.util.find_spec("course06")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def live(ty):
    """How many instances of `ty` the collector tracks (every Array is GC-tracked)."""
    return sum(1 for o in gc.get_objects() if type(o) is ty)


# -- construction --------------------------------------------------------------------------------

SHAPES = [(0,), (5,), (2, 3), (3, 1, 4), (2, 0, 3), (1, 2, 1, 2, 1, 2, 1, 2)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_values_and_shape(shape):
    n = int(np.prod(shape))
    values = [i * 0.5 - 3 for i in range(n)]
    a = Array(values, shape=shape)
    expected = np.array(values, dtype=np.float64).reshape(shape)
    assert a.shape == expected.shape
    if n:  # an empty array's strides are arbitrary (NumPy 2 reports zeros)
        assert a.strides == np.zeros(shape).strides
    assert a.dtype == "float64"
    assert memoryview(a).tolist() == expected.tolist()


def test_values_only_is_one_dimensional():
    a = Array([1, 2.5, True, np.float32(4)])  # anything float() accepts
    assert a.shape == (4,)
    assert memoryview(a).tolist() == [1.0, 2.5, 1.0, 4.0]
    assert Array(range(3)).shape == (3,)


def test_shape_only_is_zeros():
    a = Array(shape=(2, 3))
    assert memoryview(a).tolist() == [[0.0] * 3] * 2
    assert Array(shape=4).shape == (4,)


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((), {}, TypeError, "values, a shape, or both"),
        ((None,), {"shape": None}, TypeError, "values, a shape, or both"),
        ((3.0,), {}, TypeError, "float"),
        (("ab",), {}, TypeError, "must be real number"),
        (([1.0, "x"],), {}, TypeError, "must be real number"),
        (([1.0, 2.0, 3.0],), {"shape": (2, 2)}, ValueError, "cannot give 3 values the shape"),
        ((), {"shape": (2, -1)}, ValueError, "negative dimension -1"),
        ((), {"shape": (2.0,)}, TypeError, "integer"),
        ((), {"shape": (1,) * 9}, ValueError, "at most 8 dimensions"),
        ((), {"shape": (1 << 40, 1 << 40)}, ValueError, "too large"),
        ((), {"shape": 1 << 70}, OverflowError, "too large"),
        (([1.0], (1,), 3), {}, TypeError, "at most 2 arguments"),
        ((), {"size": 3}, TypeError, "size"),
    ],
)
def test_bad_arguments_raise(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        Array(*args, **kwargs)


# -- buffer export ----------------------------------------------------------------------------


def test_memoryview_describes_the_memory():
    a = Array(range(12), shape=(3, 4))
    m = memoryview(a)
    assert (m.format, m.itemsize, m.ndim, m.shape, m.strides) == ("d", 8, 2, (3, 4), (32, 8))
    assert not m.readonly and m.c_contiguous and m.nbytes == 96
    assert m.tobytes() == np.arange(12, dtype=np.float64).tobytes()


def test_numpy_shares_the_memory_both_ways():
    a = Array(range(6), shape=(2, 3))
    x = np.asarray(a)
    assert x.dtype == np.float64 and x.shape == (2, 3) and x.strides == (24, 8)
    x[1, 2] = -7.0  # written through NumPy ...
    assert memoryview(a)[1, 2] == -7.0  # ... seen through another export of the same memory
    memoryview(a)[0, 0] = 42.0
    assert x[0, 0] == 42.0
    assert np.asarray(a).ctypes.data == x.ctypes.data


def test_testbuffer_reexport():
    """_testbuffer.ndarray(a, getbuf=flags) calls PyObject_GetBuffer(a, flags) and exports the
    view again: what a consumer sees for each kind of request."""
    a = Array(range(6), shape=(2, 3))
    full = _testbuffer.ndarray(a, getbuf=_testbuffer.PyBUF_FULL_RO)
    assert full.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert (full.shape, full.strides, full.format) == ((2, 3), (24, 8), "d")
    simple = _testbuffer.ndarray(a, getbuf=_testbuffer.PyBUF_SIMPLE)  # no shape, no format
    assert simple.tobytes() == np.arange(6, dtype=np.float64).tobytes()
    assert simple.ndim == 1
    nd = _testbuffer.ndarray(a, getbuf=_testbuffer.PyBUF_ND)  # shape, no strides: C order
    assert nd.shape == (2, 3) and nd.tobytes() == full.tobytes()


def test_fortran_order_is_refused_when_it_differs():
    with pytest.raises(BufferError, match="not Fortran-contiguous"):
        _testbuffer.ndarray(Array(shape=(2, 3)), getbuf=_testbuffer.PyBUF_F_CONTIGUOUS)
    for shape in [(4,), (1, 5), (5, 1), (0, 3)]:  # C and Fortran order coincide
        _testbuffer.ndarray(Array(shape=shape), getbuf=_testbuffer.PyBUF_F_CONTIGUOUS)


def test_fast_sum_reads_an_array():
    a = Array([1.5, -2.0, 1e300], shape=(3, 1))
    assert course06.fast_sum(a) == sum(memoryview(a).tobytes())


# -- the export counter -----------------------------------------------------------------------


def test_reshape_in_place():
    a = Array(range(6), shape=(2, 3))
    a.shape = (3, 2)
    assert a.shape == (3, 2) and a.strides == (16, 8)
    assert memoryview(a).tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    with pytest.raises(ValueError, match="cannot reshape an Array of 6 values"):
        a.shape = (4,)
    with pytest.raises(TypeError, match="cannot delete"):
        del a.shape


def test_an_export_blocks_reshape_until_released():
    a = Array(shape=(2, 3))
    m = memoryview(a)
    m2 = memoryview(a)
    with pytest.raises(BufferError, match="while its buffer is exported"):
        a.shape = (6,)
    m.release()
    with pytest.raises(BufferError):
        a.shape = (6,)  # m2 still holds one
    m2.release()
    a.shape = (6,)
    x = np.asarray(a)
    with pytest.raises(BufferError):
        a.shape = (3, 2)
    del x
    a.shape = (3, 2)
    assert a.shape == (3, 2)


def test_a_refused_export_is_not_counted():
    a = Array(shape=(2, 3))
    with pytest.raises(BufferError):
        _testbuffer.ndarray(a, getbuf=_testbuffer.PyBUF_F_CONTIGUOUS)
    a.shape = (3, 2)  # the failed getbuffer gave its count back


# -- the type ---------------------------------------------------------------------------------


def test_the_type_is_final_and_immutable():
    with pytest.raises(TypeError):
        class Sub(Array):
            pass
    with pytest.raises(TypeError):
        Array.extra = 1
    assert Array.__module__ == "course06" and Array.__name__ == "Array"


def test_each_module_object_has_its_own_type():
    other = fresh_module()
    assert other.Array is not Array
    assert type(other.Array([1.0])) is other.Array


# -- lifecycle --------------------------------------------------------------------------------


def test_instances_hold_the_type_and_give_it_back():
    gc.collect()
    refs, count = sys.getrefcount(Array), live(Array)
    arrays = [Array([float(i)]) for i in range(100)]
    assert live(Array) == count + 100
    assert sys.getrefcount(Array) == refs + 100  # one reference per instance: ob_type
    del arrays
    gc.collect()
    assert (sys.getrefcount(Array), live(Array)) == (refs, count)


def test_exports_keep_the_array_alive():
    a = Array([1.0, 2.0])
    m = memoryview(a)
    ref = sys.getrefcount(a)
    m2 = memoryview(a)
    assert sys.getrefcount(a) == ref + 1  # view.obj: a new reference per export
    del m2
    a_id = id(a)
    del a
    gc.collect()
    assert m.tolist() == [1.0, 2.0]  # the memory is still there
    assert id(m.obj) == a_id


def test_a_cycle_through_an_instance_is_collected():
    """instance -> its type -> the module (PyType_FromModuleAndSpec) -> the module's dict ->
    instance. The collector sees the first edge only through tp_traverse visiting the type."""
    module = fresh_module()
    module.keep = module.Array([1.0, 2.0])
    ty, count = module.Array, live(module.Array)
    assert count == 1
    module_ref = weakref.ref(module)
    type_ref = weakref.ref(ty)
    del module, ty
    gc.collect()
    assert module_ref() is None
    assert type_ref() is None


def test_an_instance_in_a_list_cycle_is_collected():
    cycle = [Array([1.0])]
    cycle.append(cycle)
    gc.collect()
    count = live(Array)
    del cycle
    gc.collect()
    assert live(Array) == count - 1


def test_a_sequence_that_claims_too_much_raises_memoryerror():
    class Huge:
        def __len__(self):
            return 1 << 50  # 8 PiB of doubles: more than any machine can allocate

        def __getitem__(self, i):
            raise IndexError(i)

    with pytest.raises(MemoryError):
        Array(Huge())
    with pytest.raises(MemoryError):
        Array(shape=Huge())

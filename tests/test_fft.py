"""rawcapi.fft / ifft / rfft / irfft against numpy.fft (the oracle)."""
import threading

import numpy as np
import pytest

import rawcapi

RNG = np.random.default_rng(5)
LENGTHS = [1, 2, 3, 5, 7, 13, 16, 64, 97, 1024, 4096, 65537, 999983]
FUNCS = ["fft", "ifft", "rfft", "irfft"]


def rel(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = np.linalg.norm(want.ravel())
    err = np.linalg.norm((got - want).ravel())
    return err / scale if scale else err


def signal(shape, complex_=True):
    x = RNG.standard_normal(shape)
    return x + 1j * RNG.standard_normal(shape) if complex_ else x


def check(name, x, **kw):
    got = getattr(rawcapi, name)(x, **kw)
    want = getattr(np.fft, name)(x, **kw)
    assert isinstance(got, rawcapi.Array)
    assert got.dtype == want.dtype.name, (got.dtype, want.dtype)
    assert rel(got, want) < 1e-10, (name, kw)
    return got


@pytest.mark.quick
@pytest.mark.parametrize("length", LENGTHS)
def test_lengths(length):
    check("fft", signal(length))
    check("ifft", signal(length))
    check("rfft", signal(length, complex_=False))
    # irfft of m points gives 2*(m-1) by default: use n= to cover odd outputs as well.
    spectrum = signal(length // 2 + 1)
    check("irfft", spectrum, n=length)
    if length > 1:
        check("irfft", signal(length))


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("n", [1, 2, 5, 8, 31, 100])
def test_n_pads_and_truncates(name, n):
    x = signal(17, complex_=(name != "rfft"))
    check(name, x, n=n)


@pytest.mark.quick
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("norm", [None, "backward", "ortho", "forward"])
def test_norm(name, norm):
    x = signal((3, 24), complex_=(name != "rfft"))
    check(name, x, norm=norm)
    check(name, x, n=11, norm=norm)


@pytest.mark.quick
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_axis(name, axis):
    x = signal((6, 5, 8), complex_=(name != "rfft"))
    check(name, x, axis=axis)
    check(name, x, axis=axis, n=7)


@pytest.mark.parametrize("name", FUNCS)
def test_many_rows_use_threads(name):
    x = signal((3000, 128), complex_=(name != "rfft"))
    check(name, x)
    check(name, x, axis=0)


def test_layouts_and_sources():
    x = signal((40, 64))
    check("fft", x[::-1, ::-2])  # negative and non-unit strides
    check("fft", np.asfortranarray(x))
    check("fft", x.T)
    check("rfft", x.real[:, 3:50])
    check("fft", np.broadcast_to(x[0], (5, 64)))  # zero stride
    # Array in, list in.
    A = rawcapi.Array(x)
    assert rel(rawcapi.fft(A), np.fft.fft(x)) < 1e-10
    assert rel(rawcapi.rfft(x.real.tolist()), np.fft.rfft(x.real)) < 1e-10
    assert rel(rawcapi.ifft(memoryview(x.copy())), np.fft.ifft(x)) < 1e-10


@pytest.mark.quick
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64", "float32", "float64"])
def test_input_dtypes(dtype):
    x = (RNG.standard_normal(50) * 50).astype(dtype)
    for name in ["fft", "ifft", "rfft"]:
        got = getattr(rawcapi, name)(x)
        # NumPy 2 keeps float32 as complex64; rawcapi computes in float64 (no complex64 dtype),
        # so compare with NumPy's transform of the same values as float64.
        want = getattr(np.fft, name)(x.astype(np.float64))
        assert got.dtype == "complex128"
        assert rel(got, want) < 1e-10
    got = rawcapi.irfft(x)
    assert got.dtype == "float64"
    assert rel(got, np.fft.irfft(x.astype(np.float64))) < 1e-10


def test_irfft_ignores_imaginary_parts_numpy_ignores():
    s = np.array([1 + 5j, 2 + 3j, 4 + 7j])
    check("irfft", s)  # even n=4: DC and Nyquist imaginary parts dropped
    check("irfft", s, n=5)  # odd: only DC's


def test_round_trips():
    x = signal(1000)
    assert rel(rawcapi.ifft(rawcapi.fft(x)), x) < 1e-12
    r = x.real
    assert rel(rawcapi.irfft(rawcapi.rfft(r), n=1000), r) < 1e-12


@pytest.mark.quick
def test_out():
    x = signal((4, 10))
    out = np.zeros((4, 10), np.complex128)
    assert rawcapi.fft(x, out=out) is out
    assert rel(out, np.fft.fft(x)) < 1e-10
    o = rawcapi.zeros((4, 6), "complex128")
    assert rawcapi.rfft(x.real, out=o) is o
    assert rel(o, np.fft.rfft(x.real)) < 1e-10
    # out is the input itself (NumPy allows in-place fft this way).
    y = x.copy()
    rawcapi.fft(y, out=y)
    assert rel(y, np.fft.fft(x)) < 1e-10
    with pytest.raises(ValueError, match=r"out has shape \(4, 10\).*\(4, 6\)"):
        rawcapi.rfft(x.real, out=np.zeros((4, 10), complex))
    with pytest.raises(TypeError, match="out has dtype complex128.*float64"):
        rawcapi.irfft(x, out=np.zeros((4, 18), complex))


@pytest.mark.quick
def test_errors():
    with pytest.raises(ValueError, match=r"Invalid number of FFT data points \(0\) specified"):
        rawcapi.fft(np.ones(4), n=0)
    with pytest.raises(ValueError, match=r"\(-3\)"):
        rawcapi.ifft(np.ones(4), n=-3)
    with pytest.raises(ValueError, match=r"\(0\)"):
        rawcapi.fft(np.ones(0))
    with pytest.raises(ValueError, match=r"\(0\)"):
        rawcapi.irfft(np.ones(1))  # default n = 2*(1-1)
    with pytest.raises(IndexError, match="axis 2 is out of bounds for array of dimension 1"):
        rawcapi.fft(np.ones(3), axis=2)
    with pytest.raises(IndexError):
        rawcapi.fft(np.ones((2, 3)), axis=-3)
    with pytest.raises(IndexError):
        rawcapi.fft(np.float64(1.0))  # 0-d: no axis -1
    with pytest.raises(ValueError, match='Invalid norm value x; should be "backward","ortho" or "forward"'):
        rawcapi.fft(np.ones(3), norm="x")
    with pytest.raises(ValueError, match="Invalid norm value"):
        rawcapi.fft(np.ones(3), norm=1)
    with pytest.raises(TypeError, match="must be real"):
        rawcapi.rfft(np.ones(3, complex))
    with pytest.raises(TypeError, match="'e'"):
        rawcapi.fft(np.ones(3, np.float16))
    with pytest.raises(TypeError, match="n must be an integer"):
        rawcapi.fft(np.ones(3), n=2.5)
    with pytest.raises(TypeError, match="unexpected keyword argument 'axes'"):
        rawcapi.fft(np.ones(3), axes=(0,))
    with pytest.raises(TypeError, match="missing required argument 'a'"):
        rawcapi.fft()
    assert rel(rawcapi.fft(np.ones(4), np.int64(6)), np.fft.fft(np.ones(4), 6)) < 1e-12  # __index__


def test_empty_lines():
    x = np.ones((0, 8))
    got = rawcapi.fft(x)
    assert got.shape == (0, 8)
    assert rawcapi.fft(np.ones((3, 0)), n=4).tolist() == np.fft.fft(np.ones((3, 0)), n=4).tolist()


def test_two_python_threads_concurrently():
    xs = [signal((64, 4096)), signal(1 << 17)]
    wants = [np.fft.fft(x) for x in xs]
    errors = []

    def work(i):
        for _ in range(5):
            e = rel(rawcapi.fft(xs[i]), wants[i])
            if not e < 1e-10:
                errors.append((i, e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

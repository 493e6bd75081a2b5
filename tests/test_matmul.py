"""rawcapi.matmul and Array @ against numpy.matmul (the oracle)."""
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import rawcapi

RNG = np.random.default_rng(20261127)
DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64", "complex128"]


def rel_frobenius(got, want):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = np.linalg.norm(want.astype(np.complex128).ravel())
    err = np.linalg.norm((got.astype(np.complex128) - want.astype(np.complex128)).ravel())
    return err / scale if scale else err


def random(shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return RNG.random(shape) < 0.5
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return RNG.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    if dtype.kind == "c":
        return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


SHAPES = [
    ((3,), (3,)),  # 1-D @ 1-D -> 0-d
    ((4,), (4, 5)),  # row vector
    ((6, 4), (4,)),  # column vector
    ((1, 1), (1, 1)),
    ((7, 3), (3, 9)),
    ((130, 70), (70, 300)),
    ((257, 513), (513, 129)),  # several row blocks, odd sizes
    ((40, 3000), (3000, 50)),  # long k: several k-chunks
    ((2, 5, 3), (3, 4)),  # batched @ 2-D
    ((5,), (2, 5, 3)),  # 1-D @ batched
    ((2, 1, 4, 3), (5, 3, 2)),  # broadcast batch dimensions
    ((0, 3), (3, 4)),  # empty rows
    ((3, 0), (0, 4)),  # empty inner dimension: zeros
    ((2, 0, 3, 4), (4, 5)),  # empty batch
    ((3, 4), (4, 0)),
]


@pytest.mark.quick
@pytest.mark.parametrize("sa,sb", SHAPES, ids=[f"{a}@{b}" for a, b in SHAPES])
def test_float64_shapes(sa, sb):
    a, b = random(sa, "f8"), random(sb, "f8")
    got = rawcapi.matmul(a, b)
    assert isinstance(got, rawcapi.Array)
    want = np.matmul(a, b)
    assert got.dtype == "float64" and got.shape == want.shape
    assert rel_frobenius(got, want) < 1e-12


@pytest.mark.parametrize("sa,sb", SHAPES[:11], ids=[f"{a}@{b}" for a, b in SHAPES[:11]])
def test_complex128_shapes(sa, sb):
    a, b = random(sa, "c16"), random(sb, "c16")
    assert rel_frobenius(rawcapi.matmul(a, b), np.matmul(a, b)) < 1e-12


@pytest.mark.parametrize("n", [1, 8, 63, 64, 65, 128])
@pytest.mark.parametrize("dtype", ["complex128", "float64", "float32"])
def test_zero_sums_have_numpys_sign(n, dtype):
    # A sum of products that is exactly zero is +0 in NumPy (its loop and BLAS start the sum
    # at 0), in the real and the imaginary part, for zeros and for -0 operands alike.
    import math

    for a, b in [(np.zeros((n, n), dtype), np.zeros((n, n), dtype)), (np.zeros((n, n), dtype), -np.zeros((n, n), dtype))]:
        got = np.asarray(rawcapi.matmul(a, b))
        want = np.matmul(a, b)
        for g, w in [(got[0, 0], want[0, 0]), (got[-1, -1], want[-1, -1])]:
            parts = lambda z: (z.real, z.imag) if np.iscomplexobj(z) else (z,)
            for gp, wp in zip(parts(g), parts(w)):
                assert gp == wp == 0 and math.copysign(1.0, gp) == math.copysign(1.0, wp), (n, dtype, g, w)
        assert np.array_equal(np.signbit(got.view(got.real.dtype)), np.signbit(want.view(want.real.dtype)))


def layouts(x):
    """The same values in several memory layouts (NumPy views, no copies)."""
    yield "C", x
    yield "F", np.asfortranarray(x)
    big = np.zeros((x.shape[0] * 2, x.shape[1] * 3), dtype=x.dtype)
    big[::2, ::3] = x
    yield "strided", big[::2, ::3]
    rev = x[::-1, ::-1].copy()
    yield "negative", rev[::-1, ::-1]
    yield "columns reversed", x[:, ::-1].copy()[:, ::-1]  # a negative column stride
    yield "rows reversed", x[::-1].copy()[::-1]  # a negative row stride, unit column stride


@pytest.mark.quick
@pytest.mark.parametrize("dtype", ["float64", "complex128", "float32", "int64"])
def test_layouts(dtype):
    a0, b0 = random((37, 53), dtype), random((53, 29), dtype)
    want = np.matmul(a0, b0)
    for name_a, a in layouts(a0):
        for name_b, b in layouts(b0):
            got = np.asarray(rawcapi.matmul(a, b))
            if np.dtype(dtype).kind in "iu":
                assert np.array_equal(got, want), (name_a, name_b)
            else:
                tol = 1e-5 if dtype == "float32" else 1e-12
                assert rel_frobenius(got, want) < tol, (name_a, name_b)


@pytest.mark.parametrize("path", rawcapi._simd_paths())
def test_large_products_every_layout(path):
    """Products with a C of at least 1024² elements, on one thread: on the AVX-512 path these go
    to rawcapi's own float64 kernel (src/kernels/dgemm.rs), on the others to gemm. Every layout
    pair (unit row or column stride, of either sign, or neither: each of the packers' branches),
    ragged sizes (not multiples of the 24×8 tile or the 144/1024 blocks), k over two k-panels,
    and out=. C is always a fresh row-major result here; cargo test covers other C layouts."""
    previous_path = rawcapi._set_simd_path(path)
    previous_threads = rawcapi.get_num_threads()
    rawcapi.set_num_threads(1)
    try:
        a0, b0 = random((1031, 1100), "f8"), random((1100, 1049), "f8")
        want = np.matmul(a0, b0)
        for name_a, a in layouts(a0):
            for name_b, b in layouts(b0):
                got = rawcapi.matmul(a, b)
                assert isinstance(got, rawcapi.Array)
                assert rel_frobenius(got, want) < 1e-12, (path, name_a, name_b)
        out = np.full((1031, 1049), np.nan)
        assert rawcapi.matmul(a0, b0, out=out) is out
        assert rel_frobenius(out, want) < 1e-12
        # A batch of two (one task per item; k = 1030 is chunked 1024 + 6, and the 6-deep chunk
        # goes to gemm), and the same batch with every item transposed in memory.
        a2 = np.stack([a0[:, :1030], a0[:, 70:]])
        b2 = np.stack([b0[:1030], b0[70:]])
        assert rel_frobenius(rawcapi.matmul(a2, b2), np.matmul(a2, b2)) < 1e-12
        a2 = np.ascontiguousarray(a2.transpose(0, 2, 1)).transpose(0, 2, 1)
        b2 = np.ascontiguousarray(b2.transpose(0, 2, 1)).transpose(0, 2, 1)
        assert rel_frobenius(rawcapi.matmul(a2, b2), np.matmul(a2, b2)) < 1e-12
    finally:
        rawcapi.set_num_threads(previous_threads)
        rawcapi._set_simd_path(previous_path)


def test_zero_stride_operands():
    a = np.broadcast_to(np.arange(5.0), (4, 5))  # rows repeat: stride 0
    b = np.broadcast_to(np.arange(3.0)[None, :], (5, 3))
    assert rel_frobenius(rawcapi.matmul(a, b), a @ b) < 1e-12


@pytest.mark.quick
@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("db", DTYPES)
def test_dtype_pairs(da, db):
    a, b = random((2, 6, 5), da), random((5, 4), db)
    want = np.matmul(a, b)
    got = rawcapi.matmul(a, b)
    assert got.dtype == want.dtype.name
    got = np.asarray(got)
    if want.dtype.kind in "biu":
        assert np.array_equal(got, want)  # exact, wrapping like NumPy
    elif want.dtype == np.float32:
        assert rel_frobenius(got, want) < 1e-5
    else:
        assert rel_frobenius(got, want) < 1e-12


def test_integer_overflow_wraps_like_numpy():
    a = np.full((3, 4), np.iinfo(np.int64).max, dtype=np.int64)
    b = np.full((4, 2), 3, dtype=np.int64)
    assert np.array_equal(np.asarray(rawcapi.matmul(a, b)), a @ b)
    u = np.full((2, 300), 200, dtype=np.uint8)
    assert np.array_equal(np.asarray(rawcapi.matmul(u, u.T)), u @ u.T)


@pytest.mark.quick
def test_array_operator_and_lists():
    a, b = random((4, 6), "f8"), random((6, 3), "f8")
    A, B = rawcapi.Array(a), rawcapi.Array(b)
    assert rel_frobenius(A @ B, a @ b) < 1e-12
    assert rel_frobenius(A @ b, a @ b) < 1e-12  # Array @ ndarray: the Array's slot
    assert rel_frobenius(a.tolist() @ B, a @ b) < 1e-12  # list @ Array: reflected
    assert rel_frobenius(rawcapi.matmul(a.tolist(), b.tolist()), a @ b) < 1e-12
    assert rawcapi.matmul([1, 2, 3], [4, 5, 6]).tolist() == 32
    # Array views (strided, transposed, reversed) go to the kernel as they lie.
    assert rel_frobenius(B.T @ A.T, (a @ b).T) < 1e-12
    assert rel_frobenius(A[::-1, ::2] @ B[::2, :], a[::-1, ::2] @ b[::2, :]) < 1e-12
    with pytest.raises(TypeError):
        A @ 3
    with pytest.raises(TypeError):
        A @ "abc"


def test_inplace_matmul():
    a, s = random((4, 4), "f8"), random((4, 4), "f8")
    A = rawcapi.Array(a)
    view = A[:]  # shares A's memory
    before = id(A)
    A @= s
    assert id(A) == before
    assert rel_frobenius(A, a @ s) < 1e-12
    assert rel_frobenius(view, a @ s) < 1e-12
    R = rawcapi.Array(random((4, 3), "f8"))
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        R @= random((3, 5), "f8")


@pytest.mark.quick
def test_out():
    a, b = random((3, 5, 4), "f8"), random((4, 6), "f8")
    out = np.zeros((3, 5, 6))
    r = rawcapi.matmul(a, b, out=out)
    assert r is out
    assert rel_frobenius(out, a @ b) < 1e-12
    o = rawcapi.zeros((3, 5, 6))
    assert rawcapi.matmul(a, b, out=o) is o
    assert rel_frobenius(o, a @ b) < 1e-12
    # A strided out and an out that is also an input.
    big = np.zeros((3, 10, 12))
    rawcapi.matmul(a, b, out=big[:, ::2, ::2])
    assert rel_frobenius(big[:, ::2, ::2], a @ b) < 1e-12
    sq = random((5, 5), "f8")
    want = sq @ sq
    rawcapi.matmul(sq, sq, out=sq)
    assert rel_frobenius(sq, want) < 1e-12


def test_out_errors():
    a, b = random((3, 4), "f8"), random((4, 2), "f8")
    with pytest.raises(ValueError, match=r"out has shape \(2, 3\).*\(3, 2\)"):
        rawcapi.matmul(a, b, out=np.zeros((2, 3)))
    with pytest.raises(TypeError, match="float32"):
        rawcapi.matmul(a, b, out=np.zeros((3, 2), np.float32))
    readonly = np.zeros((3, 2))
    readonly.setflags(write=False)
    with pytest.raises((ValueError, BufferError), match="(?i)read-only|not writable"):
        rawcapi.matmul(a, b, out=readonly)
    with pytest.raises(TypeError, match="out must be"):
        rawcapi.matmul(a, b, out=[[0, 0]] * 3)


@pytest.mark.quick
def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"mismatch in its core dimension 0.*\(2, 3\) and \(4, 5\)"):
        rawcapi.matmul(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"size 4 is different from 3"):
        rawcapi.matmul(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"broadcast.*\(2, 2, 3\) and \(3, 3, 2\)"):
        rawcapi.matmul(np.ones((2, 2, 3)), np.ones((3, 3, 2)))
    with pytest.raises(ValueError, match="does not have enough dimensions"):
        rawcapi.matmul(np.float64(2.0), np.ones(3))
    with pytest.raises(ValueError, match="Input operand 1 does not have enough"):
        rawcapi.matmul(np.ones(3), 2.0)
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(3, 4\)"):
        rawcapi.Array(np.ones((3, 4))) @ rawcapi.Array(np.ones((3, 4)))


def test_unsupported_dtypes_and_arguments():
    with pytest.raises(TypeError, match="'e'"):
        rawcapi.matmul(np.ones((2, 2), np.float16), np.ones((2, 2)))
    with pytest.raises(TypeError):
        rawcapi.matmul(np.ones((2, 2), np.complex64), np.ones((2, 2)))
    with pytest.raises(TypeError):
        rawcapi.matmul(object(), np.ones((2, 2)))
    with pytest.raises(TypeError, match="unexpected keyword argument 'axes'"):
        rawcapi.matmul(np.ones((2, 2)), np.ones((2, 2)), axes=None)
    with pytest.raises(TypeError, match="missing required argument 'b'"):
        rawcapi.matmul(np.ones((2, 2)))
    with pytest.raises(TypeError, match="at most 3 positional"):
        rawcapi.matmul(1, 2, 3, 4)


def test_two_python_threads_concurrently():
    pairs = [(random((300, 200), "f8"), random((200, 250), "f8")) for _ in range(2)]
    wants = [a @ b for a, b in pairs]
    errors = []

    def work(i):
        a, b = pairs[i]
        for _ in range(5):
            e = rel_frobenius(rawcapi.matmul(a, b), wants[i])
            if not e < 1e-12:
                errors.append((i, e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


INTERRUPT = textwrap.dedent(
    """
    import _thread, signal, threading, time
    import numpy as np
    import rawcapi
    # Ctrl-C's handler, whatever the parent did (a background job inherits SIGINT ignored, and
    # interrupt_main() then does nothing): see tests/test_interrupts.py.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Zero-stride operands: a product that would take minutes, in a few MB of memory.
    a = np.broadcast_to(np.{dtype}(1), (512, 1 << 22))
    b = np.broadcast_to(np.{dtype}(1), (1 << 22, 512))
    sent = []
    def fire():
        time.sleep(0.3)
        sent.append(time.perf_counter())
        _thread.interrupt_main()   # what Ctrl-C does: trips SIGINT's flag for the main thread
    threading.Thread(target=fire).start()
    try:
        rawcapi.matmul(a, b)
        print("finished")
    except KeyboardInterrupt:
        print("interrupted", time.perf_counter() - sent[0])
    """
)


@pytest.mark.quick
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_long_matmul_is_interruptible(dtype):
    proc = subprocess.run(
        [sys.executable, "-c", INTERRUPT.format(dtype=dtype)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    word, *rest = proc.stdout.split()
    assert word == "interrupted"
    assert float(rest[0]) < 1.0  # KeyboardInterrupt within a second of the signal


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_thread_setting(threads):
    a, b = random((300, 400), "f8"), random((400, 350), "f8")
    x = random((200, 256), "c16")
    previous = rawcapi.get_num_threads()
    rawcapi.set_num_threads(threads)
    try:
        assert rel_frobenius(rawcapi.matmul(a, b), a @ b) < 1e-12
        assert rel_frobenius(rawcapi.fft(x), np.fft.fft(x)) < 1e-10
    finally:
        rawcapi.set_num_threads(previous)

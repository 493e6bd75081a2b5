"""The table of rawcapi's callables that the reliability tests walk.

Every public function (and, as they land, every method) has one `Spec`: how to call it on good
input with an independent oracle, and a list of bad inputs, each with the exact exception type and
a regular expression its message must match. The leak check (tests/refcounts/check_leaks.py),
the bad-input tests (tests/test_bad_input.py), the thread stress test and the fork/subinterpreter
tests all iterate over this table, so covering a new callable is one entry here.

Only the standard library (and CPython's `_testbuffer`, which ships with the test suite) is
required: the leak check runs this file under Debian's python3.11-dbg, which has no NumPy.
NumPy cases are added when NumPy imports.
"""
from __future__ import annotations

import array
import ctypes
import gc
import re
import sys
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import rawcapi

try:
    import _testbuffer as tb
except ImportError:  # a CPython without its test modules
    tb = None

try:
    import numpy as np
except ImportError:
    np = None


@dataclass
class Good:
    """A call that must succeed. `make()` builds fresh arguments for each call, so a leaked
    reference to an argument keeps a new object alive every time (and shows in the counts)."""

    label: str
    make: Callable[[], tuple]
    kwargs: dict = field(default_factory=dict)


@dataclass
class Bad:
    """A call that must raise `exc` with a message matching `match` (re.search)."""

    label: str
    make: Callable[[], tuple]
    exc: type
    match: str
    kwargs: dict = field(default_factory=dict)


@dataclass
class Spec:
    """One callable: `name` is its dotted path under rawcapi ("fast_sum", "Array.reshape"); `fn`
    overrides how it is called (attributes, operators). The oracle gets the same arguments
    (freshly made) and returns what `plain(result)` must equal."""

    name: str
    oracle: Callable[..., Any] | None  # None: the result is not compared (e.g. _rust_heap)
    good: list[Good]
    bad: list[Bad]
    # Threads: False for callables whose effect is global (a setting), not per call.
    thread_safe_to_hammer: bool = True
    fn: Callable[..., Any] | None = None

    @property
    def func(self):
        if self.fn is not None:
            return self.fn
        obj = rawcapi
        for part in self.name.split("."):
            obj = getattr(obj, part)
        return obj


# ---------------------------------------------------------------------------------------------
# Inputs shared by several callables: every layout the buffer protocol allows.

_PATTERN = bytes((i * 7919 + 3) % 256 for i in range(1 << 17))


def _pattern(n: int) -> bytes:
    """n bytes of every value, a new object each call (n < 2**17)."""
    return _PATTERN[1 : n + 1]


def buffer_inputs() -> list[Good]:
    """Buffers of every layout, each made fresh per call. All are READ-only uses."""
    cases = [
        Good("bytes", lambda: (_pattern(100),)),
        Good("bytes-empty", lambda: (b"",)),
        Good("bytes-large (GIL released)", lambda: (_pattern(70_000),)),
        Good("bytearray", lambda: (bytearray(_pattern(100)),)),
        Good("bytearray-empty", lambda: (bytearray(),)),
        Good("memoryview-readonly", lambda: (memoryview(_pattern(50)),)),
        Good("memoryview-step-3", lambda: (memoryview(_pattern(99))[::3],)),
        Good("memoryview-negative-stride", lambda: (memoryview(_pattern(99))[::-2],)),
        Good("memoryview-2d-cast", lambda: (memoryview(_pattern(24)).cast("B", (4, 6)),)),
        Good("memoryview-0-length-slice", lambda: (memoryview(_pattern(10))[5:5],)),
        Good("array-d (format 'd')", lambda: (array.array("d", [1.5, -2.0, 1e300]),)),
        Good("array-u (format 'w')", lambda: (array.array("u", "a\nb\n"),)),
        Good("ctypes-0d-int", lambda: (ctypes.c_int(0x0A0B0C0D),)),
        Good("ctypes-struct", lambda: (_Point(10, 20),)),
    ]
    if tb is not None:
        cases += [
            Good("ndarray-3d", lambda: (tb.ndarray(list(_pattern(24)), shape=[2, 3, 4], format="B"),)),
            Good("ndarray-fortran", lambda: (tb.ndarray(list(_pattern(24)), shape=[2, 3, 4], format="B", flags=tb.ND_FORTRAN),)),
            Good("ndarray-suboffsets (PIL)", lambda: (tb.ndarray(list(_pattern(24)), shape=[2, 3, 4], format="B", flags=tb.ND_PIL),)),
            Good("ndarray-0d", lambda: (tb.ndarray(10, shape=[], format="B"),)),
            Good("ndarray-zero-in-shape", lambda: (tb.ndarray(list(range(6)), shape=[3, 2], format="B")[1:1],)),
            Good("ndarray-negative-stride", lambda: (tb.ndarray(list(_pattern(12)), shape=[4], strides=[-3], offset=9, format="B"),)),
            Good("ndarray-format-q", lambda: (tb.ndarray([1, -1, 2**62], shape=[3], format="q"),)),
            Good("ndarray-writable", lambda: (tb.ndarray(list(_pattern(8)), shape=[8], format="B", flags=tb.ND_WRITABLE),)),
        ]
    if np is not None:
        cases += [
            Good("numpy-float64-2d-transposed", lambda: (np.arange(12.0).reshape(3, 4).T,)),
            Good("numpy-zero-stride (broadcast)", lambda: (np.broadcast_to(np.uint8(10), (5, 7)),)),
            Good("numpy-complex-reversed", lambda: (np.arange(6, dtype=np.complex128)[::-1],)),
        ]
    return cases


class _Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int)]


def getbuffer_fails() -> list[Bad]:
    """Exporters whose getbuffer fails: the exporter's own exception must come through."""
    if tb is None:
        return []
    return [
        Bad("ndarray-ND_GETBUF_FAIL", lambda: (tb.ndarray([1, 2, 3], shape=[3], flags=tb.ND_GETBUF_FAIL),),
            BufferError, r"^ND_GETBUF_FAIL: forced test exception$"),
    ]


def wrong_calls(name: str, one_good_arg) -> list[Bad]:
    """Wrong argument counts and keywords for a METH_O function (one positional argument)."""
    q = re.escape(f"rawcapi.{name}()")
    return [
        Bad("no-arguments", lambda: (), TypeError, rf"^{q} takes exactly one argument \(0 given\)$"),
        Bad("two-arguments", lambda: (one_good_arg(), one_good_arg()), TypeError, rf"^{q} takes exactly one argument \(2 given\)$"),
        Bad("keyword", lambda: (), TypeError, rf"^{q} takes no keyword arguments$", kwargs={"data": b""}),
        Bad("unknown-keyword", lambda: (one_good_arg(),), TypeError, rf"^{q} takes no keyword arguments$", kwargs={"bogus": 1}),
    ]


# ---------------------------------------------------------------------------------------------
# Oracles: plain Python.

def sum_oracle(data) -> int:
    return sum(memoryview(data).tobytes())


def count_lines_oracle(text) -> int:
    if isinstance(text, str):
        return text.count("\n")
    return memoryview(text).tobytes().count(b"\n")


def _text_cases() -> list[Good]:
    return [
        Good("str-ascii", lambda: ("a\nb\n\nc" * 10,)),
        Good("str-empty", lambda: ("",)),
        Good("str-latin1", lambda: ("é\n\xff\n" * 7,)),
        Good("str-ucs2", lambda: ("\u010a\n\u0a00\n" * 7,)),
        Good("str-ucs4", lambda: ("\U0001F600\n\U0010FFFF" * 7,)),
        Good("str-lone-surrogates", lambda: ("\ud800\n\udfff\n",)),
        Good("str-large (GIL released)", lambda: ("x\n" * 40_000,)),
        Good("str-subclass", lambda: (_Str("a\nb\n"),)),
    ]


class _Str(str):
    pass


def _type_errors(message_for: Callable[[str], str]) -> list[Bad]:
    objs = [("None", lambda: None, "NoneType"), ("int", lambda: 3, "int"), ("list", lambda: [1, 2], "list"),
            ("float", lambda: 1.5, "float"), ("object", lambda: object(), "object")]
    return [Bad(f"type-{label}", (lambda mk=mk: (mk(),)), TypeError, message_for(tname)) for label, mk, tname in objs]


SPECS: list[Spec] = [
    Spec(
        name="fast_sum",
        oracle=sum_oracle,
        good=buffer_inputs(),
        bad=[
            *_type_errors(lambda t: rf"^a bytes-like object is required, not '{t}'$"),
            Bad("type-str", lambda: ("abc",), TypeError, r"^a bytes-like object is required, not 'str'$"),
            *getbuffer_fails(),
            *wrong_calls("fast_sum", lambda: b"x"),
        ],
    ),
    Spec(
        name="count_lines",
        oracle=count_lines_oracle,
        good=[*_text_cases(), *buffer_inputs()],
        bad=[
            *_type_errors(lambda t: rf"^count_lines\(\) argument must be str or a bytes-like object, not '{t}'$"),
            *getbuffer_fails(),
            *wrong_calls("count_lines", lambda: "x"),
        ],
    ),
    # Private, but reachable, so held to the same standard.
    Spec(
        name="_set_gil_release_threshold",
        oracle=None,
        # Setting the current value back keeps the module's behaviour unchanged by the test.
        good=[Good("same-value", lambda: (rawcapi._set_gil_release_threshold(65536),))],
        bad=[
            Bad("negative", lambda: (-1,), ValueError, r"^nbytes must be >= 0, not -1$"),
            Bad("overflow", lambda: (2**64,), OverflowError, r"^Python int too large to convert to C ssize_t$"),
            Bad("float", lambda: (1.5,), TypeError, r"^nbytes must be an int, not 'float'$"),
            Bad("str", lambda: ("10",), TypeError, r"^nbytes must be an int, not 'str'$"),
            *wrong_calls("_set_gil_release_threshold", lambda: 65536),
        ],
        thread_safe_to_hammer=False,
    ),
    Spec(
        name="_rust_heap",
        oracle=None,
        good=[Good("no-arguments", lambda: ())],
        bad=[Bad("one-argument", lambda: (1,), TypeError, r"^rawcapi\._rust_heap\(\) takes no arguments \(1 given\)$")],
    ),
    Spec(
        name="_panic",
        oracle=None,
        good=[],
        bad=[
            Bad("panic-becomes-SystemError", lambda: ("leak check",), SystemError, r"^rawcapi panicked: leak check \(at src/functions/private\.rs:\d+:\d+\)$"),
            Bad("not-a-str", lambda: (3,), TypeError, r"^_panic\(\) argument must be str, not 'int'$"),
        ],
        thread_safe_to_hammer=False,
    ),
    # Item 8 (interrupts) needs a long-running callable: the matmul slot, filled when it lands.
]


def abi_specs() -> list[Spec]:
    """The C-API helpers (the capsule's functions are exercised from C by tests/test_c_api.py)."""
    specs = []
    for name in ["get_include", "_layout"]:
        if hasattr(rawcapi, name):
            specs.append(Spec(name, None, good=[Good("no-arguments", lambda: ())],
                              bad=[Bad("one-argument", lambda: (1,), TypeError, rf"^rawcapi\.{name}\(\) takes no arguments \(1 given\)$")]))
    return specs


def setting_specs() -> list[Spec]:
    """Process-wide settings (threads, SIMD path): good cases set the current value back, so the
    tests leave the module as they found it; not hammered from threads (no per-call answer)."""
    if not hasattr(rawcapi, "set_num_threads"):
        return []
    r = rawcapi
    return [
        Spec("set_num_threads", None, thread_safe_to_hammer=False,
             good=[Good("same-value", lambda: (r.get_num_threads(),))],
             bad=[Bad("zero", lambda: (0,), ValueError, r"^set_num_threads\(n\): n must be between 1 and 1024, got 0$"),
                  Bad("too-many", lambda: (2000,), ValueError, r"^set_num_threads\(n\): n must be between 1 and 1024, got 2000$"),
                  Bad("negative", lambda: (-1,), ValueError, r"^set_num_threads\(n\): n must be between 1 and 1024, got -1$"),
                  Bad("beyond-64-bits", lambda: (2**64,), ValueError, r"^set_num_threads\(n\): n must be between 1 and 1024, got an integer beyond 64 bits$"),
                  Bad("str", lambda: ("a",), TypeError, r"^set_num_threads\(\) argument must be int, not 'str'$"),
                  Bad("float", lambda: (1.5,), TypeError, r"^set_num_threads\(\) argument must be int, not 'float'$"),
                  *wrong_calls("set_num_threads", lambda: 1)]),
        Spec("get_num_threads", None, good=[Good("no-arguments", lambda: ())],
             bad=[Bad("one-argument", lambda: (1,), TypeError, r"^rawcapi\.get_num_threads\(\) takes no arguments \(1 given\)$")]),
        Spec("_set_parallel_threshold", None, thread_safe_to_hammer=False,
             good=[Good("same-value", lambda: (r._set_parallel_threshold(4 << 20),))],
             bad=[Bad("negative", lambda: (-1,), ValueError, r"^nbytes must be >= 0, not -1$"),
                  Bad("str", lambda: ("a",), TypeError, r"^nbytes must be an int, not 'str'$"),
                  Bad("overflow", lambda: (2**64,), OverflowError, r"^Python int too large to convert to C ssize_t$"),
                  *wrong_calls("_set_parallel_threshold", lambda: 1)]),
        Spec("_simd_paths", None, good=[Good("no-arguments", lambda: ())],
             bad=[Bad("one-argument", lambda: (1,), TypeError, r"^rawcapi\._simd_paths\(\) takes no arguments \(1 given\)$")]),
        Spec("_simd_path", None, good=[Good("no-arguments", lambda: ())],
             bad=[Bad("one-argument", lambda: (1,), TypeError, r"^rawcapi\._simd_path\(\) takes no arguments \(1 given\)$")]),
        Spec("_set_simd_path", None, thread_safe_to_hammer=False,
             good=[Good("same-path", lambda: (r._simd_path(),))],
             bad=[Bad("unknown", lambda: ("bogus",), ValueError, r'^unknown SIMD path "bogus": expected one of avx512, avx2, scalar$'),
                  Bad("int", lambda: (3,), TypeError, r"^_set_simd_path\(\) argument must be str, not 'int'$"),
                  Bad("lone-surrogate", lambda: ("\ud800",), UnicodeEncodeError, r"surrogates not allowed$"),
                  *wrong_calls("_set_simd_path", lambda: "scalar")]),
    ]



def public_names() -> set[str]:
    """What rawcapi exposes that is callable, and every attribute of its types ("Array.sum"):
    the table must cover every one of them."""
    names = set()
    for name in dir(rawcapi):
        obj = getattr(rawcapi, name)
        if name.startswith("__") or not callable(obj):
            continue
        names.add(name)
        if isinstance(obj, type):
            names |= {f"{name}.{attr}" for attr in vars(obj) if not attr.startswith("__")}
    return names


def plain(value):
    """A result in comparable form: arrays (rawcapi's or NumPy's) as (dtype, shape, nested
    lists); NumPy scalars as Python scalars; tuples/lists element-wise."""
    if isinstance(value, getattr(rawcapi, "Array", ())) or (np is not None and isinstance(value, np.ndarray)):
        return (str(value.dtype), tuple(value.shape), value.tolist())
    if np is not None and isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)) and not isinstance(value, str):
        return type(value)(plain(v) for v in value)
    return value


def good_and_expected(spec: Spec, case: Good):
    """Call on fresh arguments, and ask the oracle about another fresh copy of them (so a call
    that mutates its arguments, like __setitem__, cannot change what the oracle sees)."""
    result = spec.func(*case.make(), **case.kwargs)
    expected = spec.oracle(*case.make(), **case.kwargs)
    return plain(result), plain(expected)


def all_calls():
    """(spec, case) for every good and bad case of every callable."""
    for spec in SPECS:
        for case in spec.good:
            yield spec, case
        for case in spec.bad:
            yield spec, case


# ---------------------------------------------------------------------------------------------
# Elementwise arithmetic: rawcapi.add/subtract/multiply/divide(a, b, out=None) and the operators.

def _np_operand(x):
    if isinstance(x, getattr(rawcapi, "Array", ())) or _is_buffer(x):
        return _as_np(x)
    return x


def _np_ufunc(name):
    def oracle(a, b, out=None):
        result = getattr(np, name)(_np_operand(a), _np_operand(b))
        if out is not None:
            target = _as_np(out)
            target[...] = result
            return target
        return result
    return oracle


def ufunc_specs() -> list[Spec]:
    if not hasattr(rawcapi, "add"):
        return []
    import operator
    A = rawcapi.Array
    readonly = lambda: A.frombuffer(b"\x01\x02\x03")  # noqa: E731
    specs = []
    for name, op in [("add", operator.add), ("subtract", operator.sub), ("multiply", operator.mul), ("divide", operator.truediv)]:
        q = re.escape(f"{name}()")
        # With out=, the ufunc returns out: the comparison sees what was written.
        specs.append(Spec(name, _np(_np_ufunc(name)),
            good=[Good("arrays", lambda: (_arr(), _arr())), Good("broadcast-row", lambda: (_arr(), A([10, 20, 30]))),
                  Good("scalar", lambda: (_farr(), 3)), Good("int-and-float", lambda: (_arr(), _arr().astype("float32"))),
                  Good("buffer-operand", lambda: (A([1, 2, 3, 4]).astype("uint8"), memoryview(bytes([5, 6, 7, 8])))),
                  Good("transposed", lambda: (_farr().T, _farr().T)), Good("empty", lambda: (rawcapi.zeros((0, 3)), A([1.0, 2.0, 3.0]))),
                  Good("out", lambda: (_farr(), 2.0, rawcapi.zeros((3, 2))))],
            bad=[Bad("shape-mismatch", lambda: (_arr(), A([1, 2])), ValueError, r"^operands could not be broadcast together with shapes \(2,3\) \(2,\) $"),
                 Bad("out-shape", lambda: (_arr(), 1), ValueError, r"^non-broadcastable output operand with shape \(3,\) doesn't match the broadcast shape \(2,3\)$",
                     {"out": rawcapi.zeros(3, dtype="float64")}),
                 Bad("out-read-only", lambda: (A([1, 2, 3]).astype("uint8"), 1), ValueError, r"^output array is read-only$", {"out": readonly()}),
                 Bad("out-not-array", lambda: (_arr(), 1), TypeError, rf"^{q[:-4]}\(\) argument 'out' must be an Array or a writable buffer, not 'int'$", {"out": 3}),
                 Bad("str-operand", lambda: ("x", 1), TypeError, rf"^{q[:-4]}\(\) argument 'a' must be an Array, a buffer-protocol object or a Python number, not 'str'$"),
                 Bad("None-operand", lambda: (_arr(), None), TypeError, rf"argument 'b' must be an Array, a buffer-protocol object or a Python number, not 'NoneType'$"),
                 Bad("unsupported-format", lambda: (memoryview(b"abcd").cast("h"), 1), TypeError, rf"^{q[:-4]}\(\): unsupported buffer format 'h' of a 'memoryview' operand"),
                 Bad("one-argument", lambda: (_arr(),), TypeError, rf"^{q[:-4]}\(\) takes from 2 to 3 positional arguments but 1 were given$"),
                 Bad("unknown-keyword", lambda: (_arr(), 1), TypeError, rf"^{q[:-4]}\(\) got an unexpected keyword argument 'bogus'$", {"bogus": 2})]))
        sym = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}[name]
        dunder = {"add": "__add__", "subtract": "__sub__", "multiply": "__mul__", "divide": "__truediv__"}[name]
        specs.append(Spec(f"Array.{dunder}", _np(lambda a, b, op=op: op(_np_operand(a), _np_operand(b))), fn=op,
            good=[Good("arrays", lambda: (_arr(), _farr().T)), Good("scalar-right", lambda: (_arr(), 2)), Good("scalar-left", lambda: (2.5, _arr())),
                  Good("numpy-free-buffer", lambda: (A([1.0, 2.0]), memoryview(b"\x00" * 16).cast("d")))],
            bad=[Bad("shape-mismatch", lambda: (_arr(), A([1, 2])), ValueError, r"^operands could not be broadcast together with shapes \(2,3\) \(2,\) $"),
                 Bad("None", lambda: (_arr(), None), TypeError, rf"^unsupported operand type\(s\) for {re.escape(sym)}: 'rawcapi\.Array' and 'NoneType'$")]))
    specs.append(Spec("Array.__iadd__ (and the other in-place operators)", _np(lambda a, b: _iadd(_as_np(a), _np_operand(b))), fn=lambda a, b: _iadd(a, b),
        good=[Good("same-dtype", lambda: (_farr(), 1.5)), Good("broadcast", lambda: (_arr(), A([1, 2, 3])))],
        bad=[Bad("cast", lambda: (A([1, 2]), 1.5), TypeError, r"^Cannot cast ufunc 'add' output from dtype\('float64'\) to dtype\('int64'\) with casting rule 'same_kind'$"),
             Bad("read-only", lambda: (readonly(), 1), ValueError, r"^output array is read-only$"),
             Bad("would-broadcast-self", lambda: (A([1, 2]), A([[1, 2], [3, 4]])), ValueError, r"^non-broadcastable output operand with shape \(2,\) doesn't match the broadcast shape \(2,2\)$")]))
    if hasattr(A, "__lt__") and A.__lt__ is not object.__lt__:
        for dunder, op in [("__eq__", operator.eq), ("__ne__", operator.ne), ("__lt__", operator.lt), ("__le__", operator.le), ("__gt__", operator.gt), ("__ge__", operator.ge)]:
            bad = [Bad("shape-mismatch", lambda: (_arr(), A([1, 2])), ValueError, r"^operands could not be broadcast together with shapes \(2,3\) \(2,\) $")]
            if dunder not in ("__eq__", "__ne__"):  # == and != fall back to identity for other types
                sym = {"__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">="}[dunder]
                bad.append(Bad("str", lambda: (_arr(), "x"), TypeError, rf"^'{sym}' not supported between instances of 'rawcapi\.Array' and 'str'$"))
            specs.append(Spec(f"Array.{dunder}", _np(lambda a, b, op=op: op(_as_np(a), _np_operand(b))), fn=op,
                              good=[Good("scalar", lambda: (_arr(), 2)), Good("broadcast-row", lambda: (_arr(), A([2, 2, 6]))),
                                    Good("mixed-dtypes", lambda: (_farr(), _farr().astype("int64")))],
                              bad=bad))
    specs.append(Spec("Array.__neg__", _np(lambda a: -_as_np(a)), fn=operator.neg, good=[Good("int", lambda: (_arr(),)), Good("float", lambda: (_farr(),))], bad=[]))
    specs.append(Spec("Array.__abs__", _np(lambda a: abs(_as_np(a))), fn=abs,
                      good=[Good("int", lambda: (A([[-1, 2], [3, -4]]),)), Good("float", lambda: (_farr(),)),
                            Good("complex-to-float64", lambda: (A([3 + 4j, -1j, 0j]),))], bad=[]))
    return specs


def heavy_specs() -> list[Spec]:
    """matmul and the FFTs: NumPy's functions are the oracles (results compared exactly for
    matmul of small integer-valued operands; FFTs to the last bit is not promised, so their
    good calls are compared after rounding to 9 decimals)."""
    if not hasattr(rawcapi, "matmul"):
        return []
    A = rawcapi.Array
    m = lambda: A([[1.0, 2.0], [3.0, 4.0]])  # noqa: E731
    gufunc = r"with gufunc signature \(n\?,k\),\(k,m\?\)->\(n\?,m\?\)"
    specs = [
        Spec("matmul", _np(lambda a, b, out=None: np.matmul(_np_operand(a), _np_operand(b))),
             good=[Good("2x2", lambda: (m(), m())), Good("vector-right", lambda: (m(), A([1.0, -1.0]))), Good("vector-left", lambda: (A([1.0, -1.0]), m())),
                   Good("batched", lambda: (rawcapi.arange(12.0).reshape(3, 2, 2), m())), Good("int", lambda: (_arr(), _arr().T)),
                   Good("transposed", lambda: (_farr().T, _farr())), Good("nested-lists", lambda: ([[1, 2]], [[3], [4]]))],
             bad=[Bad("core-mismatch", lambda: (m(), A([[1.0, 2.0, 3.0]])), ValueError, r"^matmul: Input operand 1 has a mismatch in its core dimension 0, " + gufunc + r" \(size 1 is different from 2\); shapes \(2, 2\) and \(1, 3\)$"),
                  Bad("0d", lambda: (A(2.0), m()), ValueError, r"^matmul: Input operand 0 does not have enough dimensions \(has 0, gufunc core with signature \(n\?,k\),\(k,m\?\)->\(n\?,m\?\) requires 1\)$"),
                  Bad("batch-mismatch", lambda: (rawcapi.zeros((2, 2, 2)), rawcapi.zeros((3, 2, 2))), ValueError, r"^matmul: batch dimensions could not be broadcast together: shapes \(2, 2, 2\) and \(3, 2, 2\)"),
                  Bad("impossible-size", lambda: (rawcapi.zeros((1 << 20, 1)), rawcapi.zeros((1, 1 << 20))), MemoryError, r"^Unable to allocate 8\.00 TiB for an array with shape \(1048576, 1048576\) and data type float64$"),
                  Bad("str", lambda: ("x", m()), TypeError, r"not 'str'$"),
                  Bad("ragged", lambda: ([[1], [2, 3]], m()), ValueError, r"inhomogeneous shape"),
                  Bad("one-argument", lambda: (m(),), TypeError, r"^matmul\(\) missing required argument 'b' \(pos 2\)$"),
                  Bad("unknown-keyword", lambda: (m(), m()), TypeError, r"^matmul\(\) got an unexpected keyword argument 'bogus'$", {"bogus": 1})]),
    ]
    if hasattr(A, "__matmul__"):
        specs.append(Spec("Array.__matmul__", _np(lambda a, b: _as_np(a) @ _np_operand(b)), fn=lambda a, b: a @ b,
                          good=[Good("2x2", lambda: (m(), m()))],
                          bad=[Bad("core-mismatch", lambda: (m(), A([[1.0, 2.0, 3.0]])), ValueError, r"^matmul: Input operand 1 has a mismatch")]))
    for name in ["fft", "ifft", "rfft", "irfft"]:
        specs.append(Spec(name, _np(lambda a, name=name, **k: np.round(getattr(np.fft, name)(_np_operand(a), **k), 9)),
                          fn=lambda a, name=name, **k: _round9(getattr(rawcapi, name)(a, **k)),
                          good=[Good("8-points", lambda: ([1.0, 2.0, 0.0, -1.0, 3.0, 0.5, 0.0, 2.0],)), Good("prime-length", lambda: (list(range(7)),)),
                                Good("n-pads", lambda: ([1.0, 2.0, 3.0],), {"n": 8}), Good("axis-0", lambda: (rawcapi.arange(12.0).reshape(4, 3),), {"axis": 0}),
                                Good("ortho", lambda: ([1.0, 2.0, 3.0, 4.0],), {"norm": "ortho"})],
                          bad=[Bad("n-zero", lambda: ([1.0, 2.0],), ValueError, r"^Invalid number of FFT data points \(0\) specified\.$", {"n": 0}),
                               Bad("n-negative", lambda: ([1.0, 2.0],), ValueError, r"^Invalid number of FFT data points \(-1\) specified\.$", {"n": -1}),
                               Bad("n-float", lambda: ([1.0],), TypeError, rf"^{name}: n must be an integer, not 'float'$", {"n": 2.5}),
                               Bad("axis", lambda: ([1.0, 2.0],), IndexError, rf"^{name}: axis 3 is out of bounds for array of dimension 1$", {"axis": 3}),
                               Bad("norm", lambda: ([1.0, 2.0],), ValueError, r'^Invalid norm value bogus; should be "backward","ortho" or "forward"\.$', {"norm": "bogus"}),
                               Bad("0d", lambda: (A(1.0),), IndexError, rf"^{name}: axis -1 is out of bounds for array of dimension 0$"),
                               Bad("str", lambda: ("abc",), TypeError, r"not 'str'$"),
                               Bad("unknown-keyword", lambda: ([1.0],), TypeError, rf"^{name}\(\) got an unexpected keyword argument 'bogus'$", {"bogus": 1})]))
    by_name = {spec.name: spec for spec in specs}
    by_name["rfft"].bad.append(Bad("complex-input", lambda: ([1j, 2],), TypeError, r"^rfft: input must be real \(got complex128\); use fft for complex input$"))
    by_name["fft"].bad.append(Bad("impossible-n", lambda: ([1.0],), MemoryError, r"^Unable to allocate 16\.00 TiB", {"n": 1 << 40}))
    return specs


def _round9(x):
    return np.round(np.asarray(x), 9) if np is not None else x


def _iadd(a, b):
    a += b
    return a


# ---------------------------------------------------------------------------------------------
# The Array type: constructors, methods, attributes, indexing. Oracles are NumPy (None where
# NumPy is not installed, e.g. under python3.11-dbg: the leak check needs no oracle).

DTYPES_MSG = r"\(supported: bool, uint8, int32, int64, float32, float64, complex128\)$"


def _np(f):
    return f if np is not None else None


def _arr():
    return rawcapi.Array([[1, 2, 3], [4, 5, 6]])


def _farr():
    return rawcapi.Array([[1.5, -2.0], [0.25, 8.0], [3.0, 1e10]])


def _as_np(a):
    return np.array(np.asarray(a))


def _is_buffer(obj):
    try:
        memoryview(obj).release()
        return True
    except TypeError:
        return False


class HookError(Exception):
    """An exception class of the user's own, raised by a hook rawcapi calls (`__index__`,
    `__float__`, `__len__`): it must come out as it is (tests/test_hook_exceptions.py has the whole
    table); here its error paths join the leak check."""


def unknown_keyword(function, keyword):
    """PyArg_ParseTupleAndKeywords's message for a keyword the function does not take
    (Python/getargs.c), which CPython 3.13 reworded."""
    if sys.version_info >= (3, 13):
        return rf"^{function}\(\) got an unexpected keyword argument '{keyword}'$"
    return rf"^'{keyword}' is an invalid keyword argument for {function}\(\)$"


class _RaisingIndex:
    def __index__(self):
        raise HookError("from __index__")


class _RaisingFloat:
    def __float__(self):
        raise HookError("from __float__")


class _RaisingLen:
    def __len__(self):
        raise HookError("from __len__")

    def __getitem__(self, i):
        return 1


def _setitem(a, key, value):
    a[key] = value
    return a


def array_specs() -> list[Spec]:
    if not hasattr(rawcapi, "Array"):
        return []
    A = rawcapi.Array
    readonly = lambda: A.frombuffer(b"\x01\x02\x03\x04")  # noqa: E731
    specs = [
        Spec("zeros", _np(lambda shape, dtype="float64": np.zeros(shape, dtype=dtype)),
             good=[Good("1d", lambda: (3,)), Good("2d-int32", lambda: ((2, 3), "int32")), Good("empty", lambda: ((2, 0),)),
                   Good("0d", lambda: ((),)), Good("complex-kw", lambda: (4,), {"dtype": "complex128"})],
             bad=[Bad("negative", lambda: (-1,), ValueError, r"^negative dimensions are not allowed$"),
                  Bad("negative-in-tuple", lambda: ((2, -3),), ValueError, r"^negative dimensions are not allowed$"),
                  Bad("bytes-overflow", lambda: (1 << 62,), ValueError, r"^array is too big; `arr.size \* arr.dtype.itemsize` is larger than the maximum possible size\.$"),
                  Bad("product-overflow", lambda: ((1 << 40, 1 << 40),), ValueError, r"^array is too big"),
                  Bad("impossible-size", lambda: (1 << 40,), MemoryError, r"^Unable to allocate 8\.00 TiB for an array with shape \(1099511627776,\) and data type float64$"),
                  Bad("int-overflow", lambda: (2**64,), OverflowError, r"^Python int too large to convert to C ssize_t$"),
                  Bad("float-shape", lambda: (2.5,), TypeError, r"^a shape must be an int or a sequence of ints, not 'float'$"),
                  Bad("unknown-dtype", lambda: (3,), TypeError, r"^data type 'float16' not understood " + DTYPES_MSG, {"dtype": "float16"}),
                  Bad("33-dims", lambda: ((1,) * 33,), ValueError, r"^maximum supported dimension for an Array is 32, found 33$"),
                  Bad("unknown-keyword", lambda: (3,), TypeError, unknown_keyword("zeros", "bogus"), {"bogus": 1}),
                  Bad("no-arguments", lambda: (), TypeError, r"^zeros\(\) missing required argument 'shape' \(pos 1\)$"),
                  Bad("three-arguments", lambda: (3, "int32", 5), TypeError, r"^zeros\(\) takes at most 2 arguments \(3 given\)$"),
                  Bad("index-raises", lambda: ((2, _RaisingIndex()),), HookError, r"^from __index__$"),
                  Bad("len-raises", lambda: (_RaisingLen(),), HookError, r"^from __len__$")]),
        Spec("arange", _np(lambda *a, **k: np.arange(*a, **k)),
             good=[Good("stop", lambda: (5,)), Good("start-stop-step", lambda: (1, 10, 3)), Good("float", lambda: (0.5, 2.0, 0.25)),
                   Good("negative-step", lambda: (10, 0, -2)), Good("dtype", lambda: (5,), {"dtype": "float32"}), Good("empty", lambda: (3, 1))],
             bad=[Bad("no-arguments", lambda: (), TypeError, r"^arange\(\) takes at least 1 positional argument \(0 given\)$"),
                  Bad("four-arguments", lambda: (1, 2, 3, 4), TypeError, r"^arange\(\) takes at most 3 positional arguments \(4 given\)$"),
                  Bad("zero-step", lambda: (1, 2, 0), ZeroDivisionError, r"^division by zero$"),
                  Bad("huge-float", lambda: (1e300,), ValueError, r"^Maximum allowed size exceeded$"),
                  Bad("nan", lambda: (float("nan"),), ValueError, r"^arange: cannot compute length$"),
                  Bad("impossible-size", lambda: (1 << 40,), MemoryError, r"^Unable to allocate 8\.00 TiB"),
                  Bad("str", lambda: ("a",), TypeError, r"^arange\(\) arguments must be int or float, not 'str'$"),
                  Bad("unknown-dtype", lambda: (3,), TypeError, r"^data type 'x' not understood " + DTYPES_MSG, {"dtype": "x"}),
                  Bad("float-raises", lambda: (_RaisingFloat(),), HookError, r"^from __float__$"),
                  Bad("past-int64", lambda: (2**63 - 2, 2**63 + 2), OverflowError, r"^arange: the last value, Python integer 9223372036854775809, is out of bounds for int64")]),
        Spec("Array", _np(lambda obj, dtype=None: np.array(memoryview(obj) if _is_buffer(obj) else obj, dtype=dtype)),
             good=[Good("nested-list", lambda: ([[1, 2], [3, 4]],)), Good("floats", lambda: ([1.5, 2],)), Good("bool-scalar", lambda: (True,)),
                   Good("bytes", lambda: (_pattern(10),)), Good("memoryview-int32", lambda: (memoryview(_pattern(16)).cast("i"),)),
                   Good("reversed-view", lambda: (memoryview(_pattern(16))[::-3],)), Good("dtype", lambda: ([1, 2, 3],), {"dtype": "float32"}),
                   *([Good("numpy-strided", lambda: (np.arange(24.0).reshape(4, 6)[::-2, 1::2],))] if np is not None else [])],
             bad=[Bad("object", lambda: (object(),), TypeError, r"^Array\(\) argument must be a buffer-protocol object, a nested sequence of numbers or a number, not 'object'$"),
                  Bad("str", lambda: ("abc",), TypeError, r"not 'str'$"),
                  Bad("None", lambda: (None,), TypeError, r"not 'NoneType'$"),
                  Bad("ragged", lambda: ([1, [2, 3]],), ValueError, r"^setting an array element with a sequence\. The requested array has an inhomogeneous shape after 1 dimensions\."),
                  Bad("too-deep", lambda: (eval("[" * 40 + "1" + "]" * 40),), ValueError, r"^maximum supported dimension for an Array is 32, found more$"),
                  Bad("int-out-of-range", lambda: ([2**70],), OverflowError, r"^Python integer 1180591620717411303424 out of bounds for int64$"),
                  Bad("unsupported-format", lambda: (memoryview(b"abcd").cast("h"),), TypeError, r"^Array\(\) cannot take buffer format 'h'; supported formats: "),
                  Bad("unknown-dtype", lambda: ([1, 2],), TypeError, r"^data type 'x' not understood " + DTYPES_MSG, {"dtype": "x"}),
                  *getbuffer_fails(),
                  Bad("no-arguments", lambda: (), TypeError, r"^Array\(\) missing required argument 'obj' \(pos 1\)$"),
                  Bad("three-arguments", lambda: (1, 2, 3), TypeError, r"^Array\(\) takes at most 2 arguments \(3 given\)$"),
                  Bad("unknown-keyword", lambda: ([1],), TypeError, unknown_keyword("Array", "bogus"), {"bogus": 1}),
                  Bad("float-raises", lambda: ([1.0, _RaisingFloat()],), HookError, r"^from __float__$"),
                  Bad("len-raises", lambda: ([_RaisingLen()],), HookError, r"^from __len__$")]),
        Spec("Array.frombuffer", _np(lambda obj: np.asarray(memoryview(obj))),
             good=[Good("bytearray-writable", lambda: (bytearray(_pattern(8)),)), Good("bytes-readonly", lambda: (_pattern(8),)),
                   Good("reversed", lambda: (memoryview(_pattern(9))[::-2],)), Good("int32-2d", lambda: (memoryview(_pattern(24)).cast("i", (2, 3)),))],
             bad=[Bad("int", lambda: (3,), TypeError, r"^a bytes-like object is required, not 'int'$"),
                  Bad("unsupported-format", lambda: (memoryview(b"abcd").cast("h"),), TypeError, r"^Array\(\) cannot take buffer format 'h'"),
                  *getbuffer_fails(),
                  *([Bad("suboffsets", lambda: (tb.ndarray(list(range(6)), shape=[2, 3], format="B", flags=tb.ND_PIL),), BufferError,
                         r"^ndarray cannot be represented without suboffsets$")] if tb is not None else [])]),
        Spec("Array.astype", _np(lambda a, d: _as_np(a).astype(d)),
             good=[Good("int-to-float32", lambda: (_arr(), "float32")), Good("float-to-int64", lambda: (_farr(), "int64")),
                   Good("to-complex", lambda: (_arr(), "complex128")), Good("to-bool", lambda: (_farr(), "bool"))],
             bad=[Bad("unknown-dtype", lambda: (_arr(), "x"), TypeError, r"^data type 'x' not understood " + DTYPES_MSG),
                  Bad("int-dtype", lambda: (_arr(), 5), TypeError, r"^data type '5' not understood "),
                  Bad("no-dtype", lambda: (_arr(),), TypeError, r"^Array\.astype\(\) takes exactly one argument \(0 given\)$")]),
        Spec("Array.copy", _np(lambda a: _as_np(a).copy()),
             good=[Good("2d", lambda: (_arr(),)), Good("transposed", lambda: (_farr().T,))],
             bad=[Bad("argument", lambda: (_arr(), 1), TypeError, r"^Array\.copy\(\) takes no arguments \(1 given\)$")]),
        Spec("Array.reshape", _np(lambda a, *shape: _as_np(a).reshape(*shape)),
             good=[Good("flat", lambda: (_arr(), 6)), Good("tuple", lambda: (_arr(), (3, 2))), Good("minus-one", lambda: (_arr(), -1, 2)),
                   Good("of-transposed", lambda: (_arr().T, 6))],
             bad=[Bad("wrong-size", lambda: (_arr(), 5), ValueError, r"^cannot reshape array of size 6 into shape \(5,\)$"),
                  Bad("two-unknowns", lambda: (_arr(), -1, -1), ValueError, r"^can only specify one unknown dimension$"),
                  Bad("negative", lambda: (_arr(), -2, 3), ValueError, r"^negative dimensions not allowed$"),
                  Bad("str", lambda: (_arr(), "a"), TypeError, r"^a shape must be an int or a sequence of ints, not 'str'$"),
                  Bad("index-raises", lambda: (_arr(), _RaisingIndex(), 3), HookError, r"^from __index__$")]),
        Spec("Array.sum", _np(lambda a, axis=None: _as_np(a).sum(axis=axis, dtype=None if axis is None or _as_np(a).dtype.kind in "fc" else "int64")),
             good=[Good("all", lambda: (_arr(),)), Good("axis0", lambda: (_arr(),), {"axis": 0}), Good("axis-1", lambda: (_arr(),), {"axis": -1}),
                   Good("empty", lambda: (rawcapi.zeros((0, 3)),)), Good("uint8-big", lambda: (A(b"\xff" * 1000),))],
             bad=[Bad("axis-out-of-range", lambda: (_arr(),), ValueError, r"^axis 5 is out of bounds for array of dimension 2$", {"axis": 5}),
                  Bad("negative-axis-out-of-range", lambda: (_arr(),), ValueError, r"^axis -3 is out of bounds for array of dimension 2$", {"axis": -3}),
                  Bad("str-axis", lambda: (_arr(),), TypeError, r"^'str' object cannot be interpreted as an integer$", {"axis": "a"}),
                  Bad("unknown-keyword", lambda: (_arr(),), TypeError, unknown_keyword("sum", "bogus"), {"bogus": 1})]),
        Spec("Array.tolist", _np(lambda a: _as_np(a).tolist()),
             good=[Good("2d", lambda: (_arr(),)), Good("0d", lambda: (A(2.5),)), Good("complex", lambda: (A([1 + 2j]),))],
             bad=[Bad("argument", lambda: (_arr(), 1), TypeError, r"^Array\.tolist\(\) takes no arguments \(1 given\)$")]),
        Spec("Array.__getitem__", _np(lambda a, k: _as_np(a)[k]),
             good=[Good("int", lambda: (_arr(), 1)), Good("negative", lambda: (_arr(), -1)), Good("slice", lambda: (_arr(), slice(None, None, -1))),
                   Good("tuple", lambda: (_arr(), (1, 2))), Good("ellipsis-newaxis", lambda: (_arr(), (Ellipsis, None))),
                   Good("empty-slice", lambda: (_arr(), slice(5, 9)))],
             bad=[Bad("out-of-range", lambda: (_arr(), 10), IndexError, r"^index 10 is out of bounds for axis 0 with size 2$"),
                  Bad("str", lambda: (_arr(), "x"), IndexError, r"^only integers, slices \(`:`\), ellipsis \(`\.\.\.`\) and None are valid indices; got 'str'$"),
                  Bad("float", lambda: (_arr(), 1.5), IndexError, r"got 'float'$"),
                  Bad("too-many", lambda: (_arr(), (0, 0, 0)), IndexError, r"^too many indices for array: array is 2-dimensional, but 3 were indexed$")]),
        Spec("Array.__setitem__", _np(lambda a, k, v: _setitem(_as_np(a), k, v)), fn=_setitem,
             good=[Good("scalar", lambda: (_arr(), (0, 1), 9)), Good("broadcast-row", lambda: (_arr(), 1, [7, 8, 9])),
                   Good("slice", lambda: (_arr(), (slice(None), 0), 5))],
             bad=[Bad("shape-mismatch", lambda: (_arr(), 0, [1, 2]), ValueError, r"^could not broadcast input array from shape \(2,\) into shape \(3,\)$"),
                  Bad("read-only", lambda: (readonly(), 0, 5), ValueError, r"^assignment destination is read-only$"),
                  Bad("str-value", lambda: (_arr(), 0, "x"), TypeError, r"not 'str'$"),
                  Bad("out-of-range", lambda: (_arr(), 7, 1), IndexError, r"^index 7 is out of bounds for axis 0 with size 2$"),
                  Bad("float-value-raises", lambda: (_farr(), (0, 0), _RaisingFloat()), HookError, r"^from __float__$"),
                  Bad("index-key-raises", lambda: (_arr(), _RaisingIndex(), 1), HookError, r"^from __index__$")]),
        Spec("Array.__delitem__", None, fn=lambda a, k: a.__delitem__(k), good=[],
             bad=[Bad("delete", lambda: (_arr(), 0), ValueError, r"^cannot delete array elements$")]),
        Spec("Array.__len__", _np(lambda a: len(_as_np(a))), fn=len,
             good=[Good("2d", lambda: (_arr(),))],
             bad=[Bad("0d", lambda: (A(5),), TypeError, r"^len\(\) of unsized object$")]),
        Spec("Array.__bool__", _np(lambda a: bool(_as_np(a))), fn=bool,
             good=[Good("size-1-true", lambda: (A([[3]]),)), Good("size-1-false", lambda: (A([0.0]),)), Good("0d", lambda: (A(True),))],
             bad=[Bad("ambiguous", lambda: (_arr(),), ValueError, r"^The truth value of an array with more than one element is ambiguous \(size 6\)$"),
                  Bad("empty", lambda: (rawcapi.zeros(0),), ValueError, r"^The truth value of an empty array is ambiguous\. Use `array\.size > 0` to check that an array is not empty\.$")]),
        Spec("Array.__repr__", None, fn=repr,
             good=[Good("2d", lambda: (_farr(),)), Good("0d", lambda: (A(3),)), Good("empty", lambda: (rawcapi.zeros((0, 2)),))], bad=[]),
        Spec("Array.__iter__", _np(lambda a: list(_as_np(a))), fn=list,
             good=[Good("1d", lambda: (A([1, 2, 3]),)), Good("2d-rows", lambda: (_arr(),))],
             bad=[Bad("0d", lambda: (A(5),), TypeError, r"^iteration over a 0-d array$")]),
        # Oracle through tolist() and dtype, not through the buffer export under test.
        Spec("Array.<buffer export>", _np(lambda a: np.array(a.tolist(), dtype=a.dtype).tobytes()), fn=lambda a: memoryview(a).tobytes(),
             good=[Good("2d", lambda: (_arr(),)), Good("transposed", lambda: (_farr().T,)), Good("0d", lambda: (A(1.5),))],
             bad=[]),
    ]
    # Attributes: read each on a C-ordered array and a transposed view; assignment to a read-only
    # one is refused with CPython's own AttributeError.
    # `base` has no NumPy counterpart to compare with (NumPy's view of an Array has the Array as
    # its base), so it is checked by the Array tests, and here only for leaks and refusals.
    for attr in ["T", "base", "c_contiguous", "dtype", "itemsize", "nbytes", "ndim", "shape", "size", "strides", "writable"]:
        oracle = None if attr == "base" else _np(lambda a, attr=attr: _np_attr(a, attr))
        refusals = [] if attr == "shape" else [  # NumPy's shape is assignable (an in-place reshape)
            Bad("assign", lambda: (_arr(), "assign"), AttributeError, rf"^attribute '{attr}' of 'rawcapi\.Array' objects is not writable$")]
        specs.append(Spec(f"Array.{attr}", oracle, fn=_attr_or_assign(attr),
                          good=[Good("2d", lambda: (_arr(),)), Good("transposed", lambda: (_farr().T,))], bad=refusals))
    return specs


def _attr_or_assign(attr):
    def access(a, *assign):
        if assign:
            setattr(a, attr, 1)
        return getattr(a, attr)
    return access


def _np_attr(a, attr):
    x = np.asarray(a)
    if attr == "c_contiguous":
        return x.flags.c_contiguous
    if attr == "writable":
        return x.flags.writeable
    if attr == "dtype":
        return str(x.dtype)
    return getattr(x, attr)


def call(spec: Spec, case) -> Any:
    """Make the case's fresh arguments and call; a Bad case must raise (the caller checks how)."""
    kwargs = getattr(case, "kwargs", {})
    return spec.func(*case.make(), **kwargs)


# ---------------------------------------------------------------------------------------------
# Reference cycles through Arrays. Each call builds a cycle and drops it; only the collector can
# free it, and the leak check collects before every measurement, so a cycle it cannot free shows
# as growth. tests/test_gc.py checks the same cycles with weak references and tracemalloc.

class _CycleExporter(bytearray):
    """A bytearray with a __dict__ (to hold the Array made from it) and weak references."""


class _Holder:
    pass


def _exporter_cycle(nbytes):
    """exporter -> __dict__ -> its frombuffer Array -> imported buffer -> exporter."""
    exporter = _CycleExporter(nbytes)
    exporter.array = rawcapi.Array.frombuffer(exporter)


def _view_cycle(nbytes):
    """view -> base Array -> exporter -> holder -> view."""
    exporter = _CycleExporter(nbytes)
    exporter.holder = _Holder()
    exporter.holder.view = rawcapi.Array.frombuffer(exporter)[::2]


def _collect_in_dealloc(nbytes):
    """The exporter dies inside the Array's dealloc and its weakref callback collects: the
    dying Array (refcount zero) must be untracked by then (python3.11-dbg asserts it)."""
    exporter = _CycleExporter(nbytes)
    ref = weakref.ref(exporter, lambda _: gc.collect(0))
    array = rawcapi.Array.frombuffer(exporter)
    del exporter, array
    assert ref() is None


def cycle_specs() -> list[Spec]:
    if not hasattr(rawcapi, "Array"):
        return []
    return [Spec("Array <reference cycles>", None, fn=lambda build, nbytes: build(nbytes), bad=[],
                 good=[Good("exporter-holds-its-frombuffer-Array", lambda: (_exporter_cycle, 1000)),
                       Good("view-held-by-the-base's-exporter", lambda: (_view_cycle, 64)),
                       Good("collection-inside-dealloc", lambda: (_collect_in_dealloc, 64))])]


SPECS += setting_specs() + abi_specs() + array_specs() + ufunc_specs() + heavy_specs() + cycle_specs()
SPEC = {spec.name: spec for spec in SPECS}

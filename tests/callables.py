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
import re
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
    name: str
    oracle: Callable[..., Any] | None  # None: the result is not compared (e.g. _rust_heap)
    good: list[Good]
    bad: list[Bad]
    # Threads: False for callables whose effect is global (a setting), not per call.
    thread_safe_to_hammer: bool = True

    @property
    def func(self):
        return getattr(rawcapi, self.name)


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

SPEC = {spec.name: spec for spec in SPECS}


def public_names() -> set[str]:
    """What rawcapi exposes that is callable: the table must cover every one of them."""
    return {name for name in dir(rawcapi) if not name.startswith("__") and callable(getattr(rawcapi, name))}


def all_calls():
    """(spec, case) for every good and bad case of every callable."""
    for spec in SPECS:
        for case in spec.good:
            yield spec, case
        for case in spec.bad:
            yield spec, case


def call(spec: Spec, case) -> Any:
    """Make the case's fresh arguments and call; a Bad case must raise (the caller checks how)."""
    kwargs = getattr(case, "kwargs", {})
    return spec.func(*case.make(), **kwargs)

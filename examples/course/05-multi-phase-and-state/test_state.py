"""Step 05: every module object has its own state (its Error class and call counter), freed
with it. test_course05.py checks the functions kept from step 04."""
import array
import gc
import importlib.util
import os
import pathlib
import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest

import course05

HERE = pathlib.Path(__file__).parent


def fresh_module():
    """A new module object from the same extension: create (phase one) and exec (phase two)."""
    spec = importlib.util.find_spec("course05")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the function, against plain Python --------------------------------------------------------

CASES = [
    b"",
    b"hello world",
    bytes(range(256)) * 3,
    bytearray(b"\xff" * 1000),
    memoryview(bytes(range(200)))[::-3],
    array.array("i", [1, -2, 3, 1 << 30]),
    np.arange(60, dtype=np.int16).reshape(3, 4, 5).transpose(2, 0, 1),
    np.arange(24, dtype=np.float64).reshape(4, 6)[::2, ::-3],
]


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_fast_sum_is_the_sum_of_the_bytes(data):
    assert course05.fast_sum(data) == sum(memoryview(data).tobytes())


def test_suboffsets():
    _testbuffer = pytest.importorskip("_testbuffer")
    items = list(range(1, 25))
    nd = _testbuffer.ndarray(items, shape=[4, 6], format="B", flags=_testbuffer.ND_PIL)
    assert memoryview(nd).suboffsets  # the layout under test really has them
    assert course05.fast_sum(nd) == sum(items)


def test_no_buffer_raises_the_modules_error():
    with pytest.raises(course05.Error, match="^a bytes-like object is required, not 'int'$"):
        course05.fast_sum(3)
    assert issubclass(course05.Error, TypeError)  # `except TypeError` still catches it
    assert course05.Error.__module__ == "course05"


# -- state: one per module object --------------------------------------------------------------


def test_each_module_object_counts_its_own_calls():
    a, b = fresh_module(), fresh_module()
    assert a is not b and a.fast_sum is not b.fast_sum
    assert (a.calls(), b.calls()) == (0, 0)
    for _ in range(3):
        a.fast_sum(b"x")
    b.fast_sum(b"y")
    with pytest.raises(TypeError):
        a.fast_sum(None)  # a failed call counts too: it was made
    assert (a.calls(), b.calls()) == (4, 1)


def test_each_module_object_has_its_own_error_class():
    a, b = fresh_module(), fresh_module()
    assert a.Error is not b.Error
    with pytest.raises(a.Error) as caught:
        a.fast_sum(1.5)
    assert not isinstance(caught.value, b.Error)


def test_a_subinterpreter_gets_its_own_module():
    """Import in a second interpreter of the same process: a separate module object and state."""
    interpreters = pytest.importorskip("_xxsubinterpreters")
    before = course05.calls()
    read, write = os.pipe()
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(HERE)!r})
        import course05
        course05.fast_sum(b"abc"); course05.fast_sum(b"def")
        os.write({write}, str(course05.calls()).encode())
    """)
    interp = interpreters.create()
    try:
        interpreters.run_string(interp, code)
    finally:
        interpreters.destroy(interp)
    os.close(write)
    with os.fdopen(read) as f:
        assert f.read() == "2"  # the subinterpreter's module started from zero
    assert course05.calls() == before  # and did not touch this one's


@pytest.mark.skipif(sys.version_info < (3, 12), reason="interpreters with their own GIL: 3.12+")
def test_an_interpreter_with_its_own_gil_may_import_it():
    """PEP 684: only a module whose Py_mod_multiple_interpreters slot says
    Py_MOD_PER_INTERPRETER_GIL_SUPPORTED may be imported by an interpreter with its own GIL
    (3.12 raises ImportError "does not support loading in subinterpreters" otherwise)."""
    try:
        import _interpreters as interpreters  # 3.13

        interp = interpreters.create("isolated")
        run = interpreters.exec
    except ImportError:
        import _xxsubinterpreters as interpreters  # 3.12

        interp = interpreters.create(isolated=True)
        run = interpreters.run_string
    read, write = os.pipe()
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(HERE)!r})
        import NAME
        os.write({write}, str(NAME.fast_sum(b"abc")).encode())
    """).replace("NAME", "course05")
    try:
        failure = run(interp, code)
    finally:
        interpreters.destroy(interp)
    os.close(write)
    with os.fdopen(read) as f:
        assert f.read() == "294", failure


def test_subinterpreter_in_a_separate_process():
    """The same, in a fresh process, where the module is first imported in the subinterpreter."""
    pytest.importorskip("_xxsubinterpreters")
    code = textwrap.dedent(f"""
        import _xxsubinterpreters as interpreters, sys
        sys.path.insert(0, {str(HERE)!r})
        interp = interpreters.create()
        interpreters.run_string(interp, "import sys; sys.path.insert(0, {str(HERE)!r}); import course05; assert course05.fast_sum(b'ab') == 195")
        interpreters.destroy(interp)
        import course05
        assert course05.calls() == 0
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# -- state: freed with the module --------------------------------------------------------------


def test_the_state_is_freed_with_the_module():
    module = fresh_module()
    error = weakref.ref(module.Error)
    module_ref = weakref.ref(module)
    del module
    gc.collect()
    assert module_ref() is None
    # Only the state held Error now. A module object is always in a cycle (each function's
    # __self__ is the module), so the collector frees it: m_traverse lets it see the state's
    # reference, m_clear drops it.
    assert error() is None


def test_a_cycle_through_the_state_is_collected():
    """module -> state -> Error -> Error.owner -> module. The collector sees the state's edge
    only through m_traverse; without it the cycle would look referenced from outside."""
    module = fresh_module()
    module.Error.owner = module
    error, module_ref = weakref.ref(module.Error), weakref.ref(module)
    del module
    gc.collect()
    assert module_ref() is None
    assert error() is None


def test_the_state_holds_one_reference_to_error():
    module = fresh_module()
    error = module.Error
    held = sys.getrefcount(error)
    del module.Error  # the module dict's reference
    assert sys.getrefcount(error) == held - 1
    module.fast_sum(b"still works")
    with pytest.raises(error):  # raised from the state, not looked up in the dict
        module.fast_sum(object())

"""rawcapi in several subinterpreters, each with its own GIL (PEP 684), at once from several threads.

An isolated subinterpreter (3.12+, through tests/interpreters_compat.py: `concurrent.interpreters`
on 3.14+, `_interpreters` on 3.13, `_xxsubinterpreters` on 3.12, whose default config is
"isolated": own GIL, own object allocator, and check_multi_interp_extensions) imports an extension module only if the module declares, with its
Py_mod_multiple_interpreters slot, that it supports a per-interpreter GIL (src/lib.rs). Each
interpreter gets its own rawcapi module object (multi-phase init runs the exec slot again); the
functions run there concurrently with the GIL released in some and held (their own) in others.

Each worker thread runs a script in its own interpreter that checks rawcapi's results against
plain Python and reports through a pipe (the only channel: objects cannot cross interpreters), so
the test sees that the code really ran and what it found.
"""
import os
import sys
import threading

import pytest

import rawcapi
from interpreters_compat import ISOLATED, ISOLATED_REASON, Interpreter

pytestmark = [pytest.mark.quick, pytest.mark.skipif(not ISOLATED, reason=ISOLATED_REASON)]

MODULE_DIR = os.path.dirname(rawcapi.__file__)

SCRIPT = """
import os, sys
sys.path.insert(0, {module_dir!r})
import rawcapi
assert rawcapi.__file__ == {module_file!r}, rawcapi.__file__
checked = 0
for round in range({rounds}):
    rawcapi._set_gil_release_threshold(0 if round % 2 else 1 << 40)
    text = ("x" * {worker} + "\\u4e2d\\n" + "\\ud800" * (round % 2)) * (1000 + round)
    assert rawcapi.count_lines(text) == text.count("\\n")
    data = bytes(range(256)) * (100 + {worker}) + text.encode("utf-8", "surrogatepass")
    assert rawcapi.fast_sum(data) == sum(data)
    assert rawcapi.count_lines(memoryview(data)[::2]) == data[::2].count(b"\\n")
    checked += 3
# The Array type lives in this interpreter's module state, not in a static shared with others.
rows = [[{worker}, 1, 2], [3, 4, 5]]
a = rawcapi.Array(rows)
assert type(a) is rawcapi.Array and a.shape == (2, 3) and a.tolist() == rows
assert bytes(memoryview(rawcapi.zeros((2, 2), dtype="uint8"))) == bytes(4)
checked += 1
try:
    rawcapi.fast_sum(1.5)
except TypeError as error:
    assert "'float'" in str(error)
else:
    raise AssertionError("no TypeError")
os.write({fd}, f"ok {worker} {{checked}} {{rawcapi.__name__}}".encode())
"""


def test_isolated_subinterpreters_are_really_isolated():
    with Interpreter() as interp:
        config = interp.config()
        if config is not None:
            assert config == (True, True)  # own GIL, check_multi_interp_extensions
        # The single-phase C original (examples/fast_sum.c), where it is built, is refused there:
        # the check rawcapi's Py_mod_multiple_interpreters slot passes is really made.
        try:
            import fast_sum  # noqa: F401
        except ImportError:
            pytest.skip("the C original fast_sum is not built here (the isolation checks above ran)")
        read, write = os.pipe()
        code = f"""
import os, sys
sys.path[:0] = {sys.path!r}
try:
    import fast_sum
    os.write({write}, b"imported")
except ImportError as error:
    os.write({write}, str(error).encode())
"""
        interp.run(code)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            message = pipe.read().decode()
        assert "does not support loading in subinterpreters" in message


def test_rawcapi_in_concurrent_subinterpreters():
    workers, rounds = 4, 6
    interps = [Interpreter() for _ in range(workers)]
    pipes = [os.pipe() for _ in range(workers)]
    errors = []

    def work(worker):
        code = SCRIPT.format(module_dir=MODULE_DIR, module_file=rawcapi.__file__, rounds=rounds,
                             worker=worker, fd=pipes[worker][1])
        try:
            interps[worker].run(code)
        except BaseException as error:  # reported below, with the worker
            errors.append((worker, error))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a subinterpreter hung"
        assert errors == []
        reports = []
        for read, write in pipes:
            os.close(write)
            with os.fdopen(read, "rb") as pipe:
                reports.append(pipe.read().decode())
        assert reports == [f"ok {w} {3 * rounds + 1} rawcapi" for w in range(workers)]
    finally:
        for interp in interps:
            interp.close()
    # The main interpreter's module is untouched by the others' runs.
    assert rawcapi.count_lines("a\nb") == 1

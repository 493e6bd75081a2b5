"""Subinterpreters the same way on every CPython the tests run on.

Three interfaces have existed:

- 3.14+: `concurrent.interpreters` (PEP 734): `create()` returns an `Interpreter`;
  `Interpreter.exec(code)` raises `ExecutionFailed` if the code raised; `close()` destroys it.
- 3.13: `_interpreters`: `create()` returns an id; `exec(id, code)` *returns* a snapshot of the
  exception the code raised (`.errdisplay` is its formatted traceback) or None, and raises
  nothing for it; `destroy(id)`.
- 3.10-3.12: `_xxsubinterpreters`: `create()` returns an id; `run_string(id, code)` raises
  `RunFailedError`; `destroy(id)`.

From 3.12 all three create an *isolated* interpreter by default (`ISOLATED`): its own GIL, its own
allocator, and `check_multi_interp_extensions`, so an extension module that does not declare
support for a per-interpreter GIL (`Py_mod_multiple_interpreters`) is refused there. Before 3.12 a
subinterpreter shares the main interpreter's GIL. `Interpreter.run` raises `AssertionError` with
the subinterpreter's traceback whenever the code raised, whichever interface ran it.
"""
import sys

if sys.version_info >= (3, 14):
    import concurrent.interpreters as _module
elif sys.version_info >= (3, 13):
    import _interpreters as _module
else:
    try:
        import _xxsubinterpreters as _module
    except ImportError:  # an interpreter built without it
        _module = None

AVAILABLE = _module is not None
ISOLATED = AVAILABLE and sys.version_info >= (3, 12)
REASON = "this interpreter has no subinterpreter module"
ISOLATED_REASON = "isolated subinterpreters (per-interpreter GIL) need CPython 3.12+"


class Interpreter:
    """One subinterpreter (isolated where `ISOLATED`); a context manager that destroys it on exit."""

    def __init__(self):
        if _module is None:
            raise RuntimeError(REASON)
        self._handle = _module.create()

    @property
    def id(self):
        return self._handle.id if sys.version_info >= (3, 14) else self._handle

    def run(self, code):
        """Run `code` (a string) in this interpreter's __main__; AssertionError if it raised."""
        if sys.version_info >= (3, 14):
            try:
                self._handle.exec(code)
            except _module.ExecutionFailed as failure:
                raise AssertionError(str(failure)) from None  # its text holds the traceback
        elif sys.version_info >= (3, 13):
            failure = _module.exec(self._handle, code)
            if failure is not None:
                raise AssertionError(failure.errdisplay)
        else:
            try:
                _module.run_string(self._handle, code)
            except _module.RunFailedError as failure:
                raise AssertionError(str(failure)) from None

    def config(self):
        """`(own GIL, check_multi_interp_extensions)`, or None where the interpreter's config cannot
        be read (3.12)."""
        if sys.version_info >= (3, 13):
            import _interpreters

            config = _interpreters.get_config(self.id)
            return config.gil == "own", config.check_multi_interp_extensions
        return None

    def close(self):
        if sys.version_info >= (3, 14):
            self._handle.close()
        else:
            _module.destroy(self._handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

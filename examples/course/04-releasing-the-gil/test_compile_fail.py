"""What cannot compile inside `py.allow_threads(...)`: each case edits the one released line of
a temporary copy of this crate and runs `cargo check` on it. The unedited copy is checked first
(the control: it must compile, so each failure comes from the edit)."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent
RELEASED = "py.allow_threads(move || sum_bytes(layout))"
# case -> (the edited line, what rustc says about it)
CASES = {
    # the token itself: releasing again, or any call that needs the GIL
    "token": ("py.allow_threads(move || py.allow_threads(move || sum_bytes(layout)))",
              "`*mut ()` cannot be sent between threads safely"),
    # the held buffer (through a reference: &Buffer is Send only if Buffer were Sync)
    "buffer": ("py.allow_threads(move || sum_bytes(buffer.layout()))",
               "`*mut PyObject` cannot be shared between threads safely"),
    # an owned reference, whose Drop would be a Py_DECREF without the GIL
    "owned": ("{ let none = unsafe { Owned::from_new(pyo3_ffi::Py_NewRef(pyo3_ffi::Py_None())) };"
              " py.allow_threads(move || { drop(none); sum_bytes(layout) }) }",
              "`NonNull<PyObject>` cannot be sent between threads safely"),
}


def cargo_check(crate):
    env = dict(os.environ, PYO3_BUILD_EXTENSION_MODULE="1", PYO3_PYTHON=sys.executable,
               CARGO_TARGET_DIR=str(HERE / "build" / "check"))
    return subprocess.run(["cargo", "check", "--offline", "--quiet", "--message-format=short"],
                          cwd=crate, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def crate(tmp_path_factory):
    copy = tmp_path_factory.mktemp("course04")
    shutil.copytree(HERE / "src", copy / "src")
    for name in ["Cargo.toml", "Cargo.lock"]:
        shutil.copy(HERE / name, copy / name)
    source = (copy / "src" / "lib.rs").read_text()
    assert source.count(RELEASED) == 1
    result = cargo_check(copy)
    assert result.returncode == 0, result.stderr
    return copy, source


@pytest.mark.parametrize("case", sorted(CASES))
def test_python_objects_cannot_enter_the_released_work(crate, case):
    copy, source = crate
    edited, message = CASES[case]
    (copy / "src" / "lib.rs").write_text(source.replace(RELEASED, edited))
    try:
        result = cargo_check(copy)
    finally:
        (copy / "src" / "lib.rs").write_text(source)
    assert result.returncode != 0
    assert f"error[E0277]: {message}" in result.stderr, result.stderr
    if case == "token":
        # README.md quotes this error in full: its header and location must still be rustc's.
        (location,) = {line.split(": error")[0] for line in result.stderr.splitlines() if "error[E0277]" in line}
        readme = (HERE / "README.md").read_text()
        assert f"error[E0277]: {message}\n  --> {location}\n" in readme

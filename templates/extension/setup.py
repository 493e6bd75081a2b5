"""Build the extension: `python setup.py build_ext --inplace` (a release build, in place).

The module's name comes from Cargo.toml (module_name.py), so it agrees with the crate's [lib]
name and the PyInit_<name> the code exports. What else this file settles:
- Binding.NoBinding: the Rust code writes PyInit_<name> itself; setuptools-rust adds nothing.
- PYO3_BUILD_EXTENSION_MODULE=1: NoBinding does not set it, and without it pyo3-ffi's build
  script links the .so against a libpython; the interpreter that imports an extension already
  provides the C API.
- PYO3_PYTHON: build against the interpreter running this file, not the first python3 on PATH.
- debug=False: build_ext --inplace would build Cargo's debug profile otherwise.
- packages/py_modules declared (empty): a top-level src/ would make setuptools guess a
  src-layout package and put the .so inside src/.
"""
import os
import sys

from setuptools import setup
from setuptools_rust import Binding, RustExtension

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from module_name import module_name  # noqa: E402

os.environ["PYO3_BUILD_EXTENSION_MODULE"] = "1"
os.environ.setdefault("PYO3_PYTHON", sys.executable)

NAME = module_name()

setup(
    name=NAME,
    version="0.1.0",
    rust_extensions=[RustExtension(NAME, path="Cargo.toml", binding=Binding.NoBinding, debug=False)],
    packages=[],
    py_modules=[],
    zip_safe=False,
)

"""Build rawcapi (Rust, via setuptools-rust) and, for comparison, the article's C original.

    python setup.py build_ext --inplace   # both, in place: import rawcapi, import fast_sum
    pip install .                         # rawcapi alone

Traps this file avoids (see BUILD-NOTES in the project's shared notes and docs/01-build.md):
- Binding.NoBinding does not set PYO3_BUILD_EXTENSION_MODULE; without it pyo3-ffi links the
  extension against a libpython, which is wrong for an extension module.
- RustExtension(env=...) would replace the whole environment, so the variable is set here instead.
- A top-level src/ would make setuptools guess a src-layout package; modules are declared.
- build_ext --inplace defaults to a debug build; debug=False asks for release.
"""
import os
import sys

from setuptools import Extension, setup
from setuptools_rust import Binding, RustExtension

# Tell pyo3-ffi's build script that this is an extension module: the interpreter that imports it
# provides the C API symbols, so the .so must not link libpython. `cargo test` does not go
# through this file, so it can still link libpython for tests that embed the interpreter.
os.environ["PYO3_BUILD_EXTENSION_MODULE"] = "1"
# Build against the interpreter running this script, not whichever python3 is first on PATH.
os.environ.setdefault("PYO3_PYTHON", sys.executable)

rust_extensions = [
    RustExtension(
        "rawcapi",  # == Cargo's [lib] name == the exported PyInit_rawcapi
        path="Cargo.toml",
        binding=Binding.NoBinding,  # we write PyInit_rawcapi ourselves
        debug=False,
    )
]

# The article's C extension, built only by an explicit `build_ext` (the article's command), so
# `pip install .` (which builds through bdist_wheel) installs rawcapi alone.
# Its build goes to a build directory of its own: a wheel is assembled from build/lib*, and a
# fast_sum.so left there by an earlier build_ext would otherwise end up in `pip install .`.
building_c_original = "build_ext" in sys.argv[1:]
c_original = [Extension("fast_sum", sources=["examples/fast_sum.c"])]
ext_modules = c_original if building_c_original else []
build_base = "build/with-c-original" if building_c_original else "build"

setup(
    rust_extensions=rust_extensions,
    ext_modules=ext_modules,
    packages=[],
    py_modules=[],
    zip_safe=False,
    options={"build": {"build_base": build_base}},
)

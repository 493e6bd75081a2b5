"""Build rawcapi (Rust, via setuptools-rust) and, for comparison, the article's C original.

    python setup.py build_ext --inplace   # both, in place: import rawcapi, import fast_sum
    pip install .                         # rawcapi alone

Traps this file avoids (see BUILD-NOTES in the project's shared notes and docs/01-build.md):
- Binding.NoBinding does not set PYO3_BUILD_EXTENSION_MODULE; without it pyo3-ffi links the
  extension against a libpython, which is wrong for an extension module.
- RustExtension(env=...) would replace the whole environment, so the variable is set here instead.
- A top-level src/ would make setuptools guess a src-layout package; modules are declared.
- build_ext --inplace defaults to a debug build; debug=False asks for release.

Stable ABI (docs/08-abi.md): RAWCAPI_ABI3=1 builds one rawcapi.abi3.so for CPython 3.11+ against
the limited API. Two separate settings must agree (BUILD-NOTES item 6): the cargo feature `abi3`
(pyo3-ffi's abi3-py311: what the Rust code is compiled against) and bdist_wheel's
py_limited_api = "cp311" (the wheel's tag, and the .abi3.so file name). RustExtension's own
py_limited_api argument is deprecated.
"""
import os
import sys

from setuptools import Extension, setup
from setuptools_rust import Binding, RustExtension
from setuptools_rust.build import build_rust

# Tell pyo3-ffi's build script that this is an extension module: the interpreter that imports it
# provides the C API symbols, so the .so must not link libpython. `cargo test` does not go
# through this file, so it can still link libpython for tests that embed the interpreter.
os.environ["PYO3_BUILD_EXTENSION_MODULE"] = "1"
# Build against the interpreter running this script, not whichever python3 is first on PATH.
os.environ.setdefault("PYO3_PYTHON", sys.executable)

ABI3 = os.environ.get("RAWCAPI_ABI3", "") not in ("", "0")


class build_rust_abi3(build_rust):
    """setuptools-rust names the .so `.abi3.so` only if the bdist_wheel command exists and says
    py_limited_api; a plain `build_ext` never creates it. Creating it here (its options come from
    setup(options=...) below) gives build_ext the same file name a wheel build gets."""

    def run(self):
        self.distribution.get_command_obj("bdist_wheel").ensure_finalized()
        super().run()


rust_extensions = [
    RustExtension(
        "rawcapi",  # == Cargo's [lib] name == the exported PyInit_rawcapi
        path="Cargo.toml",
        binding=Binding.NoBinding,  # we write PyInit_rawcapi ourselves
        debug=False,
        features=["abi3"] if ABI3 else [],
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
    # rawcapi stays one extension module; what ships beside it goes in data-only packages:
    # rawcapi_include/rawcapi.h (the C API header, found by rawcapi.get_include()), and
    # rawcapi-stubs/__init__.pyi (its type stubs: PEP 561's stub-only package, the form type
    # checkers look for when the module itself cannot hold a py.typed marker).
    packages=["rawcapi_include", "rawcapi-stubs"],
    package_dir={"rawcapi_include": "include", "rawcapi-stubs": "stubs/rawcapi-stubs"},
    package_data={"rawcapi_include": ["rawcapi.h"], "rawcapi-stubs": ["__init__.pyi"]},
    py_modules=[],
    zip_safe=False,
    options={
        "build": {"build_base": build_base},
        **({"bdist_wheel": {"py_limited_api": "cp311"}} if ABI3 else {}),
    },
    cmdclass={"build_rust": build_rust_abi3} if ABI3 else {},
)

"""Build course06 by the article's command:

    python setup.py build_ext --inplace     # then: import course06
"""
import os
import sys

from setuptools import setup
from setuptools_rust import Binding, RustExtension

# pyo3-ffi's build script must know this is an extension module: the interpreter that imports
# it provides the C-API symbols, so the .so must not link libpython (Binding.NoBinding does not
# say so itself).
os.environ["PYO3_BUILD_EXTENSION_MODULE"] = "1"
# Compile against the interpreter running this script, not whichever python3 is on PATH.
os.environ.setdefault("PYO3_PYTHON", sys.executable)

setup(
    name="course06",
    rust_extensions=[
        RustExtension(
            "course06",  # == Cargo's [lib] name == the exported PyInit_course06
            path="Cargo.toml",
            binding=Binding.NoBinding,  # PyInit_course06 is written by hand in src/lib.rs
            debug=False,  # build_ext --inplace would otherwise build cargo's debug profile
        )
    ],
    # Declared, so that setuptools does not take src/ for a package folder.
    packages=[],
    py_modules=[],
    zip_safe=False,
)

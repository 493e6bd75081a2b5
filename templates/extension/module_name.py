"""The extension module's name, read from Cargo.toml, where it is written once.

setup.py (the RustExtension target), the tests and example.py all take it from here, so
renaming the module is one edit: `name` under `[package]` in Cargo.toml.
"""
import importlib
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))


def module_name() -> str:
    with open(os.path.join(HERE, "Cargo.toml")) as f:
        text = f.read()
    # The first `name = "..."` after the [package] header; the standard library has no TOML
    # reader before 3.11, and this is the only value needed.
    package = text.split("[package]", 1)[1]
    return re.search(r'^name\s*=\s*"([A-Za-z_][A-Za-z0-9_]*)"', package, re.M).group(1)


def load():
    """The built module, imported by its name."""
    return importlib.import_module(module_name())

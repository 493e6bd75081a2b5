import os
import sys

import pytest

# The project folder, where module_name.py is and where build_ext --inplace puts the .so.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from module_name import load, module_name  # noqa: E402


@pytest.fixture(scope="session")
def ext():
    """The built extension module, imported by the name Cargo.toml gives it."""
    return load()


@pytest.fixture(scope="session")
def name():
    return module_name()

"""The omissions CONTRIBUTING.md lists that no other test would notice: a type slot without a
stub or a tests/callables.py entry, a kernel that names pyo3_ffi, a C-API helper missing from
the maps of src/capi, a docs chapter missing from the index, a link to a file that is not there.

Each test reads the repository's files; an installed rawcapi without its sources skips them."""
import os
import re

import pytest

import rawcapi
from callables import SPECS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Attributes every class has or that no slot of rawcapi's adds as a callable of its own.
# __delitem__: Py_mp_ass_subscript also answers `del a[k]`, which the Array refuses (ValueError);
# the stub leaves it out so that a type checker refuses it too.
NOT_SLOTS = {"__doc__", "__module__", "__hash__", "__new__", "__repr__", "__delitem__"}
# Forms CPython derives from one slot: the reflected operand order (nb_add also answers
# `1 + a`) and the in-place operators, which tests/callables.py covers with one entry.
DERIVED = re.compile(r"^__(r(add|sub|mul|truediv|matmul)|i(add|sub|mul|truediv|matmul))__$")
# From 3.12 (PEP 688) the buffer slots bf_getbuffer and bf_releasebuffer show as __buffer__ and
# __release_buffer__; tests/callables.py covers both with its "Array.<buffer export>" entry.
BUFFER_SLOTS = {"__buffer__": "Array.<buffer", "__release_buffer__": "Array.<buffer"}


def source(path):
    full = os.path.join(ROOT, path)
    if not os.path.exists(full):
        pytest.skip(f"{path} not in this checkout (installed rawcapi)")
    with open(full) as f:
        return f.read()


def slot_dunders():
    return sorted(n for n in vars(rawcapi.Array) if n.startswith("__") and n not in NOT_SLOTS)


def test_every_slot_is_in_the_stub():
    stub = source("stubs/rawcapi-stubs/__init__.pyi")
    array_class = stub.split("class Array", 1)[1]
    missing = [n for n in slot_dunders() if f"def {n}(" not in array_class]
    assert missing == []


def test_every_slot_has_a_callables_entry():
    # One entry per slot function; its reflected and in-place forms ride on it.
    covered = {spec.name.split(" ")[0] for spec in SPECS}
    missing = [n for n in slot_dunders() if not DERIVED.match(n) and BUFFER_SLOTS.get(n, f"Array.{n}") not in covered]
    assert missing == []


def test_kernels_do_not_name_pyo3_ffi():
    # src/kernels is plain Rust: a kernel that calls the C API belongs in src/functions or
    # src/array. Comments may name the crate (the module comment says so).
    offenders = []
    for folder, _, files in os.walk(os.path.join(ROOT, "src", "kernels")):
        for name in files:
            path = os.path.join(folder, name)
            with open(path) as f:
                for number, line in enumerate(f, 1):
                    code = line.split("//", 1)[0]
                    if "pyo3_ffi" in code:
                        offenders.append(f"{os.path.relpath(path, ROOT)}:{number}")
    if not os.path.isdir(os.path.join(ROOT, "src", "kernels")):
        pytest.skip("no source tree")
    assert offenders == []


def test_every_capi_helper_is_on_both_maps():
    # src/capi/mod.rs's table and the README's map of the source name every helper file.
    folder = os.path.join(ROOT, "src", "capi")
    if not os.path.isdir(folder):
        pytest.skip("no source tree")
    files = sorted(n for n in os.listdir(folder) if n.endswith(".rs") and n != "mod.rs")
    table = source("src/capi/mod.rs")
    readme = source("README.md").split("## Map of the source", 1)[1]
    assert [n for n in files if f"`{n}`" not in table] == []
    assert [n for n in files if not re.search(rf"(^|[\s,]){re.escape(n)}\b", readme, re.M)] == []
    # and each is declared as a module (the compiler would only notice a missing file)
    assert [n for n in files if f"pub mod {n[:-3]};" not in table] == []


def test_every_docs_chapter_is_in_the_index():
    folder = os.path.join(ROOT, "docs")
    if not os.path.isdir(folder):
        pytest.skip("no docs in this checkout")
    index = source("docs/00-index.md")
    chapters = sorted(n for n in os.listdir(folder) if n.endswith(".md") and n != "00-index.md")
    assert [n for n in chapters if f"]({n})" not in index] == []


MARKDOWN = ["README.md", "CONTRIBUTING.md"] + [f"docs/{n}" for n in sorted(os.listdir(os.path.join(ROOT, "docs")))
                                               if n.endswith(".md")] if os.path.isdir(os.path.join(ROOT, "docs")) else []


@pytest.mark.parametrize("path", MARKDOWN)
def test_relative_links_resolve(path):
    # [text](target) where target is a file of the repository: it must exist.
    text = source(path)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # a URL or an anchor
        if not os.path.exists(os.path.join(ROOT, os.path.dirname(path), target.split("#", 1)[0])):
            broken.append(target)
    assert broken == []


def supported_dtypes():
    # The list the module itself gives when a dtype is refused (src/array/scalar.rs).
    try:
        rawcapi.zeros(1, dtype="no-such-dtype")
    except TypeError as e:
        return re.search(r"\(supported: ([^)]*)\)$", str(e)).group(1).split(", ")
    raise AssertionError("an unknown dtype was accepted")


def test_every_dtype_is_named_in_the_stub_the_header_and_the_module_doc():
    dtypes = supported_dtypes()
    # and generated by the property tests, which compare every dtype pair with NumPy
    from array_strategies import DTYPES
    assert DTYPES == dtypes
    stub = source("stubs/rawcapi-stubs/__init__.pyi")
    literal = re.search(r"^_DTypeName: TypeAlias = Literal\[(.*)\]$", stub, re.M).group(1)
    assert [d.strip().strip('"') for d in literal.split(",")] == dtypes
    header = source("include/rawcapi.h")
    assert [d for d in dtypes if f'"{d}"' not in header] == []
    assert [d for d in dtypes if not re.search(rf"\b{d}\b", rawcapi.__doc__)] == []

"""The type stubs (stubs/rawcapi-stubs, shipped in the wheel as the PEP 561 stub-only package
`rawcapi-stubs`) and the module agree: the same public names, the same Array members, the same
parameter names; and the typed examples pass `mypy --strict` against them."""
import ast
import inspect
import os
import shutil
import subprocess
import sys

import pytest

import rawcapi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUB = os.path.join(ROOT, "stubs", "rawcapi-stubs", "__init__.pyi")
TYPED_EXAMPLES = ["examples/typed_usage.py", "examples/bench_abi3.py"]


def stub_tree():
    if not os.path.exists(STUB):
        pytest.skip("stubs not in this checkout (installed rawcapi)")
    with open(STUB) as f:
        return ast.parse(f.read())


def declared(body):
    """Names a stub body declares, with the function nodes (several for an @overload)."""
    names = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.setdefault(node.target.id, []).append(node)
    return names


def public(names):
    return {n for n in names if not n.startswith("_")}


def test_module_names_agree():
    stub = declared(stub_tree().body)
    module_names = public(dir(rawcapi)) | {"__version__"}
    assert public(stub) | ({"__version__"} & set(stub)) == module_names


def test_array_members_agree():
    [array_class] = declared(stub_tree().body)["Array"]
    stub = declared(array_class.body)
    assert public(stub) == public(dir(rawcapi.Array))
    for dunder in set(stub) - public(stub):
        if dunder in ("__buffer__", "__release_buffer__") and sys.version_info < (3, 12):
            continue  # the buffer slots are visible as __buffer__/__release_buffer__ from 3.12 on (PEP 688)
        assert hasattr(rawcapi.Array, dunder), dunder


def test_function_parameters_agree():
    stub = declared(stub_tree().body)
    for name, nodes in stub.items():
        if name.startswith("_") or not isinstance(nodes[0], ast.FunctionDef) or len(nodes) > 1:
            continue  # private, not a function, or overloaded (arange)
        args = nodes[0].args
        stub_params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        assert stub_params == list(inspect.signature(getattr(rawcapi, name)).parameters), name


def test_typed_examples_pass_mypy_strict(tmp_path):
    if shutil.which("mypy") is None and subprocess.run([sys.executable, "-m", "mypy", "--version"], capture_output=True).returncode != 0:
        pytest.skip("mypy not installed")
    stub_tree()
    # In a checkout the stub is not installed; as rawcapi.pyi on MYPYPATH mypy reads the same file.
    shutil.copy(STUB, tmp_path / "rawcapi.pyi")
    env = dict(os.environ, MYPYPATH=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, *TYPED_EXAMPLES],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""The layout keeps its promises (docs/architecture.md): imports point down the
pipeline, nnlang modules are imported at the top of a module, no module imports
another's private name, and no module grows past 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nnlang"
# the stages in pipeline order (foundations first); a module may import its own stage
# and the stages before it
ORDER = ["errors", "registry", "version", "highs_objects", "parse", "networks", "ir", "check",
         "bounds", "encode", "emit", "solve", "api", "embedding", "provenance", "pictures",
         "batch", "verify", "training", "testing", "cli", "__init__", "__main__"]
MODULES = sorted(PACKAGE.rglob("*.py"))


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def _nnlang_imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nnlang"):
            yield node


def test_every_stage_is_in_the_order():
    stages = {_stage(_name(p)) for p in MODULES}
    assert stages <= set(ORDER), stages - set(ORDER)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _name(p))
def test_imports_point_down_the_pipeline(path):
    me = ORDER.index(_stage(_name(path)))
    for node in _nnlang_imports(ast.parse(path.read_text())):
        targets = ([f"nnlang.{a.name}" for a in node.names] if node.module == "nnlang"
                   else [node.module])
        for target in targets:
            stage = _stage(target)
            assert stage not in ORDER or ORDER.index(stage) <= me, \
                f"{_name(path)} imports {target}, a later stage"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _name(p))
def test_nnlang_modules_are_imported_at_the_top_and_by_public_names(path):
    tree = ast.parse(path.read_text())
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = list(_nnlang_imports(fn))
            assert not inner, f"{_name(path)}:{inner[0].lineno} imports nnlang inside a function"
    for node in _nnlang_imports(tree):
        private = [a.name for a in node.names
                   if a.name.startswith("_") and not a.name.startswith("__")]
        assert not private, f"{_name(path)}:{node.lineno} imports private {private}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _name(p))
def test_no_module_over_500_lines(path):
    assert len(path.read_text().splitlines()) <= 500


def test_the_wheel_ships_every_package():
    """pyproject.toml lists the packages explicitly (the grammar is mapped in from the
    top level): every package of the tree must be in the list, or an installed nnlang
    cannot import it."""
    import tomllib

    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {_name(p.parent / "x")[:-2] for p in PACKAGE.rglob("__init__.py")}
    assert found <= listed, found - listed
    assert "nnlang.grammar" in listed

"""Every extension point is one table (nnlang.registry) whose entries load and have
the shape the stage that uses them expects; the CLI offers exactly those names."""

from __future__ import annotations

import inspect

import pytest

from nnlang import registry
from nnlang.cli import build_parser
from nnlang.networks.onnx.ops import OPS


@pytest.mark.parametrize("name", sorted(registry.FORMULATIONS))
def test_formulations_define_encode_relu(name):
    module = registry.load(registry.FORMULATIONS[name])
    assert list(inspect.signature(module.encode_relu).parameters) == ["builder", "name", "layer"]


@pytest.mark.parametrize("name", sorted(registry.BOUND_METHODS))
def test_bound_methods_take_a_network_and_a_box_and_their_arguments(name):
    entry = registry.BOUND_METHODS[name]
    params = inspect.signature(registry.load(entry)).parameters
    assert list(params)[:3] == ["network", "lo", "hi"]
    assert set(entry.args) <= set(params)


@pytest.mark.parametrize("name", sorted(registry.STRATEGIES))
def test_strategies_apply_and_solve(name):
    entry = registry.STRATEGIES[name]
    module = registry.load(entry)
    assert callable(module.applies) and callable(module.solve)
    if entry.switch is not None:
        from nnlang.ir.options import Options

        assert isinstance(getattr(Options(), entry.switch), bool)
    assert list(registry.STRATEGIES)[-1] == "single"  # the fallback comes last


@pytest.mark.parametrize("name", sorted(registry.SOLVERS))
def test_solver_backends_solve(name):
    entry = registry.SOLVERS[name]
    assert callable(registry.load(entry).solve)
    assert entry.cvxpy_name == entry.cvxpy_name.upper() and entry.cvxpy_name


def test_any_other_cvxpy_solver_goes_through_cvxpy():
    entry = registry.solver("glpk_mi")
    assert entry.target == registry.CVXPY.target and entry.cvxpy_name == "GLPK_MI"
    assert not entry.direct


@pytest.mark.parametrize("name", sorted(registry.FORMATS))
def test_formats_declare_what_they_write(name):
    module = registry.load(registry.FORMATS[name])
    assert module.SUFFIXES and callable(module.write) and callable(module.check)
    assert module.CAPABILITIES.integers


@pytest.mark.parametrize("suffix", sorted(registry.NETWORK_FORMATS))
def test_network_formats_load_a_path(suffix):
    loader = registry.load(registry.NETWORK_FORMATS[suffix])
    assert next(iter(inspect.signature(loader).parameters)) == "path"


def test_onnx_operators_take_the_walker_and_a_node():
    assert {"Gemm", "MatMul", "Relu", "Conv", "MaxPool", "Flatten"} <= set(OPS)
    for name, handler in OPS.items():
        assert list(inspect.signature(handler).parameters) == ["w", "node"], name


def _help(*command: str) -> str:
    parser = build_parser()
    for action in parser._subparsers._group_actions:  # the subcommands' parsers
        if command:
            return action.choices[command[0]].format_help()
    return parser.format_help()


def test_the_cli_lists_every_registered_name():
    solve = _help("solve")
    for table in (registry.FORMULATIONS, registry.BOUND_METHODS, registry.SOLVERS):
        for name in table:
            assert name in solve
    compile_help = " ".join(_help("compile").split())
    for name in registry.FORMATS:
        assert name in compile_help
    top = _help()
    for code in (0, 1, 2, 3, 4):
        assert f"  {code}  " in top.replace("\n", "  ")

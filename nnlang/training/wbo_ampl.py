"""AMPL ``.mod`` + ``.dat`` + ``.run`` of a WBO training problem, in the spirit of
the WBO master's thesis' Annex I: the model generic over the sets ``1..n``
(samples), ``0..K`` (layers) and ``1..nk[k]`` (neurons), every number in the
``.dat``, the hyperbolic ReLU (eq. 3.10) written as the AMPL expression
``0.5 * (sqrt(t^2 + epsi) + t)`` of the pre-activation ``t``, and a ``.run``
that runs the thesis' multi-start (seeded ``Uniform`` starts, the best kept)
with the solver named on the command line (MINOS, the thesis', by default).

The layer outputs are variables ``x[i,k,j]`` with an equation per sample and
neuron, exactly as in Annex I; the in-process NLP (:mod:`nnlang.training.wbo`)
substitutes them out, which describes the same function of ``(W, b)``.

Exact ReLUs are written as the thesis' split (eq. 3.5) ``t = x - s``, ``x, s >= 0``,
``x * s <= 0``, a product of variables; the misclassification count (eqs.
3.16-3.18) adds a binary per sample with the big-M rows of
:mod:`nnlang.training.wbo_global`. Neither is linear: the LP and MPS formats
refuse them (:func:`write_wbo`), and no nnlang solver reads these files back
(there is no AMPL here), which docs/emitters.md states.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import numpy as np

from nnlang import registry
from nnlang.emit.names import fmt_numbers
from nnlang.errors import UnsupportedError
from nnlang.ir.program import Program
from nnlang.training import wbo
from nnlang.training.wbo_global import interval_bounds
from nnlang.training.wbo_spec import problem_of, setting

_ENV = jinja2.Environment(
    # the templates sit with the other AMPL templates
    loader=jinja2.FileSystemLoader(str(Path(__file__).parents[1] / "emit" / "templates")),
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    keep_trailing_newline=True, autoescape=False)

SOLVER_NOTES = {
    "minos": "the thesis' solver (local NLP); or ipopt, knitro, conopt, snopt",
    "ipopt": "local NLP; or minos (the thesis'), knitro, conopt, snopt",
    "knitro": "local NLP and MPCC; or minos (the thesis'), ipopt",
    "baron": "global MINLP; or couenne, scip",
    "couenne": "global MINLP; or baron, scip",
    "scip": "global MINLP; or baron, couenne",
}


def _pre(prev: str, k: str) -> str:
    """The pre-activation of neuron j of layer k (1-based) from ``prev``'s outputs."""
    below = "0" if k == "1" else f"{k}-1"
    return f"sum{{l in 1..nk[{below}]}} W[{below},j,l] * {prev} + b[{below},j]"


def _rows(problem: wbo.Problem) -> list[dict]:
    first, later = _pre("x0[i,l]", "1"), _pre("x[i,k-1,l]", "k")
    out = []
    for tag, index, k, pre in (("0", "i in 1..n, j in 1..nk[1]", "1", first),
                               ("", "i in 1..n, k in 2..K, j in 1..nk[k]", "k", later)):
        if tag == "" and len(problem.shapes) < 2:
            continue
        relu_index = f"{index}: {k} in RELU"
        linear_index = f"{index}: {k} not in RELU"
        if problem.relu == "hyperbolic":
            out.append({"name": f"res{tag}", "index": relu_index,
                        "comment": "hyperbolic ReLU (eqs. 3.10, 3.12)",
                        "body": f"x[i,{k},j] = 0.5 * (sqrt(({pre})^2 + epsi) + {pre})"})
        else:
            out.append({"name": f"split{tag}", "index": relu_index,
                        "comment": "exact ReLU: t = x - s (eq. 3.5)",
                        "body": f"x[i,{k},j] - s[i,{k},j] = {pre}"})
            out.append({"name": f"positive{tag}", "index": relu_index,
                        "comment": "x >= 0 (eq. 3.5)", "body": f"x[i,{k},j] >= 0"})
            out.append({"name": f"complementary{tag}", "index": relu_index,
                        "comment": "x s <= 0: one of them is zero (eq. 3.5)",
                        "body": f"x[i,{k},j] * s[i,{k},j] <= 0"})
        out.append({"name": f"lin{tag}", "index": linear_index, "comment": "a linear layer",
                    "body": f"x[i,{k},j] = {pre}"})
    if problem.loss == "misclassified":
        out.append({"name": "miss", "index": "i in 1..n, j in 1..nk[K]: j != y[i]",
                    "comment": "z[i] = 0 -> the right class wins by margin (eqs. "
                               "3.16-3.17, the implication as the text means it)",
                    "body": "x[i,K,j] - x[i,K,y[i]] + margin <= M * z[i]"})
    return out


_REG = ("lambda * (sum{k in 0..K-1} sum{i in 1..nk[k+1]} sum{j in 1..nk[k]} W[k,i,j]^2)\n"
        "    + lambda * (sum{k in 0..K-1} sum{i in 1..nk[k+1]} b[k,i]^2)")
OBJECTIVES = {
    "squared": "sum{i in 1..n} sum{j in 1..nk[K]} (x[i,K,j] - y[i,j])^2\n    + " + _REG,
    "expected_correct": "- sum{i in 1..n} exp(x[i,K,y[i]]) / (sum{j in 1..nk[K]} "
                        "exp(x[i,K,j]))\n    + " + _REG,
    "misclassified": "sum{i in 1..n} z[i]\n    + " + _REG,
}

FORWARD = [
    "let {i in 1..n, j in 1..nk[1]} x[i,1,j] := " + _pre("x0[i,l]", "1") + ";",
    "let {i in 1..n, j in 1..nk[1]: 1 in RELU} x[i,1,j] := max(x[i,1,j], 0);",
    "for {k in 2..K} {",
    "    let {i in 1..n, j in 1..nk[k]} x[i,k,j] := " + _pre("x[i,k-1,l]", "k") + ";",
    "    let {i in 1..n, j in 1..nk[k]: k in RELU} x[i,k,j] := max(x[i,k,j], 0);",
    "}",
]


def _table(values: np.ndarray) -> tuple[str, list[str]]:
    """An AMPL two-dimensional table: the column header and one line per row."""
    rows, cols = values.shape
    text = np.array(fmt_numbers(values)).reshape(rows, cols)
    width = max(len(t) for t in text.ravel())
    lines = [f"{i + 1:>5} " + " ".join(t.rjust(width) for t in text[i]) for i in range(rows)]
    return " ".join(str(j + 1).rjust(width) for j in range(cols)), lines


def context(problem: wbo.Problem, header: list[str], stem: str, solver: str,
            starts: int, seed: int) -> dict:
    """Everything the three templates loop over, formatted."""
    regression = problem.loss == "squared"
    exact = problem.relu == "exact"
    misclassified = problem.loss == "misclassified"
    bounded = exact or misclassified
    B = float(problem.weight_bound or 1.0)
    K = len(problem.shapes)
    relu_layers = " ".join(str(k + 1) for k, a in enumerate(problem.activations)
                           if a == "relu")
    x0_columns, x0_rows = _table(np.asarray(problem.X, float))
    if regression:
        y_columns, y_rows = _table(problem.targets())
    else:
        y_columns, y_rows = "", [f"{i + 1:>5} {int(c) + 1}" for i, c in enumerate(problem.y)]
    M = 0.0
    if misclassified:
        U = interval_bounds(problem)[-1]
        lo = 0.0 if problem.activations[-1] == "relu" else -U
        M = float(np.max(U - lo)) + problem.margin
    init = [np.sqrt(6.0 / (o + i)) for o, i in problem.shapes]  # Glorot, as in-process
    return {
        "header": header, "stem": stem, "solver": solver,
        "solver_note": SOLVER_NOTES.get(solver, "any AMPL solver of this model's class"),
        "seed": seed, "starts": starts,
        "regression": regression, "hyperbolic": not exact, "exact": exact,
        "misclassified": misclassified, "bounded": bounded,
        "bound_text": " >= -B, <= B" if bounded else "",
        "objective": OBJECTIVES[problem.loss], "constraints": _rows(problem),
        "forward": FORWARD,
        "n": len(problem.X), "K": K,
        "nk": "  ".join(f"{k} {v}" for k, v in enumerate(problem.sizes)),
        "lam": fmt_numbers([problem.lam])[0], "eps": fmt_numbers([problem.eps])[0],
        "relu_layers": relu_layers, "B": fmt_numbers([B])[0],
        "margin": fmt_numbers([problem.margin])[0], "M": fmt_numbers([M])[0],
        "init_range": "  ".join(f"{k} {v}" for k, v in enumerate(fmt_numbers(init))),
        "x0_columns": x0_columns, "x0_rows": x0_rows,
        "y_columns": y_columns, "y_rows": y_rows,
    }


def write_wbo(program: Program, fmt: str, folder: Path, solver: str = "minos") -> list[Path]:
    """The files of a spec's ``method = "wbo"`` training problem; ``fmt`` must be
    ``ampl`` (LP and MPS cannot say a nonlinear model)."""
    training = program.training
    if training is None or training.settings.get(registry.TRAINER_SETTING) != "wbo":
        raise UnsupportedError("nnlang train --to writes the model of a 'train' statement "
                               "with method = \"wbo\"; Goebbels' method solves MILPs in "
                               "process, and other specs go through nnlang compile")
    problem = problem_of(program)
    kind, solvers = problem.kind()
    if fmt != "ampl":
        raise UnsupportedError(f"the WBO training problem is a {kind}: the {fmt.upper()} "
                               f"format holds linear and quadratic models only; write it "
                               f"with --to ampl", training.span)
    stem = program.path.stem if program.path else "wbo"
    source = program.path.name if program.path else "a spec"
    header = [f"{kind}: the weight and bias optimization problem of the WBO master's thesis",
              f"(ch. 3, Annex I), written by nnlang from {source} line {training.span.line}.",
              (f"loss {problem.loss}, relu {problem.relu}, layers "
               f"{'-'.join(map(str, problem.sizes))}, {len(problem.X)} samples."),
              f"Solvers that take it: {solvers}."]
    ctx = context(problem, header, stem, solver, int(setting(program, "starts")),
                  int(setting(program, "seed")))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in ("mod", "dat", "run"):
        path = folder / f"{stem}.{suffix}"
        path.write_text(_ENV.get_template(f"wbo.{suffix}.j2").render(**ctx))
        paths.append(path)
    return paths

"""examples/surrogate: the design spec over the committed models, checked with the
models' own evaluation (the skl2onnx file by onnx's reference evaluator, the torch
regressor by PyTorch's forward pass on its saved state_dict)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnlang

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "surrogate"


def design_holds(x):
    assert abs(x[5] - 4) < 1e-9  # fixed by the site
    assert abs(x[1] - x[2] - 2 * x[3]) < 1e-6  # the envelope relation
    assert x[7] == round(x[7])  # the integer entry
    lo = np.array([0.76, 514.5, 294.0, 110.25, 7.0, 2, 0.10, 1])
    hi = np.array([0.98, 661.5, 416.5, 147.00, 7.0, 5, 0.40, 5])
    assert np.all(x >= lo - 1e-9) and np.all(x <= hi + 1e-9)


def test_the_design_spec_against_the_onnx_reference_evaluator():
    from onnx.reference import ReferenceEvaluator

    r = nnlang.compile(EXAMPLE / "design.nnq").solve()
    assert r.status == "optimal"
    x = r.values["x"]
    design_holds(x)
    ref = ReferenceEvaluator(str(EXAMPLE / "models" / "heating_pipeline.onnx"))
    (y,) = ref.run(None, {"X": x[None].astype(np.float32)})
    assert r.objective == pytest.approx(float(np.ravel(y)[0]), rel=1e-5)
    assert r.names["x"][7] == "glazing_distribution"


def test_the_torch_regressor_file_and_state_dict_agree():
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(),
                                 torch.nn.Linear(16, 16), torch.nn.ReLU(),
                                 torch.nn.Linear(16, 1))
    module.load_state_dict(torch.load(EXAMPLE / "models" / "heating_torch.pt"))
    net = nnlang.Network.from_onnx(EXAMPLE / "models" / "heating_torch.onnx")
    r = nnlang.compile(EXAMPLE / "design.nnq", networks={"heat": net}).solve()
    design_holds(r.values["x"])
    with torch.no_grad():
        own = module.double()(torch.tensor(r.values["x"][None])).item()
    assert r.objective == pytest.approx(own, abs=1e-6)

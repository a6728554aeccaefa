"""ONNX files as the exporters write them with their default options: skl2onnx for
scikit-learn MLPs and scaler pipelines, both PyTorch exporters for torch modules, each
read by nnlang and checked against the library's own prediction."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import nnlang
from nnlang.errors import UnsupportedError
from nnlang.networks.network import Network
from tests.surrogate.models import classifier, data, export, mlp_logits, regressor

pytest.importorskip("skl2onnx")


@pytest.mark.parametrize("scaler", [None, "standard", "minmax", "maxabs"])
def test_skl2onnx_regressors_read_as_exported(tmp_path, scaler):
    model, X = regressor(scaler)
    net = Network.from_onnx(export(model, X, tmp_path / "reg.onnx"))
    assert net.input_shape == (4,)
    np.testing.assert_allclose(net.predict(X).ravel(), model.predict(X), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n_classes, scaler", [(3, None), (2, None), (3, "standard"),
                                               (4, "maxabs"), (2, "minmax")])
def test_skl2onnx_classifiers_read_at_their_logits(tmp_path, n_classes, scaler):
    model, X = classifier(n_classes, scaler)
    path = export(model, X, tmp_path / "clf.onnx")
    with pytest.raises(UnsupportedError, match='output = "logits"'):
        Network.from_onnx(path)
    net = Network.from_onnx(path, output="logits")
    assert net.kind == "classifier"
    assert list(net.classes) == list(model.classes_)
    z = net.predict(X)
    np.testing.assert_allclose(z, mlp_logits(model, X), rtol=1e-6, atol=1e-6)
    index = (z[:, 0] > 0).astype(int) if z.shape[1] == 1 else z.argmax(axis=1)
    assert (np.array(net.classes)[index] == model.predict(X)).all()


def test_logits_on_a_regressor_is_refused(tmp_path):
    model, X = regressor()
    with pytest.raises(UnsupportedError, match="drop the option"):
        Network.from_onnx(export(model, X, tmp_path / "reg.onnx"), output="logits")


def torch_classifier(head: str):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    last = {"softmax": torch.nn.Softmax(dim=1), "logsoftmax": torch.nn.LogSoftmax(dim=1),
            "none": torch.nn.Identity()}[head]
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                               torch.nn.Linear(8, 6), torch.nn.LeakyReLU(0.1),
                               torch.nn.Linear(6, 3), last)


def torch_export(module, dynamo: bool) -> bytes:
    torch = pytest.importorskip("torch")
    if dynamo:
        pytest.importorskip("onnxscript")
    module.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            program = torch.onnx.export(module, (torch.zeros(1, 4),), dynamo=True,
                                        verbose=False)
            buf.write(program.model_proto.SerializeToString())
        else:
            torch.onnx.export(module, (torch.zeros(1, 4),), buf, dynamo=False)
    return buf.getvalue()


def scores(module, X):
    """The module's forward pass before its last layer (the head), in float64 on the
    same float32 weights."""
    torch = pytest.importorskip("torch")
    body = torch.nn.Sequential(*list(module)[:-1]).double().eval()
    with torch.no_grad():
        out = body(torch.tensor(X, dtype=torch.float64)).numpy()
    module.float()
    return out


@pytest.mark.parametrize("head, dynamo", [("softmax", False), ("logsoftmax", False),
                                          ("softmax", True)])
def test_torch_exports_with_a_softmax_head(tmp_path, head, dynamo):
    module = torch_classifier(head)
    path = tmp_path / "torch.onnx"
    path.write_bytes(torch_export(module, dynamo))
    with pytest.raises(UnsupportedError, match=r"Softmax.*output = \"logits\""):
        Network.from_onnx(path)
    net = Network.from_onnx(path, output="logits")
    X, _ = data()
    np.testing.assert_allclose(net.predict(X), scores(module, X), rtol=1e-6, atol=1e-6)
    # a small design problem through the file: the input that most favours class 2
    spec = (f'network g = load("{path.name}", output = "logits")\nvar x[4] in [-2, 2]\n'
            "z = g(x)\nmaximize z[2] - z[0]\nsubject to\nx[0] + x[1] >= 1\n")
    r = nnlang.compile(tmp_path / "s.nnq", text=spec).solve()
    z = scores(module, r.values["x"][None])[0]
    assert r.objective == pytest.approx(z[2] - z[0], abs=1e-6)
    assert r.values["x"][0] + r.values["x"][1] >= 1 - 1e-9


def test_torch_export_without_a_head_is_read_as_is(tmp_path):
    module = torch_classifier("none")
    path = tmp_path / "torch.onnx"
    path.write_bytes(torch_export(module, False))
    net = Network.from_onnx(path)
    assert net.kind == ""
    X = np.random.default_rng(3).normal(size=(10, 4))
    np.testing.assert_allclose(net.predict(X), scores(module, X), rtol=1e-6, atol=1e-6)

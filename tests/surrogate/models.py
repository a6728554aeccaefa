"""Small models trained in the tests, in the ordinary way of each library.

Their fitted arrays are rounded to float32 after training (scalers' scales to powers of
two): exporters write float32, so the library's own float64 prediction and nnlang's
reading of the exported file then compute the same function, and agreeing at 1e-6 is a
real check of the reading, not of float32 rounding."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "maxabs": MaxAbsScaler}


def f32(a):
    return None if a is None else np.asarray(a, dtype=np.float32).astype(float)


def pow2(a):
    return None if a is None else 2.0 ** np.round(np.log2(np.asarray(a, dtype=float)))


def data(n=80, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = f32(rng.normal(size=(n, d)) * [1.0, 3.0, 0.5, 2.0][:d] + [0.0, 5.0, -1.0, 2.0][:d])
    y = X @ np.array([1.0, -0.5, 2.0, 0.3])[:d] + 0.3 * np.abs(X[:, 0])
    return X, y


def round_model(model):
    """Round a fitted MLP / pipeline's arrays in place (see the module docstring)."""
    steps = [s for _, s in model.steps] if hasattr(model, "steps") else [model]
    for s in steps:
        if hasattr(s, "coefs_"):
            s.coefs_ = [f32(c) for c in s.coefs_]
            s.intercepts_ = [f32(c) for c in s.intercepts_]
        elif isinstance(s, StandardScaler):
            s.mean_, s.scale_ = f32(s.mean_), pow2(s.scale_)
        elif isinstance(s, MinMaxScaler):
            s.scale_ = pow2(s.scale_)
            s.min_ = f32(s.min_)
        elif isinstance(s, MaxAbsScaler):
            s.scale_ = pow2(s.scale_)
    return model


def fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return round_model(model)


def regressor(scaler: str | None = None, seed=0, hidden=(6, 5)):
    X, y = data(seed=seed)
    mlp = MLPRegressor(hidden_layer_sizes=hidden, max_iter=200, random_state=seed)
    model = make_pipeline(SCALERS[scaler](), mlp) if scaler else mlp
    return fit(model, X, y), X


def classifier(n_classes=3, scaler: str | None = None, seed=0):
    X, y = data(seed=seed)
    labels = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))
    names = np.array(["low", "mid", "high", "top"])[:n_classes][labels] if n_classes > 2 \
        else labels
    mlp = MLPClassifier(hidden_layer_sizes=(6,), max_iter=200, random_state=seed)
    model = make_pipeline(SCALERS[scaler](), mlp) if scaler else mlp
    return fit(model, X, names), X


def export(model, X, path):
    """The model written by skl2onnx with its default options."""
    skl2onnx = pytest.importorskip("skl2onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onx = skl2onnx.to_onnx(model, X[:1].astype(np.float32))
    path.write_bytes(onx.SerializeToString())
    return path


def mlp_logits(model, X):
    """The classifier's scores before its softmax / logistic, by scikit-learn's arrays."""
    steps = [s for _, s in model.steps] if hasattr(model, "steps") else [model]
    a = X
    for s in steps[:-1]:
        a = s.transform(a)
    mlp = steps[-1]
    for k, (W, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        a = a @ W + b
        if k < len(mlp.coefs_) - 1:
            a = np.maximum(a, 0.0)
    return a

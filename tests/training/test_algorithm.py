"""Algorithm 1 and batch learning end to end: accuracy, eq. 10, resuming, the files."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnlang
from nnlang.ir.options import Options
from nnlang.networks.npz import load_npz
from nnlang.networks.onnx import load_onnx
from nnlang.training import layers
from nnlang.training.goebbels import Settings, accuracy
from nnlang.training.run import train_batches

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "examples" / "training" / "tiny.nnq"


def separable(n=40, seed=7):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 4))
    return X, (X[:, 0] + X[:, 1] > X[:, 2] + X[:, 3]).astype(int)


def test_algorithm_1_reaches_accuracy_one_on_a_separable_set(tmp_path):
    trained = nnlang.train(TINY, run_dir=tmp_path)
    X = np.load(ROOT / "examples/training/tiny_data.npz")["inputs"]
    y = np.load(ROOT / "examples/training/tiny_data.npz")["labels"]
    assert trained.batches[-1]["batch_accuracy"] == 1.0
    assert accuracy(trained.network, X, y) == 1.0
    # the written network is the trained one, for nnlang's loaders alike
    for net in (load_npz(tmp_path / "network.npz"), load_onnx(tmp_path / "network.onnx")):
        np.testing.assert_allclose(net.predict(X), trained.network.predict(X), atol=1e-5)
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["steps"] and history["batches"][-1]["batch_accuracy"] == 1.0


def test_onnxruntime_reads_the_trained_network(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    trained = nnlang.train(TINY, run_dir=tmp_path)
    X = np.random.default_rng(0).random((16, 4)).astype(np.float32)
    session = ort.InferenceSession(str(tmp_path / "network.onnx"))
    (out,) = session.run(None, {"input": X})
    np.testing.assert_allclose(out, trained.network.predict(X.astype(float)), atol=1e-5)


def test_batch_learning_respects_eq_10_for_every_weight(tmp_path):
    X, y = separable(60, 3)
    params = [layers.dense(3, 4, 1.0), layers.dense(2, 3, 1.0)]
    settings = Settings(batch_size=20, batches=1, seed=2, time_limit=20)
    first = train_batches(params, X, y, settings, Options(), run_dir=tmp_path)
    before = [layer for layer in load_npz(tmp_path / "network.npz").layers]
    settings.batches = 2
    second = train_batches(params, X, y, settings, Options(), run_dir=tmp_path)
    assert second.resumed_from == 1 and len(second.batches) == 2
    after = load_npz(tmp_path / "network.npz").layers
    for old, new in zip(before, after):
        for w_old, w_new in ((old.W, new.W), (old.b, new.b)):
            slack = 0.6 * np.abs(w_old) + 0.01 + 1e-6
            assert np.all(np.abs(w_new - w_old) <= slack)
    assert first.batches[0] == second.batches[0]


def test_an_interrupted_run_resumes_from_the_last_finished_batch(tmp_path):
    X, y = separable(40, 5)
    params = [layers.dense(2, 4, 1.0), layers.dense(2, 2, 1.0)]
    settings = Settings(batch_size=20, batches=2, seed=4, time_limit=20)
    whole = train_batches(params, X, y, settings, Options(), run_dir=tmp_path / "a")
    # the same run stopped after one batch, then continued
    train_batches(params, X, y, Settings(**{**settings.__dict__, "batches": 1}), Options(),
                  run_dir=tmp_path / "b")
    resumed = train_batches(params, X, y, settings, Options(), run_dir=tmp_path / "b")
    assert resumed.resumed_from == 1
    for a, b in zip(whole.network.layers, resumed.network.layers):
        np.testing.assert_allclose(a.W, b.W, atol=1e-7)


def test_a_run_directory_of_other_settings_is_refused(tmp_path):
    X, y = separable(20, 1)
    params = [layers.dense(2, 4, 1.0), layers.dense(2, 2, 1.0)]
    train_batches(params, X, y, Settings(batch_size=20, seed=1), Options(), run_dir=tmp_path)
    with pytest.raises(nnlang.NnlangError, match="other settings"):
        train_batches(params, X, y, Settings(batch_size=20, seed=2), Options(),
                      run_dir=tmp_path)


def test_parallel_workers_give_the_same_network():
    X, y = separable(30, 2)
    params = [layers.dense(3, 4, 1.0), layers.dense(2, 3, 1.0)]
    runs = [train_batches(params, X, y, Settings(batch_size=30, seed=5, workers=w,
                                                 time_limit=20), Options())
            for w in (1, 2)]
    for a, b in zip(runs[0].network.layers, runs[1].network.layers):
        np.testing.assert_allclose(a.W, b.W, atol=1e-6)


def test_the_command_trains_writes_and_reports_progress(tmp_path):
    spec = tmp_path / "tiny.nnq"
    shutil.copy(TINY, spec)
    shutil.copy(TINY.with_name("tiny_data.npz"), tmp_path / "tiny_data.npz")
    proc = subprocess.run([sys.executable, "-m", "nnlang", "train", str(spec), "-o",
                           str(tmp_path / "run")], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "batch 1 iteration 1 layer 2: accuracy" in proc.stderr
    assert "accuracy: last batch 1.0000" in proc.stdout
    assert (tmp_path / "run" / "network.onnx").exists()
    # the trained network loads in a spec like any other
    use = tmp_path / "use.nnq"
    use.write_text('network net = load("run/network.npz")\nvar x[4] in [0, 1]\n'
                   'y = net(x)\nmaximize y[1] - y[0]\n')
    proc = subprocess.run([sys.executable, "-m", "nnlang", "solve", str(use), "-q"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_initialization_screen_keeps_the_most_accurate_of_its_draws():
    from nnlang.training.goebbels import Trainer
    X, y = separable(40, 5)
    params = [layers.dense(3, 4, 1.0), layers.dense(2, 3, 1.0)]
    trainer = Trainer(params, Settings(seed=3, init_trials=6), Options())
    seeded = [t.copy() for t in trainer.theta]
    scores = trainer.choose_initialization(X, y)
    assert len(scores) == 6
    assert accuracy(trainer.network(), X, y) == max(scores)
    # the first draw is the seeded initialization of init_trials = 1 (hidden layer
    # untouched; the output layer refitted by the LP)
    single = Trainer(params, Settings(seed=3), Options())
    np.testing.assert_array_equal(single.theta[0], seeded[0])
    if scores.index(max(scores)) == 0:
        np.testing.assert_array_equal(trainer.theta[0], seeded[0])
    # the screen runs before the first batch through the trainer's settings
    heard = []
    train_batches(params, X, y, Settings(batch_size=40, seed=3, init_trials=6, max_iterations=1),
                  Options(), report=lambda kind, what: heard.append((kind, what)))
    assert heard[0] == ("init", scores)


def test_the_lps_go_to_lp_solver_and_the_milps_to_the_spec_solver(monkeypatch, tmp_path):
    from nnlang.training import problems
    seen = []
    solve = problems.solve_model

    def recording(model, options):
        seen.append((model.size()["binaries"] > 0, options.solver))
        return solve(model, options)

    monkeypatch.setattr(problems, "solve_model", recording)
    X, y = separable(30, 2)
    params = [layers.dense(3, 4, 1.0), layers.dense(2, 3, 1.0)]
    trained = train_batches(params, X, y, Settings(batch_size=30, seed=5, lp_solver="scip",
                                                   max_iterations=2), Options(solver="highs"))
    assert {solver for milp, solver in seen if milp} == {"highs"}
    assert {solver for milp, solver in seen if not milp} == {"scip"}
    assert trained.counts["weight programs"] > 0
    # the spec's setting is checked like every other: an unknown solver is a located error
    spec = tmp_path / "tiny.nnq"
    shutil.copy(TINY.with_name("tiny_data.npz"), tmp_path / "tiny_data.npz")
    spec.write_text(TINY.read_text().replace("train net on X, y {",
                                             'train net on X, y {\n    lp_solver = "simplex"'))
    with pytest.raises(nnlang.NnlangError, match="'lp_solver' takes one of") as err:
        nnlang.train(spec, batches=1)
    assert err.value.span.line == 13


def test_a_batch_fitted_exactly_ends_its_loop_whatever_the_patience():
    X, y = separable(30, 2)
    params = [layers.dense(3, 4, 1.0), layers.dense(2, 3, 1.0)]
    trained = train_batches(params, X, y, Settings(batch_size=30, seed=5, patience=50,
                                                   max_iterations=50), Options())
    assert trained.batches[-1]["batch_accuracy"] == 1.0
    last = max(s.iteration for s in trained.steps)
    # the loop stopped at the iteration that reached accuracy one
    assert max(s.accuracy for s in trained.steps if s.iteration == last) == 1.0
    assert last < 50

"""Goebbels' (2021) Algorithm 1: train a ReLU network layer by layer with MILPs and LPs.

Per batch of training data, each (while-) iteration sweeps from the output layer
back to the first hidden layer: the layer's weights are set by the programs of
:mod:`nnlang.training.problems` with its inputs fixed (the output layer by the LP
of eqs. 7-8, hidden layers by one MILP per independent group of neurons), and,
above the first hidden layer, the layer's inputs are then proposed by a second
program per sample (§2.2, within eq. 9's bounds); those proposals are the
targets of the layer below. Iterations go on while the accuracy grows; the
best-accuracy weights are kept and, if the accuracy is below one, the last
layer is refined by the post-processing LP (§2.3). Batch learning (§3) trains
consecutive batches, each starting from the weights of the one before and
bounded by eq. 10 around them; the post-processing LP can also run on all the
training data after every k batches.

A prediction is the output neuron closest to one (the report's rule).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context

import numpy as np

from nnlang.ir.options import Options
from nnlang.networks.network import Dense, Network
from nnlang.training import problems
from nnlang.training.layers import LayerParams

POOL = {"mip_pool_soft_limit": 1000}
# a binary within Gurobi's default integrality tolerance (1e-5) lets a big-M row
# leak 1e-5 * M per sample, more than the forward-pass check of every answer allows
GUROBI_TOLERANCE = {"IntFeasTol": 1e-9}


@dataclass
class Settings:
    """What the report leaves to the user, with its values as defaults."""

    batch_size: int = 100
    batches: int = 1
    init: tuple[float, float] = (-1.0, 1.0)  # uniform initialization of every parameter
    seed: int = 0
    # random initializations screened before the first batch (the report: the outcome
    # "depends strongly on the initialization", a suitable one found by experiment)
    init_trials: int = 1
    change: float | None = 0.6  # eq. 10's factor from the second batch on (None: off)
    change_offset: float = 0.01
    proposal_box: tuple[float, float] = problems.EQ9  # eq. 9's (0.1, 0.1)
    post_every: int | None = None  # post-processing LP on all training data every k batches
    max_iterations: int = 20  # a cap on the while loop
    # iterations without a better accuracy before the loop stops (the report: 1, it
    # stops as soon as an iteration does not improve)
    patience: int = 1
    time_limit: float | None = 60.0  # per program; the incumbent is kept
    workers: int = 1  # programs solved in parallel processes
    final_post: bool = True  # Algorithm 1's last step when the accuracy stays below one
    report_m: bool = False  # the report's constant big-M instead of the exact ranges
    # the solver of the LPs (the output layer's, its input proposals, post-processing),
    # None: the MILPs' one. The LPs grow with the data (the post-processing LP on all of
    # it) where a size-limited MILP solver license does not reach
    lp_solver: str | None = None


@dataclass
class Step:
    """One line of the history: a layer's update in an iteration of a batch."""

    batch: int
    iteration: int
    layer: int
    accuracy: float
    seconds: float
    programs: int
    program_seconds: float
    largest: dict = field(default_factory=dict)
    timed_out: int = 0


def predict(network: Network, X: np.ndarray) -> np.ndarray:
    """The class of each sample: the output closest to one."""
    out = network.predict(X)
    return np.argmin(np.abs(out - 1.0), axis=-1)


def accuracy(network: Network, X: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predict(network, X) == np.asarray(labels)))


def onehot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes)[np.asarray(labels, dtype=int)]


def _solve_group(args):
    kind, X, target, params, options, start, big_m = args
    return problems.group_weights(X, target, params, kind, options, start, big_m)


def _solve_inputs(args):
    W, b, x_now, target, kind, options, box = args
    return problems.layer_inputs(W, b, x_now, target, kind, options, box)


class Trainer:
    """Algorithm 1 over a list of :class:`LayerParams` (the last layer is the output).

    ``report`` receives a :class:`Step` after every layer update (progress).
    """

    def __init__(self, layers: list[LayerParams], settings: Settings, options: Options,
                 report: Callable[[Step], None] | None = None, input_shape=()):
        self.layers = layers
        self.settings = settings
        self.options = options.updated(threads=1) if settings.workers > 1 else options
        # a smaller cut pool: the weight MILPs are small, and HiGHS spent most of
        # their time at the root on thousands of cuts (docs/benchmarks.md)
        given = self.options.solver_args
        self.options = replace(self.options, solver_args={
            **given, "HIGHS": {**POOL, **given.get("HIGHS", {})},
            "GUROBI": {**GUROBI_TOLERANCE, **given.get("GUROBI", {})}})
        if settings.time_limit is not None:
            self.options = self.options.updated(time_limit=settings.time_limit)
        self.lp_options = self.options if settings.lp_solver is None else \
            self.options.updated(solver=settings.lp_solver)
        self.report = report or (lambda step: None)
        self.input_shape = tuple(input_shape)
        self._rng = np.random.default_rng(settings.seed)
        self.theta = self._draw()
        self.history: list[Step] = []
        self.counts = {"weight programs": 0, "input programs": 0, "post LPs": 0}
        self._pool = None

    def _draw(self) -> list[np.ndarray]:
        lo, hi = self.settings.init
        return [np.clip(self._rng.uniform(lo, hi, p.size), p.lo, p.hi) for p in self.layers]

    def choose_initialization(self, X: np.ndarray, labels: np.ndarray) -> list[float]:
        """Screen ``init_trials`` random initializations (the current one first): each
        gets its output layer from the LP of eqs. 7-8 on ``(X, labels)``, the most
        accurate one is kept. Returns the accuracy of each."""
        T = onehot(labels, self.layers[-1].n_out)
        best, scores = None, []
        for trial in range(self.settings.init_trials):
            if trial:
                self.theta = self._draw()
            acts = self.network().forward(X)
            self.update_layer(len(self.layers) - 1, acts[-2], T, problems.OUTPUT)
            scores.append(accuracy(self.network(), X, labels))
            if best is None or scores[-1] > best[0]:
                best = (scores[-1], [t.copy() for t in self.theta])
        self.theta = best[1]
        return scores

    # ---- the network of the current parameters
    def network(self, theta=None) -> Network:
        theta = self.theta if theta is None else theta
        dense = [Dense(*p.weights(t), "relu") for p, t in zip(self.layers, theta)]
        return Network(tuple(dense), name="trained", input_shape=self.input_shape)

    def _map(self, fn, tasks):
        if self.settings.workers > 1 and len(tasks) > 1:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.settings.workers,
                                                 mp_context=get_context("fork"))
            return list(self._pool.map(fn, tasks))
        return [fn(t) for t in tasks]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    # ---- the programs
    def options_for(self, kind: str) -> Options:
        """The MILPs' options for ``l1`` programs, the LPs' for the others."""
        return self.options if kind == problems.L1 else self.lp_options

    def update_layer(self, i: int, inputs: np.ndarray, target: np.ndarray, kind: str,
                     bounds: tuple[np.ndarray, np.ndarray] | None = None) -> list:
        """New parameters of layer ``i`` (0-based) fitted to ``target`` from ``inputs``."""
        params = self.layers[i]
        lo, hi = (params.lo, params.hi) if bounds is None else bounds
        tasks, where = [], []
        big_m = problems.report_big_m(inputs) if self.settings.report_m and kind == problems.L1 \
            else None
        for neurons in params.groups():
            sub, used = LayerParams(params.n_out, params.n_in, params.T, lo, hi).restricted(
                neurons)
            tasks.append((kind, inputs, target[:, neurons], sub, self.options_for(kind),
                          self.theta[i][used], big_m))
            where.append(used)
        solved = self._map(_solve_group, tasks)
        theta = self.theta[i].copy()
        for used, s in zip(where, solved):
            theta[used] = s.value
        self.theta[i] = theta
        key = "post LPs" if kind == problems.POST else "weight programs"
        self.counts[key] += len(solved)
        return solved

    def propose_inputs(self, i: int, inputs: np.ndarray, target: np.ndarray,
                       kind: str) -> tuple[np.ndarray, list]:
        W, b = self.layers[i].weights(self.theta[i])
        box = tuple(self.settings.proposal_box)
        tasks = [(W, b, inputs[k], target[k], kind, self.options_for(kind), box)
                 for k in range(len(inputs))]
        solved = self._map(_solve_inputs, tasks)
        self.counts["input programs"] += len(solved)
        return np.stack([s.value for s in solved]), solved

    # ---- Algorithm 1 on one batch
    def train_batch(self, X: np.ndarray, labels: np.ndarray, batch: int = 0,
                    bounds: list | None = None) -> float:
        classes = self.layers[-1].n_out
        T = onehot(labels, classes)
        K = len(self.layers)
        acc = 0.0
        best = (accuracy(self.network(), X, labels), [t.copy() for t in self.theta])
        iteration, stale, last = 0, 0, -1.0
        # a batch fitted exactly has nothing left to gain (the report's loop would end
        # one iteration later, on that iteration's accuracy)
        while stale < self.settings.patience and iteration < self.settings.max_iterations \
                and best[0] < 1.0:
            iteration += 1
            target = T
            for i in range(K - 1, -1, -1):
                start = time.perf_counter()
                acts = self.network().forward(X)
                kind = problems.OUTPUT if i == K - 1 else problems.L1
                solved = self.update_layer(i, acts[i], target, kind,
                                           None if bounds is None else bounds[i])
                if i > 0:
                    proposed, more = self.propose_inputs(i, acts[i], target, kind)
                    solved = solved + more
                    target = proposed
                acc = accuracy(self.network(), X, labels)
                if acc > best[0]:
                    best = (acc, [t.copy() for t in self.theta])
                largest = max((s.size for s in solved), key=lambda z: z.get("variables", 0))
                step = Step(batch, iteration, i + 1, acc, time.perf_counter() - start,
                            len(solved), float(sum(s.seconds for s in solved)), largest,
                            sum(s.status == "time_limit" for s in solved))
                self.history.append(step)
                self.report(step)
            stale = 0 if acc > last else stale + 1
            last = max(last, acc)
        if best[0] > acc:
            self.theta = best[1]
            acc = best[0]
        if acc < 1.0 and self.settings.final_post:
            acc = self.post_process(X, labels, batch, bounds)
        return acc

    def post_process(self, X: np.ndarray, labels: np.ndarray, batch: int,
                     bounds: list | None = None) -> float:
        """§2.3 on ``(X, labels)``: the last layer's LP with slacks; kept only if it does
        not lower the accuracy on that data."""
        start = time.perf_counter()
        before = accuracy(self.network(), X, labels)
        keep = self.theta[-1].copy()
        acts = self.network().forward(X)
        T = onehot(labels, self.layers[-1].n_out)
        solved = self.update_layer(len(self.layers) - 1, acts[-2], T, problems.POST,
                                   None if bounds is None else bounds[-1])
        acc = accuracy(self.network(), X, labels)
        if acc < before:
            self.theta[-1], acc = keep, before
        step = Step(batch, 0, len(self.layers), acc, time.perf_counter() - start, len(solved),
                    float(sum(s.seconds for s in solved)),
                    max((s.size for s in solved), key=lambda z: z.get("variables", 0)))
        self.history.append(step)
        self.report(step)
        return acc

    def change_bounds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Eq. 10 around the current parameters, within each layer's own bounds."""
        f, off = self.settings.change, self.settings.change_offset
        return [(np.maximum(p.lo, t - f * np.abs(t) - off), np.minimum(p.hi, t + f * np.abs(t) + off))
                for p, t in zip(self.layers, self.theta)]

    def settings_dict(self) -> dict:
        return asdict(self.settings)

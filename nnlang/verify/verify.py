"""Decide a VNN-LIB property on an ONNX network: sat, unsat, timeout or unknown.

For every input box of the property (``Property.cases``), in this order, with
one deadline for the whole run:

1. **Attack** (:mod:`nnlang.verify.attack`): sampling and PGD on the output
   condition. A point that satisfies it (checked by the numpy forward pass) is
   a counterexample: ``sat`` at once.
2. **Bounds**: neuron bounds over the box (the best method ``nnlang.bounds``
   offers: ``symbolic`` when available, else ``interval``), then for every row
   ``a @ y <= d`` of the output condition a lower bound of ``a @ y`` by
   back-substitution through the network (DeepPoly/CROWN style, with those
   neuron bounds). A branch with a row whose lower bound exceeds ``d`` cannot
   hold and is dropped; when no branch is left the box is ``unsat``.
3. **Input splitting** (only for inputs of at most ``split_inputs`` entries,
   e.g. ACAS Xu's 5): the box is bisected along the input that weighs most in
   the bounds, and step 2 is repeated on the halves, for a share of the time.
   Sub-boxes left open go to the MILP.
3b. **Branch and bound** (inputs of more than ``split_inputs`` entries, e.g.
   MNIST's 784): the neuron bounds are first tightened by optimized slopes
   (:mod:`nnlang.bounds.alpha`, alpha-CROWN style) and the branches re-pruned;
   then :func:`nnlang.verify.bab.bab` splits unstable ReLUs (beta-CROWN style
   bounds per sub-domain) for a share of the time. Its candidate points are
   checked as counterexamples; the branches it leaves open go to the MILP.
4. **MILP**: the remaining problem is written as an nnlang spec
   (:func:`nnlang.verify.importer.spec_text`: the box, ``y = net(x)``, the
   surviving branches as one ``or`` constraint, no objective), compiled with
   ``nnlang.compile`` and solved with the time left. Infeasible: ``unsat``.
   A solution is polished and re-checked by the forward pass (and by
   onnxruntime when installed); if that check fails the answer is
   ``unknown``, never ``sat``. The time limit: ``timeout``.

The property is ``sat`` if any box is, ``unsat`` if every box is.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlang.api import compile as compile_spec
from nnlang.bounds.alpha import tighten_alpha
from nnlang.encode.builder import encode_program
from nnlang.errors import DataError, SemanticError, TimeLimitError
from nnlang.networks.load import load_network
from nnlang.networks.network import Network
from nnlang.verify.attack import Counterexample, attack, check_point, polish
from nnlang.verify.bab import bab as bab_search
from nnlang.verify.importer import spec_text
from nnlang.verify.milp import solve_milp
from nnlang.verify.obbt import tighten
from nnlang.verify.prune import bound_method, prune, prune_alpha
from nnlang.verify.result import VerifyResult
from nnlang.verify.split import split_search
from nnlang.verify.vnnlib import Case, Property, read_vnnlib

MILP_BOXES = 16  # at most this many boxes left open by input splitting go to the MILP
ALPHA_SHARE = 0.15  # share of the time left for optimized-slope bounds before the MILP
BAB_SHARE = 0.4  # share of the time left for branch and bound before the MILP(s)
MARGIN_CUTOFF = 1e-9  # relative: the MILP accepts points with margin t below this


# ------------------------------------------------------------------- main


@dataclass
class _Open:
    """A (sub-)box still open, with the branches that may hold there."""

    lo: np.ndarray
    hi: np.ndarray
    branches: list[int]
    depth: int = 0


class _Run:
    def __init__(self, network: Network, onnx_path: Path, prop: Property, timeout: float,
                 bounds: str | None, attack_time: float | None, split_inputs: int,
                 seed: int, log: Callable[[str], None] | None, start: float,
                 threads: int | None = None, obbt: float = 0.0, alpha: bool = True,
                 bab: bool = True, per_branch: bool = True):
        self.net = network
        self.onnx = onnx_path
        self.prop = prop
        self.deadline = start + timeout
        self.timeout = timeout
        self.start = start
        self.bounds_name, self.bounds_fn = bound_method(bounds)
        self.attack_time = attack_time
        self.split_inputs = split_inputs
        self.seed = seed
        self.log = log or (lambda s: None)
        self.threads = threads
        self.obbt = obbt
        self.alpha = alpha
        self.bab = bab
        self.per_branch = per_branch
        self.tight: dict = {}  # (lo bytes, hi bytes) -> optimized-slope neuron bounds
        self.stats: dict = {"bounds": self.bounds_name, "cases": len(prop.cases),
                            "boxes_split": 0, "milps": 0, "milp_seconds": 0.0}

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def result(self, status: str, method: str, message: str = "",
               ce: Counterexample | None = None) -> VerifyResult:
        return VerifyResult(status, ce, time.perf_counter() - self.start, method, message,
                            self.stats, self.prop.n_in, self.prop.n_out)

    def bounds(self, lo: np.ndarray, hi: np.ndarray) -> list:
        return list(self.bounds_fn(self.net, lo, hi))

    def alpha_deadline(self, cases: int = 1) -> float:
        return time.perf_counter() + ALPHA_SHARE * max(self.left(), 0.0) / max(cases, 1)

    def alpha_bounds(self, lo: np.ndarray, hi: np.ndarray, pre: list, cases: int = 1) -> list:
        """``pre`` tightened by optimized slopes (:mod:`nnlang.bounds.alpha`)."""
        bounds, info = tighten_alpha(self.net, lo, hi, pre, self.alpha_deadline(cases),
                                     log=self.log)
        self.stats.setdefault("alpha", []).append(info)
        return bounds

    def run(self) -> VerifyResult:
        with _single_thread_blas():
            return self._run()

    def _run(self) -> VerifyResult:
        prop = self.prop
        if not prop.cases:
            return self.result("unsat", "vnnlib", "the property's formula cannot hold")
        # 1. Attack every box.
        budget = self.attack_time
        if budget is None:
            # Large inputs: branch and bound finds counterexamples too, so less attack.
            most = 10.0 if prop.n_in <= self.split_inputs or not self.bab else 3.0
            budget = min(max(0.05 * self.timeout, 0.5), most)
        per_case = budget / len(prop.cases)
        for i, case in enumerate(prop.cases):
            if self.left() <= 0:  # thousands of boxes: the timeout counts here too
                return self.result("timeout", "attack", "time limit reached")
            if any(c.rows == 0 for c in case.output):  # the output condition always holds
                ce = check_point(self.net, case, (case.lo + case.hi) / 2, "sampling")
                if ce is not None:
                    return self.confirm(ce, "attack")
            ce = attack(self.net, case, min(per_case, max(self.left(), 0.0)), seed=self.seed + i)
            if ce is not None:
                return self.confirm(ce, "attack")
        self.log(f"attack: nothing found ({self.elapsed():.2f} s)")
        # 2. Bounds over each whole box: drop the branches they rule out.
        todo: list[tuple[Case, _Open]] = []
        for case in prop.cases:
            if self.left() <= 0:
                return self.result("timeout", "bounds", "time limit reached")
            pre = self.bounds(case.lo, case.hi)
            keep, _ = prune(self.net, pre, case.lo, case.hi, case.output)
            if keep and self.alpha and prop.n_in > self.split_inputs:
                pre = self.alpha_bounds(case.lo, case.hi, pre, len(prop.cases))
                keep = prune_alpha(self.net, pre, case.lo, case.hi, case.output, keep,
                                   self.alpha_deadline(len(prop.cases)))
                self.tight[(case.lo.tobytes(), case.hi.tobytes())] = pre
            self.stats.setdefault("branches", []).append([len(case.output), len(keep)])
            if keep:
                todo.append((case, _Open(case.lo, case.hi, keep)))
        if not todo:
            return self.result("unsat", "bounds", f"{self.bounds_name} bounds rule out every "
                               "branch of the output condition")
        self.log(f"bounds: {len(todo)} box(es) open ({self.elapsed():.2f} s)")
        # 3. Input splitting for small inputs.
        if prop.n_in <= self.split_inputs:
            found, todo = self.split(todo)
            if found is not None:
                return found
            if not todo:
                return self.result("unsat", "split", "input splitting with bounds closed "
                                   f"every box ({self.stats['boxes_split']} boxes)")
        # 3b. Branch and bound over ReLU splits for large inputs.
        if self.bab and prop.n_in > self.split_inputs:
            found, todo = self.branch_and_bound(todo)
            if found is not None:
                return found
            if not todo:
                return self.result("unsat", "bab", "branch and bound closed every sub-domain "
                                   f"({self.stats['bab_domains']} domains)")
        self.stats["open_boxes"] = len(todo)
        # 4. MILP on what is left (one per open branch unless per_branch is off).
        if self.per_branch:
            todo = [(case, _Open(box.lo, box.hi, [b], box.depth))
                    for case, box in todo for b in box.branches]
        # An even share of the time each; the ones that run out of it are tried once
        # more with the time the others left over (only if some of them finished).
        statuses: dict[int, str] = {}
        pending = list(range(len(todo)))
        rounds = 0
        while pending and rounds < 2 and self.left() > (0.5 if rounds else 0.05):
            rounds += 1
            before = len(pending)
            for n, k in enumerate(pending):
                share = self.left() / (len(pending) - n)
                if share <= 0.05:
                    break
                res = self.milp(*todo[k], share)
                if res.status == "sat":
                    return res
                statuses[k] = res.status
                if res.status == "unknown":
                    self.stats.setdefault("unknown_reasons", []).append(res.message)
            pending = [k for k in pending if statuses.get(k, "timeout") == "timeout"]
            if len(pending) == before:  # nothing finished: no time was freed
                break
        self.stats["milp_rounds"] = rounds
        if len(statuses) == len(todo) and all(s == "unsat" for s in statuses.values()):
            what = "branches" if self.per_branch else "boxes"
            return self.result("unsat", "milp", "the MILP is infeasible"
                               + (f" on all {len(todo)} {what}" if len(todo) > 1 else ""))
        if "unknown" in statuses.values():
            return self.result("unknown", "milp", "; ".join(dict.fromkeys(self.stats["unknown_reasons"])))
        return self.result("timeout", "milp" if self.stats["milps"] else "split",
                           "time limit reached")

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def split(self, todo: list[tuple[Case, _Open]]
              ) -> tuple[VerifyResult | None, list[tuple[Case, _Open]]]:
        """Input splitting on every open box; what is left for the MILP.

        Splitting gets 80 % of the time left; if few boxes are then open
        (at most ``MILP_BOXES``) they go to the MILP, otherwise splitting
        goes on until shortly before the deadline. Pieces the splitting set
        aside as too small (where the bounds cannot decide) go to the MILP
        too, grouped into at most ``MILP_BOXES`` hulls.
        """
        out: list[tuple[Case, _Open]] = []
        for k, (case, box) in enumerate(todo):
            sub = Case(box.lo, box.hi, tuple(case.output[b] for b in box.branches))
            stop = time.perf_counter() + 0.8 * self.left() / (len(todo) - k)
            res = split_search(self.net, sub, stop)
            self.stats["boxes_split"] += res.processed
            stuck = list(res.stuck)
            if res.status == "open" and len(res.boxes) + len(stuck) > MILP_BOXES and res.boxes:
                reserve = 0.15 * self.left() if stuck else 0.2
                stop = time.perf_counter() + max(self.left() - reserve, 0.0) / (len(todo) - k)
                res = split_search(self.net, sub, stop, boxes=res.boxes)
                self.stats["boxes_split"] += res.processed
                stuck += res.stuck
            if res.status == "sat":
                return self.confirm(res.counterexample, "split"), []
            self.stats["stuck_boxes"] = self.stats.get("stuck_boxes", 0) + len(stuck)
            self.log(f"split: {res.status}, {self.stats['boxes_split']} boxes, "
                     f"{len(res.boxes or [])} open, {len(stuck)} too small "
                     f"({self.elapsed():.2f} s)")
            if res.status != "open":
                continue
            pieces = list(res.boxes or [])
            # At most MILP_BOXES hulls of the open and the too-small pieces go to the
            # MILP: thousands of open pieces (an equality on an output, which bounds
            # cannot close nor sampling hit) would leave each too little time to try.
            pieces = _hulls(pieces + stuck, MILP_BOXES)
            for lo, hi, live in pieces:
                out.append((case, _Open(lo, hi, [box.branches[b] for b in np.flatnonzero(live)])))
        return None, out

    def branch_and_bound(self, todo: list[tuple[Case, _Open]]
                         ) -> tuple[VerifyResult | None, list[tuple[Case, _Open]]]:
        """:func:`nnlang.verify.bab.bab` on every open box for a share ``BAB_SHARE`` of
        the time left; the branches it leaves open go to the MILP."""
        out = []
        self.stats.setdefault("bab_domains", 0)
        for k, (case, box) in enumerate(todo):
            sub = Case(box.lo, box.hi, tuple(case.output[b] for b in box.branches))
            pre = self.tight.get((box.lo.tobytes(), box.hi.tobytes()))
            if pre is None:
                pre = self.bounds(box.lo, box.hi)
            stop = time.perf_counter() + BAB_SHARE * self.left() / (len(todo) - k)
            res = bab_search(self.net, sub, pre, stop, log=self.log)
            self.stats["bab_domains"] += res.domains
            self.log(f"bab: {res.status}, {res.domains} domains, {res.open} open, depth "
                     f"{res.depth} ({self.elapsed():.2f} s)")
            if res.status == "sat":
                return self.confirm(res.counterexample, "bab"), []
            if res.status == "open":
                keep = [box.branches[b] for b in (res.branches or range(len(box.branches)))]
                out.append((case, _Open(box.lo, box.hi, keep, box.depth)))
        return None, out

    def margin_range(self, sub: Case) -> tuple[float, float]:
        """``[lo, hi]`` holding every row's ``a @ y - d`` over ``sub``'s box (sound bounds)."""
        pre = self.bounds(sub.lo, sub.hi)
        L, U = pre[-1]
        if self.net.layers[-1].activation == "relu":
            L, U = np.maximum(L, 0.0), np.maximum(U, 0.0)
        lows, highs = [], []
        for conj in sub.output:
            if conj.rows == 0:
                continue
            Ap, An = np.maximum(conj.A, 0.0), np.minimum(conj.A, 0.0)
            lows.append(np.min(Ap @ L + An @ U - conj.d))
            highs.append(np.max(Ap @ U + An @ L - conj.d))
        if not lows:
            return -1.0, 1.0
        lo, hi = float(min(lows)), float(max(highs))
        pad = 1e-3 * (1.0 + abs(lo) + abs(hi))
        return lo - pad, hi + pad

    def tightened(self, model, sub: Case, time_limit: float):
        """The MILP re-encoded with LP-tightened neuron bounds (:mod:`nnlang.verify.obbt`),
        spending at most a share ``obbt`` of ``time_limit`` on the LPs."""
        app = model.milp.applications[0]
        deadline = time.perf_counter() + self.obbt * min(time_limit, self.left())
        bounds, info = tighten(self.net, sub.lo, sub.hi, list(app.pre_bounds), deadline,
                               log=self.log)
        self.stats["obbt"] = info
        return encode_program(model.program, {app.label: bounds})

    def milp(self, case: Case, box: _Open, time_limit: float) -> VerifyResult:
        """One MILP on ``box``: minimize the margin ``t`` with a cutoff just above 0.

        The branches left open on the box are one ``or`` constraint (a binary per
        branch); HiGHS stops at the first point with ``t`` below the cutoff (a
        candidate, re-checked by the forward pass) or proves there is none
        (``unsat``: every input gives ``t >= cutoff > 0``).
        """
        sub = Case(box.lo, box.hi, tuple(case.output[b] for b in box.branches))
        t0 = time.perf_counter()
        tlo, thi = self.margin_range(sub)
        if thi <= 0.0:
            # Every row holds everywhere: any point is a counterexample.
            ce = check_point(self.net, sub, (sub.lo + sub.hi) / 2, "bounds")
            if ce is not None:
                return self.confirm(ce, "bounds")
        with tempfile.TemporaryDirectory(prefix="nnlang-verify-") as tmp:
            spec = Path(tmp) / "spec.nnq"
            text, arrays = spec_text(str(self.onnx.resolve()).replace("\\", "/"), self.prop,
                                     [sub], "spec_box.npz", source=self.prop.path,
                                     margin=(tlo, thi))
            np.savez(Path(tmp) / "spec_box.npz", **arrays)
            spec.write_text(text)
            model = compile_spec(spec, text=text, bounds=self.bounds_name)
        milp = model.milp
        tight = self.tight.get((sub.lo.tobytes(), sub.hi.tobytes()))
        if tight is not None and self.obbt <= 0:
            milp = encode_program(model.program, {model.milp.applications[0].label: tight})
        if self.obbt > 0 and self.net.n_in > self.split_inputs and len(self.net.layers) > 2:
            milp = self.tightened(model, sub, time_limit)
        left = min(time_limit - (time.perf_counter() - t0), self.left())
        if left <= 0.05:
            return self.result("timeout", "milp", "no time left after compiling")
        # The cutoff: a hair above 0, so that a point with t <= 0 is always accepted.
        cutoff = MARGIN_CUTOFF * (1.0 + abs(tlo) + abs(thi))
        r = solve_milp(milp, left, cutoff=cutoff, threads=self.threads)
        binaries = sum(b.size for b in milp.blocks if b.kind == "binary")
        self.stats["milps"] += 1
        self.stats["milp_seconds"] += time.perf_counter() - t0
        self.stats.setdefault("milp", []).append(
            {"status": r.status, "seconds": round(time.perf_counter() - t0, 3),
             "binaries": binaries, "nodes": r.nodes})
        self.log(f"milp: {r.status} in {time.perf_counter() - t0:.2f} s, {binaries} binaries, "
                 f"{r.nodes} nodes")
        if r.status == "infeasible":
            return self.result("unsat", "milp")
        if r.status == "solution":
            xb = milp.block("x")
            x = r.x[xb.cols]
            ce = polish(self.net, sub, x, time_limit=min(2.0, max(self.left(), 0.1)))
            if ce is not None:
                return self.confirm(ce, "milp")
            return self.result("unknown", "milp", "the MILP found a point within its tolerances "
                               "but the forward pass does not confirm it")
        if r.status == "time_limit":
            return self.result("timeout", "milp")
        return self.result("unknown", "milp", f"solver: {r.message}")

    def confirm(self, ce: Counterexample, method: str) -> VerifyResult:
        """``sat`` after onnxruntime (when installed) agrees, else ``unknown``."""
        ort = onnxruntime_output(self.onnx, ce.x)
        if ort is not None:
            case = next((c for c in self.prop.cases if c.in_box(ce.x) and c.holds(ort)), None)
            if case is None:
                return self.result("unknown", method, "onnxruntime's output at the "
                                   "counterexample does not satisfy the output condition")
            ce.y = ort
        return self.result("sat", method, f"counterexample found by {ce.source or method}", ce)


def _hulls(boxes: list, groups: int) -> list:
    """At most ``groups`` boxes covering ``boxes``: hulls of runs sorted by center."""
    if len(boxes) <= groups:
        return list(boxes)
    centers = np.array([(lo + hi) / 2 for lo, hi, _ in boxes])
    order = np.lexsort(centers.T[::-1])
    out = []
    for chunk in np.array_split(order, groups):
        lo = np.min([boxes[i][0] for i in chunk], axis=0)
        hi = np.max([boxes[i][1] for i in chunk], axis=0)
        live = np.any([boxes[i][2] for i in chunk], axis=0)
        out.append((lo, hi, live))
    return out


@contextmanager
def _single_thread_blas():
    """Run numpy's BLAS on one thread, if threadpoolctl is installed.

    The bounds and the attack multiply many small matrices; a multi-threaded
    OpenBLAS spends far more time synchronizing than computing on them
    (docs/verification.md).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def onnxruntime_output(onnx_path: Path, x: np.ndarray) -> np.ndarray | None:
    """The network's output at ``x`` by onnxruntime, or None if it is not installed."""
    try:
        import onnxruntime as ort  # type: ignore[import-not-found]
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
    dtype = np.float64 if "double" in inp.type else np.float32
    out = sess.run(None, {inp.name: np.asarray(x, dtype=dtype).reshape(shape)})[0]
    return np.asarray(out, dtype=np.float64).ravel()


def verify(network: str | Path, prop: str | Path | Property, timeout: float = 60.0, *,
           bounds: str | None = None, attack_time: float | None = None,
           split_inputs: int = 10, seed: int = 0, threads: int | None = None,
           obbt: float = 0.0, alpha: bool = True, bab: bool = True,
           per_branch: bool = True,
           log: Callable[[str], None] | None = None) -> VerifyResult:
    """Decide ``prop`` (a VNN-LIB path or a parsed ``Property``) on ``network`` (ONNX).

    Args:
        network: the ``.onnx`` file.
        prop: the property.
        timeout: seconds for everything (reading included).
        bounds: neuron-bounds method (default: the best available).
        attack_time: seconds for the attack (default 5 % of the timeout, 0.5-10 s).
        split_inputs: split the input box when it has at most this many entries
            (0 disables splitting).
        seed: the attack's random seed.
        threads: solver threads.
        obbt: share of the MILP's time for LP bound tightening before it (0: none;
            only for networks with more than ``split_inputs`` inputs and 2+ hidden layers).
        alpha: tighten the neuron bounds by optimized slopes before the MILP (inputs
            of more than ``split_inputs`` entries only).
        bab: branch and bound over ReLU splits (:mod:`nnlang.verify.bab`) before the
            MILP, for a share of the time (inputs of more than ``split_inputs`` entries).
        per_branch: one MILP per open branch of the output condition (default: each is
            a plain "can all these rows hold" problem, whose LP relaxation the
            disjunction does not weaken; docs/verification.md); False: one MILP with
            a binary per branch.
        log: called with progress messages.

    Returns:
        A :class:`VerifyResult`; ``status`` is ``sat``, ``unsat``, ``timeout`` or ``unknown``.
    """
    start = time.perf_counter()
    network = Path(network)
    if network.suffix.lower() != ".onnx":
        raise DataError(f"'{network}': verify needs an .onnx network")
    if not isinstance(prop, Property):
        try:
            prop = read_vnnlib(prop, start + timeout)
        except TimeLimitError as err:  # the timeout includes reading: answer at it
            return VerifyResult("timeout", None, time.perf_counter() - start, "reading",
                                err.message)
    net = load_network(network)
    check_sizes(net, prop)
    run = _Run(net, network, prop, timeout, bounds, attack_time, split_inputs, seed, log,
               start, threads, obbt, alpha, bab, per_branch)
    return run.run()


def check_sizes(net: Network, prop: Property) -> None:
    """The property's X/Y counts must match the network's input and output sizes."""
    for kind, have, want, what in (("X", prop.n_in, net.n_in, "inputs"),
                                   ("Y", prop.n_out, net.n_out, "outputs")):
        if have != want:
            span = prop.spans.get(f"{kind}_{have - 1}") if have else None
            raise SemanticError(f"the property declares {have} {what} ({kind}_0..{kind}_"
                                f"{max(have - 1, 0)}) but network '{net.source or net.name}' "
                                f"has {want}", span)

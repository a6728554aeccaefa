"""What a batch found, as a data set: ``nnlang export BATCH_DIR -o FILE.npz``.

Zhu (2021) §4.4 adds adversarial examples, with their true labels, to the
training data. :func:`export_batch` writes a finished batch's examples as one
``.npz`` any training framework reads; :func:`read_export` reads it back and
re-checks every example against the network (the label it gives, the distance).
Only instances whose answer passed the batch's forward-pass check are exported;
the others are counted by reason, in the file too.

Keys (docs/batch.md, "Exporting"): ``adversarial`` and ``original`` (the
network's input shape), ``label`` (true), ``predicted`` (what the network gives
the adversarial input), ``distance`` (the objective), ``instance``, ``status``,
``exact_distance`` (the distance recomputed from the two inputs), the scalars
``norm``, ``approximate``, ``spec``, ``network_file``, ``network_sha256``, and
``left_out_instance`` / ``left_out_reason``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnlang.batch.config import META, RESULTS, BatchConfig
from nnlang.batch.instances import load_results, prepare
from nnlang.batch.records import digest
from nnlang.check import check_program
from nnlang.errors import DataError
from nnlang.networks.load import load_network
from nnlang.networks.network import Network
from nnlang.parse import ast, parse_file, parse_text

# the spec's distance function -> the norm recomputed from original and adversarial
NORMS = {"norm0": "l0", "norm1": "l1", "norm2": "l2", "norminf": "linf", "sumsq": "sumsq"}
# a pixel counts as changed for L0 above this (the solver's tolerances leave 1e-9 noise)
L0_TOL = 1e-6
# how far a recomputed distance may lie from the recorded one (relative to 1 + |d|)
DIST_TOL = 1e-5
KEYS = ("adversarial", "original", "label", "predicted", "distance", "exact_distance",
        "instance", "status")


@dataclass
class AdversarialSet:
    """Exported examples (arrays of one row per example) and what produced them."""

    adversarial: np.ndarray
    original: np.ndarray
    label: np.ndarray
    predicted: np.ndarray
    distance: np.ndarray
    exact_distance: np.ndarray
    instance: np.ndarray
    status: np.ndarray
    norm: str = ""
    approximate: bool = False
    spec: str = ""
    network_file: str = ""
    left_out: dict[int, str] = field(default_factory=dict)  # instance -> reason

    def __len__(self) -> int:
        return len(self.instance)

    def left_out_counts(self) -> dict[str, int]:
        return dict(Counter(self.left_out.values()))

    def report(self) -> str:
        """One line: how many exported, how many left out and why."""
        counts = ", ".join(f"{n} {why}" for why, n in sorted(self.left_out_counts().items()))
        return (f"{len(self)} adversarial examples exported"
                + (f"; {len(self.left_out)} left out ({counts})" if self.left_out else ""))


def distance(norm: str, diff: np.ndarray) -> np.ndarray:
    """The distance ``norm`` of each row of ``diff`` (rows flattened)."""
    d = np.abs(diff.reshape(len(diff), -1))
    if norm == "l0":
        return np.sum(d > L0_TOL, axis=1).astype(np.float64)
    if norm == "l1":
        return d.sum(axis=1)
    if norm == "l2":
        return np.sqrt(np.sum(d * d, axis=1))
    if norm == "linf":
        return d.max(axis=1, initial=0.0)
    if norm == "sumsq":
        return np.sum(d * d, axis=1)
    return np.full(len(diff), np.nan)


def _objective_norm(prog: ast.Program) -> tuple[str, bool]:
    """(norm, approximated) of a ``minimize norm*(...)`` / ``sumsq(...) approx ...`` spec."""
    objs = [s for s in prog.statements if isinstance(s, ast.Objective)]
    if not objs:
        return "", False
    expr, approx = objs[0].expr, False
    if isinstance(expr, ast.Approx):
        expr, approx = expr.expr, True
    if isinstance(expr, ast.Call) and expr.func in NORMS:
        return NORMS[expr.func], approx
    return "", approx


def _config(batch_dir: Path) -> BatchConfig:
    try:
        meta = json.loads((batch_dir / META).read_text())
    except OSError:
        raise DataError(f"'{batch_dir}' is no batch folder: it has no {META}") from None
    except ValueError as exc:
        raise DataError(f"'{batch_dir / META}' is not valid JSON: {exc}") from None
    return BatchConfig(spec=Path(meta["spec"]), out_dir=batch_dir, param=meta["param"],
                       over=Path(meta["data"]) if meta.get("data") else None,
                       sets=dict(meta.get("sets") or {}))


def _network_file(prog: ast.Program, spec: Path, name: str) -> Path | None:
    for s in prog.statements:
        if (isinstance(s, ast.NetworkStmt) and s.name == name and isinstance(s.value, ast.Call)
                and s.value.func == "load" and s.value.args
                and isinstance(s.value.args[0], ast.String)):
            return (spec.resolve().parent / s.value.args[0].value).resolve()
    return None


def _reason(line: dict) -> str | None:
    """Why an instance cannot be exported (None: it can)."""
    if line.get("status") == "error":
        return "error"
    if line.get("objective") is None or not line.get("values"):
        return f"no solution ({line.get('status')})"
    if not line.get("forward_check_ok", line.get("forward_gap") is not None):
        return "forward-pass check failed"
    return None


def export_batch(batch_dir: str | Path, out: str | Path | None = None, *,
                 variable: str | None = None, label_param: str = "label") -> AdversarialSet:
    """The examples of a finished batch, written to ``out`` (an ``.npz``) if given.

    ``variable`` is the spec's input variable (default: the one the batch drew
    pictures of); ``label_param`` the parameter holding each instance's true
    label. Example::

        s = export_batch("runs/l1", "l1.npz")
        print(s.report())   # 98 adversarial examples exported; 2 left out (...)
    """
    batch_dir = Path(batch_dir)
    config = _config(batch_dir)
    done, _ = load_results(batch_dir / RESULTS)
    if not done:
        raise DataError(f"'{batch_dir}' holds no finished instance ({RESULTS} is missing or empty)")
    text, _ = prepare(config)
    prog = parse_text(text, str(config.spec)) if text is not None else parse_file(config.spec)
    norm, approx = _objective_norm(prog)
    rows: dict[str, list] = {k: [] for k in KEYS}
    left_out: dict[int, str] = {}
    networks: dict[str, Network] | None = None
    net_name = net_file = None
    for i in sorted(done):
        line = done[i]
        why = _reason(line)
        var = variable or next(iter(line.get("pictures") or {}), None)
        if why is None and (var is None or var not in line["values"]):
            why = f"no variable '{var}'" if var else "no drawable input variable"
        pic = (line.get("pictures") or {}).get(var) or {}
        if why is None and pic.get("original") is None:
            why = "no original input"
        if why is not None:
            left_out[i] = why
            continue
        program = check_program(prog, config.spec, dict(line["params"]), networks)
        if networks is None:
            networks = {k: nd.network for k, nd in program.networks.items()}
            net_name = next(iter(networks))
            net_file = _network_file(prog, config.spec, net_name)
        if label_param not in program.params:
            raise DataError(f"the spec declares no parameter '{label_param}' holding the true "
                            f"label (give label_param / --label NAME)")
        net = networks[net_name]
        shape = net.input_shape or (net.sizes[0],)
        adv = np.asarray(line["values"][var], dtype=np.float64).reshape(shape)
        orig = np.asarray(pic["original"], dtype=np.float64).reshape(shape)
        exact = _recorded_exact(line) if approx else None
        rows["adversarial"].append(adv)
        rows["original"].append(orig)
        rows["label"].append(int(np.asarray(program.params[label_param]).reshape(())))
        apps = list((line.get("networks") or {}).values())
        rows["predicted"].append(int(apps[0]["predicted"]) if apps and apps[0].get(
            "predicted") is not None else int(np.argmax(net.predict(adv[None])[0])))
        rows["distance"].append(float(line["objective"]))
        rows["exact_distance"].append(
            exact if exact is not None else float(distance(norm, (adv - orig)[None])[0]))
        rows["instance"].append(i)
        rows["status"].append(str(line["status"]))
    if not rows["instance"]:
        raise DataError(f"no instance of '{batch_dir}' can be exported: "
                        + ", ".join(f"{n} {why}" for why, n in Counter(left_out.values()).items()))
    arrays = {k: np.asarray(v) for k, v in rows.items()}
    arrays["label"] = arrays["label"].astype(np.int64)
    arrays["predicted"] = arrays["predicted"].astype(np.int64)
    arrays["instance"] = arrays["instance"].astype(np.int64)
    result = AdversarialSet(**arrays, norm=norm, approximate=approx, spec=str(config.spec),
                            network_file=str(net_file or ""), left_out=left_out)
    if out is not None:
        write_set(result, Path(out))
    return result


def _recorded_exact(line: dict) -> float | None:
    approx = [a for a in (line.get("approximations") or {}).values() if isinstance(a, dict)]
    return float(approx[0]["exact"]) if approx and approx[0].get("exact") is not None else None


def write_set(s: AdversarialSet, path: Path) -> None:
    """The ``.npz`` of ``s`` (keys: the module docstring)."""
    if path.suffix.lower() != ".npz":
        raise DataError(f"the export file must end in .npz, got '{path}'")
    path.parent.mkdir(parents=True, exist_ok=True)
    left = sorted(s.left_out)
    np.savez_compressed(
        path, **{k: getattr(s, k) for k in KEYS}, norm=np.array(s.norm),
        approximate=np.array(s.approximate), spec=np.array(s.spec),
        network_file=np.array(s.network_file),
        network_sha256=np.array(digest(s.network_file) if s.network_file else ""),
        left_out_instance=np.array(left, dtype=np.int64),
        left_out_reason=np.array([s.left_out[i] for i in left], dtype=str))


def read_export(path: str | Path, network: Network | str | Path | None = None, *,
                check: bool = True) -> AdversarialSet:
    """An exported set, re-checked unless ``check=False``: the network (``network``,
    else the file recorded in the export) gives every example its recorded label,
    and the distance recomputed from ``original`` and ``adversarial`` is the
    recorded ``exact_distance``, the objective is not below it, and an optimal exact
    objective equals it. A mismatch raises ``DataError``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            data: dict[str, Any] = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the export '{path}': {exc}") from None
    missing = [k for k in KEYS if k not in data]
    if missing:
        raise DataError(f"'{path}' is no nnlang export: it lacks {', '.join(missing)}")
    s = AdversarialSet(**{k: data[k] for k in KEYS}, norm=str(data.get("norm", "")),
                       approximate=bool(data.get("approximate", False)),
                       spec=str(data.get("spec", "")),
                       network_file=str(data.get("network_file", "")),
                       left_out=dict(zip(data.get("left_out_instance", np.zeros(0)).tolist(),
                                         data.get("left_out_reason", np.zeros(0)).tolist())))
    if check:
        recheck(s, network if network is not None else (s.network_file or None), path)
    return s


def recheck(s: AdversarialSet, network: Network | str | Path | None, where: Path) -> None:
    """Raise ``DataError`` naming the first example that does not hold."""
    if network is None:
        raise DataError(f"'{where}' records no network file: pass the network to re-check with")
    net = network if isinstance(network, Network) else load_network(Path(network))
    pred = np.argmax(net.predict(s.adversarial.reshape((len(s),) + (net.input_shape or (-1,)))),
                     axis=1)
    bad = np.flatnonzero(pred != s.predicted)
    if bad.size:
        k = int(bad[0])
        raise DataError(f"'{where}': instance {int(s.instance[k])}: the network gives "
                        f"{int(pred[k])}, the export records {int(s.predicted[k])} "
                        f"({bad.size} of {len(s)} differ)")
    if not s.norm:
        return
    got = distance(s.norm, s.adversarial - s.original)
    tol = DIST_TOL * (1.0 + np.abs(got))
    # the recorded exact distance is the one of the two inputs; the objective bounds it
    # (a time-limited L0 incumbent may count pixels it did not change), and an optimal
    # exact objective is it
    off = np.abs(got - s.exact_distance) > tol
    off |= s.distance < got - tol
    if not s.approximate:
        off |= (s.status == "optimal") & (np.abs(got - s.distance) > tol)
    bad = np.flatnonzero(off)
    if bad.size:
        k = int(bad[0])
        raise DataError(f"'{where}': instance {int(s.instance[k])} ({s.status[k]}): the "
                        f"{s.norm} distance of the example is {got[k]:.9g}, the export records "
                        f"{s.exact_distance[k]:.9g} (objective {s.distance[k]:.9g}; "
                        f"{bad.size} of {len(s)} differ)")

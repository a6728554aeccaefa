"""nnlang: optimization over trained ReLU networks as exact 0-1 MILPs.

>>> import nnlang
>>> m = nnlang.compile("examples/mnist_adversarial_l1.nnq", params={"index": 3})  # doctest: +SKIP
>>> r = m.solve()                                                            # doctest: +SKIP
>>> r.status, r.objective, r.values["x"].shape                              # doctest: +SKIP

The names below load on first use, so that ``import nnlang.cli`` (``nnlang --help``)
and ``nnlang.registry`` load no numpy, CVXPY or solver.
"""

from __future__ import annotations

import importlib
from typing import Any

from nnlang.errors import NnlangError
from nnlang.version import __version__

_LAZY = {"compile": "nnlang.api", "CompiledModel": "nnlang.api", "Result": "nnlang.solve.results",
         "Network": "nnlang.networks.network", "embed": "nnlang.embedding",
         "train": "nnlang.training.spec", "export_batch": "nnlang.batch.export",
         "read_export": "nnlang.batch.export", "compare_batches": "nnlang.batch.compare"}

__all__ = ["CompiledModel", "Network", "NnlangError", "Result", "__version__", "compare_batches",
           "compile", "embed", "export_batch", "read_export", "train"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nnlang' has no attribute '{name}'")

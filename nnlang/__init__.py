"""nnlang: optimization over trained ReLU networks as exact 0-1 MILPs.

>>> import nnlang
>>> m = nnlang.compile("examples/mnist_adversarial_l1.nnq", params={"index": 3})  # doctest: +SKIP
>>> r = m.solve()                                                            # doctest: +SKIP
>>> r.status, r.objective, r.values["x"].shape                              # doctest: +SKIP
"""

from nnlang.api import CompiledModel, compile
from nnlang.errors import NnlangError
from nnlang.results import Result

__version__ = "0.1.0"
__all__ = ["CompiledModel", "NnlangError", "Result", "__version__", "compile"]

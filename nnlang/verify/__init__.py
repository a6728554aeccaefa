"""VNN-LIB verification: read properties, decide them with attacks, bounds and the MILP.

``read_vnnlib(path) -> Property`` (input boxes and the output condition in
disjunctive normal form), ``verify(onnx, vnnlib, timeout) -> VerifyResult``
(``sat`` with a checked counterexample, ``unsat``, ``timeout`` or ``unknown``),
and ``write_spec(onnx, prop, "spec.nnq")``, which writes the same problem as a
readable nnlang spec. The command line: ``nnlang verify`` and ``nnlang import``.
"""

from nnlang.verify.importer import spec_text, write_spec
from nnlang.verify.result import VerifyResult, read_counterexample
from nnlang.verify.verify import verify
from nnlang.verify.vnnlib import Case, Conjunction, Property, parse_vnnlib, read_vnnlib

__all__ = ["Case", "Conjunction", "Property", "VerifyResult", "parse_vnnlib", "read_counterexample",
           "read_vnnlib", "spec_text", "verify", "write_spec"]

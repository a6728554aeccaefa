"""Batch runs: one spec solved for many instances, as in Zhu's (2021) Tables 2-6.

Instance ``i`` binds the spec's instance parameter (``index`` by default) to
``i``; everything else is the spec's (plus ``--set`` overrides). ``--over
DATA.npz`` makes the spec's ``data("...npz", "key")`` calls read ``DATA.npz``
instead, for every key that file holds.

Each finished instance is appended as one JSON line to ``DIR/results.jsonl``
(flushed and fsynced at once), so an interrupted run loses nothing already
solved and a re-run skips the instances already in the file. At the end
``DIR/summary.md`` gets the Zhu (2021)-style table; for image inputs
``DIR/grid.png`` shows original / adversarial / difference per instance, and
for small tabular inputs ``DIR/changes.md`` lists the changed attributes (the WBO master's
thesis fig. 4.2).

Every instance re-runs ``nnlang.compile`` (parse, check, bounds, encode) in the
process that solves it, with the networks the spec loads from files read once per
process; see docs/batch.md for what that costs. ``--jobs J`` runs a local process
pool and ``--cluster ADDRESS|local:N`` Dask tasks (``nnlang.batch.execute``,
``nnlang.batch.cluster``; docs/distributed.md).

``export_batch`` writes what a batch found as an ``.npz`` data set and
``read_export`` reads it back, re-checked; ``compare_batches`` pairs two batches'
instances (Zhu (2021) Table 8's % difference). docs/batch.md, "Exporting".
"""

from nnlang.batch.compare import compare_batches
from nnlang.batch.config import BatchConfig, BatchOutcome
from nnlang.batch.export import AdversarialSet, export_batch, read_export
from nnlang.batch.instances import load_results, prepare, run_task, solve_instance
from nnlang.batch.progress import Progress
from nnlang.batch.run import run_batch
from nnlang.batch.summary import summarize, summary_table

__all__ = ["AdversarialSet", "BatchConfig", "BatchOutcome", "Progress", "compare_batches",
           "export_batch", "load_results", "prepare", "read_export", "run_batch", "run_task",
           "solve_instance", "summarize", "summary_table"]

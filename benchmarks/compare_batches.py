"""Two or more batches of the same images side by side (e.g. epigraph vs lambda PWL).

    python benchmarks/compare_batches.py epigraph5=DIR_OR_JSON lambda5=DIR_OR_JSON ...

Each argument is ``name=source``; a source is what ``l2_vs_l1.py`` reads: an
``nnlang batch`` folder or ``instances.json:batch`` (several sources may share a
name: their instances are merged). Prints, per name, the images, the solved
count and the mean / median / max solve seconds; then each later name against
the first over the images both solved: the ratio of mean solve times, the
per-image ratios' median and range, on how many images the first was faster,
and the largest relative difference of the two objectives.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from l2_vs_l1 import read

from nnlang.batch.compare import against
from nnlang.batch.compare import time_table as table


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or any("=" not in a for a in args):
        print(__doc__)
        return 2
    batches: dict[str, dict[int, dict]] = {}
    for arg in args:
        name, _, source = arg.partition("=")
        batches.setdefault(name, {}).update(read(source))
    print("\n".join(table(batches)))
    names = list(batches)
    print()
    for other in names[1:]:
        print("- " + against(names[0], batches[names[0]], other, batches[other]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Solve strategies, each a module with ``applies(task, options)`` and
``solve(task, options)``: ``radius``, ``tighten``, ``single`` (the table is
``nnlang.registry.STRATEGIES``), plus ``outer``, the outer approximation that
``single`` uses for a sum of squares with integers on HiGHS."""

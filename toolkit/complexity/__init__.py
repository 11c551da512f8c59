"""Empirical complexity: how a callable's cost grows with its input, and which function to fix.

- :func:`measure_scaling` times ``fn(make_input(n))`` over sizes -> the ``scaling`` table;
- :func:`fit_complexity` fits O(1) .. O(2^n) to it and says which class, or that it cannot tell;
- :func:`scaling_by_function` profiles the callable at each size and fits every function's self
  time: the function whose cost grows fastest, even when it is not the hottest at small n;
- :func:`findings` runs the ``complexity.*`` checklist rules on those results.

    >>> import toolkit as tk
    >>> already_sorted = lambda n: list(range(n))     # timsort finds one run: linear
    >>> df = tk.measure_scaling(sorted, [100, 1000, 10000, 100000], already_sorted)  # doctest: +SKIP
    >>> fit = tk.fit_complexity(df)                                                  # doctest: +SKIP
    >>> fit.best, fit.ambiguous                                                      # doctest: +SKIP
    ('O(n)', ())
"""

from __future__ import annotations

from .by_function import scaling_by_function
from .fit import CLASSES, ComplexityFit, fit_complexity
from .measure import BudgetWarning, measure_scaling
from .rules import SUPERLINEAR, findings

__all__ = ["measure_scaling", "fit_complexity", "scaling_by_function", "findings", "ComplexityFit",
           "CLASSES", "BudgetWarning", "SUPERLINEAR"]

"""The ``complexity.*`` checklist rules and :func:`findings` over scaling results.

``complexity.superlinear`` ("regular performance testing"): a callable or a function inside it
whose cost grows faster than O(n log n) (O(n^2), O(n^3), O(2^n)) while taking a meaningful share
of the work at the largest size measured. Such code is fine on test data and slow on production
data; the fit says how much slower at 10x the size. That prediction is the finding's saving (in
words); a measurement is not an hour of production traffic, so it carries no per-hour figure and
ranks after findings that have one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from .. import rules as R
from ..profiles.files import short_file
from ..ranking import to_frame
from .fit import GROWTH, ComplexityFit, fit_complexity

WORSE_THAN = "O(n log n)"
# Profiler samples per size a per-function fit needs before the rule trusts it (Poisson noise
# ~ 1/sqrt(k): 20 % at 25). Not in the rule's thresholds table only because README.md lists
# those verbatim; the description says it.
MIN_SAMPLES = 25

SUPERLINEAR = R.rule(
    "complexity.superlinear", "regular performance testing",
    "A function's cost grows faster than O(n log n) with its input size (quadratic or worse; the "
    "free exponent's 95% interval above 1) and takes a meaningful share of the call at the "
    "largest size measured (per function: at least 25 profiler samples per size behind the fit).",
    severity="high",
    fix="Replace the inner linear work: list membership in a loop -> a set or dict; nested-loop "
        "join -> index one side in a dict; repeated string/bytes concatenation -> ''.join or "
        "io.StringIO; recomputation -> memoise. Re-run the scaling fit to confirm near-linear growth.",
    thresholds={"worse_than": WORSE_THAN, "min_share_pct": 10.0, "min_exponent_lo": 1.0},
)


def _superlinear(cls: Any, ambiguous: Iterable[str], exponent_lo: float) -> bool:
    """Worse than O(n log n), not confusable with a class that is not, and the free exponent's
    confidence interval lies above linear: both views of the data must say "superlinear" (a
    sampled profile's self times are noisy, and noise alone can bend a curve)."""
    if not isinstance(cls, str) or GROWTH.get(cls, -1) <= GROWTH[WORSE_THAN]:
        return False
    if not (exponent_lo > SUPERLINEAR.thresholds["min_exponent_lo"]):
        return False
    return all(GROWTH.get(a, -1) > GROWTH[WORSE_THAN] for a in ambiguous)


def _from_fit(fit: ComplexityFit, min_share_pct: float) -> list[dict[str, Any]]:
    if not _superlinear(fit.best, fit.ambiguous, fit.exponent_ci[0]):
        return []
    name = fit.meta.get("function") or "the measured callable"
    lo, hi = fit.n_range
    t_lo, t_hi = fit.predict(lo), fit.predict(hi)
    ten = fit.predict(10 * hi)
    elo, ehi = fit.exponent_ci
    evidence = (f"{name}: time per call grows as {fit.best} (free exponent {fit.exponent:.2f} "
                f"[{elo:.2f}, {ehi:.2f}]) over n={lo:,.0f}..{hi:,.0f}: {t_lo:.3g} s -> {t_hi:.3g} s "
                f"(x{t_hi / t_lo:,.0f} while n grew x{hi / lo:,.0f}); predicted {ten:.3g} s per call "
                f"at n={10 * hi:,.0f}")
    if fit.ambiguous:
        evidence += f" (cannot tell from {', '.join(fit.ambiguous)}, equally superlinear)"
    return [R.finding(SUPERLINEAR, f"{name} grows as {fit.best}", evidence, key=name, file=fit.meta.get("file"),
                      line=fit.meta.get("line"),
                      saving=f"at n={10 * hi:,.0f} a call is predicted to take {R.duration(ten)}, "
                             f"{ten / t_hi:,.0f}x the {R.duration(t_hi)} at n={hi:,.0f} (10x the input)",
                      function=name, complexity=fit.best, exponent=fit.exponent, share_pct=100.0)]


def _from_table(table: pd.DataFrame, min_share_pct: float) -> list[dict[str, Any]]:
    rows = []
    n_min, n_max = table.attrs.get("n_min"), table.attrs.get("n_max")
    for r in table.itertuples(index=False):
        ambiguous = [a.strip() for a in (r.ambiguous or "").split(",") if a.strip()]
        if not _superlinear(r.complexity, ambiguous, r.exponent_lo) or not (r.share_pct >= min_share_pct):
            continue
        samples = getattr(r, "samples", None)
        if samples is not None and not pd.isna(samples) and samples < MIN_SAMPLES:
            continue  # sampling noise of a few samples per size can bend any curve
        # the file's path is the measuring machine's: its short form reads the same everywhere
        where = f"{short_file(r.file)}:{r.line}" if r.file else "unknown file"
        growth = f"x{r.growth_x:,.0f}" if math.isfinite(r.growth_x) else "from unmeasurable"
        evidence = (f"{r.function} ({where}): self time per call grows as {r.complexity} (exponent "
                    f"{r.exponent:.2f} [{r.exponent_lo:.2f}, {r.exponent_hi:.2f}]), {growth} from "
                    f"n={n_min:,} to n={n_max:,}; {r.share_pct:.0f}% of the call's self time at "
                    f"n={n_max:,} (was {r.share_pct_smallest:.0f}% at n={n_min:,})")
        severity = "high" if r.share_pct >= 30 or r.complexity in ("O(n^3)", "O(2^n)") else "medium"
        rows.append(R.finding(SUPERLINEAR, f"{r.function} grows as {r.complexity}", evidence,
                              key=f"{r.function} ({r.file})", file=r.file,
                              line=None if pd.isna(r.line) else int(r.line), severity=severity,
                              saving=f"{r.share_pct:.0f}% of the call's self time at n={n_max:,}, growing "
                                     f"as {r.complexity}",
                              function=r.function, complexity=r.complexity, exponent=r.exponent,
                              share_pct=r.share_pct))
    return rows


def findings(evidence: Any, *, min_share_pct: float | None = None, per_rule: int | None = R.PER_RULE,
             dedupe: bool = True, **options: Any) -> pd.DataFrame:
    """Run the ``complexity.*`` rules on scaling evidence; returns the ranked ``findings`` table
    (as :func:`toolkit.findings` builds it).

    ``evidence``: a :class:`ComplexityFit`, a :func:`scaling_by_function` table, a ``scaling``
    table from :func:`measure_scaling` (fitted here), or a list of those. Extra columns:
    function, complexity, exponent, share_pct.

    Example::

        >>> import numpy as np, toolkit as tk
        >>> n = np.array([100, 300, 1000, 3000, 10000])
        >>> tk.complexity.findings(tk.fit_complexity(n, 1e-6 + 1e-9 * n**2))["rule"].tolist()
        ['complexity.superlinear']
    """
    share = SUPERLINEAR.thresholds["min_share_pct"] if min_share_pct is None else min_share_pct
    items = evidence if isinstance(evidence, (list, tuple)) else [evidence]
    rows: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, ComplexityFit):
            rows += _from_fit(item, share)
        elif isinstance(item, pd.DataFrame) and "complexity" in item.columns:
            rows += _from_table(item, share)
        elif isinstance(item, pd.DataFrame) and {"n", "time_s"} <= set(item.columns):
            rows += _from_fit(fit_complexity(item), share)
        else:
            raise TypeError(f"complexity.findings takes a ComplexityFit, a scaling_by_function table or "
                            f"a scaling table, not {type(item).__name__}")
    return to_frame(rows, per_rule=per_rule, dedupe=dedupe)

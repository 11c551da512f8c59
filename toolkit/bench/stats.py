"""The statistics behind every comparison: a bootstrap interval of a ratio of medians, the
Mann-Whitney U test, Benjamini-Hochberg across many comparisons, and the verdict rule.

A verdict is ``slower`` only when three things hold: the change is significant after
Benjamini-Hochberg (``q_value < alpha``, so across many benchmarks the expected share of false
alarms among the reported changes stays at ``alpha``); the whole confidence interval of the ratio
lies above 1; and the ratio itself is at least ``1 + min_effect`` (a real but tiny change is not
worth a failed build). ``faster`` mirrors it (ratio at most ``1 / (1 + min_effect)``). Fewer than
``min_samples`` values on a side (or a summary without rounds) is ``too few samples``: no test is
made, the ratio of the medians is still shown.

Medians, not minima or means: the minimum of a noisy benchmark moves with one lucky round and the
mean with one unlucky one, the median with neither (see benchmarks/RESULTS.md, A/A calibration).

Where a side holds several runs (a base and its re-runs), the run is the unit
(:func:`run_level_test`): runs of the same code differ by more than their rounds suggest
(another job on the machine, the CPU's frequency, memory layout), so the p-value and the interval
come from a t-test on the logs of the runs' medians, not from the rounds. With one run a side
the rounds are all there is: Mann-Whitney U on them and a bootstrap interval (see
benchmarks/RESULTS.md for how often that design raises false alarms on a busy machine).
:func:`ratio_interval` also resamples runs then rounds when given several.

Example::

    >>> import numpy as np
    >>> bh(np.array([0.01, 0.04, 0.03, np.nan]))
    array([0.03, 0.04, 0.04,  nan])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

SLOWER, FASTER, UNCHANGED, TOO_FEW = "slower", "faster", "unchanged", "too few samples"
VERDICTS = (SLOWER, FASTER, UNCHANGED, TOO_FEW)
# Resample in blocks of at most this many values (resamples x sample size) to bound memory.
_BLOCK_VALUES = 4_000_000


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN and is not counted."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


def mann_whitney(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value (exact for small samples without ties)."""
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    if np.ptp(np.concatenate([a, b])) == 0:
        return 1.0
    return float(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def _medians(groups: Sequence[np.ndarray], reps: int, rng: np.random.Generator,
             stat: float) -> np.ndarray:
    """``reps`` bootstrap replicates of the ``stat`` quantile of the pooled ``groups``: when there
    are several groups (runs), groups are resampled first, then values within each."""
    if len(groups) == 1:
        x = groups[0]
        out = np.empty(reps)
        block = max(1, _BLOCK_VALUES // max(len(x), 1))
        for start in range(0, reps, block):
            k = min(block, reps - start)
            idx = rng.integers(0, len(x), size=(k, len(x)))
            out[start:start + k] = np.quantile(x[idx], stat, axis=1)
        return out
    out = np.empty(reps)
    k = len(groups)
    sizes = {len(g) for g in groups}
    if len(sizes) == 1:  # runs of equal length (the usual case): one array operation per block
        n = sizes.pop()
        x = np.stack(groups)
        block = max(1, _BLOCK_VALUES // (k * n))
        for start in range(0, reps, block):
            m = min(block, reps - start)
            chosen = rng.integers(0, k, size=(m, k, 1))
            within = rng.integers(0, n, size=(m, k, n))
            out[start:start + m] = np.quantile(x[chosen, within].reshape(m, k * n), stat, axis=1)
        return out
    for r in range(reps):
        chosen = rng.integers(0, k, size=k)
        pooled = np.concatenate([g[rng.integers(0, len(g), size=len(g))] for g in (groups[i] for i in chosen)])
        out[r] = np.quantile(pooled, stat)
    return out


def ratio_interval(base: Sequence[np.ndarray], head: Sequence[np.ndarray], *, confidence: float = 0.95,
                   n_resamples: int = 2000, seed: int = 0, stat: float = 0.5) -> tuple[float, float]:
    """Percentile-bootstrap interval of quantile(head) / quantile(base) (``stat`` = 0.5: the
    medians). Each side is a list of runs (arrays); the sides are resampled independently."""
    rng = np.random.default_rng(seed)
    b = _medians([np.asarray(g, float) for g in base if len(g)], n_resamples, rng, stat)
    h = _medians([np.asarray(g, float) for g in head if len(g)], n_resamples, rng, stat)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = h / b
        ratios[(h == 0) & (b == 0)] = 1.0  # both medians 0 (times logged as 0.000): no change
        if np.isnan(ratios).all():
            return float("nan"), float("nan")
        tail = (1 - confidence) / 2
        # replicates themselves (no interpolation, which an infinite ratio would turn into NaN),
        # taken outwards: the interval is never narrower than the percentiles
        low = np.nanquantile(ratios, tail, method="lower")
        high = np.nanquantile(ratios, 1 - tail, method="higher")
    return float(low), float(high)


def run_level_test(base: Sequence[np.ndarray], head: Sequence[np.ndarray], ratio: float, *,
                   confidence: float = 0.95) -> tuple[float, float, float] | None:
    """When a side holds several runs, the run is the unit: a t-test on the logs of the runs'
    medians. Both sides with 2+ runs: Welch's test; one side with 2+ runs and the other with one:
    is that run outside what the runs vary by (the one run's own noise is taken to be the same)?
    Returns ``(p_value, ci_low, ci_high)`` of ``ratio`` (interval ``ratio * exp(+-t se)``), or None
    when neither side has two runs (or a run's median is 0: no logarithm)."""
    mb = np.array([np.median(g) for g in base if len(g)])
    mh = np.array([np.median(g) for g in head if len(g)])
    kb, kh = len(mb), len(mh)
    if max(kb, kh) < 2 or min(kb, kh) < 1 or (mb <= 0).any() or (mh <= 0).any() or not np.isfinite(ratio):
        return None
    lb, lh = np.log(mb), np.log(mh)
    diff = lh.mean() - lb.mean()
    if kb >= 2 and kh >= 2:
        vb, vh = lb.var(ddof=1) / kb, lh.var(ddof=1) / kh
        se = np.sqrt(vb + vh)
        df = (vb + vh) ** 2 / (vb ** 2 / (kb - 1) + vh ** 2 / (kh - 1)) if vb + vh > 0 else kb + kh - 2
    else:
        many = lb if kb >= 2 else lh
        se = many.std(ddof=1) * np.sqrt(1 / len(many) + 1)
        df = len(many) - 1
    if se == 0:
        return (0.0 if diff else 1.0), ratio, ratio
    t = diff / se
    p = float(2 * sps.t.sf(abs(t), df))
    half = sps.t.ppf(0.5 + confidence / 2, df) * se
    return p, float(ratio * np.exp(-half)), float(ratio * np.exp(half))


def verdict(ratio: float, ci_low: float, ci_high: float, q_value: float, testable: bool, *,
            alpha: float, min_effect: float) -> str:
    """The rule in the module docstring."""
    if not testable:
        return TOO_FEW
    if not q_value < alpha:
        return UNCHANGED
    if ci_low > 1 and ratio >= 1 + min_effect:
        return SLOWER
    if ci_high < 1 and ratio <= 1 / (1 + min_effect):
        return FASTER
    return UNCHANGED


def check_options(alpha: float, min_effect: float, min_samples: int, confidence: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha!r}")
    if min_effect < 0:
        raise ValueError(f"min_effect must be >= 0 (0.05 = 5%), not {min_effect!r}")
    if min_samples < 2:
        raise ValueError(f"min_samples must be at least 2, not {min_samples!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")

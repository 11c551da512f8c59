"""Fit complexity classes to measured times: which of O(1) ... O(2^n) explains the data?

The method, stated so a reader can check it:

1. **Points.** The median time of each size (``points="median"``, default: robust to the odd
   slow repeat on a shared machine); ``points="all"`` fits every repetition.
2. **Models.** Each class is ``t(n) = a + b*g(n)`` with ``a, b >= 0`` (a constant overhead and a
   growth term; neither can be negative). The exponential class is ``a + b*c^n`` with its base
   ``c`` fitted in (1.01, 16) (naive Fibonacci grows as 1.618^n, subset enumeration as 2^n).
   The fit minimises the squared *log* residuals ``log(t_fit / t)`` (timing noise is
   multiplicative: 10 % jitter at n=10 and at n=10^5 are the same kind of error), started from
   a non-negative least squares fit of the relative errors (``scipy.optimize.nnls``) and refined
   with ``scipy.optimize.least_squares`` under the bounds.
3. **Criterion.** Bayesian information criterion on the log residuals,
   ``BIC = m*log(RSS/m) + k*log(m)`` (m points; k = 1 for O(1), 3 for the exponential, else 2):
   maximum likelihood under log-normal noise with a penalty per parameter. The lowest BIC wins;
   ``weight`` is the Schwarz weight ``exp(-ΔBIC/2)`` normalised over the candidates.
4. **Practical significance.** When the winner's growth term raises the time across the whole
   range by less than 5 standard errors of a per-size median (from the robust standard
   deviation, 1.4826 x MAD, of log times between repeats of a size; of the log residuals without
   repeats), the "growth" is noise fitted as a trend (typically one high median at the largest
   size): the answer is O(1), with a note saying so. The same when the rise is under 10 %
   however precise the data: a constant-time operation on a bigger structure gets a few percent
   slower from caches and memory layout (a dict lookup at 64 and at 30,000 keys), which is not
   a complexity class.
5. **Slope check.** A free power-law exponent ``k`` from a log-log regression over the upper half
   of the range (at least the 4 largest sizes), where the constant term matters least, with a
   confidence interval from the t distribution. Each class's ``implied_exponent`` is the log-log
   slope of its fitted curve over the same sizes. When the BIC winner's slope lies outside the
   CI (± 0.1) while another class's lies inside and that class's ΔBIC is below 10 (short of
   "very strong" evidence against it), that class is chosen and the BIC winner listed as an
   alternative, with the reason: the upper range decides. When no class matches the slope, a
   note says so (the data may scale as n^1.5, which is not a candidate).
6. **Cannot tell apart.** Every other class within ``threshold`` (default 4: a Bayes factor
   under about 7:1, "positive" but not strong evidence on Kass & Raftery's scale; timing noise on
   a shared machine is heavier-tailed than the BIC's Gaussian) of the chosen class's BIC is
   listed in ``.ambiguous``, and ``.reason`` says why: how far apart the fitted curves ever get
   in the measured range against the scatter of the measurements. ``.best`` is still the more
   likely class, not a certain one: read ``.ambiguous`` before acting on it.
7. **Refusals.** Fewer than 4 distinct sizes, a range narrower than one decade (max/min < 10),
   non-positive sizes, NaN, infinite, zero or negative times, or mismatched lengths raise
   :class:`~toolkit.errors.FitError`. The exponential is a candidate only when the largest size
   is at most 64: beyond that c^n grows by more than any measurable factor between neighbouring
   sizes, so an "exponential" fit could only be a step at the last point.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import FitError

# class -> g(n); growth order is the dict order.
CLASSES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "O(1)": lambda n: np.zeros_like(n, dtype=float),
    "O(log n)": lambda n: np.log(n),
    "O(n)": lambda n: n.astype(float),
    "O(n log n)": lambda n: n * np.log(n),
    "O(n^2)": lambda n: n.astype(float) ** 2,
    "O(n^3)": lambda n: n.astype(float) ** 3,
    "O(2^n)": lambda n: np.exp2(n.astype(float)),
}
GROWTH = {name: i for i, name in enumerate(CLASSES)}
EXPONENTIAL_MAX_N = 64
FLAT_SIGMAS = 5.0
FLAT_MIN_RISE = 0.10  # and below a 10 % rise over the whole range, growth is not a class
SLOPE_TOL = 0.1  # relative: how far a class's local slope may sit outside the CI (10 %) ...
SLOPE_TOL_MIN = 0.02  # ... but at least this much, in exponent units
SLOPE_OVERRIDE_BIC = 10.0  # "very strong" on Kass & Raftery's scale: beyond it the BIC stands

CRITERION = ("lowest BIC of log residuals (t = a + b*g(n), a, b >= 0, fitted to per-size medians), "
             "O(1) when the growth is within noise, the upper-range slope deciding a disagreement; "
             "classes within ΔBIC < {threshold:g} cannot be told apart")


def _g(cls: str, n: np.ndarray, n_ref: float, base: float = 2.0) -> np.ndarray:
    """g(n) scaled so g(n_ref) = 1 (keeps n^3 and c^n in floating range; b absorbs the scale)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        if cls == "O(1)":
            return np.zeros_like(n)
        if cls == "O(2^n)":
            return np.power(base, n - n_ref)
        ref = CLASSES[cls](np.array([n_ref]))[0]
        return CLASSES[cls](n) / ref if ref > 0 else CLASSES[cls](n)


def n_params(cls: str) -> int:
    """Free parameters of a class's model: a; a and b; a, b and the exponential's base."""
    return {"O(1)": 1, "O(2^n)": 3}.get(cls, 2)


@dataclasses.dataclass
class _Model:
    cls: str
    a: float
    b: float  # coefficient of the scaled g
    n_ref: float
    base: float = float("nan")  # only for the exponential class

    def __call__(self, n: Any) -> np.ndarray:
        n = np.asarray(n, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            return self.a + self.b * _g(self.cls, n, self.n_ref, self.base)


def _nnls(g: np.ndarray, y: np.ndarray, k: int) -> tuple[float, float]:
    A = np.column_stack([np.ones_like(y), g])[:, :k] / y[:, None]
    coef, _ = optimize.nnls(A, np.ones_like(y))
    return float(coef[0]), (float(coef[1]) if k == 2 else 0.0)


def _rss(a: float, b: float, g: np.ndarray, y: np.ndarray) -> float:
    fit = np.maximum(a + b * g, 1e-300)
    return float(np.sum(np.log(fit / y) ** 2))


# Bases tried as starting points for the exponential (fib's recursion grows as 1.618^n).
_BASES = (1.2, 1.4, 1.618, 2.0, 2.5, 3.0)


def _fit_one(cls: str, n: np.ndarray, y: np.ndarray, n_ref: float) -> tuple[_Model, float]:
    k = min(n_params(cls), 2)
    if cls == "O(2^n)":
        starts = [(c, *_nnls(_g(cls, n, n_ref, c), y, 2)) for c in _BASES]
        base, a, b = min(starts, key=lambda s: _rss(s[1], s[2], _g(cls, n, n_ref, s[0]), y))
    else:
        base = float("nan")
        a, b = _nnls(_g(cls, n, n_ref), y, k)
    g0 = _g(cls, n, n_ref, base)
    rss = _rss(a, b, g0, y)

    def log_resid(p: np.ndarray) -> np.ndarray:
        if cls == "O(2^n)":
            fit = p[0] + p[1] * _g(cls, n, n_ref, math.exp(p[2]))
        else:
            fit = p[0] + (p[1] * g0 if k == 2 else 0.0)
        return np.log(np.maximum(fit, 1e-300) / y)

    floor = 1e-12 * float(np.median(y))
    x0 = [max(a, floor), max(b, floor)][:k]
    lo, hi = [0.0] * k, [np.inf] * k
    if cls == "O(2^n)":
        x0, lo, hi = x0 + [math.log(base)], lo + [math.log(1.01)], hi + [math.log(16.0)]
    try:  # refine on the criterion's own scale; keep the start if that is not better
        res = optimize.least_squares(log_resid, x0, bounds=(lo, hi), x_scale="jac")
        rss_ref = float(np.sum(res.fun ** 2))
        if np.isfinite(rss_ref) and rss_ref < rss:
            rss = rss_ref
            a = float(res.x[0])
            b = float(res.x[1]) if k == 2 else 0.0
            if cls == "O(2^n)":
                base = math.exp(float(res.x[2]))
    except (ValueError, FloatingPointError):
        pass
    return _Model(cls, a, b, n_ref, base), rss


def _loglog_slope(n: np.ndarray, y: np.ndarray, level: float) -> tuple[float, float, float]:
    x, z = np.log(n), np.log(y)
    if len(np.unique(x)) < 2:
        return float("nan"), float("nan"), float("nan")
    res = stats.linregress(x, z)
    df = len(x) - 2
    if df < 1:
        return float(res.slope), float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, df) * res.stderr
    return float(res.slope), float(res.slope - half), float(res.slope + half)


def _clean(sizes: Any, times: Any) -> tuple[np.ndarray, np.ndarray, dict]:
    meta: dict[str, Any] = {}
    if isinstance(sizes, pd.DataFrame):
        if times is not None:
            raise FitError("give either a scaling DataFrame or sizes and times, not both")
        if not {"n", "time_s"} <= set(sizes.columns):
            raise FitError("a scaling DataFrame needs columns n and time_s (see tk.measure_scaling)")
        meta = dict(sizes.attrs)
        sizes, times = sizes["n"], sizes["time_s"]
    if times is None:
        raise FitError("fit_complexity(sizes, times): times is missing")
    try:
        n = np.asarray(pd.to_numeric(pd.Series(list(sizes)), errors="raise"), dtype=float)
        t = np.asarray(pd.to_numeric(pd.Series(list(times)), errors="raise"), dtype=float)
    except (TypeError, ValueError) as exc:
        raise FitError(f"sizes and times must be numbers: {exc}") from None
    if len(n) != len(t):
        raise FitError(f"sizes and times have different lengths ({len(n)} and {len(t)}); "
                       "give one time per size (repeat a size for several repetitions)")
    for what, arr in (("size", n), ("time", t)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if len(bad):
            raise FitError(f"{what} at position {bad[0]} is {arr[bad[0]]}: NaN or infinite {what}s "
                           "cannot be fitted (drop failed measurements explicitly first)")
    bad = np.flatnonzero(n <= 0)
    if len(bad):
        raise FitError(f"size at position {bad[0]} is {n[bad[0]]:g}: sizes must be positive")
    bad = np.flatnonzero(t < 0)
    if len(bad):
        raise FitError(f"time at position {bad[0]} (n={n[bad[0]]:g}) is negative ({t[bad[0]]:g} s): "
                       "a time cannot be negative (was a baseline subtracted?)")
    bad = np.flatnonzero(t == 0)
    if len(bad):
        raise FitError(f"time at position {bad[0]} (n={n[bad[0]]:g}) is 0: below the timer's "
                       "resolution; measure more calls per measurement (tk.measure_scaling does)")
    distinct = np.unique(n)
    if len(distinct) < 4:
        raise FitError(f"only {len(distinct)} distinct sizes ({', '.join(f'{x:g}' for x in distinct)}); "
                       "need at least 4 to tell growth classes apart")
    if distinct[-1] / distinct[0] < 10:
        raise FitError(f"sizes span only {distinct[0]:g}..{distinct[-1]:g} (x{distinct[-1] / distinct[0]:.3g}); "
                       "need at least one decade (max/min >= 10) to tell growth classes apart")
    return n, t, meta


def _fmt_n(x: float) -> str:
    return f"{x:,.0f}" if x >= 1 else f"{x:g}"


@dataclasses.dataclass(repr=False)
class ComplexityFit:
    """The result of :func:`fit_complexity` (see its docstring for the attributes)."""

    best: str
    exponent: float
    exponent_ci: tuple[float, float]
    table: pd.DataFrame
    ambiguous: tuple[str, ...]
    reason: str | None
    notes: list[str]
    criterion: str
    data: pd.DataFrame
    points: pd.DataFrame
    level: float
    meta: dict[str, Any]
    _models: dict[str, _Model]
    _scale: dict[str, float]

    @property
    def confident(self) -> bool:
        """True when no other class is within the BIC threshold of the best one."""
        return not self.ambiguous

    @property
    def n_range(self) -> tuple[float, float]:
        return float(self.points["n"].min()), float(self.points["n"].max())

    def predict(self, n: Any, cls: str | None = None) -> Any:
        """Predicted seconds per call at size(s) ``n`` by the best class (or ``cls``)."""
        model = self._model(cls)
        out = model(np.atleast_1d(np.asarray(n, dtype=float)))
        return float(out[0]) if np.ndim(n) == 0 else out

    def _model(self, cls: str | None) -> _Model:
        cls = cls or self.best
        if cls not in self._models:
            raise FitError(f"no fitted class {cls!r}; fitted: {', '.join(self._models)}")
        return self._models[cls]

    def grid(self, n: Any = None, points: int = 60) -> np.ndarray:
        lo, hi = self.n_range
        return np.asarray(n, dtype=float) if n is not None else np.geomspace(lo, hi, points)

    def curves(self, n: Any = None, classes: Sequence[str] | None = None) -> pd.DataFrame:
        """Every fitted class's curve: class, n, time_s (a log-spaced grid over the range by default)."""
        grid = self.grid(n)
        frames = [pd.DataFrame({"class": c, "n": grid, "time_s": self._models[c](grid)})
                  for c in (classes or self.table["class"].tolist()) if c in self._models]
        return pd.concat(frames, ignore_index=True)

    def band(self, n: Any = None, level: float | None = None) -> pd.DataFrame:
        """Prediction band of the best class: n, time_s, lo, hi (seconds).

        The residual scatter on the log scale, s = sqrt(RSS/(m-k)), gives
        ``time_s * exp(±t_(level, m-k) * s)``: where a new measurement at n should fall.
        """
        level = level or self.level
        grid = self.grid(n)
        row = self.table.set_index("class").loc[self.best]
        m, k = len(self.points), n_params(self.best)
        dof = max(m - k, 1)
        s = math.sqrt(row["rss_log"] / dof)
        half = stats.t.ppf(0.5 + level / 2, dof) * s
        mid = self._models[self.best](grid)
        return pd.DataFrame({"n": grid, "time_s": mid, "lo": mid * math.exp(-half),
                             "hi": mid * math.exp(half)})

    def summary(self) -> str:
        lo, hi = self.n_range
        lines = [f"best: {self.best}  (n = {_fmt_n(lo)}..{_fmt_n(hi)}, {len(self.points)} points)"]
        elo, ehi = self.exponent_ci
        lines.append(f"power-law exponent: {self.exponent:.2f}  [{elo:.2f}, {ehi:.2f}] "
                     f"({self.level:.0%} CI, upper half of the range)")
        if self.ambiguous:
            lines.append(f"cannot tell apart from: {', '.join(self.ambiguous)} — {self.reason}")
        lines.extend(f"note: {x}" for x in self.notes)
        lines.append(f"criterion: {self.criterion}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        cols = ["class", "a", "b", "rel_error_pct", "delta_bic", "weight", "implied_exponent"]
        return (f"ComplexityFit\n{self.summary()}\n"
                + self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))

    def _repr_html_(self) -> str:
        cols = ["class", "a", "b", "rel_error_pct", "delta_bic", "weight", "implied_exponent"]
        items = "".join(f"<li>{html.escape(x)}</li>" for x in self.summary().splitlines())
        return (f"<div><b>ComplexityFit: {html.escape(self.best)}</b><ul>{items}</ul>"
                + self.table[cols].to_html(index=False, escape=True, float_format=lambda v: f"{v:.3g}")
                + "</div>")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


def fit_complexity(sizes: Any, times: Any = None, *, points: str = "median", threshold: float = 4.0,
                   level: float = 0.95, classes: Sequence[str] | None = None) -> ComplexityFit:
    """Fit O(1), O(log n), O(n), O(n log n), O(n^2), O(n^3) and O(2^n) to measured times.

    ``sizes``/``times``: equal-length sequences (one entry per measurement; repeat a size for
    repetitions), or a ``scaling`` DataFrame (``n``, ``time_s``) from :func:`measure_scaling`.
    The method and criterion are in this module's docstring.

    Returns a :class:`ComplexityFit`:

    - ``best``: e.g. ``"O(n log n)"``, the lowest-BIC class;
    - ``ambiguous``: the other classes that cannot be told apart on this data (empty when the
      answer is clear) and ``reason``: why (curve separation against measured scatter);
    - ``exponent`` and ``exponent_ci``: free power-law exponent over the upper half of the range;
    - ``table``: every candidate, lowest BIC first: class, best (bool), a (s), b (s per unit of
      g(n)), rss_log, bic,
      delta_bic, weight, rel_error_pct (median |fit/measured - 1| in %), implied_exponent,
      max_gap_pct (largest gap between this curve and the best one in the range), growth (0 for
      O(1) .. 6 for O(2^n)), base (the exponential's fitted c), degenerate (growth term under a
      millionth of the time at the largest size: the class
      collapsed to a constant);
    - ``predict(n)``: seconds per call at any n; ``curves()`` and ``band()`` for plots;
    - ``notes``: anything else worth knowing (an exponent between classes, a stopped sweep);
    - ``meta``: function, file, line and stopped from a scaling table's attrs (else None).

    Example::

        >>> import numpy as np, toolkit as tk
        >>> n = np.array([100, 300, 1000, 3000, 10000])
        >>> fit = tk.fit_complexity(n, 2e-6 + 3e-9 * n**2)
        >>> fit.best, round(fit.exponent, 1)
        ('O(n^2)', 2.0)
        >>> f"{fit.predict(20000):.2f}"
        '1.20'
    """
    n_all, t_all, meta = _clean(sizes, times)
    if points not in ("median", "all"):
        raise FitError(f"points must be 'median' or 'all', got {points!r}")
    if not (0 < level < 1):
        raise FitError(f"level must be between 0 and 1, got {level!r}")
    data = pd.DataFrame({"n": n_all, "time_s": t_all})
    if points == "median":
        pts = data.groupby("n", as_index=False)["time_s"].median()
    else:
        pts = data.sort_values("n", kind="stable").reset_index(drop=True)
    n, y = pts["n"].to_numpy(float), pts["time_s"].to_numpy(float)
    n_ref = float(n.max())
    candidates = list(classes or CLASSES)
    unknown = [c for c in candidates if c not in CLASSES]
    if unknown:
        raise FitError(f"unknown classes {unknown}; known: {', '.join(CLASSES)}")
    notes: list[str] = []
    if "O(2^n)" in candidates and n_ref > EXPONENTIAL_MAX_N:
        candidates.remove("O(2^n)")
    stopped = meta.get("stopped")
    if stopped:
        notes.append(f"the sweep stopped at n={stopped.get('n')}: {stopped.get('reason')}")

    # Free exponent over the upper half of the range in log n (at least the 4 largest sizes).
    distinct = np.unique(n)
    mid = math.sqrt(distinct[0] * distinct[-1])
    upper = distinct[distinct >= mid]
    if len(upper) < 4:  # a slope needs a few points: at least the 4 largest sizes
        upper = distinct[-4:]
    sel = data["n"].isin(upper).to_numpy()
    k, k_lo, k_hi = _loglog_slope(data["n"].to_numpy(float)[sel], data["time_s"].to_numpy(float)[sel], level)

    m = len(y)
    models: dict[str, _Model] = {}
    rows = []
    for cls in candidates:
        model, rss = _fit_one(cls, n, y, n_ref)
        models[cls] = model
        npar = n_params(cls)
        bic = m * math.log(max(rss, 1e-300) / m) + npar * math.log(m)
        fitted = model(n)
        implied = _loglog_slope(upper, np.maximum(model(upper), 1e-300), level)[0]
        g_ref = CLASSES[cls](np.array([n_ref]))[0] if cls not in ("O(1)", "O(2^n)") else 1.0
        with np.errstate(over="ignore", under="ignore"):
            b_natural = model.b / g_ref if cls != "O(2^n)" else model.b * model.base ** (-n_ref)
        rows.append({"class": cls, "a": model.a, "b": b_natural, "rss_log": rss, "bic": bic,
                     "rel_error_pct": float(np.median(np.abs(fitted / y - 1)) * 100),
                     "implied_exponent": implied, "degenerate": cls != "O(1)" and not model.b > 1e-6 * (model.a + model.b),
                     "base": model.base, "growth": GROWTH[cls]})
    table = pd.DataFrame(rows).sort_values(["bic", "growth"], kind="stable").reset_index(drop=True)
    table["delta_bic"] = table["bic"] - table["bic"].iloc[0]
    w = np.exp(-0.5 * table["delta_bic"].to_numpy())
    table["weight"] = w / w.sum()
    best = str(table["class"].iloc[0])
    sigma = _repeat_sigma(data)
    if sigma is None:  # one measurement per size: only the residuals can tell the noise
        sigma = _robust_sigma(data, models[best])
    # the fit follows per-size medians; a median of r repeats scatters 1.2533/sqrt(r) as much
    reps = float(data.groupby("n").size().median())
    sigma_fit = sigma * (1.2533 / math.sqrt(reps) if reps > 1 else 1.0)

    # Practical significance: a growth term that raises the time across the whole measured range
    # by less than FLAT_SIGMAS standard errors of a per-size median (or FLAT_MIN_RISE) is noise fitted as
    # a trend (typically one high median at the largest size), so the answer is O(1).
    flat_note = None

    def rise(cls: str) -> float:
        """log of the fitted time's rise from the smallest to the largest size."""
        ends = models[cls](np.array([n.min(), n.max()]))
        return math.log(max(ends[1], 1e-300) / max(ends[0], 1e-300))

    flat_below = max(FLAT_SIGMAS * sigma_fit, math.log1p(FLAT_MIN_RISE))
    if best != "O(1)" and "O(1)" in models:
        if rise(best) < flat_below:
            o1 = float(table.loc[table["class"] == "O(1)", "delta_bic"].iloc[0])
            flat_note = (f"{best} fits better than O(1) (ΔBIC {o1:.1f}) "
                         f"but its growth term raises the time by only {(math.exp(rise(best)) - 1) * 100:.0f}% over "
                         f"n={_fmt_n(n.min())}..{_fmt_n(n.max())}: less than {FLAT_MIN_RISE:.0%}, or than "
                         f"{FLAT_SIGMAS:g} standard errors of a per-size median "
                         f"({(math.exp(sigma_fit) - 1) * 100:.1f}%): read as constant")
            best = "O(1)"

    # The two views of the data must agree: curve shape over the whole range (BIC) and the local
    # slope over the upper half (the free exponent). When the BIC winner's slope falls outside the
    # exponent's confidence interval, and a class that matches the slope is not ruled out by very
    # strong evidence (ΔBIC < SLOPE_OVERRIDE_BIC), that class is chosen and the winner kept as an
    # alternative: the upper range, where the constant overhead matters least, decides.
    implied = dict(zip(table["class"], table["implied_exponent"], strict=True))
    dbic = dict(zip(table["class"], table["delta_bic"], strict=True))

    def matches_slope(cls: str) -> bool:
        tol = max(SLOPE_TOL_MIN, SLOPE_TOL * abs(implied[cls]))
        return bool(k_lo - tol <= implied[cls] <= k_hi + tol)

    slope_alt: list[str] = []
    slope_reason = None
    if flat_note is None and np.isfinite(k_lo) and not matches_slope(best):
        ok = [c for c in table["class"] if matches_slope(c) and dbic[c] - dbic[best] < SLOPE_OVERRIDE_BIC
              and not table.loc[table["class"] == c, "degenerate"].iloc[0]]
        if ok:
            winner, best = best, ok[0]
            slope_alt = [winner]
            slope_reason = (f"{winner} fits the whole curve best (ΔBIC {dbic[best] - dbic[winner]:.1f} ahead of "
                            f"{best}) but its local exponent over the upper half, {implied[winner]:.2f}, is "
                            f"outside the measured {k:.2f} [{k_lo:.2f}, {k_hi:.2f}], which {best} matches "
                            f"({implied[best]:.2f})")
    table["best"] = table["class"] == best
    grid = np.geomspace(n.min(), n.max(), 200)
    best_curve = models[best](grid)
    table["max_gap_pct"] = [float(np.max(np.abs(models[c](grid) / best_curve - 1)) * 100)
                            for c in table["class"]]
    table = table[["class", "best", "a", "b", "rss_log", "bic", "delta_bic", "weight", "rel_error_pct",
                   "implied_exponent", "max_gap_pct", "base", "growth", "degenerate"]]

    # Which other classes cannot be told apart, and why.
    best_bic = float(table.loc[table["best"], "bic"].iloc[0])
    close = table[(table["bic"] - best_bic < threshold) & ~table["best"] & ~table["degenerate"]]
    if best == "O(1)":  # growth classes that stay flat within the noise are the same answer
        close = close.loc[np.array([rise(c) >= flat_below for c in close["class"]], dtype=bool)]
    if flat_note:
        notes.append(flat_note)
    ambiguous = tuple(slope_alt) + tuple(c for c in close["class"] if c not in slope_alt)
    close = close[~close["class"].isin(slope_alt)]
    reason = slope_reason
    scatter = (math.exp(sigma) - 1) * 100
    if len(close):
        parts = []
        for _, row in close.iterrows():
            parts.append(f"{row['class']} (ΔBIC {row['bic'] - best_bic:.1f}; its fitted curve is never more "
                         f"than {row['max_gap_pct']:.0f}% from {best}'s over n={_fmt_n(n.min())}.."
                         f"{_fmt_n(n.max())})")
        text = (f"{'; '.join(parts)}, while the measurements scatter by about {scatter:.0f}%, so the "
                f"data cannot separate them (ΔBIC < {threshold:g}); measure a wider range of n or more repeats")
        reason = f"{reason}; {text}" if reason else text
    best_row = table[table["best"]].iloc[0]
    if np.isfinite(k_lo) and not (k_lo - 0.1 <= best_row["implied_exponent"] <= k_hi + 0.1):
        notes.append(f"the free exponent {k:.2f} [{k_lo:.2f}, {k_hi:.2f}] disagrees with {best}'s local "
                     f"exponent {best_row['implied_exponent']:.2f} over the upper range: the growth may lie "
                     "between the candidate classes")
    crit = CRITERION.format(threshold=threshold)
    if points == "all":
        crit = crit.replace("per-size medians", "all points")
    return ComplexityFit(best=best, exponent=k, exponent_ci=(k_lo, k_hi), table=table,
                         ambiguous=ambiguous, reason=reason, notes=notes, criterion=crit,
                         data=data, points=pts, level=level,
                         meta={k: meta.get(k) for k in ("function", "file", "line", "stopped")},
                         _models=models,
                         _scale={"n_ref": n_ref, "scatter_pct": scatter})


def _repeat_sigma(data: pd.DataFrame) -> float | None:
    """Robust standard deviation of log times between repeats of the same size (1.4826 x MAD
    around each size's median), or None without repeats: the measurement noise itself."""
    logt = np.log(data["time_s"].to_numpy(float))
    groups = pd.Series(logt).groupby(data["n"].to_numpy())
    dev = (pd.Series(logt) - groups.transform("median")).to_numpy()
    multi = groups.transform("size").to_numpy() > 1
    if multi.sum() < 3:
        return None
    return float(1.4826 * np.median(np.abs(dev[multi])))


def _robust_sigma(data: pd.DataFrame, model: _Model) -> float:
    """Robust standard deviation (1.4826 x median absolute deviation) of the log residuals of
    every measurement around the fitted curve."""
    r = np.log(data["time_s"].to_numpy(float) / np.maximum(model(data["n"].to_numpy(float)), 1e-300))
    return float(1.4826 * np.median(np.abs(r - np.median(r))))

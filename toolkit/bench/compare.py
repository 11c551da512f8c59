"""Did it get slower? Two runs, two periods or two profiles compared, with statistics.

- :func:`compare_runs` (benchmark results): per benchmark, the medians, their ratio with an
  interval, a p-value (Mann-Whitney U on the rounds, or a t-test on the runs' medians when a side
  has several runs), the Benjamini-Hochberg q-value and a verdict.
- :func:`compare_periods` (query events, access-log requests, k6 request points, profiles): the
  same per fingerprint / per endpoint / per function, plus what is new and what is gone.
- :func:`compare_profiles` (two Profiles): :func:`toolkit.diff_profiles` with the same verdict
  columns, from the sample counts of each function's own time.

The rule behind every verdict is in :mod:`toolkit.bench.stats`. Options shared by all:
``min_effect`` (0.05: a change under 5% is never reported), ``alpha`` (0.05: the false-discovery
rate across the table), ``min_samples`` (values needed on each side for a test),
``confidence`` (of the interval), ``n_resamples`` and ``seed`` (the bootstrap; seeded, so a
table is reproducible).

Example::

    >>> import toolkit as tk
    >>> base = tk.read_benchmarks("sample_traces/bench/pytest-benchmark/base")   # doctest: +SKIP
    >>> head = tk.read_benchmarks("sample_traces/bench/pytest-benchmark/head")   # doctest: +SKIP
    >>> tk.compare_runs(base, head)[["benchmark", "ratio", "ci_low", "ci_high", "verdict"]]  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from .. import formats
from ..errors import InputError, SchemaError, UnknownFormatError
from .samples import KEY, read_benchmarks
from .stats import SLOWER, TOO_FEW, bh, check_options, mann_whitney, ratio_interval, run_level_test, verdict

NEW, GONE = "new", "gone"
# How tables sort and reports list the verdicts: what needs attention first.
VERDICT_ORDER = (SLOWER, "faster", NEW, GONE, "unchanged", TOO_FEW)
_ORDER = {v: i for i, v in enumerate(VERDICT_ORDER)}


def compare_groups(pairs: Mapping[Any, tuple[list[np.ndarray], list[np.ndarray]]], *, min_effect: float = 0.05,
                   alpha: float = 0.05, min_samples: int = 5, confidence: float = 0.95,
                   n_resamples: int = 2000, seed: int = 0, testable: Mapping[Any, bool] | None = None) -> pd.DataFrame:
    """The statistics of each key's (base runs, head runs), one row per key (index = key):
    ``base_n, head_n, base_median, head_median, ratio, ci_low, ci_high, p_value, q_value,
    verdict, test`` (``runs`` when a side had several runs and the runs' medians were tested,
    ``rounds`` otherwise: see :mod:`.stats`). ``testable[key]`` False forces "too few samples"
    (summary-only values)."""
    check_options(alpha, min_effect, min_samples, confidence)
    rows = {}
    for key, (base, head) in pairs.items():
        a = np.concatenate(base) if base else np.array([])
        b = np.concatenate(head) if head else np.array([])
        can_test = len(a) >= min_samples and len(b) >= min_samples and (testable or {}).get(key, True)
        row = {"base_n": len(a), "head_n": len(b),
               "base_median": float(np.median(a)) if len(a) else np.nan,
               "head_median": float(np.median(b)) if len(b) else np.nan}
        row["ratio"] = ratio_of(row["head_median"], row["base_median"])
        runs = run_level_test(base, head, row["ratio"], confidence=confidence) if can_test else None
        row["test"] = "runs" if runs else "rounds"
        if not can_test:
            row["ci_low"] = row["ci_high"] = row["p_value"] = np.nan
        elif runs:
            row["p_value"], row["ci_low"], row["ci_high"] = runs
        else:
            row["ci_low"], row["ci_high"] = ratio_interval(base, head, confidence=confidence, n_resamples=n_resamples,
                                                           seed=seed)
            row["p_value"] = mann_whitney(a, b)
        row["testable"] = can_test
        rows[key] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    if out.empty:
        return pd.DataFrame(columns=["base_n", "head_n", "base_median", "head_median", "ratio", "ci_low",
                                     "ci_high", "p_value", "q_value", "verdict", "test"])
    out["q_value"] = bh(out["p_value"].to_numpy(float))
    out["verdict"] = [verdict(r.ratio, r.ci_low, r.ci_high, r.q_value, r.testable, alpha=alpha, min_effect=min_effect)
                      for r in out.itertuples()]
    out["change_pct"] = (out["ratio"] - 1) * 100
    return out.drop(columns=["testable"])


def ratio_of(head: float, base: float) -> float:
    """head / base: inf when only base is 0, 1 when both are (requests logged as 0.000 s)."""
    if base > 0:
        return head / base
    if head > 0:
        return np.inf
    return 1.0 if head == 0 and base == 0 else np.nan


def _sorted(df: pd.DataFrame, ratio: str = "ratio") -> pd.DataFrame:
    rank = df["verdict"].map(_ORDER).fillna(9)
    # within a verdict: the largest change first (slowdowns by ratio, speedups by 1/ratio)
    size = np.abs(np.log(df[ratio].astype(float).replace(0, np.nan))).fillna(np.inf)
    return df.assign(_r=rank, _s=-size).sort_values(["_r", "_s"], kind="stable").drop(columns=["_r", "_s"]) \
        .reset_index(drop=True)


def _as_samples(obj: Any, what: str) -> pd.DataFrame:
    if isinstance(obj, (str, os.PathLike, list, tuple)):
        return read_benchmarks(obj)
    if not isinstance(obj, pd.DataFrame) or not {"benchmark", "value_s"} <= set(obj.columns):
        raise SchemaError(f"compare_runs: {what} must be a benchmark_samples table (tk.read_benchmarks) or a path")
    return obj


def compare_runs(base: Any, head: Any, *, min_effect: float = 0.05, alpha: float = 0.05, min_samples: int = 5,
                 confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Compare two sets of benchmark runs (``benchmark_samples`` tables, or paths to read).

    One row per benchmark present in both (``benchmark``, ``params``, ``group``, ``unit``):
    ``base_runs``/``head_runs`` (how many runs each side pools), ``base_n``/``head_n`` (rounds),
    ``base_median``/``head_median`` (seconds), ``ratio`` (head / base: 1.25 = 25% slower),
    ``ci_low``/``ci_high`` (the interval of the ratio), ``p_value``, ``q_value``
    (Benjamini-Hochberg over the table), ``verdict`` (slower / faster / unchanged / too few
    samples), ``change_pct``, ``test`` (``rounds``: one run a side, Mann-Whitney U on the rounds
    and a bootstrap interval; ``runs``: a side had several runs, a t-test on the runs' medians),
    and ``base_min``/``head_min`` for reference. Pass the base's re-runs (a folder) to get the
    run-level test: on a shared machine runs of the same code differ more than their rounds.
    Sorted: slower first, largest change first. Benchmarks on one side only are listed in
    ``attrs["only_base"]`` / ``attrs["only_head"]``.

        >>> tk.compare_runs("base.json", "head.json", min_effect=0.1)      # doctest: +SKIP
    """
    base, head = _as_samples(base, "base"), _as_samples(head, "head")
    keys_b = base.groupby(KEY, sort=True, dropna=False)
    keys_h = head.groupby(KEY, sort=True, dropna=False)
    both = sorted(set(keys_b.groups) & set(keys_h.groups))
    pairs, testable, info = {}, {}, {}
    for key in both:
        gb, gh = keys_b.get_group(key), keys_h.get_group(key)
        pairs[key] = ([g.to_numpy(float) for _, g in gb.groupby("run", sort=True)["value_s"]],
                      [g.to_numpy(float) for _, g in gh.groupby("run", sort=True)["value_s"]])
        testable[key] = not (_flag(gb) or _flag(gh))
        info[key] = {"group": gb["group"].iloc[0] if "group" in gb else None,
                     "unit": gb["unit"].iloc[0] if "unit" in gb else "seconds",
                     "base_runs": gb["run"].nunique(), "head_runs": gh["run"].nunique(),
                     "base_min": float(gb["value_s"].min()), "head_min": float(gh["value_s"].min())}
    stats = compare_groups(pairs, min_effect=min_effect, alpha=alpha, min_samples=min_samples, confidence=confidence,
                           n_resamples=n_resamples, seed=seed, testable=testable)
    rows = [{"benchmark": k[0], "params": k[1], **info[k], **stats.loc[[k]].iloc[0].to_dict()} for k in both] \
        if both else []
    cols = ["benchmark", "params", "group", "unit", "base_runs", "head_runs", "base_n", "head_n", "base_median",
            "head_median", "ratio", "ci_low", "ci_high", "p_value", "q_value", "verdict", "change_pct", "test",
            "base_min", "head_min"]
    out = _sorted(pd.DataFrame(rows, columns=cols)) if rows else pd.DataFrame(columns=cols)
    out.attrs = {"only_base": [list(k) for k in sorted(set(keys_b.groups) - set(keys_h.groups))],
                 "only_head": [list(k) for k in sorted(set(keys_h.groups) - set(keys_b.groups))],
                 "options": {"min_effect": min_effect, "alpha": alpha, "min_samples": min_samples,
                             "confidence": confidence}}
    return out


def _flag(df: pd.DataFrame) -> bool:
    return bool("summary_only" in df and df["summary_only"].fillna(False).astype(bool).any())


# --- periods ------------------------------------------------------------------------------------

def _ci_quantile(x: np.ndarray, q: float, confidence: float, n_resamples: int, seed: int) -> tuple[float, float]:
    """Bootstrap interval of one quantile of one sample."""
    if len(x) < 2:
        return (np.nan, np.nan)
    lo, hi = ratio_interval([np.ones(1)], [x], confidence=confidence, n_resamples=n_resamples, seed=seed, stat=q)
    return lo, hi


def _periods(before: pd.DataFrame, after: pd.DataFrame, key: list[str], value: str, unit: str, *,
             scale: float, errors: str | None, min_effect: float, alpha: float, min_samples: int,
             confidence: float, n_resamples: int, seed: int) -> pd.DataFrame:
    gb = {k if isinstance(k, tuple) else (k,): g for k, g in before.groupby(key, sort=True, dropna=False)}
    ga = {k if isinstance(k, tuple) else (k,): g for k, g in after.groupby(key, sort=True, dropna=False)}
    pairs = {}
    for k in sorted(set(gb) | set(ga), key=lambda t: tuple(map(str, t))):
        b = gb[k][value].dropna().to_numpy(float) * scale if k in gb else np.array([])
        a = ga[k][value].dropna().to_numpy(float) * scale if k in ga else np.array([])
        pairs[k] = ([b] if len(b) else [], [a] if len(a) else [])
    stats = compare_groups(pairs, min_effect=min_effect, alpha=alpha, min_samples=min_samples, confidence=confidence,
                           n_resamples=n_resamples, seed=seed)
    rows = []
    for k, (b, a) in pairs.items():
        s = stats.loc[[k]].iloc[0] if k in stats.index else None
        xb = b[0] if b else np.array([])
        xa = a[0] if a else np.array([])
        row = dict(zip(key, k, strict=True))
        row.update({
            "calls_before": int(len(gb[k])) if k in gb else 0, "calls_after": int(len(ga[k])) if k in ga else 0,
            f"total_before_{unit}": float(xb.sum()), f"total_after_{unit}": float(xa.sum()),
            f"p50_before_{unit}": float(np.median(xb)) if len(xb) else np.nan,
            f"p50_after_{unit}": float(np.median(xa)) if len(xa) else np.nan,
            f"p95_before_{unit}": float(np.percentile(xb, 95)) if len(xb) else np.nan,
            f"p95_after_{unit}": float(np.percentile(xa, 95)) if len(xa) else np.nan})
        testable = len(xb) >= min_samples and len(xa) >= min_samples
        for side, x in (("before", xb), ("after", xa)):
            lo, hi = _ci_quantile(x, 0.95, confidence, n_resamples, seed) if testable else (np.nan, np.nan)
            row[f"p95_{side}_low_{unit}"], row[f"p95_{side}_high_{unit}"] = lo, hi
        row.update({c: s[c] for c in ("ratio", "ci_low", "ci_high", "p_value", "q_value", "verdict")})
        if not len(xb) and len(xa):
            row["verdict"] = NEW
        elif len(xb) and not len(xa):
            row["verdict"] = GONE
        if errors is not None:
            eb = int(gb[k][errors].sum()) if k in gb else 0
            ea = int(ga[k][errors].sum()) if k in ga else 0
            nb, na = row["calls_before"], row["calls_after"]
            row.update({"errors_before": eb, "errors_after": ea,
                        "error_rate_before": eb / nb if nb else np.nan, "error_rate_after": ea / na if na else np.nan,
                        "error_p_value": float(sps.fisher_exact([[eb, nb - eb], [ea, na - ea]])[1]) if nb and na
                        else np.nan})
        rows.append(row)
    out = pd.DataFrame(rows)
    if errors is not None and len(out):
        q = bh(out["error_p_value"].to_numpy(float))
        more = out["error_rate_after"] > out["error_rate_before"]
        out["error_verdict"] = np.where(np.isnan(q), TOO_FEW, np.where(q < alpha, np.where(more, "more errors",
                                                                                          "fewer errors"), "unchanged"))
    out = _sorted(out) if len(out) else out
    out.attrs["options"] = {"min_effect": min_effect, "alpha": alpha, "min_samples": min_samples,
                            "confidence": confidence}
    return out


def _query_calls(events: pd.DataFrame) -> pd.DataFrame:
    from ..queries.fingerprint import Fingerprinter

    ev = events
    if "kind" in ev.columns:  # a statement's time once: no plan rows, no parse/bind phases
        ev = ev[~ev["kind"].isin(["plan", "parse", "bind"]).fillna(False).to_numpy(bool)]
    ev = ev[ev["statement"].notna()]
    statements = ev["statement"].astype(object).to_numpy(object)
    uniq, inverse = np.unique(statements.astype(str), return_inverse=True)
    fps = np.array(Fingerprinter().many(uniq), dtype=object)[inverse]
    return pd.DataFrame({"fingerprint": fps, "duration_ms": pd.to_numeric(ev["duration_ms"], errors="coerce").to_numpy()})


def _http_calls(requests: pd.DataFrame) -> pd.DataFrame:
    from ..http.endpoints import template_paths

    req = requests[requests["path"].notna()]
    return pd.DataFrame({"method": req["method"].astype(object).fillna("-").to_numpy(),
                         "endpoint": template_paths(req["path"]).to_numpy(),
                         "request_time_s": pd.to_numeric(req["request_time_s"], errors="coerce").to_numpy(),
                         "error": (pd.to_numeric(req["status"], errors="coerce") >= 500).fillna(False).to_numpy()})


def compare_periods(before: Any, after: Any, *, min_effect: float = 0.05, alpha: float = 0.05,
                    min_samples: int = 5, confidence: float = 0.95, n_resamples: int = 2000,
                    seed: int = 0) -> pd.DataFrame:
    """Compare the same evidence from two periods (before / after a deploy, two days).

    - Query events (``tk.read_queries``): one row per fingerprint: ``calls_before/after``,
      ``total_before_ms/after_ms``, ``p50_*`` and ``p95_*`` (ms) with a bootstrap interval of
      each p95 (``p95_before_low_ms`` ...), ``ratio`` of the p50s with ``ci_low``/``ci_high``,
      ``p_value``, ``q_value``, ``verdict`` (slower / faster / unchanged / too few samples, and
      ``new`` / ``gone`` for fingerprints seen in one period only). A call is an ``execute`` or
      ``statement`` row (parse and bind phases and logged plans are left out).
    - Access-log requests (``tk.read_access_log``): one row per (method, templated endpoint),
      the same columns in seconds (``_s``), plus ``errors_before/after`` (status >= 500),
      ``error_rate_*``, ``error_p_value`` (Fisher's exact test) and ``error_verdict``.
    - k6 request points (``tk.read_load_test(path, table="requests")``): per (method, endpoint),
      in ms, with ``failed`` as the errors.
    - Two :class:`toolkit.Profile`: :func:`compare_profiles`.
    """
    from ..profiles.model import Profile

    if isinstance(before, Profile) and isinstance(after, Profile):
        return compare_profiles(before, after, min_effect=min_effect, alpha=alpha, min_samples=min_samples,
                                confidence=confidence)
    if not isinstance(before, pd.DataFrame) or not isinstance(after, pd.DataFrame):
        raise InputError("compare_periods takes two DataFrames of the same kind (query events, access-log "
                         "requests, k6 requests) or two Profiles")
    opts = {"min_effect": min_effect, "alpha": alpha, "min_samples": min_samples, "confidence": confidence,
            "n_resamples": n_resamples, "seed": seed}
    cols = set(before.columns) & set(after.columns)
    if {"statement", "duration_ms"} <= cols:
        return _periods(_query_calls(before), _query_calls(after), ["fingerprint"], "duration_ms", "ms", scale=1.0,
                        errors=None, **opts)
    if {"path", "request_time_s", "status"} <= cols:
        return _periods(_http_calls(before), _http_calls(after), ["method", "endpoint"], "request_time_s", "s",
                        scale=1.0, errors="error", **opts)
    if {"endpoint", "duration_ms", "failed"} <= cols:
        return _periods(before, after, ["method", "endpoint"], "duration_ms", "ms", scale=1.0, errors="failed",
                        **opts)
    raise SchemaError("compare_periods: the tables are neither query events (statement, duration_ms), access-log "
                      "requests (path, request_time_s, status) nor k6 requests (endpoint, duration_ms, failed)")


# --- profiles -----------------------------------------------------------------------------------

def _odds(p: float) -> float:
    return p / (1 - p) if p < 1 else np.inf


def compare_profiles(before: Any, after: Any, *, basis: str = "time", min_effect: float = 0.05, alpha: float = 0.05,
                     min_samples: int = 10, confidence: float = 0.95) -> pd.DataFrame:
    """:func:`toolkit.diff_profiles` (per function: ``self_before_s`` ... ``total_ratio``) with
    the verdict columns, where both profiles are sampled (py-spy, pyinstrument sessions, sampled
    speedscope files) so that each function's own time is a count of samples.

    Added columns: ``before_samples``, ``after_samples`` (samples with the function as leaf),
    ``ratio`` (``basis="time"``: self seconds after / before; ``"share"``: the share of each
    profile's samples), ``ci_low``/``ci_high`` (exact binomial interval), ``p_value`` (the
    conditional binomial test: given the function's samples in both profiles, is the split what
    equal time would give?), ``q_value`` (Benjamini-Hochberg over the functions tested),
    ``verdict``. ``basis="time"`` assumes both profiles recorded the same work (the same
    benchmark, the same input); for runs of different length use ``basis="share"``. A profile
    without sample counts (cProfile, pyinstrument's processed JSON) gives "too few samples".
    """
    from ..profiles.model import diff_profiles

    if basis not in ("time", "share"):
        raise ValueError("basis must be 'time' or 'share'")
    check_options(alpha, min_effect, min_samples, confidence)
    diff = diff_profiles(before, after)
    counts = []
    for prof in (before, after):
        f = prof.functions()
        counts.append(f.set_index(["function", "file"])["samples"] if "samples" in f and prof.samples else None)
    out = diff.copy()
    key = pd.MultiIndex.from_frame(out[["function", "file"]])
    sampled = counts[0] is not None and counts[1] is not None
    kb = counts[0].reindex(key).fillna(0).to_numpy(float) if sampled else np.full(len(out), np.nan)
    ka = counts[1].reindex(key).fillna(0).to_numpy(float) if sampled else np.full(len(out), np.nan)
    out["before_samples"] = pd.array(np.where(np.isnan(kb), None, kb), dtype="Int64")
    out["after_samples"] = pd.array(np.where(np.isnan(ka), None, ka), dtype="Int64")
    if sampled:
        if basis == "time":  # seconds per sample on each side
            wb, wa = before.duration_s / before.samples, after.duration_s / after.samples
        else:
            wb, wa = 1.0 / before.samples, 1.0 / after.samples
        p0 = (1 / wa) / (1 / wa + 1 / wb)  # P(a sample is "after") if the function's time were equal
        ratio, low, high, p = [], [], [], []
        for b, a in zip(kb, ka, strict=True):
            n = int(a + b)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio.append((a * wa) / (b * wb) if b else (np.inf if a else np.nan))
            if n < min_samples:
                low.append(np.nan), high.append(np.nan), p.append(np.nan)
                continue
            test = sps.binomtest(int(a), n, p0)
            ci = test.proportion_ci(confidence_level=confidence, method="exact")
            # P(after) = R wb / (R wb + wa) for a time ratio R: R = odds(P) * wa / wb
            low.append(_odds(ci.low) * wa / wb)
            high.append(_odds(ci.high) * wa / wb)
            p.append(test.pvalue)
        out["ratio"], out["ci_low"], out["ci_high"], out["p_value"] = ratio, low, high, p
    else:
        out["ratio"] = out["self_ratio"]
        out["ci_low"] = out["ci_high"] = out["p_value"] = np.nan
    out["q_value"] = bh(out["p_value"].to_numpy(float))
    out["verdict"] = [verdict(r.ratio, r.ci_low, r.ci_high, r.q_value, bool(not np.isnan(r.p_value)), alpha=alpha,
                              min_effect=min_effect) for r in out.itertuples()]
    out.attrs = {"basis": basis, "sampled": sampled,
                 "options": {"min_effect": min_effect, "alpha": alpha, "min_samples": min_samples,
                             "confidence": confidence}}
    return out


# --- two inputs, whatever they are ---------------------------------------------------------------

@dataclasses.dataclass
class Comparison:
    """What :func:`compare_inputs` compared: ``kind`` (benchmarks, queries, requests, k6 requests,
    profiles), the comparison ``table``, the evidence read from each side, and their paths."""

    kind: str
    table: pd.DataFrame
    base: Any
    head: Any
    base_path: str
    head_path: str

    def count(self, verdict: str) -> int:
        return int((self.table["verdict"] == verdict).sum()) if "verdict" in self.table else 0


# What names one row of each kind's table, and the base / head figures shown for it.
VIEWS = {
    "benchmarks": (["benchmark", "params"], "base_median", "head_median", "s"),
    "queries": (["fingerprint"], "p50_before_ms", "p50_after_ms", "ms"),
    "requests": (["method", "endpoint"], "p50_before_s", "p50_after_s", "s"),
    "k6 requests": (["method", "endpoint"], "p50_before_ms", "p50_after_ms", "ms"),
    "profiles": (["function", "file"], "self_before_s", "self_after_s", "s"),
}


def _first_file(path: Any) -> str:
    from ..sources import iter_files

    for file in iter_files([os.fspath(path)]):
        try:
            formats.detect(file)
            return file
        except UnknownFormatError:
            continue
    raise InputError(f"{os.fspath(path)}: no input of a known format")


def compare_inputs(base: Any, head: Any, **options: Any) -> Comparison:
    """Read two inputs of the same kind (files or folders; the format of each is detected) and
    compare them: benchmark results with :func:`compare_runs`, query logs, access logs and k6
    ``--out json`` files with :func:`compare_periods`, profiles with :func:`compare_profiles`.
    ``options`` go to the comparison (``min_effect``, ``alpha`` ...). What ``perf-toolkit
    compare`` runs."""
    fmt = formats.detect(_first_file(base))
    other = formats.detect(_first_file(head))
    if fmt.kind != other.kind:
        raise InputError(f"cannot compare a {fmt.kind} input ({fmt.name}) with a {other.kind} input ({other.name})")
    names = (os.fspath(base), os.fspath(head))
    if fmt.kind == "benchmark":
        b, h = read_benchmarks(base), read_benchmarks(head)
        return Comparison("benchmarks", compare_runs(b, h, **options), b, h, *names)
    if fmt.kind == "queries":
        from ..queries import read_queries

        b, h = read_queries(base), read_queries(head)
        return Comparison("queries", compare_periods(b, h, **options), b, h, *names)
    if fmt.kind == "access_log":
        from ..http import read_access_log

        b, h = read_access_log(base), read_access_log(head)
        return Comparison("requests", compare_periods(b, h, **options), b, h, *names)
    if fmt.kind == "profile":
        from ..profiles import read_profile

        b, h = read_profile(base), read_profile(head)
        opts = {k: v for k, v in options.items() if k not in ("n_resamples", "seed")}
        return Comparison("profiles", compare_profiles(b, h, **opts), b, h, *names)
    if fmt.kind == "load_test" and "requests" in fmt.extras.tables and "requests" in other.extras.tables:
        b = formats.read(base, format=fmt.name, table="requests")
        h = formats.read(head, format=other.name, table="requests")
        return Comparison("k6 requests", compare_periods(b, h, **options), b, h, *names)
    raise InputError(f"{fmt.name} files hold no per-request or per-round values to test; compare "
                     "benchmark results, query logs, access logs, profiles or k6 --out json files")


def _fmt(value: Any, unit: str) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "-"
    if not np.isfinite(v):
        return "-"
    if unit == "s":
        for name, f in (("s", 1.0), ("ms", 1e3), ("us", 1e6), ("ns", 1e9)):
            if abs(v) * f >= 1 or name == "ns":
                return f"{v * f:.3g} {name}"
    return f"{v:.3g} {unit}"


def format_comparison(comparison: Comparison, *, width: int = 110, top: int | None = None) -> str:
    """The comparison as a terminal table: what, base, head, change with its interval, q-value,
    verdict; changes first, then a line counting each verdict."""
    keys, before, after, unit = VIEWS[comparison.kind]
    table = comparison.table
    lines = [f"{comparison.kind}: {comparison.base_path} -> {comparison.head_path}"]
    counts = table["verdict"].value_counts() if "verdict" in table else pd.Series(dtype=int)
    ordered = sorted(counts.items(), key=lambda item: _ORDER.get(item[0], 9))
    lines.append("verdicts: " + (", ".join(f"{n} {v}" for v, n in ordered) or "nothing compared"))
    shown = table if top is None else table.head(top)
    name_w = max(20, width - 62)
    lines.append(f"{'':<{name_w}}  {'base':>9}  {'head':>9}  {'change':>8}  {'interval':>17}  {'q':>7}  verdict")
    for _, r in shown.iterrows():
        name = " ".join(str(r[k]) for k in keys if k in r and isinstance(r[k], str) and r[k])
        name = " ".join(name.split())
        name = name if len(name) <= name_w else name[: name_w - 1] + "…"
        ratio = float(r["ratio"]) if pd.notna(r["ratio"]) else np.nan
        change = f"{(ratio - 1) * 100:+.1f}%" if np.isfinite(ratio) else ("new" if ratio == np.inf else "-")
        interval = (f"[{(r['ci_low'] - 1) * 100:+.1f}, {(r['ci_high'] - 1) * 100:+.1f}]%"
                    if pd.notna(r["ci_low"]) and np.isfinite(r["ci_high"]) else "-")
        q = f"{r['q_value']:.2g}" if pd.notna(r["q_value"]) else "-"
        lines.append(f"{name:<{name_w}}  {_fmt(r.get(before), unit):>9}  {_fmt(r.get(after), unit):>9}  "
                     f"{change:>8}  {interval:>17}  {q:>7}  {r['verdict']}")
    if top is not None and len(table) > top:
        lines.append(f"... {len(table) - top} more rows")
    return "\n".join(lines)

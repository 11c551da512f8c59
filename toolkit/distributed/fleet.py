"""A fleet's logs made from one server's: per-host copies of a PostgreSQL stderr log and an nginx
access log, each host's times shifted, one host degraded (its matching queries and requests
slower), for trying the Dask engine (the tests, ``notebooks/08_fleet.ipynb``, ``benchmarks/fleet.py``).

The copies keep every line of the originals; only time stamps move (by ``shift_s`` per host,
and by the original's span for each repetition inside a file, so times keep increasing) and, on
the degraded host, the durations of the lines matching ``match`` are multiplied by ``factor``:
PostgreSQL's ``duration: X ms`` and nginx's ``rt=`` / ``urt=`` (``$request_time`` and
``$upstream_response_time`` of the ``perf`` log_format).

    >>> shift_postgres("2026-11-26 05:09:21.105 UTC [1] LOG:  duration: 2.000 ms  statement: select 1", 60)
    '2026-11-26 05:10:21.105 UTC [1] LOG:  duration: 2.000 ms  statement: select 1'
    >>> shift_nginx('1.2.3.4 - - [26/Nov/2026:05:15:04 +0000] "GET /a HTTP/1.1" 200 1 "-" "-" rt=0.010 urt="0.009"', 0,
    ...             factor=2.0, match="/a")[-26:]
    '"-" "-" rt=0.020 urt="0.018"'
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from .. import formats
from ..errors import ToolkitError
from ..sources import iter_files, open_source

SAMPLES = Path(__file__).resolve().parents[2] / "sample_traces"
PG_SAMPLE = SAMPLES / "queries/postgresql/app/postgresql.log.gz"
NGINX_SAMPLE = SAMPLES / "http/nginx/access.log.gz"
NGINX_FORMAT = SAMPLES / "http/nginx/perf.log_format"

_PG_TIME = re.compile(r"\b(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)? UTC")
_PG_DURATION = re.compile(r"duration: (\d+(?:\.\d+)?) ms")
_NGINX_TIME = re.compile(r"\[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d) \+0000\]")
_NGINX_ISO = re.compile(r"\b(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\+00:00")  # $time_iso8601
_NGINX_MSEC = re.compile(r"\bmsec=(\d+)\.(\d+)")
_NGINX_RT = re.compile(r'\b(rt=|urt="?)(\d+\.\d+)')
_NGINX_FMT = "%d/%b/%Y:%H:%M:%S"
_ISO_FMT = "%Y-%m-%dT%H:%M:%S"


def _times(rx: re.Pattern, fmt: str, seconds: float):
    cache: dict[str, str] = {}  # a log repeats few distinct times: each is parsed once

    def sub(m: re.Match) -> str:
        t = m.group(1)
        out = cache.get(t)
        if out is None:
            out = cache[t] = (dt.datetime.strptime(t, fmt) + dt.timedelta(seconds=seconds)).strftime(fmt)
        return m.group(0).replace(t, out, 1)
    return sub


def _slower(rx: re.Pattern, factor: float, match: str | None, line: str, group: int) -> str:
    if factor == 1.0 or (match is not None and match not in line):
        return line

    def times(m: re.Match) -> str:
        v = m.group(group)
        decimals = len(v.split(".")[1]) if "." in v else 0
        return m.group(0).replace(v, f"{float(v) * factor:.{decimals}f}", 1)
    return rx.sub(times, line)


def shift_postgres(text: str, seconds: float, *, factor: float = 1.0, match: str | None = None) -> str:
    """A PostgreSQL stderr log's text with every time stamp ``seconds`` later and, where a line
    holds ``match`` (None: every line), its ``duration: X ms`` times ``factor``."""
    out = _PG_TIME.sub(_times(_PG_TIME, "%Y-%m-%d %H:%M:%S", seconds), text)
    if factor != 1.0:
        out = "\n".join(_slower(_PG_DURATION, factor, match, ln, 1) for ln in out.split("\n"))
    return out


def shift_nginx(text: str, seconds: float, *, factor: float = 1.0, match: str | None = None) -> str:
    """An nginx access log's text with ``$time_local``, ``$time_iso8601`` (UTC) and ``$msec``
    ``seconds`` later and, on
    lines holding ``match`` (None: every line), ``rt=`` and ``urt=`` times ``factor``."""
    out = _NGINX_TIME.sub(_times(_NGINX_TIME, _NGINX_FMT, seconds), text)
    out = _NGINX_ISO.sub(_times(_NGINX_ISO, _ISO_FMT, seconds), out)
    if seconds:
        out = _NGINX_MSEC.sub(lambda m: f"msec={int(m.group(1)) + int(seconds)}.{m.group(2)}", out)
    if factor != 1.0:
        out = "\n".join(_slower(_NGINX_RT, factor, match, ln, 2) for ln in out.split("\n"))
    return out


def _span_s(text: str, rx: re.Pattern, fmt: str) -> float:
    stamps = [dt.datetime.strptime(t, fmt) for t in {m.group(1) for m in rx.finditer(text)}]
    return (max(stamps) - min(stamps)).total_seconds() + 1 if stamps else 0.0


def write_copies(text: str, path: str | os.PathLike, kind: str, *, shift_s: float = 0.0,
                 target_bytes: int | None = None, factor: float = 1.0, match: str | None = None) -> int:
    """Write ``text`` (a ``kind`` = ``"postgres"`` or ``"nginx"`` log) to ``path``, shifted by
    ``shift_s``, repeated until the file holds ``target_bytes`` (None: once), each repetition
    later by the original's span. Returns the bytes written."""
    shift, rx, fmt = ((shift_postgres, _PG_TIME, "%Y-%m-%d %H:%M:%S") if kind == "postgres"
                      else (shift_nginx, _NGINX_TIME, _NGINX_FMT))
    span = _span_s(text, rx, fmt) or (_span_s(text, _NGINX_ISO, _ISO_FMT) if kind == "nginx" else 0.0)
    if not text.endswith("\n"):
        text += "\n"
    written, rep = 0, 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        while rep == 0 or (target_bytes is not None and written < target_bytes):
            block = shift(text, shift_s + rep * span, factor=factor, match=match)
            fh.write(block)
            written += len(block.encode())
            rep += 1
    return written


def make_fleet(folder: str | os.PathLike, hosts: int = 8, *, degraded: int | None = None,
               factor: float = 4.0, match_sql: str = "orders", match_path: str = "/api/orders",
               shift_s: float = 37.0, target_bytes: int | None = None,
               postgres: Any = PG_SAMPLE, nginx: Any = NGINX_SAMPLE,
               nginx_format: Any = NGINX_FORMAT) -> pd.DataFrame:
    """Write ``hosts`` hosts' logs under ``folder``: ``host-NN/postgresql.log`` and
    ``host-NN/access.log`` (with ``nginx_format``, a ``NAME.log_format`` file, beside it, so the
    format is found without options; None: a format found by detection), host ``k`` shifted by ``k * shift_s`` seconds. Host
    ``degraded`` (a number, None: none) has the queries mentioning ``match_sql`` and the requests
    to paths holding ``match_path`` ``factor`` times slower. ``target_bytes``: each file's size
    (the original repeated), None: one copy. Returns host, kind, path, bytes, degraded."""
    pg_text = open_source(postgres).read_text() if postgres is not None else None
    ng_text = open_source(nginx).read_text() if nginx is not None else None
    rows = []
    for k in range(hosts):
        host = f"host-{k:02d}"
        d = Path(folder) / host
        d.mkdir(parents=True, exist_ok=True)
        slow = k == degraded
        f = factor if slow else 1.0
        if pg_text is not None:
            p = d / "postgresql.log"
            n = write_copies(pg_text, p, "postgres", shift_s=k * shift_s, target_bytes=target_bytes,
                             factor=f, match=match_sql)
            rows.append({"host": host, "kind": "postgres", "path": str(p), "bytes": n, "degraded": slow})
        if ng_text is not None:
            p = d / "access.log"
            n = write_copies(ng_text, p, "nginx", shift_s=k * shift_s, target_bytes=target_bytes,
                             factor=f, match=match_path)
            if nginx_format is not None:
                shutil.copyfile(nginx_format, d / Path(nginx_format).name)
            rows.append({"host": host, "kind": "nginx", "path": str(p), "bytes": n, "degraded": slow})
    return pd.DataFrame(rows, columns=["host", "kind", "path", "bytes", "degraded"])


def host_logs(folder: str | os.PathLike) -> pd.DataFrame:
    """The logs of a fleet's folder, one folder per host: ``host`` (the folder's name), ``kind``
    (``queries`` or ``access_log``, as detected) and ``path``, per host in name order. Other
    files (``NAME.log_format``, notes, what no format reads) are left out."""
    rows = []
    for host in sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in iter_files([host]):
            if path.endswith(".log_format"):
                continue
            try:
                kind = formats.detect(path).kind
            except ToolkitError:
                continue
            if kind in ("queries", "access_log"):
                rows.append({"host": host.name, "kind": kind, "path": path})
    return pd.DataFrame(rows, columns=["host", "kind", "path"])


# -- comparing hosts ----------------------------------------------------------------------------
def hosts_table(digests: dict[str, pd.DataFrame], endpoint_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per host from its digest and endpoint table (either may be missing): ``host``,
    ``calls``, ``query_s`` (database time, seconds), ``mean_query_ms``, ``requests``,
    ``request_s`` (request time, seconds), ``mean_request_ms``, and ``query_vs_median`` /
    ``request_vs_median``: the host's mean over the median host's (1: typical)."""
    rows = []
    for host in sorted(set(digests) | set(endpoint_tables)):
        d, e = digests.get(host), endpoint_tables.get(host)
        row: dict[str, Any] = {"host": host}
        if d is not None and len(d):
            row.update(calls=int(d["calls"].sum()), query_s=float(d["total_ms"].sum()) / 1000)
            row["mean_query_ms"] = 1000 * row["query_s"] / row["calls"]
        if e is not None and len(e):
            row.update(requests=int(e["requests"].sum()), request_s=float(e["total_s"].sum()))
            row["mean_request_ms"] = 1000 * row["request_s"] / row["requests"]
        rows.append(row)
    cols = ["host", "calls", "query_s", "mean_query_ms", "requests", "request_s", "mean_request_ms"]
    out = pd.DataFrame(rows).reindex(columns=cols)
    for mean, ratio in (("mean_query_ms", "query_vs_median"), ("mean_request_ms", "request_vs_median")):
        out[ratio] = out[mean] / out[mean].median()
    return out


def against_peers(tables: dict[str, pd.DataFrame], host: str, *, key: str | list[str],
                  value: str) -> pd.DataFrame:
    """``host``'s ``value`` per ``key`` (e.g. a digest's ``mean_ms`` per ``fingerprint``, an
    endpoint table's ``p95_s`` per ``endpoint`` and ``method``) beside the median of the other
    hosts: the key columns, ``value`` (the host's), ``peers`` (the others' median), ``ratio``;
    the keys every peer and the host have, the largest ratio first."""
    keys = [key] if isinstance(key, str) else list(key)
    mine = tables[host].set_index(keys)[value]
    peers = [t.set_index(keys)[value] for h, t in tables.items() if h != host and t is not None and len(t)]
    if not peers:
        return pd.DataFrame(columns=[*keys, value, "peers", "ratio"])
    median = pd.concat(peers, axis=1).median(axis=1, skipna=True)
    out = pd.DataFrame({value: mine}).join(median.rename("peers"), how="inner")
    out = out[out["peers"] > 0]
    out["ratio"] = out[value] / out["peers"]
    return out.sort_values("ratio", ascending=False, kind="stable").reset_index()

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

from ..sources import open_source

SAMPLES = Path(__file__).resolve().parents[2] / "sample_traces"
PG_SAMPLE = SAMPLES / "queries/postgresql/app/postgresql.log.gz"
NGINX_SAMPLE = SAMPLES / "http/nginx/access.log.gz"
NGINX_FORMAT = SAMPLES / "http/nginx/perf.log_format"

_PG_TIME = re.compile(r"\b(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)? UTC")
_PG_DURATION = re.compile(r"duration: (\d+(?:\.\d+)?) ms")
_NGINX_TIME = re.compile(r"\[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d) \+0000\]")
_NGINX_MSEC = re.compile(r"\bmsec=(\d+)\.(\d+)")
_NGINX_RT = re.compile(r'\b(rt=|urt=")(\d+\.\d+)')
_NGINX_FMT = "%d/%b/%Y:%H:%M:%S"


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
    """An nginx access log's text with ``$time_local`` and ``$msec`` ``seconds`` later and, on
    lines holding ``match`` (None: every line), ``rt=`` and ``urt=`` times ``factor``."""
    out = _NGINX_TIME.sub(_times(_NGINX_TIME, _NGINX_FMT, seconds), text)
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
    span = _span_s(text, rx, fmt)
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
    ``host-NN/access.log`` (with the nginx format beside it as ``perf.log_format``, so the
    format is found without options), host ``k`` shifted by ``k * shift_s`` seconds. Host
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
            shutil.copyfile(nginx_format, d / "perf.log_format")
            rows.append({"host": host, "kind": "nginx", "path": str(p), "bytes": n, "degraded": slow})
    return pd.DataFrame(rows, columns=["host", "kind", "path", "bytes", "degraded"])

"""`perf-toolkit analyze`: walk inputs, detect and read each, run every analysis that applies.

    >>> from toolkit.report.analyze import analyze
    >>> a = analyze(["sample_traces/"])                      # doctest: +SKIP
    >>> a.inputs_table()[["path", "status", "format"]]       # doctest: +SKIP
    >>> a.findings[["severity", "rule", "title"]]            # doctest: +SKIP

Every input ends in :attr:`Analysis.inputs` with its fate: read (with its accounting), skipped
(not evidence, unknown format, empty) or failed (the reader's error). Nothing is dropped silently.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from .. import engines, formats
from ..errors import InputError, ToolkitError
from ..sources import Source, expanded_size, iter_files, open_source, watch_reads
from .analysis import Analysis, InputResult

NOT_EVIDENCE_REASON = "source code or documentation, not evidence"
# Files that describe the evidence beside them (an access log's format, a py-spy file's rate):
# read with it, never as evidence of their own.
SIDECARS = (".log_format", ".rate")
SIDECAR_REASON = "describes the input beside it (its log format or sampling rate), not evidence"
# Files that sit beside evidence (the scripts and notes that produced it) and are not evidence.
NOT_EVIDENCE = (".py", ".md", ".sh", ".conf", ".cfg", ".ini", ".toml", ".yaml", ".yml", ".ipynb",
                ".sql", ".txt.in", ".pyc", ".html", ".css", ".js")
LARGE_INPUT_BYTES = 20 * 1024 * 1024  # announce reads above this size
# Logs above this size on disk are streamed: the digest / endpoint table is built chunk by chunk
# with bounded memory, and the detectors that need every event (N+1, sessions, ...) do not run.
STREAM_BYTES = 256 * 1024 * 1024
# PostgreSQL writes every event to each of its log_destination outputs: a folder holding
# postgresql.log, postgresql.csv and postgresql.json from one server is one workload, analysed once
# (from the richest of them) so its findings are not counted three times.
PG_DESTINATIONS = ("postgres-jsonlog", "postgres-csvlog", "postgres-stderr")  # richest first
# Kinds whose files are compared in pairs (`perf-toolkit compare`), not analysed one by one.
COMPARED_KINDS = ("benchmark", "load_test")


class Tracker(Protocol):
    """What :func:`analyze` tells a progress display (the CLI's progress bar): how many inputs
    and bytes there are, which input it starts and finishes, and every block of bytes read."""

    def start(self, inputs: int, total_bytes: int) -> None: ...
    def begin(self, path: str, size: int) -> None: ...
    def read(self, n: int) -> None: ...
    def end(self, path: str) -> None: ...
    def close(self) -> None: ...


def default_paths() -> list[str]:
    """The bundled ``sample_traces/`` of the source tree this toolkit runs from."""
    here = Path(__file__).resolve().parents[2] / "sample_traces"
    if here.is_dir():
        return [str(here)]
    cwd = Path.cwd() / "sample_traces"
    if cwd.is_dir():
        return [str(cwd)]
    raise InputError("no path given and no sample_traces/ folder found; name the files or "
                     "folders to analyse")


def opener(path: str) -> Callable[[], Source]:
    """A function that opens ``path`` afresh for each reader (detection, the main table, the
    server events). A FIFO or character device gives its content once, so it is read once (with
    the size cap :class:`~toolkit.sources.Source` applies) and each opening reads that copy."""
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        regular = True  # let open_source say what is wrong with it
    if regular:
        return lambda: open_source(path)
    data = open_source(path).read_bytes()
    return lambda: open_source(data, name=path)


def _read(path: str, fmt: formats.Format, open_input: Callable[[], Source] | None = None,
          **options: Any) -> dict[str, Any]:
    """Read one input with its format's readers; returns the evidence by table name."""
    open_input = open_input or opener(path)
    src = open_input()
    if fmt.kind == "profile":
        return {"profile": formats.read(src, format=fmt.name, **options)}
    if fmt.kind == "queries":
        out = {"queries": formats.read(src, format=fmt.name, **options)}
        if "server_events" in fmt.extras.tables:
            out["server_events"] = formats.read(open_input(), format=fmt.name,
                                                table="server_events", **options)
        return out
    if fmt.kind == "access_log":
        return {"requests": formats.read(src, format=fmt.name, **options)}
    raise InputError(f"{path}: {fmt.kind} inputs are not analysed yet")


# evidence table name (as _read and _stream return it) -> the Analysis field holding it by path
_EVIDENCE_FIELD = {"profile": "profiles", "queries": "queries", "server_events": "server_events",
                   "requests": "requests", "digest": "digests", "endpoints": "endpoint_tables"}


def _stream(path: str, fmt: formats.Format, state: Any = None, engine: str | None = None,
            **options: Any) -> dict[str, Any]:
    """Aggregate a log too large to hold in memory, chunk by chunk (with a ``state``: only the
    bytes it does not hold yet, see :mod:`toolkit.state`; else ``engine="dask"``: its byte
    ranges on the Dask cluster, digested from their text: :mod:`toolkit.distributed.direct`)."""
    if state is None and engine is not None and fmt.kind in ("queries", "access_log"):
        run = engines.engine(engine)
        if fmt.kind == "queries":
            return {"digest": run.digest_files(path, format=fmt.name, reader_options=options or None)}
        return {"endpoints": run.endpoint_files(path, log_format=options.get("log_format"))}
    if fmt.kind == "queries":
        from ..queries.digest import digest_file

        return {"digest": digest_file(path, format=fmt.name, reader_options=options or None, state=state)}
    if fmt.kind == "access_log":
        from ..http.endpoints import endpoints

        log_format = options.get("log_format")  # None: detected, the dialects of combined included
        return {"endpoints": endpoints(path, log_format=log_format, state=state)}
    return _read(path, fmt, **options)


def _accounting(evidence: dict[str, Any]) -> dict[str, Any]:
    for value in evidence.values():
        attrs = getattr(value, "attrs", None)
        if isinstance(attrs, dict) and "source" in attrs:
            return attrs["source"]
        source = getattr(value, "source", None)
        if isinstance(source, dict):
            return source
    return {}


def _stem(path: str) -> tuple[str, str]:
    folder, name = os.path.split(path)
    return folder, name.split(".", 1)[0]


def _one_workload_per_destination_set(analysis: Analysis) -> None:
    """Keep one of several PostgreSQL logs that share a folder and a stem (postgresql.log,
    .csv, .json): the others stay listed as read, with a note, but are not analysed again."""
    groups: dict[tuple[str, str], list[InputResult]] = {}
    for result in analysis.inputs:
        if result.status == "read" and result.format in PG_DESTINATIONS:
            groups.setdefault(_stem(result.path), []).append(result)
    for members in groups.values():
        if len({m.format for m in members}) < 2:
            continue
        members.sort(key=lambda m: PG_DESTINATIONS.index(m.format))
        keep = members[0]
        for other in members[1:]:
            other.reason = (f"same events as {os.path.basename(keep.path)} (PostgreSQL writes every "
                            "event to each log_destination); analysed once, from that file")
            analysis.queries.pop(other.path, None)
            analysis.server_events.pop(other.path, None)


def matching_format(src: Source, log_format: str) -> str | None:
    """The access-log format of ``log_format`` (a format string, a pasted directive, or a whole
    nginx.conf / httpd.conf offering several: :func:`toolkit.http.conf.candidates`) that at
    least 80% of the input's first lines match; None when none does."""
    from ..errors import LogFormatError
    from ..http.accesslog import compile_format
    from ..http.conf import candidates
    from ..http.dialects import fits

    head = src.head().decode("utf-8", "replace").split("\n")[:-1][:50]
    lines = [line for line in head if line.strip()]
    if not lines:
        return None
    for candidate in candidates(log_format):
        try:
            compiled = compile_format(candidate)
        except LogFormatError:
            continue
        if fits(compiled, lines):
            return candidate
    return None


def custom_format_label(path: str, custom: str | None, accounting: dict[str, Any]) -> str:
    """What to call an access log read in a custom format: ``nginx (log_format perf)`` or
    ``apache (LogFormat timed)``, from the format the user gave or the ``.log_format`` file
    beside the log whose name the reader recorded (an Apache LogFormat is not nginx's)."""
    from ..errors import LogFormatError
    from ..http.accesslog import compile_format, sidecar_formats

    name = str(accounting.get("format") or "").partition(":")[2]
    try:
        compiled = (compile_format(custom) if custom is not None
                    else next((f for _, f in sidecar_formats(path) if f.name == name), None))
    except LogFormatError:
        compiled = None
    if compiled is None:
        return "nginx"
    if compiled.escape == "apache":
        return f"apache (LogFormat {compiled.name})" if compiled.name not in ("", "apache") else "apache"
    return f"nginx (log_format {compiled.name})" if compiled.name not in ("", "nginx") else "nginx"


def unexpected(exc: BaseException, doing: str) -> str:
    """The reason shown for an exception that is not a ToolkitError (a bug in a reader or a
    detector, met on this input): what failed, and that it is ours to fix."""
    return (f"unexpected {type(exc).__name__} while {doing}: {exc} (a perf-toolkit bug on this "
            "input; the rest of the run went on)")


def _analyse_one(path: str, analysis: Analysis, say: Callable[[str], None], log_format: str | None,
                 log_line_prefix: str | None, stream_bytes: int, pyspy_rate: float | None = None,
                 state: Any = None, engine: str | None = None) -> None:
    """Detect and read one input; append its fate to ``analysis.inputs`` and its evidence."""
    t0 = time.perf_counter()
    try:
        open_input = opener(path)
        # The user's own access-log format first: content sniffing cannot know a custom format.
        custom = matching_format(open_input(), log_format) if log_format else None
        fmt = formats.get("nginx") if custom else formats.detect(open_input())
    except ToolkitError as exc:
        analysis.inputs.append(InputResult(path, "skipped", reason=getattr(exc, "reason", "") or str(exc)))
        return
    except Exception as exc:  # one input must never abort the run
        analysis.inputs.append(InputResult(path, "failed", reason=unexpected(exc, "detecting its format")))
        return
    if fmt.kind in COMPARED_KINDS:  # a run is judged against another run, not on its own
        analysis.inputs.append(InputResult(path, "skipped", fmt.name, fmt.kind,
                                           reason="benchmark / load-test results: compare two runs with "
                                                  "`perf-toolkit compare BASE HEAD`"))
        return
    size = os.path.getsize(path)
    if size > LARGE_INPUT_BYTES:
        say(f"reading {path} ({size / 1e6:.0f} MB, {fmt.name}) ...")
    try:
        options: dict[str, Any] = {}
        if custom is not None:
            options["log_format"] = custom
        elif log_line_prefix and fmt.name == "postgres-stderr":
            options["log_line_prefix"] = log_line_prefix
        elif pyspy_rate and fmt.name == "pyspy-raw":
            options["rate"] = pyspy_rate
        streamed = fmt.kind in ("queries", "access_log") and (
            state is not None or expanded_size(path, stream_bytes) > stream_bytes)
        evidence = (_stream(path, fmt, state, engine, **options) if streamed
                    else _read(path, fmt, open_input, **options))
    except Exception as exc:
        reason = str(exc) if isinstance(exc, ToolkitError) else unexpected(exc, "reading it")
        analysis.inputs.append(InputResult(path, "failed", fmt.name, fmt.kind, reason=reason,
                                           seconds=time.perf_counter() - t0))
        return
    acct = _accounting(evidence)
    records = acct.get("records")
    if records is None:
        main = next(iter(evidence.values()))
        records = len(main) if hasattr(main, "__len__") else 0
    label = custom_format_label(path, custom, acct) if fmt.name == "nginx" else fmt.name
    how = (f"streamed ({size / 1e6:.0f} MB on disk): aggregated chunk by chunk" if state is None
           else f"incremental, {acct.get('incremental')}")
    analysis.inputs.append(InputResult(
        path, "read", label, fmt.kind, records=int(records or 0),
        lines_read=int(acct.get("lines_read") or 0), lines_skipped=int(acct.get("lines_skipped") or 0),
        seconds=time.perf_counter() - t0, source=acct,
        reason=f"{how}; the detectors that need every event did not run" if streamed else ""))
    for table, value in evidence.items():
        getattr(analysis, _EVIDENCE_FIELD[table])[path] = value


def _evidence_of(analysis: Analysis, path: str) -> Analysis:
    """An Analysis holding only ``path``'s evidence (to find which input a detector fails on)."""
    one = Analysis()
    for field in ("profiles", "queries", "server_events", "requests"):
        value = getattr(analysis, field).get(path)
        if value is not None:
            getattr(one, field)[path] = value
    return one


def _findings(analysis: Analysis):
    """The findings across every input. When a detector fails (not a ToolkitError) on some input,
    that input is marked failed with the reason and the findings of the others still come."""
    from ..findings import findings

    try:
        return findings(analysis)
    except Exception:  # find the input(s) it fails on, then run without them
        pass
    bad: set[str] = set()
    for result in analysis.inputs:
        if result.status != "read":
            continue
        try:
            findings(_evidence_of(analysis, result.path))
        except Exception as exc:
            bad.add(result.path)
            result.status = "failed"
            result.reason = unexpected(exc, "running the checklist rules on it")
    good = Analysis()
    for field in ("profiles", "queries", "server_events", "requests"):
        setattr(good, field, {p: v for p, v in getattr(analysis, field).items() if p not in bad})
    return findings(good)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def analyze(paths: Iterable[str | os.PathLike] | None = None, *,
            progress: Callable[[str], None] | None = None, run_findings: bool = True,
            log_format: str | None = None, log_line_prefix: str | None = None,
            stream_bytes: int = STREAM_BYTES, tracker: Tracker | None = None,
            pyspy_rate: float | None = None, state: Any = None, engine: str | None = None) -> Analysis:
    """Read every input under ``paths`` (default: the bundled sample traces) and run every
    analysis and detector that applies (``paths=[]``: none). ``progress`` receives one-line status messages;
    ``tracker`` (a :class:`Tracker`, such as the CLI's progress bar) hears of every input and
    every block of bytes read. The checklist rules run when at least one input was read.

    ``log_format`` is an nginx ``log_format`` (or Apache ``LogFormat``) for access logs in a
    custom format (a ``NAME.log_format`` file beside a log does the same). ``log_line_prefix``
    is PostgreSQL's, for stderr logs whose prefix is not one of the common ones. ``pyspy_rate`` is
    the sampling rate (Hz) of py-spy raw files, which do not record it (a ``NAME.rate`` file
    beside one does the same; else 100 Hz is assumed and said). Logs larger than
    ``stream_bytes`` on disk are streamed (digest / endpoint table only, bounded memory);
    ``engine="dask"`` aggregates them on the Dask cluster instead (the client that is current).
    With ``state`` (a directory or a :class:`toolkit.state.StateStore`) every query and access
    log is streamed incrementally, in this process: each file's digest / endpoint table is
    remembered there and the next run reads only what was appended (each input's ``source``
    says how much: ``new_bytes``, ``new_records``).

    No input aborts the run: one that cannot be read, or on which a reader or detector fails
    for any reason, is listed in ``inputs`` as failed with the reason, and so is a folder that
    cannot be listed."""
    started = time.perf_counter()
    say = progress or (lambda message: None)
    paths = [os.fspath(p) for p in (default_paths() if paths is None else paths)]
    analysis = Analysis()
    passed_over: list[tuple[str, str]] = []  # unlistable folders; FIFOs, devices, sockets in folders
    files = list(iter_files(paths, skipped=passed_over))
    evidence = [p for p in files if not p.lower().endswith(NOT_EVIDENCE + SIDECARS)]
    sizes = {p: _size(p) for p in evidence}
    if tracker is not None:
        tracker.start(len(evidence), sum(sizes.values()))
    try:
        for path in files:
            if path not in sizes:
                sidecar = path.lower().endswith(SIDECARS)
                analysis.inputs.append(InputResult(path, "skipped",
                                                   reason=SIDECAR_REASON if sidecar else NOT_EVIDENCE_REASON))
                continue
            if tracker is None:
                _analyse_one(path, analysis, say, log_format, log_line_prefix, stream_bytes, pyspy_rate,
                             state, engine)
                continue
            tracker.begin(path, sizes[path])
            with watch_reads(tracker.read):
                _analyse_one(path, analysis, say, log_format, log_line_prefix, stream_bytes, pyspy_rate,
                             state, engine)
            tracker.end(path)
    finally:
        if tracker is not None:
            tracker.close()
    analysis.inputs.extend(InputResult(path, "skipped", reason=reason) for path, reason in passed_over)
    _one_workload_per_destination_set(analysis)
    if run_findings and analysis.analysed:
        say("running the checklist rules ...")
        analysis.findings = _findings(analysis)
    analysis.seconds = time.perf_counter() - started
    return analysis

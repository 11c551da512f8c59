"""Run a curated notebook on a user's own files and export it as one offline HTML file.

:func:`run_notebook` executes ``notebooks/<name>.ipynb`` with papermill (kernel working folder =
the notebook's folder, so its ``../sample_traces`` defaults resolve; parameters that name
existing files are made absolute first), then :func:`export_html` converts the executed
notebook with nbconvert's ``HTMLExporter``.

The exported file works offline and runs nothing from the notebook: every output is first
sanitized and (by default) redacted (:mod:`toolkit.report.outputs`; the curated notebooks also
get ``REDACT=True``, so their tables are redacted column by column as they are shown); then
the plotly JSON outputs (``application/vnd.plotly.v1+json``, which nbconvert does not draw)
become a ``<div>`` and an inert JSON block each, drawn by plotly.js and the one page script of
:mod:`toolkit.report.html`, embedded once in the page head. The template's CDN scripts
(require.js, MathJax, mermaid, widgets) and its JavaScript and widget outputs are left out, and
the page's Content-Security-Policy forbids every network request and lets only those two
scripts run, by hash.

    >>> from toolkit.report.notebooks import run_notebook
    >>> run_notebook("01_hot_paths", "hot.html", {"profile": "my.speedscope.json"})  # doctest: +SKIP
    PosixPath('hot.html')
"""

from __future__ import annotations

import ast
import contextlib
import copy
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError, MissingDependencyError, ToolkitError
from .html import csp_meta, figure_html, figure_scripts, figure_scripts_html
from .outputs import PLOTLY_MIME, clean_notebook
from .redact import Redactor
from .static import ENV as STATIC_IMAGES_ENV

# The notebook parameter the curated notebooks take: redact what they show (exports set it).
REDACT_PARAMETER = "REDACT"

# The lab template without anything fetched from a CDN and without any script of its own: the
# CSP (hashes of plotly.js and the page script when there are figures, else no script at all)
# first, then those two scripts once; JavaScript, widget and Mermaid outputs render as nothing
# (they are also dropped before), SVG only as an inert data: image.
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}
{{ resources['tk_csp_meta'] }}
<meta name="referrer" content="no-referrer">
{{ resources.get('tk_scripts', '') }}
{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block data_javascript scoped -%}{%- endblock -%}
{%- block data_widget_view scoped -%}{%- endblock -%}
{%- block data_mermaid scoped -%}{%- endblock -%}
{% block data_svg scoped -%}
<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}" data-mime-type="image/svg+xml">
<img src="data:image/svg+xml;base64,{{ output.data['image/svg+xml'] | text_base64 | escape_html }}">
</div>
{%- endblock data_svg %}
{%- block footer -%}
</html>
{%- endblock footer -%}
"""


def notebooks_dir() -> Path:
    """The curated notebooks: the ``notebooks/`` folder beside the installed ``toolkit/``."""
    return Path(__file__).resolve().parents[2] / "notebooks"


def available() -> list[str]:
    """Names of the curated notebooks (without ``.ipynb``)."""
    folder = notebooks_dir()
    return sorted(p.stem for p in folder.glob("*.ipynb")) if folder.is_dir() else []


def find_notebook(name: str | os.PathLike) -> Path:
    """A curated notebook by name (``01_hot_paths`` or ``01_hot_paths.ipynb``), or a path to
    any notebook. InputError lists the curated ones when nothing matches."""
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path.resolve()
    stem = path.name[:-len(".ipynb")] if path.name.endswith(".ipynb") else path.name
    candidate = notebooks_dir() / f"{stem}.ipynb"
    if candidate.is_file():
        return candidate
    known = ", ".join(available()) or "none found"
    raise InputError(f"no notebook {str(name)!r}; curated notebooks ({notebooks_dir()}): {known}")


def parse_value(text: str) -> Any:
    """A ``--param`` value: a Python literal (``3``, ``0.5``, ``True``, ``None``, ``[1, 2]``,
    ``'x'``), else the text itself; ``true``/``false``/``none`` in any case too."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return value if isinstance(value, int | float | bool | list | tuple | dict | str) else text


def absolute_paths(parameters: Mapping[str, Any], base: str | os.PathLike | None = None) -> dict[str, Any]:
    """Parameters whose string values name an existing file or folder (relative to ``base``,
    default the working folder) are made absolute: the kernel runs in the notebooks folder."""
    base = Path(base or os.getcwd())
    out = {}
    for key, value in parameters.items():
        if isinstance(value, str) and value and (base / value).expanduser().exists():
            value = str((base / value).expanduser().resolve())
        elif isinstance(value, list | tuple):
            value = type(value)(str((base / v).resolve()) if isinstance(v, str) and v and (base / v).exists()
                                else v for v in value)
        out[key] = value
    return out


def _require(module: str) -> Any:
    import importlib
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(
            f"{module} is needed to run notebooks: pip install 'perf-toolkit[notebook]'") from exc


def _plotly_output_html(fig: Mapping[str, Any], div_id: str) -> str:
    layout = fig.get("layout") or {}
    height = layout.get("height") or 500
    return figure_html(dict(fig), div_id, height=int(height))


def _make_preprocessors(redactor: Redactor | None) -> list[Any]:
    from nbconvert.preprocessors import Preprocessor

    class SafeOutputs(Preprocessor):
        """Sanitize (and with a redactor, redact) every output before anything of ours is
        added: outputs are input-derived, the figure markup that follows is trusted."""

        def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
            return clean_notebook(nb, redactor), resources

    class PlotlyPreprocessor(Preprocessor):
        """Give each plotly JSON output a ``text/html`` rendering (a div and its JSON block)
        that the HTML exporter picks, and tell the template to embed plotly.js and the page
        script once, with the CSP that allows just them."""

        def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
            count = 0
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    data = output.get("data") or {}
                    if PLOTLY_MIME not in data:
                        continue
                    count += 1
                    fig = data[PLOTLY_MIME]
                    data["text/html"] = _plotly_output_html(fig, f"plotly-figure-{count}")
                    # the exporter would otherwise show the text/plain or image fallback
                    for mime in ("text/plain", "image/png", "image/svg+xml", "image/jpeg"):
                        data.pop(mime, None)
            resources["plotly_figures"] = count
            resources["tk_csp_meta"] = csp_meta(figure_scripts() if count else ())
            if count:
                resources["tk_scripts"] = figure_scripts_html()
            return nb, resources

    return [SafeOutputs(), PlotlyPreprocessor()]


def export_html(notebook: str | os.PathLike | Any, output: str | os.PathLike, *, redact: bool = True) -> Path:
    """Convert an executed notebook (path or nbformat node) to one offline HTML file at
    ``output``; plotly figures are drawn by plotly.js embedded once. Every output is sanitized
    and, with ``redact`` (default), redacted like the report (see :mod:`toolkit.report.outputs`).
    Returns the path."""
    nbformat = _require("nbformat")
    _require("nbconvert")
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, str | os.PathLike) \
        else copy.deepcopy(notebook)
    exporter = HTMLExporter(extra_loaders=[DictLoader({"offline.html.j2": _TEMPLATE})],
                            template_file="offline.html.j2", embed_images=True)
    for preprocessor in _make_preprocessors(Redactor() if redact else None):
        exporter.register_preprocessor(preprocessor, enabled=True)
    name = Path(notebook).stem if isinstance(notebook, str | os.PathLike) else "notebook"
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(body, encoding="utf-8")
    return output


def notebook_parameters(path: str | os.PathLike) -> dict[str, Any]:
    """The names in a notebook's ``parameters`` cell, with their default expressions."""
    return {k: v["default"] for k, v in parameter_help(path).items()}


def parameter_help(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """A notebook's parameters: name -> ``default`` (the expression in its parameters cell) and
    ``help`` (the comment after it), as ``perf-toolkit notebook NAME --help`` lists them."""
    papermill = _require("papermill")
    return {k: {"default": str(v.get("default")), "help": str(v.get("help") or "")}
            for k, v in papermill.inspect_notebook(str(path)).items()}


def _kernel_manager() -> type:
    """A kernel manager whose kernel listens on local sockets (IPC), not TCP: the kernel then
    has nothing to warn about ("running over TCP without encryption") on the user's terminal."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class LocalKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    return LocalKernelManager


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """``os.environ`` with ``values`` set for the ``with`` block (the kernel inherits it)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_notebook(name: str | os.PathLike, output: str | os.PathLike | None = None,
                 parameters: Mapping[str, Any] | None = None, *, executed: str | os.PathLike | None = None,
                 kernel_name: str | None = None, timeout: int = 600, base: str | os.PathLike | None = None,
                 strict: bool = True, redact: bool = True) -> Path:
    """Execute the notebook ``name`` with ``parameters`` (papermill) and export it as offline
    HTML to ``output`` (default ``<name>.html`` in the working folder). Returns the HTML path.

    Parameter values that name existing paths (relative to ``base``, default the working folder)
    are made absolute, since the kernel runs in the notebook's folder. With ``strict``, a name
    the notebook's parameters cell does not define is an InputError listing the ones it does.
    ``executed`` keeps the executed ``.ipynb`` there (default: a temporary folder). When a cell
    fails, the HTML is still written (it shows the error) and a ToolkitError says which cell.

    ``redact`` (default True): the export is redacted like the report, and a notebook with a
    ``REDACT`` parameter (the curated ones) gets ``REDACT=True`` so it redacts its tables and
    findings as it shows them; ``redact=False`` keeps literal values (``--no-redact``).
    """
    papermill = _require("papermill")
    path = find_notebook(name)
    output = Path(output) if output is not None else Path.cwd() / f"{path.stem}.html"
    params = absolute_paths(dict(parameters or {}), base)
    if REDACT_PARAMETER in params:
        raise InputError(f"{REDACT_PARAMETER} follows the export's redaction: leave it out "
                         "(redact=False / --no-redact keeps literal values)")
    known = notebook_parameters(path)
    if strict and params:
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise InputError(f"{path.name} has no parameter {', '.join(unknown)}; its parameters: "
                             f"{', '.join(known) or 'none (no cell tagged parameters)'}")
    if REDACT_PARAMETER in known:
        params[REDACT_PARAMETER] = redact
    # The HTML draws every figure itself: static images only for an executed notebook kept to be
    # shared as .ipynb (they cost a browser in the kernel)
    images = "1" if executed is not None and os.environ.get(STATIC_IMAGES_ENV, "1") != "0" else "0"
    with tempfile.TemporaryDirectory(prefix="perf-toolkit-nb-") as tmp:
        out_nb = Path(executed) if executed is not None else Path(tmp) / path.name
        failure: Exception | None = None
        try:
            with _environment(**{STATIC_IMAGES_ENV: images}):
                papermill.execute_notebook(
                    str(path), str(out_nb), parameters=params, cwd=str(path.parent),
                    kernel_name=kernel_name, progress_bar=False, log_output=False,
                    execution_timeout=timeout, report_mode=False, kernel_manager_class=_kernel_manager())
        except papermill.PapermillExecutionError as exc:
            failure = exc
        if not out_nb.exists():
            raise ToolkitError(f"{path.name}: papermill wrote no output notebook") from failure
        html_path = export_html(out_nb, output, redact=redact)
    if failure is not None:
        err = failure
        message = str(getattr(err, "evalue", err))  # the data a cell failed on may be in it
        message = Redactor().text(message) if redact else message
        raise ToolkitError(f"{path.name}: cell {getattr(err, 'exec_count', '?')} failed with "
                           f"{getattr(err, 'ename', type(err).__name__)}: {message}; "
                           f"the HTML with the error is at {html_path}")
    return html_path

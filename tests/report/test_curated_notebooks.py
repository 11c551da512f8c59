"""Every curated notebook on other real inputs than its bundled samples (issue #15): another
server's logs (tests/fixtures/labelled/), logs without timing fields (Apache's common format),
a profile of another program (recorded here with cProfile, pyinstrument and py-spy), another
function to measure. Each run must finish, show no empty table, no error, and no name that
exists only in the samples (a sentence written for the samples would show one).

nbval re-runs each notebook on its samples (``pytest --nbval notebooks/``); these runs are the
"same notebook, someone else's files" half. They run with ``perf-toolkit notebook``'s runner.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from toolkit.report.notebooks import run_notebook

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LABELLED = ROOT / "tests" / "fixtures" / "labelled"
APACHE_COMMON = ROOT / "sample_traces" / "http" / "apache" / "common.log"

# Names the samples' stories show that the other inputs below do not hold: a notebook that
# wrote one of them on another input would be telling the samples' story, not the data's.
SAMPLE_ONLY = {
    "queries": ["no_such_table", "orders(reference)", "order by note", "12142"],
    "http": ["/api/reports", "/api/items", "127.0.0.66", "exchange-rates", "/api/prices", "/api/config"],
    "profiles": ["dedupe", "demo.py", "make_payload", "flush_metrics", "demo_slow"],
    "complexity": ["join_customers", "orders_app", "render_csv", "unique_emails"],
}

PROGRAM = '''
"""A small program that is not the samples' demo: counts primes naively, then sums digits."""
import json


def is_prime(n):
    return n > 1 and all(n % d for d in range(2, n))


def digit_sums(values):
    return [sum(int(c) for c in str(v)) for v in values]


def main():
    primes = [n for n in range(2, 9000) if is_prime(n)]
    print(json.dumps({"primes": len(primes), "digits": sum(digit_sums(primes))}))


if __name__ == "__main__":
    main()
'''

# A user's own code for notebook 03: one function that grows quadratically inside a linear one
# (with its fix), and one that is linear throughout.
USER_CODE = '''
def make_items(n):
    return [(i * 7919) % (n + 1) for i in range(n)]


def common_pairs(items):
    out = 0
    for i, a in enumerate(items):   # every pair: quadratic
        for b in items[i + 1:]:
            out += a == b
    return out


def summarise(items):
    total = sum(items)
    return total, common_pairs(items)


def summarise_fixed(items):
    from collections import Counter
    return sum(items), sum(c * (c - 1) // 2 for c in Counter(items).values())


def running_total(items):
    total = 0
    for x in items:
        total += x
    return total
'''


@pytest.fixture(scope="module")
def other_program(tmp_path_factory) -> dict[str, Path]:
    """Profiles of another program, recorded here by the real profilers."""
    root = tmp_path_factory.mktemp("primes")
    program = root / "primes.py"
    program.write_text(textwrap.dedent(PROGRAM).lstrip())
    out = {"source": root, "cprofile": root / "primes.prof", "pyinstrument": root / "primes.pyisession"}
    run = dict(cwd=root, check=True, capture_output=True, timeout=120)
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out["cprofile"]), str(program)], **run)
    subprocess.run([sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", str(out["pyinstrument"]),
                    str(program)], **run)
    from helpers.programs import find_program

    pyspy = find_program("py-spy")
    if pyspy:  # py-spy raw (with line numbers); it may not attach where ptrace is refused
        done = subprocess.run([pyspy, "record", "--format", "raw", "-r", "100", "-o", str(root / "primes.txt"),
                               "--", sys.executable, str(program)], cwd=root, capture_output=True, timeout=120)
        if done.returncode == 0 and (root / "primes.txt").stat().st_size:
            out["pyspy"] = root / "primes.txt"
    return out


@pytest.fixture(scope="module")
def user_code(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("usercode") / "mycode.py"
    path.write_text(textwrap.dedent(USER_CODE).lstrip())
    return path


def _texts(nb) -> list[str]:
    """Everything the executed notebook shows: streams, text, Markdown, HTML, figure labels."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.get("output_type") != "error", (o.get("ename"), o.get("evalue"))
            if o.get("output_type") == "stream":
                out.append(o.get("text", ""))
            for mime, value in (o.get("data") or {}).items():
                if mime != "image/png":
                    out.append(value if isinstance(value, str) else json.dumps(value))
    return out


def _run(name: str, params: dict, tmp_path: Path, kinds: tuple[str, ...], inputs: list[Path]) -> str:
    """Run a curated notebook as ``perf-toolkit notebook`` does; check what it showed."""
    executed = tmp_path / f"{name}.ipynb"
    run_notebook(name, tmp_path / f"{name}.html", params, executed=executed, redact=False, timeout=300)
    shown = "\n".join(_texts(nbformat.read(executed, as_version=4)))
    # no empty table (a section without its evidence says so in one line instead)
    assert "Empty DataFrame" not in shown
    # no name of the samples' stories that these inputs do not hold
    raw = "\n".join((gzip.open(p, "rt", errors="replace") if p.suffix == ".gz" else open(p, errors="replace")).read()
                    for p in inputs if p.is_file()).lower()
    for kind in kinds:
        for word in SAMPLE_ONLY[kind]:
            assert word.lower() not in raw, f"{word!r} is in the inputs: a bad choice of sample-only name"
            assert word.lower() not in shown.lower(), f"{name} shows {word!r}, a name of its samples"
    return shown


def test_00_tour_on_another_servers_logs_and_another_programs_profile(tmp_path, other_program):
    inputs = [LABELLED / "postgresql.log.gz", LABELLED / "nginx-access.log.gz", other_program["cprofile"]]
    shown = _run("00_tour", {"PROFILE": str(inputs[2]), "QUERY_LOG": str(inputs[0]), "ACCESS_LOG": str(inputs[1]),
                             "LOG_FORMAT": f"@{LABELLED / 'nginx.log_format'}"},
                 tmp_path, ("queries", "http", "profiles"), inputs)
    assert "is_prime" in shown and "finding(s)" in shown


def test_00_tour_on_a_slow_log_an_untimed_access_log_and_no_profile(tmp_path):
    inputs = [LABELLED / "mariadb-slow.log.gz", APACHE_COMMON]
    shown = _run("00_tour", {"PROFILE": None, "QUERY_LOG": str(inputs[0]), "ACCESS_LOG": str(inputs[1])},
                 tmp_path, ("http", "profiles"), inputs)
    assert "Profiles: does not apply here" in shown
    assert "Latency over time: does not apply here" in shown and "the log records no request times" in shown


def test_01_hot_paths_on_a_cprofile_of_another_program_without_line_data(tmp_path, other_program):
    inputs = [other_program["cprofile"], other_program["pyinstrument"]]
    shown = _run("01_hot_paths", {"PROFILE": str(inputs[0]), "FIXED_PROFILE": None,
                                  "OTHER_PROFILES": [str(inputs[1])], "SOURCE_DIR": None},
                 tmp_path, ("profiles",), inputs)
    # the function to fix is the program's own, the lines section says why it cannot drill in
    assert "is_prime" in shown
    assert "Line by line: does not apply here" in shown and "(pstats)" in shown
    assert "The check: does not apply here" in shown


def test_01_hot_paths_on_pyspy_of_another_program_with_its_source(tmp_path, other_program):
    if "pyspy" not in other_program:
        pytest.skip("py-spy could not record here (ptrace refused)")
    inputs = [other_program["pyspy"], other_program["cprofile"]]
    shown = _run("01_hot_paths", {"PROFILE": str(inputs[0]), "FIXED_PROFILE": str(inputs[1]),
                                  "OTHER_PROFILES": [], "SOURCE_DIR": str(other_program["source"])},
                 tmp_path, ("profiles",), inputs)
    # py-spy records lines: the hot line of the program shows with its code
    assert "return n > 1 and all(n % d for d in range(2, n))" in shown
    assert "The second opinion: does not apply here" in shown


def test_02_slow_queries_on_another_postgresql_server(tmp_path):
    inputs = [LABELLED / "postgresql.log.gz"]
    shown = _run("02_slow_queries", {"QUERY_LOG": str(inputs[0]), "CLEAN_QUERY_LOG": None},
                 tmp_path, ("queries",), inputs)
    assert "The costliest fingerprint is" in shown and "The check: does not apply here" in shown


def test_02_slow_queries_on_a_mariadb_slow_log_without_plans(tmp_path):
    inputs = [LABELLED / "mariadb-slow.log.gz"]
    shown = _run("02_slow_queries", {"QUERY_LOG": str(inputs[0]), "CLEAN_QUERY_LOG": None},
                 tmp_path, ("queries",), inputs)
    assert "Plans: does not apply here" in shown and "The plan tree: does not apply here" in shown


def test_03_on_a_users_function_that_grows_quadratically_inside(tmp_path, user_code):
    shown = _run("03_algorithmic_bottlenecks",
                 {"FUNCTION": f"{user_code}:summarise", "MAKE_INPUT": f"{user_code}:make_items",
                  "FIXED": f"{user_code}:summarise_fixed", "SIZES": [100, 200, 400, 800, 1600],
                  "BUDGET_S": 2.0, "WALKTHROUGH_SIZES": [100, 300, 1000, 3000]},
                 tmp_path, ("complexity",), [user_code])
    assert "Same result as before on an input of size 400: yes" in shown


def test_03_on_a_linear_function_without_a_fix(tmp_path, user_code):
    shown = _run("03_algorithmic_bottlenecks",
                 {"FUNCTION": f"{user_code}:running_total", "MAKE_INPUT": f"{user_code}:make_items", "FIXED": None,
                  "SIZES": [1000, 2000, 4000, 8000, 16000], "BUDGET_S": 2.0, "WALKTHROUGH_SIZES": [100, 300, 1000, 3000]},
                 tmp_path, ("complexity",), [user_code])
    assert "The check: does not apply here" in shown


def test_04_on_another_nginx_with_its_own_log_format(tmp_path):
    inputs = [LABELLED / "nginx-access.log.gz"]
    shown = _run("04_http_endpoints", {"ACCESS_LOG": str(inputs[0]), "LOG_FORMAT": f"@{LABELLED / 'nginx.log_format'}"},
                 tmp_path, ("http",), inputs)
    assert "nginx (log_format labelled)" in shown


def test_04_on_an_apache_log_without_timing_fields(tmp_path):
    inputs = [APACHE_COMMON]
    shown = _run("04_http_endpoints", {"ACCESS_LOG": str(inputs[0])}, tmp_path, ("http",), inputs)
    for section in ("Latency", "The latency heat map", "Latency over time", "Caching", "Upstreams"):
        assert f"{section}: does not apply here" in shown, section


def test_06_backend_audit_on_another_systems_folder(tmp_path):
    inputs = [LABELLED / "postgresql.log.gz", LABELLED / "mariadb-slow.log.gz", LABELLED / "nginx-access.log.gz"]
    shown = _run("06_backend_audit", {"INPUTS": str(LABELLED)}, tmp_path, ("queries", "http", "profiles"), inputs)
    assert "finding(s)" in shown


def test_06_backend_audit_on_profiles_and_an_untimed_access_log(tmp_path, other_program):
    folder = tmp_path / "system"
    folder.mkdir()
    for p in (other_program["cprofile"], other_program["pyinstrument"], APACHE_COMMON):
        (folder / p.name).write_bytes(p.read_bytes())
    inputs = sorted(folder.iterdir())
    shown = _run("06_backend_audit", {"INPUTS": str(folder)}, tmp_path, ("queries", "http", "profiles"), inputs)
    assert "3 of 3 inputs read (2 profiles, 1 access log)" in shown

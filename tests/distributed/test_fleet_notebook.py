"""notebooks/08_fleet.ipynb on another server's logs (tests/fixtures/labelled: another
PostgreSQL server, another nginx log_format), as `perf-toolkit notebook` runs it: the fleet is
generated from them, the degraded host is found, and no sentence names what only the samples hold."""

from __future__ import annotations

import nbformat
import pytest

from toolkit.report.notebooks import notebooks_dir

pytestmark = pytest.mark.slow
pytest.importorskip("distributed")


def test_notebook_08_fleet_on_another_servers_logs_finds_the_degraded_host(tmp_path):
    from conftest import ROOT

    papermill = pytest.importorskip("papermill")
    labelled = ROOT / "tests" / "fixtures" / "labelled"
    out = tmp_path / "08_fleet.ipynb"
    # GIVEN 5 hosts made from another server's logs, host-03 twice as slow on every line
    papermill.execute_notebook(
        str(notebooks_dir() / "08_fleet.ipynb"), str(out), cwd=str(notebooks_dir()), progress_bar=False,
        kernel_name="python3",
        parameters={"POSTGRES_LOG": str(labelled / "postgresql.log.gz"),
                    "ACCESS_LOG": str(labelled / "nginx-access.log.gz"),
                    "LOG_FORMAT_FILE": str(labelled / "nginx.log_format"),
                    "HOSTS": 5, "DEGRADED": 3, "FACTOR": 2.0, "MATCH_SQL": None, "MATCH_PATH": None})
    nb = nbformat.read(out, as_version=4)
    text = "".join(o.get("text", "") + "".join(o.get("data", {}).get("text/plain", ""))
                   for c in nb.cells for o in c.get("outputs", []))
    # THEN the host that differs is the degraded one, at twice the median on its database time
    assert "`host-03` differs: its database time per call is 2.0x the median host's" in text
    assert "is the case of the load balancing practice (network; rule http.upstream_imbalance)" in text.replace("`", "")
    assert "Generated 5 hosts' logs from `postgresql.log.gz` and `nginx-access.log.gz`" in text
    # AND nothing the samples' story shows (their endpoints, their slow query) appears
    for sample_only in ("/api/reports", "/api/items", "from orders where customer_id"):
        assert sample_only not in text
    assert "does not apply here" not in text

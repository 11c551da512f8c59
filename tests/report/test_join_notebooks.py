"""Notebooks 07 and 08 on other inputs than their defaults: 07 on a throwaway PostgreSQL cluster,
08 without a profile (the section that needs one says so; the rest holds)."""

from __future__ import annotations

import nbformat
import pytest

from toolkit.report.notebooks import notebooks_dir

pytestmark = pytest.mark.slow


def _run(name: str, tmp_path, **params):
    papermill = pytest.importorskip("papermill")
    out = tmp_path / f"{name}.ipynb"
    papermill.execute_notebook(str(notebooks_dir() / f"{name}.ipynb"), str(out), parameters=params,
                               cwd=str(notebooks_dir()), progress_bar=False, kernel_name="python3")
    nb = nbformat.read(out, as_version=4)
    return "".join(o.get("text", "") + "".join(o.get("data", {}).get("text/plain", ""))
                   for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.server
def test_notebook_07_on_postgresql_finds_the_n_plus_one_at_the_loop(tmp_path):
    from helpers.postgres import postgres_server

    with postgres_server() as pg:
        text = _run("07_orm_n_plus_one", tmp_path,
                    DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/postgres")
    assert "60 orders totalled on postgresql: 61 statements sent" in text
    source = (notebooks_dir() / "orm_shop.py").read_text().splitlines()
    loop = next(i for i, line in enumerate(source, 1) if "# lazy load: a query per order" in line)
    assert f"60 of 61 statements come from orm_shop.py:{loop} in _totals()" in text
    assert "N+1 findings after the fix: 0" in text


def test_notebook_08_without_a_profile(tmp_path, samples):
    import toolkit as tk

    shop = samples / "web" / "shop"
    n_requests = len(tk.read_access_log(shop / "access.log.gz"))
    n_events = len(tk.read_queries(shop / "postgresql.log.gz"))
    text = _run("08_request_breakdown", tmp_path, PROFILE=None)
    assert f"{n_requests:,} requests, {n_events:,} query events" in text
    assert "s of profile" not in text
    assert "Most database-bound: GET /products/search" in text
    assert "GET /customers/{id}/orders: queries per request rose from 5.0 to " in text

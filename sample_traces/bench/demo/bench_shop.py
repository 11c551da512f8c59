"""pytest-benchmark suite over shop.py: 40 rounds of a fixed number of iterations each.

Run by ../generate.py (``SHOP_VERSION`` picks the version; ``--benchmark-timer=time.process_time``:
CPU time, so that waiting for a core another job holds is not counted); the machine's load average is
recorded with every benchmark in its ``extra_info`` (before and after its rounds).
"""

from __future__ import annotations

import os

import pytest
import shop

ROUNDS = 40
LINES = shop.make_orders()
ORDERS = shop.parse_orders(LINES)

CASES = {
    "parse_orders": (lambda: shop.parse_orders(LINES), 4),
    "render_invoice": (lambda: shop.render_invoice(ORDERS), 8),
    "dedupe_skus": (lambda: shop.dedupe_skus(ORDERS), 10),
    "checksum": (lambda: shop.checksum(LINES), 100),
    "sort_orders": (lambda: shop.sort_orders(ORDERS), 50),
    "total_revenue": (lambda: shop.total_revenue(ORDERS), 50),
}


@pytest.mark.parametrize("case", list(CASES))
def test_shop(benchmark, case):
    fn, iterations = CASES[case]
    benchmark.group = "shop"
    benchmark.name = case
    benchmark.extra_info["shop_version"] = shop.VERSION
    benchmark.extra_info["loadavg_1m_before"] = os.getloadavg()[0]
    benchmark.pedantic(fn, rounds=ROUNDS, iterations=iterations, warmup_rounds=2)
    benchmark.extra_info["loadavg_1m_after"] = os.getloadavg()[0]

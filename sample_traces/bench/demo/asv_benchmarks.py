"""asv benchmarks over shop.py (copied into the throwaway repository's benchmarks/ by ../generate.py).

Each benchmark keeps its 20 samples (``asv run --record-samples``) of 4 or 10 calls each. The
inputs are built once, at import, not in ``setup``: asv re-runs ``setup`` before every timed
call when ``number`` is set, and a heavier setup (head's parse_orders deep-copies) then leaves
the caches colder for the call measured after it (render_invoice looked 13% slower at the commit
that changed only parse_orders).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import shop  # noqa: E402

LINES = shop.make_orders()
ORDERS = shop.parse_orders(LINES)
LINES_BY_N = {n: shop.make_orders(n) for n in (100, 400)}


class Shop:
    timer = time.process_time  # CPU time: the shared machine's other jobs are not in it
    repeat = (20, 20, 60.0)
    number = 4
    rounds = 1
    warmup_time = 0.05

    def time_parse_orders(self):
        shop.parse_orders(LINES)

    def time_render_invoice(self):
        shop.render_invoice(ORDERS)

    def time_dedupe_skus(self):
        shop.dedupe_skus(ORDERS)


class Checksum:
    timer = time.process_time
    repeat = (20, 20, 60.0)
    number = 10
    rounds = 1
    params = [100, 400]
    param_names = ["n"]

    def time_checksum(self, n):
        shop.checksum(LINES_BY_N[n])

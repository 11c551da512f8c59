"""asv benchmarks over shop.py (copied into the throwaway repository's benchmarks/ by ../generate.py).

Each benchmark keeps its 20 samples (``asv run --record-samples``) of 4 calls each.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import shop  # noqa: E402


class Shop:
    timer = time.process_time  # CPU time: the shared machine's other jobs are not in it
    repeat = (20, 20, 60.0)
    number = 4
    rounds = 1
    warmup_time = 0.05

    def setup(self):
        self.lines = shop.make_orders()
        self.orders = shop.parse_orders(self.lines)

    def time_parse_orders(self):
        shop.parse_orders(self.lines)

    def time_render_invoice(self):
        shop.render_invoice(self.orders)

    def time_dedupe_skus(self):
        shop.dedupe_skus(self.orders)


class Checksum:
    timer = time.process_time
    repeat = (20, 20, 60.0)
    number = 10
    rounds = 1
    params = [100, 400]
    param_names = ["n"]

    def setup(self, n):
        self.lines = shop.make_orders(n)

    def time_checksum(self, n):
        shop.checksum(self.lines)

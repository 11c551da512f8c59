"""Run one shop.py function in a loop, for hyperfine and py-spy: ``python shop_cli.py NAME [REPEAT]``."""

from __future__ import annotations

import sys

import shop

LINES = shop.make_orders()
ORDERS = shop.parse_orders(LINES)
CALLS = {
    "parse_orders": lambda: shop.parse_orders(LINES),
    "render_invoice": lambda: shop.render_invoice(ORDERS),
    "dedupe_skus": lambda: shop.dedupe_skus(ORDERS),
    "checksum": lambda: shop.checksum(LINES),
}

if __name__ == "__main__":
    name = sys.argv[1]
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    for _ in range(repeat):
        CALLS[name]()

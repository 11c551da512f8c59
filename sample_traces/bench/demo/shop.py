"""A small order-processing library with two versions, for the benchmark samples.

``SHOP_VERSION=base`` (default) is the released code; ``SHOP_VERSION=head`` is the change under
review, with planted performance changes:

- ``parse_orders``: clearly slower (head deep-copies every parsed order "to be safe");
- ``render_invoice``: a little slower (head formats 2 lines in 25 twice: +8% of the same work);
- ``dedupe_skus``: faster (head uses dict.fromkeys instead of list membership);
- ``checksum``, ``sort_orders``, ``total_revenue``: unchanged.

Everything is deterministic (seeded), pure Python, single-threaded.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random

VERSION = os.environ.get("SHOP_VERSION", "base")
# The planted changes head makes; SHOP_CHANGES (comma-separated) picks some of them, for the
# commit history that asv measures.
HEAD_CHANGES = ("copy_orders", "rerender", "dict_dedupe")
CHANGES = set(os.environ["SHOP_CHANGES"].split(",")) if os.environ.get("SHOP_CHANGES") is not None \
    else set(HEAD_CHANGES if VERSION == "head" else ())


def make_orders(n: int = 400, seed: int = 7) -> list[str]:
    """``n`` orders as JSON lines (the input of parse_orders)."""
    rnd = random.Random(seed)
    return [json.dumps({"id": i, "customer": f"c{rnd.randrange(200)}",
                        "items": [{"sku": f"SKU-{rnd.randrange(60):03d}", "qty": rnd.randrange(1, 5),
                                   "price": round(rnd.uniform(1, 90), 2)} for _ in range(rnd.randrange(1, 6))]})
            for i in range(n)]


def parse_orders(lines: list[str]) -> list[dict]:
    out = []
    for line in lines:
        order = json.loads(line)
        if "copy_orders" in CHANGES:
            order = _defensive_copy(order)
        out.append(order)
    return out


def _defensive_copy(order: dict) -> dict:
    # head's change: a deep copy of every order, so callers cannot share nested lists
    return copy.deepcopy(order)


def _invoice_line(order: dict) -> str:
    total = sum(item["qty"] * item["price"] for item in order["items"])
    skus = ", ".join(item["sku"] for item in order["items"])
    return f"{order['id']:>6} {order['customer']:<6} {skus:<40} {total:>10.2f}"


def render_invoice(orders: list[dict]) -> str:
    lines = []
    for i, order in enumerate(orders):
        lines.append(_invoice_line(order))
        if "rerender" in CHANGES and i % 25 < 2:
            lines[-1] = _invoice_line(order)  # head re-renders 2 orders in 25: +8% of the work
    return "\n".join(lines)


def dedupe_skus(orders: list[dict]) -> list[str]:
    skus = [item["sku"] for order in orders for item in order["items"]]
    if "dict_dedupe" in CHANGES:
        return list(dict.fromkeys(skus))
    seen: list[str] = []
    for sku in skus:
        if sku not in seen:
            seen.append(sku)
    return seen


def checksum(lines: list[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
    return h.hexdigest()


def sort_orders(orders: list[dict]) -> list[dict]:
    return sorted(orders, key=lambda o: (o["customer"], -len(o["items"]), o["id"]))


def total_revenue(orders: list[dict]) -> float:
    return round(sum(item["qty"] * item["price"] for o in orders for item in o["items"]), 2)

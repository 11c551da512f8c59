"""A small batch job of the kind a backend runs: parse orders, enrich, de-duplicate, export CSV.

Run ``python demo.py`` for the slow version and ``python demo.py --fixed`` for the fixed one.
The hot spot: ``dedupe`` checks membership in a *list* of seen keys, which is O(n) per record and
O(n^2) in all; the fix keeps the keys in a *set*. Everything else is the same in both runs, so
the two profiles differ only where the fix is. A background thread flushes metrics (mostly
asleep: it shows up in ``py-spy --idle`` profiles).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import threading
import time
from datetime import datetime, timedelta

N_ORDERS = 12_000
COUNTRIES = ("DE", "FR", "US", "GB")
EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}")
DUPLICATE_SHARE = 0.15


def make_payload(n: int, seed: int = 7) -> str:
    """The input: one JSON order per line, as a queue consumer or an export would receive."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1)
    orders = []
    for i in range(n):
        oid = rng.randrange(i + 1) if i and rng.random() < DUPLICATE_SHARE else i
        orders.append({
            "id": f"ord-{oid:07d}",
            "customer": {"email": f"  User{oid % 977}@Example.COM ", "country": COUNTRIES[oid % 4]},
            "created": (start + timedelta(minutes=oid)).isoformat(),
            "items": [{"sku": f"sku-{(oid * 7 + k) % 500}", "qty": 1 + (oid + k) % 4,
                       "price": round(1 + (oid * 13 + k * 29) % 8900 / 100, 2)} for k in range(1 + oid % 5)],
        })
    return json.dumps(orders).replace("}, {\"id\"", "}\n{\"id\"")[1:-1]


def parse(payload: str) -> list[dict]:
    return [json.loads(line) for line in payload.splitlines() if line]


def enrich(order: dict) -> dict:
    created = datetime.strptime(order["created"], "%Y-%m-%dT%H:%M:%S")
    total = sum(item["qty"] * item["price"] for item in order["items"])
    email = order["customer"]["email"].strip().lower()
    if not EMAIL.fullmatch(email):
        raise ValueError(f"bad email in order {order['id']}")
    return {
        "id": order["id"],
        "email": email,
        "country": order["customer"]["country"],
        "day": created.date().isoformat(),
        "items": len(order["items"]),
        "total": round(total * (1.19 if order["customer"]["country"] == "DE" else 1.2), 2),
    }


def dedupe(orders: list[dict], fixed: bool) -> list[dict]:
    """Keep the first order of each id."""
    out = []
    if fixed:
        seen_set: set[str] = set()
        for order in orders:
            if order["id"] not in seen_set:
                seen_set.add(order["id"])
                out.append(order)
        return out
    seen: list[str] = []
    for order in orders:
        if order["id"] not in seen:  # O(n) scan of a list: the hot spot
            seen.append(order["id"])
            out.append(order)
    return out


def serialize(orders: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(orders[0]))
    writer.writeheader()
    writer.writerows(orders)
    return buf.getvalue()


def flush_metrics(stop: threading.Event, counters: dict) -> None:
    while not stop.wait(0.05):
        counters["flushes"] = counters.get("flushes", 0) + 1


def run(fixed: bool = False, n: int = N_ORDERS) -> str:
    orders = parse(make_payload(n))
    enriched = [enrich(o) for o in orders]
    unique = dedupe(enriched, fixed)
    return serialize(unique)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fixed", action="store_true", help="use the set-based dedupe")
    ap.add_argument("-n", type=int, default=N_ORDERS)
    ap.add_argument("--tag", default="", help="a label (the process-frame variant puts ';' and a newline here)")
    args = ap.parse_args()
    stop, counters = threading.Event(), {}
    flusher = threading.Thread(target=flush_metrics, args=(stop, counters), name="metrics-flusher")
    flusher.start()
    t0 = time.perf_counter()
    try:
        out = run(args.fixed, args.n)
    finally:
        stop.set()
        flusher.join()
    print(f"{'fixed' if args.fixed else 'slow'}: {out.count(chr(10)) - 1} rows in {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()

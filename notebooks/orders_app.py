"""A small order-export endpoint, as a backend would have it, with three hidden quadratics, and
its fix. Used by notebooks/03_algorithmic_bottlenecks.ipynb and tests/complexity.

``export_orders(request)`` joins each order to its customer by scanning the customer list (a
nested-loop join in Python), collects the distinct e-mail addresses with list membership in a
loop, and builds the CSV body by concatenating bytes. All three are fine on a test fixture of 20
orders and quadratic in production. ``export_orders_fixed`` indexes customers in a dict, keeps a
set of seen addresses and joins the lines once.
"""

from __future__ import annotations

import datetime as dt
import random

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def make_request(n: int) -> dict:
    """A deterministic request with ``n`` orders over ``n // 2`` customers (a third as many
    distinct e-mail addresses: people share accounts)."""
    rng = random.Random(n)
    customers = [{"id": j, "email": f"user{j % max(1, n // 6)}@example.com"} for j in range(max(1, n // 2))]
    orders = [{"id": i, "customer_id": rng.randrange(len(customers)), "amount": rng.randrange(100, 99900) / 100,
               "created": EPOCH + dt.timedelta(seconds=rng.randrange(86400 * 300))}
              for i in range(n)]
    return {"orders": orders, "customers": customers}


# --- the endpoint as written -----------------------------------------------------------------

def join_customers(orders: list[dict], customers: list[dict]) -> list[dict]:
    rows = []
    for order in orders:
        for customer in customers:  # scans the customer list for every order
            if customer["id"] == order["customer_id"]:
                rows.append({**order, "email": customer["email"]})
                break
    return rows


def unique_emails(rows: list[dict]) -> list[str]:
    seen: list[str] = []
    for row in rows:
        if row["email"] not in seen:  # list membership: a scan of everything seen so far
            seen.append(row["email"])
    return seen


def render_csv(rows: list[dict]) -> bytes:
    body = b"id,created,email,amount\n"
    for row in rows:
        line = f"{row['id']},{row['created']:%Y-%m-%dT%H:%M:%SZ},{row['email']},{row['amount']:.2f}\n"
        body += line.encode()  # copies the whole body built so far
    return body


def export_orders(request: dict) -> tuple[bytes, list[str]]:
    rows = join_customers(request["orders"], request["customers"])
    return render_csv(rows), unique_emails(rows)


# --- the fix ---------------------------------------------------------------------------------

def join_customers_indexed(orders: list[dict], customers: list[dict]) -> list[dict]:
    email_of = {c["id"]: c["email"] for c in customers}  # one pass to index, O(1) lookups
    return [{**order, "email": email_of[order["customer_id"]]} for order in orders]


def unique_emails_set(rows: list[dict]) -> list[str]:
    seen: set[str] = set()
    out = []
    for row in rows:
        if row["email"] not in seen:
            seen.add(row["email"])
            out.append(row["email"])
    return out


def render_csv_joined(rows: list[dict]) -> bytes:
    lines = ["id,created,email,amount\n"]
    lines.extend(f"{row['id']},{row['created']:%Y-%m-%dT%H:%M:%SZ},{row['email']},{row['amount']:.2f}\n"
                 for row in rows)
    return "".join(lines).encode()


def export_orders_fixed(request: dict) -> tuple[bytes, list[str]]:
    rows = join_customers_indexed(request["orders"], request["customers"])
    return render_csv_joined(rows), unique_emails_set(rows)

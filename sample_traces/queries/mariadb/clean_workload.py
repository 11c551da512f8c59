"""A clean DB-API workload: what detectors must stay quiet on.

``run_clean(connect, paramstyle=...)`` takes a ``connect(database=None, **kw)`` callable that
returns a DB-API connection (pymysql here). One connection for the whole run (no churn), every
lookup through an index (primary key, ``orders(customer_id)``, ``customers(name, id)``), explicit
column lists (no ``SELECT *``), keyset pagination instead of OFFSET, no statement repeated with
the same parameters, no lock waits, no errors. About 300 statements, well under a second.

The problem workload is the shared ``../workload/workload.py``.
"""

from __future__ import annotations

import random

N_CUSTOMERS = 2000
N_ORDERS = 20000
CITIES = ["Berlin", "Lisbon", "Oslo", "Riga", "Turin", "Ghent", "Lyon", "Porto"]
STATUSES = ["new", "paid", "shipped", "cancelled"]


def _p(paramstyle: str) -> str:
    return "%s" if paramstyle in ("format", "pyformat") else "?"


def _schema(cur, indexed: bool) -> None:
    cur.execute("DROP TABLE IF EXISTS orders")
    cur.execute("DROP TABLE IF EXISTS customers")
    cur.execute("DROP TABLE IF EXISTS settings")
    cur.execute("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(80) NOT NULL, "
                "email VARCHAR(120) NOT NULL, city VARCHAR(40) NOT NULL, created_at DATETIME NOT NULL"
                + (", KEY customers_name (name, id)" if indexed else "") + ")")
    cur.execute("CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, "
                "status VARCHAR(16) NOT NULL, total DECIMAL(10,2) NOT NULL, created_at DATETIME NOT NULL, "
                "note TEXT NOT NULL"
                + (", KEY orders_customer (customer_id), KEY orders_status (status, id)" if indexed else "")
                + ")")
    cur.execute("CREATE TABLE settings (name VARCHAR(40) PRIMARY KEY, value VARCHAR(200) NOT NULL)")


def _seed(conn, p: str, rng: random.Random, customers: int, orders: int) -> None:
    # Plain multi-row INSERTs (pymysql's executemany): no scan of any table while seeding.
    cur = conn.cursor()
    rows = [(i, f"Customer {rng.randrange(10**6):06d}", f"c{i}@example.org", rng.choice(CITIES),
             f"2024-0{1 + i % 9}-1{i % 10} 10:00:00") for i in range(1, customers + 1)]
    cur.executemany(f"INSERT INTO customers (id, name, email, city, created_at) "
                    f"VALUES ({p}, {p}, {p}, {p}, {p})", rows)
    rows = [(i, rng.randrange(1, customers + 1), rng.choice(STATUSES), round(rng.uniform(5, 500), 2),
             f"2025-0{1 + i % 9}-1{i % 10} 12:00:00", "n") for i in range(1, orders + 1)]
    for k in range(0, len(rows), 1000):
        cur.executemany(f"INSERT INTO orders (id, customer_id, status, total, created_at, note) "
                        f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})", rows[k:k + 1000])
    cur.executemany(f"INSERT INTO settings (name, value) VALUES ({p}, {p})",
                    [("currency", "EUR"), ("page_size", "50"), ("theme", "light")])
    conn.commit()


def _create_db(connect, name: str) -> None:
    conn = connect()
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE IF NOT EXISTS {name}")
    conn.commit()
    conn.close()


def run_clean(connect, *, paramstyle: str = "format", dialect: str = "mariadb", restart=None) -> None:
    """Well-indexed, one pooled connection, explicit columns, keyset pagination, no repeats."""
    p = _p(paramstyle)
    rng = random.Random(7)
    _create_db(connect, "shop")
    conn = connect("shop")
    cur = conn.cursor()
    _schema(cur, indexed=True)
    _seed(conn, p, rng, 500, 2000)
    for i in range(60):
        cid = 1 + (i * 53) % 500
        cur.execute(f"SELECT id, name, city FROM customers WHERE id = {p}", (cid,))
        cur.fetchall()
        cur.execute(f"SELECT id, status, total FROM orders WHERE customer_id = {p} ORDER BY id LIMIT 10",
                    (cid,))
        cur.fetchall()
        if i % 3 == 0:
            cur.execute(f"UPDATE customers SET city = {p} WHERE id = {p}", (rng.choice(CITIES), cid))
            conn.commit()
    last = ""
    for _ in range(5):  # keyset pagination on an index: the cost does not grow with the page
        cur.execute(f"SELECT id, name FROM customers WHERE name > {p} ORDER BY name, id LIMIT 50", (last,))
        rows = cur.fetchall()
        last = rows[-1][1]
    conn.commit()
    conn.close()

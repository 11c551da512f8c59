"""An application-like workload with planted query problems, for PostgreSQL and MariaDB.

It talks DB-API 2 only (psycopg 3 for PostgreSQL, pymysql for MariaDB; both use ``%s``
placeholders), so the same phases run on both servers; :class:`Dialect` holds the few
statements that differ. Each phase plants one problem the toolkit's detectors look for:

==================  ==========================================================================
phase               what it does
==================  ==========================================================================
setup               tables customers, orders (100k rows, NO index on orders.customer_id nor on
                    orders.reference), products, settings, accounts; index on orders(created_at, id)
n_plus_one          one SELECT of 20 customers, then one SELECT per customer on orders (seq scans,
                    about 5 ms each: > 50 ms together), three times, each in its own session
pagination          ``ORDER BY created_at, id LIMIT 50 OFFSET n`` for n = 0 .. 45000: the index
                    scan skips n rows, so the duration grows with the offset
select_star         ``SELECT * FROM customers WHERE id = %s`` and ``SELECT * FROM products``
missing_index       ``SELECT id, total FROM orders WHERE reference = %s``: a seq scan that removes
                    99,999 rows by filter, 10 times
repeated            the same ``SELECT value FROM settings WHERE name = %s`` with the same parameter,
                    30 times in a row (a caching candidate)
big_sort            ``SET work_mem`` to 64 kB, then a sort of 100k rows: spills to a temp file
lock_wait           connection A updates a row and holds it 1.2 s; connection B updates the same
                    row and waits; then a deadlock between two connections (one of them errors)
errors              a missing table and a division by zero
prepared            server-side prepared statements with parameters (PostgreSQL: named statements)
multi_line          a statement written over several lines, with a comment
churn               60 short connections, each running one trivial query
==================  ==========================================================================

Usage (PostgreSQL, MariaDB)::

    python workload.py postgresql "host=127.0.0.1 port=5432 dbname=app user=postgres"
    python workload.py mariadb "host=127.0.0.1 port=3306 user=root database=app"

``--phases a,b`` runs only some phases (setup always runs first when listed). Everything is
bounded: the whole run takes about 10 s.
"""

from __future__ import annotations

import argparse
import random
import threading
import time

PHASES = ("setup", "n_plus_one", "pagination", "select_star", "missing_index", "repeated",
          "big_sort", "lock_wait", "errors", "prepared", "multi_line", "churn")

N_CUSTOMERS = 2000
N_ORDERS = 100_000
N_PRODUCTS = 200


class Dialect:
    """What differs between the servers: connecting, bulk seeding, sleeping, work_mem."""

    name = "generic"

    def __init__(self, dsn: str):
        self.dsn = dsn

    def connect(self):
        raise NotImplementedError

    def seed(self, cur) -> None:
        raise NotImplementedError

    def sleep_sql(self, seconds: float) -> str:
        raise NotImplementedError

    def small_sort_memory(self, cur) -> None:
        raise NotImplementedError

    def prepared(self, conn, sql: str, params: tuple):
        """Run ``sql`` as a server-side prepared statement where the driver can."""
        cur = conn.cursor()
        cur.execute(sql, params)
        return cur.fetchall()


class Postgres(Dialect):
    name = "postgresql"

    def connect(self, **kwargs):
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True, **kwargs)

    def seed(self, cur) -> None:
        cur.execute(f"""INSERT INTO customers (id, name, email, country, created_at)
            SELECT g, 'customer ' || g, 'c' || g || '@example.com',
                   (ARRAY['DE','FR','US','JP','BR'])[1 + g % 5],
                   timestamp '2024-01-01' + g * interval '1 hour'
            FROM generate_series(1, {N_CUSTOMERS}) g""")
        cur.execute(f"""INSERT INTO orders (id, customer_id, reference, status, total, created_at, note)
            SELECT g, 1 + (g * 7919) % {N_CUSTOMERS}, 'R' || lpad(g::text, 8, '0'),
                   (ARRAY['new','paid','shipped','refunded'])[1 + g % 4],
                   round(((g * 37) % 10000) / 100.0, 2),
                   timestamp '2024-01-01' + (g * 97 % {N_ORDERS}) * interval '1 minute',
                   md5(g::text) || md5((g * 3)::text)
            FROM generate_series(1, {N_ORDERS}) g""")
        cur.execute(f"""INSERT INTO products (id, name, price, description)
            SELECT g, 'product ' || g, g * 1.5, repeat('text ', 20)
            FROM generate_series(1, {N_PRODUCTS}) g""")

    def sleep_sql(self, seconds: float) -> str:
        return f"SELECT pg_sleep({seconds})"

    def small_sort_memory(self, cur) -> None:
        cur.execute("SET work_mem = '64kB'")

    def prepared(self, conn, sql: str, params: tuple):
        cur = conn.cursor()
        cur.execute(sql, params, prepare=True)
        return cur.fetchall()


class MariaDB(Dialect):
    name = "mariadb"

    def connect(self, **kwargs):
        import pymysql

        args = dict(part.split("=", 1) for part in self.dsn.split())
        if "port" in args:
            args["port"] = int(args["port"])
        return pymysql.connect(autocommit=True, **args, **kwargs)

    def seed(self, cur) -> None:
        # seq_1_to_N comes from MariaDB's Sequence engine (installed by default since 10.1).
        cur.execute(f"""INSERT INTO customers (id, name, email, country, created_at)
            SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.com'),
                   ELT(1 + seq % 5, 'DE','FR','US','JP','BR'),
                   TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq HOUR
            FROM seq_1_to_{N_CUSTOMERS}""")
        cur.execute(f"""INSERT INTO orders (id, customer_id, reference, status, total, created_at, note)
            SELECT seq, 1 + (seq * 7919) % {N_CUSTOMERS}, CONCAT('R', LPAD(seq, 8, '0')),
                   ELT(1 + seq % 4, 'new','paid','shipped','refunded'),
                   ROUND(((seq * 37) % 10000) / 100.0, 2),
                   TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (seq * 97 % {N_ORDERS}) MINUTE,
                   CONCAT(MD5(seq), MD5(seq * 3))
            FROM seq_1_to_{N_ORDERS}""")
        cur.execute(f"""INSERT INTO products (id, name, price, description)
            SELECT seq, CONCAT('product ', seq), seq * 1.5, REPEAT('text ', 20)
            FROM seq_1_to_{N_PRODUCTS}""")

    def sleep_sql(self, seconds: float) -> str:
        return f"SELECT SLEEP({seconds})"

    def small_sort_memory(self, cur) -> None:
        cur.execute("SET SESSION sort_buffer_size = 32768")


DIALECTS = {"postgresql": Postgres, "mariadb": MariaDB}


def setup(d: Dialect) -> None:
    with d.connect() as conn:
        cur = conn.cursor()
        for table in ("orders", "customers", "products", "settings", "accounts"):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute("CREATE TABLE customers (id integer PRIMARY KEY, name varchar(100), "
                    "email varchar(200), country char(2), created_at timestamp)")
        cur.execute("CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer, "
                    "reference varchar(20), status varchar(20), total numeric(10,2), "
                    "created_at timestamp, note varchar(100))")
        cur.execute("CREATE TABLE products (id integer PRIMARY KEY, name varchar(100), "
                    "price numeric(10,2), description text)")
        cur.execute("CREATE TABLE settings (name varchar(50) PRIMARY KEY, value varchar(100))")
        cur.execute("CREATE TABLE accounts (id integer PRIMARY KEY, balance numeric(12,2))")
        d.seed(cur)
        cur.execute("CREATE INDEX orders_created_at ON orders (created_at, id)")
        cur.execute("INSERT INTO settings (name, value) VALUES ('currency', 'EUR'), "
                    "('vat', '0.19'), ('theme', 'dark')")
        cur.execute("INSERT INTO accounts (id, balance) VALUES (1, 100), (2, 100), (3, 100)")
        cur.execute("ANALYZE customers" if d.name == "postgresql" else "ANALYZE TABLE customers")
        cur.execute("ANALYZE orders" if d.name == "postgresql" else "ANALYZE TABLE orders")


def n_plus_one(d: Dialect) -> None:
    for country in ("DE", "FR", "JP"):
        with d.connect() as conn:
            cur = conn.cursor()
            cur.execute("SELECT id, name FROM customers WHERE country = %s ORDER BY id LIMIT 20",
                        (country,))
            for (customer_id, _name) in cur.fetchall():
                cur.execute("SELECT count(*), sum(total) FROM orders WHERE customer_id = %s",
                            (customer_id,))
                cur.fetchall()


def pagination(d: Dialect) -> None:
    with d.connect() as conn:
        cur = conn.cursor()
        for offset in range(0, 50_000, 5_000):
            cur.execute("SELECT id, customer_id, total, created_at FROM orders "
                        "ORDER BY created_at, id LIMIT 50 OFFSET %s", (offset,))
            cur.fetchall()


def select_star(d: Dialect) -> None:
    with d.connect() as conn:
        cur = conn.cursor()
        for customer_id in (17, 42, 99, 123, 512, 1024):
            cur.execute("SELECT * FROM customers WHERE id = %s", (customer_id,))
            cur.fetchall()
        for _ in range(3):
            cur.execute("SELECT * FROM products")
            cur.fetchall()


def missing_index(d: Dialect) -> None:
    rng = random.Random(4)
    with d.connect() as conn:
        cur = conn.cursor()
        for _ in range(10):
            cur.execute("SELECT id, total FROM orders WHERE reference = %s",
                        (f"R{rng.randint(1, N_ORDERS):08d}",))
            cur.fetchall()


def repeated(d: Dialect) -> None:
    with d.connect() as conn:
        cur = conn.cursor()
        for _ in range(30):
            cur.execute("SELECT value FROM settings WHERE name = %s", ("currency",))
            cur.fetchall()


def big_sort(d: Dialect) -> None:
    with d.connect() as conn:
        cur = conn.cursor()
        d.small_sort_memory(cur)
        cur.execute("SELECT id, note FROM orders ORDER BY note DESC LIMIT 5 OFFSET 90000")
        cur.fetchall()


def lock_wait(d: Dialect) -> None:
    # A holds the row of account 1 for 1.2 s; B waits for it (log_lock_waits logs the wait).
    a, b = d.connect(), d.connect()
    try:
        ca, cb = a.cursor(), b.cursor()
        ca.execute("BEGIN")
        ca.execute("UPDATE accounts SET balance = balance - 10 WHERE id = %s", (1,))
        waiter = threading.Thread(target=cb.execute,
                                  args=("UPDATE accounts SET balance = balance + 10 WHERE id = %s", (1,)))
        waiter.start()
        time.sleep(1.2)
        ca.execute("COMMIT")
        waiter.join(timeout=30)
        # A deadlock: A locks 2 then wants 3, B locks 3 then wants 2.
        ca.execute("BEGIN")
        cb.execute("BEGIN")
        ca.execute("UPDATE accounts SET balance = balance - 1 WHERE id = %s", (2,))
        cb.execute("UPDATE accounts SET balance = balance - 1 WHERE id = %s", (3,))
        errors: list[Exception] = []

        def second(cur, account):
            try:
                cur.execute("UPDATE accounts SET balance = balance + 1 WHERE id = %s", (account,))
            except Exception as exc:  # the deadlock victim
                errors.append(exc)

        t = threading.Thread(target=second, args=(ca, 3))
        t.start()
        time.sleep(0.3)
        second(cb, 2)
        t.join(timeout=30)
        for cur in (ca, cb):
            try:
                cur.execute("ROLLBACK")
            except Exception:
                pass
    finally:
        a.close()
        b.close()


def errors(d: Dialect) -> None:
    with d.connect() as conn:
        cur = conn.cursor()
        for sql in ("SELECT * FROM no_such_table WHERE id = 1", "SELECT 1 / 0 AS broken"):
            try:
                cur.execute(sql)
            except Exception:
                pass


def prepared(d: Dialect) -> None:
    with d.connect() as conn:
        for customer_id in (5, 6, 7, 8, 9):
            d.prepared(conn, "SELECT id, name, email FROM customers WHERE id = %s AND country = %s",
                       (customer_id, "FR"))
        d.prepared(conn, "SELECT o.id, o.total FROM orders o WHERE o.id = %s AND o.note LIKE %s",
                   (1000, "%a\tb\nc%"))


def multi_line(d: Dialect) -> None:
    with d.connect() as conn:
        cur = conn.cursor()
        cur.execute("""-- revenue per country
SELECT c.country,
       count(*) AS orders,
       sum(o.total) AS revenue
  FROM customers c
  JOIN orders o ON o.customer_id = c.id
 WHERE o.status = 'paid'
 GROUP BY c.country
 ORDER BY revenue DESC""")
        cur.fetchall()


def churn(d: Dialect) -> None:
    for _ in range(60):
        with d.connect() as conn:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dialect", choices=sorted(DIALECTS))
    parser.add_argument("dsn", help="libpq conninfo (PostgreSQL) or key=value words (pymysql)")
    parser.add_argument("--phases", default=",".join(PHASES))
    args = parser.parse_args(argv)
    d = DIALECTS[args.dialect](args.dsn)
    for phase in args.phases.split(","):
        if phase not in PHASES:
            raise SystemExit(f"unknown phase {phase!r}; known: {', '.join(PHASES)}")
        globals()[phase](d)


if __name__ == "__main__":
    main()

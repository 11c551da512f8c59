"""A small shop backend for the join samples: Flask + SQLAlchemy ORM on PostgreSQL (psycopg 3),
every statement tagged by google-cloud-sqlcommenter, served by waitress behind nginx.

    python app.py --port 8001 --dsn "host=127.0.0.1 port=5432 dbname=shop user=postgres"

nginx generates the request id (``$request_id``, 32 hex digits) and passes it as
``X-Request-Id``; the app makes it the W3C trace id of the request (OpenTelemetry's API, no SDK),
so sqlcommenter writes ``traceparent='00-<request id>-<span>-01'`` into each statement next to
``controller``, ``route``, ``framework`` and ``db_driver``. The access log and the database log
then name the same request.

Endpoints (the planted stories):

- ``GET /customers/<id>/orders``: the customer's orders with their items. Release 1 loads the
  items with ``selectinload`` (3 queries); release 2 (``POST /deploy/2``, what a refactoring did)
  reads ``order.items`` lazily in a loop: one query per order (N+1), the loop in ``order_lines``;
- ``GET /orders/<id>``: one order with its items (``joinedload``): 1 query, fast;
- ``GET /products/search?q=``: the 20 dearest products whose ``name ILIKE '%q%'``, over 60,000
  products, no usable index: one slow query, the request spends most of its time in the
  database;
- ``GET /reports/top-customers``: one query, then a quadratic ranking in Python
  (``rank_customers``): the time is in the application, not the database;
- ``GET /health``: no database.
"""

from __future__ import annotations

import argparse
import random
import secrets
from decimal import Decimal

from flask import Flask, abort, jsonify, request
from google.cloud.sqlcommenter.sqlalchemy.executor import BeforeExecuteFactory
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from sqlalchemy import ForeignKey, Numeric, String, create_engine, event, insert, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    country: Mapped[str] = mapped_column(String(2))
    orders: Mapped[list[Order]] = relationship(back_populates="customer", order_by="Order.id")


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    customer: Mapped[Customer] = relationship(back_populates="orders")
    items: Mapped[list[Item]] = relationship(back_populates="order", order_by="Item.id")


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class Item(Base):
    __tablename__ = "order_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    order: Mapped[Order] = relationship(back_populates="items")


WORDS = ("red", "blue", "green", "steel", "oak", "linen", "wool", "glass", "stone", "paper",
         "lamp", "chair", "table", "mug", "shelf", "rug", "vase", "clock", "desk", "bowl")


def seed(engine, customers: int = 300, products: int = 60_000, seed_value: int = 7) -> None:
    """Tables and deterministic rows: each customer has 8-16 orders of 1-4 items."""
    rng = random.Random(seed_value)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.execute(insert(Product), [{"id": i, "name": " ".join(rng.choice(WORDS) for _ in range(3)) + f" {i}",
                                     "price": Decimal(rng.randrange(100, 20000)) / 100}
                                    for i in range(1, products + 1)])
        item_id = order_id = 0
        for c in range(1, customers + 1):
            s.add(Customer(id=c, name=f"customer {c}", country=rng.choice(("DE", "FR", "US", "JP"))))
            s.flush()
            for _ in range(rng.randrange(8, 17)):
                order_id += 1
                s.add(Order(id=order_id, customer_id=c, status=rng.choice(("paid", "shipped", "open"))))
                s.flush()
                for _ in range(rng.randrange(1, 5)):
                    item_id += 1
                    s.add(Item(id=item_id, order_id=order_id, product_id=rng.randrange(1, products + 1),
                               quantity=rng.randrange(1, 4), price=Decimal(rng.randrange(100, 9000)) / 100))
        s.commit()


# --- the views ---------------------------------------------------------------------------------

RELEASE = {"version": 1}


def order_lines(orders: list[Order]) -> list[dict]:
    lines = []
    for order in orders:
        for item in order.items:  # release 2: a lazy load per order, inside this loop
            lines.append({"order": order.id, "product": item.product_id, "quantity": item.quantity,
                          "amount": float(item.price * item.quantity)})
    return lines


def customer_orders(session: Session, customer_id: int) -> dict:
    query = select(Customer).where(Customer.id == customer_id)
    if RELEASE["version"] == 1:
        query = query.options(selectinload(Customer.orders).selectinload(Order.items))
    customer = session.scalars(query).one_or_none()
    if customer is None:
        abort(404)
    lines = order_lines(customer.orders)
    return {"customer": customer.name, "orders": len(customer.orders), "lines": len(lines),
            "total": round(sum(line["amount"] for line in lines), 2)}


def rank_customers(rows: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Total per customer, ranked; written the slow way (a list scanned for every row)."""
    totals: list[list] = []
    for customer_id, amount in rows:
        for entry in totals:  # linear search: quadratic in the number of customers
            if entry[0] == customer_id:
                entry[1] += amount
                break
        else:
            totals.append([customer_id, amount])
    return sorted(((c, round(a, 2)) for c, a in totals), key=lambda t: -t[1])[:10]


def engine_for(dsn: str, **options):
    import psycopg

    return create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(dsn), **options)


def make_app(dsn: str) -> Flask:
    engine = engine_for(dsn, pool_size=4)
    event.listen(engine, "before_cursor_execute",
                 BeforeExecuteFactory(with_db_driver=True, with_opentelemetry=True), retval=True)
    app = Flask("shop")

    @app.before_request
    def start_trace():
        # nginx's $request_id becomes this request's trace id (W3C traceparent in the SQL comments)
        rid = request.headers.get("X-Request-Id", "")
        trace_id = int(rid, 16) if len(rid) == 32 else secrets.randbits(128)
        span = NonRecordingSpan(SpanContext(trace_id=trace_id, span_id=secrets.randbits(64), is_remote=True,
                                            trace_flags=TraceFlags(TraceFlags.SAMPLED)))
        request.environ["trace.token"] = context.attach(trace.set_span_in_context(span))

    @app.teardown_request
    def end_trace(_exc):
        token = request.environ.pop("trace.token", None)
        if token is not None:
            context.detach(token)

    @app.get("/customers/<int:cid>/orders")
    def customer_orders_view(cid: int):
        with Session(engine) as session:
            return jsonify(customer_orders(session, cid))

    @app.get("/orders/<int:oid>")
    def order_view(oid: int):
        with Session(engine) as session:
            order = session.scalars(select(Order).options(joinedload(Order.items)).where(Order.id == oid)).first()
            if order is None:
                abort(404)
            return jsonify({"order": order.id, "status": order.status, "items": len(order.items)})

    @app.get("/products/search")
    def search_view():
        q = request.args.get("q", "")
        with Session(engine) as session:
            rows = session.execute(select(Product.id, Product.name).where(Product.name.ilike(f"%{q}%"))
                                   .order_by(Product.price.desc()).limit(20)).all()
        return jsonify({"q": q, "found": [name for _, name in rows]})

    @app.get("/reports/top-customers")
    def report_view():
        with Session(engine) as session:
            rows = session.execute(select(Order.customer_id, Item.price * Item.quantity)
                                   .join(Item, Item.order_id == Order.id)).all()
        return jsonify(rank_customers([(c, float(a)) for c, a in rows]))

    @app.get("/health")
    def health():
        return {"ok": True, "release": RELEASE["version"]}

    @app.post("/deploy/<int:version>")
    def deploy(version: int):
        RELEASE["version"] = version
        return {"release": version}

    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dsn", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seed", action="store_true", help="create and fill the tables, then exit")
    args = p.parse_args()
    if args.seed:
        seed(engine_for(args.dsn))
        return
    from waitress import serve

    serve(make_app(args.dsn), host="127.0.0.1", port=args.port, threads=2, ident="shop")


if __name__ == "__main__":
    main()

"""A small ORM application with the classic N+1: orders and their items, read with SQLAlchemy's
default lazy loading. Used by notebooks/07_orm_n_plus_one.ipynb and tests/queries/test_capture.py.

``order_totals(session)`` lists the orders, then sums ``order.items`` inside a loop: SQLAlchemy
loads the collection on first access, so the report costs 1 + one query per order (61 for the 60
orders of :func:`fill`). ``order_totals_fixed`` asks for the items up front with
``selectinload`` (one ``WHERE order_id IN (...)`` query: 2 in all); ``order_totals_joined``
with ``joinedload`` (one query with a LEFT OUTER JOIN).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, create_engine, select
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
    name: Mapped[str] = mapped_column(String(60))
    orders: Mapped[list[Order]] = relationship(back_populates="customer", order_by="Order.id")


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    customer: Mapped[Customer] = relationship(back_populates="orders")
    items: Mapped[list[Item]] = relationship(back_populates="order", order_by="Item.id")


class Item(Base):
    __tablename__ = "order_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    cents: Mapped[int]
    order: Mapped[Order] = relationship(back_populates="items")


def make_engine(url: str = "sqlite://"):
    """An engine with the tables created and filled (see :func:`fill`)."""
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    fill(engine)
    return engine


def fill(engine, customers: int = 20, orders_each: int = 3, items_each: int = 4) -> None:
    """``customers`` customers with ``orders_each`` orders of ``items_each`` items; item i costs
    i cents, so every total is known in advance."""
    with Session(engine) as session:
        item = order = 0
        for c in range(1, customers + 1):
            session.add(Customer(id=c, name=f"customer {c}"))
            for _ in range(orders_each):
                order += 1
                session.add(Order(id=order, customer_id=c))
                for _ in range(items_each):
                    item += 1
                    session.add(Item(id=item, order_id=order, cents=item))
        session.commit()


def _totals(orders) -> dict[int, int]:
    totals = {}
    for order in orders:
        totals[order.id] = sum(item.cents for item in order.items)  # lazy load: a query per order
    return totals


def order_totals(session: Session) -> dict[int, int]:
    """Every order's total in cents, loading its items lazily (the N+1)."""
    return _totals(session.scalars(select(Order).order_by(Order.id)))


def order_totals_fixed(session: Session) -> dict[int, int]:
    """The same totals with the items loaded up front by ``selectinload``."""
    return _totals(session.scalars(select(Order).order_by(Order.id).options(selectinload(Order.items))))


def order_totals_joined(session: Session) -> dict[int, int]:
    """The same totals in one query: ``joinedload`` (a LEFT OUTER JOIN)."""
    return _totals(session.scalars(select(Order).order_by(Order.id).options(joinedload(Order.items))).unique())

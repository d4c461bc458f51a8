"""Checkouts, orders (one per group), their lines, lot allocations and history."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import DDL, BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.quantity import Quantity
from core.types import StrEnumType, UtcDateTime, utcnow


class OrderStatus(StrEnum):
    placed = "placed"
    confirmed = "confirmed"
    ready = "ready"
    completed = "completed"
    cancelled = "cancelled"
    expired = "expired"


class FulfilmentMethod(StrEnum):
    pickup = "pickup"
    delivery = "delivery"


class PaymentMethod(StrEnum):
    card = "card"
    cash = "cash"
    transfer = "transfer"


class OrderKind(StrEnum):
    """Whether the goods existed when the order was placed.

    `stock`: placed at checkout from what is on hand, every line reserved at once. `made_to_order` (a job the
    group makes for the buyer) and `pre_order` (a harvest not yet picked): placed without reserving; goods are
    set aside for their lines as they arrive (SetAsideLot).
    """

    stock = "stock"
    made_to_order = "made_to_order"
    pre_order = "pre_order"


OPEN_STATUSES = (OrderStatus.placed, OrderStatus.confirmed, OrderStatus.ready)


class Checkout(db.Model):
    """One buyer's submission: lines from several groups, answered with one order per group."""

    __tablename__ = "checkouts"
    __table_args__ = (
        UniqueConstraint("buyer_id", "idempotency_key", name="uq_checkouts_buyer_key"),
        CheckConstraint("total >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(BigInteger)
    payment_method: Mapped[PaymentMethod] = mapped_column(StrEnumType(PaymentMethod, "payment_method"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    orders: Mapped[list["Order"]] = relationship(back_populates="checkout", order_by="Order.id")


class Order(db.Model):
    """What one group owes one buyer from one checkout; its status is the fulfilment lifecycle."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total >= 0", name="total_not_negative"),
        # Paid never above the total, refunded never above what was paid: in the database, not only in Python.
        CheckConstraint("paid >= 0 AND paid <= total", name="paid_within_total"),
        CheckConstraint("refunded >= 0 AND refunded <= paid", name="refunded_within_paid"),
        CheckConstraint("card_fees >= 0", name="card_fees_not_negative"),
        Index("ix_orders_group_status_day", "group_id", "status", "fulfilment_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkout_id: Mapped[int] = mapped_column(ForeignKey("checkouts.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[OrderKind] = mapped_column(
        StrEnumType(OrderKind, "order_kind"), default=OrderKind.stock, server_default=OrderKind.stock.value
    )
    status: Mapped[OrderStatus] = mapped_column(StrEnumType(OrderStatus, "order_status"), default=OrderStatus.placed)
    payment_method: Mapped[PaymentMethod] = mapped_column(StrEnumType(PaymentMethod, "payment_method"))
    fulfilment_method: Mapped[FulfilmentMethod] = mapped_column(StrEnumType(FulfilmentMethod, "fulfilment_method"))
    fulfilment_date: Mapped[date] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    total: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="IDR")
    # Sums of the order's payments, refunds and card fees, kept beside them by guarded UPDATEs;
    # `flask ledger check` proves they agree with the payment rows and the journal.
    paid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    refunded: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    card_fees: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    checkout: Mapped[Checkout] = relationship(back_populates="orders")
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", order_by="OrderLine.id")
    events: Mapped[list["OrderEvent"]] = relationship(back_populates="order", order_by="OrderEvent.id")

    @property
    def outstanding(self) -> int:
        """What the buyer still owes."""
        return self.total - self.paid


class OrderLine(db.Model):
    """A variant bought, with the name and price as they were at checkout."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0 AND total >= 0", name="money_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    product_name: Mapped[str] = mapped_column(String(120))
    variant_label: Mapped[str] = mapped_column(String(60))
    unit: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[Order] = relationship(back_populates="lines")
    allocations: Mapped[list["OrderLineLot"]] = relationship(back_populates="line", order_by="OrderLineLot.id")
    set_aside: Mapped[list["SetAsideLot"]] = relationship(back_populates="line", order_by="SetAsideLot.id")


class OrderLineLot(db.Model):
    """Which member's lot supplied how much of a line, fixed when the order is packed."""

    __tablename__ = "order_line_lots"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)

    line: Mapped[OrderLine] = relationship(back_populates="allocations")


class SetAsideLot(db.Model):
    """Units of a lot kept for one order line: goods that came to exist for that order (pieces made for a job,
    a harvest pre-ordered), reserved for it the moment they arrived. Packing draws the line from these first,
    so each unit names the member who made it; first-in-first-out packing of other lines passes them by."""

    __tablename__ = "set_aside_lots"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)

    line: Mapped[OrderLine] = relationship(back_populates="set_aside")


class OrderEvent(db.Model):
    """One step of an order's history: who moved it from what to what, and when."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_status: Mapped[OrderStatus | None] = mapped_column(StrEnumType(OrderStatus, "from_status"))
    to_status: Mapped[OrderStatus] = mapped_column(StrEnumType(OrderStatus, "to_status"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")


class CatalogVersion(db.Model):
    """One row: a number that every write changing what the catalog lists moves on, in the same transaction.

    Kept catalog pages are keyed by it (marketplace.catalog), so a product hidden, archived or
    sold out leaves the next response of every process.
    """

    __tablename__ = "catalog_versions"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


event.listen(
    CatalogVersion.__table__,
    "after_create",
    DDL("INSERT INTO catalog_versions (id, version) VALUES (1, 0)"),
)

"""Checkouts, orders (one per group), their lines, lot allocations and history."""
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.appendonly import make_append_only
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
    payments: Mapped[list["Payment"]] = relationship(back_populates="order", order_by="Payment.id")
    refunds: Mapped[list["Refund"]] = relationship(back_populates="order", order_by="Refund.id")

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


class CardPaymentStatus(StrEnum):
    pending = "pending"  # created at the processor, waiting for the buyer's card
    succeeded = "succeeded"
    failed = "failed"  # the last attempt was declined; the buyer may try again
    canceled = "canceled"


class CardPayment(db.Model):
    """One attempt to pay a checkout's open orders by card: a PaymentIntent at the processor."""

    __tablename__ = "card_payments"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),
                      UniqueConstraint("checkout_id", "attempt", name="uq_card_payments_checkout_attempt"))

    id: Mapped[int] = mapped_column(primary_key=True)
    checkout_id: Mapped[int] = mapped_column(ForeignKey("checkouts.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    intent_id: Mapped[str] = mapped_column(String(255), unique=True)
    attempt: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="IDR")
    status: Mapped[CardPaymentStatus] = mapped_column(StrEnumType(CardPaymentStatus, "card_payment_status"),
                                                      default=CardPaymentStatus.pending)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    parts: Mapped[list["CardPaymentPart"]] = relationship(back_populates="card_payment",
                                                          order_by="CardPaymentPart.order_id")


class CardPaymentPart(db.Model):
    """How much of a card payment is for one order, fixed when the payment is started."""

    __tablename__ = "card_payment_parts"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),
                      UniqueConstraint("card_payment_id", "order_id", name="uq_card_payment_parts_order"))

    id: Mapped[int] = mapped_column(primary_key=True)
    card_payment_id: Mapped[int] = mapped_column(ForeignKey("card_payments.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)

    card_payment: Mapped[CardPayment] = relationship(back_populates="parts")


class Payment(db.Model):
    """Money received for one order: cash or a transfer recorded by the group, or its part of a card payment.

    A payment recorded by mistake is corrected by a reversal: a row of the negative amount naming it.
    """

    __tablename__ = "payments"
    __table_args__ = (
        # A payment brings money in; only a correction (reversing a mistaken payment) takes it out.
        CheckConstraint("(reverses_id IS NULL AND amount > 0) OR (reverses_id IS NOT NULL AND amount < 0)",
                        name="amount_sign"),
        CheckConstraint("fee >= 0 AND fee <= ABS(amount)", name="fee_within_amount"),
        UniqueConstraint("order_id", "idempotency_key", name="uq_payments_order_key"),
        UniqueConstraint("card_payment_id", "order_id", name="uq_payments_card_payment_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    method: Mapped[PaymentMethod] = mapped_column(StrEnumType(PaymentMethod, "payment_method"))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_estimated: Mapped[bool] = mapped_column(default=False)
    reference: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    card_payment_id: Mapped[int | None] = mapped_column(ForeignKey("card_payments.id"))
    slip_name: Mapped[str | None] = mapped_column(String(100))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="payments")


class Refund(db.Model):
    """Money given back to the buyer of one order: through the card processor, or in cash or by transfer."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("order_id", "idempotency_key", name="uq_refunds_order_key"),
        # One processor refund may be spread over a checkout's orders (one made in the gateway's dashboard).
        UniqueConstraint("processor_refund_id", "order_id", name="uq_refunds_processor_refund_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    method: Mapped[PaymentMethod] = mapped_column(StrEnumType(PaymentMethod, "payment_method"))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    card_payment_id: Mapped[int | None] = mapped_column(ForeignKey("card_payments.id"))
    processor_refund_id: Mapped[str | None] = mapped_column(String(255))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="refunds")


class ProcessorEvent(db.Model):
    """A webhook event from a payment processor, kept by its id: a replay finds it here and does nothing."""

    __tablename__ = "processor_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_processor_events_provider_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


make_append_only(Payment.__table__)
make_append_only(Refund.__table__)

"""Payments, refunds, card payments and the payment processor's events."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.appendonly import make_append_only
from core.extensions import db
from core.types import StrEnumType, UtcDateTime, utcnow
from marketplace.models import Order, PaymentMethod


class CardPaymentStatus(StrEnum):
    pending = "pending"  # created at the processor, waiting for the buyer's card
    succeeded = "succeeded"
    failed = "failed"  # the last attempt was declined; the buyer may try again
    canceled = "canceled"


class CardPayment(db.Model):
    """One attempt to pay a checkout's open orders by card: a PaymentIntent at the processor."""

    __tablename__ = "card_payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("checkout_id", "attempt", name="uq_card_payments_checkout_attempt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkout_id: Mapped[int] = mapped_column(ForeignKey("checkouts.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    intent_id: Mapped[str] = mapped_column(String(255), unique=True)
    attempt: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="IDR")
    status: Mapped[CardPaymentStatus] = mapped_column(
        StrEnumType(CardPaymentStatus, "card_payment_status"), default=CardPaymentStatus.pending
    )
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    parts: Mapped[list["CardPaymentPart"]] = relationship(
        back_populates="card_payment", order_by="CardPaymentPart.order_id"
    )


class CardPaymentPart(db.Model):
    """How much of a card payment is for one order, fixed when the payment is started."""

    __tablename__ = "card_payment_parts"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("card_payment_id", "order_id", name="uq_card_payment_parts_order"),
    )

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
        CheckConstraint(
            "(reverses_id IS NULL AND amount > 0) OR (reverses_id IS NOT NULL AND amount < 0)", name="amount_sign"
        ),
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

    order: Mapped[Order] = relationship()


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

    order: Mapped[Order] = relationship()


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

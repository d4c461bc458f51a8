"""Harvest pre-orders (*pesan sebelum panen*): a harvest a farmer group expects, the buyers' pre-orders against
it, and every step of its history.

A pre-order is carried by an ordinary marketplace order (of kind `pre_order`), placed without stock when the
buyer pre-orders: payments, completion, the revenue split and statements take it like any other sale. When the
harvest comes in, the members' lots are set aside for the pre-orders' orders, in the order they were placed.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.appendonly import make_append_only
from core.extensions import db
from core.quantity import Quantity
from core.types import StrEnumType, UtcDateTime, utcnow


class HarvestStatus(StrEnum):
    announced = "announced"  # buyers may pre-order, up to the cap
    closed = "closed"  # no more pre-orders; the harvest is awaited
    harvested = "harvested"  # the harvest came in: the pre-orders were filled or shared out
    done = "done"  # every pre-order's order was completed or cancelled
    cancelled = "cancelled"  # no harvest: the pre-orders were cancelled and their money given back


class ShortfallRule(StrEnum):
    """How a harvest smaller than the pre-orders is shared out, chosen when it is announced."""

    first_come = "first_come"  # in the order placed: the earliest get all, the later less or nothing
    pro_rata = "pro_rata"  # each its share of the harvest, to the unit's precision; remainders by largest remainder


class PreOrderStatus(StrEnum):
    placed = "placed"  # waiting for the harvest
    filled = "filled"  # got all it asked for
    part_filled = "part_filled"  # got less: its order shrank to what it got
    unfilled = "unfilled"  # got nothing: its order was cancelled
    cancelled = "cancelled"  # cancelled before the harvest


class Harvest(db.Model):
    """A harvest a group expects: of one variant, a range of quantities, in one week, offered for pre-order at a
    price up to a cap (a share of the low end of the range)."""

    __tablename__ = "harvests"
    __table_args__ = (
        CheckConstraint("expected_low > 0 AND expected_high >= expected_low", name="expected_range"),
        CheckConstraint("cap > 0 AND cap <= expected_low", name="cap_within_low"),
        # The no-oversell guarantee of pre-orders, in the database too: the counter never passes the cap.
        CheckConstraint("preordered >= 0 AND preordered <= cap", name="preordered_within_cap"),
        CheckConstraint("cap_basis_points > 0 AND cap_basis_points <= 10000", name="cap_share"),
        CheckConstraint("deposit_basis_points >= 0 AND deposit_basis_points <= 10000", name="deposit_share"),
        CheckConstraint("unit_price >= 0", name="price_not_negative"),
        CheckConstraint("harvested IS NULL OR harvested >= 0", name="harvested_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    expected_low: Mapped[Decimal] = mapped_column(Quantity)
    expected_high: Mapped[Decimal] = mapped_column(Quantity)
    week: Mapped[date] = mapped_column(Date)  # the Monday of the week the harvest is expected
    unit_price: Mapped[int] = mapped_column(BigInteger)  # the pre-order price, whole rupiah a unit
    cap_basis_points: Mapped[int] = mapped_column(Integer)  # the cap as a share of the low end (8000 = 80 %)
    cap: Mapped[Decimal] = mapped_column(Quantity)  # that share, down to the unit's precision
    preordered: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))  # changed only by guarded UPDATEs
    shortfall_rule: Mapped[ShortfallRule] = mapped_column(StrEnumType(ShortfallRule, "shortfall_rule"))
    deposit_basis_points: Mapped[int] = mapped_column(Integer, default=0)  # of each pre-order's total; 0: none
    status: Mapped[HarvestStatus] = mapped_column(
        StrEnumType(HarvestStatus, "harvest_status"), default=HarvestStatus.announced
    )
    note: Mapped[str | None] = mapped_column(Text)
    harvested: Mapped[Decimal | None] = mapped_column(Quantity)  # what came in, once recorded
    record_key: Mapped[str | None] = mapped_column(String(100))  # the Idempotency-Key the harvest was recorded with
    record_hash: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    pre_orders: Mapped[list["PreOrder"]] = relationship(order_by="PreOrder.id", viewonly=True)
    events: Mapped[list["HarvestEvent"]] = relationship(order_by="HarvestEvent.id", viewonly=True)


class PreOrder(db.Model):
    """A buyer's pre-order against a harvest, and the order that carries it."""

    __tablename__ = "pre_orders"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("filled IS NULL OR (filled >= 0 AND filled <= quantity)", name="filled_within_quantity"),
        CheckConstraint("refunded >= 0", name="refunded_not_negative"),
        # A retry with the same key finds the first pre-order; the key is the buyer's, as at checkout.
        UniqueConstraint("buyer_id", "idempotency_key", name="uq_pre_orders_buyer_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    harvest_id: Mapped[int] = mapped_column(ForeignKey("harvests.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)  # the order that carries it now
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    filled: Mapped[Decimal | None] = mapped_column(Quantity)  # what the harvest gave it, once recorded
    status: Mapped[PreOrderStatus] = mapped_column(
        StrEnumType(PreOrderStatus, "pre_order_status"), default=PreOrderStatus.placed
    )
    # What was given back of the money paid on it when it was cancelled or got less than it asked for.
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    harvest: Mapped[Harvest] = relationship()


class HarvestLot(db.Model):
    """A member's lot recorded as part of a harvest: one the harvest made, or one taken in already through the
    ordinary intake. A lot is part of one harvest at most (the unique index)."""

    __tablename__ = "harvest_lots"

    id: Mapped[int] = mapped_column(primary_key=True)
    harvest_id: Mapped[int] = mapped_column(ForeignKey("harvests.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), unique=True)
    # What of the lot the harvest counted: all of a lot it made; of a lot taken in before, the free units chosen.
    # Empty on rows from before it was kept: the lot's whole quantity.
    quantity: Mapped[Decimal | None] = mapped_column(Quantity)


class HarvestEvent(db.Model):
    """One step of a harvest's history: who moved it from what to what, and when."""

    __tablename__ = "harvest_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    harvest_id: Mapped[int] = mapped_column(ForeignKey("harvests.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_status: Mapped[HarvestStatus | None] = mapped_column(StrEnumType(HarvestStatus, "from_status"))
    to_status: Mapped[HarvestStatus] = mapped_column(StrEnumType(HarvestStatus, "to_status"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


make_append_only(HarvestEvent.__table__)
make_append_only(HarvestLot.__table__)

"""Made-to-order jobs (*pesanan khusus*): what a buyer asks a group to make, the group's quotes, the work shared
out among its members, the pieces they hand in, and every step of the job's history.

A job accepted is carried by an ordinary marketplace order (of kind `made_to_order`), made when the buyer
accepts a quote: payments, completion, the revenue split and statements take it like any other sale.
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


class CommissionStatus(StrEnum):
    requested = "requested"  # the buyer asked
    quoted = "quoted"  # the group answered with a price, a due date and a deposit
    accepted = "accepted"  # the buyer accepted a quote: the order exists
    in_production = "in_production"  # the work is shared out among members
    ready = "ready"  # every piece is made
    completed = "completed"  # every piece delivered, every order of the job completed
    declined = "declined"  # the buyer declined a quote, or the group a request
    cancelled = "cancelled"


class DepositOnCancel(StrEnum):
    """What happens to the deposit when the job is cancelled after acceptance."""

    refund = "refund"  # given back to the buyer
    keep = "keep"  # kept by the group, as the group fund's income


class Commission(db.Model):
    """A made-to-order job: a buyer's request to a group, and where it stands."""

    __tablename__ = "commissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    wanted_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CommissionStatus] = mapped_column(
        StrEnumType(CommissionStatus, "commission_status"), default=CommissionStatus.requested
    )
    accepted_revision: Mapped[int | None] = mapped_column(Integer)
    # The checkout of the order made at acceptance; a delivery split off it is an order of the same checkout.
    checkout_id: Mapped[int | None] = mapped_column(ForeignKey("checkouts.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list["CommissionLine"]] = relationship(back_populates="commission", order_by="CommissionLine.id")
    quotes: Mapped[list["CommissionQuote"]] = relationship(
        back_populates="commission", order_by="CommissionQuote.revision"
    )
    events: Mapped[list["CommissionEvent"]] = relationship(order_by="CommissionEvent.id")


class CommissionLine(db.Model):
    """What is asked for: a variant of the group, or a description until the group quotes; and how many."""

    __tablename__ = "commission_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(ForeignKey("commissions.id"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))
    description: Mapped[str | None] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(Quantity)

    commission: Mapped[Commission] = relationship(back_populates="lines")


class CommissionQuote(db.Model):
    """One revision of the group's answer: a price per line, a due date, a deposit and its fate on
    cancellation. Revisions are appended; the buyer accepts one by its number."""

    __tablename__ = "commission_quotes"
    __table_args__ = (
        UniqueConstraint("commission_id", "revision", name="uq_commission_quotes_revision"),
        CheckConstraint("total >= 0 AND deposit >= 0 AND deposit <= total", name="deposit_within_total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(ForeignKey("commissions.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    total: Mapped[int] = mapped_column(BigInteger)
    deposit: Mapped[int] = mapped_column(BigInteger)  # whole rupiah, as given or worked out from the percent
    deposit_basis_points: Mapped[int | None] = mapped_column(Integer)  # when the deposit was given as a percent
    deposit_on_cancel: Mapped[DepositOnCancel] = mapped_column(StrEnumType(DepositOnCancel, "deposit_on_cancel"))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    commission: Mapped[Commission] = relationship(back_populates="quotes")
    lines: Mapped[list["CommissionQuoteLine"]] = relationship(order_by="CommissionQuoteLine.id")


class CommissionQuoteLine(db.Model):
    """A quoted line: the variant it is made as and its unit price."""

    __tablename__ = "commission_quote_lines"
    __table_args__ = (CheckConstraint("unit_price >= 0 AND total >= 0", name="money_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("commission_quotes.id"), index=True)
    commission_line_id: Mapped[int] = mapped_column(ForeignKey("commission_lines.id"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)


class CommissionEvent(db.Model):
    """One step of a job's history: who moved it from what to what, and when."""

    __tablename__ = "commission_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(ForeignKey("commissions.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_status: Mapped[CommissionStatus | None] = mapped_column(StrEnumType(CommissionStatus, "from_status"))
    to_status: Mapped[CommissionStatus] = mapped_column(StrEnumType(CommissionStatus, "to_status"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CommissionAssignment(db.Model):
    """Pieces of one line given to one member to make, and how many she has handed in."""

    __tablename__ = "commission_assignments"
    __table_args__ = (
        UniqueConstraint("commission_line_id", "member_id", name="uq_commission_assignments_line_member"),
        CheckConstraint("done >= 0 AND done <= pieces", name="done_within_pieces"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(ForeignKey("commissions.id"), index=True)
    commission_line_id: Mapped[int] = mapped_column(ForeignKey("commission_lines.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    pieces: Mapped[Decimal] = mapped_column(Quantity)
    done: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    line: Mapped[CommissionLine] = relationship()


class CommissionPieces(db.Model):
    """Finished pieces a member handed in against her assignment: the lot they became."""

    __tablename__ = "commission_pieces"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("assignment_id", "idempotency_key", name="uq_commission_pieces_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("commission_assignments.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


make_append_only(CommissionEvent.__table__)
make_append_only(CommissionPieces.__table__)

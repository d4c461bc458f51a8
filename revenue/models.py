"""The revenue split's records: split policies, earnings, work logs, settlements and statements, payouts,
savings and SHU."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.appendonly import make_append_only
from core.extensions import db
from core.quantity import Quantity
from core.types import StrEnumType, UtcDateTime, utcnow


class SplitMethod(StrEnum):
    contribution = "contribution"  # to the members whose lots supplied the line
    equal = "equal"  # to the group pool, shared equally among active members at settlement
    work = "work"  # to the group pool, shared by logged work at settlement


class SplitPolicy(db.Model):
    """One version of a group's split policy; a change is a new version, never an edit."""

    __tablename__ = "split_policies"
    __table_args__ = (
        UniqueConstraint("group_id", "version", name="uq_split_policies_group_version"),
        CheckConstraint("fund_basis_points >= 0 AND fund_basis_points <= 10000", name="fund_percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    method: Mapped[SplitMethod] = mapped_column(StrEnumType(SplitMethod, "split_method"))
    fund_basis_points: Mapped[int] = mapped_column(Integer)  # hundredths of a percent: 1050 is 10.5 %
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def group_fund_percent(self) -> Fraction:
        return Fraction(self.fund_basis_points, 100)


class Earning(db.Model):
    """One part of a completed order's net revenue credited to a member, the group fund or the pool,
    or taken back by a refund (negative). Appended, never edited; each belongs to a journal entry."""

    __tablename__ = "earnings"
    __table_args__ = (
        Index("ix_earnings_group_member", "group_id", "member_id"),
        Index("ix_earnings_group_kind", "group_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    order_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # None for a pool share
    order_line_id: Mapped[int | None] = mapped_column(BigInteger)
    product_name: Mapped[str | None] = mapped_column(String(255))
    account: Mapped[str] = mapped_column(String(64))  # member:<id>, group_fund or pool
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    lot_id: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    amount: Mapped[int] = mapped_column(BigInteger)
    # For a sale: the part's share of the line's value, card fee and earlier refunds (largest remainder);
    # what the group fund kept of it is gross - fee_share - refund_share - amount.
    gross: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_share: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_share: Mapped[int] = mapped_column(BigInteger, default=0)
    kind: Mapped[str] = mapped_column(String(16))  # sale, refund or pool_share
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("split_policies.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    # Its journal entry's moment, given where it is made (no default): periods find a sale by it (settlements).
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


make_append_only(Earning.__table__)


class WorkLog(db.Model):
    """Work a member did on a day (pieces sewn, hours), for the `work` method; a mistake is reversed, not edited."""

    __tablename__ = "work_logs"
    __table_args__ = (
        CheckConstraint(
            "(reverses_id IS NULL AND units > 0) OR (reverses_id IS NOT NULL AND units < 0)", name="units_sign"
        ),
        Index("ix_work_logs_group_day", "group_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    units: Mapped[Decimal] = mapped_column(Quantity)
    note: Mapped[str | None] = mapped_column(Text)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("work_logs.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Settlement(db.Model):
    """A closed period: the pool shared out and every member's statement frozen."""

    __tablename__ = "settlements"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period_order"),
        UniqueConstraint("group_id", "period_start", name="uq_settlements_group_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    method: Mapped[SplitMethod] = mapped_column(StrEnumType(SplitMethod, "split_method"))
    pool_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    # How the pool was shared: `equal` also for a `work` period in which nobody logged work; None when
    # there was nothing to share (an empty pool, or one short after a refund, carried to the next period).
    shared_by: Mapped[SplitMethod | None] = mapped_column(StrEnumType(SplitMethod, "shared_by"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    statements: Mapped[list["Statement"]] = relationship(back_populates="settlement", order_by="Statement.member_id")


class Statement(db.Model):
    """One member's frozen statement for a settlement's period.

    `detail` keeps its refund, pool share, SHU and payout lines as JSON. Its sale lines are the member's sale
    Earning rows of the period: appended, never edited, and made only at the moment they are booked, so a
    settled (past) period's lines cannot change. The statement keeps how many there are and what they sum to
    (`sale_lines`, `sales`, `fees`, `fund_deductions`), and they are read and checked against those figures
    whenever the statement is shown. Statements frozen before this kept their sale lines in `detail`
    (`sale_lines` is None for them)."""

    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("settlement_id", "member_id", name="uq_statements_settlement_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    opening: Mapped[int] = mapped_column(BigInteger)
    sales: Mapped[int] = mapped_column(BigInteger)
    pool_share: Mapped[int] = mapped_column(BigInteger)
    refunds: Mapped[int] = mapped_column(BigInteger)
    fund_deductions: Mapped[int] = mapped_column(BigInteger)
    fees: Mapped[int] = mapped_column(BigInteger)
    payouts: Mapped[int] = mapped_column(BigInteger)
    shu: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # SHU parts credited
    closing: Mapped[int] = mapped_column(BigInteger)
    sale_lines: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    settlement: Mapped[Settlement] = relationship(back_populates="statements")


class PayoutMethod(StrEnum):
    cash = "cash"
    transfer = "transfer"
    ewallet = "ewallet"


class Payout(db.Model):
    """Money the group paid a member from their balance; a mistake is corrected by a reversing payout."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint(
            "(reverses_id IS NULL AND amount > 0) OR (reverses_id IS NOT NULL AND amount < 0)", name="amount_sign"
        ),
        UniqueConstraint("group_id", "idempotency_key", name="uq_payouts_group_key"),
        Index("ix_payouts_group_member", "group_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[PayoutMethod] = mapped_column(StrEnumType(PayoutMethod, "payout_method"))
    reference: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))  # the e-wallet's number
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"), unique=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class Saving(db.Model):
    """A member's deposit (positive) or withdrawal (negative) of savings, for groups that keep them (jasa modal)."""

    __tablename__ = "member_savings"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_member_savings_group_member", "group_id", "member_id"),
        Index("uq_member_savings_group_key", "group_id", "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ShuPlan(db.Model):
    """A year's SHU (sisa hasil usaha): the surplus and its allocation percentages (basis points, total 100 %).

    Drafted as a report; accepted once, when its journal entry is made."""

    __tablename__ = "shu_plans"
    __table_args__ = (
        UniqueConstraint("group_id", "year", name="uq_shu_plans_group_year"),
        CheckConstraint(
            "reserve_bp + services_bp + capital_bp + management_bp + education_bp + social_bp = 10000",
            name="percentages_total_100",
        ),
        CheckConstraint(
            "reserve_bp >= 0 AND services_bp >= 0 AND capital_bp >= 0 AND management_bp >= 0 "
            "AND education_bp >= 0 AND social_bp >= 0",
            name="percentages_not_negative",
        ),
        CheckConstraint("surplus >= 0", name="surplus_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    year: Mapped[int] = mapped_column(Integer)
    surplus: Mapped[int] = mapped_column(BigInteger)
    reserve_bp: Mapped[int] = mapped_column(Integer)  # cadangan
    services_bp: Mapped[int] = mapped_column(Integer)  # jasa usaha: by members' transactions
    capital_bp: Mapped[int] = mapped_column(Integer)  # jasa modal: by members' savings
    management_bp: Mapped[int] = mapped_column(Integer)  # pengurus
    education_bp: Mapped[int] = mapped_column(Integer)  # pendidikan
    social_bp: Mapped[int] = mapped_column(Integer)  # sosial
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ShuAllocation(db.Model):
    """A member's part of an accepted SHU: for their transactions and for their savings."""

    __tablename__ = "shu_allocations"
    __table_args__ = (UniqueConstraint("plan_id", "member_id", name="uq_shu_allocations_plan_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("shu_plans.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    transactions: Mapped[int] = mapped_column(BigInteger)
    savings: Mapped[int] = mapped_column(BigInteger)
    services_part: Mapped[int] = mapped_column(BigInteger)
    capital_part: Mapped[int] = mapped_column(BigInteger)


for _table in (
    WorkLog.__table__,
    Settlement.__table__,
    Statement.__table__,
    Payout.__table__,
    Saving.__table__,
    ShuAllocation.__table__,
):
    make_append_only(_table)

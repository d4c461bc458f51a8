"""What the books say of an SHU: the fund's balance at a year's end and now, members' transactions in a year,
a draft's allocation computed from them, an accepted one's as booked, and its check for `flask ledger check`."""

from datetime import date

from sqlalchemy import func, not_, select

from core import ledger
from core.extensions import db
from revenue.models import Earning, Settlement, ShuAllocation, ShuPlan
from revenue.services.accrual import GROUP_FUND, member_account
from revenue.services.savings import keeps_savings, savings_before

# Money counts in a year as statements count it: by the moment its entry was made, but a settlement's pool
# shares by its period's end (what the period's sales earned). Needs Settlement outer-joined on the entry.
from revenue.services.settlements import attributed_before
from revenue.services.shu.allocation import GROUP_PARTS, PARTS, WHOLE, Allocation, MemberShare, allocate, shu_account
from revenue.services.shu.years import year_bounds

TRANSACTION_KINDS = ("sale", "refund", "pool_share")  # a refund's take-back (negative) nets out its sale


def credit_balance(group_id: int, key: str, year_end: int | None = None) -> int:
    """An account's credit balance: now, or at the end of `year_end` (a settlement made in January for a
    December period counts in December)."""
    query = (
        select(func.coalesce(func.sum(ledger.Posting.amount), 0))
        .join(ledger.Account, ledger.Account.id == ledger.Posting.account_id)
        .where(ledger.Account.group_id == group_id, ledger.Account.key == key)
    )
    if year_end is not None:
        query = (
            query.join(ledger.JournalEntry, ledger.JournalEntry.id == ledger.Posting.entry_id)
            .outerjoin(Settlement, Settlement.entry_id == ledger.JournalEntry.id)
            .where(attributed_before(date(year_end + 1, 1, 1)))
        )
    return -int(db.session.scalar(query) or 0)


def fund_balance(group_id: int, year_end: int | None = None) -> int:
    """The group fund's credit balance: now, or at the end of `year_end`."""
    return credit_balance(group_id, GROUP_FUND, year_end)


def fund_available(group_id: int, year: int) -> tuple[int, int, int]:
    """(what may be shared, the fund at the year's end, the fund now): the smaller of the two, at least 0."""
    at_year_end = fund_balance(group_id, year)
    now = fund_balance(group_id)
    return max(0, min(at_year_end, now)), at_year_end, now


def transactions_in(group_id: int, year: int) -> dict[int, int]:
    """Each member's transactions in the year (WIB): the sale earnings credited to them in it less what refunds
    made in it took back, and their pool shares of the settlements whose periods end in it (wherever those were
    made), as statements count them. Members whose year comes to nothing or less are left out."""
    rows = db.session.execute(
        select(Earning.member_id, func.sum(Earning.amount))
        .join(ledger.JournalEntry, ledger.JournalEntry.id == Earning.entry_id)
        .outerjoin(Settlement, Settlement.entry_id == Earning.entry_id)
        .where(
            Earning.group_id == group_id,
            Earning.member_id.is_not(None),
            Earning.kind.in_(TRANSACTION_KINDS),
            attributed_before(date(year + 1, 1, 1)),
            not_(attributed_before(date(year, 1, 1))),
        )
        .group_by(Earning.member_id)
    )
    return {member_id: int(total) for member_id, total in rows if total and total > 0}


def compute(plan: ShuPlan) -> Allocation:
    """A draft's allocation from the books as they are now."""
    savings = savings_before(plan.group_id, year_bounds(plan.year)[1]) if keeps_savings(plan.group_id) else None
    return allocate(plan.surplus, basis_points_of(plan), transactions_in(plan.group_id, plan.year), savings)


def booked(plan: ShuPlan) -> Allocation:
    """An accepted plan's allocation as it was booked: its ShuAllocation rows and its journal entry."""
    rows = db.session.scalars(
        select(ShuAllocation).where(ShuAllocation.plan_id == plan.id).order_by(ShuAllocation.member_id)
    ).all()
    members = [MemberShare(r.member_id, r.transactions, r.savings, r.services_part, r.capital_part) for r in rows]
    entry = db.session.get(ledger.JournalEntry, plan.entry_id)
    credited = {p.account.key: -p.amount for p in entry.postings}
    bps = basis_points_of(plan)
    allocation = Allocation(plan.surplus, bps, members)
    allocation.parts = {part: credited.get(shu_account(part), 0) for part in GROUP_PARTS}
    allocation.parts["services"] = sum(m.services_part for m in members)
    allocation.parts["capital"] = sum(m.capital_part for m in members)
    allocation.parts = {part: allocation.parts[part] for part in PARTS}
    allocation.reserve_remainder = allocation.parts["reserve"] - plan.surplus * bps["reserve"] // WHOLE
    allocation.services_to_reserve = bps["services"] > 0 and allocation.parts["services"] == 0
    allocation.capital_to_reserve = bps["capital"] > 0 and allocation.parts["capital"] == 0
    allocation.keeps_savings = any(m.savings for m in members) or keeps_savings(plan.group_id)
    return allocation


def basis_points_of(plan: ShuPlan) -> dict[str, int]:
    """Each part's percent in the plan, in basis points."""
    return {part: getattr(plan, f"{part}_bp") for part in PARTS}


def check_shu() -> list[ledger.Problem]:
    """Each accepted SHU's entry debits the fund by its surplus and credits members what its allocations say."""
    problems = []
    for plan in db.session.scalars(select(ShuPlan).where(ShuPlan.entry_id.is_not(None)).order_by(ShuPlan.id)):
        entry = db.session.get(ledger.JournalEntry, plan.entry_id)
        postings = {p.account.key: p.amount for p in entry.postings}
        members = {
            member_account(a.member_id): -(a.services_part + a.capital_part)
            for a in db.session.scalars(select(ShuAllocation).where(ShuAllocation.plan_id == plan.id))
        }
        booked_members = {k: v for k, v in postings.items() if k.startswith("member:")}
        if postings.get(GROUP_FUND) != plan.surplus or booked_members != {k: v for k, v in members.items() if v}:
            problems.append(
                ledger.Problem(
                    f"SHU {plan.year} of group {plan.group_id}",
                    f"entry {entry.id} does not match its surplus and allocations",
                )
            )
    return problems


ledger.register_check(check_shu)

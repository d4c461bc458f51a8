"""The revenue split: what a completed order earns each member, the group fund and the pool.

When an order completes, its net revenue (paid, less refunds so far, less card
fees) is split line by line under the split policy in force at that moment:

- `contribution`: each line's net goes to the members whose lots supplied it, in
  proportion to quantity x unit price;
- `equal` and `work`: each line's net goes to the group pool, shared out at
  settlement.

Exactly as DESIGN.md says: the group fund's exact share is its percent of the
net, each member's (or the pool's) exact share is their weight's fraction of the
rest; each gets the floor of their exact share and the fund gets everything
left. A line's card fee and earlier refunds are its largest-remainder share of
the order's. Everything is one balanced journal entry per order, with an
Earning row for each part (the detail a member's statement shows).

A refund after completion takes earnings back in the same proportions, by the
same rule, computed on the cumulative refund so that no member ever gives back
more than the order credited them and a whole refund returns every account to
where it was (the group fund bears the card fee that is not returned).
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import func, select

from core import ledger
from core.errors import ValidationFailed
from core.extensions import db
from core.money import split_among_members, split_largest_remainder
from core.types import utcnow
from groups.models import Group, Member, Role
from groups.services import authorize
from revenue.models import Earning, Payout, SplitMethod, SplitPolicy

GROUP_FUND = "group_fund"  # kas kelompok
POOL = "pool"  # revenue waiting to be shared at settlement (equal and work methods)
DEFAULT_METHOD = SplitMethod.contribution
DEFAULT_FUND_BASIS_POINTS = 0


def member_account(member_id: int) -> str:
    """The ledger account of what the group owes a member."""
    return f"member:{member_id}"


# --- the policy ------------------------------------------------------------------------------


def policy_in_force(group_id: int, moment: datetime | None = None) -> SplitPolicy | None:
    """The latest version made at or before `moment` (now by default); None when the group never set one."""
    query = select(SplitPolicy).where(SplitPolicy.group_id == group_id)
    if moment is not None:
        query = query.where(SplitPolicy.created_at <= moment)
    return db.session.scalar(query.order_by(SplitPolicy.version.desc()).limit(1))


def policy_view(group: Group, policy: SplitPolicy | None) -> dict:
    """The policy as the API and pages show it; the default one when the group never set one."""
    if policy is None:
        return {
            "group_id": group.id,
            "version": 0,
            "method": DEFAULT_METHOD.value,
            "group_fund_percent": "0",
            "created_at": None,
            "created_by_id": None,
        }
    return {
        "group_id": group.id,
        "version": policy.version,
        "method": policy.method.value,
        "group_fund_percent": percent_text(policy.fund_basis_points),
        "created_at": policy.created_at,
        "created_by_id": policy.created_by_id,
    }


def percent_text(basis_points: int) -> str:
    """10.5 % as "10.5", 10 % as "10"."""
    value = Decimal(basis_points) / 100
    return format(value.normalize(), "f") if value else "0"


def parse_percent(value) -> int:
    """A percent from 0 to 100 with at most 2 decimals, as basis points; "10,5" and 10.5 both read."""
    if isinstance(value, bool) or value is None:
        raise ValueError
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip().replace(",", ".")
    if not text or len(text) > 12:
        raise ValueError
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError from None
    if not number.is_finite() or number != number.quantize(Decimal("0.01")) or not 0 <= number <= 100:
        raise ValueError
    return int(number * 100)


def set_policy(actor, group: Group, method, group_fund_percent) -> SplitPolicy:
    """Make a new version of the group's split policy, in force from now (coordinator).

    `method` is contribution, equal or work; `group_fund_percent` 0 to 100 with at
    most 2 decimals (a number, or text such as "10,5"). Both are checked at once (422).
    """
    authorize(actor, group, Role.coordinator)
    errors = {}
    try:
        method = SplitMethod(method)
    except ValueError:
        method = None
        errors["method"] = [_("Choose contribution, equal or work.")]
    try:
        basis_points = parse_percent(group_fund_percent)
    except ValueError:
        basis_points = None
        errors["group_fund_percent"] = [_("Give a percent from 0 to 100 with at most 2 decimals.")]
    if errors:
        raise ValidationFailed(errors=errors)
    # Serialise versions per group: the group row is locked, so two changes at once number 1 then 2.
    query = select(Group).where(Group.id == group.id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    db.session.scalar(query)
    latest = db.session.scalar(select(func.max(SplitPolicy.version)).where(SplitPolicy.group_id == group.id)) or 0
    policy = SplitPolicy(
        group_id=group.id,
        version=latest + 1,
        method=method,
        fund_basis_points=basis_points,
        created_by_id=actor.id,
        created_at=utcnow(),
    )
    db.session.add(policy)
    db.session.flush()
    return policy


# --- accrual when an order completes -------------------------------------------------------


@dataclass
class LotShare:
    """Units of a line that came from one member's lot, and their weight (quantity x unit price)."""

    member_id: int
    lot_id: int
    quantity: Decimal
    weight: int


@dataclass
class SaleLine:
    line_id: int
    product_name: str
    total: int
    lots: list[LotShare] = field(default_factory=list)


@dataclass
class Part:
    account: str
    amount: int
    line: SaleLine | None = None
    member_id: int | None = None
    lot: LotShare | None = None
    gross: int = 0  # the part's share of the line's value
    fee_share: int = 0
    refund_share: int = 0


def split_sale(
    lines: list[SaleLine], *, fees: int, refunded: int, method: SplitMethod, fund_percent: Fraction
) -> list[Part]:
    """The parts of an order's net revenue, line by line; they sum to (sum of line totals - fees - refunded)."""
    totals = [line.total for line in lines]
    fee_shares = _spread(fees, totals)
    refund_shares = _spread(refunded, totals)
    parts: list[Part] = []
    for line, fee, back in zip(lines, fee_shares, refund_shares):
        net = line.total - fee - back
        if method == SplitMethod.contribution and line.lots:
            by_member: OrderedDict[int, list[LotShare]] = OrderedDict()
            for lot in line.lots:
                by_member.setdefault(lot.member_id, []).append(lot)
            weights = [sum(lot.weight for lot in lots) for lots in by_member.values()]
            if sum(weights) == 0:
                weights = [len(lots) for lots in by_member.values()]
            fund, member_parts = split_among_members(net, fund_percent, weights)
            lots_in_order = [lot for lots in by_member.values() for lot in lots]
            lot_weights = [lot.weight for lot in lots_in_order]
            shares = {
                id(lot): (g, f, r)
                for lot, g, f, r in zip(
                    lots_in_order,
                    _spread(line.total, lot_weights),
                    _spread(fee, lot_weights),
                    _spread(back, lot_weights),
                )
            }
            for (member_id, lots), amount in zip(by_member.items(), member_parts):
                lot_weights = [lot.weight for lot in lots] if sum(lot.weight for lot in lots) else [1] * len(lots)
                for lot, lot_amount in zip(lots, _spread(amount, lot_weights)):
                    gross, fee_share, refund_share = shares[id(lot)]
                    parts.append(
                        Part(
                            member_account(member_id), lot_amount, line, member_id, lot, gross, fee_share, refund_share
                        )
                    )
        else:
            fund, (pool,) = split_among_members(net, fund_percent, [1])
            parts.append(Part(POOL, pool, line, gross=line.total, fee_share=fee, refund_share=back))
        parts.append(Part(GROUP_FUND, fund, line))
    return parts


def _spread(total: int, weights: list[int]) -> list[int]:
    if total == 0 or not weights:
        return [0] * len(weights)
    if sum(weights) == 0:
        weights = [1] * len(weights)
    return split_largest_remainder(total, weights)


def accrue_sale(
    group_id: int,
    order_id: int,
    lines: list[SaleLine],
    *,
    paid: int,
    refunded: int,
    fees: int,
    actor_id: int | None = None,
    at: datetime | None = None,
) -> ledger.JournalEntry:
    """Credit a completed order's net revenue to members, the pool and the fund, under the policy in force."""
    policy = policy_in_force(group_id, at)
    method = policy.method if policy else DEFAULT_METHOD
    percent = policy.group_fund_percent if policy else Fraction(DEFAULT_FUND_BASIS_POINTS, 100)
    parts = split_sale(lines, fees=fees, refunded=refunded, method=method, fund_percent=percent)
    postings: OrderedDict[str, int] = OrderedDict(
        [(ledger.PAYMENTS_CLEARING, paid), (ledger.REFUNDS, -refunded), (ledger.CARD_FEES, -fees)]
    )
    for part in parts:
        postings[part.account] = postings.get(part.account, 0) - part.amount
    entry = ledger.post(
        group_id,
        "accrual",
        postings,
        source="order",
        source_id=order_id,
        actor_id=actor_id,
        memo=f"order {order_id} completed",
    )
    db.session.flush()
    for part in parts:
        if part.amount == 0 and part.gross == 0:
            continue
        db.session.add(
            Earning(
                group_id=group_id,
                order_id=order_id,
                order_line_id=part.line.line_id if part.line else None,
                product_name=part.line.product_name if part.line else None,
                account=part.account,
                member_id=part.member_id,
                lot_id=part.lot.lot_id if part.lot else None,
                quantity=part.lot.quantity if part.lot else None,
                amount=part.amount,
                gross=part.gross,
                fee_share=part.fee_share,
                refund_share=part.refund_share,
                kind="sale",
                policy_id=policy.id if policy else None,
                entry_id=entry.id,
                created_at=entry.created_at,
            )
        )
    return entry


def lock_group_books(group_id: int) -> None:
    """Keep changes that take money from the group fund or the pool apart, per group (PostgreSQL row lock on
    the group; SQLite writers hold the database's write lock).

    A refund after completion (which takes earnings back from members, the pool
    and the fund) and an SHU acceptance (which spends the fund after checking
    that it holds the surplus) both lock the group row, and so does a settlement
    (which spends the pool): each waits for the other to commit and then reads
    the balances as they are. Without it, an acceptance could check the fund,
    a refund commit a give-back from it, and the acceptance then book a surplus
    the fund no longer holds. FOR NO KEY UPDATE, so that payouts, payments and
    completions, which insert rows referring to the group, neither wait nor
    deadlock; the row is taken after the order's (a refund) and before any
    member's, the order every writer uses.
    """
    query = select(Group.id).where(Group.id == group_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    db.session.scalar(query)


def reverse_for_refund(
    group_id: int, order_id: int, amount: int, refund_id: int, actor_id: int | None = None
) -> ledger.JournalEntry | None:
    """Take back the earnings of a refund made after completion, in the order's proportions.

    Each member's (and the pool's) cumulative give-back is the floor of the
    cumulative refund's exact share of what the order credited them, so it never
    exceeds that (a share of a loss is returned alike); the group fund gives back
    the rest (it also bears the card fee, which the processor keeps).

    It takes money from the group fund and the pool, so it first takes the group's
    books lock (lock_group_books), as an SHU acceptance and a settlement do.
    """
    lock_group_books(group_id)
    accrual = db.session.scalar(
        select(ledger.JournalEntry).where(
            ledger.JournalEntry.source == "order",
            ledger.JournalEntry.source_id == order_id,
            ledger.JournalEntry.kind == "accrual",
        )
    )
    if accrual is None:
        return None
    base = sum(p.amount for p in accrual.postings if p.account.key in (ledger.PAYMENTS_CLEARING, ledger.REFUNDS))
    rows = db.session.execute(
        select(Earning.account, Earning.member_id, Earning.kind, func.sum(Earning.amount))
        .where(Earning.order_id == order_id, Earning.group_id == group_id)
        .group_by(Earning.account, Earning.member_id, Earning.kind)
    ).all()
    credited: OrderedDict[tuple[str, int | None], int] = OrderedDict()
    taken: dict[tuple[str, int | None], int] = {}
    for account, member_id, kind, total in sorted(rows, key=lambda r: (r[0] != POOL, r[0])):
        if account == GROUP_FUND:
            continue
        if kind == "sale":
            credited[(account, member_id)] = credited.get((account, member_id), 0) + int(total)
        else:
            taken[(account, member_id)] = taken.get((account, member_id), 0) - int(total)
    refunded_before = sum(taken.values()) + _fund_taken(order_id, group_id)
    cumulative = refunded_before + amount
    parts: list[tuple[str, int | None, int]] = []
    for key, credit in credited.items():
        target = (cumulative * credit) // base if base > 0 else 0
        # A negative credit (a share of an order completed at a loss) comes back the same way, towards zero.
        give = (min(target, credit) if credit >= 0 else max(target, credit)) - taken.get(key, 0)
        if give:
            parts.append((key[0], key[1], give))
    fund = amount - sum(give for _a, _m, give in parts)
    if fund:
        parts.append((GROUP_FUND, None, fund))
    postings = [(account, give) for account, _member, give in parts] + [(ledger.REFUNDS, -amount)]
    entry = ledger.post(
        group_id,
        "refund_reversal",
        postings,
        source="refund",
        source_id=refund_id,
        actor_id=actor_id,
        memo=f"order {order_id}: earnings taken back for a refund",
    )
    db.session.flush()
    for account, member_id, give in parts:
        db.session.add(
            Earning(
                group_id=group_id,
                order_id=order_id,
                account=account,
                member_id=member_id,
                amount=-give,
                kind="refund",
                entry_id=entry.id,
                created_at=entry.created_at,
            )
        )
    return entry


def _fund_taken(order_id: int, group_id: int) -> int:
    return -int(
        db.session.scalar(
            select(func.coalesce(func.sum(Earning.amount), 0)).where(
                Earning.order_id == order_id,
                Earning.group_id == group_id,
                Earning.account == GROUP_FUND,
                Earning.kind == "refund",
            )
        )
        or 0
    )


# --- balances --------------------------------------------------------------------------------


def balances(group: Group) -> dict:
    """Each member's earned, paid out and balance, with the group fund and the pool (whole rupiah)."""
    sums = ledger.balances(group.id)
    members = db.session.scalars(select(Member).where(Member.group_id == group.id).order_by(Member.id)).all()
    paid = dict(
        db.session.execute(
            select(Payout.member_id, func.sum(Payout.amount))
            .where(Payout.group_id == group.id)
            .group_by(Payout.member_id)
        ).all()
    )
    rows = []
    for member in members:
        balance = -sums.get(member_account(member.id), 0)
        paid_out = int(paid.get(member.id, 0) or 0)
        # Credited from sales and pool shares less refunds (the Earning rows), and from SHU parts:
        # everything the member's account received, which is their balance plus what was paid out.
        rows.append(
            {
                "member_id": member.id,
                "name": member.name,
                "active": member.active,
                "earned": balance + paid_out,
                "paid_out": paid_out,
                "balance": balance,
            }
        )
    return {"group_id": group.id, "members": rows, "group_fund": -sums.get(GROUP_FUND, 0), "pool": -sums.get(POOL, 0)}


def earnings_of(user) -> list[dict]:
    """A member's own balances in every group they belong to."""
    memberships = db.session.scalars(select(Member).where(Member.user_id == user.id).order_by(Member.id)).all()
    result = []
    for member in memberships:
        group = db.session.get(Group, member.group_id)
        row = next(r for r in balances(group)["members"] if r["member_id"] == member.id)
        result.append({"group_id": group.id, "group_name": group.name, **row})
    return result


def check_earnings() -> list[ledger.Problem]:
    """Every accrual's and reversal's Earning rows add up to the credits its entry made."""
    problems = []
    by_entry = dict(
        db.session.execute(select(Earning.entry_id, func.sum(Earning.amount)).group_by(Earning.entry_id)).all()
    )
    for entry in db.session.scalars(
        select(ledger.JournalEntry).where(ledger.JournalEntry.kind.in_(("accrual", "refund_reversal")))
    ):
        booked = -sum(
            p.amount
            for p in entry.postings
            if p.account.key in (GROUP_FUND, POOL) or p.account.key.startswith("member:")
        )
        if booked != int(by_entry.get(entry.id, 0) or 0):
            problems.append(
                ledger.Problem(
                    f"entry {entry.id}",
                    f"credits {booked} to earnings, its earning rows say {by_entry.get(entry.id, 0)}",
                )
            )
    return problems


ledger.register_check(check_earnings)

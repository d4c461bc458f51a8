"""Settling a period: the pool shared out and every member's statement frozen.

Under the `equal` and `work` methods the pool is shared among the members active
in the period, equally or by the work they logged; each gets the floor of their
exact share and the group fund what is left, in one balanced entry (of at most
MAX_AMOUNT: a pool above it is shared over the settlements that follow). Periods are
settled in order, each after the last one settled, and only once they have ended.
"""

from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, literal, or_, select, union_all

from core import ledger
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.formatting import format_day
from core.ledger import Account, JournalEntry, Posting
from core.money import MAX_AMOUNT, split_among_members
from core.quantity import to_milli
from groups.models import Group, Member, Role
from groups.services import authorize
from revenue.models import Earning, Settlement, SplitMethod, Statement
from revenue.services import accrual as revenue
from revenue.services.accrual import GROUP_FUND, POOL, member_account
from revenue.services.settlements import periods, statements
from revenue.services.settlements.periods import day_start, errors_of, lock_group, read_day
from revenue.services.settlements.statements import MEMBER_KEY, StatementTotals, prove, statement_totals
from revenue.services.settlements.worklogs import work_in


def read_period(start_value, end_value) -> tuple[date, date]:
    """A period that has ended: first and last day (WIB), or 422s."""
    found: dict = {}
    errors: dict = {}
    errors_of(found, errors, "start", lambda: read_day(start_value, "period_start"))
    errors_of(found, errors, "end", lambda: read_day(end_value, "period_end"))
    if not errors:
        if found["start"] > found["end"]:
            errors["period_end"] = [_("The period must end on or after its first day.")]
        elif found["end"] >= periods.today_wib():
            errors["period_end"] = [
                _("Only a period that has ended can be settled: its last day must be before today.")
            ]
    if errors:
        raise ValidationFailed(errors=errors)
    return found["start"], found["end"]


def members_active_in(group_id: int, start: date, end: date) -> list[Member]:
    """Members who joined before the period ended and were not deactivated before it began."""
    return list(
        db.session.scalars(
            select(Member)
            .where(
                Member.group_id == group_id,
                Member.joined_at < day_start(end + timedelta(days=1)),
                or_(Member.active.is_(True), Member.deactivated_at >= day_start(start)),
            )
            .order_by(Member.id)
        )
    )


def _shares(
    group_id: int, method: SplitMethod, start: date, end: date
) -> tuple[SplitMethod | None, dict[int, int], dict[int, Decimal]]:
    """How the pool is shared: (by what, weight per member, units per member for `work`)."""
    if method == SplitMethod.work:
        units = {m: u for m, u in work_in(group_id, start, end).items() if u > 0}
        if units:
            return SplitMethod.work, {m: to_milli(units[m]) for m in sorted(units)}, units
    weights = {member.id: 1 for member in members_active_in(group_id, start, end)}
    return (SplitMethod.equal if weights else None), weights, {}


def settle(actor, group: Group, period_start, period_end) -> Settlement:
    """Close a period (coordinator): share the pool and freeze every member's statement.

    The period's first and last day are dates or "YYYY-MM-DD" (WIB); its last day is before today.
    """
    authorize(actor, group, Role.coordinator)
    start, end = read_period(period_start, period_end)
    lock_group(group)
    earlier = db.session.scalar(
        select(Settlement)
        .where(Settlement.group_id == group.id, Settlement.period_start <= end, Settlement.period_end >= start)
        .order_by(Settlement.period_start)
        .limit(1)
    )
    if earlier is not None:
        raise Conflict(
            _l(
                "This period overlaps the one settled from %(start)s to %(end)s.",
                start=format_day(earlier.period_start),
                end=format_day(earlier.period_end),
            ),
            {"period_start": [_("Choose a period after the last one settled.")]},
        )
    last = db.session.scalar(select(func.max(Settlement.period_end)).where(Settlement.group_id == group.id))
    if last is not None and start <= last:
        # A pool shared into an earlier period would change balances that a later statement froze.
        raise Conflict(
            _l("Periods are settled in order: the last one settled ends on %(end)s.", end=format_day(last)),
            {"period_start": [_("Choose a period after the last one settled.")]},
        )
    policy = revenue.policy_in_force(group.id)
    method = policy.method if policy else revenue.DEFAULT_METHOD
    # One settlement shares at most the ceiling of any one amount; anything above it stays in the pool for the next.
    pool = min(-int(ledger.balance(group.id, POOL)), MAX_AMOUNT)
    shared_by, weights, units = _shares(group.id, method, start, end) if pool > 0 else (None, {}, {})
    entry, parts, fund = None, {}, 0
    if shared_by is not None:
        fund, amounts = split_among_members(pool, 0, list(weights.values()))
        parts = dict(zip(weights, amounts))
        postings = [(POOL, pool)] + [(member_account(m), -a) for m, a in parts.items()] + [(GROUP_FUND, -fund)]
        entry = ledger.post(
            group.id,
            "settlement",
            postings,
            source="settlement",
            actor_id=actor.id,
            memo=f"pool shared {shared_by.value} for {start.isoformat()} to {end.isoformat()}",
        )
        db.session.flush()
    settlement = Settlement(
        group_id=group.id,
        period_start=start,
        period_end=end,
        method=method,
        shared_by=shared_by,
        pool_amount=pool,
        entry_id=entry.id if entry else None,
        created_by_id=actor.id,
    )
    db.session.add(settlement)
    db.session.flush()
    if entry is not None:
        policy_id = policy.id if policy else None
        db.session.add_all(
            [
                Earning(
                    group_id=group.id,
                    account=member_account(m),
                    member_id=m,
                    amount=amount,
                    quantity=units.get(m),
                    kind="pool_share",
                    policy_id=policy_id,
                    entry_id=entry.id,
                    created_at=entry.created_at,
                )
                for m, amount in parts.items()
            ]
        )
        if fund:
            db.session.add(
                Earning(
                    group_id=group.id,
                    account=GROUP_FUND,
                    amount=fund,
                    kind="pool_share",
                    policy_id=policy_id,
                    entry_id=entry.id,
                    created_at=entry.created_at,
                )
            )
        db.session.flush()
    _freeze_statements(group, settlement)
    return settlement


def _freeze_statements(group: Group, settlement: Settlement) -> None:
    """A Statement for every member with anything in the period or a balance, proven against the books."""
    start, end = settlement.period_start, settlement.period_end
    totals = statement_totals(group.id, start, end, balances=settlement_balances(group.id, start, end))
    for member_id, count, amount, fees, fund in statements.sale_sums(group.id, start, end):
        totals.setdefault(member_id, StatementTotals(member_id)).add_sales(count, amount, fees, fund)
    members = set(db.session.scalars(select(Member.id).where(Member.group_id == group.id)))
    rows = [
        {
            "settlement_id": settlement.id,
            "group_id": group.id,
            "member_id": t.member_id,
            "opening": t.opening,
            "sales": t.sales,
            "pool_share": t.pool_share,
            "shu": t.shu,
            "refunds": t.refunds,
            "fund_deductions": t.fund_deductions,
            "fees": t.fees,
            "payouts": t.payouts,
            "closing": t.closing,
            "sale_lines": t.sale_lines,
            "detail": t.detail_json(),
        }
        for member_id, t in sorted(totals.items())
        if t.touched and member_id in members
    ]
    if rows:
        db.session.execute(insert(Statement), rows)
    prove(totals.values())  # the proof, once every figure is in: a refusal rolls all of it back


def settlement_balances(group_id: int, start: date, end: date) -> dict[int, list[int]]:
    """Each member's balance before `start` and after `end` in the books, for settling that period: what
    member_balances_at gives, without reading the period's postings twice.

    At the end: the member account's whole balance, less what is attributed after the end (recent, so few
    rows). At the start: the closing balance of the group's last settled period before it (proven when it was
    settled, and a settled period's postings cannot change), plus what is attributed between that period and
    `start`; with no settlement before, everything attributed before `start`. One statement, so on PostgreSQL
    every part sees the same committed postings."""
    accounts = dict(
        db.session.execute(
            select(Account.id, Account.key).where(Account.group_id == group_id, Account.key.like("member:%"))
        ).all()
    )
    member_of = {}
    for account_id, key in accounts.items():
        match = MEMBER_KEY.fullmatch(key)
        if match:
            member_of[account_id] = int(match.group(1))
    previous = db.session.scalar(
        select(Settlement)
        .where(Settlement.group_id == group_id, Settlement.period_end < start)
        .order_by(Settlement.period_end.desc())
        .limit(1)
    )
    if (
        previous is not None
        and db.session.scalar(
            select(Settlement.id)
            .where(
                Settlement.group_id == group_id,
                Settlement.id > previous.id,
                Settlement.period_end <= previous.period_end,
            )
            .limit(1)
        )
        is not None
    ):
        # Settled out of order (before periods were settled in order): its frozen closing may be short of a pool
        # shared into it later, so read every posting instead.
        return statements.member_balances_at(group_id, [start, end + timedelta(days=1)])
    found = {member_id: [0, 0] for member_id in member_of.values()}
    if previous is not None:
        for member_id, closing in db.session.execute(
            select(Statement.member_id, Statement.closing).where(Statement.settlement_id == previous.id)
        ):
            found.setdefault(member_id, [0, 0])[0] = closing
    if not member_of:
        return found
    ids = list(member_of)
    after_end = end + timedelta(days=1)
    since = previous.period_end + timedelta(days=1) if previous is not None else None

    def attributed(tag: int, first: date | None, before: date | None, sign: int):
        """Postings of member accounts attributed to [first, before) (open ends when None), tagged."""
        made = [JournalEntry.created_at >= day_start(first)] if first else []
        made += [JournalEntry.created_at < day_start(before)] if before else []
        ended = [Settlement.period_end >= first] if first else []
        ended += [Settlement.period_end < before] if before else []
        plain = (
            select(Posting.account_id, literal(tag).label("tag"), (Posting.amount * sign).label("amount"))
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .outerjoin(Settlement, Settlement.entry_id == JournalEntry.id)
            .where(Posting.account_id.in_(ids), Settlement.id.is_(None), *made)
        )
        shares = (
            select(Posting.account_id, literal(tag).label("tag"), (Posting.amount * sign).label("amount"))
            .join(Settlement, Settlement.entry_id == Posting.entry_id)
            .where(Posting.account_id.in_(ids), Settlement.group_id == group_id, *ended)
        )
        return [plain, shares]

    whole = (
        select(Posting.account_id, literal(1).label("tag"), func.sum(Posting.amount).label("amount"))
        .where(Posting.account_id.in_(ids))
        .group_by(Posting.account_id)
    )  # summed first: 20 rows, not 100,000
    parts = [whole, *attributed(1, after_end, None, -1)]
    if since is None or since < start:
        parts += attributed(0, since, start, 1)
    rows = union_all(*parts).subquery()
    for account_id, tag, total in db.session.execute(
        select(rows.c.account_id, rows.c.tag, func.sum(rows.c.amount)).group_by(rows.c.account_id, rows.c.tag)
    ):
        found[member_of[account_id]][tag] -= int(total or 0)
    return found

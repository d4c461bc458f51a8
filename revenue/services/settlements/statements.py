"""Members' statements: each member's figures for a range, from the books, and the proof that they hold.

A statement is the opening balance, sales (with the group fund's deductions and
card fees taken before them), pool shares, SHU, refunds, payouts and the closing
balance, with every line behind them. Money belongs to a day by the moment its
journal entry was made, except a settlement's pool shares, which belong to its
period (attributed_before). The closing balance computed from the records must
equal the member's balance in the books (prove).
"""

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, func, or_, select, text

from core.errors import AppError
from core.extensions import db
from core.ledger import Account, JournalEntry, Posting
from core.quantity import format_quantity
from core.types import UtcDateTime
from revenue.models import Earning, Payout, Settlement, ShuAllocation, ShuPlan
from revenue.services.accrual import member_account
from revenue.services.settlements.periods import day_start, wib_day

MEMBER_KEY = re.compile(r"member:(\d+)", re.ASCII)


class BooksDisagree(AppError):
    """A statement whose records do not add up to the member's balance in the books; nothing is settled."""

    code = 500
    default_message = _l(
        "A statement does not agree with the books, so nothing was settled. Run "
        "`flask ledger check` and tell the administrator."
    )


@dataclass
class StatementTotals:
    """One member's figures for a range, and the small lists behind them; sale lines are read separately."""

    member_id: int
    opening: int = 0
    sales: int = 0
    pool_share: int = 0
    shu: int = 0
    refunds: int = 0
    fund_deductions: int = 0
    fees: int = 0
    payouts: int = 0
    balance_at_end: int = 0  # the ledger's, to prove `closing` against
    sale_lines: int = 0
    refund_lines: list = field(default_factory=list)
    pool_lines: list = field(default_factory=list)
    shu_lines: list = field(default_factory=list)
    payout_lines: list = field(default_factory=list)

    def add_sales(self, count, amount, fees, fund) -> None:
        self.sale_lines, self.sales, self.fees, self.fund_deductions = (int(count), int(amount), int(fees), int(fund))

    @property
    def closing(self) -> int:
        return self.opening + self.sales + self.pool_share + self.shu - self.refunds - self.payouts

    @property
    def touched(self) -> bool:
        return bool(
            self.opening
            or self.balance_at_end
            or self.sale_lines
            or self.refund_lines
            or self.pool_lines
            or self.shu_lines
            or self.payout_lines
        )

    def detail(self, sale_lines: list[dict]) -> dict:
        return {
            "sales": sale_lines,
            "refunds": self.refund_lines,
            "pool_shares": self.pool_lines,
            "shu": self.shu_lines,
            "payouts": self.payout_lines,
        }

    def detail_json(self) -> str:
        """The detail as a frozen statement keeps it: every list but the sale lines (read from the earnings)."""
        kept = self.detail([])
        del kept["sales"]
        return json.dumps(kept, ensure_ascii=False, separators=(",", ":"))


def attributed_before(day: date):
    """A journal entry counts before `day` when it was made before the day began (WIB); a settlement's entry
    when its period ended before the day."""
    return or_(
        and_(Settlement.id.is_(None), JournalEntry.created_at < day_start(day)),
        and_(Settlement.id.is_not(None), Settlement.period_end < day),
    )


def _made_in(start: date, end: date):
    return and_(
        JournalEntry.created_at >= day_start(start), JournalEntry.created_at < day_start(end + timedelta(days=1))
    )


def member_balances_at(group_id: int, days: list[date], member_ids=None) -> dict[int, list[int]]:
    """Each member's balance (what the group owes them) before each of `days` began, from the ledger."""
    sums = [func.sum(case((attributed_before(day), Posting.amount), else_=0)) for day in days]
    query = (
        select(Account.key, *sums)
        .join(Posting, Posting.account_id == Account.id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .outerjoin(Settlement, Settlement.entry_id == JournalEntry.id)
        .where(Account.group_id == group_id)
        .group_by(Account.key)
    )
    if member_ids is None:
        query = query.where(Account.key.like("member:%"))
    else:
        query = query.where(Account.key.in_([member_account(m) for m in member_ids]))
    found = {}
    for key, *totals in db.session.execute(query):
        match = MEMBER_KEY.fullmatch(key)
        if match:
            found[int(match.group(1))] = [-int(total or 0) for total in totals]
    return found


def statement_totals(
    group_id: int, start: date, end: date, member_ids=None, balances=None
) -> dict[int, StatementTotals]:
    """Every member's (or the given members') statement figures for the period, summed in SQL, but for their
    sales: those come from sale_sums, or with the sale lines (sale_lines_json). `balances` gives the members'
    balances at the start and after the end when the caller has them."""
    totals: dict[int, StatementTotals] = {}

    def of(member_id: int) -> StatementTotals:
        if member_id not in totals:
            totals[member_id] = StatementTotals(member_id)
        return totals[member_id]

    def only(column):
        return column.in_(list(member_ids)) if member_ids is not None else column.is_not(None)

    if balances is None:
        balances = member_balances_at(group_id, [start, end + timedelta(days=1)], member_ids)
    for member_id, (opening, at_end) in balances.items():
        t = of(member_id)
        t.opening, t.balance_at_end = opening, at_end
    for member_id, order_id, amount, made in db.session.execute(
        select(Earning.member_id, Earning.order_id, Earning.amount, JournalEntry.created_at)
        .join(JournalEntry, JournalEntry.id == Earning.entry_id)
        .where(
            Earning.group_id == group_id,
            only(Earning.member_id),
            Earning.kind == "refund",
            JournalEntry.kind == "refund_reversal",
            _made_in(start, end),
        )
        .order_by(Earning.id)
    ):
        t = of(member_id)
        t.refunds -= amount
        t.refund_lines.append({"order_id": order_id, "amount": -amount, "date": wib_day(made).isoformat()})
    _pool_shares(group_id, start, end, only, of)
    for member_id, plan_id, year, services_part, capital_part, made in db.session.execute(
        select(
            ShuAllocation.member_id,
            ShuPlan.id,
            ShuPlan.year,
            ShuAllocation.services_part,
            ShuAllocation.capital_part,
            JournalEntry.created_at,
        )
        .join(ShuPlan, ShuPlan.id == ShuAllocation.plan_id)
        .join(JournalEntry, JournalEntry.id == ShuPlan.entry_id)
        .where(ShuPlan.group_id == group_id, only(ShuAllocation.member_id), _made_in(start, end))
        .order_by(ShuAllocation.id)
    ):
        t = of(member_id)
        t.shu += services_part + capital_part
        t.shu_lines.append(
            {
                "plan_id": plan_id,
                "year": year,
                "services": services_part,
                "capital": capital_part,
                "amount": services_part + capital_part,
                "date": wib_day(made).isoformat(),
            }
        )
    for payout_id, member_id, amount, method, reference, reverses_id, made in db.session.execute(
        select(
            Payout.id,
            Payout.member_id,
            Payout.amount,
            Payout.method,
            Payout.reference,
            Payout.reverses_id,
            JournalEntry.created_at,
        )
        .join(JournalEntry, JournalEntry.id == Payout.entry_id)
        .where(Payout.group_id == group_id, only(Payout.member_id), _made_in(start, end))
        .order_by(Payout.id)
    ):
        t = of(member_id)
        t.payouts += amount
        t.payout_lines.append(
            {
                "payout_id": payout_id,
                "amount": amount,
                "method": method.value,
                "reference": reference,
                "reverses_id": reverses_id,
                "date": wib_day(made).isoformat(),
            }
        )
    return totals


def _pool_shares(group_id: int, start: date, end: date, only, of) -> None:
    """Pool shares of the settlements whose periods end in the range, with the units behind each."""
    shared = (
        select(
            Earning.member_id,
            Earning.amount,
            Earning.quantity,
            Earning.entry_id,
            Settlement.id,
            Settlement.period_start,
            Settlement.period_end,
            Settlement.shared_by,
        )
        .join(Settlement, Settlement.entry_id == Earning.entry_id)
        .where(
            Settlement.group_id == group_id,
            Earning.kind == "pool_share",
            only(Earning.member_id),
            Settlement.period_end >= start,
            Settlement.period_end <= end,
        )
        .order_by(Settlement.period_end, Earning.id)
    )
    rows = db.session.execute(shared).all()
    if not rows:
        return
    whole, sharing = {}, {}
    for entry_id, units, count in db.session.execute(
        select(Earning.entry_id, func.sum(Earning.quantity), func.count())
        .where(
            Earning.entry_id.in_({row.entry_id for row in rows}),
            Earning.kind == "pool_share",
            Earning.member_id.is_not(None),
        )
        .group_by(Earning.entry_id)
    ):
        whole[entry_id], sharing[entry_id] = units, count
    for member_id, amount, units, entry_id, settlement_id, period_start, period_end, shared_by in rows:
        t = of(member_id)
        t.pool_share += amount
        t.pool_lines.append(
            {
                "settlement_id": settlement_id,
                "period_start": period_start.isoformat(),
                "period_end": period_end.isoformat(),
                "shared_by": shared_by.value if shared_by else None,
                "units": format_quantity(units) if units is not None else None,
                "total_units": format_quantity(whole[entry_id]) if units is not None and whole.get(entry_id) else None,
                "members": int(sharing.get(entry_id, 0)),
                "amount": amount,
                "date": period_end.isoformat(),
            }
        )


# Sale lines are read as rows of values under their column names, which the database writes as one JSON array
# per member (a third of the size of objects, and cheaper to make), so reading a hundred thousand lines never
# turns each into a Python object before it is shown (sale_line_objects). The quantity is in thousandths.
# Statements frozen before their lines were read from the earnings keep such an array in their detail.
SALE_COLUMNS = (
    "order_id",
    "order_line_id",
    "product",
    "quantity_milli",
    "lot_id",
    "gross",
    "fee",
    "refunded",
    "amount",
    "date",
)
_LINE_VALUES = (
    "e.order_id, e.order_line_id, e.product_name, e.quantity, e.lot_id, e.gross, e.fee_share, "
    "e.refund_share, e.amount, {day}"
)
# An Earning is stamped with its journal entry's moment (checked by check_settlements), so a period's sales are
# found in the earnings alone.
_LINES_WHERE = (
    "e.group_id = :group_id AND e.kind = 'sale' AND e.member_id IS NOT NULL "
    "AND e.created_at >= :start AND e.created_at < :end{members}"
)
_LINE_SUMS = "count(*), sum(e.amount), sum(e.fee_share), sum(e.gross - e.fee_share - e.refund_share - e.amount)"
_SALE_SUMS_SQL = f"SELECT e.member_id, {_LINE_SUMS} FROM earnings e WHERE {_LINES_WHERE} GROUP BY e.member_id"
# The order of the members, and of the lines within a member, is not relied on: lines are sorted when read.
_SALE_LINES_SQL = {
    "postgresql": (
        "SELECT e.member_id, {sums}, CAST(json_agg(json_build_array({values})) AS TEXT) "
        "FROM earnings e WHERE {where} GROUP BY e.member_id"
    ).format(
        sums=_LINE_SUMS,
        where=_LINES_WHERE,
        values=_LINE_VALUES.format(day="to_char(e.created_at AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD')"),
    ),
    "sqlite": (
        "SELECT e.member_id, {sums}, json_group_array(json_array({values})) "
        "FROM earnings e WHERE {where} GROUP BY e.member_id ORDER BY e.member_id"
    ).format(
        sums=_LINE_SUMS,
        where=_LINES_WHERE,
        values=_LINE_VALUES.format(day="strftime('%Y-%m-%d', e.created_at, '+7 hours')"),
    ),
}


def _lines_query(sql: str, group_id: int, start: date, end: date, member_ids=None):
    members = " AND e.member_id IN :members" if member_ids is not None else ""
    query = text(sql.replace("{members}", members)).bindparams(
        bindparam("start", type_=UtcDateTime()), bindparam("end", type_=UtcDateTime())
    )
    params = {"group_id": group_id, "start": day_start(start), "end": day_start(end + timedelta(days=1))}
    if member_ids is not None:
        query = query.bindparams(bindparam("members", expanding=True))
        params["members"] = list(member_ids)
    return db.session.connection().execute(query, params)


def sale_sums(group_id: int, start: date, end: date, member_ids=None):
    """Each member's sales in the period, summed in one query: (member_id, lines, amount, card fees, fund
    deductions)."""
    yield from _lines_query(_SALE_SUMS_SQL, group_id, start, end, member_ids)


def sale_lines_json(group_id: int, start: date, end: date, member_ids=None):
    """Each member's sales in the period, in one query: (member_id, lines, amount, card fees, fund deductions,
    the lines as a JSON array of SALE_COLUMNS rows (text))."""
    yield from _lines_query(_SALE_LINES_SQL[db.session.get_bind().dialect.name], group_id, start, end, member_ids)


def milli_text(milli: int | None) -> str | None:
    """Stored thousandths as a quantity's text: 2500 -> "2.5", 3000 -> "3" (as format_quantity)."""
    if milli is None:
        return None
    whole, part = divmod(abs(milli), 1000)
    text_ = f"{whole}.{part:03d}".rstrip("0") if part else str(whole)
    return "-" + text_ if milli < 0 else text_


def sale_line_objects(rows: list[list]) -> list[dict]:
    """Stored sale rows as the lines a statement shows, by day, order and line."""
    lines = []
    for order_id, line_id, product, quantity, lot_id, gross, fee, refunded, amount, day in rows:
        lines.append(
            {
                "order_id": order_id,
                "order_line_id": line_id,
                "product": product,
                "quantity": milli_text(quantity),
                "lot_id": lot_id,
                "gross": gross,
                "fee": fee,
                "refunded": refunded,
                "fund_deduction": gross - fee - refunded - amount,
                "amount": amount,
                "date": day,
            }
        )
    return sorted(
        lines, key=lambda line: (line["date"], line["order_id"], line["order_line_id"] or 0, line["lot_id"] or 0)
    )


def prove(totals) -> None:
    """Each closing balance, computed from the records, equals the member's balance in the books."""
    wrong = [t.member_id for t in totals if t.closing != t.balance_at_end]
    if wrong:
        raise BooksDisagree(errors={"members": wrong})

"""Reading statements and settlements: who may see a statement, live or frozen, as JSON or CSV.

A frozen statement keeps its figures and the count and sums of its sale lines;
its lines are read again from the member's earnings of the period and checked
against what it froze.
"""

import json
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core.csvsafe import csv_text
from core.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from core.extensions import db
from core.money import format_rupiah
from core.validation import row_by_id
from groups.models import Group, Member, Role
from groups.services import authorize, membership
from revenue.models import Earning, Settlement, SplitMethod, Statement
from revenue.services.accrual import GROUP_FUND
from revenue.services.settlements import periods, statements
from revenue.services.settlements.periods import errors_of, read_day, wib_day
from revenue.services.settlements.statements import (
    SALE_COLUMNS,
    BooksDisagree,
    StatementTotals,
    prove,
    sale_line_objects,
    statement_totals,
)


def statement_viewer(viewer, group: Group, member_id: int) -> Member:
    """The member whose statement is asked for, if `viewer` may see it: the member themself (the record linked
    to their account), or the group's coordinator or treasurer. Otherwise 403 (404 for no such member)."""
    if not viewer.is_authenticated:
        raise Unauthorized()
    own = membership(group, viewer)
    member = row_by_id(Member, member_id)
    if member is None or member.group_id != group.id:
        if own is None:
            raise Forbidden(_l("Only members of this group may do that."))
        raise NotFound(_l("Member not found."))
    if member.user_id is not None and member.user_id == viewer.id:
        return member
    if own is not None and own.role in (Role.coordinator, Role.treasurer):
        return member
    raise Forbidden(_l("You can see only your own statement."))


def default_range(group: Group, member: Member) -> tuple[date, date]:
    """Since the day after the group's last settled period (or the member joining), to today."""
    last = db.session.scalar(select(func.max(Settlement.period_end)).where(Settlement.group_id == group.id))
    today = periods.today_wib()
    start = last + timedelta(days=1) if last is not None else wib_day(member.joined_at)
    return min(start, today), today


def read_range(start_value, end_value, group: Group, member: Member) -> tuple[date, date]:
    """A statement's range from the query string; either end defaults (see default_range)."""
    default_start, default_end = default_range(group, member)
    found: dict = {}
    errors: dict = {}
    errors_of(found, errors, "start", lambda: read_day(start_value, "from") if start_value else default_start)
    errors_of(found, errors, "end", lambda: read_day(end_value, "to") if end_value else default_end)
    if not errors and found["start"] > found["end"]:
        errors["to"] = [_("The range must end on or after its first day.")]
    if errors:
        raise ValidationFailed(errors=errors)
    return found["start"], found["end"]


def live_statement(group: Group, member: Member, start: date, end: date) -> dict:
    """A member's statement for any range, built now, in the same shape as a frozen one."""
    for attempt in (1, 2):
        totals = statement_totals(group.id, start, end, [member.id]).get(member.id) or StatementTotals(member.id)
        lines = []
        for _member, count, amount, fees, fund, text_ in statements.sale_lines_json(group.id, start, end, [member.id]):
            totals.add_sales(count, amount, fees, fund)
            lines = sale_line_objects(json.loads(text_))
        try:
            prove([totals])
        except BooksDisagree:
            if attempt == 2:  # once more: a write committed between the queries (PostgreSQL) is then seen by all
                raise
            continue
        break
    return _statement_view(group, member, start, end, totals, totals.detail(lines))


def frozen_statement(group: Group, member: Member, settlement_id) -> dict:
    """A member's statement as a settlement froze it, its sale lines read from the earnings and checked against
    the frozen figures."""
    settlement = get_settlement_or_404(group, settlement_id)
    row = db.session.scalar(
        select(Statement).where(Statement.settlement_id == settlement.id, Statement.member_id == member.id)
    )
    if row is None:
        raise NotFound(
            _l("This settlement has no statement for %(name)s: nothing happened in their account.", name=member.name)
        )
    detail = json.loads(row.detail)
    if row.sale_lines is None:  # frozen with its sale lines in the detail
        if detail.pop("sale_columns", None) != list(SALE_COLUMNS):
            raise ValueError(f"statement {row.id} keeps its sale lines under columns this version does not know")
        detail["sales"] = sale_line_objects(detail["sales"])
    else:
        found, lines = (0, 0, 0, 0), []
        for _member, count, amount, fees, fund, text_ in statements.sale_lines_json(
            group.id, settlement.period_start, settlement.period_end, [member.id]
        ):
            found, lines = (int(count), int(amount), int(fees), int(fund)), json.loads(text_)
        if found != (row.sale_lines, row.sales, row.fees, row.fund_deductions):
            current_app.logger.error(
                "statement %s: its sale lines now come to %s, frozen as %s",
                row.id,
                found,
                (row.sale_lines, row.sales, row.fees, row.fund_deductions),
            )
            raise BooksDisagree(errors={"members": [member.id]})
        detail = {"sales": sale_line_objects(lines), **detail}
    return _statement_view(
        group,
        member,
        settlement.period_start,
        settlement.period_end,
        row,
        detail,
        settlement=settlement,
        created_at=row.created_at,
    )


def _statement_view(
    group: Group,
    member: Member,
    start: date,
    end: date,
    totals,
    detail: dict,
    settlement: Settlement | None = None,
    created_at: datetime | None = None,
) -> dict:
    return {
        "group_id": group.id,
        "member_id": member.id,
        "member_name": member.name,
        "settlement_id": settlement.id if settlement else None,
        "period_start": start,
        "period_end": end,
        "opening": totals.opening,
        "sales": totals.sales,
        "pool_share": totals.pool_share,
        "shu": totals.shu,
        "refunds": totals.refunds,
        "fund_deductions": totals.fund_deductions,
        "fees": totals.fees,
        "payouts": totals.payouts,
        "closing": totals.closing,
        "detail": detail,
        "frozen_at": created_at,
    }


CSV_COLUMNS = ("kind", "date", "order_id", "product", "quantity", "lot_id", "gross", "fee", "fund_deduction", "amount")


def statement_csv(view: dict) -> str:
    """The statement as CSV: opening, each line (amount signed as it moves the balance), closing.

    Names and references are text cells, neutralised where they would start a formula (core.csvsafe); amounts
    are numbers.
    """
    rows: list[list] = [list(CSV_COLUMNS)]
    empty = [""] * 7
    rows.append(["opening", view["period_start"].isoformat(), *empty, view["opening"]])
    detail = view["detail"]
    for line in detail["sales"]:
        rows.append(
            [
                "sale",
                line["date"],
                line["order_id"],
                line["product"] or "",
                line["quantity"] or "",
                line["lot_id"] or "",
                line["gross"],
                line["fee"],
                line["fund_deduction"],
                line["amount"],
            ]
        )
    for line in detail["pool_shares"]:
        rows.append(["pool_share", line["date"], "", "", line["units"] or "", "", "", "", "", line["amount"]])
    for line in detail["shu"]:
        rows.append(["shu", line["date"], "", f"SHU {line['year']}", "", "", "", "", "", line["amount"]])
    for line in detail["refunds"]:
        rows.append(["refund", line["date"], line["order_id"], "", "", "", "", "", "", -line["amount"]])
    for line in detail["payouts"]:
        rows.append(["payout", line["date"], "", line["reference"] or "", "", "", "", "", "", -line["amount"]])
    rows.append(["closing", view["period_end"].isoformat(), *empty, view["closing"]])
    return csv_text(rows)


def get_settlement_or_404(group: Group, settlement_id) -> Settlement:
    """The group's settlement; another group's is as unknown as a missing one (404)."""
    settlement = row_by_id(Settlement, settlement_id)
    if settlement is None or settlement.group_id != group.id:
        raise NotFound(_l("Settlement not found."))
    return settlement


def settlements_query(viewer, group: Group):
    """The group's settlements, latest period first (coordinator, treasurer)."""
    authorize(viewer, group, Role.coordinator, Role.treasurer)
    return select(Settlement).where(Settlement.group_id == group.id).order_by(Settlement.period_start.desc())


def settlement_views(settlements: list[Settlement]) -> list[dict]:
    """Settlements with what members and the fund got, and each member's statement figures (no lines)."""
    if not settlements:
        return []
    ids = [s.id for s in settlements]
    entry_ids = [s.entry_id for s in settlements if s.entry_id is not None]
    fund_parts = (
        dict(
            db.session.execute(
                select(Earning.entry_id, func.sum(Earning.amount))
                .where(Earning.entry_id.in_(entry_ids), Earning.kind == "pool_share", Earning.account == GROUP_FUND)
                .group_by(Earning.entry_id)
            ).all()
        )
        if entry_ids
        else {}
    )
    columns = [
        getattr(Statement, c)
        for c in (
            "settlement_id",
            "member_id",
            "opening",
            "sales",
            "pool_share",
            "shu",
            "refunds",
            "fund_deductions",
            "fees",
            "payouts",
            "closing",
        )
    ]
    statements: dict[int, list[dict]] = {i: [] for i in ids}
    for row in db.session.execute(
        select(*columns, Member.name)
        .join(Member, Member.id == Statement.member_id)
        .where(Statement.settlement_id.in_(ids))
        .order_by(Statement.member_id)
    ):
        view = dict(row._mapping)
        view["member_name"] = view.pop("name")
        statements[view.pop("settlement_id")].append(view)
    views = []
    for s in settlements:
        fund = int(fund_parts.get(s.entry_id, 0) or 0)
        shared = s.pool_amount if s.entry_id is not None else 0
        views.append(
            {
                "id": s.id,
                "group_id": s.group_id,
                "period_start": s.period_start,
                "period_end": s.period_end,
                "method": s.method.value,
                "shared_by": s.shared_by.value if s.shared_by else None,
                "pool_amount": s.pool_amount,
                "members_share": shared - fund,
                "group_fund_part": fund,
                "note": settlement_note(s),
                "entry_id": s.entry_id,
                "created_by_id": s.created_by_id,
                "created_at": s.created_at,
                "statements": statements[s.id],
            }
        )
    return views


def settlement_note(settlement: Settlement) -> str | None:
    """What a reader should know about how the pool was (or was not) shared."""
    if settlement.shared_by == SplitMethod.equal and settlement.method == SplitMethod.work:
        return _("Nobody logged work in this period, so the pool was shared equally among the members active in it.")
    if settlement.shared_by == SplitMethod.equal and settlement.method == SplitMethod.contribution:
        return _(
            "The pool held revenue from an earlier split policy; it was shared equally among the members "
            "active in the period."
        )
    if settlement.shared_by is None and settlement.pool_amount < 0:
        return _(
            "The pool was short by %(amount)s (refunds of sales shared earlier): nothing was shared, and the "
            "shortfall is carried to the next settlement.",
            amount=format_rupiah(-settlement.pool_amount),
        )
    if settlement.shared_by is None and settlement.pool_amount > 0:
        return _("No member was active in this period: the pool is kept for the next settlement.")
    if settlement.shared_by is None:
        return _("The pool was empty: nothing to share.")
    return None

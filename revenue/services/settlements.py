"""Work logs, settlements and members' statements.

Under the `equal` and `work` methods a completed order's net revenue goes to
the group pool; a settlement closes a period and shares out what the pool holds
then, equally among the members active in the period or by the work they logged
in it. Exact as everywhere: each member gets the floor of their exact share
(`split_among_members` with no fund percent) and the group fund gets what is
left. It is one balanced entry (pool debited, members and fund credited) with
an Earning row (kind `pool_share`) for each part. What is shared is the pool as
the ledger holds it at settlement, sales completed after the period's end
included. Under `work`, a period in which nobody logged work is shared equally
(the settlement says so); under `contribution` the pool is normally empty, and
what an earlier policy left in it is shared equally. A pool short after refunds
of sales shared earlier is carried to the next settlement, never taken from
members.

A settlement also freezes every member's statement for its period: opening
balance, sales, pool share, SHU, refunds, payouts and closing balance, with the
group fund's deductions and card fees taken before their sales, and every line
behind them. The closing balance computed from those records must equal the
balance of the member's ledger account at the period's end; a settlement that
would not prove so is refused. A live statement for any range is built the same
way. A frozen statement keeps its small lists (refunds, pool shares, SHU,
payouts) and the count and sums of its sale lines; the sale lines themselves are
the member's sale earnings of the period, which can no longer change (earnings
are appended, never edited, and booked at the moment they are made, so never
into a period that has ended), read and checked against the frozen figures when
the statement is shown, and by `flask ledger check`.

Periods are WIB dates. Money belongs to a day by the moment its journal entry
was made (completion, refund, payout, SHU), except a settlement's pool shares,
which belong to the settlement's period: they are what the period's sales
earned. Only a period that has ended can be settled (its last day before
today), so nothing can still be added to it; periods of a group never overlap,
and work cannot be logged or corrected on a settled day.
"""
import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, func, insert, literal, or_, select, text, union_all
from sqlalchemy.orm import aliased

from core import ledger
from core.validation import ID_MAX, has_control_chars, row_by_id
from core.errors import AppError, Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from core.extensions import db
from core.formatting import WIB
from core.ledger import Account, JournalEntry, Posting
from core.money import format_rupiah, split_among_members
from core.quantity import QuantityError, format_quantity, parse_quantity, to_milli
from core.types import UtcDateTime
from revenue.services import accrual as revenue
from revenue.models import Earning, Payout, Settlement, ShuAllocation, ShuPlan, SplitMethod, Statement, WorkLog
from groups.models import Group, Member, Role
from revenue.services.accrual import GROUP_FUND, POOL, member_account
from groups.services import check_role, membership

MAX_DAYS_BACK = 366  # work is logged for at most a year back
NOTE_MAX_LENGTH = 500
FIRST_DAY = date(2000, 1, 1)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_MEMBER_KEY = re.compile(r"member:(\d+)", re.ASCII)


class BooksDisagree(AppError):
    """A statement whose records do not add up to the member's balance in the books; nothing is settled."""

    code = 500
    default_message = _l("A statement does not agree with the books, so nothing was settled. Run "
                         "`flask ledger check` and tell the administrator.")


# --- days on the WIB clock --------------------------------------------------------------------

def today_wib() -> date:
    return datetime.now(WIB).date()


def day_start(day: date) -> datetime:
    """The first moment of `day` in Blitar."""
    return datetime.combine(day, time(0), tzinfo=WIB)


def wib_day(moment: datetime) -> date:
    return moment.astimezone(WIB).date()


def read_day(value, field: str) -> date:
    """A day sent as "YYYY-MM-DD" (or a date), or a 422 on `field`."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and _DAY.fullmatch(value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            day = None
    else:
        day = None
    if day is None:
        raise ValidationFailed(errors={field: [_("Give a date as YYYY-MM-DD, such as 2026-01-31.")]})
    if day < FIRST_DAY:
        raise ValidationFailed(errors={field: [_("Give a date from 2000 on.")]})
    return day


def _read_note(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or has_control_chars(value, allow="\n\r\t"):
        raise ValidationFailed(errors={"note": [_("Not a valid text.")]})
    value = value.strip()
    if len(value) > NOTE_MAX_LENGTH:
        raise ValidationFailed(errors={"note": [_("Use at most %(n)d characters.", n=NOTE_MAX_LENGTH)]})
    return value or None


def _read_id(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= ID_MAX:
        raise ValidationFailed(errors={field: [_("Not a valid id.")]})
    return value


def _errors_of(found: dict, errors: dict, name: str, read) -> None:
    try:
        found[name] = read()
    except ValidationFailed as exc:
        errors.update(exc.errors)


def _lock_group(group: Group) -> None:
    """Settlements and work on settled days of one group are decided one at a time (PostgreSQL row lock;
    SQLite writers hold the database's write lock)."""
    query = select(Group.id).where(Group.id == group.id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    db.session.scalar(query)


def settlement_covering(group_id: int, day: date) -> Settlement | None:
    return db.session.scalar(select(Settlement).where(
        Settlement.group_id == group_id, Settlement.period_start <= day, Settlement.period_end >= day).limit(1))


def _refuse_settled_day(group: Group, day: date, field: str) -> None:
    settled = settlement_covering(group.id, day)
    if settled is not None:
        raise Conflict(_l("%(day)s is in a settled period (%(start)s to %(end)s): its work can no longer change.",
                          day=day.isoformat(), start=settled.period_start.isoformat(),
                          end=settled.period_end.isoformat()),
                       {field: [_("This day is in a settled period.")]})


# --- work logs --------------------------------------------------------------------------------

def _active_member(group: Group, value, field: str = "member_id") -> Member:
    member_id = _read_id(value, field)
    member = db.session.get(Member, member_id)
    if member is None or member.group_id != group.id:
        raise ValidationFailed(errors={field: [_("No such member in this group.")]})
    if not member.active:
        raise ValidationFailed(errors={field: [_("This member is inactive.")]})
    return member


def _work_day(value) -> date:
    day = read_day(value, "date")
    today = today_wib()
    if day > today:
        raise ValidationFailed(errors={"date": [_("Work cannot be logged for a day that has not come yet.")]})
    if day < today - timedelta(days=MAX_DAYS_BACK):
        raise ValidationFailed(errors={"date": [_("Work can be logged for at most %(n)d days back.",
                                                  n=MAX_DAYS_BACK)]})
    return day


def _units(value) -> Decimal:
    try:
        return parse_quantity(value)
    except QuantityError:
        raise ValidationFailed(errors={"units": [_("Give the units as a number above zero with at most 3 decimals, "
                                                   "such as \"12\" or \"1.5\".")]}) from None


def log_work(actor, group: Group, *, member_id=None, units=None, day=None, note=None) -> WorkLog:
    """Record work a member did on a day (pieces sewn, hours), for sharing the pool by work (coordinator,
    treasurer).

    `units` is above zero with at most 3 decimals; `day` a date or "YYYY-MM-DD" (its
    errors are on `date`, as the API names it). Every bad value is reported at once.
    """
    check_role(actor, group, Role.coordinator, Role.treasurer)
    found: dict = {}
    errors: dict = {}
    _errors_of(found, errors, "member", lambda: _active_member(group, member_id))
    _errors_of(found, errors, "units", lambda: _units(units))
    _errors_of(found, errors, "day", lambda: _work_day(day))
    _errors_of(found, errors, "note", lambda: _read_note(note))
    if errors:
        raise ValidationFailed(errors=errors)
    _lock_group(group)
    _refuse_settled_day(group, found["day"], "date")
    log = WorkLog(group_id=group.id, member_id=found["member"].id, day=found["day"], units=found["units"],
                  note=found["note"], created_by_id=actor.id)
    db.session.add(log)
    db.session.flush()
    return log


def get_work_log_or_404(group: Group, log_id) -> WorkLog:
    log = row_by_id(WorkLog, log_id)
    if log is None or log.group_id != group.id:
        raise NotFound(_l("Work log not found."))
    return log


def reverse_work_log(actor, group: Group, log_id, note=None) -> WorkLog:
    """Correct a work log made by mistake (coordinator, treasurer): a row with the opposite units, once; never on
    a settled day."""
    check_role(actor, group, Role.coordinator, Role.treasurer)
    note = _read_note(note)
    original = get_work_log_or_404(group, log_id)
    if original.reverses_id is not None:
        raise Conflict(_l("This is a correction; it cannot be corrected again."))
    _lock_group(group)
    if db.session.scalar(select(WorkLog.id).where(WorkLog.reverses_id == original.id)) is not None:
        raise Conflict(_l("This work log was corrected already."))
    _refuse_settled_day(group, original.day, "date")
    correction = WorkLog(group_id=group.id, member_id=original.member_id, day=original.day, units=-original.units,
                         note=note, reverses_id=original.id, created_by_id=actor.id)
    db.session.add(correction)
    db.session.flush()
    return correction


def work_logs_query(viewer, group: Group, start: date | None = None, end: date | None = None,
                    member_id: int | None = None):
    """The group's work logs, newest day first (coordinator, treasurer); a member sees their own."""
    try:
        check_role(viewer, group, Role.coordinator, Role.treasurer)
    except Forbidden:
        own = membership(group, viewer)
        if own is None or (member_id is not None and member_id != own.id):
            raise
        member_id = own.id
    query = select(WorkLog).where(WorkLog.group_id == group.id)
    if start is not None:
        query = query.where(WorkLog.day >= start)
    if end is not None:
        query = query.where(WorkLog.day <= end)
    if member_id is not None:
        query = query.where(WorkLog.member_id == member_id)
    return query.order_by(WorkLog.day.desc(), WorkLog.id.desc())


def work_log_views(logs: list[WorkLog]) -> list[dict]:
    """Work logs as the API and pages show them: with the member's name and whether each was corrected."""
    ids = [log.id for log in logs]
    names = dict(db.session.execute(select(Member.id, Member.name).where(
        Member.id.in_({log.member_id for log in logs}))).all()) if logs else {}
    corrected = dict(db.session.execute(select(WorkLog.reverses_id, WorkLog.id).where(
        WorkLog.reverses_id.in_(ids))).all()) if ids else {}
    return [{"id": log.id, "group_id": log.group_id, "member_id": log.member_id,
             "member_name": names.get(log.member_id), "units": format_quantity(log.units), "date": log.day,
             "note": log.note, "reverses_id": log.reverses_id, "reversed_by_id": corrected.get(log.id),
             "created_by_id": log.created_by_id, "created_at": log.created_at} for log in logs]


def work_in(group_id: int, start: date, end: date) -> dict[int, Decimal]:
    """Each member's units logged in the period (corrections subtracted)."""
    rows = db.session.execute(select(WorkLog.member_id, func.sum(WorkLog.units)).where(
        WorkLog.group_id == group_id, WorkLog.day >= start, WorkLog.day <= end).group_by(WorkLog.member_id))
    return {member_id: Decimal(total) for member_id, total in rows if total is not None}


# --- settling a period --------------------------------------------------------------------------

def read_period(start_value, end_value) -> tuple[date, date]:
    """A period that has ended: first and last day (WIB), or 422s."""
    found: dict = {}
    errors: dict = {}
    _errors_of(found, errors, "start", lambda: read_day(start_value, "period_start"))
    _errors_of(found, errors, "end", lambda: read_day(end_value, "period_end"))
    if not errors:
        if found["start"] > found["end"]:
            errors["period_end"] = [_("The period must end on or after its first day.")]
        elif found["end"] >= today_wib():
            errors["period_end"] = [_("Only a period that has ended can be settled: its last day must be before "
                                      "today.")]
    if errors:
        raise ValidationFailed(errors=errors)
    return found["start"], found["end"]


def members_active_in(group_id: int, start: date, end: date) -> list[Member]:
    """Members who joined before the period ended and were not deactivated before it began."""
    return list(db.session.scalars(select(Member).where(
        Member.group_id == group_id, Member.joined_at < day_start(end + timedelta(days=1)),
        or_(Member.active.is_(True), Member.deactivated_at >= day_start(start))).order_by(Member.id)))


def _shares(group_id: int, method: SplitMethod, start: date, end: date
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
    check_role(actor, group, Role.coordinator)
    start, end = read_period(period_start, period_end)
    _lock_group(group)
    earlier = db.session.scalar(select(Settlement).where(
        Settlement.group_id == group.id, Settlement.period_start <= end, Settlement.period_end >= start)
        .order_by(Settlement.period_start).limit(1))
    if earlier is not None:
        raise Conflict(_l("This period overlaps the one settled from %(start)s to %(end)s.",
                          start=earlier.period_start.isoformat(), end=earlier.period_end.isoformat()),
                       {"period_start": [_("Choose a period after the last one settled.")]})
    last = db.session.scalar(select(func.max(Settlement.period_end)).where(Settlement.group_id == group.id))
    if last is not None and start <= last:
        # A pool shared into an earlier period would change balances that a later statement froze.
        raise Conflict(_l("Periods are settled in order: the last one settled ends on %(end)s.", end=last.isoformat()),
                       {"period_start": [_("Choose a period after the last one settled.")]})
    policy = revenue.policy_in_force(group.id)
    method = policy.method if policy else revenue.DEFAULT_METHOD
    pool = -int(ledger.balance(group.id, POOL))
    shared_by, weights, units = _shares(group.id, method, start, end) if pool > 0 else (None, {}, {})
    entry, parts, fund = None, {}, 0
    if shared_by is not None:
        fund, amounts = split_among_members(pool, 0, list(weights.values()))
        parts = dict(zip(weights, amounts))
        postings = [(POOL, pool)] + [(member_account(m), -a) for m, a in parts.items()] + [(GROUP_FUND, -fund)]
        entry = ledger.post(group.id, "settlement", postings, source="settlement", actor_id=actor.id,
                            memo=f"pool shared {shared_by.value} for {start.isoformat()} to {end.isoformat()}")
        db.session.flush()
    settlement = Settlement(group_id=group.id, period_start=start, period_end=end, method=method,
                            shared_by=shared_by, pool_amount=pool, entry_id=entry.id if entry else None,
                            created_by_id=actor.id)
    db.session.add(settlement)
    db.session.flush()
    if entry is not None:
        policy_id = policy.id if policy else None
        db.session.add_all([Earning(group_id=group.id, account=member_account(m), member_id=m, amount=amount,
                                    quantity=units.get(m), kind="pool_share", policy_id=policy_id,
                                    entry_id=entry.id, created_at=entry.created_at) for m, amount in parts.items()])
        if fund:
            db.session.add(Earning(group_id=group.id, account=GROUP_FUND, amount=fund, kind="pool_share",
                                   policy_id=policy_id, entry_id=entry.id, created_at=entry.created_at))
        db.session.flush()
    _freeze_statements(group, settlement)
    return settlement


def _freeze_statements(group: Group, settlement: Settlement) -> None:
    """A Statement for every member with anything in the period or a balance, proven against the books."""
    start, end = settlement.period_start, settlement.period_end
    totals = statement_totals(group.id, start, end, balances=_settlement_balances(group.id, start, end))
    for member_id, count, amount, fees, fund in sale_sums(group.id, start, end):
        totals.setdefault(member_id, StatementTotals(member_id)).add_sales(count, amount, fees, fund)
    members = set(db.session.scalars(select(Member.id).where(Member.group_id == group.id)))
    rows = [{"settlement_id": settlement.id, "group_id": group.id, "member_id": t.member_id, "opening": t.opening,
             "sales": t.sales, "pool_share": t.pool_share, "shu": t.shu, "refunds": t.refunds,
             "fund_deductions": t.fund_deductions, "fees": t.fees, "payouts": t.payouts, "closing": t.closing,
             "sale_lines": t.sale_lines, "detail": t.detail_json()}
            for member_id, t in sorted(totals.items()) if t.touched and member_id in members]
    if rows:
        db.session.execute(insert(Statement), rows)
    _prove(totals.values())  # the proof, once every figure is in: a refusal rolls all of it back


def _settlement_balances(group_id: int, start: date, end: date) -> dict[int, list[int]]:
    """Each member's balance before `start` and after `end` in the books, for settling that period: what
    member_balances_at gives, without reading the period's postings twice.

    At the end: the member account's whole balance, less what is attributed after the end (recent, so few
    rows). At the start: the closing balance of the group's last settled period before it (proven when it was
    settled, and a settled period's postings cannot change), plus what is attributed between that period and
    `start`; with no settlement before, everything attributed before `start`. One statement, so on PostgreSQL
    every part sees the same committed postings."""
    accounts = dict(db.session.execute(select(Account.id, Account.key).where(
        Account.group_id == group_id, Account.key.like("member:%"))).all())
    member_of = {}
    for account_id, key in accounts.items():
        match = _MEMBER_KEY.fullmatch(key)
        if match:
            member_of[account_id] = int(match.group(1))
    previous = db.session.scalar(select(Settlement).where(
        Settlement.group_id == group_id, Settlement.period_end < start).order_by(Settlement.period_end.desc())
        .limit(1))
    if previous is not None and db.session.scalar(select(Settlement.id).where(
            Settlement.group_id == group_id, Settlement.id > previous.id,
            Settlement.period_end <= previous.period_end).limit(1)) is not None:
        # Settled out of order (before periods were settled in order): its frozen closing may be short of a pool
        # shared into it later, so read every posting instead.
        return member_balances_at(group_id, [start, end + timedelta(days=1)])
    found = {member_id: [0, 0] for member_id in member_of.values()}
    if previous is not None:
        for member_id, closing in db.session.execute(select(Statement.member_id, Statement.closing).where(
                Statement.settlement_id == previous.id)):
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
        plain = (select(Posting.account_id, literal(tag).label("tag"), (Posting.amount * sign).label("amount"))
                 .join(JournalEntry, JournalEntry.id == Posting.entry_id)
                 .outerjoin(Settlement, Settlement.entry_id == JournalEntry.id)
                 .where(Posting.account_id.in_(ids), Settlement.id.is_(None), *made))
        shares = (select(Posting.account_id, literal(tag).label("tag"), (Posting.amount * sign).label("amount"))
                  .join(Settlement, Settlement.entry_id == Posting.entry_id)
                  .where(Posting.account_id.in_(ids), Settlement.group_id == group_id, *ended))
        return [plain, shares]

    whole = (select(Posting.account_id, literal(1).label("tag"), func.sum(Posting.amount).label("amount"))
             .where(Posting.account_id.in_(ids)).group_by(Posting.account_id))  # summed first: 20 rows, not 100,000
    parts = [whole, *attributed(1, after_end, None, -1)]
    if since is None or since < start:
        parts += attributed(0, since, start, 1)
    rows = union_all(*parts).subquery()
    for account_id, tag, total in db.session.execute(
            select(rows.c.account_id, rows.c.tag, func.sum(rows.c.amount)).group_by(rows.c.account_id, rows.c.tag)):
        found[member_of[account_id]][tag] -= int(total or 0)
    return found


# --- statements -----------------------------------------------------------------------------

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
        self.sale_lines, self.sales, self.fees, self.fund_deductions = (int(count), int(amount), int(fees),
                                                                        int(fund))

    @property
    def closing(self) -> int:
        return self.opening + self.sales + self.pool_share + self.shu - self.refunds - self.payouts

    @property
    def touched(self) -> bool:
        return bool(self.opening or self.balance_at_end or self.sale_lines or self.refund_lines or self.pool_lines
                    or self.shu_lines or self.payout_lines)

    def detail(self, sale_lines: list[dict]) -> dict:
        return {"sales": sale_lines, "refunds": self.refund_lines, "pool_shares": self.pool_lines,
                "shu": self.shu_lines, "payouts": self.payout_lines}

    def detail_json(self) -> str:
        """The detail as a frozen statement keeps it: every list but the sale lines (read from the earnings)."""
        kept = self.detail([])
        del kept["sales"]
        return json.dumps(kept, ensure_ascii=False, separators=(",", ":"))


def _attributed_before(day: date):
    """A journal entry counts before `day` when it was made before the day began (WIB); a settlement's entry
    when its period ended before the day."""
    return or_(and_(Settlement.id.is_(None), JournalEntry.created_at < day_start(day)),
               and_(Settlement.id.is_not(None), Settlement.period_end < day))


def _made_in(start: date, end: date):
    return and_(JournalEntry.created_at >= day_start(start),
                JournalEntry.created_at < day_start(end + timedelta(days=1)))


def member_balances_at(group_id: int, days: list[date], member_ids=None) -> dict[int, list[int]]:
    """Each member's balance (what the group owes them) before each of `days` began, from the ledger."""
    sums = [func.sum(case((_attributed_before(day), Posting.amount), else_=0)) for day in days]
    query = (select(Account.key, *sums).join(Posting, Posting.account_id == Account.id)
             .join(JournalEntry, JournalEntry.id == Posting.entry_id)
             .outerjoin(Settlement, Settlement.entry_id == JournalEntry.id)
             .where(Account.group_id == group_id).group_by(Account.key))
    if member_ids is None:
        query = query.where(Account.key.like("member:%"))
    else:
        query = query.where(Account.key.in_([member_account(m) for m in member_ids]))
    found = {}
    for key, *totals in db.session.execute(query):
        match = _MEMBER_KEY.fullmatch(key)
        if match:
            found[int(match.group(1))] = [-int(total or 0) for total in totals]
    return found


def statement_totals(group_id: int, start: date, end: date, member_ids=None, balances=None
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
            .where(Earning.group_id == group_id, only(Earning.member_id), Earning.kind == "refund",
                   JournalEntry.kind == "refund_reversal", _made_in(start, end)).order_by(Earning.id)):
        t = of(member_id)
        t.refunds -= amount
        t.refund_lines.append({"order_id": order_id, "amount": -amount, "date": wib_day(made).isoformat()})
    _pool_shares(group_id, start, end, only, of)
    for member_id, plan_id, year, services_part, capital_part, made in db.session.execute(
            select(ShuAllocation.member_id, ShuPlan.id, ShuPlan.year, ShuAllocation.services_part,
                   ShuAllocation.capital_part, JournalEntry.created_at)
            .join(ShuPlan, ShuPlan.id == ShuAllocation.plan_id)
            .join(JournalEntry, JournalEntry.id == ShuPlan.entry_id)
            .where(ShuPlan.group_id == group_id, only(ShuAllocation.member_id), _made_in(start, end))
            .order_by(ShuAllocation.id)):
        t = of(member_id)
        t.shu += services_part + capital_part
        t.shu_lines.append({"plan_id": plan_id, "year": year, "services": services_part, "capital": capital_part,
                            "amount": services_part + capital_part, "date": wib_day(made).isoformat()})
    for payout_id, member_id, amount, method, reference, reverses_id, made in db.session.execute(
            select(Payout.id, Payout.member_id, Payout.amount, Payout.method, Payout.reference, Payout.reverses_id,
                   JournalEntry.created_at)
            .join(JournalEntry, JournalEntry.id == Payout.entry_id)
            .where(Payout.group_id == group_id, only(Payout.member_id), _made_in(start, end))
            .order_by(Payout.id)):
        t = of(member_id)
        t.payouts += amount
        t.payout_lines.append({"payout_id": payout_id, "amount": amount, "method": method.value,
                               "reference": reference, "reverses_id": reverses_id,
                               "date": wib_day(made).isoformat()})
    return totals


def _pool_shares(group_id: int, start: date, end: date, only, of) -> None:
    """Pool shares of the settlements whose periods end in the range, with the units behind each."""
    shared = (select(Earning.member_id, Earning.amount, Earning.quantity, Earning.entry_id, Settlement.id,
                     Settlement.period_start, Settlement.period_end, Settlement.shared_by)
              .join(Settlement, Settlement.entry_id == Earning.entry_id)
              .where(Settlement.group_id == group_id, Earning.kind == "pool_share", only(Earning.member_id),
                     Settlement.period_end >= start, Settlement.period_end <= end)
              .order_by(Settlement.period_end, Earning.id))
    rows = db.session.execute(shared).all()
    if not rows:
        return
    whole, sharing = {}, {}
    for entry_id, units, count in db.session.execute(
            select(Earning.entry_id, func.sum(Earning.quantity), func.count()).where(
                Earning.entry_id.in_({row.entry_id for row in rows}), Earning.kind == "pool_share",
                Earning.member_id.is_not(None)).group_by(Earning.entry_id)):
        whole[entry_id], sharing[entry_id] = units, count
    for member_id, amount, units, entry_id, settlement_id, period_start, period_end, shared_by in rows:
        t = of(member_id)
        t.pool_share += amount
        t.pool_lines.append({
            "settlement_id": settlement_id, "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(), "shared_by": shared_by.value if shared_by else None,
            "units": format_quantity(units) if units is not None else None,
            "total_units": format_quantity(whole[entry_id]) if units is not None and whole.get(entry_id) else None,
            "members": int(sharing.get(entry_id, 0)), "amount": amount, "date": period_end.isoformat()})


# Sale lines are read as rows of values under their column names, which the database writes as one JSON array
# per member (a third of the size of objects, and cheaper to make), so reading a hundred thousand lines never
# turns each into a Python object before it is shown (sale_line_objects). The quantity is in thousandths.
# Statements frozen before their lines were read from the earnings keep such an array in their detail.
SALE_COLUMNS = ("order_id", "order_line_id", "product", "quantity_milli", "lot_id", "gross", "fee", "refunded",
                "amount", "date")
_LINE_VALUES = ("e.order_id, e.order_line_id, e.product_name, e.quantity, e.lot_id, e.gross, e.fee_share, "
                "e.refund_share, e.amount, {day}")
# An Earning is stamped with its journal entry's moment (checked by check_settlements), so a period's sales are
# found in the earnings alone.
_LINES_WHERE = ("e.group_id = :group_id AND e.kind = 'sale' AND e.member_id IS NOT NULL "
                "AND e.created_at >= :start AND e.created_at < :end{members}")
_LINE_SUMS = "count(*), sum(e.amount), sum(e.fee_share), sum(e.gross - e.fee_share - e.refund_share - e.amount)"
_SALE_SUMS_SQL = "SELECT e.member_id, {sums} FROM earnings e WHERE {where} GROUP BY e.member_id".format(
    sums=_LINE_SUMS, where=_LINES_WHERE)
# The order of the members, and of the lines within a member, is not relied on: lines are sorted when read.
_SALE_LINES_SQL = {
    "postgresql": (
        "SELECT e.member_id, {sums}, CAST(json_agg(json_build_array({values})) AS TEXT) "
        "FROM earnings e WHERE {where} GROUP BY e.member_id"
    ).format(sums=_LINE_SUMS, where=_LINES_WHERE,
             values=_LINE_VALUES.format(day="to_char(e.created_at AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD')")),
    "sqlite": (
        "SELECT e.member_id, {sums}, json_group_array(json_array({values})) "
        "FROM earnings e WHERE {where} GROUP BY e.member_id ORDER BY e.member_id"
    ).format(sums=_LINE_SUMS, where=_LINES_WHERE,
             values=_LINE_VALUES.format(day="strftime('%Y-%m-%d', e.created_at, '+7 hours')")),
}


def _lines_query(sql: str, group_id: int, start: date, end: date, member_ids=None):
    members = " AND e.member_id IN :members" if member_ids is not None else ""
    query = text(sql.replace("{members}", members)).bindparams(
        bindparam("start", type_=UtcDateTime()), bindparam("end", type_=UtcDateTime()))
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
        lines.append({"order_id": order_id, "order_line_id": line_id, "product": product,
                      "quantity": milli_text(quantity), "lot_id": lot_id, "gross": gross, "fee": fee,
                      "refunded": refunded, "fund_deduction": gross - fee - refunded - amount, "amount": amount,
                      "date": day})
    return sorted(lines, key=lambda line: (line["date"], line["order_id"], line["order_line_id"] or 0,
                                           line["lot_id"] or 0))


def _prove(totals) -> None:
    """Each closing balance, computed from the records, equals the member's balance in the books."""
    wrong = [t.member_id for t in totals if t.closing != t.balance_at_end]
    if wrong:
        raise BooksDisagree(errors={"members": wrong})


# --- reading statements and settlements ---------------------------------------------------------

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
    today = today_wib()
    start = last + timedelta(days=1) if last is not None else wib_day(member.joined_at)
    return min(start, today), today


def read_range(start_value, end_value, group: Group, member: Member) -> tuple[date, date]:
    """A statement's range from the query string; either end defaults (see default_range)."""
    default_start, default_end = default_range(group, member)
    found: dict = {}
    errors: dict = {}
    _errors_of(found, errors, "start", lambda: read_day(start_value, "from") if start_value else default_start)
    _errors_of(found, errors, "end", lambda: read_day(end_value, "to") if end_value else default_end)
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
        for _member, count, amount, fees, fund, text_ in sale_lines_json(group.id, start, end, [member.id]):
            totals.add_sales(count, amount, fees, fund)
            lines = sale_line_objects(json.loads(text_))
        try:
            _prove([totals])
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
    row = db.session.scalar(select(Statement).where(Statement.settlement_id == settlement.id,
                                                    Statement.member_id == member.id))
    if row is None:
        raise NotFound(_l("This settlement has no statement for %(name)s: nothing happened in their account.",
                          name=member.name))
    detail = json.loads(row.detail)
    if row.sale_lines is None:  # frozen with its sale lines in the detail
        if detail.pop("sale_columns", None) != list(SALE_COLUMNS):
            raise ValueError(f"statement {row.id} keeps its sale lines under columns this version does not know")
        detail["sales"] = sale_line_objects(detail["sales"])
    else:
        found, lines = (0, 0, 0, 0), []
        for _member, count, amount, fees, fund, text_ in sale_lines_json(
                group.id, settlement.period_start, settlement.period_end, [member.id]):
            found, lines = (int(count), int(amount), int(fees), int(fund)), json.loads(text_)
        if found != (row.sale_lines, row.sales, row.fees, row.fund_deductions):
            current_app.logger.error("statement %s: its sale lines now come to %s, frozen as %s", row.id, found,
                                     (row.sale_lines, row.sales, row.fees, row.fund_deductions))
            raise BooksDisagree(errors={"members": [member.id]})
        detail = {"sales": sale_line_objects(lines), **detail}
    return _statement_view(group, member, settlement.period_start, settlement.period_end, row, detail,
                           settlement=settlement, created_at=row.created_at)


def _statement_view(group: Group, member: Member, start: date, end: date, totals, detail: dict,
                    settlement: Settlement | None = None, created_at: datetime | None = None) -> dict:
    return {"group_id": group.id, "member_id": member.id, "member_name": member.name,
            "settlement_id": settlement.id if settlement else None, "period_start": start, "period_end": end,
            "opening": totals.opening, "sales": totals.sales, "pool_share": totals.pool_share, "shu": totals.shu,
            "refunds": totals.refunds, "fund_deductions": totals.fund_deductions, "fees": totals.fees,
            "payouts": totals.payouts, "closing": totals.closing, "detail": detail, "frozen_at": created_at}


CSV_COLUMNS = ("kind", "date", "order_id", "product", "quantity", "lot_id", "gross", "fee", "fund_deduction",
               "amount")


def statement_csv(view: dict) -> str:
    """The statement as CSV: opening, each line (amount signed as it moves the balance), closing."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    empty = [""] * 7
    writer.writerow(["opening", view["period_start"].isoformat(), *empty, view["opening"]])
    detail = view["detail"]
    for line in detail["sales"]:
        writer.writerow(["sale", line["date"], line["order_id"], line["product"] or "", line["quantity"] or "",
                         line["lot_id"] or "", line["gross"], line["fee"], line["fund_deduction"], line["amount"]])
    for line in detail["pool_shares"]:
        writer.writerow(["pool_share", line["date"], "", "", line["units"] or "", "", "", "", "", line["amount"]])
    for line in detail["shu"]:
        writer.writerow(["shu", line["date"], "", f"SHU {line['year']}", "", "", "", "", "", line["amount"]])
    for line in detail["refunds"]:
        writer.writerow(["refund", line["date"], line["order_id"], "", "", "", "", "", "", -line["amount"]])
    for line in detail["payouts"]:
        writer.writerow(["payout", line["date"], "", line["reference"] or "", "", "", "", "", "", -line["amount"]])
    writer.writerow(["closing", view["period_end"].isoformat(), *empty, view["closing"]])
    return out.getvalue()


def get_settlement_or_404(group: Group, settlement_id) -> Settlement:
    settlement = row_by_id(Settlement, settlement_id)
    if settlement is None or settlement.group_id != group.id:
        raise NotFound(_l("Settlement not found."))
    return settlement


def settlements_query(viewer, group: Group):
    """The group's settlements, latest period first (coordinator, treasurer)."""
    check_role(viewer, group, Role.coordinator, Role.treasurer)
    return select(Settlement).where(Settlement.group_id == group.id).order_by(Settlement.period_start.desc())


def settlement_views(settlements: list[Settlement]) -> list[dict]:
    """Settlements with what members and the fund got, and each member's statement figures (no lines)."""
    if not settlements:
        return []
    ids = [s.id for s in settlements]
    entry_ids = [s.entry_id for s in settlements if s.entry_id is not None]
    fund_parts = dict(db.session.execute(
        select(Earning.entry_id, func.sum(Earning.amount)).where(
            Earning.entry_id.in_(entry_ids), Earning.kind == "pool_share", Earning.account == GROUP_FUND)
        .group_by(Earning.entry_id)).all()) if entry_ids else {}
    columns = [getattr(Statement, c) for c in ("settlement_id", "member_id", "opening", "sales", "pool_share", "shu",
                                               "refunds", "fund_deductions", "fees", "payouts", "closing")]
    statements: dict[int, list[dict]] = {i: [] for i in ids}
    for row in db.session.execute(select(*columns, Member.name).join(Member, Member.id == Statement.member_id)
                                  .where(Statement.settlement_id.in_(ids)).order_by(Statement.member_id)):
        view = dict(row._mapping)
        view["member_name"] = view.pop("name")
        statements[view.pop("settlement_id")].append(view)
    views = []
    for s in settlements:
        fund = int(fund_parts.get(s.entry_id, 0) or 0)
        shared = s.pool_amount if s.entry_id is not None else 0
        views.append({"id": s.id, "group_id": s.group_id, "period_start": s.period_start,
                      "period_end": s.period_end, "method": s.method.value,
                      "shared_by": s.shared_by.value if s.shared_by else None, "pool_amount": s.pool_amount,
                      "members_share": shared - fund, "group_fund_part": fund, "note": settlement_note(s),
                      "entry_id": s.entry_id, "created_by_id": s.created_by_id, "created_at": s.created_at,
                      "statements": statements[s.id]})
    return views


def settlement_note(settlement: Settlement) -> str | None:
    """What a reader should know about how the pool was (or was not) shared."""
    if settlement.shared_by == SplitMethod.equal and settlement.method == SplitMethod.work:
        return _("Nobody logged work in this period, so the pool was shared equally among the members active in it.")
    if settlement.shared_by == SplitMethod.equal and settlement.method == SplitMethod.contribution:
        return _("The pool held revenue from an earlier split policy; it was shared equally among the members "
                 "active in the period.")
    if settlement.shared_by is None and settlement.pool_amount < 0:
        return _("The pool was short by %(amount)s (refunds of sales shared earlier): nothing was shared, and the "
                 "shortfall is carried to the next settlement.", amount=format_rupiah(-settlement.pool_amount))
    if settlement.shared_by is None and settlement.pool_amount > 0:
        return _("No member was active in this period: the pool is kept for the next settlement.")
    if settlement.shared_by is None:
        return _("The pool was empty: nothing to share.")
    return None


# --- the books ----------------------------------------------------------------------------------

def check_settlements() -> list[ledger.Problem]:
    """Each settlement's entry moves its pool to its Earning rows, each frozen statement's sale lines still come
    to its frozen figures, and its closing balance is the member's balance in the books at the period's end;
    every Earning carries its entry's moment (periods find sales by it)."""
    problems = []
    for settlement in db.session.scalars(select(Settlement).order_by(Settlement.id)):
        what = f"settlement {settlement.id}"
        if settlement.entry_id is not None:
            entry = db.session.get(JournalEntry, settlement.entry_id)
            postings = {p.account.key: p.amount for p in entry.postings}
            earned = {}
            for account, amount in db.session.execute(select(Earning.account, func.sum(Earning.amount)).where(
                    Earning.entry_id == entry.id, Earning.kind == "pool_share").group_by(Earning.account)):
                if amount:
                    earned[account] = -int(amount)
            expected = {POOL: settlement.pool_amount, **earned}
            if entry.group_id != settlement.group_id or postings != expected:
                problems.append(ledger.Problem(what, f"shares {settlement.pool_amount} but its entry {entry.id} "
                                                     f"posts {postings}, its earning rows say {earned}"))
        members = dict(db.session.execute(select(Statement.member_id, Statement.closing).where(
            Statement.settlement_id == settlement.id)).all())
        frozen = {member_id: (lines, sales, fees, fund) for member_id, lines, sales, fees, fund in db.session.execute(
            select(Statement.member_id, Statement.sale_lines, Statement.sales, Statement.fees,
                   Statement.fund_deductions).where(Statement.settlement_id == settlement.id,
                                                    Statement.sale_lines.is_not(None)))}
        if frozen:
            found = {member_id: (int(count), int(amount), int(fees), int(fund)) for member_id, count, amount, fees, fund
                     in sale_sums(settlement.group_id, settlement.period_start, settlement.period_end, frozen)}
            for member_id, figures in sorted(frozen.items()):
                if found.get(member_id, (0, 0, 0, 0)) != figures:
                    problems.append(ledger.Problem(f"{what}, member {member_id}",
                                                   f"statement froze sale lines {figures} (lines, amount, fees, "
                                                   f"fund), the earnings now say {found.get(member_id)}"))
        if members:
            books = member_balances_at(settlement.group_id, [settlement.period_end + timedelta(days=1)], members)
            for member_id, closing in sorted(members.items()):
                at_end = books.get(member_id, [0])[0]
                if closing != at_end:
                    problems.append(ledger.Problem(f"{what}, member {member_id}",
                                                   f"statement closes at {closing}, the books say {at_end}"))
    for earning_id, entry_id in db.session.execute(
            select(Earning.id, JournalEntry.id).join(JournalEntry, JournalEntry.id == Earning.entry_id)
            .where(Earning.created_at != JournalEntry.created_at).order_by(Earning.id).limit(20)):
        problems.append(ledger.Problem(f"earning {earning_id}", f"is not stamped with the moment of its entry "
                                                                f"{entry_id}, so periods would misplace it"))
    other = aliased(Settlement)
    overlaps = db.session.execute(
        select(Settlement.id, Settlement.group_id).join(
            other, and_(other.group_id == Settlement.group_id, other.id != Settlement.id,
                        other.period_start <= Settlement.period_end, other.period_end >= Settlement.period_start)))
    for settlement_id, group_id in overlaps:
        problems.append(ledger.Problem(f"settlement {settlement_id}", f"overlaps another of group {group_id}"))
    return problems


ledger.register_check(check_settlements)

"""SHU (sisa hasil usaha): a year's group fund surplus shared by configured percentages.

A group that adopts SHU sets, per year, the percent of the surplus for each part:

- `reserve` (cadangan), `management` (pengurus), `education` (pendidikan) and
  `social` (sosial) go to accounts of the group (`shu_reserve`, ...);
- `services` (jasa usaha) is shared among members in proportion to their
  transactions in the year: what their sales earned them, the sale earnings
  credited to them in that year (WIB) less what refunds made in it took back
  (a member's year never counts below nothing), and their pool shares in groups that
  split equally or by work (whose sales credit the pool, not members). As on
  statements, a settlement's pool shares belong to its period: they count in
  the year its period ends, also when the settlement is made in January;
- `capital` (jasa modal) is shared among members in proportion to their savings
  at the end of the year. A group that records no savings has no basis for it,
  so the capital part stays with the reserve (the report says so).

Each percent is 0 to 100 with at most 2 decimals and together they total
exactly 100. The surplus defaults to the group fund's balance at the end of the
year (from the ledger, with the same rule: what a settlement of a December
period gave the fund counts in December), or what the fund holds now if that is
less, since the fund cannot give what it no longer has, and never more than
MAX_AMOUNT (the ceiling of any one amount); a surplus may be given instead,
never above that.

Exact as everywhere else: each member gets the floor of their exact share of a
part (split_among_members with no fund percent, over the part's exact amount);
management, education and social get the floor of theirs; the reserve gets
everything left, so the parts sum to the surplus.

A plan is a draft until the coordinator accepts it. Drafting the same year
again before acceptance replaces the draft (the ShuPlan row is mutable until
then; its allocation is computed afresh whenever the report is read). Accepting
books it once, as one balanced entry: the group fund debited by the surplus,
each member's account credited with their parts (which they can then be paid
out), and the group's SHU accounts with the rest; the members' parts are kept
as ShuAllocation rows. An accepted plan is final: a second acceptance or a new
draft for that year is refused (409). A year is accepted only after it ends.

An acceptance takes the group's books lock (revenue.lock_group_books) before it
checks the fund, as a refund after completion does before it takes earnings
back and a settlement before it shares the pool: so the fund it checks is the
fund it spends, and a refund that commits first leaves the acceptance refusing
(409, draft it again) rather than spending what the fund no longer holds.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, not_, select, update

from core import ledger
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.money import MAX_AMOUNT, format_rupiah, split_among_members
from core.types import utcnow
from core.validation import read_rupiah
from groups.models import Group, Member, Role
from groups.services import authorize, membership
from revenue.models import Earning, Settlement, ShuAllocation, ShuPlan
from revenue.services.accrual import GROUP_FUND, POOL, lock_group_books, member_account, parse_percent, percent_text
from revenue.services.payouts import field_error
from revenue.services.savings import keeps_savings, savings_before

# Money counts in a year as statements count it: by the moment its entry was made, but a settlement's pool
# shares by its period's end (what the period's sales earned). Needs Settlement outer-joined on the entry.
from revenue.services.settlements import attributed_before

WIB = ZoneInfo("Asia/Jakarta")
FIRST_YEAR = 2000
PARTS = ("reserve", "services", "capital", "management", "education", "social")
GROUP_PARTS = ("reserve", "management", "education", "social")  # booked to the group's accounts
TRANSACTION_KINDS = ("sale", "refund", "pool_share")  # a refund's take-back (negative) nets out its sale
WHOLE = 10000  # basis points in 100 %


def shu_account(part: str) -> str:
    """The group's ledger account of an SHU part (reserve, management, education, social)."""
    return f"shu_{part}"


def current_year() -> int:
    """This year in Blitar (WIB)."""
    return datetime.now(WIB).year


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The first moment of the year and of the next, in WIB."""
    return datetime(year, 1, 1, tzinfo=WIB), datetime(year + 1, 1, 1, tzinfo=WIB)


# --- the computation --------------------------------------------------------------------------


@dataclass
class MemberShare:
    member_id: int
    transactions: int
    savings: int
    services_part: int = 0
    capital_part: int = 0
    name: str | None = None

    @property
    def total(self) -> int:
        return self.services_part + self.capital_part


@dataclass
class Allocation:
    surplus: int
    basis_points: dict[str, int]
    members: list[MemberShare]
    parts: dict[str, int] = field(default_factory=dict)  # every part's rupiah; they sum to the surplus
    reserve_remainder: int = 0  # what the reserve got beyond the floor of its own share
    services_to_reserve: bool = False
    capital_to_reserve: bool = False
    keeps_savings: bool = True


def allocate(
    surplus: int, basis_points: dict[str, int], transactions: dict[int, int], savings: dict[int, int] | None
) -> Allocation:
    """Share `surplus` by `basis_points` (summing to 10000); members by transactions and savings.

    `savings` is None for a group that records no savings: the capital part then
    stays with the reserve, as does a part whose members' weights are all zero.
    """
    exact = {part: Fraction(surplus * basis_points[part], WHOLE) for part in PARTS}
    ids = sorted({m for m, t in transactions.items() if t > 0} | {m for m, s in (savings or {}).items() if s > 0})
    members = [MemberShare(m, transactions.get(m, 0), (savings or {}).get(m, 0)) for m in ids]
    allocation = Allocation(surplus, dict(basis_points), members, keeps_savings=savings is not None)
    services = [m.transactions for m in members]
    if sum(services) > 0:
        _rest, parts = split_among_members(exact["services"], 0, services)
        for member, part in zip(members, parts):
            member.services_part = part
    else:
        allocation.services_to_reserve = basis_points["services"] > 0
    capital = [m.savings for m in members]
    if savings is not None and sum(capital) > 0:
        _rest, parts = split_among_members(exact["capital"], 0, capital)
        for member, part in zip(members, parts):
            member.capital_part = part
    else:
        allocation.capital_to_reserve = basis_points["capital"] > 0
    parts = {part: int(exact[part] // 1) for part in ("management", "education", "social")}
    parts["services"] = sum(m.services_part for m in members)
    parts["capital"] = sum(m.capital_part for m in members)
    parts["reserve"] = surplus - sum(parts.values())
    allocation.parts = {part: parts[part] for part in PARTS}
    allocation.reserve_remainder = parts["reserve"] - int(exact["reserve"] // 1)
    return allocation


# --- what the books say -------------------------------------------------------------------------


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


# --- drafting and accepting ---------------------------------------------------------------------


def _read_year(value) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) == 4:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not FIRST_YEAR <= value <= current_year():
        raise field_error("year", _("Give a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=current_year()))
    return value


def _read_plan(year, surplus, percents: dict) -> tuple[int, dict[str, int], int | None]:
    """The year, each part's basis points and the surplus (None: the fund's), every bad one reported at once."""
    errors: dict = {}
    try:
        year = _read_year(year)
    except ValidationFailed as exc:
        year = None
        errors.update(exc.errors)
    bps: dict[str, int] = {}
    for part in PARTS:
        try:
            bps[part] = parse_percent(percents[part])
        except ValueError:
            errors[part] = [_("Give a percent from 0 to 100 with at most 2 decimals.")]
    if len(bps) == len(PARTS) and sum(bps.values()) != WHOLE:
        errors["percentages"] = [
            _(
                "The percentages add up to %(total)s; together they must make exactly 100.",
                total=percent_text(sum(bps.values())),
            )
        ]
    if surplus in (None, ""):
        surplus = None
    else:
        try:
            surplus = read_rupiah(surplus, "surplus")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors=errors)
    return year, bps, surplus


def draft(
    actor,
    group: Group,
    *,
    year=None,
    surplus=None,
    reserve=None,
    services=None,
    capital=None,
    management=None,
    education=None,
    social=None,
) -> tuple[ShuPlan, bool]:
    """Draft (or draft again) a year's SHU: the percent of each part and the surplus; returns (plan, created).

    Coordinator or treasurer. The surplus defaults to what the group fund can give
    for the year. Nothing is booked until the coordinator accepts it.
    """
    authorize(actor, group, Role.coordinator, Role.treasurer)
    year, bps, surplus = _read_plan(
        year,
        surplus,
        {
            "reserve": reserve,
            "services": services,
            "capital": capital,
            "management": management,
            "education": education,
            "social": social,
        },
    )
    lock_group_books(group.id)
    plan = find_plan(group, year)
    if plan is not None and plan.accepted_at is not None:
        raise Conflict(_l("The SHU for %(year)d was accepted already.", year=year), {"year": [str(year)]})
    available, _at_year_end, _now = fund_available(group.id, year)
    if surplus is None:
        surplus = min(available, MAX_AMOUNT)  # one SHU shares at most the ceiling of any one amount
    elif surplus > available:
        raise Conflict(
            _l("The group fund can give at most %(amount)s for %(year)d.", amount=format_rupiah(available), year=year),
            {"surplus": [_("At most %(amount)s.", amount=format_rupiah(available))]},
        )
    created = plan is None
    if created:
        plan = ShuPlan(group_id=group.id, year=year)
        db.session.add(plan)
    plan.surplus = surplus
    for part in PARTS:
        setattr(plan, f"{part}_bp", bps[part])
    plan.created_by_id = actor.id
    plan.created_at = utcnow()
    db.session.flush()
    return plan, created


def accept(actor, group: Group, year) -> ShuPlan:
    """Book a drafted SHU once (coordinator): one balanced entry and each member's parts."""
    authorize(actor, group, Role.coordinator)
    lock_group_books(group.id)  # one at a time, and apart from refunds and settlements
    plan = get_plan_or_404(group, year)
    if plan.accepted_at is not None:
        raise Conflict(_l("The SHU for %(year)d was accepted already.", year=plan.year))
    if plan.year >= current_year():
        raise Conflict(
            _l("%(year)d has not ended yet; its SHU can be accepted from 1 January.", year=plan.year),
            {"year": [str(plan.year)]},
        )
    if plan.surplus <= 0:
        raise Conflict(_l("There is no surplus to share."), {"surplus": [str(plan.surplus)]})
    now = fund_balance(group.id)
    if plan.surplus > now:
        raise Conflict(
            _l(
                "The group fund holds %(amount)s now, less than this SHU shares. Draft it again.",
                amount=format_rupiah(now),
            ),
            {"surplus": [_("At most %(amount)s.", amount=format_rupiah(max(now, 0)))]},
        )
    allocation = compute(plan)
    postings = [(GROUP_FUND, plan.surplus)]
    postings += [(member_account(m.member_id), -m.total) for m in allocation.members]
    postings += [(shu_account(part), -allocation.parts[part]) for part in GROUP_PARTS]
    entry = ledger.post(
        group.id, "shu", postings, source="shu_plan", source_id=plan.id, actor_id=actor.id, memo=f"SHU {plan.year}"
    )
    db.session.flush()
    for member in allocation.members:
        db.session.add(
            ShuAllocation(
                plan_id=plan.id,
                member_id=member.member_id,
                transactions=member.transactions,
                savings=member.savings,
                services_part=member.services_part,
                capital_part=member.capital_part,
            )
        )
    result = db.session.execute(
        update(ShuPlan)
        .where(ShuPlan.id == plan.id, ShuPlan.accepted_at.is_(None))
        .values(entry_id=entry.id, accepted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_l("The SHU for %(year)d was accepted already.", year=plan.year))
    db.session.flush()
    db.session.refresh(plan)
    return plan


# --- reading ------------------------------------------------------------------------------------


def find_plan(group: Group, year: int) -> ShuPlan | None:
    """The group's plan for `year`, if drafted."""
    return db.session.scalar(select(ShuPlan).where(ShuPlan.group_id == group.id, ShuPlan.year == year))


def get_plan_or_404(group: Group, year) -> ShuPlan:
    """The group's plan for `year`, or 404."""
    plan = find_plan(group, year) if isinstance(year, int) and FIRST_YEAR <= year <= 9999 else None
    if plan is None:
        raise NotFound(_l("No SHU has been drafted for that year."))
    return plan


def viewable_plan(viewer, group: Group, year) -> ShuPlan:
    """A year's plan for `viewer`: officers and admins see drafts; members see it once accepted."""
    try:
        authorize(viewer, group, Role.coordinator, Role.treasurer, allow_admin=True)
    except Forbidden:
        if membership(group, viewer) is None:
            raise
        plan = get_plan_or_404(group, year)
        if plan.accepted_at is None:
            raise NotFound(_l("No SHU has been accepted for that year.")) from None
        return plan
    return get_plan_or_404(group, year)


def plans(viewer, group: Group) -> list[ShuPlan]:
    """The group's SHU plans, latest year first (coordinator, treasurer, admin)."""
    authorize(viewer, group, Role.coordinator, Role.treasurer, allow_admin=True)
    return list(db.session.scalars(select(ShuPlan).where(ShuPlan.group_id == group.id).order_by(ShuPlan.year.desc())))


def report(plan: ShuPlan) -> dict:
    """The plan with its allocation: booked if accepted, else computed from the books now."""
    allocation = booked(plan) if plan.accepted_at is not None else compute(plan)
    names = (
        dict(
            db.session.execute(
                select(Member.id, Member.name).where(Member.id.in_([m.member_id for m in allocation.members]))
            ).all()
        )
        if allocation.members
        else {}
    )
    available, at_year_end, now = fund_available(plan.group_id, plan.year)
    notes = []
    if allocation.capital_to_reserve:
        notes.append(
            _("This group records no savings, so the capital part (jasa modal) stays with the reserve.")
            if not allocation.keeps_savings
            else _(
                "No member had savings at the end of the year, so the capital part (jasa modal) stays with the reserve."
            )
        )
    if allocation.services_to_reserve:
        notes.append(
            _("No member had transactions in the year, so the services part (jasa usaha) stays with the reserve.")
        )
    if allocation.reserve_remainder:
        notes.append(
            _(
                "Members get whole rupiah, rounded down; the %(amount)s left over goes to the reserve.",
                amount=format_rupiah(allocation.reserve_remainder),
            )
        )
    unshared = credit_balance(plan.group_id, POOL, plan.year) if plan.accepted_at is None else 0
    if unshared > 0:
        notes.append(
            _(
                "The pool still holds %(amount)s of %(year)d's sales that no settlement has shared. Settle "
                "the periods up to 31 December before accepting: members' pool shares count in their "
                "transactions only once settled.",
                amount=format_rupiah(unshared),
                year=plan.year,
            )
        )
    return {
        "group_id": plan.group_id,
        "year": plan.year,
        "status": "accepted" if plan.accepted_at is not None else "draft",
        "surplus": plan.surplus,
        "percentages": {part: percent_text(allocation.basis_points[part]) for part in PARTS},
        "allocation": allocation.parts,
        "reserve_remainder": allocation.reserve_remainder,
        "members": [
            {
                "member_id": m.member_id,
                "name": names.get(m.member_id),
                "transactions": m.transactions,
                "savings": m.savings,
                "services_part": m.services_part,
                "capital_part": m.capital_part,
                "total": m.total,
            }
            for m in allocation.members
        ],
        "totals": {
            "transactions": sum(m.transactions for m in allocation.members),
            "savings": sum(m.savings for m in allocation.members),
        },
        "keeps_savings": allocation.keeps_savings,
        "capital_to_reserve": allocation.capital_to_reserve,
        "services_to_reserve": allocation.services_to_reserve,
        "notes": notes,
        "group_fund": {"at_year_end": at_year_end, "now": now, "available": available},
        "entry_id": plan.entry_id,
        "accepted_at": plan.accepted_at,
        "created_by_id": plan.created_by_id,
        "created_at": plan.created_at,
    }


# --- the books ----------------------------------------------------------------------------------


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

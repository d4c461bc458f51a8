"""Reading SHU plans: a year's plan, who may see it, the group's plans, and the report the API and pages show."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.errors import Forbidden, NotFound
from core.extensions import db
from core.money import format_rupiah
from groups.models import Group, Member, Role
from groups.services import authorize, membership
from revenue.models import ShuPlan
from revenue.services.accrual import POOL, percent_text
from revenue.services.shu.allocation import PARTS
from revenue.services.shu.books import booked, compute, credit_balance, fund_available
from revenue.services.shu.years import FIRST_YEAR


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

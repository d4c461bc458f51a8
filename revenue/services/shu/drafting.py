"""Drafting a year's SHU (the parts' percentages and the surplus) and accepting it: booked once, as one
balanced entry, under the group's books lock."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from core import ledger
from core.errors import Conflict, ValidationFailed, field_error
from core.extensions import db
from core.money import MAX_AMOUNT, format_rupiah
from core.types import utcnow
from core.validation import read_rupiah
from groups.models import Group, Role
from groups.services import authorize
from revenue.models import ShuAllocation, ShuPlan
from revenue.services.accrual import GROUP_FUND, lock_group_books, member_account, parse_percent, percent_text
from revenue.services.shu import years
from revenue.services.shu.allocation import GROUP_PARTS, PARTS, WHOLE, shu_account
from revenue.services.shu.books import compute, fund_available, fund_balance
from revenue.services.shu.reading import find_plan, get_plan_or_404


def _read_year(value) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) == 4:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not years.FIRST_YEAR <= value <= years.current_year():
        raise field_error(
            "year", _("Give a year from %(first)d to %(last)d.", first=years.FIRST_YEAR, last=years.current_year())
        )
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
    if plan.year >= years.current_year():
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

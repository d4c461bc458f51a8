"""Reading jobs: one job as its viewer may see it, the buyer's and the group's lists, a member's assignments,
and the group's jobs by due date with those at risk first."""

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from accounts.models import User
from accounts.services import require_signed_in
from commissions.models import Commission, CommissionAssignment, CommissionQuote
from commissions.services import records as r
from commissions.services.work import progress
from core.extensions import db
from core.quantity import format_quantity
from groups.models import Group, Member, Role
from groups.services import authorize
from inventory.models import Variant
from marketplace import services as market


def _variant_names(variant_ids) -> dict[int, str]:
    ids = {v for v in variant_ids if v is not None}
    if not ids:
        return {}
    return {
        v.id: f"{v.product.name} {v.label}".strip()
        for v in db.session.scalars(select(Variant).where(Variant.id.in_(ids)))
    }


def _quote_view(quote: CommissionQuote) -> dict:
    return {
        "revision": quote.revision,
        "due_date": quote.due_date,
        "total": quote.total,
        "deposit": quote.deposit,
        "deposit_percent": None
        if quote.deposit_basis_points is None
        else str(Decimal(quote.deposit_basis_points) / 100),
        "deposit_on_cancel": quote.deposit_on_cancel.value,
        "note": quote.note,
        "created_at": quote.created_at,
        "lines": [
            {"line_id": q.commission_line_id, "variant_id": q.variant_id, "unit_price": q.unit_price, "total": q.total}
            for q in quote.lines
        ],
    }


def commission_view(commission: Commission, viewer: User) -> dict:
    """A job as `viewer` sees it: its assignments (who makes what) only for the group's members."""
    names = _variant_names(line.variant_id for line in commission.lines)
    orders = r.orders_of(commission)
    accepted = r.accepted_quote(commission)
    paid = sum(o.paid - o.refunded for o in orders)
    insider = r.role_in(commission, viewer) is not None
    view = {
        "id": commission.id,
        "group_id": commission.group_id,
        "buyer_id": commission.buyer_id,
        "title": commission.title,
        "description": commission.description,
        "wanted_date": commission.wanted_date,
        "note": commission.note,
        "status": commission.status.value,
        "status_label": r.status_label(commission.status),
        "accepted_revision": commission.accepted_revision,
        "due_date": accepted.due_date if accepted else None,
        "lines": [
            {
                "id": line.id,
                "variant_id": line.variant_id,
                "variant_name": names.get(line.variant_id),
                "description": line.description,
                "quantity": format_quantity(line.quantity),
            }
            for line in commission.lines
        ],
        "quotes": [_quote_view(q) for q in commission.quotes],
        "deposit": {
            "amount": accepted.deposit if accepted else None,
            "paid": min(paid, accepted.deposit) if accepted else 0,
            "on_cancel": accepted.deposit_on_cancel.value if accepted else None,
        },
        "orders": [
            {"id": o.id, "status": o.status.value, "total": o.total, "paid": o.paid, "refunded": o.refunded}
            for o in orders
        ],
        "progress": progress(commission) if commission.checkout_id else [],
        "events": [
            {
                "from_status": e.from_status.value if e.from_status else None,
                "to_status": e.to_status.value,
                "actor_id": e.actor_id,
                "at": e.created_at,
                "note": e.note,
            }
            for e in commission.events
        ],
        "created_at": commission.created_at,
    }
    if insider:
        view["assignments"] = [assignment_view(a) for a in _assignments(commission.id)]
    return view


def _assignments(commission_id: int) -> list[CommissionAssignment]:
    return list(
        db.session.scalars(
            select(CommissionAssignment)
            .where(CommissionAssignment.commission_id == commission_id)
            .order_by(CommissionAssignment.id)
        )
    )


def assignment_view(a: CommissionAssignment) -> dict:
    member = db.session.get(Member, a.member_id)
    return {
        "id": a.id,
        "commission_id": a.commission_id,
        "line_id": a.commission_line_id,
        "variant_id": a.line.variant_id,
        "member_id": a.member_id,
        "member_name": member.name,
        "pieces": format_quantity(a.pieces),
        "done": format_quantity(a.done),
        "remaining": format_quantity(a.pieces - a.done),
    }


def buyer_commissions_query(user: User):
    user = require_signed_in(user)
    return select(Commission).where(Commission.buyer_id == user.id).order_by(Commission.id.desc())


def group_commissions_query(actor: User, group: Group, status: str | None = None):
    authorize(actor, group, Role.coordinator, Role.treasurer, allow_admin=True)
    query = select(Commission).where(Commission.group_id == group.id)
    if status:
        query = query.where(Commission.status == status)
    return query.order_by(Commission.id.desc())


def my_assignments(user: User) -> list[dict]:
    """The member's assignments in every group she belongs to, each with the job, what is left, the due date."""
    user = require_signed_in(user)
    member_ids = list(db.session.scalars(select(Member.id).where(Member.user_id == user.id)))
    if not member_ids:
        return []
    rows = db.session.scalars(
        select(CommissionAssignment)
        .where(CommissionAssignment.member_id.in_(member_ids))
        .order_by(CommissionAssignment.id)
    ).all()
    names = _variant_names(a.line.variant_id for a in rows)
    result = []
    for a in rows:
        commission = db.session.get(Commission, a.commission_id)
        accepted = r.accepted_quote(commission)
        result.append(
            {
                **assignment_view(a),
                "variant_name": names.get(a.line.variant_id),
                "title": commission.title,
                "group_id": commission.group_id,
                "status": commission.status.value,
                "due_date": accepted.due_date if accepted else None,
            }
        )
    return result


def due_jobs(actor: User, group: Group, today: date | None = None) -> list[dict]:
    """The group's jobs at work, those at risk first: pieces left per day left, highest first (a job past its
    due date with pieces left first of all), then by due date (coordinator, treasurer)."""
    authorize(actor, group, Role.coordinator, Role.treasurer, allow_admin=True)
    today = today or market.today_wib()
    jobs = db.session.scalars(
        select(Commission).where(Commission.group_id == group.id, Commission.status.in_(r.WORKING))
    ).all()
    rows = []
    for commission in jobs:
        accepted = r.accepted_quote(commission)
        done = {}
        for a in _assignments(commission.id):
            done[a.commission_line_id] = done.get(a.commission_line_id, Decimal(0)) + a.done
        left = sum((line.quantity - done.get(line.id, Decimal(0)) for line in commission.lines), Decimal(0))
        ordered = sum((line.quantity for line in commission.lines), Decimal(0))
        days_left = (accepted.due_date - today).days
        if left <= 0:
            pace = Decimal(0)
        elif days_left <= 0:
            pace = None  # due today or past, pieces still to make
        else:
            pace = (left / days_left).quantize(Decimal("0.01"))
        rows.append(
            {
                "commission_id": commission.id,
                "title": commission.title,
                "status": commission.status.value,
                "due_date": accepted.due_date,
                "days_left": days_left,
                "ordered": format_quantity(ordered),
                "pieces_left": format_quantity(left),
                "pieces_per_day": None if pace is None else format(pace.normalize(), "f"),
                "at_risk": pace is None,
            }
        )
    rows.sort(
        key=lambda row: (
            row["pieces_per_day"] is not None,
            -Decimal(row["pieces_per_day"] or 0),
            row["due_date"],
            row["commission_id"],
        )
    )
    return rows

"""What the made-to-order pages share: their blueprint, labels, the choices of a group's products and members,
a service's errors shown beside a form's rows, and the header's links."""

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from commissions import services
from commissions.models import Commission, CommissionAssignment
from core.errors import AppError
from core.extensions import db
from groups import services as groups
from groups.models import Group, Member
from inventory import services as stock
from inventory.models import Product, ProductStatus, Variant

bp = Blueprint("commissions", __name__)

PER_PAGE = 20
ON_CANCEL_LABELS = {
    "refund": _l("If the job is cancelled, the deposit is refunded to the buyer."),
    "keep": _l("If the job is cancelled, the group keeps the deposit; anything paid above it is refunded."),
}


def back_to_job(commission: Commission, anchor: str | None = None):
    """Back to the job's page (at `anchor`), after a form was sent."""
    return redirect(url_for("commissions.job", commission_id=commission.id, _anchor=anchor))


def variant_name(variant: Variant) -> str:
    """Seragam SD – M (pcs), as the selects and tables show a variant."""
    label = _("standard") if variant.label == stock.DEFAULT_LABEL else variant.label
    return f"{variant.product.name} – {label} ({variant.product.unit})"


def variant_choices(group: Group, *, listed_only: bool) -> list[SelectChoice]:
    """The group's active variants (of its listed products only, for a buyer), as a select's choices."""
    query = stock.products_query(group, "active" if listed_only else None).options(
        selectinload(Product.variants).selectinload(Variant.product)
    )
    return [
        SelectChoice(str(v.id), variant_name(v))
        for product in db.session.scalars(query)
        if product.status != ProductStatus.archived
        for v in product.variants
        if v.active
    ]


def variant_names(variant_ids) -> dict[int, str]:
    ids = {i for i in variant_ids if i is not None}
    if not ids:
        return {}
    query = select(Variant).where(Variant.id.in_(ids)).options(selectinload(Variant.product))
    return {v.id: variant_name(v) for v in db.session.scalars(query)}


def member_choices(group: Group) -> list[SelectChoice]:
    members = db.session.scalars(groups.members_query(group, include_inactive=False))
    return [SelectChoice("", _("Choose a member"))] + [SelectChoice(str(m.id), m.name) for m in members]


def show_errors(form, error: AppError, rows: list[int] | None = None, fields: dict | None = None) -> None:
    """A service's errors beside the form's fields: `lines.<n>.<field>` beside row `rows[n]` of the form's lines
    (the rows sent, in order), `fields` renaming the service's other keys; what has no place is flashed."""
    unplaced = []
    for key, messages in (error.errors or {}).items():
        target = _field_of(form, key, rows, fields or {})
        if target is None:
            unplaced += [str(m) for m in messages]
        else:
            target.errors = list(target.errors) + [str(m) for m in messages]
    if unplaced or not error.errors or error.code != 422:
        flash(" ".join(unplaced) if unplaced and error.code == 422 else str(error.message), "error")


def _field_of(form, key: str, rows, fields: dict):
    parts = key.split(".")
    if parts[0] == "lines" and len(parts) >= 2 and parts[1].isdigit() and "lines" in form:
        n = int(parts[1])
        index = rows[n] if rows is not None and n < len(rows) else n
        entries = form.lines.entries
        if index >= len(entries):
            return None
        row = entries[index].form
        name = fields.get(parts[2], parts[2]) if len(parts) > 2 else next(iter(row._fields))
        return row[name] if name in row else None
    name = fields.get(key, key)
    if name not in form or form[name].type == "FieldList":  # about the lines as a whole: on top
        return None
    return form[name]


@bp.app_template_global()
def job_status_label(status) -> str:
    """A job's status as people read it (commissions.services.status_label)."""
    return services.status_label(status)


@bp.app_context_processor
def _commission_globals():
    return {
        "has_jobs": _has_jobs,
        "has_assignments": _has_assignments,
    }


def _has_jobs() -> bool:
    """Whether the signed-in user ever asked a group to make something (the header links her jobs then)."""
    if not current_user.is_authenticated:
        return False
    found = select(Commission.id).where(Commission.buyer_id == current_user.id).limit(1)
    return db.session.scalar(found) is not None


def _has_assignments() -> bool:
    """Whether the signed-in user was ever given pieces to make (the header links them then)."""
    if not current_user.is_authenticated:
        return False
    found = (
        select(CommissionAssignment.id)
        .join(Member, Member.id == CommissionAssignment.member_id)
        .where(Member.user_id == current_user.id)
        .limit(1)
    )
    return db.session.scalar(found) is not None

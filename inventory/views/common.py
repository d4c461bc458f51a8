"""What the inventory pages share: their blueprint, labels, template helpers, reading the page argument,
the coordinator's check, a service's errors beside the right inputs, members' names and the unit choices."""

from flask import Blueprint, flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectChoice

from core.errors import AppError
from core.extensions import db
from groups import services as groups
from groups.models import Group, Member, Role
from inventory import services
from inventory.models import AdjustmentReason, MovementKind, ProductKind, ProductStatus, Variant

bp = Blueprint("inventory", __name__)

PER_PAGE = 50

KIND_LABELS = {
    ProductKind.produce: _l("Produce"),
    ProductKind.garment: _l("Garment"),
    ProductKind.processed: _l("Processed food"),
}
STATUS_LABELS = {
    ProductStatus.active: _l("active"),
    ProductStatus.hidden: _l("hidden"),
    ProductStatus.archived: _l("archived"),
}
MOVEMENT_LABELS = {
    MovementKind.intake: _l("Contribution"),
    MovementKind.reservation: _l("Held for an order"),
    MovementKind.release: _l("Hold released"),
    MovementKind.sale: _l("Sold"),
    MovementKind.adjustment: _l("Correction"),
    MovementKind.return_: _l("Return"),
}
REASON_LABELS = {
    AdjustmentReason.spoilage: _l("spoilage"),
    AdjustmentReason.damage: _l("damage"),
    AdjustmentReason.count: _l("count (stock opname)"),
    AdjustmentReason.return_: _l("return"),
}


# --- helpers for templates ------------------------------------------------------------


@bp.app_template_global()
def variant_label(variant: Variant) -> str:
    """A variant's label; the default one reads as "standard" in the user's language."""
    return _("standard") if variant.label == services.DEFAULT_LABEL else variant.label


@bp.app_template_global()
def variant_name(variant: Variant) -> str:
    """Cabai rawit – A (kg): product, variant and unit, as selects and lists show them."""
    return f"{variant.product.name} – {variant_label(variant)} ({variant.product.unit})"


@bp.app_template_global()
def sees_stock(group: Group) -> bool:
    """Whether to show stock links for `group` (the services check again on every page)."""
    try:
        groups.require_role(group, Role.coordinator, Role.treasurer, allow_admin=True)
    except AppError:
        return False
    return True


@bp.app_context_processor
def _labels():
    return {
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "movement_labels": MOVEMENT_LABELS,
        "reason_labels": REASON_LABELS,
    }


# --- helpers for views ----------------------------------------------------------------


def coordinated_group(group_id: int) -> Group:
    """The group, when the caller coordinates it; otherwise 404 or 403."""
    group = groups.get_group_or_404(group_id)
    groups.require_role(group, Role.coordinator)
    return group


def show_errors(form, error: AppError, fields: dict | None = None) -> None:
    """Put a service's field errors beside the right inputs, and its message on top when needed.

    Like core.pages.apply_errors, but `fields` can name where a service's key
    goes (a variant row's input for "variants.1.unit_price"), and messages for
    keys no input shows are flashed rather than lost.
    """
    fields = fields or {}
    placed = False
    for key, messages in error.errors.items():
        messages = [str(m) for m in messages] if isinstance(messages, (list, tuple)) else [str(messages)]
        target = fields.get(key)
        if target is None and key in form:
            target = form[key]
        if target is None:
            for message in messages:
                flash(message, "error")
            continue
        target.errors = list(target.errors) + messages
        placed = True
    if not placed or error.code != 422:
        flash(str(error.message), "error")


def member_names(member_ids) -> dict[int, str]:
    ids = set(member_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(Member.id, Member.name).where(Member.id.in_(ids))).all())


def unit_choices(form_field, group: Group, blank=None) -> None:
    units = services.group_units(group)
    choices = [SelectChoice("", blank)] if blank is not None else []
    form_field.choices = choices + [SelectChoice(code, unit.name) for code, unit in units.items()]

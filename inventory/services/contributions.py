"""Contributions and adjustments: goods members hand over become lots; counts and write-offs correct stock.

A contribution is a new lot and an intake movement. An adjustment takes stock
away (spoilage, damage, a count that found less) first in, first out or from a
named lot, or adds it (a return, a count that found more) to a named lot or the
most recent one. Every refusal comes before the first write.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from core.errors import Conflict
from core.extensions import db
from core.formatting import WIB, format_qty
from core.quantity import MAX_QUANTITY, QuantityError
from core.types import utcnow
from core.validation import optional_text
from groups.models import Group, Member, Role
from groups.services import authorize
from inventory.models import AdjustmentReason, Lot, Movement, MovementKind, Variant
from inventory.services.products import get_variant_in_group, resolve_unit
from inventory.services.records import check_id, field_error, quantity_in, quantity_message
from inventory.services.reservations import draw_lots, forget_counters, guarded_update, lock_stock, record_movements
from inventory.units import convert


def _clean_date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise field_error(field, _("Use a date such as 2026-11-28."))


def _clean_moment(value, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise field_error(field, _("Use a time such as 2026-11-28T07:30:00+07:00.")) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=WIB)
    if not isinstance(value, datetime):
        raise field_error(field, _("Use a time such as 2026-11-28T07:30:00+07:00."))
    if value.tzinfo is None:
        value = value.replace(tzinfo=WIB)  # people here mean Blitar time
    if value > utcnow() + timedelta(days=1):
        raise field_error(field, _("That is in the future."))
    if value.year < 2000:
        raise field_error(field, _("That is too long ago."))
    return value


def get_member_in_group(group: Group, member_id, field: str = "member_id", active: bool = True) -> Member:
    """A member of `group` named in a request (active unless `active` is False), or a 422 on `field`."""
    check_id(member_id, field)
    member = db.session.get(Member, member_id)
    if member is None or member.group_id != group.id:
        raise field_error(field, _("No such member in this group."))
    if active and not member.active:
        raise field_error(field, _("This member is inactive."))
    return member


def receive_contribution(
    actor,
    group: Group,
    *,
    variant_id,
    member_id,
    quantity,
    unit=None,
    grade=None,
    received_at=None,
    best_before=None,
    note=None,
) -> Lot:
    """Record goods a member hands to the group (coordinator): a new lot and an intake movement.

    `quantity` is in `unit` (the product's own by default), converted exactly; it is
    received now unless `received_at` says when (a time without a zone is WIB).
    """
    authorize(actor, group, Role.coordinator)
    variant = get_variant_in_group(group, variant_id)
    member = get_member_in_group(group, member_id)
    stock_unit = resolve_unit(group, variant.product.unit)
    given_unit = resolve_unit(group, unit, "unit") if unit else stock_unit
    quantity = quantity_in(quantity, given_unit)
    try:
        quantity = convert(quantity, given_unit, stock_unit)
    except QuantityError as exc:
        raise field_error(
            "unit",
            quantity_message(exc, stock_unit)
            if "cannot be converted" not in str(exc)
            else _("%(a)s cannot be converted to %(b)s.", a=given_unit.code, b=stock_unit.code),
        ) from None
    if quantity <= 0:
        raise field_error("quantity", _("The quantity must be more than zero."))
    grade = optional_text(grade, "grade", 20)
    received_at = _clean_moment(received_at, "received_at") or utcnow()
    best_before = _clean_date(best_before, "best_before")
    note = optional_text(note, "note", 500)
    if not guarded_update(variant.id, quantity, Decimal(0)):
        raise Conflict(_l("That would take the stock beyond its limits."))
    lot = Lot(
        group_id=group.id,
        variant_id=variant.id,
        member_id=member.id,
        quantity=quantity,
        remaining=quantity,
        grade=grade,
        received_at=received_at,
        best_before=best_before,
        note=note,
        created_by_id=actor.id,
    )
    db.session.add(lot)
    db.session.flush()
    record_movements(
        [
            {
                "group_id": group.id,
                "variant_id": variant.id,
                "kind": MovementKind.intake,
                "lot_id": lot.id,
                "on_hand_delta": quantity,
                "note": note,
                "actor_id": actor.id,
            }
        ]
    )
    forget_counters()
    return lot


def get_lot_in_group(group: Group, lot_id, variant: Variant, field: str = "lot_id") -> Lot:
    """A lot of `variant` in `group` named in a request, or a 422 on `field`."""
    check_id(lot_id, field)
    lot = db.session.get(Lot, lot_id)
    if lot is None or lot.group_id != group.id or lot.variant_id != variant.id:
        raise field_error(field, _("No such lot of this variant in this group."))
    return lot


def adjust(
    actor, group: Group, *, variant_id, reason, quantity=None, counted=None, lot_id=None, note=None
) -> list[Movement]:
    """Correct stock (coordinator): spoilage or damage (take away), a count (stock opname), or goods returned.

    `quantity` is the signed change; a count may give what was `counted` instead.
    Taking away draws from lots first in, first out unless a lot is named; adding
    goes to the named lot or the most recent one.
    """
    authorize(actor, group, Role.coordinator)
    variant = get_variant_in_group(group, variant_id)
    unit = resolve_unit(group, variant.product.unit)
    try:
        reason = AdjustmentReason(reason)
    except ValueError:
        raise field_error("reason", _("Choose spoilage, damage, count or return.")) from None
    note = optional_text(note, "note", 500)
    lot = get_lot_in_group(group, lot_id, variant) if lot_id is not None else None
    stock = lock_stock([variant.id])[variant.id]
    if reason == AdjustmentReason.count and counted is not None:
        if quantity is not None:
            raise field_error("counted", _("Send either the counted quantity or the change, not both."))
        delta = quantity_in(counted, unit, "counted", allow_zero=True) - stock.on_hand
    else:
        delta = quantity_in(quantity, unit, signed=True)
    if reason in (AdjustmentReason.spoilage, AdjustmentReason.damage) and delta > 0:
        raise field_error("quantity", _("Spoilage and damage take stock away: send a negative quantity."))
    if reason == AdjustmentReason.return_ and delta < 0:
        raise field_error("quantity", _("A return brings goods back: send a positive quantity."))
    if delta == 0:
        return []
    if stock.on_hand + delta > MAX_QUANTITY:
        raise field_error("quantity", _("That quantity is too large."))
    if delta < 0 and stock.on_hand + delta < stock.reserved:
        raise Conflict(
            _l(
                "Only %(n)s can be taken away: the rest is on hand for orders or not there.",
                n=format_qty(max(stock.on_hand - stock.reserved, Decimal(0))),
            ),
            {"quantity": [_("Stock cannot go below zero or below what orders hold.")]},
        )
    # Every refusal comes before the first write, so a refused adjustment changes nothing.
    if lot is not None:
        db.session.refresh(lot)  # as it is now that the stock row is locked
    target = None
    if delta > 0:
        target = lot or db.session.scalar(
            select(Lot).where(Lot.variant_id == variant.id).order_by(Lot.received_at.desc(), Lot.id.desc()).limit(1)
        )
        if target is None:
            raise Conflict(_l("No member has contributed this variant yet: record a contribution instead."))
    elif lot is not None and lot.remaining < -delta:
        raise Conflict(
            _l("The lots hold less than that."),
            {"quantity": [_("Only %(n)s left in the lots.", n=format_qty(lot.remaining))]},
        )
    if not guarded_update(variant.id, delta, Decimal(0)):
        raise Conflict(_l("Stock cannot go below zero or below what orders hold."))
    kind = MovementKind.return_ if reason == AdjustmentReason.return_ else MovementKind.adjustment
    if delta < 0:
        draws = [(drawn, -take) for drawn, take in draw_lots(variant.id, -delta, lot)]
    else:
        db.session.execute(
            update(Lot)
            .where(Lot.id == target.id)
            .values(remaining=Lot.remaining + delta)
            .execution_options(synchronize_session=False)
        )
        draws = [(target, delta)]
    movements = [
        Movement(
            group_id=group.id,
            variant_id=variant.id,
            kind=kind,
            reason=reason,
            lot_id=drawn.id,
            on_hand_delta=change,
            reserved_delta=Decimal(0),
            note=note,
            actor_id=actor.id,
        )
        for drawn, change in draws
    ]
    db.session.add_all(movements)
    db.session.flush()
    forget_counters()
    return movements

"""Splitting a delivery off an order: the part delivered now becomes an order of its own, so that each part is
packed, handed over, paid and completed on its own (and its makers are paid per delivery).

The money already paid stays on one side, whole: the side whose total can hold it. When the delivered part is
worth at least what was paid, the part stays the original order (with its payments) and the rest becomes a new
one; otherwise the rest stays the original and the part becomes the new order; when neither side can hold it,
the split is refused (409: deliver more at once). An order with refunds, or with a card payment under way, is
not split. Lines move whole where they can; a line split in two keeps its price, and its total is shared so
that the two totals add up to the line's. Units set aside for a line go to the delivered part first, and what
stock holds moves with each line (a release under the old line's reference and a reservation under the new).
"""

from decimal import Decimal
from typing import NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from accounts.models import User
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.money import format_rupiah
from core.quantity import QuantityError, parse_quantity
from core.types import utcnow
from inventory import services as stock
from marketplace.models import Order, OrderEvent, OrderKind, OrderLine, SetAsideLot
from marketplace.order_payments import order_payments
from marketplace.services.ahead import SETTING_ASIDE
from marketplace.services.orders import _require_coordinator, lock_order
from marketplace.services.records import line_total


class Split(NamedTuple):
    part: Order  # what is delivered now
    rest: Order  # what is left to deliver
    new: Order  # whichever of the two was made by the split


def money_side(part_total: int, rest_total: int, paid: int) -> str | None:
    """Which side keeps the money paid: "part" when the part can hold it, else "rest" when the rest can, else
    None (the split is refused)."""
    if part_total >= paid:
        return "part"
    if rest_total >= paid:
        return "rest"
    return None


def _read_parts(order: Order, parts) -> dict[int, Decimal]:
    if not isinstance(parts, dict) or not parts:
        raise ValidationFailed(errors={"lines": [_("Name at least one line and its quantity.")]})
    lines = {line.id: line for line in order.lines}
    errors, wanted = {}, {}
    for line_id, raw in parts.items():
        line = lines.get(line_id)
        if line is None:
            errors[f"lines.{line_id}"] = [_("No such line on this order.")]
            continue
        try:
            quantity = parse_quantity(raw)
        except QuantityError:
            errors[f"lines.{line_id}"] = [_("Not a valid quantity.")]
            continue
        if quantity > line.quantity:
            errors[f"lines.{line_id}"] = [_("Give more than zero and at most what the line holds.")]
            continue
        wanted[line_id] = quantity
    if errors:
        raise ValidationFailed(errors=errors)
    if all(wanted.get(line.id) == line.quantity for line in order.lines):
        raise ValidationFailed(errors={"lines": [_("That is the whole order: nothing is left to split off.")]})
    return wanted


def split_order(actor: User, order: Order, parts) -> Split:
    """Make the part of `order` named by `parts` ({line id: quantity}) an order of its own (coordinator).

    The new order has the same checkout, buyer, group, kind, status, payment method and fulfilment. What is
    paid stays on one side (see the module); both orders record the split as an event.
    """
    _require_coordinator(actor, order)
    order = lock_order(order)
    if order.status not in SETTING_ASIDE:
        raise Conflict(_l("Only an order not yet packed can be split."), {"status": [order.status.value]})
    if order.refunded:
        raise Conflict(_l("Money was refunded on this order; it cannot be split."))
    if order_payments().card_pending(order):
        raise Conflict(_l("A card payment for this order may be going through. Wait a minute and reload."))
    wanted = _read_parts(order, parts)
    part_totals = {
        line.id: (line.total if wanted[line.id] == line.quantity else line_total(line.unit_price, wanted[line.id]))
        for line in order.lines
        if line.id in wanted
    }
    part_total = sum(part_totals.values())
    side = money_side(part_total, order.total - part_total, order.paid)
    if side is None:
        raise Conflict(
            _l(
                "%(paid)s is paid on this order and stays with one of its parts: deliver at least %(paid)s at once.",
                paid=format_rupiah(order.paid),
            ),
            {"lines": [_("Deliver at least %(paid)s at once.", paid=format_rupiah(order.paid))]},
        )
    now = utcnow()
    new = Order(
        checkout_id=order.checkout_id,
        group_id=order.group_id,
        buyer_id=order.buyer_id,
        kind=order.kind,
        status=order.status,
        payment_method=order.payment_method,
        fulfilment_method=order.fulfilment_method,
        fulfilment_date=order.fulfilment_date,
        address=order.address,
        note=order.note,
        total=0,
        paid=0,
        refunded=0,
        card_fees=0,
        currency=order.currency,
        expires_at=order.expires_at,
        created_at=now,
        updated_at=now,
    )
    db.session.add(new)
    db.session.flush()
    moved_total = 0
    for line in list(order.lines):
        part_quantity = wanted.get(line.id, Decimal(0))
        part_line_total = part_totals.get(line.id, 0)
        if side == "rest":  # the part moves to the new order
            moving, moving_total = part_quantity, part_line_total
        else:  # the rest moves
            moving, moving_total = line.quantity - part_quantity, line.total - part_line_total
        if moving == 0:
            continue
        moved_total += moving_total
        if moving == line.quantity:
            line.order = new  # the whole line moves; what it holds keeps its reference
            continue
        _move_part_of_line(actor, line, new, moving, moving_total, part_quantity, to_new_is_part=side == "rest")
    order.total -= moved_total
    new.total = moved_total
    order.updated_at = now
    db.session.add(
        OrderEvent(
            order_id=order.id,
            actor_id=actor.id,
            from_status=order.status,
            to_status=order.status,
            note=_("Order #%(id)d was split off this one.", id=new.id),  # read in the history: in words
            created_at=now,
        )
    )
    db.session.add(
        OrderEvent(
            order_id=new.id,
            actor_id=actor.id,
            from_status=None,
            to_status=new.status,
            note=_("Split off order #%(id)d.", id=order.id),
            created_at=now,
        )
    )
    db.session.flush()
    db.session.expire(order, ["lines", "events"])
    db.session.expire(new, ["lines", "events"])
    return Split(order, new, new) if side == "part" else Split(new, order, new)


def _move_part_of_line(
    actor: User,
    line: OrderLine,
    new: Order,
    moving: Decimal,
    moving_total: int,
    part_quantity: Decimal,
    *,
    to_new_is_part: bool,
) -> None:
    """`moving` of `line` becomes a line of `new`; the units set aside for the line go to the part first."""
    copy = OrderLine(
        order_id=new.id,
        variant_id=line.variant_id,
        product_name=line.product_name,
        variant_label=line.variant_label,
        unit=line.unit,
        quantity=moving,
        unit_price=line.unit_price,
        total=moving_total,
    )
    db.session.add(copy)
    db.session.flush()
    line.quantity -= moving
    line.total -= moving_total
    # The part takes set-aside units first, up to its quantity; the rest what is left.
    part_room = part_quantity
    moved_aside = Decimal(0)
    for kept in list(line.set_aside):
        to_part = min(kept.quantity, part_room)
        part_room -= to_part
        to_new = to_part if to_new_is_part else kept.quantity - to_part
        if to_new == 0:
            continue
        moved_aside += to_new
        if to_new == kept.quantity:
            kept.order_line_id = copy.id
        else:
            kept.quantity -= to_new
            db.session.add(SetAsideLot(order_line_id=copy.id, lot_id=kept.lot_id, quantity=to_new))
    held = moving if line.order.kind == OrderKind.stock else moved_aside
    if held > 0:
        stock.release([stock.StockLine(line.variant_id, held, f"order_line:{line.id}")], actor_id=actor.id)
        stock.reserve([stock.StockLine(line.variant_id, held, f"order_line:{copy.id}")], actor_id=actor.id)
    db.session.flush()
    db.session.expire(line, ["set_aside"])

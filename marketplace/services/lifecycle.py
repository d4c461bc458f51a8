"""The order lifecycle: confirm, pack (units from members' lots first in, first out), complete, cancel."""

from flask_babel import lazy_gettext as _l

from accounts.models import User
from core.errors import Conflict, Unauthorized
from core.extensions import db
from core.money import format_rupiah
from core.validation import optional_text
from inventory import services as stock
from marketplace.models import (
    Order,
    OrderKind,
    OrderLineLot,
    OrderStatus,
)
from marketplace.services.ahead import held_elsewhere, not_all_in
from marketplace.services.orders import _move, _release, _require_coordinator, lock_order
from marketplace.services.reading import can_complete, payment_status
from marketplace.services.records import NOTE_MAX_LENGTH, require_within_ceiling
from revenue.services import accrual as revenue

# --- the lifecycle ----------------------------------------------------------------------


def confirm(actor: User, order: Order) -> Order:
    """The coordinator accepts the order."""
    _require_coordinator(actor, order)
    order = lock_order(order)
    _move(order, OrderStatus.confirmed, actor.id)
    db.session.flush()
    return order


def mark_ready(actor: User, order: Order) -> Order:
    """Packed: the units leave the members' lots, and each line keeps its allocation.

    A line is drawn first from the lots set aside for it, then first in, first out from units no other open
    line has set aside. An order placed before its goods existed is packed only when all of it is set aside.
    """
    _require_coordinator(actor, order)
    order = lock_order(order)
    _move(order, OrderStatus.ready, actor.id)
    if order.kind != OrderKind.stock:
        short = [line for line in order.lines if sum((s.quantity for s in line.set_aside), 0) != line.quantity]
        if short:
            raise not_all_in(short)
    for line in sorted(order.lines, key=lambda item: item.variant_id):
        draws = stock.consume(
            stock.StockLine(line.variant_id, line.quantity, f"order_line:{line.id}"),
            actor_id=actor.id,
            lots=[(s.lot_id, s.quantity) for s in line.set_aside],
            held=held_elsewhere(line),
        )
        for draw in draws:
            db.session.add(
                OrderLineLot(
                    order_line_id=line.id, lot_id=draw.lot_id, member_id=draw.member_id, quantity=draw.quantity
                )
            )
    db.session.flush()
    return order


def complete(actor: User, order: Order) -> Order:
    """Handed over to the buyer."""
    _require_coordinator(actor, order)
    order = lock_order(order)
    require_within_ceiling(order)
    if order.status == OrderStatus.ready and not can_complete(order):
        message = (
            _l("This order is not paid in full: %(owed)s is still owed.", owed=format_rupiah(order.total - order.paid))
            if order.paid < order.total
            else _l("This order's payment was refunded; it cannot be completed.")
        )
        raise Conflict(message, {"payment_status": [payment_status(order)]})
    _move(order, OrderStatus.completed, actor.id)
    _accrue(order, actor.id)
    db.session.flush()
    return order


def _accrue(order: Order, actor_id: int | None) -> None:
    """The order's net revenue, split among the members whose lots supplied it (or the pool) and the fund."""
    lines = [
        revenue.SaleLine(
            line_id=line.id,
            product_name=line.product_name,
            total=line.total,
            lots=[
                revenue.LotShare(
                    member_id=a.member_id,
                    lot_id=a.lot_id,
                    quantity=a.quantity,
                    weight=int(a.quantity * 1000) * line.unit_price,
                )
                for a in line.allocations
            ],
        )
        for line in order.lines
    ]
    revenue.accrue_sale(
        order.group_id,
        order.id,
        lines,
        paid=order.paid,
        refunded=order.refunded,
        fees=order.card_fees,
        actor_id=actor_id,
    )


def cancel(actor: User, order: Order, note=None) -> Order:
    """Cancel before packing: the buyer their own order, or the group's coordinator. Stock is released."""
    if actor is None or not actor.is_authenticated:
        raise Unauthorized()
    note = optional_text(note, "reason", NOTE_MAX_LENGTH)
    if order.buyer_id != actor.id:
        _require_coordinator(actor, order)
    order = lock_order(order)
    _move(order, OrderStatus.cancelled, actor.id, note)
    _release(order, actor.id)
    db.session.flush()
    return order

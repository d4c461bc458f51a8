"""Orders placed before the goods exist (made to order, pre-ordered): placed without reserving, and goods set
aside for their lines as they arrive.

An order of another kind than `stock` holds no stock when it is placed. When goods made or picked for it
arrive (a member's lot), `set_aside` reserves the lot's units for the order at once, by the same guarded
reservation checkout makes, and records them as set aside for the line (SetAsideLot). Packing draws a line
first from its set-aside lots, and first in, first out packing of every other line passes them by, so each
unit names the member who made it.
"""

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from accounts.models import User
from core.errors import Conflict, field_error
from core.extensions import db
from core.formatting import format_qty
from core.idempotency import request_fingerprint
from core.money import MAX_AMOUNT
from core.quantity import format_quantity
from core.types import utcnow
from groups.models import Group
from inventory import services as stock
from inventory.models import Lot, Variant
from marketplace.models import (
    Checkout,
    FulfilmentMethod,
    Order,
    OrderEvent,
    OrderKind,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    SetAsideLot,
)
from marketplace.services.orders import _require_coordinator, lock_order
from marketplace.services.records import line_total

SETTING_ASIDE = (OrderStatus.placed, OrderStatus.confirmed)  # an order takes goods set aside until it is packed


def place_without_stock(
    actor: User,
    buyer: User,
    group: Group,
    kind: OrderKind,
    lines: list[tuple[Variant, Decimal, int]],
    *,
    fulfilment_method: FulfilmentMethod,
    fulfilment_date: date,
    payment_method: PaymentMethod,
    address: str | None = None,
    note: str | None = None,
    status: OrderStatus = OrderStatus.confirmed,
) -> Order:
    """One order of `group` for `buyer`, of `kind` (not `stock`), in a checkout of its own, reserving nothing.

    `lines` are (variant of the group, quantity, unit price). The order starts at `status` (`confirmed`: the
    group agreed to it already), recorded as one event by `actor`. The caller checked who may place it and the
    quantities; the amounts are checked against their ceiling here.
    """
    if kind == OrderKind.stock:
        raise ValueError("an order from stock is placed at checkout")
    if not lines:
        raise field_error("lines", _("Add at least one product."))
    rows = []
    for variant, quantity, unit_price in lines:
        if variant.group_id != group.id:
            raise field_error("lines", _("This product is not for sale."))
        rows.append((variant, quantity, unit_price, line_total(unit_price, quantity)))
    total = sum(row[3] for row in rows)
    if total > MAX_AMOUNT:
        raise field_error("lines", _("This order comes to more than the most one order may be."))
    now = utcnow()
    checkout = Checkout(
        buyer_id=buyer.id,
        idempotency_key=None,
        request_hash=request_fingerprint({"kind": kind.value, "group_id": group.id, "at": now.isoformat()}),
        total=total,
        payment_method=payment_method,
        created_at=now,
    )
    order = Order(
        checkout=checkout,
        group_id=group.id,
        buyer_id=buyer.id,
        kind=kind,
        status=status,
        payment_method=payment_method,
        fulfilment_method=fulfilment_method,
        fulfilment_date=fulfilment_date,
        address=address if fulfilment_method == FulfilmentMethod.delivery else None,
        note=note,
        total=total,
        paid=0,
        refunded=0,
        card_fees=0,
        currency="IDR",
        expires_at=None,
        created_at=now,
        updated_at=now,
    )
    for variant, quantity, unit_price, amount in rows:
        order.lines.append(
            OrderLine(
                variant_id=variant.id,
                product_name=variant.product.name,
                variant_label=variant.label,
                unit=variant.product.unit,
                quantity=quantity,
                unit_price=unit_price,
                total=amount,
            )
        )
    order.events.append(OrderEvent(actor_id=actor.id, from_status=None, to_status=status, created_at=now))
    db.session.add(checkout)
    db.session.add(order)
    db.session.flush()
    return order


def set_aside_total(line: OrderLine) -> Decimal:
    return sum((s.quantity for s in line.set_aside), Decimal(0))


def set_aside(actor: User, line: OrderLine, lot: Lot, quantity: Decimal) -> SetAsideLot:
    """Keep `quantity` of `lot` (goods that arrived for this order) for `line`: reserved for its order at once
    (the guarded reservation checkout makes) and recorded as set aside for the line (coordinator).

    409 when the line's order is not waiting for goods (packed, closed, or an order from stock), when the line
    would get more than it ordered, or when the lot's units are not free to reserve.
    """
    order = line.order
    _require_coordinator(actor, order)
    order = lock_order(order)
    if order.kind == OrderKind.stock or order.status not in SETTING_ASIDE:
        raise Conflict(_l("This order takes no more goods set aside."), {"status": [order.status.value]})
    if lot.variant_id != line.variant_id or lot.group_id != order.group_id:
        raise field_error("lot_id", _("No such lot of this variant in this group."))
    room = line.quantity - set_aside_total(line)
    if quantity <= 0 or quantity > room:
        raise Conflict(
            _l("Only %(n)s more can be set aside for this line.", n=format_qty(room)),
            {"quantity": [_("At most %(n)s.", n=format_qty(room))]},
        )
    stock.reserve([stock.StockLine(line.variant_id, quantity, f"order_line:{line.id}")], actor_id=actor.id)
    kept = SetAsideLot(order_line_id=line.id, lot_id=lot.id, quantity=quantity)
    line.set_aside.append(kept)
    db.session.flush()
    return kept


def held_elsewhere(line: OrderLine) -> dict[int, Decimal]:
    """Per lot of the line's variant, the units set aside for the other lines of orders not yet packed."""
    rows = db.session.execute(
        select(SetAsideLot.lot_id, func.sum(SetAsideLot.quantity))
        .join(OrderLine, OrderLine.id == SetAsideLot.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.variant_id == line.variant_id, OrderLine.id != line.id, Order.status.in_(SETTING_ASIDE))
        .group_by(SetAsideLot.lot_id)
    )
    return {lot_id: Decimal(total) for lot_id, total in rows}


def held_in_lots(lot_ids) -> dict[int, Decimal]:
    """Per lot named, the units set aside for lines of orders not yet packed (what its `remaining` still counts
    but no one else may take)."""
    ids = set(lot_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(SetAsideLot.lot_id, func.sum(SetAsideLot.quantity))
        .join(OrderLine, OrderLine.id == SetAsideLot.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(SetAsideLot.lot_id.in_(ids), Order.status.in_(SETTING_ASIDE))
        .group_by(SetAsideLot.lot_id)
    )
    return {lot_id: Decimal(total) for lot_id, total in rows}


def not_all_in(lines: list[OrderLine]) -> Conflict:
    """The refusal to pack an order placed before its goods existed while some of them are not in yet."""
    return Conflict(
        _l("Not all of this order's goods are in yet; it can be packed once they are."),
        {
            "lines": [
                {
                    "line_id": line.id,
                    "quantity": format_quantity(line.quantity),
                    "set_aside": format_quantity(set_aside_total(line)),
                }
                for line in lines
            ]
        },
    )

"""Finding orders and who may see or move them; an order's status moves under its row lock, recorded as an event."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.models import User
from accounts.services import require_signed_in
from core.database import lock_row
from core.errors import NotFound
from core.extensions import db
from core.types import utcnow
from core.validation import row_by_id
from groups.models import Group, Member, Role
from groups.services import authorize, membership
from inventory import services as stock
from marketplace.models import (
    Checkout,
    Order,
    OrderEvent,
    OrderKind,
    OrderStatus,
)
from marketplace.services.records import TRANSITIONS, TransitionNotAllowed
from marketplace.signals import order_moved

# --- fetching and permission --------------------------------------------------------------


def get_checkout_or_404(actor: User | None, checkout_id: int) -> Checkout:
    """The actor's own checkout; anyone else's is as unknown as a missing one. 401 without an actor."""
    user = require_signed_in(actor)
    checkout = row_by_id(Checkout, checkout_id)
    if checkout is None or checkout.buyer_id != user.id:
        raise NotFound(_l("Checkout not found."))
    return checkout


def get_order_or_404(actor: User | None, order_id: int) -> Order:
    """An order the actor may see: their own, or one of a group they coordinate or keep the books of.
    401 without an actor."""
    user = require_signed_in(actor)
    order = row_by_id(Order, order_id)
    if order is None or not can_view(order, user):
        raise NotFound(_l("Order not found."))
    return order


def can_view(order: Order, user) -> bool:
    if order.buyer_id == user.id or user.is_admin:
        return True
    member = membership(db.session.get(Group, order.group_id), user)
    return member is not None and member.role in (Role.coordinator, Role.treasurer)


def groups_seeing_allocations(user, group_ids) -> set[int]:
    """Of `group_ids`, those whose coordinator or treasurer `user` is: only they see whose lots supplied an order."""
    if user is None or not user.is_authenticated or not group_ids:
        return set()
    return set(
        db.session.scalars(
            select(Member.group_id).where(
                Member.group_id.in_(set(group_ids)),
                Member.user_id == user.id,
                Member.active.is_(True),
                Member.role.in_((Role.coordinator, Role.treasurer)),
            )
        )
    )


def manages(order: Order, user) -> bool:
    """Whether the user coordinates the order's group (for showing actions; services check again)."""
    member = membership(db.session.get(Group, order.group_id), user)
    return member is not None and member.role == Role.coordinator


def _require_coordinator(actor: User, order: Order) -> None:
    """401 or 403 unless `actor` coordinates the order's group."""
    authorize(actor, db.session.get(Group, order.group_id), Role.coordinator)


def lock_order(order: Order) -> Order:
    """Re-read the order under a row lock (PostgreSQL; SQLite writers hold the database lock)."""
    return lock_row(order)


def _move(order: Order, to: OrderStatus, actor_id: int | None, note: str | None = None) -> Order:
    if to not in TRANSITIONS[order.status]:
        raise TransitionNotAllowed(order, to)
    db.session.add(OrderEvent(order_id=order.id, actor_id=actor_id, from_status=order.status, to_status=to, note=note))
    order.status = to
    order.updated_at = utcnow()
    order_moved.send(order, to=to, actor_id=actor_id)
    return order


def held_for(line) -> "Decimal":
    """What stock holds for an order line: all of it for an order from stock, what was set aside for it for an
    order placed before the goods existed."""
    if line.order.kind == OrderKind.stock:
        return line.quantity
    return sum((s.quantity for s in line.set_aside), Decimal(0))


def _stock_lines(order: Order) -> list:
    """The stock each line of the order holds, as lines to release."""
    lines = []
    for line in order.lines:
        quantity = held_for(line)
        if quantity > 0:
            lines.append(stock.StockLine(line.variant_id, quantity, f"order_line:{line.id}"))
    return lines


def _release(order: Order, actor_id: int | None) -> None:
    stock.release(_stock_lines(order), actor_id=actor_id)

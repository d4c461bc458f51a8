"""Reading orders: the buyer's and the group's lists, the packing list, payment status, counts."""

from collections import OrderedDict
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from accounts.models import User
from core.errors import field_error
from core.extensions import db
from core.quantity import format_quantity
from groups.models import Group, Member, Role
from groups.services import authorize
from marketplace.models import (
    OPEN_STATUSES,
    Order,
    OrderKind,
    OrderStatus,
    PaymentMethod,
)

# --- reading ------------------------------------------------------------------------------


def buyer_orders_query(user: User, status: str | None = None, day: date | None = None):
    """The buyer's own orders, newest first, filtered by status and fulfilment day."""
    query = select(Order).where(Order.buyer_id == user.id)
    if status:
        query = query.where(Order.status == _status(status))
    if day:
        query = query.where(Order.fulfilment_date == day)
    return query.order_by(Order.id.desc())


def group_orders_query(actor: User | None, group: Group, status: str | None = None, day: date | None = None):
    """A group's orders for its coordinator or treasurer (or the district admin), filtered by status and
    fulfilment day."""
    authorize(actor, group, Role.coordinator, Role.treasurer, allow_admin=True)
    query = select(Order).where(Order.group_id == group.id)
    if status:
        query = query.where(Order.status == _status(status))
    if day:
        query = query.where(Order.fulfilment_date == day)
    return query.order_by(Order.fulfilment_date, Order.id)


def due_to_pack(today: date):
    """SQL: an order confirmed for `today` or a day already past, so still to pack."""
    return and_(Order.status == OrderStatus.confirmed, Order.fulfilment_date <= today)


def awaiting_payment():
    """SQL: an order whose money the coordinator or treasurer records by hand and which is not paid in full:
    a transfer while the order is open (the buyer may send it any time), cash once packed (taken at handover),
    and a card order placed before its goods existed once packed (its deposit was paid by card; the rest may be
    taken in cash at handover)."""
    return and_(
        Order.paid < Order.total,
        or_(
            and_(Order.payment_method == PaymentMethod.transfer, Order.status.in_(OPEN_STATUSES)),
            and_(Order.payment_method == PaymentMethod.cash, Order.status == OrderStatus.ready),
            and_(
                Order.payment_method == PaymentMethod.card,
                Order.kind != OrderKind.stock,
                Order.status == OrderStatus.ready,
            ),
        ),
    )


def _status(value) -> OrderStatus:
    try:
        return OrderStatus(value)
    except ValueError:
        raise field_error("status", _("Unknown status.")) from None


def packing_list(actor: User | None, group: Group, day: date) -> dict:
    """What to pack for a fulfilment day: the confirmed and ready orders, and totals per variant."""
    authorize(actor, group, Role.coordinator, Role.treasurer, allow_admin=True)
    orders = list(
        db.session.scalars(
            select(Order)
            .options(selectinload(Order.lines))
            .where(
                Order.group_id == group.id,
                Order.fulfilment_date == day,
                Order.status.in_((OrderStatus.confirmed, OrderStatus.ready)),
            )
            .order_by(Order.fulfilment_method, Order.id)
        )
    )
    totals: OrderedDict[int, dict] = OrderedDict()
    for order in orders:
        for line in order.lines:
            entry = totals.setdefault(
                line.variant_id,
                {
                    "product_name": line.product_name,
                    "variant_label": line.variant_label,
                    "unit": line.unit,
                    "quantity": Decimal(0),
                },
            )
            entry["quantity"] += line.quantity
    buyers = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({o.buyer_id for o in orders})))}
    return {"day": day, "orders": orders, "totals": list(totals.values()), "buyers": buyers}


def coordinator_contact(group_id: int) -> Member | None:
    """The group's first active coordinator with a phone, for the buyer's WhatsApp link."""
    return db.session.scalar(
        select(Member)
        .where(
            Member.group_id == group_id,
            Member.active.is_(True),
            Member.role == Role.coordinator,
            Member.phone.is_not(None),
        )
        .order_by(Member.id)
        .limit(1)
    )


def payment_status(order: Order) -> str:
    """unpaid, partial, paid, partially_refunded or refunded: from the order's recorded sums."""
    if order.refunded and order.refunded >= order.paid:
        return "refunded"
    if order.refunded:
        return "partially_refunded"
    if not order.paid:
        return "unpaid" if order.total else "paid"
    return "paid" if order.paid >= order.total else "partial"


def is_paid_clause():
    """SQL for 'this order is fully paid'."""
    return Order.paid >= Order.total


def can_complete(order: Order) -> bool:
    """Handed over only when paid in full (a part refunded since is allowed, a full refund is not)."""
    return order.paid >= order.total and (order.refunded < order.paid or order.total == 0)


def order_counts(group: Group) -> dict[str, int]:
    rows = db.session.execute(
        select(Order.status, func.count(Order.id))
        .where(Order.group_id == group.id, Order.status.in_(OPEN_STATUSES))
        .group_by(Order.status)
    )
    return {status.value: n for status, n in rows}


def quantity_text(value: Decimal) -> str:
    return format_quantity(value)

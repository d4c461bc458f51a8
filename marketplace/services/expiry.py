"""Unpaid card orders past their payment window: expired where their stock is needed, and by `flask orders expire`."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from core.extensions import db
from core.types import utcnow
from inventory import services as stock
from marketplace.models import (
    Order,
    OrderEvent,
    OrderKind,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)
from marketplace.services.orders import _move, _release, _stock_lines, lock_order
from marketplace.services.reading import is_paid_clause
from marketplace.services.records import REINSTATED_FROM, TransitionNotAllowed

EXPIRING = (OrderStatus.placed, OrderStatus.confirmed)  # the statuses an unpaid card order expires from


def _overdue(now: datetime) -> tuple:
    """SQL for 'an unpaid card order past its payment window'. Only orders from stock expire: an order placed
    before its goods existed holds no stock that others wait for."""
    return (
        Order.kind == OrderKind.stock,
        Order.status.in_(EXPIRING),
        Order.payment_method == PaymentMethod.card,
        Order.expires_at.is_not(None),
        Order.expires_at < now,
        ~is_paid_clause(),
    )


def _expire(order: Order) -> None:
    _move(order, OrderStatus.expired, None, "payment window passed")
    _release(order, None)


def expire_orders(now: datetime | None = None, limit: int = 500) -> int:
    """Expire unpaid card orders past their payment window and release their stock; returns how many."""
    now = now or utcnow()
    ids = list(db.session.scalars(select(Order.id).where(*_overdue(now)).order_by(Order.id).limit(limit)))
    expired = 0
    for order_id in ids:
        order = lock_order(db.session.get(Order, order_id))
        if order.status not in EXPIRING or order.paid >= order.total:
            continue  # moved on or paid meanwhile
        _expire(order)
        expired += 1
    db.session.flush()
    return expired


def expire_overdue_holding(variant_ids, now: datetime | None = None) -> int:
    """Expire the unpaid card orders past their payment window that hold any of `variant_ids`, and release their
    stock, in the caller's transaction; returns how many.

    For a sale that found those variants short, so it waits for no one: on
    PostgreSQL an order, or a stock row, that another transaction holds is left
    to it (that transaction is moving it now), and each order is expired in a
    savepoint of its own.
    """
    now = now or utcnow()
    holding = select(OrderLine.order_id).where(OrderLine.variant_id.in_(set(variant_ids)))
    query = (
        select(Order)
        .where(*_overdue(now), Order.id.in_(holding))
        .order_by(Order.id)
        .execution_options(populate_existing=True)
    )
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    if postgresql:
        query = query.with_for_update(skip_locked=True)
    expired = 0
    for order in db.session.scalars(query).all():
        try:
            with db.session.begin_nested():
                if postgresql:
                    stock.lock_without_waiting(line.variant_id for line in order.lines)
                _expire(order)
        except stock.StockBusy:
            continue
        expired += 1
    return expired


def _hold_releasing_overdue(hold: Callable[[], None], now: datetime) -> None:
    """Hold stock by `hold`; when it finds a variant short, expire the overdue unpaid card orders holding it and
    try once more: an order whose payment window has passed never blocks a sale."""
    try:
        hold()
    except stock.InsufficientStock as short:
        if not expire_overdue_holding([line["variant_id"] for line in short.shortfalls], now):
            raise
        hold()


def reinstate_expired(order: Order, note: str) -> bool:
    """An expired order stands again when its stock can still be reserved (a card payment for it went through
    after it expired): back to the status it expired from, its reservation made again, as an event by no one.
    False, changing nothing, when the stock is no longer there. The order is locked by the caller."""
    if order.status not in REINSTATED_FROM:
        raise TransitionNotAllowed(order, OrderStatus.placed)
    try:
        with db.session.begin_nested():
            _hold_releasing_overdue(lambda: stock.reserve(_stock_lines(order), actor_id=None), utcnow())
    except stock.InsufficientStock:
        return False
    before = db.session.scalar(
        select(OrderEvent.from_status)
        .where(OrderEvent.order_id == order.id, OrderEvent.to_status == order.status)
        .order_by(OrderEvent.id.desc())
        .limit(1)
    )
    back = before if before in REINSTATED_FROM[order.status] else OrderStatus.placed
    db.session.add(OrderEvent(order_id=order.id, actor_id=None, from_status=order.status, to_status=back, note=note))
    order.status = back
    order.updated_at = utcnow()
    db.session.flush()
    return True

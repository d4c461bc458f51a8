"""What an order shows of its money: its payments and refunds, the reference to quote, and how to pay what is
still owed; card fees and slips only for the group's coordinator and treasurer."""

from sqlalchemy import select

from core.extensions import db
from groups.models import Group
from marketplace.models import OPEN_STATUSES, Order
from payments.models import Payment, Refund
from payments.providers import order_reference, provider_for


def payment_details(orders: list[Order], insiders: set[int]) -> dict[int, dict]:
    """Per order: its payments and refunds, and how to pay what is owed; fees only for the group's insiders."""
    ids = [order.id for order in orders]
    payments: dict[int, list] = {order_id: [] for order_id in ids}
    refunds: dict[int, list] = {order_id: [] for order_id in ids}
    if ids:
        for payment in db.session.scalars(select(Payment).where(Payment.order_id.in_(ids)).order_by(Payment.id)):
            payments[payment.order_id].append(payment)
        for refund in db.session.scalars(select(Refund).where(Refund.order_id.in_(ids)).order_by(Refund.id)):
            refunds[refund.order_id].append(refund)
    groups = {order.group_id for order in orders}
    groups = {g.id: g for g in db.session.scalars(select(Group).where(Group.id.in_(groups)))} if groups else {}
    return {
        order.id: order_money(
            order, groups[order.group_id], order.group_id in insiders, payments[order.id], refunds[order.id]
        )
        for order in orders
    }


def order_money(order: Order, group: Group, insider: bool, payments=(), refunds=()) -> dict:
    """One order's payment details (see payment_details), from its payments and refunds already read: none for an
    order just placed."""
    owed = order.total - order.paid
    instructions = None
    if owed > 0 and order.status in OPEN_STATUSES:
        instructions = provider_for(order.payment_method).instructions(order, group)
    return {
        "reference": order_reference(order),
        "owed": max(owed, 0),
        "card_fees": order.card_fees if insider else None,
        "payment_instructions": instructions,
        "payments": [
            {
                "id": p.id,
                "method": p.method.value,
                "amount": p.amount,
                "reference": p.reference,
                "reverses_id": p.reverses_id,
                "received_at": p.received_at,
                "fee": p.fee if insider else None,
                "slip": bool(p.slip_name) if insider else None,
            }
            for p in payments
        ],
        "refunds": [
            {
                "id": r.id,
                "method": r.method.value,
                "amount": r.amount,
                "reason": r.reason,
                "created_at": r.created_at,
                "automatic": r.recorded_by_id is None,
            }
            for r in refunds
        ],
    }

"""Marketplace API: checkouts and orders."""

from flask import current_app
from flask_smorest.error_handler import ErrorSchema
from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload

from accounts.models import User
from accounts.services import require_login
from core.blueprint import Blueprint, dict_dumper, require_json_body
from core.database import reads_first
from core.extensions import db
from core.pagination import page_of, paginate
from groups.models import Group
from groups.services import get_group_or_404
from marketplace import services
from marketplace.models import Checkout, Order, OrderLine
from marketplace.order_payments import order_payments
from marketplace.schemas import CancelIn, CheckoutIn, CheckoutOut, IdempotencyHeaders, OrderListQuery, OrderOut

blp = Blueprint("marketplace_api", __name__, url_prefix="/api/v1", description="Checkout and orders")


# --- views: ORM objects to the shapes the schemas dump ---------------------------------------


def _line_view(line: OrderLine, with_allocations: bool) -> dict:
    view = {
        "id": line.id,
        "variant_id": line.variant_id,
        "product_name": line.product_name,
        "variant_label": line.variant_label,
        "unit": line.unit,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "total": line.total,
    }
    if with_allocations:
        view["allocations"] = [
            {"lot_id": a.lot_id, "member_id": a.member_id, "quantity": a.quantity} for a in line.allocations
        ]
    return view


def _commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds: the answer is built from what is in hand (the rows just
    written, the buyer), and nothing is read back."""
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


# Built once: building a statement costs more than running it.
_groups, _users = Group.__table__, User.__table__
_ORDER_GROUPS = select(_groups.c.id, _groups.c.name, _groups.c.pickup_point, _groups.c.pickup_hours).where(
    _groups.c.id.in_(bindparam("ids", expanding=True))
)
_BUYERS = select(_users.c.id, _users.c.name).where(_users.c.id.in_(bindparam("ids", expanding=True)))


def order_views(orders: list[Order], user, placed: services.Placed | None = None) -> list[dict]:
    """Orders as `user` may see them: whose lots supplied a line only for the group's coordinator and treasurer.

    With `placed` (a checkout just placed, its orders fresh), what placing it read stands in for reading
    the groups, who keeps their books and the orders' payments again. Their money is payments' to tell
    (marketplace.order_payments).
    """
    if not orders:
        return []
    buyer_ids = {order.buyer_id for order in orders}
    buyers = (
        {user.id: user}
        if buyer_ids == {getattr(user, "id", None)}  # a buyer's own orders
        else {row.id: row for row in db.session.execute(_BUYERS, {"ids": list(buyer_ids)})}
    )
    if placed is not None and placed.created:
        groups, insiders = placed.groups, placed.insiders
        money = {
            order.id: order_payments().details_of_placed(order, groups[order.group_id], order.group_id in insiders)
            for order in orders
        }
    else:
        group_ids = {order.group_id for order in orders}
        groups = {row.id: row for row in db.session.execute(_ORDER_GROUPS, {"ids": list(group_ids)})}
        insiders = services.groups_seeing_allocations(user, group_ids)
        money = order_payments().details(orders, insiders)
    views = []
    for order in orders:
        group, buyer = groups[order.group_id], buyers[order.buyer_id]
        views.append(
            {
                "id": order.id,
                "checkout_id": order.checkout_id,
                "group_id": order.group_id,
                "group": {
                    "id": group.id,
                    "name": group.name,
                    "pickup_point": group.pickup_point,
                    "pickup_hours": group.pickup_hours,
                },
                "buyer": {"id": buyer.id, "name": buyer.name},
                "kind": order.kind.value,
                "status": order.status.value,
                "payment_method": order.payment_method.value,
                "payment_status": services.payment_status(order),
                "fulfilment": {
                    "method": order.fulfilment_method.value,
                    "date": order.fulfilment_date,
                    "address": order.address,
                    "note": order.note,
                },
                "lines": [_line_view(line, order.group_id in insiders) for line in order.lines],
                "total": order.total,
                "paid": order.paid,
                "refunded": order.refunded,
                "currency": order.currency,
                **money[order.id],
                "events": [
                    {
                        "from_status": e.from_status.value if e.from_status else None,
                        "to_status": e.to_status.value,
                        "actor_id": e.actor_id,
                        "at": e.created_at,
                        "note": e.note,
                    }
                    for e in order.events
                ],
                "expires_at": order.expires_at,
                "created_at": order.created_at,
            }
        )
    return views


def order_view(order: Order, user) -> dict:
    return order_views([order], user)[0]


def checkout_view(checkout: Checkout, user, placed: services.Placed | None = None) -> dict:
    return {
        "id": checkout.id,
        "total": checkout.total,
        "currency": "IDR",
        "payment_method": checkout.payment_method.value,
        "created_at": checkout.created_at,
        "orders": order_views(list(checkout.orders), user, placed),
    }


def _with_details(query):
    """Load each order's lines, allocations and events with the page, not one by one."""
    return query.options(selectinload(Order.lines).selectinload(OrderLine.allocations), selectinload(Order.events))


# --- checkout ---------------------------------------------------------------------------

_CHECKOUT_OUT = dict_dumper(CheckoutOut())


@blp.route("/checkouts", methods=["POST"])
@blp.arguments(IdempotencyHeaders(), location="headers")  # instances: webargs would build them per request
@blp.arguments(CheckoutIn())
@blp.response(
    201,
    CheckoutOut,
    headers={
        "Idempotent-Replayed": {
            "description": "`true` when a retry got the first checkout back",
            "schema": {"type": "string"},
        }
    },
)
@blp.alt_response(409, schema=ErrorSchema, description="Not enough stock: `errors.lines` lists each short variant")
def create_checkout(headers, data):
    """Buy from one or more groups: every line reserved at once, one order per group.

    All or nothing: when any line is short the answer is 409 with `errors.lines`
    listing each short variant (`requested`, `available`) and nothing is held.
    A retry with the same `Idempotency-Key` and body returns the first checkout
    (201, header `Idempotent-Replayed: true`); the same key with another body is 422.
    """
    require_json_body()
    buyer = require_login()
    # CheckoutIn keeps each value as sent (its shape checked): the service checks them with its own messages.
    placed = services.place(
        buyer, data.get("lines"), data.get("fulfilment"), data.get("payment_method"), headers.get("idempotency_key")
    )
    _commit_keeping_loaded()  # the answer is what was just written, in hand: nothing is read back
    with reads_first():  # a retry's answer reads the first checkout again
        view = checkout_view(placed.written or placed.checkout, buyer, placed)
    # Dumped as @blp.response would, by the same schema, through its planned walk.
    return (
        current_app.json.response(_CHECKOUT_OUT(view)),
        201,
        {} if placed.created else {"Idempotent-Replayed": "true"},
    )


@blp.route("/checkouts/<int:checkout_id>", methods=["GET"])
@blp.response(200, CheckoutOut)
def get_checkout(checkout_id):
    """One of your checkouts with its orders."""
    user = require_login()
    return checkout_view(services.get_checkout_or_404(user, checkout_id), user)


# --- orders -----------------------------------------------------------------------------


@blp.route("/orders", methods=["GET"])
@blp.arguments(OrderListQuery, location="query")
@blp.response(200, page_of(OrderOut))
def list_orders(args):
    """Your orders, newest first; with `group_id`, that group's orders (coordinator, treasurer) by fulfilment day."""
    user = require_login()
    if "group_id" in args:
        query = services.group_orders_query(
            require_login(), get_group_or_404(args["group_id"]), args.get("status"), args.get("day")
        )
    else:
        query = services.buyer_orders_query(user, args.get("status"), args.get("day"))
    result = paginate(_with_details(query), args["page"], args["per_page"])
    result["items"] = order_views(result["items"], user)
    return result


@blp.route("/orders/<int:order_id>", methods=["GET"])
@blp.response(200, OrderOut)
def get_order(order_id):
    """One order with its lines, history and payment status: your own, or your group's (coordinator, treasurer)."""
    user = require_login()
    return order_view(services.get_order_or_404(user, order_id), user)


_NOT_ALLOWED = "Not allowed from the order's current status, given in `errors.status`"


def _moved(order: Order) -> dict:
    db.session.commit()
    return order_view(order, require_login())


@blp.route("/orders/<int:order_id>/confirm", methods=["POST"])
@blp.response(200, OrderOut)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_ALLOWED)
def confirm_order(order_id):
    """Accept a placed order (coordinator); 409 from any other status."""
    actor = require_login()
    return _moved(services.confirm(actor, services.get_order_or_404(actor, order_id)))


@blp.route("/orders/<int:order_id>/ready", methods=["POST"])
@blp.response(200, OrderOut)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_ALLOWED)
def mark_order_ready(order_id):
    """Packed (coordinator): units leave the members' lots first in, first out; 409 unless confirmed."""
    actor = require_login()
    return _moved(services.mark_ready(actor, services.get_order_or_404(actor, order_id)))


@blp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@blp.arguments(CancelIn)
@blp.response(200, OrderOut)
@blp.alt_response(409, schema=ErrorSchema, description=_NOT_ALLOWED)
def cancel_order(data, order_id):
    """Cancel before packing and release the stock: the buyer their own order, or the coordinator; 409 once ready."""
    actor = require_login()
    return _moved(services.cancel(actor, services.get_order_or_404(actor, order_id), data.get("reason")))

"""What the marketplace pages share: their blueprint, labels, template helpers, reading query arguments,
and the WhatsApp link to a group's coordinator."""

from datetime import date
from urllib.parse import quote

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from core.formatting import format_day
from core.money import format_rupiah
from core.phone import whatsapp_number
from groups.models import Group
from inventory import services as stock
from marketplace import cart as carts
from marketplace import services
from marketplace.models import FulfilmentMethod, Order, OrderStatus, PaymentMethod

bp = Blueprint("marketplace", __name__)

PER_PAGE = 20
FULFILMENT_LABELS = {FulfilmentMethod.pickup: _l("pickup"), FulfilmentMethod.delivery: _l("delivery")}
PAYMENT_LABELS = {
    PaymentMethod.card: _l("card"),
    PaymentMethod.cash: _l("cash"),
    PaymentMethod.transfer: _l("bank transfer"),
}
# What a coordinator can do next from each status (the services decide whether it is allowed).
NEXT_STEPS = {
    OrderStatus.placed: ("confirm", "cancel"),
    OrderStatus.confirmed: ("ready", "cancel"),
    OrderStatus.ready: ("complete",),
}
ACTION_LABELS = {
    "confirm": _l("Confirm"),
    "ready": _l("Packed: ready"),
    "complete": _l("Handed over: complete"),
    "cancel": _l("Cancel order"),
}
PAYMENT_STATUS_LABELS = {
    "unpaid": _l("not paid yet"),
    "partial": _l("partly paid"),
    "paid": _l("paid in full"),
    "partially_refunded": _l("partly refunded"),
    "refunded": _l("refunded"),
}


# --- helpers for templates ------------------------------------------------------------


@bp.app_template_global()
def label_text(label: str) -> str:
    """A variant label as shown; the default one reads as "standard" in the user's language."""
    return _("standard") if label == stock.DEFAULT_LABEL else label


@bp.app_context_processor
def _marketplace_globals():
    return {
        "cart_count": carts.count(),
        "has_orders": _has_orders,
        "status_label": services.status_label,
        "fulfilment_labels": FULFILMENT_LABELS,
        "payment_labels": PAYMENT_LABELS,
        "action_labels": ACTION_LABELS,
        "payment_status": services.payment_status,
        "payment_status_labels": PAYMENT_STATUS_LABELS,
    }


def _has_orders() -> bool:
    """Whether the signed-in user ever placed an order (the header links their orders then)."""
    if not current_user.is_authenticated:
        return False
    return db.session.scalar(select(Order.id).where(Order.buyer_id == current_user.id).limit(1)) is not None


# --- helpers for views ----------------------------------------------------------------


def text_arg(name: str, limit: int = 120) -> str:
    return (request.args.get(name) or "").strip()[:limit]


def day_arg(name: str = "date") -> tuple[date | None, bool]:
    """A YYYY-MM-DD query argument: (the day or None, whether it was given but unreadable)."""
    text = text_arg(name, 40)
    if not text:
        return None, False
    try:
        return date.fromisoformat(text), False
    except ValueError:
        return None, True


def users_by_id(user_ids) -> dict[int, User]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def groups_by_id(group_ids) -> dict[int, Group]:
    ids = set(group_ids)
    if not ids:
        return {}
    return {g.id: g for g in db.session.scalars(select(Group).where(Group.id.in_(ids)))}


def whatsapp_link(order: Order, group: Group, transfer: dict | None = None) -> str | None:
    """wa.me link to the group's coordinator with a message that names the order; None without a phone.

    `transfer`: how to pay the order by bank transfer (an order's `payment_instructions`); with an account to pay
    to, the message says where the buyer transfers how much, quoting which reference.
    """
    contact = services.coordinator_contact(order.group_id)
    if contact is None:
        return None
    if order.fulfilment_method == FulfilmentMethod.pickup:
        how = _("pickup on %(day)s", day=format_day(order.fulfilment_date))
    else:
        how = _("delivery on %(day)s", day=format_day(order.fulfilment_date))
    text = _(
        "Hello, I placed order #%(id)d at %(group)s (%(total)s, %(how)s). My name is %(name)s.",
        id=order.id,
        group=group.name,
        total=format_rupiah(order.total),
        how=how,
        name=current_user.name,
    )
    if transfer and transfer.get("account_number"):
        text += " " + _(
            "I will transfer %(amount)s to %(bank)s %(number)s (%(holder)s) with the reference %(reference)s.",
            amount=format_rupiah(transfer["amount"]),
            bank=transfer["bank_name"] or "",
            number=transfer["account_number"],
            holder=transfer["account_holder"] or "",
            reference=transfer["reference"],
        )
    return f"https://wa.me/{whatsapp_number(contact.phone)}?text={quote(text, safe='')}"

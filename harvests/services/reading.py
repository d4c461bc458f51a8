"""Harvests and pre-orders as the API and pages show them, the lists, the catalog's label of a product with a
harvest open for pre-orders, and the WhatsApp-ready messages to the buyers once the harvest is shared out."""

from decimal import Decimal
from urllib.parse import quote

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from core.formatting import format_day, format_qty
from core.money import format_rupiah
from core.phone import whatsapp_number
from core.quantity import format_quantity
from groups.models import Group, Role
from groups.services import authorize, membership
from harvests.models import Harvest, HarvestStatus, PreOrder, PreOrderStatus
from harvests.services import records as r
from harvests.services.recording import lots_of
from inventory import services as stock
from inventory.models import Variant
from marketplace import services as market
from marketplace.models import Order
from payments.services import card

MESSAGE_LOCALE = "id"  # the buyers are told in Indonesian, whatever language the coordinator reads


def _percent(basis_points: int) -> str:
    return format_quantity(Decimal(basis_points) / 100)


def _insider(viewer: User | None, group_id: int) -> bool:
    """The group's coordinator or treasurer: sees who pre-ordered and what the harvest gave each."""
    member = membership(db.session.get(Group, group_id), viewer)
    return member is not None and member.role in (Role.coordinator, Role.treasurer)


def label(harvest: Harvest) -> str:
    """What the catalog says of a product with this harvest open: "Pre-order: panen minggu depan"."""
    return _("Pre-order: harvest %(week)s", week=r.week_label(harvest.week))


def harvest_view(harvest: Harvest, viewer: User | None = None) -> dict:
    variant = db.session.get(Variant, harvest.variant_id)
    group = db.session.get(Group, harvest.group_id)
    view = {
        "id": harvest.id,
        "group_id": harvest.group_id,
        "group_name": group.name,
        "variant_id": harvest.variant_id,
        "product_id": variant.product_id,
        "product_name": variant.product.name,
        "variant_label": variant.label,
        "unit": variant.product.unit,
        "expected_low": format_quantity(harvest.expected_low),
        "expected_high": format_quantity(harvest.expected_high),
        "week": harvest.week,
        "week_label": r.week_label(harvest.week),
        "label": label(harvest),
        "unit_price": harvest.unit_price,
        "cap_percent": _percent(harvest.cap_basis_points),
        "cap": format_quantity(harvest.cap),
        "preordered": format_quantity(harvest.preordered),
        "left": format_quantity(
            harvest.cap - harvest.preordered if harvest.status == HarvestStatus.announced else Decimal(0)
        ),
        "shortfall_rule": harvest.shortfall_rule.value,
        "deposit_percent": _percent(harvest.deposit_basis_points),
        "status": harvest.status.value,
        "status_label": r.status_label(harvest.status),
        "note": harvest.note,
        "harvested": format_quantity(harvest.harvested) if harvest.harvested is not None else None,
        "recorded_at": harvest.recorded_at,
        "created_at": harvest.created_at,
    }
    if _insider(viewer, harvest.group_id):
        view["pre_orders"] = [pre_order_view(p) for p in r.pre_orders_of(harvest)]
        view["lots"] = [
            {"lot_id": lot.id, "member_id": lot.member_id, "quantity": format_quantity(counted)}
            for lot, counted in lots_of(harvest)
        ]
        view["messages"] = messages(harvest)
    return view


def pre_order_view(pre_order: PreOrder) -> dict:
    harvest = db.session.get(Harvest, pre_order.harvest_id)
    order = db.session.get(Order, pre_order.order_id)
    asked_total = market.line_total(harvest.unit_price, pre_order.quantity)
    return {
        "id": pre_order.id,
        "harvest_id": pre_order.harvest_id,
        "buyer_id": pre_order.buyer_id,
        "order_id": pre_order.order_id,
        "order_status": order.status.value,
        "quantity": format_quantity(pre_order.quantity),
        "filled": format_quantity(pre_order.filled) if pre_order.filled is not None else None,
        "status": pre_order.status.value,
        "unit_price": harvest.unit_price,
        "total": order.total,
        "deposit": r.deposit_of(asked_total, harvest.deposit_basis_points),
        "paid": order.paid,
        "refunded": pre_order.refunded,
        "week": harvest.week,
        "label": label(harvest),
        "created_at": pre_order.created_at,
    }


def my_pre_order_view(pre_order: PreOrder) -> dict:
    harvest = db.session.get(Harvest, pre_order.harvest_id)
    view = pre_order_view(pre_order)
    view["harvest"] = harvest_view(harvest)
    return view


def open_harvests_query(group_id=None, product_id=None):
    """Harvests open for pre-orders, of verified groups, the nearest week first."""
    query = (
        select(Harvest)
        .join(Group, Group.id == Harvest.group_id)
        .where(Harvest.status == HarvestStatus.announced, Group.verified.is_(True))
    )
    if group_id is not None:
        query = query.where(Harvest.group_id == group_id)
    if product_id is not None:
        query = query.join(Variant, Variant.id == Harvest.variant_id).where(Variant.product_id == product_id)
    return query.order_by(Harvest.week, Harvest.id)


def group_harvests_query(actor: User, group: Group, status=None):
    """A group's harvests, the latest week first (its members)."""
    authorize(actor, group)
    query = select(Harvest).where(Harvest.group_id == group.id)
    if status:
        query = query.where(Harvest.status == HarvestStatus(status))
    return query.order_by(Harvest.week.desc(), Harvest.id.desc())


def buyer_pre_orders_query(buyer: User):
    return select(PreOrder).where(PreOrder.buyer_id == buyer.id).order_by(PreOrder.id.desc())


def product_labels(product_id: int) -> list[dict]:
    """For a product's page: its harvests open for pre-orders, each with its label, the quota left and whether
    its form offers to pay the deposit by card at once (the harvest asks one, and the gateway takes cards)."""
    cards = card.cards_taken()
    return [
        {
            "card": cards and h.deposit_basis_points > 0,
            "harvest_id": h.id,
            "variant_label": db.session.get(Variant, h.variant_id).label,
            "label": label(h),
            "left": format_qty(h.cap - h.preordered),
            "unit": db.session.get(Variant, h.variant_id).product.unit,
            "unit_price": format_rupiah(h.unit_price),
        }
        for h in db.session.scalars(open_harvests_query(product_id=product_id))
    ]


def messages(harvest: Harvest) -> list[dict]:
    """Once the harvest is shared out: per pre-order, a WhatsApp-ready message in Indonesian saying what the
    buyer gets, when, and what is given back (or, for one cancelled since, that it is cancelled and what is given
    back); the wa.me link when the buyer has a phone."""
    if harvest.status not in (HarvestStatus.harvested, HarvestStatus.done):
        return []
    group = db.session.get(Group, harvest.group_id)
    variant = db.session.get(Variant, harvest.variant_id)
    found = []
    for pre_order in r.pre_orders_of(
        harvest, PreOrderStatus.filled, PreOrderStatus.part_filled, PreOrderStatus.unfilled, PreOrderStatus.cancelled
    ):
        if pre_order.filled is None:  # cancelled before the harvest: told then, nothing to say now
            continue
        buyer = db.session.get(User, pre_order.buyer_id)
        order = db.session.get(Order, pre_order.order_id)
        with force_locale(MESSAGE_LOCALE):
            text = _message(group, variant, pre_order, order, buyer)
        found.append(
            {
                "pre_order_id": pre_order.id,
                "buyer_id": buyer.id,
                "buyer_name": buyer.name,
                "status": pre_order.status.value,
                "quantity": format_quantity(pre_order.quantity),
                "filled": format_quantity(pre_order.filled),
                "refunded": pre_order.refunded,
                "text": text,
                "whatsapp_url": (
                    f"https://wa.me/{whatsapp_number(buyer.phone)}?text={quote(text, safe='')}" if buyer.phone else None
                ),
            }
        )
    return found


def _message(group: Group, variant: Variant, pre_order: PreOrder, order: Order, buyer: User) -> str:
    # A product sold one way only reads as its name (its variant's label is the default "standard").
    product = (
        variant.product.name if variant.label == stock.DEFAULT_LABEL else f"{variant.product.name} {variant.label}"
    )
    unit = variant.product.unit
    values = {
        "name": buyer.name,
        "group": group.name,
        "product": product,
        "asked": f"{format_qty(pre_order.quantity)} {unit}",
        "got": f"{format_qty(pre_order.filled)} {unit}",
        "day": format_day(order.fulfilment_date),
        "id": order.id,
        "total": format_rupiah(order.total),
        "refunded": format_rupiah(pre_order.refunded),
        "paid": format_rupiah(order.paid - order.refunded),
    }
    if pre_order.status == PreOrderStatus.cancelled:  # after the harvest gave it goods
        text = _(
            "Hello %(name)s, your pre-order of %(got)s %(product)s at %(group)s is cancelled (order #%(id)d); "
            "what the harvest set aside for you is back on sale.",
            **values,
        )
    elif pre_order.status == PreOrderStatus.filled:
        return _(
            "Hello %(name)s, the harvest at %(group)s is in: your pre-order of %(asked)s %(product)s is filled in "
            "full, ready on %(day)s (order #%(id)d, %(total)s).",
            **values,
        )
    elif pre_order.status == PreOrderStatus.unfilled:
        text = _(
            "Hello %(name)s, we are sorry: the harvest of %(product)s at %(group)s came in smaller than expected "
            "and your pre-order of %(asked)s could not be filled. Order #%(id)d is cancelled.",
            **values,
        )
    else:
        text = _(
            "Hello %(name)s, the harvest of %(product)s at %(group)s came in smaller than expected: you get "
            "%(got)s of the %(asked)s you pre-ordered, ready on %(day)s (order #%(id)d, now %(total)s).",
            **values,
        )
        if order.paid - order.refunded > 0:
            text += " " + _("Your deposit of %(paid)s counts towards it.", **values)
    if pre_order.refunded:
        text += " " + _("%(refunded)s you paid is given back to you.", **values)
    return text

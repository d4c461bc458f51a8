"""Pre-orders against a harvest: placed up to its cap with checkout's guarantees (a guarded counter on the
harvest's row, in the same transaction as the pre-order and its order; an Idempotency-Key answered as the first
request was), and cancelled before the harvest."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from accounts.services import require_signed_in
from core.errors import Conflict, Forbidden
from core.extensions import db
from core.formatting import format_qty
from core.idempotency import replayed
from core.types import utcnow
from groups.models import Group
from harvests.models import Harvest, HarvestStatus, PreOrder, PreOrderStatus
from harvests.services import records as r
from harvests.services.money import give_back, held
from inventory.models import Variant
from marketplace import services as market
from marketplace.models import Order, OrderKind, OrderStatus, PaymentMethod
from payments.services import card


def _find(buyer_id: int, key: str) -> PreOrder | None:
    return db.session.scalar(select(PreOrder).where(PreOrder.buyer_id == buyer_id, PreOrder.idempotency_key == key))


def _payment(value) -> PaymentMethod:
    return card.payment_method_of(value or "cash")


def pre_order(buyer: User, harvest: Harvest, *, quantity, fulfilment=None, payment_method="cash", retry=None):
    """Pre-order `quantity` of the harvest (any signed-in buyer): never above what its cap has left. The counter
    on the harvest's row is moved by one guarded UPDATE in the same transaction as the pre-order and its order
    (`pre_order`, confirmed, at the harvest's price, for the group's first open day of the harvest's week), so
    buyers at once never pass the cap. Returns (pre-order, created): the same Idempotency-Key with the same
    request returns the first pre-order; with another request it is a 422."""
    buyer = require_signed_in(buyer)
    key = retry.key if retry else None
    if key and (found := _find(buyer.id, key)) is not None:
        return replayed(found, retry.fingerprint), False
    group = db.session.get(Group, harvest.group_id)
    variant = db.session.get(Variant, harvest.variant_id)
    amount = r.quantity_of(group, variant, quantity, "quantity")
    method, address, note = market.read_fulfilment(fulfilment, "pickup")
    paying = _payment(payment_method)
    if not group.verified:
        raise Conflict(_l("This group does not take orders yet."))
    if harvest.status != HarvestStatus.announced:
        raise Conflict(_l("This harvest takes no more pre-orders."), {"status": [harvest.status.value]})
    try:
        with db.session.begin_nested():
            if not r.take_quota(harvest, amount):
                db.session.refresh(harvest)
                if harvest.status != HarvestStatus.announced:
                    raise Conflict(_l("This harvest takes no more pre-orders."), {"status": [harvest.status.value]})
                left = harvest.cap - harvest.preordered
                raise Conflict(
                    _l("Only %(n)s is left to pre-order.", n=format_qty(left)),
                    {"quantity": [_("At most %(n)s.", n=format_qty(left))]},
                )
            order = market.place_without_stock(
                buyer,
                buyer,
                group,
                OrderKind.pre_order,
                [(variant, amount, harvest.unit_price)],
                fulfilment_method=method,
                fulfilment_date=r.ready_day(group, harvest.week),
                payment_method=paying,
                address=address,
                note=note,
            )
            made = PreOrder(
                harvest_id=harvest.id,
                buyer_id=buyer.id,
                order_id=order.id,
                quantity=amount,
                status=PreOrderStatus.placed,
                refunded=0,
                idempotency_key=key,
                request_hash=retry.fingerprint if key else None,
            )
            db.session.add(made)
            db.session.flush()
    except IntegrityError:
        found = _find(buyer.id, key) if key else None
        if found is None:
            raise
        return replayed(found, retry.fingerprint), False
    return made, True


SHARED_OUT = (PreOrderStatus.filled, PreOrderStatus.part_filled)  # the harvest set goods aside for it


def can_cancel(pre_order: PreOrder, harvest: Harvest, order: Order) -> bool:
    """Whether the pre-order may still be cancelled (by its buyer while nothing is paid, or the coordinator):
    waiting for a harvest still awaited, or given goods by the harvest and not yet packed."""
    if pre_order.status == PreOrderStatus.placed:
        return harvest.status in r.OPEN
    return pre_order.status in SHARED_OUT and order.status in (OrderStatus.placed, OrderStatus.confirmed)


def cancel_pre_order(actor: User, pre_order: PreOrder, note=None) -> PreOrder:
    """Cancel a pre-order: the buyer (while nothing is paid on it) or the group's coordinator, who gives back what
    was paid (the deposit; a harvest's terms keep none). Before the harvest its quantity is free to pre-order
    again; after it, until its order is packed, the goods set aside for it go back on sale."""
    actor = require_signed_in(actor)
    note = r.text(note, "note")
    harvest = db.session.get(Harvest, pre_order.harvest_id)
    coordinator = r.is_coordinator(actor, harvest.group_id)
    if pre_order.buyer_id != actor.id and not coordinator:
        raise Forbidden(_l("Only the buyer or the group's coordinator may cancel a pre-order."))
    harvest = r.lock_harvest(harvest)
    db.session.refresh(pre_order)
    if pre_order.status in SHARED_OUT:
        order = market.lock_order(db.session.get(Order, pre_order.order_id))
        market.cancel(actor, order, note)  # the pre-order lets go of its goods and money as its order moves
        db.session.flush()
        return pre_order
    if harvest.status not in r.OPEN:
        raise Conflict(_l("The harvest is in: this pre-order can no longer be cancelled."))
    if pre_order.status != PreOrderStatus.placed:
        raise Conflict(_l("This pre-order was cancelled already."), {"status": [pre_order.status.value]})
    order = market.lock_order(db.session.get(Order, pre_order.order_id))
    money = held(order)
    if money and not coordinator:
        raise Conflict(_l("A deposit is paid on this pre-order: ask the group to cancel it and give it back."))
    pre_order.status = PreOrderStatus.cancelled  # first: its order is cancelled only with it
    pre_order.updated_at = utcnow()
    market.cancel(actor, order, note)
    pre_order.refunded = give_back(actor, order, note or _("Pre-order cancelled"))
    r.release_quota(harvest, pre_order.quantity)
    db.session.flush()
    return pre_order


def let_go(order: Order, pre_order: PreOrder, actor_id: int | None) -> None:
    """The order of a pre-order the harvest gave goods to is being cancelled (from the pre-order or the order's
    own page): the pre-order is cancelled with it and what the order holds of the buyer's money is given back,
    by the coordinator; the buyer cancels only while nothing is paid (409). Its goods are released with the
    order, free stock on sale again."""
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    harvest = db.session.get(Harvest, pre_order.harvest_id)
    coordinator = actor is not None and r.is_coordinator(actor, harvest.group_id)
    money = held(order)
    if money and not coordinator:
        raise Conflict(_l("A deposit is paid on this pre-order: ask the group to cancel it and give it back."))
    pre_order.status = PreOrderStatus.cancelled
    pre_order.updated_at = utcnow()
    if money:
        pre_order.refunded += give_back(actor, order, _("Pre-order cancelled"), money)

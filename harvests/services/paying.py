"""The buyer pays a pre-order by card: the deposit the harvest asks (before the harvest), or what its order owes
(once the harvest is in, the rest). One card payment through payments' checkout card payment, for the chosen
part of what the order owes; the order is paid when the gateway's webhook says so."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from accounts.models import User
from accounts.services import require_signed_in
from core.errors import Conflict, NotFound, field_error
from core.extensions import db
from harvests.models import Harvest, PreOrder, PreOrderStatus
from harvests.services import records as r
from harvests.services.money import held
from marketplace import services as market
from marketplace.models import Checkout, Order
from payments.services import card

PAY = ("deposit", "all")
HARVESTED = (PreOrderStatus.filled, PreOrderStatus.part_filled)


def deposit_left(pre_order: PreOrder, harvest: Harvest, order: Order) -> int:
    """What is still to pay of the deposit the harvest asks on the pre-order, while it waits for the harvest."""
    if pre_order.status != PreOrderStatus.placed or harvest.status not in r.OPEN:
        return 0
    asked = r.deposit_of(market.line_total(harvest.unit_price, pre_order.quantity), harvest.deposit_basis_points)
    return max(0, asked - held(order))


def card_parts(pre_order: PreOrder, pay, harvest: Harvest, order: Order) -> dict[int, int]:
    """What paying `pay` ("deposit" or "all") of the pre-order by card takes of its order (order id -> rupiah);
    a 422 for another `pay`, a 409 when nothing of it is owed."""
    if not isinstance(pay, str) or pay not in PAY:
        raise field_error("pay", _("Choose deposit or all."))
    parts = {}
    if pay == "deposit":
        left = deposit_left(pre_order, harvest, order)
        parts = card.owed_parts([order], left) if left else {}
        if not parts:
            raise Conflict(_l("No deposit is owed on this pre-order."))
    elif pre_order.status in (PreOrderStatus.placed, *HARVESTED):
        parts = card.owed_parts([order])
    if not parts:
        raise Conflict(_l("Nothing is owed on this pre-order now."))
    return parts


def require_buyer(actor: User, pre_order: PreOrder) -> User:
    """404 unless the pre-order is `actor`'s own: another's (the group's too) is as unknown as a missing one."""
    actor = require_signed_in(actor)
    if pre_order.buyer_id != actor.id:
        raise NotFound(_l("Pre-order not found."))
    return actor


def start_card_payment(buyer: User, pre_order: PreOrder, pay) -> dict:
    """Start (or resume) paying the buyer's pre-order by card: `pay` is "deposit" (what is left of the deposit the
    harvest asks) or "all" (what its order owes). The same request again while the payment is open resumes it.
    Answers what the card page needs, as a checkout's card payment does."""
    buyer = require_buyer(buyer, pre_order)
    harvest = r.lock_harvest(db.session.get(Harvest, pre_order.harvest_id))  # as cancelling: the harvest first
    db.session.refresh(pre_order)
    order = market.lock_order(db.session.get(Order, pre_order.order_id))
    parts = card_parts(pre_order, pay, harvest, order)
    return card.start_card_payment(buyer, db.session.get(Checkout, order.checkout_id), parts)


def card_offers(pre_order: PreOrder) -> dict[str, int]:
    """What the buyer's pre-order page offers to pay by card now, by `pay`: the deposit while some of it is
    unpaid; once the harvest is in, the rest its order owes."""
    harvest = db.session.get(Harvest, pre_order.harvest_id)
    order = db.session.get(Order, pre_order.order_id)
    left = deposit_left(pre_order, harvest, order)
    if left:
        parts = card.owed_parts([order], left)
        return {"deposit": sum(parts.values())} if parts else {}
    if pre_order.status in HARVESTED:
        owed = sum(card.owed_parts([order]).values())
        return {"all": owed} if owed else {}
    return {}

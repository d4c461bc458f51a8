"""The buyer pays a job by card: the deposit still unpaid, or everything the job's open orders owe (after a
delivery, the rest). One card payment through payments' checkout card payment, for the chosen part of what
the orders owe; the orders are paid when the gateway's webhook says so."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from accounts.models import User
from accounts.services import require_signed_in
from commissions.models import Commission
from commissions.services import records as r
from core.errors import Conflict, NotFound, field_error
from core.extensions import db
from marketplace import services as market
from marketplace.models import Checkout, OrderStatus
from payments.services import card

PAY = ("deposit", "all")


def deposit_left(commission: Commission, orders=None) -> int:
    """What is still to pay of the accepted quote's deposit: the deposit less the money the job's orders hold."""
    quote = r.accepted_quote(commission)
    if quote is None:
        return 0
    orders = r.orders_of(commission) if orders is None else orders
    return max(0, quote.deposit - sum(o.paid - o.refunded for o in orders))


def card_parts(commission: Commission, pay, orders=None) -> dict[int, int]:
    """What paying `pay` ("deposit" or "all") of the job by card takes of each open order (order id -> rupiah);
    a 422 for another `pay`, a 409 when nothing of it is owed."""
    if not isinstance(pay, str) or pay not in PAY:
        raise field_error("pay", _("Choose deposit or all."))
    orders = r.orders_of(commission) if orders is None else orders
    parts = {}
    if commission.status in r.WORKING:
        up_to = deposit_left(commission, orders) if pay == "deposit" else None
        parts = card.owed_parts(orders, up_to) if up_to != 0 else {}
    if not parts:
        if pay == "deposit":
            raise Conflict(_l("The deposit of this job is paid."))
        raise Conflict(_l("Nothing is owed on this job now."))
    return parts


def require_buyer(actor: User, commission: Commission) -> User:
    """404 unless the job is `actor`'s own: another's job (the group's too) is as unknown as a missing one."""
    actor = require_signed_in(actor)
    if commission.buyer_id != actor.id:
        raise NotFound(_l("Job not found."))
    return actor


def start_card_payment(buyer: User, commission: Commission, pay) -> dict:
    """Start (or resume) paying the buyer's job by card: `pay` is "deposit" (what is left of it) or "all" (what
    the job's open orders owe). The same request again while the payment is open resumes it, so a double tap
    or two tabs never pay twice. Answers what the card page needs, as a checkout's card payment does."""
    buyer = require_buyer(buyer, commission)
    commission = r.lock_commission(commission)  # as cancelling: the job first, then its orders
    orders = [market.lock_order(o) for o in r.orders_of(commission)]
    parts = card_parts(commission, pay, orders)
    return card.start_card_payment(buyer, db.session.get(Checkout, commission.checkout_id), parts)


def card_offers(commission: Commission) -> dict[str, int]:
    """What the job's page offers its buyer to pay by card now, by `pay`: the deposit while some of it is
    unpaid; once it is paid and a delivery is made, the rest owed."""
    if commission.status not in r.WORKING:
        return {}
    orders = r.orders_of(commission)
    left = deposit_left(commission, orders)
    if left:
        parts = card.owed_parts(orders, left)
        return {"deposit": sum(parts.values())} if parts else {}
    delivered = any(o.status in (OrderStatus.ready, OrderStatus.completed) for o in orders)
    owed = sum(card.owed_parts(orders).values())
    return {"all": owed} if delivered and owed else {}

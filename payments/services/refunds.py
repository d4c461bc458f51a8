"""Giving money back: through the card gateway for card money, or recorded as cash or a transfer; never above
what was paid less what was refunded. A refund of a completed order takes the members' earnings back."""

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from core import ledger
from core.errors import Conflict
from core.extensions import db
from core.idempotency import replayed
from core.money import format_rupiah
from core.types import utcnow
from marketplace import services
from marketplace.models import Order, OrderStatus, PaymentMethod
from payments.models import CardPayment, Payment, Refund
from payments.providers import GatewayError, OnlineProvider, provider_for
from payments.services import common, deposits
from payments.services.common import Retry
from revenue.services import accrual as revenue


@dataclass(frozen=True)
class RequestedRefund:
    """Money to give back, as the coordinator or treasurer asks (payments.inputs)."""

    amount: int  # whole rupiah, more than zero
    reason: str
    method: PaymentMethod | None = None  # None: card while card money is left to refund, else cash


def refund_order(actor: User, order: Order, asked: RequestedRefund, retry: Retry | None = None) -> tuple[Refund, bool]:
    """Give money back: through the card gateway for card money, or recorded as cash or a transfer.

    Never above what was paid less what was refunded (409). Goods come back into
    stock only through a `return` adjustment, when the coordinator says they did.
    The same Idempotency-Key with the same request returns the first refund.
    """
    common.require_bookkeeper(actor, order)
    key = retry.key if retry else None
    fingerprint = retry.fingerprint if retry else None
    if key and (existing := common.find_keyed(Refund, order, key)) is not None:
        return replayed(existing, fingerprint), False
    amount, method = asked.amount, asked.method
    order = services.lock_order(order)
    # A twin sent at the same moment went first.
    if key and (existing := common.find_keyed(Refund, order, key)) is not None:
        return replayed(existing, fingerprint), False
    refundable = order.paid - order.refunded - deposits.kept_on(order.id)  # a kept deposit is the group's
    if amount > refundable:
        raise Conflict(
            _l("Only %(left)s can be refunded on this order.", left=format_rupiah(refundable)),
            {"amount": [_("At most %(left)s.", left=format_rupiah(refundable))]},
        )
    card_left = _card_refundable(order)
    if method is None:
        method = PaymentMethod.card if card_left else PaymentMethod.cash
    count = db.session.scalar(select(func.count(Refund.id)).where(Refund.order_id == order.id))
    refund = Refund(
        order_id=order.id,
        group_id=order.group_id,
        method=method,
        amount=amount,
        reason=asked.reason,
        recorded_by_id=actor.id,
        idempotency_key=key,
        request_hash=fingerprint,
    )
    provider = provider_for(method)
    if isinstance(provider, OnlineProvider):
        card_payment = _card_payment_to_refund(order, amount, card_left)
        metadata = {"order_id": str(order.id), "checkout_id": str(order.checkout_id)}
        try:
            if key:
                # Keyed by the request's Idempotency-Key, at the gateway and in the refund's metadata (which the
                # gateway's refund event carries back, see _card_refunded): a retry after a lost answer finds
                # the refund already made, or recorded, and never refunds twice.
                metadata.update({"idempotency_key": key, "request_hash": fingerprint})
                refund.processor_refund_id = next(
                    (
                        r.id
                        for r in provider.refunds(card_payment.intent_id)
                        if r.metadata.get("order_id") == str(order.id) and r.metadata.get("idempotency_key") == key
                    ),
                    None,
                )
            if refund.processor_refund_id is None:
                refund.processor_refund_id = provider.refund(
                    intent_id=card_payment.intent_id,
                    amount=amount,
                    metadata=metadata,
                    idempotency_key=f"order-{order.id}-refund-" + (f"key-{key}" if key else str(count + 1)),
                )
        except GatewayError as exc:
            raise common.GatewayUnavailable(_l("The card refund was refused: %(reason)s", reason=str(exc))) from exc
        refund.card_payment_id = card_payment.id
    try:
        with db.session.begin_nested():
            db.session.add(refund)
            db.session.flush()
    except IntegrityError:
        existing = common.find_keyed(Refund, order, key) if key else None
        if existing is None and refund.processor_refund_id:
            # The gateway's refund event got here first and recorded this very refund.
            existing = db.session.scalar(
                select(Refund).where(
                    Refund.order_id == order.id, Refund.processor_refund_id == refund.processor_refund_id
                )
            )
            if existing is not None:
                return existing, False
        if existing is None:
            raise
        return replayed(existing, fingerprint), False
    book_refund(order, refund, provider, actor.id)
    return refund, True


def refund_held(actor: User, order: Order, amount: int, reason: str) -> list[Refund]:
    """Give back `amount` of what the order holds the way it came (coordinator, treasurer): its card money
    through the gateway, each card payment up to what is left of it, the rest recorded in cash (by transfer for
    an order paid by transfer). A deposit the group kept counts as the money paid first: a kept card deposit
    is not sent back through the gateway for cash paid after it."""
    if amount <= 0:
        return []
    order = services.lock_order(order)
    card_left = _card_refundable(order)
    card_back = min(amount, max(0, sum(card_left.values()) - _kept_of_card(order)))
    given = []
    for _card, left in sorted(card_left.items(), reverse=True):  # the order _card_payment_to_refund picks in
        part = min(card_back, left)
        if part <= 0:
            break
        given.append(refund_order(actor, order, RequestedRefund(part, reason, PaymentMethod.card))[0])
        card_back -= part
        amount -= part
    if amount > 0:
        offline = PaymentMethod.transfer if order.payment_method == PaymentMethod.transfer else PaymentMethod.cash
        given.append(refund_order(actor, order, RequestedRefund(amount, reason, offline))[0])
    return given


def _kept_of_card(order: Order) -> int:
    """How much of the deposit the order's cancellation kept was paid by card, the kept money counted as the
    first paid."""
    kept = deposits.kept_on(order.id)
    if not kept:
        return 0
    rows = db.session.execute(
        select(Payment.id, Payment.amount, Payment.card_payment_id, Payment.reverses_id)
        .where(Payment.order_id == order.id)
        .order_by(Payment.id)
    ).all()
    net = {row.id: row.amount for row in rows if row.reverses_id is None}
    for row in rows:
        if row.reverses_id is not None:
            net[row.reverses_id] += row.amount
    by_card = {row.id for row in rows if row.card_payment_id is not None}
    of_card = 0
    for payment_id in sorted(net):
        part = min(kept, max(0, net[payment_id]))
        kept -= part
        of_card += part if payment_id in by_card else 0
    return of_card


def book_refund(order: Order, refund: Refund, provider, actor_id: int | None) -> None:
    """A refund row just added: the order's refunded sum raised (guarded), the journal entry, and for a completed
    order the members' earnings taken back in proportion."""
    amount = refund.amount
    common.raise_sums(
        order, {"refunded": Order.refunded + amount, "updated_at": utcnow()}, Order.refunded + amount <= Order.paid
    )
    ledger.post(
        order.group_id,
        "refund",
        {ledger.REFUNDS: amount, provider.ledger_account: -amount},
        source="refund",
        source_id=refund.id,
        actor_id=actor_id,
        memo=f"order {order.id}: {refund.reason}"[:500],
    )
    if order.status == OrderStatus.completed:  # its revenue was split already: take the earnings back
        revenue.reverse_for_refund(order.group_id, order.id, amount, refund.id, actor_id)
    db.session.flush()


def _card_refundable(order: Order) -> dict[int, int]:
    """Per card payment, how much of this order's card money can still go back."""
    paid = dict(
        db.session.execute(
            select(Payment.card_payment_id, func.sum(Payment.amount))
            .where(Payment.order_id == order.id, Payment.card_payment_id.is_not(None))
            .group_by(Payment.card_payment_id)
        ).all()
    )
    back = dict(
        db.session.execute(
            select(Refund.card_payment_id, func.sum(Refund.amount))
            .where(Refund.order_id == order.id, Refund.card_payment_id.is_not(None))
            .group_by(Refund.card_payment_id)
        ).all()
    )
    left = {card_id: int(total) - int(back.get(card_id, 0)) for card_id, total in paid.items()}
    return {card_id: amount for card_id, amount in left.items() if amount > 0}


def _card_payment_to_refund(order: Order, amount: int, card_left: dict[int, int]) -> CardPayment:
    for card_id, left in sorted(card_left.items(), reverse=True):
        if left >= amount:
            return db.session.get(CardPayment, card_id)
    most = max(card_left.values(), default=0)
    raise Conflict(
        _l(
            "Only %(left)s of this order was paid by card; give the rest back in cash or by transfer.",
            left=format_rupiah(most),
        ),
        {"amount": [_("At most %(left)s.", left=format_rupiah(most))]},
    )

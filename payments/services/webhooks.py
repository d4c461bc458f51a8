"""The gateway's signed events: a card payment that went through, failed or was cancelled, and refunds made
at the gateway. Each event is applied once: its id is recorded under a unique index in the same transaction
as its effect.

Two rules for card money the app did not ask for:

- A card payment that succeeds after its order expired (the buyer paid as the
  payment window closed) is recorded, and the order stands again when its stock
  can still be reserved: it goes back to the status it expired from, the
  reservation made anew, as the buyer who paid expects. When the stock is gone
  (or the order was cancelled), the payment is given back at once through the
  gateway, keyed by the card payment and the order so that no retry or
  redelivery refunds twice, and recorded as a refund. The card fee the gateway
  keeps stays with the group's books. A gateway that does not answer fails the
  webhook, which the gateway then delivers again.
- A refund made in the gateway's dashboard (`charge.refunded`) is read from the
  gateway's list of the payment's refunds and recorded as a Refund of the
  order(s): the order its metadata names, else spread over the checkout's orders
  the way the payment was (largest remainder), never above what each has left to
  refund; booked, and for a completed order the earnings taken back as
  `refund_order` does. A refund the app made itself is found by its id and not
  recorded again.
"""

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.errors import AppError
from core.extensions import db
from core.types import utcnow
from marketplace import services
from marketplace.models import Order, OrderStatus, PaymentMethod
from payments.models import CardPayment, CardPaymentStatus, Payment, ProcessorEvent, Refund
from payments.providers import GatewayError, GatewayEvent, GatewayRefund, OnlineProvider, online_provider
from payments.services import common, refunds

log = logging.getLogger(__name__)


class EventNotReady(AppError):
    """A gateway event that cannot be applied yet (a refund of a payment whose success has not arrived):
    answered 409 so that the gateway delivers it again later; nothing is recorded, not even the event."""

    code = 409
    default_message = _l("The payment this event is about is not recorded yet; send the event again later.")


def receive_webhook(provider_name: str, payload: bytes, headers) -> str:
    """Verify a gateway's webhook and apply it once; returns what came of it.

    InvalidWebhook (answered 400) when the signature or body does not check out.
    The event id is recorded under a unique index in the same transaction as its
    effect, so a replay, even at the same moment, finds it and does nothing.
    """
    provider = online_provider(provider_name)
    event = provider.verify_webhook(payload, headers)
    seen = select(ProcessorEvent.id).where(
        ProcessorEvent.provider == provider.name, ProcessorEvent.event_id == event.id
    )
    if db.session.scalar(seen) is not None:
        return "replay"
    record = ProcessorEvent(
        provider=provider.name, event_id=event.id, type=event.type[:100], object_id=event.intent_id, outcome="received"
    )
    db.session.add(record)
    try:
        db.session.flush()  # PostgreSQL: a twin delivered at the same moment waits here, then fails the index
    except IntegrityError:
        db.session.rollback()
        return "replay"
    record.outcome = _apply(provider, event)
    db.session.flush()
    return record.outcome


def _apply(provider: OnlineProvider, event: GatewayEvent) -> str:
    if event.outcome == "other" or event.intent_id is None:
        return "ignored"
    query = select(CardPayment).where(CardPayment.provider == provider.name, CardPayment.intent_id == event.intent_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    card_payment = db.session.scalar(query)
    if card_payment is None:
        log.warning("webhook %r for an unknown payment %r", event.id, event.intent_id)
        return "unknown_payment"
    if event.outcome == "succeeded":
        return _card_succeeded(provider, card_payment, event)
    if event.outcome == "refunded":
        return _card_refunded(provider, card_payment)
    if card_payment.status == CardPaymentStatus.succeeded:
        return "ignored"  # a late failure or cancel after the success changes nothing
    if event.outcome == "failed":
        card_payment.status = CardPaymentStatus.failed
        card_payment.failure_code = (event.failure_code or "")[:64] or None
        return "failed"
    card_payment.status = CardPaymentStatus.canceled
    return "canceled"


def _card_succeeded(provider: OnlineProvider, card_payment: CardPayment, event: GatewayEvent) -> str:
    if card_payment.status == CardPaymentStatus.succeeded:
        return "already_paid"
    if event.amount != card_payment.amount or event.currency != card_payment.currency:
        log.error(
            "payment %r: event %r says %r %r, we asked %r IDR",
            card_payment.intent_id,
            event.id,
            event.amount,
            event.currency,
            card_payment.amount,
        )
        return "amount_mismatch"
    card_payment.status = CardPaymentStatus.succeeded
    parts = list(card_payment.parts)
    amounts = common.spread(card_payment.amount, [part.amount for part in parts])
    fee_total, estimated = provider.fee(card_payment.intent_id, card_payment.amount)
    fees = common.spread(fee_total, amounts)
    outcome = "paid"
    for part, amount, fee in sorted(zip(parts, amounts, fees), key=lambda item: item[0].order_id):
        order = services.lock_order(db.session.get(Order, part.order_id))
        if amount > order.total - order.paid:
            log.error(
                "card payment %r for order %r: Rp%r arrived, Rp%r owed; refund the difference",
                card_payment.intent_id,
                order.id,
                amount,
                order.total - order.paid,
            )
            amount = order.total - order.paid
            fee = min(fee, amount)
            outcome = "overpaid"
            if amount == 0:
                continue
        unhonoured = order.status == OrderStatus.cancelled or (
            order.status == OrderStatus.expired and not services.reinstate_expired(order, LATE_PAYMENT_NOTE)
        )
        payment = Payment(
            order_id=order.id,
            group_id=order.group_id,
            method=PaymentMethod(provider.method),
            amount=amount,
            fee=fee,
            fee_estimated=estimated,
            reference=card_payment.intent_id[:100],
            received_at=utcnow(),
            card_payment_id=card_payment.id,
            recorded_by_id=None,
        )
        db.session.add(payment)
        db.session.flush()
        common.raise_sums(
            order,
            {"paid": Order.paid + amount, "card_fees": Order.card_fees + fee, "updated_at": utcnow()},
            Order.paid + amount <= Order.total,
        )
        common.post_payment(payment, None)
        if unhonoured:
            log.warning(
                "card payment %r arrived for %s order %r: refunding it",
                card_payment.intent_id,
                order.status.value,
                order.id,
            )
            _refund_unhonoured(provider, card_payment, order, amount)
            outcome = "refunded_closed_order"
    return outcome


LATE_PAYMENT_NOTE = "card payment arrived after the payment window; the stock was still there"
UNHONOURED_REASON = "Card payment arrived after the order was %s: given back automatically"


def _refund_unhonoured(provider: OnlineProvider, card_payment: CardPayment, order: Order, amount: int) -> Refund:
    """Give back, through the gateway, a card payment that arrived for an order that will not be honoured.

    Keyed by the card payment and the order, twice over: the gateway's idempotency key (a retry within a day
    gets the same refund back) and the refund's metadata, looked up first (a redelivery days later finds the
    refund already made). A gateway that does not answer fails the webhook, so that it is delivered again.
    """
    key = f"card-{card_payment.id}-order-{order.id}-unhonoured"
    try:
        made = next(
            (
                r.id
                for r in provider.refunds(card_payment.intent_id)
                if r.metadata.get("key") == key and r.status in REFUND_KEPT
            ),
            None,
        )
        if made is None:
            made = provider.refund(
                intent_id=card_payment.intent_id,
                amount=amount,
                idempotency_key=key,
                metadata={"order_id": str(order.id), "checkout_id": str(order.checkout_id), "key": key},
            )
    except GatewayError as exc:
        log.error(
            "could not refund card payment %r for %s order %r: %r",
            card_payment.intent_id,
            order.status.value,
            order.id,
            exc,
        )
        raise common.GatewayUnavailable(_l("The card refund was refused: %(reason)s", reason=str(exc))) from exc
    refund = Refund(
        order_id=order.id,
        group_id=order.group_id,
        method=PaymentMethod(provider.method),
        amount=amount,
        reason=UNHONOURED_REASON % order.status.value,
        card_payment_id=card_payment.id,
        processor_refund_id=made,
        recorded_by_id=None,
    )
    db.session.add(refund)
    db.session.flush()
    refunds.book_refund(order, refund, provider, None)
    return refund


# Refunds at the gateway that count: a pending card refund almost always goes through.
REFUND_KEPT = ("succeeded", "pending")
OUTSIDE_REASON = "Refunded at %s outside the app (%s)"


def _card_refunded(provider: OnlineProvider, card_payment: CardPayment) -> str:
    """Record the refunds of a card payment made at the gateway (its dashboard) that the books do not hold yet.

    The gateway's list of refunds is read, not the event's body, so any refund missed earlier is caught too.
    One the app made itself is found by its refund id and left alone. A new one goes to the order its
    metadata names (a refund the app made but did not get to record), else it is spread over the orders the
    way the payment was, largest remainder, never above what each order has left to refund from it.
    """
    if card_payment.status != CardPaymentStatus.succeeded:
        raise EventNotReady()
    try:
        at_gateway = [r for r in provider.refunds(card_payment.intent_id) if r.status in REFUND_KEPT]
    except GatewayError as exc:
        raise common.GatewayUnavailable() from exc
    paid = {
        order_id: int(amount)
        for order_id, amount in db.session.execute(
            select(Payment.order_id, Payment.amount).where(
                Payment.card_payment_id == card_payment.id, Payment.reverses_id.is_(None)
            )
        )
    }
    # The orders are locked first: a refund the app is making for one of them is recorded before this reads.
    orders = {order_id: services.lock_order(db.session.get(Order, order_id)) for order_id in sorted(paid)}
    known = (
        set(
            db.session.scalars(
                select(Refund.processor_refund_id).where(Refund.processor_refund_id.in_([r.id for r in at_gateway]))
            )
        )
        if at_gateway
        else set()
    )
    outcome = "no_new_refund"
    for gateway_refund in at_gateway:
        if gateway_refund.id in known or gateway_refund.amount <= 0:
            continue
        outcome = "refunded"
        shares, left = _share_refund(card_payment, gateway_refund, paid, orders)
        if left:
            log.error(
                "refund %r of card payment %r: Rp%r is more than its orders have left to refund",
                gateway_refund.id,
                card_payment.intent_id,
                left,
            )
            outcome = "refund_exceeds_payment"
        reason = OUTSIDE_REASON % (provider.name.capitalize(), gateway_refund.id)
        if gateway_refund.reason:
            reason += f": {gateway_refund.reason}"
        # A refund the app asked for under an Idempotency-Key, and did not get to record: recorded under that key,
        # so that the request's retry is answered with it.
        keyed = {
            "idempotency_key": gateway_refund.metadata.get("idempotency_key"),
            "request_hash": gateway_refund.metadata.get("request_hash"),
        }
        if list(shares) != [_named_order(gateway_refund)] or not all(isinstance(v, str) for v in keyed.values()):
            keyed = {}
        for order_id, amount in shares.items():
            refund = Refund(
                order_id=order_id,
                group_id=orders[order_id].group_id,
                method=PaymentMethod(provider.method),
                amount=amount,
                reason=reason[: common.REASON_MAX_LENGTH],
                card_payment_id=card_payment.id,
                processor_refund_id=gateway_refund.id[:255],
                recorded_by_id=None,
                **keyed,
            )
            db.session.add(refund)
            db.session.flush()
            refunds.book_refund(orders[order_id], refund, provider, None)
    return outcome


def _share_refund(
    card_payment: CardPayment, gateway_refund: GatewayRefund, paid: dict[int, int], orders: dict[int, Order]
) -> tuple[dict[int, int], int]:
    """How much of a gateway refund each order takes, and what is left over that no order can take."""
    back = dict(
        db.session.execute(
            select(Refund.order_id, func.sum(Refund.amount))
            .where(Refund.card_payment_id == card_payment.id)
            .group_by(Refund.order_id)
        ).all()
    )
    room = {
        order_id: max(
            0, min(amount - int(back.get(order_id, 0) or 0), orders[order_id].paid - orders[order_id].refunded)
        )
        for order_id, amount in paid.items()
    }
    target = _named_order(gateway_refund)
    target = target if target in paid else None
    ids = [target] if target is not None else sorted(paid)
    given, left = fit_refund(
        gateway_refund.amount, [paid[order_id] for order_id in ids], [room[order_id] for order_id in ids]
    )
    return {order_id: amount for order_id, amount in zip(ids, given) if amount > 0}, left


def _named_order(gateway_refund: GatewayRefund) -> int | None:
    """The order a gateway refund's metadata names (one the app asked for), if any."""
    named = gateway_refund.metadata.get("order_id")
    return int(named) if isinstance(named, str) and named.isascii() and named.isdigit() else None


def fit_refund(amount: int, weights: list[int], room: list[int]) -> tuple[list[int], int]:
    """Spread a refund over parts in proportion to `weights` (largest remainder), none above its `room`; what a
    full part cannot take goes to the next with room, in order. Returns the parts and what is left over."""
    if not weights:
        return [], amount
    given = [min(share, limit) for share, limit in zip(common.spread(amount, weights), room)]
    left = amount - sum(given)
    for i, limit in enumerate(room):
        more = min(left, limit - given[i])
        given[i] += more
        left -= more
    return given, left

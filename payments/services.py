"""Money for orders: card payments through a gateway, cash and transfers recorded by the group, refunds.

Whatever the way, a payment ends the same: a Payment row per order, the order's
`paid` raised by a guarded UPDATE (never above its total, in the database too),
and a balanced journal entry in the group's books: the money account (cash,
bank, card) debited, payments clearing credited. A card fee is its own entry,
and so is a refund. Retries are safe: offline payments and refunds take an
Idempotency-Key, gateway events are kept by id under a unique index in the same
transaction as their effect.

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
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core import ledger
from accounts.services import require_login
from core.errors import AppError, Conflict, NotFound
from core.extensions import db
from core.idempotency import read_key, replayed, request_fingerprint
from core.money import MoneyError, format_rupiah, parse_rupiah, split_largest_remainder
from core.types import utcnow
from revenue.services import accrual as revenue
from groups.models import Group, Role
from groups.services import require_role
from marketplace import services
from marketplace.models import OPEN_STATUSES, Checkout, Order, OrderStatus, PaymentMethod
from payments.models import CardPayment, CardPaymentPart, CardPaymentStatus, Payment, ProcessorEvent, Refund
from payments.providers import (GatewayError, GatewayEvent, GatewayRefund, OnlineProvider, online_provider,
                                order_reference, provider_for)
from marketplace.services import can_complete, is_paid_clause, payment_status  # noqa: F401  (here too)

log = logging.getLogger(__name__)

REFERENCE_MAX_LENGTH = 100
REASON_MAX_LENGTH = 500
BACKDATE_DAYS = 90


class GatewayUnavailable(AppError):
    """The payment gateway could not be reached or refused; nothing was recorded."""

    code = 502
    default_message = _l("The card payment service did not answer. Nothing was charged or recorded; "
                         "please try again.")


class EventNotReady(AppError):
    """A gateway event that cannot be applied yet (a refund of a payment whose success has not arrived):
    answered 409 so that the gateway delivers it again later; nothing is recorded, not even the event."""

    code = 409
    default_message = _l("The payment this event is about is not recorded yet; send the event again later.")


class PaymentsNotConfigured(AppError):
    code = 503
    default_message = _l("Card payments are not available right now. Please pay in cash or by transfer.")


# --- reading input ---------------------------------------------------------------------------

def _amount(value, field: str = "amount") -> int:
    try:
        amount = parse_rupiah(value)
    except MoneyError:
        raise services._error(field, _("Give a whole rupiah amount, such as 12500.")) from None
    if amount <= 0:
        raise services._error(field, _("The amount must be more than zero."))
    return amount


def _received_at(value) -> datetime:
    if value in (None, ""):
        return utcnow()
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):  # a day alone: midday WIB, or now when that is still ahead today
            moment = min(datetime.combine(value, time(12, 0), tzinfo=services.WIB), utcnow())
        elif isinstance(value, str) and len(value) == 10:
            moment = min(datetime.combine(date.fromisoformat(value), time(12, 0), tzinfo=services.WIB), utcnow())
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value)
        else:
            raise ValueError
    except ValueError:
        raise services._error("received_at", _("Use a date such as 2026-11-28.")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=services.WIB)
    now = utcnow()
    if moment > now + timedelta(minutes=10) or moment < now - timedelta(days=BACKDATE_DAYS):
        raise services._error("received_at", _("Give a day from the last %(n)d days, not in the future.",
                                                n=BACKDATE_DAYS))
    return moment.astimezone(UTC)


def _method(value, allowed: tuple[str, ...], field: str = "method") -> PaymentMethod:
    if value not in allowed:
        raise services._error(field, _("Choose one of: %(choices)s.", choices=", ".join(allowed)))
    return PaymentMethod(value)


def _guarded(order: Order, values: dict, where) -> None:
    """Raise the order's sums by SQL expressions, only while the guard holds; Conflict otherwise."""
    result = db.session.execute(update(Order).where(Order.id == order.id, where).values(**values)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_l("The order's payments changed meanwhile; reload and try again."))
    db.session.expire(order, ["paid", "refunded", "card_fees", "updated_at"])


def _post_payment(payment: Payment, actor_id: int | None) -> None:
    money = provider_for(payment.method).ledger_account
    ledger.post(payment.group_id, "payment", {money: payment.amount, ledger.PAYMENTS_CLEARING: -payment.amount},
                source="payment", source_id=payment.id, actor_id=actor_id,
                memo=f"order {payment.order_id}")
    if payment.fee:
        ledger.post(payment.group_id, "card_fee", {ledger.CARD_FEES: payment.fee, money: -payment.fee},
                    source="payment", source_id=payment.id, actor_id=actor_id, memo=f"order {payment.order_id}")


# --- offline payments (cash, transfer) -----------------------------------------------------

OFFLINE = ("cash", "transfer")


def record_payment(order: Order, data: dict, idempotency_key=None, *, slip_name: str | None = None
                   ) -> tuple[Payment, bool]:
    """Record cash or a transfer the group received for an order; returns (payment, created).

    Partial payments are fine; more than is owed is refused (409). The same
    Idempotency-Key with the same body returns the first payment.
    """
    actor = require_login()
    require_role(db.session.get(Group, order.group_id), Role.coordinator, Role.treasurer)
    if not isinstance(data, dict):
        raise services._error("_schema", _("Send a JSON object."))
    key = read_key(idempotency_key)
    fingerprint = request_fingerprint(data)
    if key:
        existing = _find(Payment, order, key)
        if existing is not None:
            return replayed(existing, fingerprint), False
    method = _method(data.get("method"), OFFLINE)
    amount = _amount(data.get("amount"))
    reference = services._text(data.get("reference"), "reference", REFERENCE_MAX_LENGTH)
    received_at = _received_at(data.get("received_at"))

    order = services._lock(order)
    if key and (existing := _find(Payment, order, key)) is not None:  # a twin sent at the same moment went first
        return replayed(existing, fingerprint), False
    if order.status in (OrderStatus.cancelled, OrderStatus.expired):
        raise Conflict(_l("This order is %(status)s and takes no payment.", status=services.status_label(order.status)),
                       {"status": [order.status.value]})
    if amount > order.total - order.paid:
        raise Conflict(_l("Only %(owed)s is owed on this order.", owed=format_rupiah(order.total - order.paid)),
                       {"amount": [_("At most %(owed)s.", owed=format_rupiah(order.total - order.paid))]})
    _cancel_pending_card_payments(order)
    payment = Payment(order_id=order.id, group_id=order.group_id, method=method, amount=amount, fee=0,
                      reference=reference, received_at=received_at, slip_name=slip_name, recorded_by_id=actor.id,
                      idempotency_key=key, request_hash=fingerprint if key else None)
    try:
        with db.session.begin_nested():  # begun before the add: a refused insert leaves the transaction usable
            db.session.add(payment)
            db.session.flush()
    except IntegrityError:
        existing = _find(Payment, order, key) if key else None
        if existing is None:
            raise
        return replayed(existing, fingerprint), False
    _guarded(order, {"paid": Order.paid + amount, "updated_at": utcnow()}, Order.paid + amount <= Order.total)
    _post_payment(payment, actor.id)
    db.session.flush()
    return payment, True


def reverse_payment(order: Order, payment_id, reason) -> Payment:
    """Correct cash or a transfer recorded by mistake: a reversing payment row and a reversing journal entry.

    Nothing is edited away. Card payments are not reversed (their money is real:
    refund it instead), nor payments of a completed order, nor a payment twice.
    """
    actor = require_login()
    require_role(db.session.get(Group, order.group_id), Role.coordinator, Role.treasurer)
    reason = services._text(reason, "reason", REASON_MAX_LENGTH)
    if not reason:
        raise services._error("reason", _("Say what was wrong with this payment."))
    order = services._lock(order)
    original = db.session.get(Payment, payment_id) if isinstance(payment_id, int) and 0 < payment_id <= 2**31 \
        else None
    if original is None or original.order_id != order.id:
        raise NotFound(_l("Payment not found."))
    corrected = db.session.scalar(select(Payment.id).where(Payment.reverses_id == original.id)) is not None
    refused = _reversal_refused(order, original, corrected)
    if refused is not None:
        raise refused
    correction = Payment(order_id=order.id, group_id=order.group_id, method=original.method,
                         amount=-original.amount, fee=0, reference=reason[:REFERENCE_MAX_LENGTH],
                         received_at=utcnow(), reverses_id=original.id, recorded_by_id=actor.id)
    db.session.add(correction)
    db.session.flush()
    _guarded(order, {"paid": Order.paid - original.amount, "updated_at": utcnow()},
             Order.paid - original.amount >= Order.refunded)
    entry = db.session.scalar(select(ledger.JournalEntry).where(
        ledger.JournalEntry.source == "payment", ledger.JournalEntry.source_id == original.id,
        ledger.JournalEntry.kind == "payment"))
    ledger.post(order.group_id, "reversal", [(p.account.key, -p.amount) for p in entry.postings],
                source="payment", source_id=correction.id, reverses_id=entry.id, actor_id=actor.id,
                memo=f"order {order.id}: {reason}"[:500])
    db.session.flush()
    return correction


def _reversal_refused(order: Order, original: Payment, corrected: bool) -> Conflict | None:
    """Why a payment cannot be reversed, or None when it can."""
    if original.method.value not in OFFLINE or original.reverses_id is not None:
        return Conflict(_l("Only cash and transfers recorded by the group can be corrected; refund card money."))
    if order.status == OrderStatus.completed:
        return Conflict(_l("The order is completed; give money back with a refund instead."),
                        {"status": [order.status.value]})
    if corrected:
        return Conflict(_l("This payment was corrected already."))
    if original.amount > order.paid - order.refunded:
        return Conflict(_l("Part of this payment was refunded; it cannot be corrected any more."))
    return None


def reversible_payments(order: Order) -> list[Payment]:
    """The order's payments that may still be reversed, for the page's forms (reverse_payment checks again)."""
    rows = db.session.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)).all()
    corrected = {p.reverses_id for p in rows if p.reverses_id is not None}
    return [p for p in rows if _reversal_refused(order, p, p.id in corrected) is None]


def _find(model, order: Order, key: str):
    return db.session.scalar(select(model).where(model.order_id == order.id, model.idempotency_key == key))


def _cancel_pending_card_payments(order: Order) -> None:
    """Before cash or a transfer is taken, a card payment still open for the order is cancelled at the gateway,
    so that the buyer cannot pay twice."""
    pending = db.session.scalars(
        select(CardPayment).join(CardPaymentPart, CardPaymentPart.card_payment_id == CardPayment.id)
        .where(CardPaymentPart.order_id == order.id,
               CardPayment.status.in_((CardPaymentStatus.pending, CardPaymentStatus.failed)))).all()
    for card_payment in pending:
        provider = online_provider(card_payment.provider)
        try:
            provider.cancel(card_payment.intent_id)
        except GatewayError as exc:
            log.warning("could not cancel card payment %r: %r", card_payment.intent_id, exc)
            raise Conflict(_l("A card payment for this order may be going through. Wait a minute and reload "
                              "before taking cash.")) from exc
        card_payment.status = CardPaymentStatus.canceled


def complete_at_handover(order: Order, data: dict, idempotency_key=None) -> Order:
    """At pickup: record the cash the buyer hands over and complete the order, in one step."""
    payment, created = record_payment(order, {**data, "method": "cash"}, idempotency_key)
    order = db.session.get(Order, payment.order_id)
    if not created and order.status == OrderStatus.completed:
        return order  # a retry of a handover that went through
    return services.complete(order)


# --- card payments ---------------------------------------------------------------------------

def start_card_payment(checkout: Checkout) -> dict:
    """Start (or resume) paying a checkout's open orders by card; what the page needs to collect the card."""
    provider = provider_for(checkout.payment_method)
    if not isinstance(provider, OnlineProvider):
        raise Conflict(_l("This checkout is paid in cash or by transfer, not by card."),
                       {"payment_method": [checkout.payment_method.value]})
    if not provider.configured():
        raise PaymentsNotConfigured()
    orders = [services._lock(order) for order in sorted(checkout.orders, key=lambda o: o.id)]
    owed = [(order, order.total - order.paid) for order in orders
            if order.status in OPEN_STATUSES and order.total > order.paid]
    if not owed:
        raise Conflict(_l("Nothing is left to pay on this checkout."))
    amount = sum(part for _order, part in owed)
    parts = {order.id: part for order, part in owed}

    attempts = db.session.scalars(select(CardPayment).where(CardPayment.checkout_id == checkout.id)
                                  .order_by(CardPayment.attempt)).all()
    for earlier in attempts:
        if earlier.status not in (CardPaymentStatus.pending, CardPaymentStatus.failed):
            continue
        # An open attempt for the same orders and amount is resumed; a declined one is replaced by a new one.
        if (earlier.status == CardPaymentStatus.pending and earlier.amount == amount
                and {p.order_id: p.amount for p in earlier.parts} == parts):
            try:
                started = provider.resume(earlier.intent_id)
            except GatewayError as exc:
                raise GatewayUnavailable() from exc
            if started.status != "canceled":
                return _card_answer(provider, earlier, started.client_secret)
        try:
            provider.cancel(earlier.intent_id)  # for other orders or another amount: not to be paid any more
        except GatewayError as exc:
            raise Conflict(_l("An earlier card payment for this checkout may be going through. Wait a minute "
                              "and reload.")) from exc
        earlier.status = CardPaymentStatus.canceled

    attempt = (attempts[-1].attempt if attempts else 0) + 1
    order_ids = ",".join(str(order_id) for order_id in parts)
    try:
        started = provider.start(
            amount=amount, idempotency_key=f"checkout-{checkout.id}-card-{attempt}",
            metadata={"checkout_id": str(checkout.id), "order_ids": order_ids, "buyer_id": str(checkout.buyer_id)})
    except GatewayError as exc:
        raise GatewayUnavailable() from exc
    card_payment = CardPayment(checkout_id=checkout.id, provider=provider.name, intent_id=started.intent_id,
                               attempt=attempt, amount=amount, currency="IDR", status=CardPaymentStatus.pending)
    for order_id, part in parts.items():
        card_payment.parts.append(CardPaymentPart(order_id=order_id, amount=part))
    db.session.add(card_payment)
    db.session.flush()
    return _card_answer(provider, card_payment, started.client_secret)


class CardDeclined(AppError):
    """The card was refused; the attempt is marked failed and the buyer may try another card."""

    code = 402
    default_message = _l("The card was declined. Try another card, or pay in cash or by transfer.")


PAYMENT_METHOD_PREFIXES = ("pm_", "card_", "src_")


def confirm_card_payment(checkout: Checkout, payment_method) -> dict:
    """Confirm the checkout's open card payment with the payment method the buyer's page created.

    Answers the gateway's status: `succeeded` (the webhook then marks the orders
    paid), `processing`, or `requires_action` (the page lets the buyer
    authenticate with the client secret). A refused card raises CardDeclined
    after marking the attempt failed; the next start makes a new one.
    """
    if (not isinstance(payment_method, str) or not payment_method.startswith(PAYMENT_METHOD_PREFIXES)
            or len(payment_method) > 255 or not payment_method.isascii() or not payment_method.isprintable()):
        raise services._error("payment_method", _("Not a valid payment method."))
    query = (select(CardPayment).where(CardPayment.checkout_id == checkout.id,
                                       CardPayment.status == CardPaymentStatus.pending)
             .order_by(CardPayment.attempt.desc()).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    card_payment = db.session.scalar(query)
    if card_payment is None:
        raise Conflict(_l("There is no card payment waiting for this checkout; start again."))
    provider = online_provider(card_payment.provider)
    try:
        status = provider.confirm(card_payment.intent_id, payment_method)
    except GatewayError as exc:
        if exc.declined:
            card_payment.status = CardPaymentStatus.failed
            card_payment.failure_code = (exc.code or "declined")[:64]
            db.session.flush()
            raise CardDeclined() from exc
        raise GatewayUnavailable() from exc
    started = provider.resume(card_payment.intent_id) if status == "requires_action" else None
    return {"status": status, "card_payment_id": card_payment.id, "amount": card_payment.amount,
            "client_secret": started.client_secret if started else None}


def _card_answer(provider: OnlineProvider, card_payment: CardPayment, client_secret: str) -> dict:
    return {"client_secret": client_secret, "amount": card_payment.amount, "currency": "IDR",
            "card_payment_id": card_payment.id, "status": card_payment.status.value,
            "orders": [{"order_id": p.order_id, "amount": p.amount} for p in card_payment.parts],
            **provider.client_config()}


def receive_webhook(provider_name: str, payload: bytes, headers) -> str:
    """Verify a gateway's webhook and apply it once; returns what came of it.

    InvalidWebhook (answered 400) when the signature or body does not check out.
    The event id is recorded under a unique index in the same transaction as its
    effect, so a replay, even at the same moment, finds it and does nothing.
    """
    provider = online_provider(provider_name)
    event = provider.verify_webhook(payload, headers)
    seen = select(ProcessorEvent.id).where(ProcessorEvent.provider == provider.name,
                                           ProcessorEvent.event_id == event.id)
    if db.session.scalar(seen) is not None:
        return "replay"
    record = ProcessorEvent(provider=provider.name, event_id=event.id, type=event.type[:100],
                            object_id=event.intent_id, outcome="received")
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
        log.error("payment %r: event %r says %r %r, we asked %r IDR", card_payment.intent_id, event.id,
                  event.amount, event.currency, card_payment.amount)
        return "amount_mismatch"
    card_payment.status = CardPaymentStatus.succeeded
    parts = list(card_payment.parts)
    amounts = spread(card_payment.amount, [part.amount for part in parts])
    fee_total, estimated = provider.fee(card_payment.intent_id, card_payment.amount)
    fees = spread(fee_total, amounts)
    outcome = "paid"
    for part, amount, fee in sorted(zip(parts, amounts, fees), key=lambda item: item[0].order_id):
        order = services._lock(db.session.get(Order, part.order_id))
        if amount > order.total - order.paid:
            log.error("card payment %r for order %r: Rp%r arrived, Rp%r owed; refund the difference",
                      card_payment.intent_id, order.id, amount, order.total - order.paid)
            amount = order.total - order.paid
            fee = min(fee, amount)
            outcome = "overpaid"
            if amount == 0:
                continue
        unhonoured = order.status == OrderStatus.cancelled or (order.status == OrderStatus.expired
                                                               and not services.reinstate_expired(order,
                                                                                                  LATE_PAYMENT_NOTE))
        payment = Payment(order_id=order.id, group_id=order.group_id, method=PaymentMethod(provider.method),
                          amount=amount, fee=fee, fee_estimated=estimated, reference=card_payment.intent_id[:100],
                          received_at=utcnow(), card_payment_id=card_payment.id, recorded_by_id=None)
        db.session.add(payment)
        db.session.flush()
        _guarded(order, {"paid": Order.paid + amount, "card_fees": Order.card_fees + fee, "updated_at": utcnow()},
                 Order.paid + amount <= Order.total)
        _post_payment(payment, None)
        if unhonoured:
            log.warning("card payment %r arrived for %s order %r: refunding it", card_payment.intent_id,
                        order.status.value, order.id)
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
        made = next((r.id for r in provider.refunds(card_payment.intent_id)
                     if r.metadata.get("key") == key and r.status in REFUND_KEPT), None)
        if made is None:
            made = provider.refund(intent_id=card_payment.intent_id, amount=amount, idempotency_key=key,
                                   metadata={"order_id": str(order.id), "checkout_id": str(order.checkout_id),
                                             "key": key})
    except GatewayError as exc:
        log.error("could not refund card payment %r for %s order %r: %r", card_payment.intent_id,
                  order.status.value, order.id, exc)
        raise GatewayUnavailable(_l("The card refund was refused: %(reason)s", reason=str(exc))) from exc
    refund = Refund(order_id=order.id, group_id=order.group_id, method=PaymentMethod(provider.method),
                    amount=amount, reason=UNHONOURED_REASON % order.status.value, card_payment_id=card_payment.id,
                    processor_refund_id=made, recorded_by_id=None)
    db.session.add(refund)
    db.session.flush()
    _book_refund(order, refund, provider, None)
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
        raise GatewayUnavailable() from exc
    paid = {order_id: int(amount) for order_id, amount in db.session.execute(
        select(Payment.order_id, Payment.amount).where(Payment.card_payment_id == card_payment.id,
                                                       Payment.reverses_id.is_(None)))}
    # The orders are locked first: a refund the app is making for one of them is recorded before this reads.
    orders = {order_id: services._lock(db.session.get(Order, order_id)) for order_id in sorted(paid)}
    known = set(db.session.scalars(select(Refund.processor_refund_id).where(
        Refund.processor_refund_id.in_([r.id for r in at_gateway])))) if at_gateway else set()
    outcome = "no_new_refund"
    for gateway_refund in at_gateway:
        if gateway_refund.id in known or gateway_refund.amount <= 0:
            continue
        outcome = "refunded"
        shares, left = _share_refund(card_payment, gateway_refund, paid, orders)
        if left:
            log.error("refund %r of card payment %r: Rp%r is more than its orders have left to refund",
                      gateway_refund.id, card_payment.intent_id, left)
            outcome = "refund_exceeds_payment"
        reason = OUTSIDE_REASON % (provider.name.capitalize(), gateway_refund.id)
        if gateway_refund.reason:
            reason += f": {gateway_refund.reason}"
        # A refund the app asked for under an Idempotency-Key, and did not get to record: recorded under that key,
        # so that the request's retry is answered with it.
        keyed = {"idempotency_key": gateway_refund.metadata.get("idempotency_key"),
                 "request_hash": gateway_refund.metadata.get("request_hash")}
        if list(shares) != [_named_order(gateway_refund)] or not all(isinstance(v, str) for v in keyed.values()):
            keyed = {}
        for order_id, amount in shares.items():
            refund = Refund(order_id=order_id, group_id=orders[order_id].group_id,
                            method=PaymentMethod(provider.method), amount=amount, reason=reason[:REASON_MAX_LENGTH],
                            card_payment_id=card_payment.id, processor_refund_id=gateway_refund.id[:255],
                            recorded_by_id=None, **keyed)
            db.session.add(refund)
            db.session.flush()
            _book_refund(orders[order_id], refund, provider, None)
    return outcome


def _share_refund(card_payment: CardPayment, gateway_refund: GatewayRefund, paid: dict[int, int],
                  orders: dict[int, Order]) -> tuple[dict[int, int], int]:
    """How much of a gateway refund each order takes, and what is left over that no order can take."""
    back = dict(db.session.execute(
        select(Refund.order_id, func.sum(Refund.amount)).where(Refund.card_payment_id == card_payment.id)
        .group_by(Refund.order_id)).all())
    room = {order_id: max(0, min(amount - int(back.get(order_id, 0) or 0),
                                 orders[order_id].paid - orders[order_id].refunded))
            for order_id, amount in paid.items()}
    target = _named_order(gateway_refund)
    target = target if target in paid else None
    ids = [target] if target is not None else sorted(paid)
    given, left = fit_refund(gateway_refund.amount, [paid[order_id] for order_id in ids],
                             [room[order_id] for order_id in ids])
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
    given = [min(share, limit) for share, limit in zip(spread(amount, weights), room)]
    left = amount - sum(given)
    for i, limit in enumerate(room):
        more = min(left, limit - given[i])
        given[i] += more
        left -= more
    return given, left


def spread(total: int, weights: list[int]) -> list[int]:
    """Spread an amount over parts in proportion to `weights`, exactly: largest remainder, ties to the earlier."""
    if total == 0:
        return [0] * len(weights)
    return split_largest_remainder(total, weights)


# --- refunds ---------------------------------------------------------------------------------

def refund_order(order: Order, data: dict, idempotency_key=None) -> tuple[Refund, bool]:
    """Give money back: through the card gateway for card money, or recorded as cash or a transfer.

    Never above what was paid less what was refunded (409). Goods come back into
    stock only through a `return` adjustment, when the coordinator says they did.
    """
    actor = require_login()
    require_role(db.session.get(Group, order.group_id), Role.coordinator, Role.treasurer)
    if not isinstance(data, dict):
        raise services._error("_schema", _("Send a JSON object."))
    key = read_key(idempotency_key)
    fingerprint = request_fingerprint(data)
    if key:
        existing = _find(Refund, order, key)
        if existing is not None:
            return replayed(existing, fingerprint), False
    amount = _amount(data.get("amount"))
    reason = services._text(data.get("reason"), "reason", REASON_MAX_LENGTH)
    if not reason:
        raise services._error("reason", _("Say why the money is given back."))
    method = data.get("method")
    if method is not None:
        method = _method(method, ("card", "cash", "transfer"))

    order = services._lock(order)
    if key and (existing := _find(Refund, order, key)) is not None:  # a twin sent at the same moment went first
        return replayed(existing, fingerprint), False
    refundable = order.paid - order.refunded
    if amount > refundable:
        raise Conflict(_l("Only %(left)s can be refunded on this order.", left=format_rupiah(refundable)),
                       {"amount": [_("At most %(left)s.", left=format_rupiah(refundable))]})
    card_left = _card_refundable(order)
    if method is None:
        method = PaymentMethod.card if card_left else PaymentMethod.cash
    count = db.session.scalar(select(func.count(Refund.id)).where(Refund.order_id == order.id))
    refund = Refund(order_id=order.id, group_id=order.group_id, method=method, amount=amount, reason=reason,
                    recorded_by_id=actor.id, idempotency_key=key, request_hash=fingerprint if key else None)
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
                    (r.id for r in provider.refunds(card_payment.intent_id)
                     if r.metadata.get("order_id") == str(order.id) and r.metadata.get("idempotency_key") == key),
                    None)
            if refund.processor_refund_id is None:
                refund.processor_refund_id = provider.refund(
                    intent_id=card_payment.intent_id, amount=amount, metadata=metadata,
                    idempotency_key=f"order-{order.id}-refund-" + (f"key-{key}" if key else str(count + 1)))
        except GatewayError as exc:
            raise GatewayUnavailable(_l("The card refund was refused: %(reason)s", reason=str(exc))) from exc
        refund.card_payment_id = card_payment.id
    try:
        with db.session.begin_nested():
            db.session.add(refund)
            db.session.flush()
    except IntegrityError:
        existing = _find(Refund, order, key) if key else None
        if existing is None and refund.processor_refund_id:
            # The gateway's refund event got here first and recorded this very refund.
            existing = db.session.scalar(select(Refund).where(
                Refund.order_id == order.id, Refund.processor_refund_id == refund.processor_refund_id))
            if existing is not None:
                return existing, False
        if existing is None:
            raise
        return replayed(existing, fingerprint), False
    _book_refund(order, refund, provider, actor.id)
    return refund, True


def _book_refund(order: Order, refund: Refund, provider, actor_id: int | None) -> None:
    """A refund row just added: the order's refunded sum raised (guarded), the journal entry, and for a completed
    order the members' earnings taken back in proportion."""
    amount = refund.amount
    _guarded(order, {"refunded": Order.refunded + amount, "updated_at": utcnow()},
             Order.refunded + amount <= Order.paid)
    ledger.post(order.group_id, "refund", {ledger.REFUNDS: amount, provider.ledger_account: -amount},
                source="refund", source_id=refund.id, actor_id=actor_id,
                memo=f"order {order.id}: {refund.reason}"[:500])
    if order.status == OrderStatus.completed:  # its revenue was split already: take the earnings back
        revenue.reverse_for_refund(order.group_id, order.id, amount, refund.id, actor_id)
    db.session.flush()


def _card_refundable(order: Order) -> dict[int, int]:
    """Per card payment, how much of this order's card money can still go back."""
    paid = dict(db.session.execute(
        select(Payment.card_payment_id, func.sum(Payment.amount))
        .where(Payment.order_id == order.id, Payment.card_payment_id.is_not(None))
        .group_by(Payment.card_payment_id)).all())
    back = dict(db.session.execute(
        select(Refund.card_payment_id, func.sum(Refund.amount))
        .where(Refund.order_id == order.id, Refund.card_payment_id.is_not(None))
        .group_by(Refund.card_payment_id)).all())
    left = {card_id: int(total) - int(back.get(card_id, 0)) for card_id, total in paid.items()}
    return {card_id: amount for card_id, amount in left.items() if amount > 0}


def _card_payment_to_refund(order: Order, amount: int, card_left: dict[int, int]) -> CardPayment:
    for card_id, left in sorted(card_left.items(), reverse=True):
        if left >= amount:
            return db.session.get(CardPayment, card_id)
    most = max(card_left.values(), default=0)
    raise Conflict(_l("Only %(left)s of this order was paid by card; give the rest back in cash or by transfer.",
                      left=format_rupiah(most)), {"amount": [_("At most %(left)s.", left=format_rupiah(most))]})


# --- the books --------------------------------------------------------------------------------

def check_books() -> list[ledger.Problem]:
    """Each order's paid, refunded and card fees equal its payment and refund rows, and each row has its entry."""
    problems: list[ledger.Problem] = []
    sums = {order_id: (paid, fees) for order_id, paid, fees in db.session.execute(
        select(Payment.order_id, func.sum(Payment.amount), func.sum(Payment.fee)).group_by(Payment.order_id))}
    refunds = dict(db.session.execute(select(Refund.order_id, func.sum(Refund.amount)).group_by(Refund.order_id)).all())
    for order_id, paid, refunded, card_fees in db.session.execute(
            select(Order.id, Order.paid, Order.refunded, Order.card_fees)):
        row_paid, row_fees = sums.get(order_id, (0, 0))
        if (paid, card_fees) != (int(row_paid or 0), int(row_fees or 0)):
            problems.append(ledger.Problem(f"order {order_id}", f"paid {paid} and card fees {card_fees}, "
                                                                f"its payments say {row_paid} and {row_fees}"))
        if refunded != int(refunds.get(order_id, 0) or 0):
            problems.append(ledger.Problem(f"order {order_id}",
                                           f"refunded {refunded}, its refunds say {refunds.get(order_id, 0)}"))
    payments = {p.id: p for p in db.session.scalars(select(Payment))}
    cleared = ledger.source_postings("payment", payments, ledger.PAYMENTS_CLEARING)
    fees = ledger.source_postings("payment", payments, ledger.CARD_FEES)
    for payment_id, payment in payments.items():
        if cleared.get(payment_id, 0) != -payment.amount:
            problems.append(ledger.Problem(f"payment {payment_id}", f"of {payment.amount} has "
                                                                    f"{-cleared.get(payment_id, 0)} in the books"))
        if fees.get(payment_id, 0) != payment.fee:
            problems.append(ledger.Problem(f"payment {payment_id}", f"fee {payment.fee} has "
                                                                    f"{fees.get(payment_id, 0)} in the books"))
    refund_rows = {r.id: r for r in db.session.scalars(select(Refund))}
    booked = ledger.source_postings("refund", refund_rows, ledger.REFUNDS, kind="refund")
    for refund_id, refund in refund_rows.items():
        if booked.get(refund_id, 0) != refund.amount:
            problems.append(ledger.Problem(f"refund {refund_id}", f"of {refund.amount} has "
                                                                  f"{booked.get(refund_id, 0)} in the books"))
    return problems


ledger.register_check(check_books)


# --- reading ------------------------------------------------------------------------------------

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
    return {order.id: order_money(order, groups[order.group_id], order.group_id in insiders, payments[order.id],
                                  refunds[order.id]) for order in orders}


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
        "payments": [{"id": p.id, "method": p.method.value, "amount": p.amount, "reference": p.reference,
                      "reverses_id": p.reverses_id,
                      "received_at": p.received_at, "fee": p.fee if insider else None,
                      "slip": bool(p.slip_name) if insider else None} for p in payments],
        "refunds": [{"id": r.id, "method": r.method.value, "amount": r.amount, "reason": r.reason,
                     "created_at": r.created_at, "automatic": r.recorded_by_id is None} for r in refunds],
    }

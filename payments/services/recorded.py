"""Cash and transfers the group received: recorded by its coordinator or treasurer, corrected by a reversal
(never edited), and taken at pickup with the order completed in the same step."""

import logging
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from core import ledger
from core.errors import Conflict, NotFound
from core.extensions import db
from core.idempotency import replayed
from core.money import format_rupiah
from core.types import utcnow
from marketplace import services
from marketplace.models import Order, OrderStatus, PaymentMethod
from payments.models import CardPayment, CardPaymentPart, CardPaymentStatus, Payment
from payments.providers import GatewayError, online_provider
from payments.services import common
from payments.services.common import Retry

log = logging.getLogger(__name__)

OFFLINE = ("cash", "transfer")


@dataclass(frozen=True)
class OfflinePayment:
    """Cash or a transfer the group received, as the coordinator or treasurer gives it (payments.inputs)."""

    method: PaymentMethod  # cash or transfer
    amount: int  # whole rupiah, more than zero
    reference: str | None = None
    received_at: datetime | None = None  # None: now


def record_payment(
    actor: User, order: Order, payment: OfflinePayment, retry: Retry | None = None, *, slip_name: str | None = None
) -> tuple[Payment, bool]:
    """Record cash or a transfer the group received for an order; returns (payment, created).

    Partial payments are fine; more than is owed is refused (409). The same
    Idempotency-Key with the same request returns the first payment.
    """
    common.require_bookkeeper(actor, order)
    key = retry.key if retry else None
    if key and (existing := common.find_keyed(Payment, order, key)) is not None:
        return replayed(existing, retry.fingerprint), False
    order = services.lock_order(order)
    # A twin sent at the same moment went first.
    if key and (existing := common.find_keyed(Payment, order, key)) is not None:
        return replayed(existing, retry.fingerprint), False
    if order.status in (OrderStatus.cancelled, OrderStatus.expired):
        raise Conflict(
            _l("This order is %(status)s and takes no payment.", status=services.status_label(order.status)),
            {"status": [order.status.value]},
        )
    services.require_within_ceiling(order)
    if payment.amount > order.total - order.paid:
        raise Conflict(
            _l("Only %(owed)s is owed on this order.", owed=format_rupiah(order.total - order.paid)),
            {"amount": [_("At most %(owed)s.", owed=format_rupiah(order.total - order.paid))]},
        )
    _cancel_pending_card_payments(order)
    row = Payment(
        order_id=order.id,
        group_id=order.group_id,
        method=payment.method,
        amount=payment.amount,
        fee=0,
        reference=payment.reference,
        received_at=payment.received_at or utcnow(),
        slip_name=slip_name,
        recorded_by_id=actor.id,
        idempotency_key=key,
        request_hash=retry.fingerprint if key else None,
    )
    try:
        with db.session.begin_nested():  # begun before the add: a refused insert leaves the transaction usable
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        existing = common.find_keyed(Payment, order, key) if key else None
        if existing is None:
            raise
        return replayed(existing, retry.fingerprint), False
    common.raise_sums(
        order, {"paid": Order.paid + row.amount, "updated_at": utcnow()}, Order.paid + row.amount <= Order.total
    )
    common.post_payment(row, actor.id)
    db.session.flush()
    return row, True


def reverse_payment(actor: User, order: Order, payment_id: int, reason: str) -> Payment:
    """Correct cash or a transfer recorded by mistake: a reversing payment row and a reversing journal entry;
    `reason` says what was wrong.

    Nothing is edited away. Card payments are not reversed (their money is real:
    refund it instead), nor payments of a completed order, nor a payment twice.
    """
    common.require_bookkeeper(actor, order)
    order = services.lock_order(order)
    original = db.session.get(Payment, payment_id) if isinstance(payment_id, int) and 0 < payment_id <= 2**31 else None
    if original is None or original.order_id != order.id:
        raise NotFound(_l("Payment not found."))
    corrected = db.session.scalar(select(Payment.id).where(Payment.reverses_id == original.id)) is not None
    refused = _reversal_refused(order, original, corrected)
    if refused is not None:
        raise refused
    correction = Payment(
        order_id=order.id,
        group_id=order.group_id,
        method=original.method,
        amount=-original.amount,
        fee=0,
        reference=reason[: common.REFERENCE_MAX_LENGTH],
        received_at=utcnow(),
        reverses_id=original.id,
        recorded_by_id=actor.id,
    )
    db.session.add(correction)
    db.session.flush()
    common.raise_sums(
        order,
        {"paid": Order.paid - original.amount, "updated_at": utcnow()},
        Order.paid - original.amount >= Order.refunded,
    )
    entry = db.session.scalar(
        select(ledger.JournalEntry).where(
            ledger.JournalEntry.source == "payment",
            ledger.JournalEntry.source_id == original.id,
            ledger.JournalEntry.kind == "payment",
        )
    )
    ledger.post(
        order.group_id,
        "reversal",
        [(p.account.key, -p.amount) for p in entry.postings],
        source="payment",
        source_id=correction.id,
        reverses_id=entry.id,
        actor_id=actor.id,
        memo=f"order {order.id}: {reason}"[:500],
    )
    db.session.flush()
    return correction


def _reversal_refused(order: Order, original: Payment, corrected: bool) -> Conflict | None:
    """Why a payment cannot be reversed, or None when it can."""
    if original.method.value not in OFFLINE or original.reverses_id is not None:
        return Conflict(_l("Only cash and transfers recorded by the group can be corrected; refund card money."))
    if order.status == OrderStatus.completed:
        return Conflict(
            _l("The order is completed; give money back with a refund instead."), {"status": [order.status.value]}
        )
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


def _pending_card_payments(order: Order) -> list[CardPayment]:
    return db.session.scalars(
        select(CardPayment)
        .join(CardPaymentPart, CardPaymentPart.card_payment_id == CardPayment.id)
        .where(
            CardPaymentPart.order_id == order.id,
            CardPayment.status.in_((CardPaymentStatus.pending, CardPaymentStatus.failed)),
        )
    ).all()


# A card payment's states at the gateway in which it takes no money unless the buyer's page confirms it again.
UNCONFIRMED = ("requires_payment_method", "requires_confirmation", "canceled")


def card_pending(order: Order) -> bool:
    """Whether a card payment started for the order may still go through.

    One the buyer started and left unconfirmed (or declined) is cancelled at the gateway first, so that it holds
    nothing up (a delivery split off a job's order whose deposit page was left open, a harvest shared out); the
    buyer's page then starts again. One the gateway cannot tell about counts as going through.
    """
    going = False
    for card_payment in _pending_card_payments(order):
        provider = online_provider(card_payment.provider)
        try:
            status = provider.resume(card_payment.intent_id).status
            if status in UNCONFIRMED:
                if status != "canceled":
                    provider.cancel(card_payment.intent_id)
                card_payment.status = CardPaymentStatus.canceled
                continue
        except GatewayError as exc:
            log.warning("could not read card payment %r: %r", card_payment.intent_id, exc)
        going = True
    db.session.flush()
    return going


def _cancel_pending_card_payments(order: Order) -> None:
    """Before cash or a transfer is taken, a card payment still open for the order is cancelled at the gateway,
    so that the buyer cannot pay twice."""
    pending = _pending_card_payments(order)
    for card_payment in pending:
        provider = online_provider(card_payment.provider)
        try:
            provider.cancel(card_payment.intent_id)
        except GatewayError as exc:
            log.warning("could not cancel card payment %r: %r", card_payment.intent_id, exc)
            raise Conflict(
                _l("A card payment for this order may be going through. Wait a minute and reload before taking cash.")
            ) from exc
        card_payment.status = CardPaymentStatus.canceled


def complete_at_handover(
    actor: User, order: Order, amount: int, reference: str | None = None, retry: Retry | None = None
) -> Order:
    """At pickup: record the cash the buyer hands over (`amount`, what is owed) and complete the order, in one
    step. The coordinator's, as completing is. A retry of a handover that went through returns the order."""
    common.require_coordinator(actor, order)
    cash = OfflinePayment(method=PaymentMethod.cash, amount=amount, reference=reference)
    payment, created = record_payment(actor, order, cash, retry)
    order = db.session.get(Order, payment.order_id)
    if not created and order.status == OrderStatus.completed:
        return order  # a retry of a handover that went through
    return services.complete(actor, order)


def handover_retry(key, sent) -> Retry | None:
    """The Retry of a handover: its key stands for the payment sent, recorded as cash."""
    return common.retry_of(key, {**sent, "method": "cash"})

"""Paying a checkout's open orders by card: one gateway payment for what they owe (everything, or a chosen part
of it such as a deposit), started (or resumed) for the buyer's page, then confirmed with the card the page
collected. The orders become paid only when the gateway's webhook says so (payments.services.webhooks), each by
the part the payment named for it."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.models import User
from core.errors import AppError, Conflict, NotFound, Unauthorized, field_error
from core.extensions import db
from core.money import format_rupiah
from marketplace import services
from marketplace.models import OPEN_STATUSES, Checkout, Order, PaymentMethod
from payments.models import CardPayment, CardPaymentPart, CardPaymentStatus
from payments.providers import GatewayError, OnlineProvider, online_provider, provider_for
from payments.services import common


class PaymentsNotConfigured(AppError):
    code = 503
    default_message = _l("Card payments are not available right now. Please pay in cash or by transfer.")


def card_gateway(checkout: Checkout) -> OnlineProvider:
    """The gateway that takes a checkout's open orders by card now; why it cannot, raised, when it cannot.

    Reads only: the pay page asks it before the buyer pays; start_card_payment asks it first, then counts what is
    owed again under the orders' locks.
    """
    if not isinstance(provider_for(checkout.payment_method), OnlineProvider):
        raise Conflict(
            _l("This checkout is paid in cash or by transfer, not by card."),
            {"payment_method": [checkout.payment_method.value]},
        )
    provider = card_provider()
    if not _owed(checkout.orders):
        raise _nothing_owed()
    return provider


def card_provider() -> OnlineProvider:
    """The gateway that takes cards, when it is configured (PaymentsNotConfigured, a 503, when not). For a part
    of what orders owe (a deposit), which may be paid by card whatever way the checkout was to be paid."""
    provider = provider_for(PaymentMethod.card)
    if not provider.configured():
        raise PaymentsNotConfigured()
    return provider


def cards_taken() -> bool:
    """Whether buyers may pay by card now (the gateway is configured), for pages that offer it."""
    return provider_for(PaymentMethod.card).available()


def payment_method_of(value) -> PaymentMethod:
    """The way a buyer chose to pay an order placed before its goods exist (a made-to-order job, a pre-order):
    card while the gateway takes cards, cash or transfer; otherwise a 422 naming `payment_method`. Whichever it
    is, a deposit may later be paid by card (`start_card_payment` with `parts`) or recorded in cash."""
    try:
        method = PaymentMethod(value)
    except (TypeError, ValueError):
        raise field_error("payment_method", _("Choose card, cash or transfer.")) from None
    if not provider_for(method).available():
        raise field_error(
            "payment_method", _("Card payments are not available right now. Please pay in cash or by transfer.")
        )
    return method


def owed_parts(orders, up_to: int | None = None) -> dict[int, int]:
    """What a card payment takes of each of `orders` that is open and owes something (order id -> rupiah):
    all it owes, or `up_to` altogether (a deposit), the earlier orders first. Read again under the orders'
    locks by `start_card_payment`."""
    parts = {}
    left = up_to
    for order, owed in _owed(sorted(orders, key=lambda o: o.id)):
        part = owed if left is None else min(owed, left)
        if part <= 0:
            break
        parts[order.id] = part
        if left is not None:
            left -= part
    return parts


def _owed(orders) -> list[tuple[Order, int]]:
    """Each open order that still owes something, and what it owes."""
    return [
        (order, order.total - order.paid)
        for order in orders
        if order.status in OPEN_STATUSES and order.total > order.paid
    ]


def _nothing_owed() -> Conflict:
    """The refusal when a checkout has nothing left to pay."""
    return Conflict(_l("Nothing is left to pay on this checkout."))


def _require_buyer(actor: User, checkout: Checkout) -> None:
    """404 unless the checkout is `actor`'s own: anyone else's is as unknown as a missing one."""
    if actor is None or not actor.is_authenticated:
        raise Unauthorized()
    if checkout.buyer_id != actor.id:
        raise NotFound(_l("Checkout not found."))


def start_card_payment(actor: User, checkout: Checkout, parts: dict[int, int] | None = None) -> dict:
    """Start (or resume) paying the buyer's checkout's open orders by card; what the page needs to collect the
    card.

    By default the payment is for everything the card checkout's open orders owe. `parts` (order id -> whole
    rupiah) pays a chosen part instead, such as a deposit, whatever way the checkout was to be paid: each
    order named is an open order of the checkout and each amount more than 0 and at most what it still owes,
    counted under the orders' locks (409 otherwise). The webhook raises each order's `paid` by its part.
    """
    _require_buyer(actor, checkout)
    provider = card_gateway(checkout) if parts is None else card_provider()
    owed = _owed([services.lock_order(order) for order in sorted(checkout.orders, key=lambda o: o.id)])
    parts = _chosen(owed, parts)
    for order, _left in owed:
        if order.id in parts:
            services.require_within_ceiling(order)
    amount = sum(parts.values())

    attempts = db.session.scalars(
        select(CardPayment).where(CardPayment.checkout_id == checkout.id).order_by(CardPayment.attempt)
    ).all()
    for earlier in attempts:
        if earlier.status not in (CardPaymentStatus.pending, CardPaymentStatus.failed):
            continue
        # An open attempt for the same orders and amount is resumed; a declined one is replaced by a new one.
        if (
            earlier.status == CardPaymentStatus.pending
            and earlier.amount == amount
            and {p.order_id: p.amount for p in earlier.parts} == parts
        ):
            try:
                started = provider.resume(earlier.intent_id)
            except GatewayError as exc:
                raise common.GatewayUnavailable() from exc
            if started.status != "canceled":
                return _card_answer(provider, earlier, started.client_secret)
        try:
            provider.cancel(earlier.intent_id)  # for other orders or another amount: not to be paid any more
        except GatewayError as exc:
            raise Conflict(
                _l("An earlier card payment for this checkout may be going through. Wait a minute and reload.")
            ) from exc
        earlier.status = CardPaymentStatus.canceled

    attempt = (attempts[-1].attempt if attempts else 0) + 1
    order_ids = ",".join(str(order_id) for order_id in parts)
    try:
        started = provider.start(
            amount=amount,
            idempotency_key=f"checkout-{checkout.id}-card-{attempt}",
            metadata={"checkout_id": str(checkout.id), "order_ids": order_ids, "buyer_id": str(checkout.buyer_id)},
        )
    except GatewayError as exc:
        raise common.GatewayUnavailable() from exc
    card_payment = CardPayment(
        checkout_id=checkout.id,
        provider=provider.name,
        intent_id=started.intent_id,
        attempt=attempt,
        amount=amount,
        currency="IDR",
        status=CardPaymentStatus.pending,
    )
    for order_id, part in parts.items():
        card_payment.parts.append(CardPaymentPart(order_id=order_id, amount=part))
    db.session.add(card_payment)
    db.session.flush()
    return _card_answer(provider, card_payment, started.client_secret)


def _chosen(owed: list[tuple[Order, int]], parts: dict[int, int] | None) -> dict[int, int]:
    """What the card payment takes of each order, by order id: everything owed, or the `parts` asked for."""
    left = {order.id: amount for order, amount in owed}
    if parts is None:
        chosen = left
    else:
        chosen = {}
        for order_id, amount in sorted(parts.items()):
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise ValueError(f"a card payment's part is a whole amount above zero, not {amount!r}")
            if order_id not in left:
                raise _nothing_owed()
            if amount > left[order_id]:
                raise Conflict(
                    _l("Only %(owed)s is owed on this order.", owed=format_rupiah(left[order_id])),
                    {"amount": [_("At most %(owed)s.", owed=format_rupiah(left[order_id]))]},
                )
            chosen[order_id] = amount
    if not chosen:  # paid meanwhile
        raise _nothing_owed()
    return chosen


class CardDeclined(AppError):
    """The card was refused; the attempt is marked failed and the buyer may try another card."""

    code = 402
    default_message = _l("The card was declined. Try another card, or pay in cash or by transfer.")


def confirm_card_payment(actor: User, checkout: Checkout, payment_method: str) -> dict:
    """Confirm the buyer's checkout's open card payment with the payment method their page created (read by
    payments.inputs.card_payment_method).

    Answers the gateway's status: `succeeded` (the webhook then marks the orders
    paid), `processing`, or `requires_action` (the page lets the buyer
    authenticate with the client secret). A refused card raises CardDeclined
    after marking the attempt failed; the next start makes a new one.
    """
    _require_buyer(actor, checkout)
    query = (
        select(CardPayment)
        .where(CardPayment.checkout_id == checkout.id, CardPayment.status == CardPaymentStatus.pending)
        .order_by(CardPayment.attempt.desc())
        .limit(1)
    )
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
        raise common.GatewayUnavailable() from exc
    started = provider.resume(card_payment.intent_id) if status == "requires_action" else None
    return {
        "status": status,
        "card_payment_id": card_payment.id,
        "amount": card_payment.amount,
        "client_secret": started.client_secret if started else None,
    }


def _card_answer(provider: OnlineProvider, card_payment: CardPayment, client_secret: str) -> dict:
    return {
        "client_secret": client_secret,
        "amount": card_payment.amount,
        "currency": "IDR",
        "card_payment_id": card_payment.id,
        "checkout_id": card_payment.checkout_id,
        "status": card_payment.status.value,
        "orders": [{"order_id": p.order_id, "amount": p.amount} for p in card_payment.parts],
        **provider.client_config(),
    }

"""Payments API: card payments for a checkout, the Stripe webhook, offline payments and refunds."""
import logging

from flask import request
from flask_smorest.error_handler import ErrorSchema

from core.auth import require_login
from core.blueprint import Blueprint
from core.errors import AppError
from core.extensions import db
from marketplace import payments, services
from marketplace.api import order_view
from marketplace.providers import InvalidWebhook
from marketplace.schemas import (CardConfirmIn, CardConfirmOut, CardPaymentOut, IdempotencyHeaders, PaymentIn,
                                 PaymentOut, RefundIn, RefundOut, ReversalIn)

blp = Blueprint("payments_api", __name__, url_prefix="/api/v1", description="Payments and refunds")
log = logging.getLogger(__name__)

_REPLAYED = {"Idempotent-Replayed": {"description": "`true` when a retry got the first result back",
                                     "schema": {"type": "string"}}}


class BadWebhook(AppError):
    code = 400


@blp.route("/checkouts/<int:checkout_id>/card-payment", methods=["POST"])
@blp.response(201, CardPaymentOut)
@blp.alt_response(409, schema=ErrorSchema, description="Not a card checkout, or nothing left to pay")
@blp.alt_response(503, schema=ErrorSchema, description="Card payments are not configured")
def start_card_payment(checkout_id):
    """Pay your checkout's open orders by card: a Stripe PaymentIntent for what they still owe, in IDR.

    Calling it again returns the same payment while it is open and the amount is
    unchanged, so a reloaded page never makes a second charge.
    """
    answer = payments.start_card_payment(services.get_checkout_or_404(checkout_id))
    db.session.commit()
    return answer


@blp.route("/checkouts/<int:checkout_id>/card-payment/confirm", methods=["POST"])
@blp.arguments(CardConfirmIn)
@blp.response(200, CardConfirmOut)
@blp.alt_response(402, schema=ErrorSchema, description="The card was declined; start again to try another card")
@blp.alt_response(409, schema=ErrorSchema, description="No card payment is waiting")
def confirm_card_payment(data, checkout_id):
    """Confirm the open card payment with a payment method created by Stripe.js on the buyer's page.

    `requires_action` means the page must let the buyer authenticate
    (`stripe.confirmCardPayment(client_secret)`). The orders are marked paid when
    Stripe's signed webhook arrives, not by this answer.
    """
    checkout = services.get_checkout_or_404(checkout_id)
    try:
        answer = payments.confirm_card_payment(checkout, data.get("payment_method"))
    except payments.CardDeclined:
        db.session.commit()  # the attempt is kept as failed: the next start makes a new one
        raise
    db.session.commit()
    return answer


@blp.route("/stripe/webhook", methods=["POST"])
@blp.response(200)
@blp.alt_response(400, schema=ErrorSchema, description="Signature missing or wrong, or the body is not an event")
def stripe_webhook():
    """Stripe's signed events, verified on the raw body. A replayed event is answered 200 and changes nothing."""
    payload = request.get_data(cache=False)
    try:
        outcome = payments.receive_webhook("stripe", payload, request.headers)
    except InvalidWebhook as exc:
        log.warning("refused a Stripe webhook: %r", str(exc))
        raise BadWebhook("The webhook signature could not be verified.") from None
    db.session.commit()
    return {"received": True, "outcome": outcome}


def _with_order(record) -> dict:
    view = {column: getattr(record, column) for column in ("id", "order_id", "method", "amount", "created_at")}
    view["method"] = record.method.value
    for column in ("reference", "received_at", "reason", "processor_refund_id"):
        if hasattr(record, column):
            view[column] = getattr(record, column)
    view["order"] = order_view(services.get_order_or_404(record.order_id), require_login())
    return view


@blp.route("/orders/<int:order_id>/payments", methods=["POST"])
@blp.arguments(IdempotencyHeaders, location="headers")
@blp.arguments(PaymentIn)
@blp.response(201, PaymentOut, headers=_REPLAYED)
@blp.alt_response(409, schema=ErrorSchema, description="More than is owed, or the order is cancelled or expired")
def record_payment(headers, _data, order_id):
    """Record cash or a bank transfer received for an order (coordinator, treasurer).

    Partial payments are fine; more than is owed is 409. A retry with the same
    `Idempotency-Key` and body returns the first payment (header
    `Idempotent-Replayed: true`); the same key with another body is 422.
    """
    order = services.get_order_or_404(order_id)
    payment, created = payments.record_payment(order, request.get_json(), headers.get("idempotency_key"))
    db.session.commit()
    return _with_order(payment), 201, ({} if created else {"Idempotent-Replayed": "true"})


@blp.route("/orders/<int:order_id>/refunds", methods=["POST"])
@blp.arguments(IdempotencyHeaders, location="headers")
@blp.arguments(RefundIn)
@blp.response(201, RefundOut, headers=_REPLAYED)
@blp.alt_response(409, schema=ErrorSchema, description="More than was paid less refunded")
@blp.alt_response(502, schema=ErrorSchema, description="The card processor refused or did not answer")
def refund(headers, _data, order_id):
    """Give money back (coordinator, treasurer): card money through Stripe, or recorded as cash or a transfer.

    Never above what was paid less what was refunded. Goods come back into stock
    only with a `return` adjustment. Takes an `Idempotency-Key` like payments.
    """
    order = services.get_order_or_404(order_id)
    refund_row, created = payments.refund_order(order, request.get_json(), headers.get("idempotency_key"))
    db.session.commit()
    return _with_order(refund_row), 201, ({} if created else {"Idempotent-Replayed": "true"})


@blp.route("/orders/<int:order_id>/payments/<int:payment_id>/reversal", methods=["POST"])
@blp.arguments(ReversalIn)
@blp.response(201, PaymentOut)
@blp.alt_response(409, schema=ErrorSchema, description="A card payment, a completed order, or already corrected")
def reverse_payment(data, order_id, payment_id):
    """Correct cash or a transfer recorded by mistake (coordinator, treasurer): a reversing payment of the
    negative amount and a reversing journal entry. Nothing is edited or deleted."""
    order = services.get_order_or_404(order_id)
    correction = payments.reverse_payment(order, payment_id, data.get("reason"))
    db.session.commit()
    return _with_order(correction), 201

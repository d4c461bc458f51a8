"""Payments API: card payments for a checkout, the Stripe webhook, offline payments, the handover, refunds."""

import logging

from flask import request, send_from_directory
from flask_babel import gettext as _
from flask_smorest.error_handler import ErrorSchema
from marshmallow import ValidationError

from accounts.services import require_login
from core.blueprint import Blueprint, require_json_body
from core.errors import AppError, ValidationFailed
from core.extensions import db
from marketplace import services
from marketplace.api import order_view
from marketplace.schemas import IdempotencyHeaders, OrderOut
from payments import inputs, slips
from payments.providers import InvalidWebhook
from payments.schemas import (
    CardConfirmIn,
    CardConfirmOut,
    CardPaymentOut,
    CompleteIn,
    PaymentIn,
    PaymentOut,
    RecordedPaymentOut,
    RefundIn,
    RefundOut,
    ReversalIn,
    SlipFiles,
)
from payments.services import card, common, recorded, refunds, webhooks

blp = Blueprint("payments_api", __name__, url_prefix="/api/v1", description="Payments and refunds")
log = logging.getLogger(__name__)

_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when a retry got the first result back",
        "schema": {"type": "string"},
    }
}


class BadWebhook(AppError):
    code = 400


# A payment sent as multipart/form-data: the same fields as JSON, as form fields, and the slip photo as a file.
SLIP_FIELD = "slip"
_MULTIPART_PAYMENT = {
    "schema": {
        "type": "object",
        "required": ["method", "amount"],
        "properties": {
            "method": {"type": "string", "enum": ["cash", "transfer"]},
            "amount": {"type": "string", "example": "25000", "description": "Whole rupiah, at most what is owed"},
            "reference": {"type": "string", "description": "The transfer's reference or a receipt number"},
            "received_at": {"type": "string", "description": "Default now; a date or date-time in the last 90 days"},
            SLIP_FIELD: {
                "type": "string",
                "format": "binary",
                "description": "Optional photo of the transfer slip: JPEG, PNG or WebP, checked by its "
                "content and stored re-encoded as WebP; the whole request at most "
                "MAX_CONTENT_LENGTH (2 MB by default, 413 above)",
            },
        },
    },
}


@blp.route("/checkouts/<int:checkout_id>/card-payment", methods=["POST"])
@blp.response(201, CardPaymentOut)
@blp.alt_response(409, schema=ErrorSchema, description="Not a card checkout, or nothing left to pay")
@blp.alt_response(503, schema=ErrorSchema, description="Card payments are not configured")
def start_card_payment(checkout_id):
    """Pay your checkout's open orders by card: a Stripe PaymentIntent for what they still owe, in IDR.

    Calling it again returns the same payment while it is open and the amount is
    unchanged, so a reloaded page never makes a second charge.
    """
    actor = require_login()
    answer = card.start_card_payment(actor, services.get_checkout_or_404(actor, checkout_id))
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
    checkout = services.get_checkout_or_404(require_login(), checkout_id)
    payment_method = inputs.card_payment_method(data.get("payment_method"))
    try:
        answer = card.confirm_card_payment(require_login(), checkout, payment_method)
    except card.CardDeclined:
        db.session.commit()  # the attempt is kept as failed: the next start makes a new one
        raise
    db.session.commit()
    return answer


@blp.route("/stripe/webhook", methods=["POST"])
@blp.response(200)
@blp.alt_response(400, schema=ErrorSchema, description="Signature missing or wrong, or the body is not an event")
@blp.alt_response(
    409, schema=ErrorSchema, description="A refund event for a payment not recorded yet: Stripe delivers it again later"
)
@blp.alt_response(
    502,
    schema=ErrorSchema,
    description="Stripe did not answer a call the event needs (reading its "
    "refunds, or refunding a payment for a closed order)",
)
def stripe_webhook():
    """Stripe's signed events, verified on the raw body. A replayed event is answered 200 and changes nothing.

    Read: `payment_intent.succeeded`, `payment_intent.payment_failed`,
    `payment_intent.canceled` and `charge.refunded` (refunds made in the Stripe
    dashboard are recorded; the app's own are recognised by their refund id).
    Nothing is recorded when the answer is not 200, so Stripe's retry finds
    everything as it was.
    """
    payload = request.get_data(cache=False)
    try:
        outcome = webhooks.receive_webhook("stripe", payload, request.headers)
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
    user = require_login()
    view["order"] = order_view(services.get_order_or_404(user, record.order_id), user)
    return view


def _multipart_payment() -> tuple[dict, bytes | None]:
    """A payment's fields and slip photo from a multipart/form-data body: the fields loaded by the JSON body's
    schema (PaymentIn), the file by SlipFiles. An unknown field is 422, the first one named, in the request's
    language (the schemas hold only Raw fields: an unknown field is all they refuse)."""
    try:
        sent = PaymentIn().load(request.form.to_dict())
        upload = SlipFiles().load(request.files.to_dict()).get(SLIP_FIELD)
    except ValidationError as exc:
        raise ValidationFailed(errors={sorted(exc.messages)[0]: [_("Unknown field.")]}) from None
    if upload is None:
        return sent, None
    photo = upload.read()
    if not photo:  # a file part sent empty is a mistake, not "no slip"
        raise ValidationFailed(errors={SLIP_FIELD: [_("Choose a photo.")]})
    return sent, photo


@blp.route("/orders/<int:order_id>/payments", methods=["POST"])
@blp.arguments(IdempotencyHeaders, location="headers")
@blp.arguments(PaymentIn)
@blp.doc(requestBody={"content": {"multipart/form-data": _MULTIPART_PAYMENT}})
@blp.response(201, RecordedPaymentOut, headers=_REPLAYED)
@blp.alt_response(409, schema=ErrorSchema, description="More than is owed, or the order is cancelled or expired")
@blp.alt_response(413, schema=ErrorSchema, description="The request (with its slip photo) is too large")
def record_payment(headers, data, order_id):
    """Record cash or a bank transfer received for an order (coordinator, treasurer).

    Partial payments are fine; more than is owed is 409. A retry with the same
    `Idempotency-Key` and body returns the first payment (header
    `Idempotent-Replayed: true`); the same key with another body is 422.

    Sent as `multipart/form-data`, the same fields come as form fields and a
    photo of the transfer slip may come as the file `slip`: a JPEG, PNG or WebP
    image (checked by its content, 422 otherwise), stored re-encoded as WebP
    where only the group's coordinator and treasurer can read it
    (`GET /orders/{id}/payments/{payment_id}/slip`). The slip is part of the
    body an `Idempotency-Key` stands for.
    """
    actor = require_login()
    order = services.get_order_or_404(actor, order_id)
    multipart = request.mimetype == "multipart/form-data"
    if not multipart:
        require_json_body()
    common.require_bookkeeper(actor, order)  # before the body is read
    upload = None
    if multipart:
        data, upload = _multipart_payment()  # the JSON body loaded nothing
    retry = common.retry_of(headers.get("idempotency_key"), slips.with_slip(data, upload))
    payment, created, written = slips.record_payment_with_slip(
        actor, order, inputs.offline_payment(data), retry, upload
    )
    slips.commit_with_slip(written)
    view = _with_order(payment)
    view["slip"] = bool(payment.slip_name)
    return view, 201, ({} if created else {"Idempotent-Replayed": "true"})


@blp.route("/orders/<int:order_id>/payments/<int:payment_id>/slip", methods=["GET"])
@blp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="image/webp",
    description="The transfer slip photo, re-encoded as WebP",
)
@blp.alt_response(404, schema=ErrorSchema, description="No such payment or no slip, or not the caller's group")
def payment_slip(order_id, payment_id):
    """The transfer slip photo of one of the order's payments (the group's coordinator and treasurer only);
    never cached."""
    actor = require_login()
    folder, name = slips.slip_file(actor, services.get_order_or_404(actor, order_id), payment_id)
    response = send_from_directory(folder, name, mimetype="image/webp", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route("/orders/<int:order_id>/refunds", methods=["POST"])
@blp.arguments(IdempotencyHeaders, location="headers")
@blp.arguments(RefundIn)
@blp.response(201, RefundOut, headers=_REPLAYED)
@blp.alt_response(409, schema=ErrorSchema, description="More than was paid less refunded")
@blp.alt_response(502, schema=ErrorSchema, description="The card processor refused or did not answer")
def refund(headers, data, order_id):
    """Give money back (coordinator, treasurer): card money through Stripe, or recorded as cash or a transfer.

    Never above what was paid less what was refunded. Goods come back into stock
    only with a `return` adjustment. Takes an `Idempotency-Key` like payments.
    """
    actor = require_login()
    order = services.get_order_or_404(actor, order_id)
    require_json_body()
    common.require_bookkeeper(actor, order)  # before the body is read
    retry = common.retry_of(headers.get("idempotency_key"), data)
    refund_row, created = refunds.refund_order(actor, order, inputs.requested_refund(data), retry)
    db.session.commit()
    return _with_order(refund_row), 201, ({} if created else {"Idempotent-Replayed": "true"})


@blp.route("/orders/<int:order_id>/payments/<int:payment_id>/reversal", methods=["POST"])
@blp.arguments(ReversalIn)
@blp.response(201, PaymentOut)
@blp.alt_response(409, schema=ErrorSchema, description="A card payment, a completed order, or already corrected")
def reverse_payment(data, order_id, payment_id):
    """Correct cash or a transfer recorded by mistake (coordinator, treasurer): a reversing payment of the
    negative amount and a reversing journal entry. Nothing is edited or deleted."""
    actor = require_login()
    order = services.get_order_or_404(actor, order_id)
    common.require_bookkeeper(actor, order)  # before the body is read
    correction = recorded.reverse_payment(actor, order, payment_id, inputs.reversal_reason(data.get("reason")))
    db.session.commit()
    return _with_order(correction), 201


# --- the handover: marketplace's order endpoint, here because it may take the cash ----------------------


@blp.route("/orders/<int:order_id>/complete", methods=["POST"], tags=["marketplace_api"])
@blp.arguments(IdempotencyHeaders, location="headers")
@blp.arguments(CompleteIn)
@blp.response(200, OrderOut)
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="Not allowed from the order's current status, given in "
    "`errors.status`, or the order is not paid in full",
)
def complete_order(headers, data, order_id):
    """Handed over to the buyer (coordinator); 409 unless ready and paid in full.

    At handover the coordinator may send `{"payment": {"amount": ...}}`: the cash
    the buyer hands over is recorded and the order completed in one step (the
    amount must be what is owed; `Idempotency-Key` makes a retry safe).
    """
    actor = require_login()
    order = services.get_order_or_404(actor, order_id)
    sent = data.get("payment")
    if sent is not None:
        common.require_bookkeeper(actor, order)  # before the payment is read; completing is the coordinator's
        retry = recorded.handover_retry(headers.get("idempotency_key"), sent)
        cash = inputs.handover_payment(sent)
        order = recorded.complete_at_handover(actor, order, cash.amount, cash.reference, retry)
    else:
        order = services.complete(actor, order)
    db.session.commit()
    return order_view(order, actor)

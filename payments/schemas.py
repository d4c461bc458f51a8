"""Payment schemas for the API: offline payments and the handover, refunds, reversals and card payments.

As for checkouts (marketplace.schemas), a body is checked here for its shape only; what each value may be is
payments' to say, with its own messages, flat as `field`.
"""

from marshmallow import Schema, fields

from core.money import MAX_AMOUNT
from marketplace.models import PaymentMethod
from marketplace.schemas import OrderOut

METHODS = [method.value for method in PaymentMethod]


class PaymentIn(Schema):
    method = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "enum": ["cash", "transfer"],
            "description": "Card payments arrive from the card processor",
        },
    )
    amount = fields.Raw(
        allow_none=True,
        metadata={
            "type": "integer",
            "example": 25000,
            "maximum": MAX_AMOUNT,
            "description": "Whole rupiah, at most what is owed",
        },
    )
    reference = fields.Raw(
        allow_none=True, metadata={"type": "string", "description": "The transfer's reference or a receipt number"}
    )
    received_at = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "format": "date-time",
            "description": "Default now; a date or date-time in the last 90 days",
        },
    )


class SlipFiles(Schema):
    """The files of a payment sent as multipart/form-data: the slip photo, if any (the multipart body is
    documented by hand with the endpoint, beside PaymentIn)."""

    slip = fields.Raw()


class RefundIn(Schema):
    amount = fields.Raw(
        allow_none=True,
        metadata={
            "type": "integer",
            "example": 10000,
            "maximum": MAX_AMOUNT,
            "description": "Whole rupiah, at most paid less refunded",
        },
    )
    reason = fields.Raw(allow_none=True, metadata={"type": "string", "description": "Required"})
    method = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "enum": METHODS,
            "description": "Default: card while card money is left to refund, else cash",
        },
    )


class HandoverPaymentIn(Schema):
    amount = fields.Raw(
        allow_none=True,
        metadata={
            "type": "integer",
            "maximum": MAX_AMOUNT,
            "description": "The cash handed over: exactly what is owed",
        },
    )
    reference = fields.Raw(allow_none=True, metadata={"type": "string"})


class CompleteIn(Schema):
    payment = fields.Nested(
        HandoverPaymentIn,
        allow_none=True,
        metadata={"description": "At handover: record this cash payment and complete in one step"},
    )


class PaymentOut(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    method = fields.String(metadata={"enum": METHODS})
    amount = fields.Integer()
    reference = fields.String(allow_none=True)
    received_at = fields.DateTime()
    created_at = fields.DateTime()
    order = fields.Nested(OrderOut)


class RecordedPaymentOut(PaymentOut):
    slip = fields.Boolean(
        metadata={
            "description": "A transfer slip photo is kept with the payment; the group's "
            "coordinator and treasurer read it at `GET .../slip`"
        }
    )


class RefundOut(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    method = fields.String(metadata={"enum": METHODS})
    amount = fields.Integer()
    reason = fields.String()
    processor_refund_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    order = fields.Nested(OrderOut)


class CardPaymentPartOut(Schema):
    order_id = fields.Integer()
    amount = fields.Integer()


class CardPaymentOut(Schema):
    client_secret = fields.String(metadata={"description": "For Stripe.js on the buyer's page"})
    publishable_key = fields.String()
    js_url = fields.String(metadata={"description": "Where the page loads Stripe.js from"})
    amount = fields.Integer(
        metadata={"description": "Whole rupiah: the open orders' owed amounts together, or the part asked for"}
    )
    currency = fields.String(metadata={"example": "IDR"})
    card_payment_id = fields.Integer()
    checkout_id = fields.Integer(
        metadata={"description": "Confirm with `POST /checkouts/{checkout_id}/card-payment/confirm`"}
    )
    status = fields.String(metadata={"enum": ["pending", "succeeded", "failed", "canceled"]})
    orders = fields.List(fields.Nested(CardPaymentPartOut))


class CardPartIn(Schema):
    pay = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "enum": ["deposit", "all"],
            "description": "`deposit`: what is left of the deposit; `all`: everything still owed",
        },
    )


class CardConfirmIn(Schema):
    payment_method = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "example": "pm_1Q0PsI2eZvKYlo2C",
            "description": "The payment method Stripe.js created from the buyer's card",
        },
    )


class CardConfirmOut(Schema):
    status = fields.String(metadata={"enum": ["succeeded", "processing", "requires_action"]})
    card_payment_id = fields.Integer()
    amount = fields.Integer()
    client_secret = fields.String(allow_none=True, metadata={"description": "When `requires_action`"})


class ReversalIn(Schema):
    reason = fields.Raw(allow_none=True, metadata={"type": "string", "description": "Required: what was wrong"})

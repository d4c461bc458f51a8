"""Catalog, checkout and order schemas for the API.

A checkout body is checked here for its shape only: the service reads the body
exactly as the client sent it (its fingerprint is how a retry is recognised)
and answers every bad value with its own message, flat as `lines.<n>.<field>`.
Quantities go out as decimal strings without trailing zeros, money as whole rupiah.
"""

from marshmallow import Schema, fields, validate

from core.idempotency import KEY_MAX_LENGTH
from core.pagination import PageQuery, page_of
from core.quantity import format_quantity
from core.validation import ID_MAX, NAME_MAX_LENGTH
from inventory.models import ProductKind
from inventory.schemas import ProductOut, Quantity
from marketplace.catalog import CATALOG_SORTS
from marketplace.models import FulfilmentMethod, OrderKind, OrderStatus, PaymentMethod
from marketplace.services import ADDRESS_MAX_LENGTH, MAX_DAYS_AHEAD, MAX_LINES, NOTE_MAX_LENGTH


def _values(enum_cls) -> list[str]:
    return [member.value for member in enum_cls]


_MANAGERS_ONLY = "Only for the group's coordinator and treasurer"


# --- the catalog ------------------------------------------------------------------------


class CatalogQuery(PageQuery):
    q = fields.String(validate=validate.Length(max=NAME_MAX_LENGTH))
    kind = fields.String(metadata={"enum": _values(ProductKind)})
    group_id = fields.Integer()
    village = fields.String(validate=validate.Length(max=NAME_MAX_LENGTH))
    in_stock = fields.Boolean(load_default=False)
    sort = fields.String(
        load_default="name",
        validate=validate.OneOf(CATALOG_SORTS),
        metadata={
            "description": "`name`, `newest`, by the lowest variant price: `price_asc`, `price_desc`, or `relevance` "
            "(the closest matches to `q` first: its words, other spellings, then near words; ties by name)"
        },
    )


# --- in -------------------------------------------------------------------------------


class CheckoutLineIn(Schema):
    variant_id = fields.Raw(
        allow_none=True,
        metadata={
            "type": "integer",
            "example": 12,
            "description": "An active variant of an active product, of any group",
        },
    )
    quantity = Quantity(
        allow_none=True,
        metadata={
            "description": "A decimal string with at most 3 places; whole numbers for piece units; never a float"
        },
    )


class FulfilmentIn(Schema):
    method = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "enum": _values(FulfilmentMethod),
            "description": "`pickup` at each group's pickup point, or `delivery`",
        },
    )
    address = fields.Raw(
        allow_none=True,
        metadata={"type": "string", "description": f"Needed for delivery; at most {ADDRESS_MAX_LENGTH} characters"},
    )
    note = fields.Raw(
        allow_none=True, metadata={"type": "string", "description": f"At most {NOTE_MAX_LENGTH} characters"}
    )
    date = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "format": "date",
            "example": "2026-11-28",
            "description": f"The fulfilment day, from today (the default) to {MAX_DAYS_AHEAD} days ahead, in WIB",
        },
    )


class CheckoutIn(Schema):
    lines = fields.List(
        fields.Nested(CheckoutLineIn),
        allow_none=True,
        metadata={"description": f"1 to {MAX_LINES} lines from any groups; lines of one variant are added together"},
    )
    fulfilment = fields.Nested(FulfilmentIn, allow_none=True)
    payment_method = fields.Raw(allow_none=True, metadata={"type": "string", "enum": _values(PaymentMethod)})


class IdempotencyHeaders(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        metadata={
            "description": f"At most {KEY_MAX_LENGTH} printable characters, new for each checkout: a retry with the "
            "same key and body returns the first checkout; the same key with another body is refused "
            "(422)",
            "example": "0b7e6f0c-4a1d-4c2e-9a57-3f1e2d9c8b10",
        },
    )


class OrderListQuery(PageQuery):
    group_id = fields.Integer(
        validate=validate.Range(min=1, max=ID_MAX),
        metadata={"description": "The group's orders, for its coordinator and treasurer; without it, your own"},
    )
    status = fields.String(metadata={"enum": _values(OrderStatus)})
    day = fields.Date(data_key="date", metadata={"description": "The fulfilment day"})


class CancelIn(Schema):
    reason = fields.Raw(
        allow_none=True, metadata={"type": "string", "description": f"At most {NOTE_MAX_LENGTH} characters"}
    )


# --- out ------------------------------------------------------------------------------


class OrderGroupOut(Schema):
    id = fields.Integer()
    name = fields.String()
    pickup_point = fields.String(allow_none=True)
    pickup_hours = fields.String(allow_none=True)


class OrderBuyerOut(Schema):
    id = fields.Integer()
    name = fields.String()


class FulfilmentOut(Schema):
    method = fields.String(metadata={"enum": _values(FulfilmentMethod)})
    date = fields.Date()
    address = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class AllocationOut(Schema):
    """Units of a line taken from one member's lot when the order was packed."""

    lot_id = fields.Integer()
    member_id = fields.Integer()
    quantity = Quantity()


class OrderLineOut(Schema):
    id = fields.Integer()
    variant_id = fields.Integer()
    product_name = fields.String(metadata={"description": "As it was at checkout"})
    variant_label = fields.String()
    unit = fields.String()
    quantity = Quantity()
    unit_price = fields.Integer(metadata={"description": "Whole rupiah, as it was at checkout"})
    total = fields.Integer(metadata={"description": "Whole rupiah: unit price times quantity, half a rupiah up"})
    allocations = fields.List(
        fields.Nested(AllocationOut), metadata={"description": f"{_MANAGERS_ONLY}; filled when the order is ready"}
    )


class OrderEventOut(Schema):
    from_status = fields.String(data_key="from", allow_none=True, metadata={"enum": _values(OrderStatus)})
    to_status = fields.String(data_key="to", metadata={"enum": _values(OrderStatus)})
    actor_id = fields.Integer(allow_none=True, metadata={"description": "None when the system moved it (expiry)"})
    at = fields.DateTime()
    note = fields.String(allow_none=True)


class PaymentInstructionsOut(Schema):
    """How to pay a transfer order: the group's bank account and the reference to quote."""

    bank_name = fields.String(allow_none=True)
    account_number = fields.String(allow_none=True)
    account_holder = fields.String(allow_none=True)
    account_verified = fields.Boolean(
        metadata={
            "description": "False while the group waits for the district admin to verify it (its bank account "
            "changed): no account is given then"
        }
    )
    reference = fields.String()
    amount = fields.Integer(metadata={"description": "Whole rupiah still owed"})


class OrderPaymentOut(Schema):
    id = fields.Integer()
    reverses_id = fields.Integer(
        allow_none=True, metadata={"description": "A correction: the payment it reverses, with a negative amount"}
    )
    method = fields.String(metadata={"enum": _values(PaymentMethod)})
    amount = fields.Integer()
    reference = fields.String(allow_none=True)
    received_at = fields.DateTime()
    fee = fields.Integer(allow_none=True, metadata={"description": f"Card fee; {_MANAGERS_ONLY}"})
    slip = fields.Boolean(allow_none=True, metadata={"description": f"A transfer slip photo is kept; {_MANAGERS_ONLY}"})


class OrderRefundOut(Schema):
    id = fields.Integer()
    method = fields.String(metadata={"enum": _values(PaymentMethod)})
    amount = fields.Integer()
    reason = fields.String()
    created_at = fields.DateTime()


class OrderOut(Schema):
    id = fields.Integer()
    checkout_id = fields.Integer()
    group_id = fields.Integer()
    group = fields.Nested(OrderGroupOut)
    buyer = fields.Nested(OrderBuyerOut)
    kind = fields.String(
        metadata={
            "enum": _values(OrderKind),
            "description": "`stock` (from checkout), or placed before the goods existed: `made_to_order`, `pre_order`",
        }
    )
    status = fields.String(metadata={"enum": _values(OrderStatus)})
    payment_method = fields.String(metadata={"enum": _values(PaymentMethod)})
    payment_status = fields.String(metadata={"enum": ["unpaid", "partial", "paid", "partially_refunded", "refunded"]})
    fulfilment = fields.Nested(FulfilmentOut)
    lines = fields.List(fields.Nested(OrderLineOut))
    total = fields.Integer()
    paid = fields.Integer()
    refunded = fields.Integer()
    currency = fields.String(metadata={"example": "IDR"})
    owed = fields.Integer(metadata={"description": "Whole rupiah still to pay: total less paid"})
    reference = fields.String(metadata={"description": "Quote it on a bank transfer", "example": "PK-000123-4"})
    card_fees = fields.Integer(allow_none=True, metadata={"description": _MANAGERS_ONLY})
    payment_instructions = fields.Nested(
        PaymentInstructionsOut,
        allow_none=True,
        metadata={"description": "For an open transfer order with money owed: where to send it"},
    )
    payments = fields.List(fields.Nested(OrderPaymentOut))
    refunds = fields.List(fields.Nested(OrderRefundOut))
    events = fields.List(fields.Nested(OrderEventOut))
    expires_at = fields.DateTime(
        allow_none=True, metadata={"description": "Card orders: unpaid after this, the order expires"}
    )
    created_at = fields.DateTime()


class CheckoutOut(Schema):
    id = fields.Integer()
    total = fields.Integer(metadata={"description": "Whole rupiah, all orders together"})
    currency = fields.String(metadata={"example": "IDR"})
    payment_method = fields.String(metadata={"enum": _values(PaymentMethod)})
    created_at = fields.DateTime()
    orders = fields.List(fields.Nested(OrderOut), metadata={"description": "One per group"})


class ProductPage(page_of(ProductOut)):
    """One page of the public catalog; a search that finds nothing also names the catalog's nearest names."""

    suggestions = fields.List(
        fields.String(),
        metadata={"description": "Only when `q` found nothing: the names of listed products nearest to it, to try"},
    )


def catalog_page_out(page: dict) -> dict:
    """What `ProductPage().dump(page)` gives for a catalog page (marketplace.catalog), written out field by
    field: the catalog's cold answers are its most frequent, and the schema's generic dump cost more than
    finding the page (bench/catalog.py). The schema stays the documented contract; a test holds the two equal
    over random pages."""
    out = {
        "items": [_card_out(card) for card in page["items"]],
        "page": page["page"],
        "per_page": page["per_page"],
        "total": page["total"],
    }
    if "suggestions" in page:
        out["suggestions"] = [str(name) for name in page["suggestions"]]
    return out


def _card_out(card: dict) -> dict:
    group = card["group"]
    return {
        "id": card["id"],
        "group_id": card["group_id"],
        "group": {"id": group["id"], "name": group["name"], "village": group["village"], "verified": group["verified"]},
        "name": card["name"],
        "kind": card["kind"],
        "unit": card["unit"],
        "description": card["description"],
        "status": card["status"],
        "photo_url": card["photo_url"],
        "thumb_url": card["thumb_url"],
        "variants": [
            {
                "id": v["id"],
                "product_id": v["product_id"],
                "label": v["label"],
                "unit_price": v["unit_price"],
                "active": v["active"],
                "available": None if v["available"] is None else format_quantity(v["available"]),
            }
            for v in card["variants"]
        ],
        "created_at": _iso(card["created_at"]),
        "updated_at": _iso(card["updated_at"]),
    }


def _iso(moment):
    return None if moment is None else moment.isoformat()

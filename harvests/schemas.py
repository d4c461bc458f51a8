"""Harvest pre-order schemas for the API.

Bodies are checked here for their shape only; the services read each value with their own messages, keyed by
where it is (`lots.<n>.quantity`). Quantities go out as decimal strings, money as whole rupiah.
"""

from marshmallow import Schema, fields, validate

from core.pagination import PageQuery
from harvests.models import HarvestStatus, PreOrderStatus, ShortfallRule


def _values(enum_cls) -> list[str]:
    return [member.value for member in enum_cls]


_QUANTITY = {"type": "string", "example": "50", "description": "A decimal string; whole numbers for piece units"}
_PERCENT = {"type": "string", "example": "80", "description": "A percent from 0 to 100, at most 2 decimals"}


# --- in -----------------------------------------------------------------------------------


class HarvestIn(Schema):
    variant_id = fields.Raw(required=True, metadata={"type": "integer", "description": "A variant of the group"})
    expected_low = fields.Raw(required=True, metadata=_QUANTITY)
    expected_high = fields.Raw(required=True, metadata=_QUANTITY)
    week = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "date", "description": "A day of the week expected (kept as its Monday)"},
    )
    shortfall_rule = fields.Raw(required=True, metadata={"type": "string", "enum": _values(ShortfallRule)})
    unit_price = fields.Raw(
        allow_none=True, metadata={"type": "integer", "description": "Whole rupiah a unit; the variant's by default"}
    )
    cap_percent = fields.Raw(
        allow_none=True, metadata={**_PERCENT, "description": "The cap as a percent of the low end; 80 by default"}
    )
    deposit_percent = fields.Raw(
        allow_none=True, metadata={**_PERCENT, "example": "20", "description": "Of each pre-order; none by default"}
    )
    note = fields.Raw(allow_none=True, metadata={"type": "string"})


class HarvestNoteIn(Schema):
    note = fields.Raw(allow_none=True, metadata={"type": "string"})


class PreOrderFulfilmentIn(Schema):
    method = fields.Raw(allow_none=True, metadata={"type": "string", "enum": ["pickup", "delivery"]})
    address = fields.Raw(allow_none=True, metadata={"type": "string"})
    note = fields.Raw(allow_none=True, metadata={"type": "string"})


class PreOrderIn(Schema):
    quantity = fields.Raw(required=True, metadata=_QUANTITY)
    fulfilment = fields.Nested(PreOrderFulfilmentIn, allow_none=True)
    payment_method = fields.Raw(load_default="cash", metadata={"type": "string", "enum": ["cash", "transfer", "card"]})


class HarvestLotIn(Schema):
    member_id = fields.Raw(required=True, metadata={"type": "integer"})
    quantity = fields.Raw(required=True, metadata=_QUANTITY)
    grade = fields.Raw(allow_none=True, metadata={"type": "string"})


class HarvestFromLotIn(Schema):
    lot_id = fields.Raw(required=True, metadata={"type": "integer"})
    quantity = fields.Raw(
        allow_none=True,
        metadata={**_QUANTITY, "description": "Only this much of the lot; all its free units by default"},
    )


class HarvestRecordIn(Schema):
    lots = fields.List(
        fields.Nested(HarvestLotIn),
        metadata={
            "description": "What each member brought in, each her new lot; an empty list: the harvest failed. "
            "Give this or `from_lots`"
        },
    )
    from_lots = fields.List(
        fields.Nested(HarvestFromLotIn),
        metadata={
            "description": "Lots taken in already through the stock intake that are the harvest: of the group and "
            "the harvest's variant, received since it was announced, part of no harvest, with free units "
            "(not sold, not set aside for orders). Give this or `lots`"
        },
    )


class HarvestListQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(_values(HarvestStatus)))


class OpenHarvestQuery(PageQuery):
    group_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    product_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


# --- out ----------------------------------------------------------------------------------


class PreOrderOut(Schema):
    id = fields.Integer()
    harvest_id = fields.Integer()
    buyer_id = fields.Integer()
    order_id = fields.Integer(metadata={"description": "The order that carries it now"})
    order_status = fields.String()
    quantity = fields.String()
    filled = fields.String(allow_none=True, metadata={"description": "What the harvest gave it, once recorded"})
    status = fields.String(metadata={"enum": _values(PreOrderStatus)})
    unit_price = fields.Integer()
    total = fields.Integer(metadata={"description": "Its order's total now"})
    deposit = fields.Integer(metadata={"description": "The deposit asked (0: none)"})
    paid = fields.Integer()
    refunded = fields.Integer(metadata={"description": "Given back when cancelled or filled in part or not at all"})
    week = fields.Date()
    label = fields.String()
    created_at = fields.DateTime()


class HarvestLotOut(Schema):
    lot_id = fields.Integer()
    member_id = fields.Integer()
    quantity = fields.String(metadata={"description": "What the harvest counted of the lot"})


class EligibleLotOut(Schema):
    lot_id = fields.Integer()
    member_id = fields.Integer()
    member_name = fields.String()
    quantity = fields.String(metadata={"description": "What the lot came in as"})
    free = fields.String(metadata={"description": "Its units not sold nor set aside for orders: what may count"})
    grade = fields.String(allow_none=True)
    received_at = fields.DateTime()


class MessageOut(Schema):
    pre_order_id = fields.Integer()
    buyer_id = fields.Integer()
    buyer_name = fields.String()
    status = fields.String()
    quantity = fields.String()
    filled = fields.String()
    refunded = fields.Integer()
    text = fields.String(metadata={"description": "In Indonesian: what the buyer gets, when, what is given back"})
    whatsapp_url = fields.String(allow_none=True, metadata={"description": "wa.me link; null without a phone"})


class HarvestOut(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    group_name = fields.String()
    variant_id = fields.Integer()
    product_id = fields.Integer()
    product_name = fields.String()
    variant_label = fields.String()
    unit = fields.String()
    expected_low = fields.String()
    expected_high = fields.String()
    week = fields.Date(metadata={"description": "The Monday of the week expected"})
    week_label = fields.String(metadata={"example": "minggu 14 Des 2026"})
    label = fields.String(metadata={"example": "Pre-order: panen minggu depan"})
    unit_price = fields.Integer()
    cap_percent = fields.String()
    cap = fields.String()
    preordered = fields.String()
    left = fields.String(metadata={"description": "What is left to pre-order (0 unless open for pre-orders)"})
    shortfall_rule = fields.String(metadata={"enum": _values(ShortfallRule)})
    deposit_percent = fields.String()
    status = fields.String(metadata={"enum": _values(HarvestStatus)})
    status_label = fields.String()
    note = fields.String(allow_none=True)
    harvested = fields.String(allow_none=True)
    recorded_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    pre_orders = fields.List(fields.Nested(PreOrderOut), metadata={"description": "The coordinator and treasurer"})
    lots = fields.List(fields.Nested(HarvestLotOut), metadata={"description": "The coordinator and treasurer"})
    messages = fields.List(
        fields.Nested(MessageOut), metadata={"description": "Once recorded, the coordinator and treasurer"}
    )


class MyPreOrderOut(PreOrderOut):
    harvest = fields.Nested(HarvestOut)

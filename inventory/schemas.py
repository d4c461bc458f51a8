"""Product, unit, contribution and stock schemas for the API.

Quantities and prices come in raw, as the client sent them, and the services
parse them exactly with their own messages: a quantity is a decimal string
("2.5") or an integer, never a float; a price is whole rupiah. Quantities go
out as decimal strings without trailing zeros ("2.5", "3").
"""

from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from core.money import MAX_UNIT_PRICE
from core.pagination import PageQuery
from core.quantity import format_quantity
from core.schemas import StrictBoolean
from inventory.models import AdjustmentReason, MovementKind, ProductKind, ProductStatus


def _values(enum_cls) -> list[str]:
    return [member.value for member in enum_cls]


class Quantity(fields.Raw):
    """In: kept as sent, for the service to parse exactly. Out: a decimal string without trailing zeros."""

    def __init__(self, **kwargs):
        metadata = {
            "type": "string",
            "example": "2.5",
            "description": "A decimal string with at most 3 places (or an integer); never a float",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_quantity(value)


class Rupiah(fields.Raw):
    """Whole rupiah; kept as sent so that the service refuses floats, negatives and "12,50" with its message."""

    def __init__(self, **kwargs):
        metadata = {
            "type": "integer",
            "example": 12500,
            "maximum": MAX_UNIT_PRICE,
            "description": "Whole rupiah",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)


# --- in -------------------------------------------------------------------------------


class VariantIn(Schema):
    label = fields.String(required=True, metadata={"example": "Grade A"})
    unit_price = Rupiah(required=True)
    low_stock_threshold = Quantity(allow_none=True)


class ProductVariantIn(Schema):
    """A variant listed with a new product: `label` and `unit_price` are needed.

    The service checks every field, so that errors come back flat as `variants.<n>.<field>`.
    """

    label = fields.Raw(allow_none=True, metadata={"type": "string", "example": "Grade A"})
    unit_price = Rupiah(allow_none=True)
    low_stock_threshold = Quantity(allow_none=True)


class ProductIn(Schema):
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": _values(ProductKind)})
    unit = fields.String(
        required=True, metadata={"example": "kg", "description": "A built-in unit or one the group defined"}
    )
    description = fields.String(allow_none=True)
    variants = fields.List(
        fields.Nested(ProductVariantIn),
        allow_none=True,
        metadata={"description": "Omit for one `standard` variant priced by `unit_price`"},
    )
    unit_price = Rupiah(metadata={"description": "Whole rupiah; for the default variant when `variants` is omitted"})
    low_stock_threshold = Quantity(allow_none=True)


class ProductPatch(Schema):
    name = fields.String()
    description = fields.String(allow_none=True)
    kind = fields.String(metadata={"enum": _values(ProductKind)})
    status = fields.String(metadata={"enum": _values(ProductStatus)})
    unit_price = Rupiah(metadata={"description": "Whole rupiah; only for a product with one variant"})


class VariantPatch(Schema):
    label = fields.String()
    unit_price = Rupiah()
    low_stock_threshold = Quantity(allow_none=True)
    active = StrictBoolean()


class PhotoIn(Schema):
    photo = Upload(required=True, metadata={"description": "A JPEG, PNG or WebP image"})


class UnitIn(Schema):
    code = fields.String(required=True, metadata={"example": "tandan"})
    name = fields.String(allow_none=True)
    whole = StrictBoolean(load_default=True, metadata={"description": "Counted in whole numbers only"})


class ContributionIn(Schema):
    variant_id = fields.Integer(required=True, strict=True)
    member_id = fields.Integer(required=True, strict=True)
    quantity = Quantity(required=True)
    unit = fields.String(
        allow_none=True,
        metadata={"description": "The unit `quantity` is in; the product's by default", "example": "ons"},
    )
    grade = fields.String(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    best_before = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)


class AdjustmentIn(Schema):
    variant_id = fields.Integer(required=True, strict=True)
    quantity = Quantity(allow_none=True, metadata={"description": 'The signed change, such as "-0.3"'})
    counted = Quantity(
        allow_none=True, metadata={"description": "For `count`: the quantity counted, instead of a change"}
    )
    reason = fields.String(required=True, metadata={"enum": _values(AdjustmentReason)})
    lot_id = fields.Integer(allow_none=True, strict=True)
    note = fields.String(allow_none=True)


class ContributionQuery(PageQuery):
    member_id = fields.Integer()


class MovementQuery(PageQuery):
    variant_id = fields.Integer()


# --- out ------------------------------------------------------------------------------

_MANAGERS_ONLY = "Only for the group's coordinator and treasurer"


class ProductGroupOut(Schema):
    id = fields.Integer()
    name = fields.String()
    village = fields.String()
    verified = fields.Boolean(metadata={"description": "Verified by the district admin; only such groups sell"})


class VariantOut(Schema):
    id = fields.Integer()
    product_id = fields.Integer()
    label = fields.String()
    unit_price = fields.Integer()
    active = fields.Boolean()
    available = Quantity()
    on_hand = Quantity(metadata={"description": _MANAGERS_ONLY})
    reserved = Quantity(metadata={"description": _MANAGERS_ONLY})
    low_stock_threshold = Quantity(allow_none=True, metadata={"description": _MANAGERS_ONLY})


class ProductOut(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    group = fields.Nested(ProductGroupOut)
    name = fields.String()
    kind = fields.String()
    unit = fields.String()
    description = fields.String(allow_none=True)
    status = fields.String()
    photo_url = fields.String(allow_none=True)
    thumb_url = fields.String(allow_none=True)
    variants = fields.List(fields.Nested(VariantOut))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class UnitOut(Schema):
    code = fields.String()
    name = fields.String()
    whole = fields.Boolean()
    builtin = fields.Boolean()


class UnitList(Schema):
    items = fields.List(fields.Nested(UnitOut))


class LotOut(Schema):
    """A contribution: what a member gave, what remains, and what became of the rest."""

    id = fields.Integer()
    group_id = fields.Integer()
    variant_id = fields.Integer()
    product_id = fields.Integer()
    product_name = fields.String()
    label = fields.String()
    unit = fields.String()
    member_id = fields.Integer()
    quantity = Quantity()
    remaining = Quantity()
    sold = Quantity()
    written_off = Quantity(metadata={"description": "Spoilage, damage and counts that found less"})
    found = Quantity(metadata={"description": "Counts (stock opname) that found more"})
    returned = Quantity()
    grade = fields.String(allow_none=True)
    received_at = fields.DateTime()
    best_before = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)


class StockRowOut(Schema):
    variant_id = fields.Integer()
    product_id = fields.Integer()
    product_name = fields.String()
    product_status = fields.String()
    label = fields.String()
    unit = fields.String()
    active = fields.Boolean()
    on_hand = Quantity()
    reserved = Quantity()
    available = Quantity()
    low_stock_threshold = Quantity(allow_none=True)


class MovementOut(Schema):
    id = fields.Integer()
    variant_id = fields.Integer()
    kind = fields.String(metadata={"enum": _values(MovementKind)})
    on_hand_delta = Quantity()
    reserved_delta = Quantity()
    lot_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"enum": _values(AdjustmentReason)})
    reference = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class AdjustmentOut(Schema):
    movements = fields.List(fields.Nested(MovementOut))


class AlertsOut(Schema):
    low_stock = fields.List(fields.Nested(StockRowOut))
    expiring = fields.List(fields.Nested(LotOut))
    expired = fields.List(fields.Nested(LotOut))

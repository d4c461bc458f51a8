"""Made-to-order job schemas for the API.

Bodies are checked here for their shape only; the services read each value with their own messages, keyed by
where it is (`lines.<n>.quantity`). Quantities go out as decimal strings, money as whole rupiah.
"""

from marshmallow import Schema, fields, validate

from commissions.models import CommissionStatus, DepositOnCancel
from core.pagination import PageQuery
from marketplace.schemas import OrderOut


def _values(enum_cls) -> list[str]:
    return [member.value for member in enum_cls]


_QUANTITY = {"type": "string", "example": "30", "description": "A decimal string; whole numbers for piece units"}


# --- in -----------------------------------------------------------------------------------


class RequestLineIn(Schema):
    variant_id = fields.Raw(allow_none=True, metadata={"type": "integer", "description": "A variant of the group"})
    description = fields.Raw(
        allow_none=True, metadata={"type": "string", "description": "What is wanted, when no variant fits yet"}
    )
    quantity = fields.Raw(allow_none=True, metadata=_QUANTITY)


class CommissionIn(Schema):
    title = fields.Raw(required=True, metadata={"type": "string", "example": "Seragam SD 2027"})
    description = fields.Raw(allow_none=True, metadata={"type": "string"})
    wanted_date = fields.Raw(allow_none=True, metadata={"type": "string", "format": "date"})
    note = fields.Raw(allow_none=True, metadata={"type": "string"})
    lines = fields.List(fields.Nested(RequestLineIn), required=True)


class QuoteLineIn(Schema):
    line_id = fields.Raw(required=True, metadata={"type": "integer"})
    variant_id = fields.Raw(
        allow_none=True, metadata={"type": "integer", "description": "Needed when the line names no variant"}
    )
    unit_price = fields.Raw(required=True, metadata={"type": "integer", "description": "Whole rupiah"})


class QuoteIn(Schema):
    lines = fields.List(fields.Nested(QuoteLineIn), required=True)
    due_date = fields.Raw(required=True, metadata={"type": "string", "format": "date"})
    deposit_percent = fields.Raw(allow_none=True, metadata={"type": "string", "example": "30"})
    deposit_amount = fields.Raw(allow_none=True, metadata={"type": "integer"})
    deposit_on_cancel = fields.Raw(load_default="refund", metadata={"type": "string", "enum": _values(DepositOnCancel)})
    note = fields.Raw(allow_none=True, metadata={"type": "string"})


class JobFulfilmentIn(Schema):
    method = fields.Raw(allow_none=True, metadata={"type": "string", "enum": ["pickup", "delivery"]})
    address = fields.Raw(allow_none=True, metadata={"type": "string"})
    note = fields.Raw(allow_none=True, metadata={"type": "string"})


class AcceptIn(Schema):
    revision = fields.Raw(required=True, metadata={"type": "integer", "description": "The revision accepted"})
    fulfilment = fields.Nested(JobFulfilmentIn, allow_none=True)
    payment_method = fields.Raw(load_default="cash", metadata={"type": "string", "enum": ["cash", "transfer", "card"]})


class NoteIn(Schema):
    note = fields.Raw(allow_none=True, metadata={"type": "string"})


class AssignmentIn(Schema):
    line_id = fields.Raw(required=True, metadata={"type": "integer"})
    member_id = fields.Raw(required=True, metadata={"type": "integer"})
    pieces = fields.Raw(required=True, metadata=_QUANTITY)


class AssignmentChangeIn(Schema):
    pieces = fields.Raw(required=True, metadata=_QUANTITY)


class PiecesIn(Schema):
    quantity = fields.Raw(required=True, metadata=_QUANTITY)
    note = fields.Raw(allow_none=True, metadata={"type": "string"})


class DeliveryLineIn(Schema):
    line_id = fields.Raw(required=True, metadata={"type": "integer"})
    quantity = fields.Raw(required=True, metadata=_QUANTITY)


class DeliveryIn(Schema):
    lines = fields.List(
        fields.Nested(DeliveryLineIn),
        allow_none=True,
        metadata={"description": "Without it, every finished piece not yet delivered"},
    )


class CommissionListQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(_values(CommissionStatus)))


# --- out ----------------------------------------------------------------------------------


class CommissionLineOut(Schema):
    id = fields.Integer()
    variant_id = fields.Integer(allow_none=True)
    variant_name = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    quantity = fields.String()


class QuoteLineOut(Schema):
    line_id = fields.Integer()
    variant_id = fields.Integer()
    unit_price = fields.Integer()
    total = fields.Integer()


class QuoteOut(Schema):
    revision = fields.Integer()
    due_date = fields.Date()
    total = fields.Integer()
    deposit = fields.Integer()
    deposit_percent = fields.String(allow_none=True)
    deposit_on_cancel = fields.String()
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(QuoteLineOut))


class DepositOut(Schema):
    amount = fields.Integer(allow_none=True)
    paid = fields.Integer(metadata={"description": "Paid towards the deposit so far (at most the deposit)"})
    on_cancel = fields.String(allow_none=True)


class JobOrderOut(Schema):
    id = fields.Integer()
    status = fields.String()
    total = fields.Integer()
    paid = fields.Integer()
    refunded = fields.Integer()


class ProgressOut(Schema):
    line_id = fields.Integer()
    variant_id = fields.Integer(allow_none=True)
    ordered = fields.String()
    assigned = fields.String()
    done = fields.String()
    delivered = fields.String()


class JobEventOut(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor_id = fields.Integer(allow_none=True)
    at = fields.DateTime()
    note = fields.String(allow_none=True)


class AssignmentOut(Schema):
    id = fields.Integer()
    commission_id = fields.Integer()
    line_id = fields.Integer()
    variant_id = fields.Integer(allow_none=True)
    member_id = fields.Integer()
    member_name = fields.String()
    pieces = fields.String()
    done = fields.String()
    remaining = fields.String()


class MyAssignmentOut(AssignmentOut):
    variant_name = fields.String(allow_none=True)
    title = fields.String()
    group_id = fields.Integer()
    status = fields.String()
    due_date = fields.Date(allow_none=True)


class CommissionOut(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    buyer_id = fields.Integer()
    title = fields.String()
    description = fields.String(allow_none=True)
    wanted_date = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": _values(CommissionStatus)})
    status_label = fields.String()
    accepted_revision = fields.Integer(allow_none=True)
    due_date = fields.Date(allow_none=True)
    lines = fields.List(fields.Nested(CommissionLineOut))
    quotes = fields.List(fields.Nested(QuoteOut))
    deposit = fields.Nested(DepositOut)
    orders = fields.List(fields.Nested(JobOrderOut))
    progress = fields.List(fields.Nested(ProgressOut))
    events = fields.List(fields.Nested(JobEventOut))
    assignments = fields.List(fields.Nested(AssignmentOut), metadata={"description": "Only for the group's members"})
    created_at = fields.DateTime()


class PiecesOut(Schema):
    id = fields.Integer()
    assignment_id = fields.Integer()
    lot_id = fields.Integer()
    order_line_id = fields.Integer()
    quantity = fields.String()
    assignment = fields.Nested(AssignmentOut)


class DeliveryOut(Schema):
    order = fields.Nested(OrderOut)
    commission = fields.Nested(CommissionOut)


class DueJobOut(Schema):
    commission_id = fields.Integer()
    title = fields.String()
    status = fields.String()
    due_date = fields.Date()
    days_left = fields.Integer()
    ordered = fields.String()
    pieces_left = fields.String()
    pieces_per_day = fields.String(
        allow_none=True, metadata={"description": "Pieces left per day left; null when due with pieces left"}
    )
    at_risk = fields.Boolean()

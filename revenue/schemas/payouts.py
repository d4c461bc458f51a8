"""The shapes of the revenue API's payouts endpoints (revenue.api.payouts): what they take and answer."""

from marshmallow import Schema, fields, validate

from core.money import MAX_AMOUNT
from core.pagination import PageQuery
from core.validation import ID_MAX
from revenue.models import PayoutMethod
from revenue.services import payouts, savings, shu


class IdempotencyHeaders(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        metadata={
            "description": f"At most {payouts.KEY_MAX_LENGTH} printable characters, new for each request: a retry "
            "with the same key and body returns the first result; the same key with another body is "
            "refused (422)",
            "example": "4f1c2a9e-0d3b-4c7a-8e21-6b5d9f0a7c13",
        },
    )


class PayoutIn(Schema):
    member_id = fields.Raw(
        allow_none=True, metadata={"type": "integer", "description": "A member of the group, not the one recording"}
    )
    amount = fields.Raw(
        allow_none=True,
        metadata={
            "type": "integer",
            "example": 150000,
            "maximum": MAX_AMOUNT,
            "description": "Whole rupiah, at most the member's balance",
        },
    )
    method = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "enum": [m.value for m in PayoutMethod],
            "description": "Cash from the group's cash; a transfer or an e-wallet top-up from its bank account",
        },
    )
    reference = fields.Raw(
        allow_none=True, metadata={"type": "string", "description": "A transfer reference or receipt number"}
    )
    phone = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "example": "0812-3456-7890",
            "description": "The e-wallet's number: needed for `ewallet`",
        },
    )


class PayoutOut(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    member_id = fields.Integer()
    member_name = fields.String(allow_none=True)
    amount = fields.Integer(metadata={"description": "Negative for a correction"})
    method = fields.String(metadata={"enum": [m.value for m in PayoutMethod]})
    reference = fields.String(allow_none=True, metadata={"description": "For a correction: the reason"})
    phone = fields.String(allow_none=True)
    reverses_id = fields.Integer(allow_none=True, metadata={"description": "A correction: the payout it reverses"})
    reversed_by_id = fields.Integer(allow_none=True, metadata={"description": "The correction of this payout"})
    entry_id = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class PayoutRecordedOut(PayoutOut):
    balance = fields.Integer(metadata={"description": "The member's balance after it"})


class PayoutListQuery(PageQuery):
    member_id = fields.Integer(validate=validate.Range(min=1, max=ID_MAX))


class PayoutReversalIn(Schema):
    reason = fields.Raw(allow_none=True, metadata={"type": "string", "description": "Required: what was wrong"})


class SavingIn(Schema):
    member_id = fields.Raw(allow_none=True, metadata={"type": "integer"})
    amount = fields.Raw(
        allow_none=True,
        metadata={
            "type": "integer",
            "example": 50000,
            "maximum": MAX_AMOUNT,
            "description": "Whole rupiah; a withdrawal at most what the member has saved",
        },
    )
    kind = fields.Raw(allow_none=True, metadata={"type": "string", "enum": list(savings.KINDS)})
    note = fields.Raw(allow_none=True, metadata={"type": "string"})


class SavingOut(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    member_id = fields.Integer()
    kind = fields.String(metadata={"enum": list(savings.KINDS)})
    amount = fields.Integer()
    note = fields.String(allow_none=True)
    entry_id = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    balance = fields.Integer(metadata={"description": "The member's savings after it"})


class MemberSavingsOut(Schema):
    member_id = fields.Integer()
    name = fields.String()
    active = fields.Boolean()
    deposits = fields.Integer()
    withdrawals = fields.Integer()
    balance = fields.Integer()


class SavingsOut(Schema):
    group_id = fields.Integer()
    members = fields.List(fields.Nested(MemberSavingsOut))
    total = fields.Integer()


_PERCENT = {
    "type": "string",
    "example": "25",
    "description": "0 to 100, at most 2 decimals (a number or a string); the six total exactly 100",
}


# One field per SHU part, in shu.PARTS's order: rupiah, and the percent as text.
ShuPartsOut = Schema.from_dict({part: fields.Integer() for part in shu.PARTS}, name="ShuPartsOut")
ShuPercentagesOut = Schema.from_dict({part: fields.String() for part in shu.PARTS}, name="ShuPercentagesOut")


class ShuIn(Schema):
    year = fields.Raw(allow_none=True, metadata={"type": "integer", "example": 2025})
    surplus = fields.Raw(
        allow_none=True,
        metadata={
            "type": "integer",
            "maximum": MAX_AMOUNT,
            "description": "Whole rupiah; default the group fund's balance at the end of the year "
            "(or now, if less); never above that",
        },
    )
    reserve = fields.Raw(allow_none=True, metadata=_PERCENT)
    services = fields.Raw(
        allow_none=True, metadata={**_PERCENT, "description": "Jasa usaha: shared by members' transactions in the year"}
    )
    capital = fields.Raw(
        allow_none=True,
        metadata={**_PERCENT, "description": "Jasa modal: shared by members' savings at the end of the year"},
    )
    management = fields.Raw(allow_none=True, metadata=_PERCENT)
    education = fields.Raw(allow_none=True, metadata=_PERCENT)
    social = fields.Raw(allow_none=True, metadata=_PERCENT)


class ShuMemberOut(Schema):
    member_id = fields.Integer()
    name = fields.String(allow_none=True)
    transactions = fields.Integer(metadata={"description": "Sale earnings (and pool shares) credited in the year"})
    savings = fields.Integer(metadata={"description": "Savings at the end of the year"})
    services_part = fields.Integer()
    capital_part = fields.Integer()
    total = fields.Integer()


class ShuFundOut(Schema):
    at_year_end = fields.Integer()
    now = fields.Integer()
    available = fields.Integer()


class ShuReportOut(Schema):
    group_id = fields.Integer()
    year = fields.Integer()
    status = fields.String(metadata={"enum": ["draft", "accepted"]})
    surplus = fields.Integer()
    percentages = fields.Nested(ShuPercentagesOut)
    allocation = fields.Nested(ShuPartsOut, metadata={"description": "Whole rupiah per part; they sum to the surplus"})
    reserve_remainder = fields.Integer(
        metadata={"description": "What the reserve got from rounding members' parts down"}
    )
    members = fields.List(fields.Nested(ShuMemberOut))
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
    keeps_savings = fields.Boolean()
    capital_to_reserve = fields.Boolean()
    services_to_reserve = fields.Boolean()
    notes = fields.List(fields.String())
    group_fund = fields.Nested(ShuFundOut)
    entry_id = fields.Integer(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class ShuPlanOut(Schema):
    year = fields.Integer()
    status = fields.String()
    surplus = fields.Integer()
    accepted_at = fields.DateTime(allow_none=True)

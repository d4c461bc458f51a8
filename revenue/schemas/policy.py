"""The shapes of the revenue API's policy endpoints (revenue.api.policy): what they take and answer."""

from marshmallow import Schema, fields

from revenue.models import SplitMethod


class SplitPolicyIn(Schema):
    method = fields.Raw(allow_none=True, metadata={"type": "string", "enum": [m.value for m in SplitMethod]})
    group_fund_percent = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "example": "10.5",
            "description": "0 to 100, at most 2 decimals (a number or a string)",
        },
    )


class SplitPolicyOut(Schema):
    group_id = fields.Integer()
    version = fields.Integer(
        metadata={"description": "0 while the group has never set one (the default: contribution, 0 %)"}
    )
    method = fields.String(metadata={"enum": [m.value for m in SplitMethod]})
    group_fund_percent = fields.String(metadata={"example": "10.5"})
    created_at = fields.DateTime(allow_none=True, metadata={"description": "In force from then"})
    created_by_id = fields.Integer(allow_none=True)


class MemberBalanceOut(Schema):
    member_id = fields.Integer()
    name = fields.String()
    active = fields.Boolean()
    earned = fields.Integer(metadata={"description": "Whole rupiah credited from sales and pool shares, less refunds"})
    paid_out = fields.Integer()
    balance = fields.Integer(metadata={"description": "What the group owes the member"})


class BalancesOut(Schema):
    group_id = fields.Integer()
    members = fields.List(fields.Nested(MemberBalanceOut))
    group_fund = fields.Integer(metadata={"description": "Kas kelompok"})
    pool = fields.Integer(metadata={"description": "Revenue waiting to be shared at the next settlement"})


class MyEarningsOut(MemberBalanceOut):
    group_id = fields.Integer()
    group_name = fields.String()

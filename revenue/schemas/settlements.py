"""The shapes of the revenue API's settlements endpoints (revenue.api.settlements): what they take and answer."""

from marshmallow import Schema, fields, validate

from core.pagination import PageQuery
from revenue.models import SplitMethod

METHODS = [m.value for m in SplitMethod]


class WorkLogIn(Schema):
    member_id = fields.Raw(allow_none=True, metadata={"type": "integer"})
    units = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "example": "12",
            "description": "Pieces sewn, hours...: above zero, at most 3 decimals",
        },
    )
    date = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "format": "date",
            "description": "The day of the work (WIB): not ahead of today, at most "
            "366 days back, not in a settled period",
        },
    )
    note = fields.Raw(allow_none=True, metadata={"type": "string"})


class WorkLogReverseIn(Schema):
    note = fields.Raw(allow_none=True, metadata={"type": "string", "description": "What was wrong"})


class WorkLogOut(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    member_id = fields.Integer()
    member_name = fields.String(allow_none=True)
    units = fields.String(metadata={"description": "Negative on a correction"})
    date = fields.Date()
    note = fields.String(allow_none=True)
    reverses_id = fields.Integer(allow_none=True, metadata={"description": "The log this row corrects"})
    reversed_by_id = fields.Integer(allow_none=True, metadata={"description": "The correction of this log"})
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class WorkLogQuery(PageQuery):
    from_ = fields.String(data_key="from", metadata={"format": "date"})
    to = fields.String(metadata={"format": "date"})
    member_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class SettlementIn(Schema):
    period_start = fields.Raw(allow_none=True, metadata={"type": "string", "format": "date"})
    period_end = fields.Raw(
        allow_none=True,
        metadata={
            "type": "string",
            "format": "date",
            "description": "Before today (WIB): only a period that has ended",
        },
    )


class StatementFigures(Schema):
    member_id = fields.Integer()
    member_name = fields.String()
    opening = fields.Integer(metadata={"description": "Balance before the period (whole rupiah)"})
    sales = fields.Integer(metadata={"description": "Earned from sales (contribution method)"})
    pool_share = fields.Integer()
    shu = fields.Integer(metadata={"description": "SHU parts credited"})
    refunds = fields.Integer(metadata={"description": "Taken back for refunds (positive)"})
    fund_deductions = fields.Integer(metadata={"description": "What the group fund kept of the member's sales"})
    fees = fields.Integer(metadata={"description": "Card fees taken before the split of the member's sales"})
    payouts = fields.Integer()
    closing = fields.Integer(metadata={"description": "opening + sales + pool_share + shu - refunds - payouts"})


class SettlementOut(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    period_start = fields.Date()
    period_end = fields.Date()
    method = fields.String(metadata={"enum": METHODS, "description": "The split policy's method at settlement"})
    shared_by = fields.String(
        allow_none=True,
        metadata={
            "enum": ["equal", "work"],
            "description": ("How the pool was shared (equal when nobody logged work); null when nothing was shared"),
        },
    )
    pool_amount = fields.Integer(metadata={"description": "The pool at settlement (negative: short after refunds)"})
    members_share = fields.Integer()
    group_fund_part = fields.Integer(metadata={"description": "What was left after each member's floor"})
    note = fields.String(allow_none=True)
    entry_id = fields.Integer(allow_none=True)
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    statements = fields.List(
        fields.Nested(StatementFigures),
        metadata={"description": "Each member's frozen statement figures; the lines are at the statement endpoint"},
    )


class StatementQuery(Schema):
    from_ = fields.String(
        data_key="from", metadata={"format": "date", "description": ("Default: the day after the last settled period")}
    )
    to = fields.String(metadata={"format": "date", "description": "Default: today"})
    settlement_id = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "The statement that settlement froze (from and to are then ignored)"},
    )
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class SaleLineOut(Schema):
    order_id = fields.Integer()
    order_line_id = fields.Integer(allow_none=True)
    product = fields.String(allow_none=True)
    quantity = fields.String(allow_none=True)
    lot_id = fields.Integer(allow_none=True)
    gross = fields.Integer(metadata={"description": "The member's part of the line's value"})
    fee = fields.Integer()
    refunded = fields.Integer(metadata={"description": "Refunded before the order completed"})
    fund_deduction = fields.Integer()
    amount = fields.Integer(metadata={"description": "gross - fee - refunded - fund_deduction"})
    date = fields.String(metadata={"format": "date"})


class RefundLineOut(Schema):
    order_id = fields.Integer()
    amount = fields.Integer()
    date = fields.String(metadata={"format": "date"})


class PoolLineOut(Schema):
    settlement_id = fields.Integer()
    period_start = fields.String(metadata={"format": "date"})
    period_end = fields.String(metadata={"format": "date"})
    shared_by = fields.String(allow_none=True)
    units = fields.String(allow_none=True, metadata={"description": "The member's work in the period"})
    total_units = fields.String(allow_none=True)
    members = fields.Integer(metadata={"description": "How many members shared the pool"})
    amount = fields.Integer()
    date = fields.String(metadata={"format": "date"})


class ShuLineOut(Schema):
    plan_id = fields.Integer()
    year = fields.Integer()
    services = fields.Integer()
    capital = fields.Integer()
    amount = fields.Integer()
    date = fields.String(metadata={"format": "date"})


class PayoutLineOut(Schema):
    payout_id = fields.Integer()
    amount = fields.Integer(metadata={"description": "Negative on a correction"})
    method = fields.String()
    reference = fields.String(allow_none=True)
    reverses_id = fields.Integer(allow_none=True)
    date = fields.String(metadata={"format": "date"})


class StatementDetailOut(Schema):
    sales = fields.List(fields.Nested(SaleLineOut))
    refunds = fields.List(fields.Nested(RefundLineOut))
    pool_shares = fields.List(fields.Nested(PoolLineOut))
    shu = fields.List(fields.Nested(ShuLineOut))
    payouts = fields.List(fields.Nested(PayoutLineOut))


class StatementOut(StatementFigures):
    group_id = fields.Integer()
    settlement_id = fields.Integer(allow_none=True, metadata={"description": "null for a live statement"})
    period_start = fields.Date()
    period_end = fields.Date()
    frozen_at = fields.DateTime(allow_none=True)
    detail = fields.Nested(StatementDetailOut)

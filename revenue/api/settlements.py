"""Work logs, settlements and members' statements API."""

from flask import Response
from marshmallow import Schema, fields, validate

from accounts.services import require_login
from core.blueprint import Blueprint, require_json_body
from core.extensions import db
from core.pagination import PageQuery, page_of, paginate
from groups.services import get_group_or_404
from revenue.models import SplitMethod
from revenue.services import settlements

blp = Blueprint("settlement_api", __name__, url_prefix="/api/v1", description="Work logs, settlements, statements")

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


# --- work logs ------------------------------------------------------------------------------


@blp.route("/groups/<int:group_id>/work-logs", methods=["POST"])
@blp.arguments(WorkLogIn)
@blp.response(201, WorkLogOut)
def create_work_log(data, group_id):
    """Log a member's work on a day (coordinator, treasurer), for sharing the pool by work."""
    group = get_group_or_404(group_id)
    require_json_body()
    log = settlements.log_work(
        require_login(),
        group,
        member_id=data.get("member_id"),
        units=data.get("units"),
        day=data.get("date"),
        note=data.get("note"),
    )
    db.session.commit()
    return settlements.work_log_views([log])[0]


@blp.route("/groups/<int:group_id>/work-logs", methods=["GET"])
@blp.arguments(WorkLogQuery, location="query")
@blp.response(200, page_of(WorkLogOut))
def list_work_logs(args, group_id):
    """The group's work logs, newest day first (coordinator, treasurer; a member sees their own)."""
    group = get_group_or_404(group_id)
    start = settlements.read_day(args["from_"], "from") if args.get("from_") else None
    end = settlements.read_day(args["to"], "to") if args.get("to") else None
    result = paginate(
        settlements.work_logs_query(require_login(), group, start, end, args.get("member_id")),
        args["page"],
        args["per_page"],
    )
    result["items"] = settlements.work_log_views(result["items"])
    return result


@blp.route("/groups/<int:group_id>/work-logs/<int:log_id>/reverse", methods=["POST"])
@blp.arguments(WorkLogReverseIn)
@blp.response(201, WorkLogOut)
def reverse_work_log(data, group_id, log_id):
    """Correct a work log made by mistake: a row with the opposite units, once (coordinator, treasurer)."""
    group = get_group_or_404(group_id)
    correction = settlements.reverse_work_log(require_login(), group, log_id, data.get("note"))
    db.session.commit()
    return settlements.work_log_views([correction])[0]


# --- settlements ------------------------------------------------------------------------------


@blp.route("/groups/<int:group_id>/settlements", methods=["POST"])
@blp.arguments(SettlementIn)
@blp.response(201, SettlementOut)
def create_settlement(data, group_id):
    """Close a period (coordinator): share the pool and freeze each member's statement. 409 when it overlaps
    a settled period."""
    group = get_group_or_404(group_id)
    settlement = settlements.settle(require_login(), group, data.get("period_start"), data.get("period_end"))
    db.session.commit()
    return settlements.settlement_views([settlement])[0]


@blp.route("/groups/<int:group_id>/settlements", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.response(200, page_of(SettlementOut))
def list_settlements(args, group_id):
    """The group's settlements, latest period first (coordinator, treasurer)."""
    group = get_group_or_404(group_id)
    result = paginate(settlements.settlements_query(require_login(), group), args["page"], args["per_page"])
    result["items"] = settlements.settlement_views(result["items"])
    return result


@blp.route("/groups/<int:group_id>/settlements/<int:settlement_id>", methods=["GET"])
@blp.response(200, SettlementOut)
def get_settlement(group_id, settlement_id):
    """One settlement (coordinator, treasurer)."""
    group = get_group_or_404(group_id)
    settlements.settlements_query(require_login(), group)  # checks the caller's role
    return settlements.settlement_views([settlements.get_settlement_or_404(group, settlement_id)])[0]


# --- statements -------------------------------------------------------------------------------


@blp.route("/groups/<int:group_id>/members/<int:member_id>/statement", methods=["GET"])
@blp.arguments(StatementQuery, location="query")
@blp.response(200, StatementOut)
@blp.alt_response(
    200,
    content_type="text/csv",
    success=True,
    description="With `format=csv`: a header row, the opening balance, each line, the closing balance",
)
def get_statement(args, group_id, member_id):
    """A member's statement: live for any range, or as a settlement froze it (the member themself, the
    coordinator, the treasurer)."""
    group = get_group_or_404(group_id)
    member = settlements.statement_viewer(require_login(), group, member_id)
    if args.get("settlement_id"):
        view = settlements.frozen_statement(group, member, args["settlement_id"])
    else:
        start, end = settlements.read_range(args.get("from_"), args.get("to"), group, member)
        view = settlements.live_statement(group, member, start, end)
    if args["format"] == "csv":
        name = f"statement-{group.id}-{member.id}-{view['period_start'].isoformat()}-{view['period_end'].isoformat()}"
        return Response(
            settlements.statement_csv(view),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return view

"""Work logs, settlements and members' statements API."""

from flask import Response

from accounts.services import require_login
from core.blueprint import Blueprint, require_json_body
from core.extensions import db
from core.pagination import PageQuery, page_of, paginate
from groups.services import get_group_or_404
from revenue.schemas.settlements import (
    SettlementIn,
    SettlementOut,
    StatementOut,
    StatementQuery,
    WorkLogIn,
    WorkLogOut,
    WorkLogQuery,
    WorkLogReverseIn,
)
from revenue.services import settlements

blp = Blueprint("settlement_api", __name__, url_prefix="/api/v1", description="Work logs, settlements, statements")


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

"""Pages for work logs, settlements and members' statements (printable, with a CSV download)."""

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from accounts.services import require_login
from core import ledger
from core.errors import AppError, NotFound, ValidationFailed
from core.extensions import db
from core.formatting import format_day, format_qty
from core.pages import apply_errors, page_arg
from core.pagination import paginate
from core.quantity import typed_quantity
from core.types import utcnow
from groups.models import Member, Role
from groups.services import can_manage, get_group_or_404, members_query, require_role
from inventory import services as stock
from revenue.forms import SettlementForm, WorkLogForm, WorkLogReversalForm, optional_id
from revenue.models import Settlement, Statement
from revenue.services import accrual as revenue
from revenue.services import settlements

bp = Blueprint("settlements", __name__)

PER_PAGE = 50


def on_day(value) -> object:
    """A day (a date or "YYYY-MM-DD") as its first moment in WIB, for the `wib_date` filter."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return settlements.day_start(value)


def _day_arg(name: str) -> date | None:
    """A day from the query string; a bad one is shown as a message and ignored."""
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return settlements.read_day(value, name)
    except ValidationFailed as exc:
        flash(f"{name}: {' '.join(str(m) for m in exc.errors.get(name, []))}", "error")
        return None


# --- work logs --------------------------------------------------------------------------------


@bp.route("/groups/<int:group_id>/work-logs", methods=["GET", "POST"])
@login_required
def work_logs(group_id: int):
    """Log members' work and see it, by day and member (coordinator, treasurer)."""
    group = get_group_or_404(group_id)
    require_role(group, Role.coordinator, Role.treasurer)
    form = WorkLogForm()
    members = list(db.session.scalars(members_query(group, include_inactive=False)))
    form.member_id.choices = [("", _("Choose a member"))] + [(str(m.id), m.name) for m in members]
    if request.method == "GET":
        form.member_id.data = optional_id(request.args.get("member_id", ""))
        form.date.data = request.args.get("date") or settlements.today_wib().isoformat()
    if form.validate_on_submit():
        try:
            log = settlements.log_work(
                require_login(),
                group,
                member_id=form.member_id.data,
                units=typed_quantity(form.units.data),
                day=form.date.data,
                note=form.note.data or None,
            )
        except AppError as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            name = next((m.name for m in members if m.id == log.member_id), "")
            flash(
                _(
                    "Recorded: %(units)s for %(name)s on %(day)s.",
                    units=format_qty(log.units),
                    name=name,
                    day=format_day(log.day),
                ),
                "success",
            )
            db.session.commit()
            return redirect(url_for("settlements.work_logs", group_id=group.id, date=log.day.isoformat()))
    start, end = _day_arg("from"), _day_arg("to")
    member_filter = optional_id(request.args.get("member", ""))
    result = paginate(
        settlements.work_logs_query(require_login(), group, start, end, member_filter), page_arg(), PER_PAGE
    )
    result["items"] = settlements.work_log_views(result["items"])
    totals = None
    if start and end and start <= end:
        names = {m.id: m.name for m in db.session.scalars(select(Member).where(Member.group_id == group.id))}
        totals = sorted(
            ((names.get(m, ""), units) for m, units in settlements.work_in(group.id, start, end).items() if units),
            key=lambda row: row[0].lower(),
        )
    filters = {
        key: value
        for key, value in (
            ("from", start and start.isoformat()),
            ("to", end and end.isoformat()),
            ("member", member_filter),
        )
        if value
    }
    return render_template(
        "groups/work_logs.html",
        group=group,
        form=form,
        result=result,
        totals=totals,
        start=start,
        end=end,
        member_filter=member_filter,
        members=members,
        filters=filters,
        reversal_form=WorkLogReversalForm(),
        on_day=on_day,
    )


@bp.route("/groups/<int:group_id>/work-logs/<int:log_id>/reverse", methods=["POST"])
@login_required
def reverse_work_log(group_id: int, log_id: int):
    group = get_group_or_404(group_id)
    require_role(group, Role.coordinator, Role.treasurer)
    form = WorkLogReversalForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        settlements.reverse_work_log(require_login(), group, log_id, form.note.data or None)
    except AppError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("The work log was corrected."), "success")
    return redirect(url_for("settlements.work_logs", group_id=group.id))


# --- settlements ------------------------------------------------------------------------------


def _suggested_period(group_id: int) -> tuple[date, date]:
    """The day after the last settled period (or the first of last month) to yesterday."""
    yesterday = settlements.today_wib() - timedelta(days=1)
    last = db.session.scalar(select(func.max(Settlement.period_end)).where(Settlement.group_id == group_id))
    start = (
        last + timedelta(days=1) if last is not None else (yesterday.replace(day=1) - timedelta(days=1)).replace(day=1)
    )
    return min(start, yesterday), yesterday


@bp.route("/groups/<int:group_id>/settlements", methods=["GET", "POST"])
@login_required
def settlements_page(group_id: int):
    """Close a period and see the periods closed (coordinator; the treasurer sees them)."""
    group = get_group_or_404(group_id)
    query = settlements.settlements_query(require_login(), group)  # coordinators and treasurers
    manages = can_manage(group, current_user)
    form = SettlementForm()
    if request.method == "POST":
        require_role(group, Role.coordinator)  # a refusal is a 403, not a message on the form
        if form.validate_on_submit():
            try:
                settlement = settlements.settle(require_login(), group, form.period_start.data, form.period_end.data)
            except AppError as exc:
                db.session.rollback()
                apply_errors(form, exc)
            else:
                db.session.commit()
                flash(
                    _(
                        "Settled %(start)s to %(end)s.",
                        start=format_day(settlement.period_start),
                        end=format_day(settlement.period_end),
                    ),
                    "success",
                )
                return redirect(url_for("settlements.settlement_page", group_id=group.id, settlement_id=settlement.id))
    elif manages:
        form.period_start.data, form.period_end.data = (d.isoformat() for d in _suggested_period(group.id))
    result = paginate(query, page_arg(), 20)
    result["items"] = settlements.settlement_views(result["items"])
    policy = revenue.policy_view(group, revenue.policy_in_force(group.id))
    return render_template(
        "groups/settlements.html",
        group=group,
        form=form,
        manages=manages,
        result=result,
        pool=-int(ledger.balance(group.id, revenue.POOL)),
        policy=policy,
        on_day=on_day,
    )


@bp.route("/groups/<int:group_id>/settlements/<int:settlement_id>")
@login_required
def settlement_page(group_id: int, settlement_id: int):
    group = get_group_or_404(group_id)
    settlements.settlements_query(require_login(), group)  # coordinators and treasurers
    view = settlements.settlement_views([settlements.get_settlement_or_404(group, settlement_id)])[0]
    return render_template("groups/settlement.html", group=group, settlement=view, on_day=on_day)


# --- statements -------------------------------------------------------------------------------


@bp.route("/groups/<int:group_id>/members/<int:member_id>/statement")
@login_required
def statement_page(group_id: int, member_id: int):
    """A member's statement, printable: frozen by a settlement, or live for a range."""
    group = get_group_or_404(group_id)
    member = settlements.statement_viewer(require_login(), group, member_id)
    settlement_id = optional_id(request.args.get("settlement_id", ""))
    if settlement_id:
        view = settlements.frozen_statement(group, member, settlement_id)
        csv_args = {"settlement_id": settlement_id}
    else:
        start, end = settlements.read_range(request.args.get("from"), request.args.get("to"), group, member)
        view = settlements.live_statement(group, member, start, end)
        csv_args = {"from": start.isoformat(), "to": end.isoformat()}
    here = {"group_id": group.id, "member_id": member.id, **csv_args}
    shown = {
        "group": group,
        "member": member,
        "statement": view,
        "on_day": on_day,
        "units": stock.lot_units(line["lot_id"] for line in view["detail"]["sales"]),
    }
    if request.args.get("print") == "1":  # the print layout: the statement alone, reached by a plain link
        return render_template(
            "groups/statement_print.html",
            **shown,
            back_url=url_for("settlements.statement_page", **here),
            printed_at=utcnow(),
        )
    frozen = db.session.execute(
        select(Settlement.id, Settlement.period_start, Settlement.period_end)
        .join(Statement, Statement.settlement_id == Settlement.id)
        .where(Settlement.group_id == group.id, Statement.member_id == member.id)
        .order_by(Settlement.period_start.desc())
        .limit(24)
    ).all()
    return render_template(
        "groups/statement.html",
        **shown,
        frozen=frozen,
        csv_url=url_for("settlement_api.get_statement", format="csv", **here),
        print_url=url_for("settlements.statement_page", print=1, **here),
    )


@bp.route("/groups/<int:group_id>/my-statement")
@login_required
def my_statement(group_id: int):
    """The signed-in member's own statement in the group."""
    group = get_group_or_404(group_id)
    member = db.session.scalar(select(Member).where(Member.group_id == group.id, Member.user_id == current_user.id))
    if member is None:
        raise NotFound(_("You are not a member of this group."))
    return redirect(url_for("settlements.statement_page", group_id=group.id, member_id=member.id))

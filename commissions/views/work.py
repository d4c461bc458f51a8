"""The group's side of a job: its jobs list (at risk first), the quote, the work shared out, finished pieces
handed in, deliveries; and a member's own assignments ("Jahitan saya").

Each form that is refused shows the job's page again with its errors, and nothing is recorded; the services
check the caller's role again on every action.
"""

from datetime import date
from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from accounts.services import require_login
from commissions import services
from commissions.forms import AssignForm, AssignmentChangeForm, DeliverForm, PiecesForm, QuoteForm, new_key
from commissions.models import Commission, CommissionStatus
from commissions.views.common import PER_PAGE, back_to_job, bp, show_errors
from commissions.views.jobs import SHOWN, job_page, quote_choices
from core.errors import Conflict
from core.extensions import db
from core.formatting import format_qty
from core.pages import page_arg
from core.pagination import paginate
from core.quantity import typed_quantity
from groups import services as groups
from groups.models import Group
from payments.services import common

DONE = (CommissionStatus.completed, CommissionStatus.declined, CommissionStatus.cancelled)
WORKING_NAMES = {status.value for status in services.WORKING}


def _refused(commission: Commission, name: str, form, exc):
    """The job's page again with the form's errors; nothing was recorded."""
    db.session.rollback()
    if isinstance(exc, Conflict):
        flash(str(exc.message), "error")
        return back_to_job(commission)
    show_errors(form, exc, fields={"pieces": "pieces", "quantity": "quantity"})
    return job_page(commission, exc.code, **{name: form})


def _invalid(commission: Commission, name: str, form):
    if "csrf_token" in form.errors:
        flash(_("Please try again."), "error")
        return job_page(commission, 400, **{name: form})
    return job_page(commission, 422, **{name: form})


# --- the group's jobs -------------------------------------------------------------------------


@bp.route("/groups/<int:group_id>/commissions")
@login_required
def group_jobs(group_id: int):
    """The group's jobs: those at work by due date, at risk first; then every job, newest first."""
    group = groups.get_group_or_404(group_id)
    actor = require_login()
    due = services.due_jobs(actor, group)  # coordinator, treasurer or the district admin
    result = paginate(services.group_commissions_query(actor, group), page_arg(), PER_PAGE)
    return render_template(
        "commissions/group_jobs.html",
        group=group,
        due=due,
        result=result,
        manages=groups.can_manage(group, actor),
    )


# --- the quote --------------------------------------------------------------------------------


@bp.route("/commissions/<int:commission_id>/quote", methods=["POST"])
@login_required
def quote(commission_id: int):
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    form = QuoteForm()
    quote_choices(form, db.session.get(Group, commission.group_id))
    if not form.validate_on_submit():
        return _invalid(commission, "quote", form)
    lines = [
        {
            "line_id": int(row.line_id.data) if (row.line_id.data or "").isdigit() else row.line_id.data,
            "variant_id": row.variant_id.data,
            "unit_price": row.unit_price.data,
        }
        for row in (entry.form for entry in form.lines.entries)
    ]
    try:
        made = services.quote(
            actor,
            commission,
            lines=lines,
            due_date=form.due_date.data or None,
            deposit_percent=(form.deposit_percent.data or "").strip().rstrip("%").replace(",", ".") or None,
            deposit_amount=form.deposit_amount.data or None,
            deposit_on_cancel=form.deposit_on_cancel.data,
            note=form.note.data or None,
        )
    except SHOWN as exc:
        db.session.rollback()
        if isinstance(exc, Conflict):
            flash(str(exc.message), "error")
            return back_to_job(commission)
        show_errors(form, exc)
        return job_page(commission, exc.code, quote=form)
    db.session.commit()
    flash(_("Quote sent to the buyer (revision %(n)d).", n=made.revision), "success")
    return back_to_job(commission)


# --- the work shared out ----------------------------------------------------------------------


@bp.route("/commissions/<int:commission_id>/assignments", methods=["POST"])
@login_required
def assign(commission_id: int):
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    form = AssignForm()
    if not form.validate_on_submit():
        return _invalid(commission, "assign", form)
    try:
        made = services.assign(
            actor,
            commission,
            line_id=form.line_id.data,
            member_id=form.member_id.data,
            pieces=typed_quantity(form.pieces.data),
        )
    except SHOWN as exc:
        return _refused(commission, "assign", form, exc)
    view = services.assignment_view(made)
    db.session.commit()
    flash(_("%(member)s makes %(n)s pieces.", member=view["member_name"], n=format_qty(made.pieces)), "success")
    return back_to_job(commission, "work")


@bp.route("/commission-assignments/<int:assignment_id>", methods=["POST"])
@login_required
def change_assignment(assignment_id: int):
    actor = require_login()
    assignment = services.get_assignment_or_404(actor, assignment_id)
    commission = db.session.get(Commission, assignment.commission_id)
    form = AssignmentChangeForm(prefix=f"a{assignment.id}")
    if not form.validate_on_submit():
        return _invalid(commission, f"change_{assignment.id}", form)
    try:
        services.change_assignment(actor, assignment, pieces=typed_quantity(form.pieces.data))
    except SHOWN as exc:
        return _refused(commission, f"change_{assignment.id}", form, exc)
    db.session.commit()
    flash(_("Assignment changed."), "success")
    return back_to_job(commission, "work")


@bp.route("/commission-assignments/<int:assignment_id>/pieces", methods=["POST"])
@login_required
def record_pieces(assignment_id: int):
    """Finished pieces handed in; the form's key makes a second tap (or a resend) record them once."""
    actor = require_login()
    assignment = services.get_assignment_or_404(actor, assignment_id)
    commission = db.session.get(Commission, assignment.commission_id)
    name = f"pieces_{assignment.id}"
    form = PiecesForm(prefix=f"p{assignment.id}")
    if not form.validate_on_submit():
        return _invalid(commission, name, form)
    quantity = typed_quantity(form.quantity.data)
    try:
        retry = common.retry_of(form.idempotency_key.data or None, {"quantity": quantity})
        row, created = services.record_pieces(actor, assignment, quantity=quantity, retry=retry)
    except SHOWN as exc:
        if "Idempotency-Key" in (exc.errors or {}):  # the page's key was used for another number: a new one
            db.session.rollback()
            form.idempotency_key.data = new_key()
            flash(_("This form was already sent with another number. Check the pieces below, then try again."), "error")
            return job_page(commission, exc.code, **{name: form})
        return _refused(commission, name, form, exc)
    member = services.assignment_view(assignment)["member_name"]
    db.session.commit()
    if created:
        flash(_("Recorded: %(n)s pieces from %(member)s.", n=format_qty(row.quantity), member=member), "success")
    else:
        flash(_("These pieces were already recorded."), "success")
    return back_to_job(commission, "work")


# --- deliveries -------------------------------------------------------------------------------


@bp.route("/commissions/<int:commission_id>/deliveries", methods=["POST"])
@login_required
def deliver(commission_id: int):
    """A delivery of the finished pieces, all or the pieces named per line: packed at once, it continues on its
    order's page (hand over, take the money, complete)."""
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    form = DeliverForm()
    if not form.validate_on_submit():
        return _invalid(commission, "deliver", form)
    lines, rows = None, []
    if not form.everything.data:
        lines = []
        for i, entry in enumerate(form.lines.entries):
            row = entry.form
            if not (row.quantity.data or "").strip():
                continue
            rows.append(i)
            line_id = row.line_id.data or ""
            lines.append(
                {
                    "line_id": int(line_id) if line_id.isascii() and line_id.isdigit() else line_id,
                    "quantity": typed_quantity(row.quantity.data),
                }
            )
    try:
        order = services.deliver(actor, commission, lines)
    except SHOWN as exc:
        db.session.rollback()
        if isinstance(exc, Conflict):
            flash(str(exc.message), "error")
            return back_to_job(commission)
        show_errors(form, exc, rows)
        return job_page(commission, exc.code, deliver=form)
    db.session.commit()
    flash(_("Delivery packed as order #%(id)d: hand it over and take what is owed.", id=order.id), "success")
    return redirect(url_for("marketplace.order", order_id=order.id))


# --- a member's own assignments ---------------------------------------------------------------


@bp.route("/me/commission-assignments")
@login_required
def my_assignments():
    """The pieces the signed-in member was given to make, in every group, with what remains: the open ones
    first."""
    rows = services.my_assignments(require_login())
    rows.sort(key=lambda a: (a["status"] in DONE, Decimal(a["remaining"]) <= 0, a["due_date"] or date.max, a["id"]))
    names = {g.id: g.name for g in db.session.query(Group).filter(Group.id.in_({a["group_id"] for a in rows}))}
    return render_template("commissions/my_assignments.html", rows=rows, group_names=names, here=request.path)


def home_section(user) -> str:
    """On the home page of a member who has pieces left to make: how many, and the link to them ("" for
    anyone else)."""
    if not user.is_authenticated:
        return ""
    open_rows = [
        a for a in services.my_assignments(user) if a["status"] in WORKING_NAMES and Decimal(a["remaining"]) > 0
    ]
    if not open_rows:
        return ""
    left = sum((Decimal(a["remaining"]) for a in open_rows), Decimal(0))
    due = min((a["due_date"] for a in open_rows if a["due_date"]), default=None)
    return render_template(
        "commissions/_home.html", left=left, jobs=len({a["commission_id"] for a in open_rows}), due=due
    )

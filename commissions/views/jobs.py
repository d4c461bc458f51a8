"""A job's page (what each viewer sees of it and the forms their role allows), the buyer's request, her jobs,
accepting or declining a quote, and cancelling with a confirmation."""

from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from accounts.models import User
from accounts.services import require_login
from commissions import services
from commissions.forms import (
    CARD_CHOICE,
    PAYMENT_CHOICES,
    REQUEST_ROWS,
    AcceptForm,
    AssignForm,
    AssignmentChangeForm,
    DeliverForm,
    NoteForm,
    PiecesForm,
    QuoteForm,
    RequestForm,
    new_key,
)
from commissions.models import Commission, CommissionStatus
from commissions.services import records
from commissions.views.common import (
    ON_CANCEL_LABELS,
    PER_PAGE,
    back_to_job,
    bp,
    member_choices,
    show_errors,
    variant_choices,
    variant_names,
)
from core.errors import Conflict, Forbidden, ValidationFailed
from core.extensions import db
from core.pages import page_arg
from core.pagination import paginate
from core.quantity import typed_quantity
from groups import services as groups
from groups.models import Group, Role
from marketplace.models import OrderStatus
from payments.services import card

SHOWN = (Conflict, ValidationFailed)  # errors shown on the page; 401, 403 and 404 get the error page
OPEN = (OrderStatus.placed, OrderStatus.confirmed)


# --- the buyer's request and her jobs ---------------------------------------------------------


@bp.route("/groups/<int:group_id>/commissions/new", methods=["GET", "POST"])
@login_required
def request_job(group_id: int):
    """Ask the group to make something: a few line rows (a product of the group or a description, and how
    many); "add a line" posts the form back with one row more, so no script is needed."""
    group = groups.get_group_or_404(group_id)
    form = RequestForm()
    status = 200
    if request.method == "POST" and request.form.get("add_line"):
        form.lines.append_entry()
    elif form.validate_on_submit():
        rows, lines = [], []
        for i, entry in enumerate(form.lines.entries):
            row = entry.form
            if row.variant_id.data is None and not (row.description.data or "").strip() and not row.quantity.data:
                continue
            rows.append(i)
            lines.append(
                {
                    "variant_id": row.variant_id.data,
                    "description": row.description.data or None,
                    "quantity": typed_quantity(row.quantity.data),
                }
            )
        try:
            commission = services.request_commission(
                require_login(),
                group,
                title=form.title.data,
                lines=lines,
                description=form.description.data or None,
                wanted_date=form.wanted_date.data or None,
                note=form.note.data or None,
            )
        except SHOWN as exc:
            db.session.rollback()
            show_errors(form, exc, rows)
            status = exc.code
        else:
            db.session.commit()
            flash(
                _("Your request is sent to %(group)s. They answer with a price and a date.", group=group.name),
                "success",
            )
            return back_to_job(commission)
    elif request.method == "POST":
        status = 400 if "csrf_token" in form.errors else 422
    while len(form.lines.entries) < REQUEST_ROWS:
        form.lines.append_entry()
    choices = variant_choices(group, listed_only=True)
    for entry in form.lines.entries:
        entry.form.variant_id.choices = [("", _("A product of the group…"))] + choices
    return render_template("commissions/new.html", group=group, form=form), status


@bp.route("/me/commissions")
@login_required
def my_jobs():
    """The jobs the signed-in user asked groups for, newest first."""
    result = paginate(services.buyer_commissions_query(require_login()), page_arg(), PER_PAGE)
    names = {g.id: g.name for g in db.session.query(Group).filter(Group.id.in_({c.group_id for c in result["items"]}))}
    return render_template("commissions/mine.html", result=result, group_names=names)


# --- a job's page -----------------------------------------------------------------------------


@bp.route("/commissions/<int:commission_id>")
@login_required
def job(commission_id: int):
    return job_page(services.get_commission_or_404(require_login(), commission_id))


def job_page(commission: Commission, status: int = 200, **bound):
    """The job as the viewer may see it, with the forms their role allows; `bound` holds a form sent back with
    its errors (by name: quote, accept, assign, change_<id>, pieces_<id>, deliver)."""
    viewer = require_login()
    view = services.commission_view(commission, viewer)
    group = db.session.get(Group, commission.group_id)
    role = records.role_in(commission, viewer)
    is_buyer = commission.buyer_id == viewer.id
    coordinates = role == Role.coordinator
    quotes = view["quotes"]
    latest = quotes[-1] if quotes else None
    names = variant_names(
        [line["variant_id"] for line in view["lines"]] + [q["variant_id"] for quote in quotes for q in quote["lines"]]
    )
    lines = {line["id"]: line for line in view["lines"]}
    orders = records.orders_of(commission)
    open_order = next((o for o in orders if o.status in OPEN), None)
    held = sum(o.paid - o.refunded for o in orders if o.status in OPEN)
    progress = [_progress_row(row, lines, names) for row in view["progress"]]
    state = commission.status
    forms = {}
    if coordinates and state in (CommissionStatus.requested, CommissionStatus.quoted):
        forms["quote"] = bound.get("quote") or _quote_form(commission, latest)
        quote_choices(forms["quote"], group)
    cards = card.cards_taken()
    if is_buyer and state == CommissionStatus.quoted:
        forms["accept"] = bound.get("accept") or AcceptForm(formdata=None, revision=str(latest["revision"]))
        if cards:
            forms["accept"].payment_method.choices = [*PAYMENT_CHOICES, CARD_CHOICE]
    if coordinates and state in (CommissionStatus.accepted, CommissionStatus.in_production):
        forms["assign"] = bound.get("assign") or AssignForm(formdata=None)
        forms["assign"].member_id.choices = member_choices(group)
        forms["assign"].line_id.choices = [("", _("Choose a line"))] + [
            (str(line["id"]), names.get(line["variant_id"]) or line["description"]) for line in view["lines"]
        ]
    work = []
    for a in view.get("assignments", []):
        row = {**a, "variant_name": names.get(a["variant_id"])}
        if coordinates and state in (CommissionStatus.accepted, CommissionStatus.in_production):
            row["change"] = bound.get(f"change_{a['id']}") or AssignmentChangeForm(
                formdata=None, prefix=f"a{a['id']}", pieces=a["pieces"]
            )
            if Decimal(a["remaining"]) > 0:
                row["pieces_form"] = bound.get(f"pieces_{a['id']}") or PiecesForm(
                    formdata=None, prefix=f"p{a['id']}", idempotency_key=new_key()
                )
        work.append(row)
    waiting = [row for row in progress if row["waiting"] > 0]
    if coordinates and state in (CommissionStatus.in_production, CommissionStatus.ready) and waiting:
        forms["deliver"] = bound.get("deliver") or DeliverForm(
            formdata=None, lines=[{"line_id": str(row["line_id"]), "quantity": ""} for row in waiting]
        )
    may_cancel = (coordinates or is_buyer) and CommissionStatus.cancelled in records.TRANSITIONS[state]
    people = {
        u.id: u
        for u in db.session.query(User).filter(
            User.id.in_({commission.buyer_id, *(e.actor_id for e in commission.events)})
        )
    }
    return render_template(
        "commissions/job.html",
        job=view,
        commission=commission,
        group=group,
        role=role,
        is_buyer=is_buyer,
        coordinates=coordinates,
        keeps_books=role in (Role.coordinator, Role.treasurer),
        latest=latest,
        names=names,
        lines=lines,
        progress=progress,
        work=work,
        orders=orders,
        open_order=open_order,
        held=held,
        forms=forms,
        may_cancel=may_cancel,
        buyer_cancels_paid=is_buyer and not coordinates and held > 0,
        decline_form=NoteForm(formdata=None, prefix="decline"),
        priced={q["line_id"]: q for q in latest["lines"]} if latest else {},
        people=people,
        on_cancel_labels=ON_CANCEL_LABELS,
        waiting=waiting,
        card_offers=services.card_offers(commission) if is_buyer and cards else {},
    ), status


def _progress_row(row: dict, lines: dict, names: dict) -> dict:
    line = lines[row["line_id"]]
    done, delivered = Decimal(row["done"]), Decimal(row["delivered"])
    return {
        **row,
        "name": names.get(line["variant_id"]) or line["description"],
        "waiting": done - delivered if done > delivered else Decimal(0),
    }


def _quote_form(commission: Commission, latest: dict | None) -> QuoteForm:
    """The quote form filled from the latest revision (a revision changes what it must), else from the request."""
    by_line = {q["line_id"]: q for q in latest["lines"]} if latest else {}
    rows = []
    for line in commission.lines:
        quoted = by_line.get(line.id)
        variant_id = quoted["variant_id"] if quoted else line.variant_id
        price = quoted["unit_price"] if quoted else None
        rows.append({"line_id": str(line.id), "variant_id": variant_id, "unit_price": "" if price is None else price})
    data = {"lines": rows, "due_date": "", "deposit_percent": "30", "deposit_on_cancel": "refund"}
    if latest:
        data.update(
            due_date=latest["due_date"].isoformat(),
            deposit_percent=latest["deposit_percent"] or "",
            deposit_amount="" if latest["deposit_percent"] else str(latest["deposit"]),
            deposit_on_cancel=latest["deposit_on_cancel"],
            note=latest["note"] or "",
        )
    elif commission.wanted_date:
        data["due_date"] = commission.wanted_date.isoformat()
    return QuoteForm(formdata=None, data=data)


def quote_choices(form: QuoteForm, group: Group) -> None:
    choices = [("", _("Choose a product"))] + variant_choices(group, listed_only=False)
    for entry in form.lines.entries:
        entry.form.variant_id.choices = choices


@bp.route("/commissions/<int:commission_id>/accept", methods=["POST"])
@login_required
def accept(commission_id: int):
    """The buyer accepts the revision the page showed: the job's order is made and the deposit owed on it."""
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        return job_page(commission, 400 if "csrf_token" in form.errors else 422, accept=form)
    revision = form.revision.data
    try:
        services.accept(
            actor,
            commission,
            revision=int(revision) if revision and revision.isascii() and revision.isdigit() else revision,
            fulfilment={"method": form.fulfilment_method.data, "address": form.address.data or None},
            payment_method=form.payment_method.data,
        )
    except Conflict as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return back_to_job(commission)
    except ValidationFailed as exc:
        db.session.rollback()
        show_errors(form, exc, fields={"fulfilment.address": "address", "fulfilment.method": "fulfilment_method"})
        return job_page(commission, exc.code, accept=form)
    db.session.commit()
    flash(_("Quote accepted. The group starts the work once the deposit is paid."), "success")
    if form.payment_method.data == "card" and services.card_offers(commission).get("deposit"):
        return redirect(url_for("commissions.pay_by_card", commission_id=commission.id, pay="deposit"))
    return back_to_job(commission)


@bp.route("/commissions/<int:commission_id>/decline", methods=["POST"])
@login_required
def decline(commission_id: int):
    """The buyer declines a quote; the coordinator declines a request (or withdraws the quote)."""
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    form = NoteForm(prefix="decline")
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return back_to_job(commission)
    try:
        services.decline(actor, commission, form.note.data or None)
    except SHOWN as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return back_to_job(commission)
    db.session.commit()
    flash(_("The job is declined."), "success")
    return back_to_job(commission)


@bp.route("/commissions/<int:commission_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(commission_id: int):
    """Cancelling, in two steps that need no script: this page says what happens to the deposit and asks for a
    confirming tap; the post from it cancels (the buyer while nothing is paid, or the coordinator)."""
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    coordinates = records.role_in(commission, actor) == Role.coordinator
    if commission.buyer_id != actor.id and not coordinates:
        raise Forbidden()
    if CommissionStatus.cancelled not in records.TRANSITIONS[commission.status]:
        flash(_("This job can no longer be cancelled."), "error")
        return back_to_job(commission)
    form = NoteForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                services.cancel(actor, commission, form.note.data or None)
            except Conflict as exc:
                db.session.rollback()
                flash(str(exc.message), "error")
                return back_to_job(commission)
            except ValidationFailed as exc:
                db.session.rollback()
                show_errors(form, exc)
                status = exc.code
            else:
                db.session.commit()
                flash(_("The job is cancelled."), "success")
                return back_to_job(commission)
    accepted = records.accepted_quote(commission)
    orders = records.orders_of(commission)
    held = sum(o.paid - o.refunded for o in orders if o.status in OPEN)
    return render_template(
        "commissions/cancel.html",
        commission=commission,
        group=db.session.get(Group, commission.group_id),
        form=form,
        accepted=accepted,
        held=held,
        on_cancel_labels=ON_CANCEL_LABELS,
        as_buyer=commission.buyer_id == actor.id and not coordinates,
    ), status

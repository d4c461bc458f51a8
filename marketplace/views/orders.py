"""The buyer's orders, an order's page and the steps that move it, and the coordinator's queue and packing list."""
import uuid

from flask import abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.errors import AppError, Conflict, ValidationFailed
from core.extensions import db
from core.money import format_rupiah
from core.pages import apply_errors, safe_next
from core.pagination import paginate
from groups import services as groups
from groups.models import Group, Role
from marketplace import services
from marketplace.forms import HandoverForm, OrderActionForm, PaymentForm, RefundForm, ReversalForm
from marketplace.models import OPEN_STATUSES, Order, OrderStatus, PaymentMethod
from marketplace.views.checkout import SHOWN_ERRORS
from marketplace.views.common import (NEXT_STEPS, PAYMENT_LABELS, PER_PAGE, bp, day_arg, groups_by_id, page_arg,
                                      users_by_id, whatsapp_link)
from payments import slips
from payments.services import details as payments
from payments.services import recorded, refunds

QUEUE_PER_PAGE = 50
ACTIONS = {"confirm": services.confirm, "ready": services.mark_ready, "complete": services.complete}
BUYER_CANCELS = (OrderStatus.placed, OrderStatus.confirmed)


# --- the buyer's orders, and an order's page -------------------------------------------

@bp.route("/orders")
@login_required
def my_orders():
    services.expire_opportunistically()
    result = paginate(services.buyer_orders_query(current_user).options(selectinload(Order.lines)), page_arg(),
                      PER_PAGE)
    return render_template("marketplace/my_orders.html", result=result,
                           groups=groups_by_id(o.group_id for o in result["items"]))


@bp.route("/orders/<int:order_id>")
@login_required
def order(order_id: int):
    services.expire_opportunistically()
    return _order_page(services.get_order_or_404(order_id))


def _new_key() -> str:
    return str(uuid.uuid4())


def _order_page(found: Order, status: int = 200, **bound):
    """An order as the viewer may see it, with the buttons and money forms their role allows.

    `bound` holds a money form sent back with its errors (payment=..., refund=...);
    the others are rendered fresh, each with a new idempotency key.
    """
    group = db.session.get(Group, found.group_id)
    manages = services.manages(found, current_user)
    insider = found.group_id in services.groups_seeing_allocations(current_user, [found.group_id])
    money = payments.payment_details([found], {found.group_id} if insider else set())[found.id]
    owed, is_open, paid_up = money["owed"], found.status in OPEN_STATUSES, services.can_complete(found)
    steps = NEXT_STEPS.get(found.status, ()) if manages else ()
    if found.status == OrderStatus.ready and not paid_up:
        steps = tuple(step for step in steps if step != "complete")  # paid first: the handover button does both
    buyer_cancels = found.buyer_id == current_user.id and found.status in BUYER_CANCELS and "cancel" not in steps
    card_paid = sum(p["amount"] for p in money["payments"] if p["method"] == "card") - \
        sum(r["amount"] for r in money["refunds"] if r["method"] == "card")
    forms = {"payment": None, "refund": None, "handover": None}
    if insider and owed > 0 and is_open:
        forms["payment"] = bound.get("payment") or PaymentForm(
            formdata=None, amount=str(owed), received_at=services.today_wib().isoformat(), idempotency_key=_new_key(),
            method=found.payment_method.value if found.payment_method == PaymentMethod.transfer else "cash")
    if insider and found.paid > found.refunded:
        forms["refund"] = bound.get("refund") or RefundForm(
            formdata=None, method="card" if card_paid > 0 else "cash", idempotency_key=_new_key())
    if manages and found.status == OrderStatus.ready and owed > 0:
        forms["handover"] = HandoverForm(formdata=None, amount=str(owed), idempotency_key=_new_key())
    # One small form per payment the group may still reverse (cash or a transfer recorded by mistake).
    sent = bound.get("reversal")
    forms["reversals"] = [(p, sent if sent is not None and sent.payment_id == p.id else _reversal_form(p.id))
                          for p in recorded.reversible_payments(found)] if insider else []
    people = users_by_id([found.buyer_id] + [e.actor_id for e in found.events])
    own = found.buyer_id == current_user.id
    return render_template(
        "marketplace/order.html", order=found, group=group, manages=manages, steps=steps,
        buyer_cancels=buyer_cancels, people=people, form=OrderActionForm(), sees_buyer=not own,
        whatsapp=whatsapp_link(found, group) if own else None, money=money, insider=insider,
        forms=forms, card_paid=card_paid,
        pay_by_card=own and is_open and owed > 0 and found.payment_method == PaymentMethod.card), status


def _reversal_form(payment_id: int, formdata=None) -> ReversalForm:
    """The reversal form of one payment: its fields prefixed by the payment, so each on the page is its own."""
    form = ReversalForm(formdata=formdata, prefix=f"reversal-{payment_id}")
    form.payment_id = payment_id
    return form


def _form_failed(found: Order, name: str, form, error: AppError):
    """Show the order again with the money form's errors; nothing was recorded."""
    db.session.rollback()
    if "Idempotency-Key" in error.errors:  # the page's key was used for other values: check, then try again
        flash(_("This form was already sent with other values. Check the payments below, then try again."),
              "error")
        form.idempotency_key.data = _new_key()
    else:
        apply_errors(form, error)
    return _order_page(found, error.code, **{name: form})


def _invalid_form(found: Order, name: str, form):
    if "csrf_token" in form.errors:
        flash(_("Please try again."), "error")
        return _order_page(found, 400, **{name: form})
    return _order_page(found, 422, **{name: form})


def _received_day(text: str | None) -> str | None:
    """The form's day: None (now) for today, else the day as typed."""
    text = (text or "").strip()
    return None if not text or text == services.today_wib().isoformat() else text


@bp.route("/orders/<int:order_id>/payment", methods=["POST"])
@login_required
def record_payment(order_id: int):
    found = services.get_order_or_404(order_id)
    groups.require_role(db.session.get(Group, found.group_id), Role.coordinator, Role.treasurer)
    form = PaymentForm()
    if not form.validate_on_submit():
        return _invalid_form(found, "payment", form)
    data = {"method": form.method.data, "amount": form.amount.data, "reference": form.reference.data or None,
            "received_at": _received_day(form.received_at.data)}
    upload = form.slip.data.read() if form.slip.data else None
    try:
        payment, created, written = slips.record_payment_with_slip(found, data, form.idempotency_key.data or None,
                                                                    upload)
    except SHOWN_ERRORS as exc:
        return _form_failed(found, "payment", form, exc)
    slips.commit_with_slip(written)
    if created:
        flash(_("Recorded: %(amount)s by %(method)s for order #%(id)d.", amount=format_rupiah(payment.amount),
                method=PAYMENT_LABELS[payment.method], id=found.id), "success")
    else:
        flash(_("This payment was already recorded."), "success")
    return redirect(url_for("marketplace.order", order_id=found.id))


@bp.route("/orders/<int:order_id>/refund", methods=["POST"])
@login_required
def refund(order_id: int):
    found = services.get_order_or_404(order_id)
    groups.require_role(db.session.get(Group, found.group_id), Role.coordinator, Role.treasurer)
    form = RefundForm()
    if not form.validate_on_submit():
        return _invalid_form(found, "refund", form)
    data = {"amount": form.amount.data, "reason": form.reason.data, "method": form.method.data or None}
    try:
        given, created = refunds.refund_order(found, data, form.idempotency_key.data or None)
    except SHOWN_ERRORS as exc:
        return _form_failed(found, "refund", form, exc)
    db.session.commit()
    if created:
        flash(_("Refund recorded: %(amount)s by %(method)s for order #%(id)d.", amount=format_rupiah(given.amount),
                method=PAYMENT_LABELS[given.method], id=found.id), "success")
    else:
        flash(_("This refund was already recorded."), "success")
    return redirect(url_for("marketplace.order", order_id=found.id))


@bp.route("/orders/<int:order_id>/payments/<int:payment_id>/reversal", methods=["POST"])
@login_required
def reverse_payment(order_id: int, payment_id: int):
    """Correct cash or a transfer recorded by mistake (payments.services.reverse_payment)."""
    found = services.get_order_or_404(order_id)
    groups.require_role(db.session.get(Group, found.group_id), Role.coordinator, Role.treasurer)
    form = _reversal_form(payment_id, request.form)
    if not form.validate_on_submit():
        return _invalid_form(found, "reversal", form)
    try:
        correction = recorded.reverse_payment(found, payment_id, form.reason.data)
    except SHOWN_ERRORS as exc:
        return _form_failed(found, "reversal", form, exc)
    db.session.commit()
    flash(_("Payment corrected: %(amount)s by %(method)s taken off order #%(id)d.",
            amount=format_rupiah(-correction.amount), method=PAYMENT_LABELS[correction.method], id=found.id),
          "success")
    return redirect(url_for("marketplace.order", order_id=found.id))


@bp.route("/orders/<int:order_id>/handover", methods=["POST"])
@login_required
def handover(order_id: int):
    """At pickup: the cash the page showed as owed is recorded and the order completed, in one step."""
    found = services.get_order_or_404(order_id)
    groups.require_role(db.session.get(Group, found.group_id), Role.coordinator)
    form = HandoverForm()
    back = safe_next(url_for("marketplace.order", order_id=found.id))
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return redirect(back)
    try:
        done = recorded.complete_at_handover(found, {"amount": form.amount.data}, form.idempotency_key.data or None)
    except SHOWN_ERRORS as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(back)
    db.session.commit()
    flash(_("Cash received; order #%(id)d is %(status)s.", id=done.id, status=services.status_label(done.status)),
          "success")
    return redirect(back)


@bp.route("/orders/<int:order_id>/payments/<int:payment_id>/slip")
@login_required
def payment_slip(order_id: int, payment_id: int):
    """A transfer slip photo, for the group's coordinator and treasurer only; never cached."""
    folder, name = slips.slip_file(services.get_order_or_404(order_id), payment_id)
    response = send_from_directory(folder, name, mimetype="image/webp", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/orders/<int:order_id>/<action>", methods=["POST"])
@login_required
def order_action(order_id: int, action: str):
    if action not in (*ACTIONS, "cancel"):
        abort(404)
    found = services.get_order_or_404(order_id)  # unknown, or not theirs to see: 404
    form = OrderActionForm()
    back = safe_next(url_for("marketplace.order", order_id=found.id))
    if not form.validate_on_submit():
        abort(400)
    try:
        if action == "cancel":
            services.cancel(found, form.note.data or None)
        else:
            ACTIONS[action](found)  # a buyer or a treasurer is refused here (403)
    except (Conflict, ValidationFailed) as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(back)
    db.session.commit()
    flash(_("Order #%(id)d is now %(status)s.", id=found.id, status=services.status_label(found.status)), "success")
    return redirect(back)


# --- the coordinator's queue and packing list ------------------------------------------

QUEUE_FILTERS = ("open", "all", *(s.value for s in OrderStatus))


@bp.route("/groups/<int:group_id>/orders")
@login_required
def queue(group_id: int):
    services.expire_opportunistically()
    group = groups.get_group_or_404(group_id)
    status = request.args.get("status") if request.args.get("status") in QUEUE_FILTERS else "open"
    day, bad_day = day_arg()
    query = services.group_orders_query(group, None if status in ("open", "all") else status, day)
    if status == "open":
        query = query.where(Order.status.in_(OPEN_STATUSES))
    result = paginate(query.options(selectinload(Order.lines)), page_arg(), QUEUE_PER_PAGE)
    return render_template("marketplace/queue.html", group=group, result=result, status=status, day=day,
                           bad_day=bad_day, counts=services.order_counts(group),
                           people=users_by_id(o.buyer_id for o in result["items"]),
                           manages=groups.can_manage(group, current_user), steps=NEXT_STEPS,
                           form=OrderActionForm(), here=request.full_path, today=services.today_wib(),
                           can_complete=services.can_complete,
                           handover_keys={o.id: _new_key() for o in result["items"]
                                          if o.status == OrderStatus.ready and o.total > o.paid})


@bp.route("/groups/<int:group_id>/packing")
@login_required
def packing(group_id: int):
    group = groups.get_group_or_404(group_id)
    day, bad_day = day_arg()
    if bad_day:
        flash(_("Use a date such as 2026-11-28."), "error")
    packed = services.packing_list(group, day or services.today_wib())
    waiting = db.session.scalar(select(func.count()).select_from(
        services.group_orders_query(group, OrderStatus.placed.value, packed["day"]).subquery()))
    return render_template("marketplace/packing.html", group=group, packing=packed, waiting=waiting)

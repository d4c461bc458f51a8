"""The buyer's harvest pages: pre-ordering (the product page carries the form; this page shows it again with its
errors), her pre-orders with what the harvest gave each, and cancelling one, confirmed on its own page."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts.services import require_login
from core.errors import AppError
from core.extensions import db
from core.formatting import format_qty
from core.pages import page_arg
from core.pagination import paginate
from core.quantity import typed_quantity
from groups.models import Group
from harvests import services
from harvests.forms import CARD_CHOICE, PAYMENT_CHOICES, NoteForm, PreOrderForm
from harvests.models import Harvest
from harvests.services import records
from harvests.views.common import PER_PAGE, bp, new_key, show_errors
from marketplace.models import Order
from payments.services import card, common

PRE_ORDER_FIELDS = {
    "quantity": "quantity",
    "fulfilment": "fulfilment_method",
    "fulfilment.method": "fulfilment_method",
    "fulfilment.address": "address",
    "payment_method": "payment_method",
}


@bp.route("/harvests/<int:harvest_id>/pre-order", methods=["GET", "POST"])
@login_required
def pre_order(harvest_id: int):
    harvest = services.visible_harvest_or_404(current_user, harvest_id)
    form = PreOrderForm()
    if harvest.deposit_basis_points and card.cards_taken():
        form.payment_method.choices = [*PAYMENT_CHOICES, CARD_CHOICE]
    status = 200
    if request.method == "GET":
        form.idempotency_key.data = new_key()
    elif form.validate_on_submit():
        data = {
            "quantity": typed_quantity(form.quantity.data),
            "fulfilment": {"method": form.fulfilment_method.data or None, "address": form.address.data or None},
            "payment_method": form.payment_method.data or None,
        }
        try:
            retry = common.retry_of(form.idempotency_key.data or None, {**data, "harvest_id": harvest.id})
            row, _created = services.pre_order(require_login(), harvest, **data, retry=retry)
        except AppError as exc:
            db.session.rollback()
            status = exc.code
            if "Idempotency-Key" in exc.errors:  # a twin of this form went first with other values
                flash(_("This form was already sent. Check your pre-orders before ordering again."), "error")
                form.idempotency_key.data = new_key()
            else:
                show_errors(form, exc, PRE_ORDER_FIELDS)
            harvest = services.visible_harvest_or_404(current_user, harvest_id)
        else:
            db.session.commit()  # a retry of the same form (a double tap) is answered with the first pre-order
            flash(
                _(
                    "Pre-order placed: %(quantity)s %(unit)s, for %(week)s.",
                    quantity=format_qty(row.quantity),
                    unit=services.harvest_view(harvest)["unit"],
                    week=records.week_label(harvest.week),
                ),
                "success",
            )
            if form.payment_method.data == "card" and services.card_offers(row).get("deposit"):
                return redirect(url_for("harvests.pay_by_card", pre_order_id=row.id, pay="deposit"))
            return redirect(url_for("harvests.my_pre_orders"))
    else:
        status = 400
    return render_template("harvests/pre_order.html", h=services.harvest_view(harvest), form=form), status


@bp.route("/me/pre-orders")
@login_required
def my_pre_orders():
    result = paginate(services.buyer_pre_orders_query(require_login()), page_arg(), PER_PAGE)
    rows = result["items"]
    result["items"] = [services.my_pre_order_view(p) for p in rows]
    cancellable = {
        p.id
        for p in rows
        if services.can_cancel(p, db.session.get(Harvest, p.harvest_id), db.session.get(Order, p.order_id))
    }
    offers = {p.id: services.card_offers(p) for p in rows} if card.cards_taken() else {}
    return render_template("harvests/my_pre_orders.html", result=result, cancellable=cancellable, card_offers=offers)


@bp.route("/pre-orders/<int:pre_order_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel_pre_order(pre_order_id: int):
    """Cancelling in two steps that need no script: this page asks for a confirming tap; the post from it cancels.
    The buyer may while nothing is paid on it; the coordinator gives back what was paid."""
    actor = require_login()
    row = services.get_pre_order_or_404(actor, pre_order_id)  # not hers, nor her group's to see: 404
    harvest = db.session.get(Harvest, row.harvest_id)
    own = row.buyer_id == actor.id
    if not own and not records.is_coordinator(actor, harvest.group_id):
        abort(403)  # the treasurer sees it but does not cancel it
    back = url_for("harvests.my_pre_orders") if own else url_for("harvests.harvest", harvest_id=harvest.id)
    form = NoteForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.cancel_pre_order(actor, row, form.note.data or None)
            except AppError as exc:
                db.session.rollback()
                show_errors(form, exc)
                status = exc.code
                row = services.get_pre_order_or_404(actor, pre_order_id)
            else:
                db.session.commit()
                flash(_("The pre-order is cancelled."), "success")
                return redirect(back)
        else:
            status = 400
    view = services.pre_order_view(row)
    return render_template(
        "harvests/cancel_pre_order.html",
        p=view,
        h=services.harvest_view(harvest),
        group=db.session.get(Group, harvest.group_id),
        form=form,
        own=own,
        back=back,
    ), status

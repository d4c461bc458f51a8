"""Payment pages: the coordinator's and treasurer's money forms on an order (cash or a transfer with its slip
photo, a refund, a payment corrected, the cash taken at handover), the slip file, and a checkout's pay page.

Each form is shown on the order's page (marketplace.views.orders.order_page, which places what
payments.order_money renders); refused, it is shown there again with its errors and nothing recorded. The
services check the caller's role again on every action.
"""

from flask import Blueprint, flash, make_response, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import login_required

from accounts.services import require_login
from core.errors import AppError, Conflict, ValidationFailed
from core.extensions import db
from core.headers import allow_sources
from core.money import format_rupiah
from core.pages import apply_errors, safe_next
from marketplace import services
from marketplace.models import Checkout, Order
from marketplace.views.common import PAYMENT_LABELS, groups_by_id, whatsapp_link
from marketplace.views.orders import order_page
from payments import inputs, slips
from payments.forms import HandoverForm, PaymentForm, RefundForm, new_key, reversal_form
from payments.order_money import card_owed
from payments.services import card as card_payments
from payments.services import common, recorded, refunds

bp = Blueprint("payments", __name__)

# Errors a money form shows beside its fields (or on top); others (401, 403, 404) get the error page.
SHOWN_ERRORS = (Conflict, ValidationFailed, common.GatewayUnavailable, card_payments.PaymentsNotConfigured)


# --- the money forms of an order's page ------------------------------------------------------


def _form_failed(found: Order, name: str, form, error: AppError):
    """Show the order again with the money form's errors; nothing was recorded."""
    db.session.rollback()
    if "Idempotency-Key" in error.errors:  # the page's key was used for other values: check, then try again
        flash(_("This form was already sent with other values. Check the payments below, then try again."), "error")
        form.idempotency_key.data = new_key()
    else:
        apply_errors(form, error)
    return order_page(found, error.code, **{name: form})


def _invalid_form(found: Order, name: str, form):
    if "csrf_token" in form.errors:
        flash(_("Please try again."), "error")
        return order_page(found, 400, **{name: form})
    return order_page(found, 422, **{name: form})


def _received_day(text: str | None) -> str | None:
    """The form's day: None (now) for today, else the day as typed."""
    text = (text or "").strip()
    return None if not text or text == services.today_wib().isoformat() else text


def _back_to(found: Order):
    return redirect(url_for("marketplace.order", order_id=found.id))


@bp.route("/orders/<int:order_id>/payment", methods=["POST"])
@login_required
def record_payment(order_id: int):
    actor = require_login()
    found = services.get_order_or_404(actor, order_id)
    common.require_bookkeeper(actor, found)
    form = PaymentForm()
    if not form.validate_on_submit():
        return _invalid_form(found, "payment", form)
    sent = {
        "method": form.method.data,
        "amount": form.amount.data,
        "reference": form.reference.data or None,
        "received_at": _received_day(form.received_at.data),
    }
    upload = form.slip.data.read() if form.slip.data else None
    try:
        retry = common.retry_of(form.idempotency_key.data or None, slips.with_slip(sent, upload))
        payment, created, written = slips.record_payment_with_slip(
            actor, found, inputs.offline_payment(sent), retry, upload
        )
    except SHOWN_ERRORS as exc:
        return _form_failed(found, "payment", form, exc)
    slips.commit_with_slip(written)
    if created:
        flash(
            _(
                "Recorded: %(amount)s by %(method)s for order #%(id)d.",
                amount=format_rupiah(payment.amount),
                method=PAYMENT_LABELS[payment.method],
                id=found.id,
            ),
            "success",
        )
    else:
        flash(_("This payment was already recorded."), "success")
    return _back_to(found)


@bp.route("/orders/<int:order_id>/refund", methods=["POST"])
@login_required
def refund(order_id: int):
    actor = require_login()
    found = services.get_order_or_404(actor, order_id)
    common.require_bookkeeper(actor, found)
    form = RefundForm()
    if not form.validate_on_submit():
        return _invalid_form(found, "refund", form)
    sent = {"amount": form.amount.data, "reason": form.reason.data, "method": form.method.data or None}
    try:
        retry = common.retry_of(form.idempotency_key.data or None, sent)
        given, created = refunds.refund_order(actor, found, inputs.requested_refund(sent), retry)
    except SHOWN_ERRORS as exc:
        return _form_failed(found, "refund", form, exc)
    db.session.commit()
    if created:
        flash(
            _(
                "Refund recorded: %(amount)s by %(method)s for order #%(id)d.",
                amount=format_rupiah(given.amount),
                method=PAYMENT_LABELS[given.method],
                id=found.id,
            ),
            "success",
        )
    else:
        flash(_("This refund was already recorded."), "success")
    return _back_to(found)


@bp.route("/orders/<int:order_id>/payments/<int:payment_id>/reversal", methods=["POST"])
@login_required
def reverse_payment(order_id: int, payment_id: int):
    """Correct cash or a transfer recorded by mistake (payments.services.recorded.reverse_payment)."""
    actor = require_login()
    found = services.get_order_or_404(actor, order_id)
    common.require_bookkeeper(actor, found)
    form = reversal_form(payment_id, request.form)
    if not form.validate_on_submit():
        return _invalid_form(found, "reversal", form)
    try:
        correction = recorded.reverse_payment(actor, found, payment_id, inputs.reversal_reason(form.reason.data))
    except SHOWN_ERRORS as exc:
        return _form_failed(found, "reversal", form, exc)
    db.session.commit()
    flash(
        _(
            "Payment corrected: %(amount)s by %(method)s taken off order #%(id)d.",
            amount=format_rupiah(-correction.amount),
            method=PAYMENT_LABELS[correction.method],
            id=found.id,
        ),
        "success",
    )
    return _back_to(found)


@bp.route("/orders/<int:order_id>/handover", methods=["POST"])
@login_required
def handover(order_id: int):
    """At pickup: the cash the page showed as owed is recorded and the order completed, in one step."""
    actor = require_login()
    found = services.get_order_or_404(actor, order_id)
    common.require_coordinator(actor, found)
    form = HandoverForm()
    back = safe_next(url_for("marketplace.order", order_id=found.id))
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return redirect(back)
    sent = {"amount": form.amount.data}
    try:
        retry = recorded.handover_retry(form.idempotency_key.data or None, sent)
        done = recorded.complete_at_handover(actor, found, inputs.handover_payment(sent).amount, retry=retry)
    except SHOWN_ERRORS as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(back)
    db.session.commit()
    flash(
        _("Cash received; order #%(id)d is %(status)s.", id=done.id, status=services.status_label(done.status)),
        "success",
    )
    return redirect(back)


@bp.route("/orders/<int:order_id>/payments/<int:payment_id>/slip")
@login_required
def payment_slip(order_id: int, payment_id: int):
    """A transfer slip photo, for the group's coordinator and treasurer only; never cached."""
    actor = require_login()
    folder, name = slips.slip_file(actor, services.get_order_or_404(actor, order_id), payment_id)
    response = send_from_directory(folder, name, mimetype="image/webp", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- paying a checkout by card ---------------------------------------------------------------


def card_part_page(template: str, *, amount: int, start_url: str, start_body: dict, checkout_id: int, **context):
    """A pay page for a part of what orders owe, such as a deposit (a job's, a pre-order's page): the card form
    (templates/payments/_card_form.html) when the gateway takes cards, else why not (503). It only reads; the
    form posts `start_body` to `start_url`, which starts or resumes the card payment, then confirms the card
    through the checkout's confirm endpoint."""
    card, problem, status = None, None, 200
    try:
        gateway = card_payments.card_provider()
    except card_payments.PaymentsNotConfigured as exc:
        problem, status = exc, exc.code
    else:
        card = {"amount": amount, **gateway.client_config()}
        allow_sources(**gateway.page_sources())
    confirm_url = url_for("payments_api.confirm_card_payment", checkout_id=checkout_id)
    page = render_template(
        template,
        card=card,
        problem=problem,
        start_url=start_url,
        start_body=start_body,
        confirm_url=confirm_url,
        **context,
    )
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"  # what is owed changes as the orders are paid
    return response


@bp.route("/checkouts/<int:checkout_id>/pay")
@login_required
def pay_by_card(checkout_id: int):
    """The card form for a checkout's open orders: Stripe.js collects the card and the payment is confirmed.

    The page only reads. Starting (or resuming) the checkout's card payment is a
    POST the form sends when the buyer pays (`POST /api/v1/checkouts/<id>/card-payment`,
    which resumes an open payment, so a second tap or a reload never makes a second
    charge), then the card is confirmed. The orders show as paid when the
    gateway's webhook arrives, not when the buyer's browser says so.
    """
    placed: Checkout = services.get_checkout_or_404(require_login(), checkout_id)
    card, problem, status = None, None, 200
    try:
        gateway = card_payments.card_gateway(placed)
    except SHOWN_ERRORS as exc:
        problem, status = exc, exc.code
    else:
        card = {"amount": card_owed(placed), **gateway.client_config()}
        allow_sources(**gateway.page_sources())
    found = groups_by_id(order.group_id for order in placed.orders)
    links = {order.id: whatsapp_link(order, found[order.group_id]) for order in placed.orders}
    response = make_response(
        render_template(
            "payments/pay.html",
            checkout=placed,
            card=card,
            problem=problem,
            groups=found,
            links=links,
            unconfigured=isinstance(problem, card_payments.PaymentsNotConfigured),
            owed=card_owed(placed),
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"  # what is owed changes as the orders are paid
    return response

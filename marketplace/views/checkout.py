"""Checking out: the cart placed as one checkout (one order per group), and the confirmation page.

How the buyer may pay, and paying by card after checkout, are payments' (marketplace.order_payments).
"""

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from accounts.services import require_login
from core.errors import AppError, ValidationFailed
from core.extensions import db
from core.idempotency import KEY_MAX_LENGTH
from core.pages import apply_errors
from inventory.services import InsufficientStock
from marketplace import cart as carts
from marketplace import services
from marketplace.forms import PAYMENT_CHOICES, CheckoutForm
from marketplace.models import Checkout, PaymentMethod
from marketplace.order_payments import order_payments
from marketplace.views.common import bp, groups_by_id, whatsapp_link

# --- checkout -------------------------------------------------------------------------


def _checkout_data(form: CheckoutForm, current) -> dict:
    return {
        "lines": carts.checkout_lines(current),
        "fulfilment": {
            "method": form.fulfilment_method.data,
            "date": form.date.data or None,
            "address": form.address.data or None,
            "note": form.note.data or None,
        },
        "payment_method": form.payment_method.data,
    }


CHECKOUT_FIELDS = {
    "fulfilment.method": "fulfilment_method",
    "fulfilment.date": "date",
    "fulfilment.address": "address",
    "fulfilment.note": "note",
    "payment_method": "payment_method",
    "fulfilment": "fulfilment_method",
}


def _line_errors(error: AppError, lines: list[dict]) -> dict[int, list[str]]:
    """A service's "lines.3.quantity" errors, keyed by the variant id of line 3."""
    found: dict[int, list[str]] = {}
    for key, messages in error.errors.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(lines):
            variant_id = lines[int(parts[1])]["variant_id"]
            found.setdefault(variant_id, []).extend(str(m) for m in messages)
    return found


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    form = CheckoutForm()
    form.payment_method.choices = [c for c in PAYMENT_CHOICES if order_payments().available(PaymentMethod(c.value))]
    posted = request.method == "POST" and form.validate_on_submit()
    if posted:
        key = (form.idempotency_key.data or "").strip()
        if key and len(key) <= KEY_MAX_LENGTH:
            done = services.find_checkout(current_user, key)
            if done is not None:  # the same form sent again (a double tap, a retry on a slow line)
                return _placed(done)
    current = carts.load()
    if request.method == "GET":
        if not current:
            flash(_("Your cart is empty. Add something from the catalog first."), "warning")
            return redirect(url_for("marketplace.cart"))
        form.idempotency_key.data = str(uuid.uuid4())
        form.date.data = services.first_fulfilment_day(entry.group for entry in current.groups).isoformat()
    shortfalls: dict[int, dict] = {}
    line_errors: dict[int, list[str]] = {}
    status = 200 if request.method == "GET" or posted else 400
    if status == 400 and "csrf_token" in form.errors:
        flash(_("Please try again."), "error")
    if posted:
        data = _checkout_data(form, current)
        try:
            if not current:
                raise ValidationFailed(_l("Your cart is empty. Add something from the catalog first."))
            placed, _created = services.place_checkout(
                current_user, **data, idempotency_key=form.idempotency_key.data or None
            )
        except InsufficientStock as exc:
            db.session.rollback()
            shortfalls = {int(s["variant_id"]): s for s in exc.shortfalls}
            flash(_("Not enough stock for some lines. Change them in your cart, then order again."), "error")
            status = 409
        except AppError as exc:
            db.session.rollback()
            status = exc.code
            if "Idempotency-Key" in exc.errors:  # a twin of this form won with another cart: start afresh
                flash(_("This form was already sent. Check your orders before ordering again."), "error")
                form.idempotency_key.data = str(uuid.uuid4())
            else:
                line_errors = _line_errors(exc, data["lines"])
                renamed = {CHECKOUT_FIELDS.get(k, k): v for k, v in exc.errors.items()}
                shown = AppError(exc.message, renamed)
                shown.code = exc.code
                apply_errors(form, shown)
        else:
            db.session.commit()
            return _placed(placed)
    return render_template(
        "marketplace/checkout.html", form=form, cart=current, shortfalls=shortfalls, line_errors=line_errors
    ), status


def _placed(placed: Checkout):
    """The answer to a checkout placed, the same to the form sent again with its key (a double tap, a retry):
    what it ordered leaves the cart, thanks, and on to its confirmation.

    A retry answered from the first checkout takes out only the variants that checkout ordered, so that what the
    buyer put in the cart since stays there.
    """
    carts.remove_all(line.variant_id for order in placed.orders for line in order.lines)
    flash(_("Thank you! Your order is placed."), "success")
    return redirect(url_for("marketplace.confirmation", checkout_id=placed.id))


@bp.route("/checkouts/<int:checkout_id>")
@login_required
def confirmation(checkout_id: int):
    placed: Checkout = services.get_checkout_or_404(require_login(), checkout_id)
    orders = list(placed.orders)
    found = groups_by_id(order.group_id for order in orders)
    # Where to transfer each order (a group's account only once the district admin has verified it).
    transfers = {
        order_id: money["payment_instructions"]
        for order_id, money in order_payments().details(orders, set()).items()
        if money["payment_instructions"] is not None and "account_verified" in money["payment_instructions"]
    }
    links = {order.id: whatsapp_link(order, found[order.group_id], transfers.get(order.id)) for order in orders}
    return render_template(
        "marketplace/confirmation.html",
        checkout=placed,
        groups=found,
        links=links,
        transfers=transfers,
        paying=order_payments().checkout_page(placed),
    )

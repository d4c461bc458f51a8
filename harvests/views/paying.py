"""The buyer pays her pre-order by card: the deposit the harvest asks, before the harvest, or the rest once it is
in (the card form of payments, posting to the pre-order's card payment in the API)."""

from flask import flash, redirect, request, url_for
from flask_login import login_required

from accounts.services import require_login
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from harvests import services
from harvests.models import Harvest
from harvests.services import paying
from harvests.views.common import bp
from marketplace.models import Order
from payments.views import card_part_page


@bp.route("/pre-orders/<int:pre_order_id>/pay")
@login_required
def pay_by_card(pre_order_id: int):
    """The card form for `?pay=deposit` (the default) or `?pay=all`; only the pre-order's buyer sees it (404)."""
    actor = require_login()
    row = services.get_pre_order_or_404(actor, pre_order_id)
    paying.require_buyer(actor, row)
    harvest = db.session.get(Harvest, row.harvest_id)
    order = db.session.get(Order, row.order_id)
    pay = request.args.get("pay", "deposit")
    try:
        parts = paying.card_parts(row, pay, harvest, order)
    except (Conflict, ValidationFailed) as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("harvests.my_pre_orders"))
    return card_part_page(
        "harvests/pay.html",
        amount=sum(parts.values()),
        start_url=url_for("harvests_api.start_card_payment", pre_order_id=row.id),
        start_body={"pay": pay},
        checkout_id=order.checkout_id,
        p=services.pre_order_view(row),
        h=services.harvest_view(harvest),
        pay=pay,
    )

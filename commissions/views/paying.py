"""The buyer pays her job by card: the deposit still unpaid, or after a delivery the rest (the card form of
payments, posting to the job's card payment in the API)."""

from flask import flash, request, url_for
from flask_login import login_required

from accounts.services import require_login
from commissions import services
from commissions.services import paying
from commissions.views.common import back_to_job, bp
from core.errors import Conflict, ValidationFailed
from payments.views import card_part_page


@bp.route("/commissions/<int:commission_id>/pay")
@login_required
def pay_by_card(commission_id: int):
    """The card form for `?pay=deposit` (the default) or `?pay=all`; only the job's buyer sees it (404)."""
    actor = require_login()
    commission = services.get_commission_or_404(actor, commission_id)
    paying.require_buyer(actor, commission)
    pay = request.args.get("pay", "deposit")
    try:
        parts = paying.card_parts(commission, pay)
    except (Conflict, ValidationFailed) as exc:
        flash(str(exc.message), "error")
        return back_to_job(commission, "deposit")
    return card_part_page(
        "commissions/pay.html",
        amount=sum(parts.values()),
        start_url=url_for("commissions_api.start_card_payment", commission_id=commission.id),
        start_body={"pay": pay},
        checkout_id=commission.checkout_id,
        commission=commission,
        pay=pay,
    )

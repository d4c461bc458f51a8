"""What payments adds to marketplace's order views: the `OrderPayments` it registers in init_app
(marketplace.order_payments).

The money keys of an order's JSON, the order page's payment section and money forms, the pay-by-card box on
a checkout's confirmation, the queue's handover buttons, and which ways buyers may pay now. Each piece of a
page is rendered here from templates/payments/ and placed by marketplace's template as it comes.
"""

from flask import render_template
from markupsafe import Markup

from marketplace import services
from marketplace.models import OPEN_STATUSES, Checkout, Order, OrderKind, OrderStatus, PaymentMethod
from marketplace.order_payments import OrderPaymentsPage
from payments.forms import HandoverForm, PaymentForm, RefundForm, new_key, reversal_form
from payments.providers import provider_for
from payments.services import details, recorded

NOTHING = Markup("")
CLOSED_UNSOLD = (OrderStatus.cancelled, OrderStatus.expired)


class PaymentsOfOrders:
    """marketplace.order_payments.OrderPayments, told by payments."""

    def available(self, method: PaymentMethod) -> bool:
        return provider_for(method).available()

    def details(self, orders: list[Order], insiders: set[int]) -> dict[int, dict]:
        return details.payment_details(orders, insiders)

    def details_of_placed(self, order: Order, group, insider: bool) -> dict:
        return details.order_money(order, group, insider)

    def order_page(self, order: Order, viewer, *, insider: bool, manages: bool, bound: dict) -> OrderPaymentsPage:
        money = details.payment_details([order], {order.group_id} if insider else set())[order.id]
        owed = money["owed"]
        # A job's or a pre-order's card money (the deposit, or the rest) is paid from its own page.
        pay_by_card = (
            order.buyer_id == viewer.id
            and order.status in OPEN_STATUSES
            and owed > 0
            and order.payment_method == PaymentMethod.card
            and order.kind == OrderKind.stock
        )
        section = render_template(
            "payments/_order_payment.html",
            order=order,
            money=money,
            insider=insider,
            pay_by_card=pay_by_card,
            closed=order.status in CLOSED_UNSOLD,  # cancelled or expired: nothing is owed, whatever the sums say
        )
        handover = NOTHING
        if manages and order.status == OrderStatus.ready and owed > 0:
            handover = _handover(order, owed)
        forms = NOTHING
        if insider:
            forms = _money_forms(order, money, bound)
        return OrderPaymentsPage(Markup(section), handover, forms)

    def card_pending(self, order: Order) -> bool:
        return recorded.card_pending(order)

    def checkout_page(self, checkout: Checkout) -> Markup:
        owed = card_owed(checkout)
        if not owed or any(order.kind != OrderKind.stock for order in checkout.orders):
            return NOTHING  # an order placed before its goods exist is not cancelled unpaid
        return Markup(render_template("payments/_checkout_card.html", checkout=checkout, owed=owed))

    def handover_forms(self, orders: list[Order], back: str) -> dict[int, Markup]:
        return {
            order.id: _handover(order, order.total - order.paid, back)
            for order in orders
            if order.status == OrderStatus.ready and order.total > order.paid
        }


def card_owed(checkout: Checkout) -> int:
    """What a card checkout's open orders still owe (0 for cash and transfer checkouts)."""
    if checkout.payment_method != PaymentMethod.card:
        return 0
    return sum(order.total - order.paid for order in checkout.orders if order.status in OPEN_STATUSES)


def _handover(order: Order, owed: int, back: str | None = None) -> Markup:
    """The button that takes the cash owed and completes the order (payments.views.handover)."""
    form = HandoverForm(formdata=None, amount=str(owed), idempotency_key=new_key(), next=back)
    return Markup(render_template("payments/_handover.html", order=order, owed=owed, form=form))


def _money_forms(order: Order, money: dict, bound: dict) -> Markup:
    """The forms of the group's coordinator and treasurer: record a payment, refund, correct a payment recorded
    by mistake. A form in `bound` (sent back with its errors) is shown as sent; the others fresh, each with a
    new idempotency key."""
    owed = money["owed"]
    card_paid = sum(p["amount"] for p in money["payments"] if p["method"] == "card") - sum(
        r["amount"] for r in money["refunds"] if r["method"] == "card"
    )
    payment = refund = None
    if owed > 0 and order.status in OPEN_STATUSES:
        payment = bound.get("payment") or PaymentForm(
            formdata=None,
            amount=str(owed),
            received_at=services.today_wib().isoformat(),
            idempotency_key=new_key(),
            method=order.payment_method.value if order.payment_method == PaymentMethod.transfer else "cash",
        )
    if order.paid > order.refunded:
        refund = bound.get("refund") or RefundForm(
            formdata=None, method="card" if card_paid > 0 else "cash", idempotency_key=new_key()
        )
    # One small form per payment the group may still reverse (cash or a transfer recorded by mistake).
    sent = bound.get("reversal")
    reversals = [
        (p, sent if sent is not None and sent.payment_id == p.id else reversal_form(p.id))
        for p in recorded.reversible_payments(order)
    ]
    if payment is None and refund is None and not reversals:
        return NOTHING
    return Markup(
        render_template(
            "payments/_order_forms.html",
            order=order,
            payment=payment,
            refund=refund,
            reversals=reversals,
            card_paid=card_paid,
        )
    )

"""The payment services act for the user they are given, not for whoever a request is from, and take typed
values: they run in a request no one is signed in to, and refuse anyone but the group's officers."""

import pytest

from accounts.models import User
from core import ledger
from core.errors import Forbidden, NotFound
from core.extensions import db
from marketplace.models import Checkout, Order, OrderStatus, PaymentMethod
from payments.services import card, recorded, refunds
from tests.payments.test_payments_api import new_order, ready_order
from tests.stock_helpers import acting


def user(person) -> User:
    return db.session.get(User, person.user.id)


def test_cash_a_refund_and_the_handover_for_the_user_given(app, client, market):
    paid_order, handed_over = new_order(client, market), ready_order(client, market)
    with acting(app):  # no one signed in
        treasurer, lead = user(market.treasurer), user(market.lead)
        order = db.session.get(Order, paid_order["id"])
        payment, created = recorded.record_payment(
            treasurer, order, recorded.OfflinePayment(PaymentMethod.transfer, 90000, reference="BRI 7")
        )
        refund, _ = refunds.refund_order(treasurer, order, refunds.RequestedRefund(10000, "Cabai layu"))
        done = recorded.complete_at_handover(lead, db.session.get(Order, handed_over["id"]), 90000)
        db.session.commit()

        assert created and (payment.recorded_by_id, refund.recorded_by_id) == (treasurer.id, treasurer.id)
        assert (refund.method, order.paid, order.refunded) == (PaymentMethod.cash, 90000, 10000)  # no card money
        assert (done.status, done.paid, done.events[-1].actor_id) == (OrderStatus.completed, 90000, lead.id)
        assert ledger.check_all() == []


def test_the_services_refuse_anyone_but_the_groups_officers(app, client, market):
    order_id = ready_order(client, market)["id"]
    with acting(app):
        order = db.session.get(Order, order_id)
        cash = recorded.OfflinePayment(PaymentMethod.cash, 1000)
        for person in (market.buyer, market.plain, market.jahit_lead):
            with pytest.raises(Forbidden):
                recorded.record_payment(user(person), order, cash)
        with pytest.raises(Forbidden):  # a treasurer records payments, but only the coordinator hands over
            recorded.complete_at_handover(user(market.treasurer), order, 90000)
        checkout = db.session.get(Checkout, order.checkout_id)
        with pytest.raises(NotFound):  # another's checkout is as unknown as a missing one
            card.start_card_payment(user(market.other_buyer), checkout)
        db.session.rollback()
        assert db.session.get(Order, order_id).paid == 0

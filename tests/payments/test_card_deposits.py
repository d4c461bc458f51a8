"""Deposits by card against localstripe: a made-to-order job's deposit (then the rest in cash at delivery), a
pre-order's deposit, a declined card, paying twice or at once, another buyer's job, and cancelling after a card
deposit (refunded through the gateway, or kept), the books balanced throughout."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import stripe
from sqlalchemy import select

from core.extensions import db
from marketplace.models import Order, PaymentMethod
from payments.models import CardPayment, CardPaymentStatus, Payment, Refund
from payments.services import deposits
from tests.books import assert_books_balance, stock_problems
from tests.commissions.helpers import line_of, ok, post, quote_job, request_job, uniforms
from tests.factories import assert_error
from tests.harvests.helpers import announce, pre_order, record
from tests.market import API, get_order
from tests.payments.test_stripe_payments import DECLINED_CARD, GOOD_CARD, card, rows, wait_for, webhooks  # noqa: F401

SMALL = {"S": (10, 70000), "M": (10, 72000)}  # Rp1.420.000, a 30 % deposit of Rp426.000
TOTAL, DEPOSIT = 1_420_000, 426_000


@pytest.fixture
def job(app, client, market):
    return uniforms(app, client, market)


def accepted(client, job, payment_method="card", **quote) -> dict:
    commission = request_job(client, job, sizes=SMALL)
    quoted = quote_job(client, job, commission, **quote)
    body = {"revision": quoted["quotes"][-1]["revision"], "payment_method": payment_method}
    return post(client, f"/commissions/{commission['id']}/accept", job.school, body, status=200)


def pay_job(client, who, commission_id, pay="deposit"):
    return post(client, f"/commissions/{commission_id}/card-payment", who, {"pay": pay})


def confirm(client, who, checkout_id, payment_method):
    return post(client, f"/checkouts/{checkout_id}/card-payment/confirm", who, {"payment_method": payment_method})


def paid_on(client, order_id, who, amount) -> dict:
    """The order once the webhook has recorded `amount` paid on it."""
    return wait_for(lambda: (o := get_order(client, order_id, who).json)["paid"] == amount and o)


def deliver_all(client, job, commission) -> dict:
    """Sari sews everything; the whole job is delivered (its order packed)."""
    for size, (pieces, _price) in SMALL.items():
        made = post(
            client,
            f"/commissions/{commission['id']}/assignments",
            job.lead,
            {"line_id": line_of(job, commission, size), "member_id": job.sari_id, "pieces": str(pieces)},
            status=201,
        )
        post(
            client,
            f"/commission-assignments/{made['id']}/pieces",
            job.lead,
            {"quantity": str(pieces)},
            key=f"{size}-all",
            status=201,
        )
    return post(client, f"/commissions/{commission['id']}/deliveries", job.lead, {}, status=201)


def test_a_job_deposit_by_card_then_the_rest_in_cash_at_delivery(app, client, market, job, webhooks):
    commission = accepted(client, job)
    [order] = commission["orders"]
    assert ok(client.get(f"{API}/orders/{order['id']}", headers=job.school.headers))["payment_method"] == "card"

    started = ok(pay_job(client, job.school, commission["id"]), 201)
    assert (started["amount"], started["orders"]) == (DEPOSIT, [{"order_id": order["id"], "amount": DEPOSIT}])
    intent = stripe.PaymentIntent.retrieve(started["client_secret"].split("_secret_")[0])
    assert intent.amount == DEPOSIT * 100
    assert ok(confirm(client, job.school, started["checkout_id"], card(GOOD_CARD)))["status"] == "succeeded"

    shown = paid_on(client, order["id"], job.school, DEPOSIT)
    assert (shown["payment_status"], shown["owed"], shown["status"]) == ("partial", TOTAL - DEPOSIT, "confirmed")
    assert [(p["method"], p["amount"]) for p in shown["payments"]] == [("card", DEPOSIT)]
    view = ok(client.get(f"{API}/commissions/{commission['id']}", headers=job.school.headers))
    assert view["deposit"]["paid"] == DEPOSIT
    assert_error(pay_job(client, job.school, commission["id"]), 409)  # the deposit is paid

    delivered = deliver_all(client, job, commission)
    assert delivered["order"]["status"] == "ready"
    done = post(
        client, f"/orders/{order['id']}/complete", job.lead, {"payment": {"amount": TOTAL - DEPOSIT}}, status=200
    )
    assert (done["status"], done["paid"], done["payment_status"]) == ("completed", TOTAL, "paid")
    assert sorted((p["method"], p["amount"]) for p in done["payments"]) == [
        ("card", DEPOSIT),
        ("cash", TOTAL - DEPOSIT),
    ]
    assert ok(client.get(f"{API}/commissions/{commission['id']}", headers=job.school.headers))["status"] == "completed"
    assert_books_balance(app)
    assert stock_problems(app) == []


def test_after_a_delivery_the_rest_is_paid_by_card_too(app, client, market, job, webhooks):
    commission = accepted(client, job, payment_method="transfer")
    [order] = commission["orders"]
    post(client, f"/orders/{order['id']}/payments", job.lead, {"method": "transfer", "amount": DEPOSIT}, status=201)
    deliver_all(client, job, commission)

    started = ok(pay_job(client, job.school, commission["id"], "all"), 201)
    assert started["amount"] == TOTAL - DEPOSIT
    assert ok(confirm(client, job.school, started["checkout_id"], card(GOOD_CARD)))["status"] == "succeeded"
    assert paid_on(client, order["id"], job.school, TOTAL)["payment_status"] == "paid"
    assert_error(pay_job(client, job.school, commission["id"], "all"), 409)
    assert ok(client.post(f"{API}/orders/{order['id']}/complete", headers=job.lead.headers))["status"] == "completed"
    assert_books_balance(app)


def test_a_declined_card_leaves_the_deposit_unpaid(app, client, market, job, webhooks):
    commission = accepted(client, job)
    started = ok(pay_job(client, job.school, commission["id"]), 201)

    assert_error(confirm(client, job.school, started["checkout_id"], card(DECLINED_CARD)), 402)

    order = get_order(client, commission["orders"][0]["id"], job.school).json
    assert (order["paid"], order["payment_status"], order["payments"]) == (0, "unpaid", [])
    assert rows(app, Payment) == 0
    again = ok(pay_job(client, job.school, commission["id"]), 201)  # a new attempt for another card
    assert again["client_secret"] != started["client_secret"] and again["amount"] == DEPOSIT
    assert_books_balance(app)


def test_paying_the_deposit_twice_or_at_once_pays_it_once(app, client, market, job, webhooks):
    commission = accepted(client, job)
    path = f"{webhooks}{API}/commissions/{commission['id']}/card-payment"

    def start(_):
        return requests.post(path, json={"pay": "deposit"}, headers=job.school.headers, timeout=30)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(start, range(4)))
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.json()["client_secret"] for a in answers}) == 1
    assert rows(app, CardPayment) == 1
    again = ok(pay_job(client, job.school, commission["id"]), 201)
    assert again["client_secret"] == answers[0].json()["client_secret"]

    assert ok(confirm(client, job.school, again["checkout_id"], card(GOOD_CARD)))["status"] == "succeeded"
    order_id = commission["orders"][0]["id"]
    paid_on(client, order_id, job.school, DEPOSIT)
    assert_error(pay_job(client, job.school, commission["id"]), 409)
    assert get_order(client, order_id, job.school).json["paid"] == DEPOSIT
    assert_books_balance(app)


def test_only_the_buyer_pays_her_job_by_card(app, client, market, job, stripe_on):
    commission = accepted(client, job)
    cid = commission["id"]
    nothing = accepted(client, job, percent="0")
    assert_error(pay_job(client, job.school, nothing["id"]), 409)  # no deposit asked
    assert_error(pay_job(client, market.other_buyer, cid), 404)
    assert_error(pay_job(client, job.lead, cid), 404)  # the group's coordinator does not pay it
    assert_error(client.post(f"{API}/commissions/{cid}/card-payment", json={"pay": "deposit"}), 401)
    for bad in ({}, {"pay": "half"}, {"pay": 1}, {"pay": None}):
        assert_error(post(client, f"/commissions/{cid}/card-payment", job.school, bad), 422)
    app.config["STRIPE_SECRET_KEY"] = None
    assert_error(pay_job(client, job.school, cid), 503)
    assert rows(app, CardPayment) == 0


def _refunds(app) -> list[tuple]:
    with app.app_context():
        return [
            (r.order_id, r.method.value, r.amount, bool(r.processor_refund_id))
            for r in db.session.scalars(select(Refund).order_by(Refund.id))
        ]


def test_cancelling_refunds_a_card_deposit_through_the_gateway(app, client, market, job, webhooks):
    commission = accepted(client, job)
    order_id = commission["orders"][0]["id"]
    started = ok(pay_job(client, job.school, commission["id"]), 201)
    confirm(client, job.school, started["checkout_id"], card(GOOD_CARD))
    paid_on(client, order_id, job.school, DEPOSIT)
    # More paid in cash before the work is done: it goes back in cash, the card money through the gateway.
    post(client, f"/orders/{order_id}/payments", job.lead, {"method": "cash", "amount": 100_000}, status=201)
    assert_error(post(client, f"/commissions/{commission['id']}/cancel", job.school, {}), 409)  # money is paid

    post(client, f"/commissions/{commission['id']}/cancel", job.lead, {"note": "Sekolah batal"}, status=200)

    assert _refunds(app) == [(order_id, "card", DEPOSIT, True), (order_id, "cash", 100_000, False)]
    with app.app_context():
        refund_id = db.session.scalar(select(Refund.processor_refund_id).where(Refund.method == PaymentMethod.card))
    assert stripe.Refund.retrieve(refund_id).amount == DEPOSIT * 100
    order = get_order(client, order_id, job.school).json
    assert (order["status"], order["refunded"], order["payment_status"]) == ("cancelled", DEPOSIT + 100_000, "refunded")
    assert_books_balance(app)


def test_cancelling_keeps_a_card_deposit_when_the_quote_said_so(app, client, market, job, webhooks):
    commission = accepted(client, job, on_cancel="keep")
    order_id = commission["orders"][0]["id"]
    started = ok(pay_job(client, job.school, commission["id"]), 201)
    confirm(client, job.school, started["checkout_id"], card(GOOD_CARD))
    paid_on(client, order_id, job.school, DEPOSIT)
    post(client, f"/orders/{order_id}/payments", job.lead, {"method": "cash", "amount": 50_000}, status=201)

    post(client, f"/commissions/{commission['id']}/cancel", job.lead, {}, status=200)

    # The deposit, paid first by card, is kept; the cash paid after it goes back in cash, not to the card.
    assert _refunds(app) == [(order_id, "cash", 50_000, False)]
    with app.app_context():
        assert deposits.kept_on(order_id) == DEPOSIT
        assert db.session.get(Order, order_id).paid == DEPOSIT + 50_000
    assert_books_balance(app)


def test_a_pre_order_deposit_by_card_and_its_refund_when_cancelled(app, client, market, webhooks):
    harvest = announce(client, market, deposit_percent="20", unit_price=40000)
    made = pre_order(client, harvest, market.buyer, "2", payment_method="card")  # Rp80.000, a deposit of Rp16.000
    cash = pre_order(client, harvest, market.other_buyer, "1")
    assert made["deposit"] == 16_000

    path = f"/pre-orders/{made['id']}/card-payment"
    assert_error(post(client, path, market.other_buyer, {"pay": "deposit"}), 404)
    assert_error(post(client, path, market.lead, {"pay": "deposit"}), 404)
    started = ok(post(client, path, market.buyer, {"pay": "deposit"}), 201)
    assert (started["amount"], started["orders"]) == (16_000, [{"order_id": made["order_id"], "amount": 16_000}])
    assert ok(confirm(client, market.buyer, started["checkout_id"], card(GOOD_CARD)))["status"] == "succeeded"
    order = paid_on(client, made["order_id"], market.buyer, 16_000)
    assert (order["payment_status"], order["status"]) == ("partial", "confirmed")
    assert_error(post(client, path, market.buyer, {"pay": "deposit"}), 409)
    # A cash pre-order pays its deposit by card as well.
    other = ok(post(client, f"/pre-orders/{cash['id']}/card-payment", market.other_buyer, {"pay": "deposit"}), 201)
    assert other["amount"] == 8_000

    cancelled = post(client, f"/pre-orders/{made['id']}/cancel", market.lead, {}, status=200)
    assert (cancelled["status"], cancelled["refunded"]) == ("cancelled", 16_000)
    assert _refunds(app) == [(made["order_id"], "card", 16_000, True)]
    assert_books_balance(app)
    with app.app_context():
        assert db.session.scalar(select(CardPayment.status).where(CardPayment.amount == 16_000)) == (
            CardPaymentStatus.succeeded
        )


def test_a_harvest_without_a_deposit_asks_none_by_card(app, client, market, stripe_on):
    harvest = announce(client, market)
    made = pre_order(client, harvest, market.buyer, "1", payment_method="card")
    assert_error(post(client, f"/pre-orders/{made['id']}/card-payment", market.buyer, {"pay": "deposit"}), 409)
    assert rows(app, CardPayment) == 0


def test_a_deposit_page_left_unconfirmed_holds_no_delivery_up(app, client, market, job, webhooks):
    commission = accepted(client, job)
    started = ok(pay_job(client, job.school, commission["id"]), 201)  # the buyer opened the card form, then left
    made = post(
        client,
        f"/commissions/{commission['id']}/assignments",
        job.lead,
        {"line_id": line_of(job, commission, "S"), "member_id": job.sari_id, "pieces": "10"},
        status=201,
    )
    post(client, f"/commission-assignments/{made['id']}/pieces", job.lead, {"quantity": "10"}, key="s", status=201)

    delivered = post(client, f"/commissions/{commission['id']}/deliveries", job.lead, {}, status=201)

    assert delivered["order"]["total"] == 700_000 and len(delivered["commission"]["orders"]) == 2
    with app.app_context():
        assert db.session.scalar(select(CardPayment.status)) == CardPaymentStatus.canceled
    assert stripe.PaymentIntent.retrieve(started["client_secret"].split("_secret_")[0]).status == "canceled"
    assert_error(confirm(client, job.school, started["checkout_id"], card(GOOD_CARD)), 409)  # start again
    again = ok(pay_job(client, job.school, commission["id"]), 201)
    assert again["amount"] == DEPOSIT and len(again["orders"]) == 1  # the deposit, on the earlier order first
    assert ok(confirm(client, job.school, again["checkout_id"], card(GOOD_CARD)))["status"] == "succeeded"
    paid_on(client, again["orders"][0]["order_id"], job.school, DEPOSIT)
    assert_books_balance(app)
    assert stock_problems(app) == []


def test_a_pre_order_that_gets_nothing_has_its_card_deposit_given_back_through_the_gateway(
    app, client, market, webhooks
):
    harvest = announce(client, market, deposit_percent="20", unit_price=40000, shortfall_rule="first_come")
    first = pre_order(client, harvest, market.other_buyer, "3", payment_method="cash")
    late = pre_order(client, harvest, market.buyer, "2", payment_method="card")
    started = ok(post(client, f"/pre-orders/{late['id']}/card-payment", market.buyer, {"pay": "deposit"}), 201)
    confirm(client, market.buyer, started["checkout_id"], card(GOOD_CARD))
    paid_on(client, late["order_id"], market.buyer, 16_000)

    record(client, market, harvest, [(market.siti, "3")], key="panen")  # enough for the first only

    order = get_order(client, late["order_id"], market.buyer).json
    assert (order["status"], order["refunded"], order["payment_status"]) == ("cancelled", 16_000, "refunded")
    assert _refunds(app) == [(late["order_id"], "card", 16_000, True)]
    assert get_order(client, first["order_id"], market.other_buyer).json["status"] == "confirmed"
    assert_books_balance(app)
    assert stock_problems(app) == []

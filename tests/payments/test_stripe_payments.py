"""Card payments against a real fake Stripe: localstripe on loopback, its signed webhooks to the app over HTTP.

A card payment confirmed at localstripe reaches the app only through the signed
`payment_intent.succeeded` webhook; forged or missing signatures change nothing;
the same event twice (and twice at once on PostgreSQL) makes one payment; refunds
reach localstripe with the amount x 100.
"""

import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import stripe
from sqlalchemy import func, select

from core import ledger
from core.extensions import db
from core.types import utcnow
from marketplace.models import Order
from marketplace.services import expire_orders
from payments.models import CardPayment, CardPaymentStatus, Payment, ProcessorEvent, Refund
from payments.services import common, refunds
from payments.services import webhooks as gateway_events
from tests.books import ledger_problems, stock_problems
from tests.conftest import PK, SECRET
from tests.factories import assert_error
from tests.live_server import serving
from tests.localstripe_server import register_webhook
from tests.market import API, body_of, get_order, placed

GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000341"


@pytest.fixture
def webhooks(app, db, stripe_on):
    """The app served over HTTP, registered at localstripe as its webhook endpoint."""
    with serving(app) as (host, port):
        url = f"http://{host}:{port}"
        register_webhook(
            stripe_on,
            f"{url}{API}/stripe/webhook",
            SECRET,
            events=["payment_intent.succeeded", "payment_intent.payment_failed"],
        )
        yield url


def card_checkout(client, market, *lines):
    lines = lines or ((market.cabai_a, "1"), (market.daster, "1"))
    return placed(client, market.buyer, body_of(*lines, payment="card"))


def start(client, market, checkout_id, who=None):
    return client.post(f"{API}/checkouts/{checkout_id}/card-payment", headers=(who or market.buyer).headers)


def card(number: str) -> str:
    return stripe.PaymentMethod.create(
        type="card", card={"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    ).id


def confirm(client, market, checkout_id, payment_method):
    return client.post(
        f"{API}/checkouts/{checkout_id}/card-payment/confirm",
        headers=market.buyer.headers,
        json={"payment_method": payment_method},
    )


def wait_for(predicate, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("gave up waiting")


def rows(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def signed(event: dict, secret: str = SECRET, at: int | None = None) -> tuple[bytes, dict]:
    payload = json.dumps(event).encode()
    at = at or int(time.time())
    signature = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={at},v1={signature}", "Content-Type": "application/json"}


def event_for(intent: dict, kind: str = "payment_intent.succeeded", event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{time.monotonic_ns()}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2017-08-15",
        "data": {"object": intent},
    }


def paid_intent(client, market, checkout_id) -> dict:
    """Pay at localstripe directly (no webhook endpoint listening): the succeeded PaymentIntent as a dict."""
    answer = start(client, market, checkout_id).json
    intent_id = answer["client_secret"].split("_secret_")[0]
    stripe.PaymentIntent.modify(intent_id, payment_method=card(GOOD_CARD))
    return stripe.PaymentIntent.confirm(intent_id).to_dict()


def post_webhook(client, payload: bytes, headers: dict):
    return client.post(f"{API}/stripe/webhook", data=payload, headers=headers)


# --- the whole card flow ------------------------------------------------------------------------


def test_card_payment_confirmed_at_localstripe_marks_the_orders_paid_by_its_signed_webhook(
    app, client, market, webhooks
):
    checkout = card_checkout(client, market)
    answer = start(client, market, checkout["id"])
    assert answer.status_code == 201, answer.json
    assert answer.json["amount"] == checkout["total"] and answer.json["publishable_key"] == PK
    assert answer.json["js_url"] == f"{app.config['STRIPE_API_BASE']}/js.stripe.com/v3/"
    assert sorted(p["amount"] for p in answer.json["orders"]) == sorted(o["total"] for o in checkout["orders"])
    intent = stripe.PaymentIntent.retrieve(answer.json["client_secret"].split("_secret_")[0])
    assert (intent.amount, intent.currency) == (checkout["total"] * 100, "idr")  # rupiah x 100 at the boundary
    assert intent.metadata["checkout_id"] == str(checkout["id"])
    assert intent.metadata["order_ids"] == ",".join(str(o["id"]) for o in checkout["orders"])

    confirmed = confirm(client, market, checkout["id"], card(GOOD_CARD))
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["status"] == "succeeded"

    for placed_order in checkout["orders"]:
        order = wait_for(
            lambda placed_order=placed_order: (
                (o := get_order(client, placed_order["id"], market.buyer).json)["payment_status"] == "paid" and o
            )
        )
        assert (order["paid"], order["owed"]) == (placed_order["total"], 0)
        assert [(p["method"], p["amount"]) for p in order["payments"]] == [("card", placed_order["total"])]
    assert rows(app, ProcessorEvent, ProcessorEvent.outcome == "paid") == 1
    assert ledger_problems(app) == []
    with app.app_context():
        assert (
            ledger.balance(market.tani.id, ledger.CARD) + ledger.balance(market.tani.id, ledger.CARD_FEES)
            == checkout["orders"][1 if checkout["orders"][0]["group_id"] != market.tani.id else 0]["total"]
        )


def test_a_paid_card_order_can_be_completed_and_does_not_expire(app, client, market, webhooks):
    checkout = card_checkout(client, market, (market.cabai_a, "1"))
    order_id = checkout["orders"][0]["id"]
    start(client, market, checkout["id"])
    confirm(client, market, checkout["id"], card(GOOD_CARD))
    wait_for(lambda: get_order(client, order_id, market.buyer).json["payment_status"] == "paid")
    with app.app_context():
        assert expire_orders(utcnow() + timedelta(days=1)) == 0
        db.session.rollback()
    for action in ("confirm", "ready", "complete"):
        response = client.post(f"{API}/orders/{order_id}/{action}", headers=market.lead.headers)
        assert response.status_code == 200, response.json
    assert response.json["status"] == "completed"


def test_a_declined_card_leaves_the_orders_unpaid_and_a_new_attempt_can_follow(app, client, market, webhooks):
    checkout = card_checkout(client, market)
    first = start(client, market, checkout["id"]).json

    assert_error(confirm(client, market, checkout["id"], card(DECLINED_CARD)), 402)

    wait_for(lambda: rows(app, ProcessorEvent, ProcessorEvent.type == "payment_intent.payment_failed") == 1)
    for placed_order in checkout["orders"]:
        order = get_order(client, placed_order["id"], market.buyer).json
        assert (order["payment_status"], order["paid"], order["payments"]) == ("unpaid", 0, [])
    assert rows(app, Payment) == 0
    with app.app_context():
        assert db.session.scalar(select(CardPayment.status)) == CardPaymentStatus.failed
    second = start(client, market, checkout["id"])
    assert second.status_code == 201 and second.json["client_secret"] != first["client_secret"]
    assert confirm(client, market, checkout["id"], card(GOOD_CARD)).json["status"] == "succeeded"
    wait_for(lambda: get_order(client, checkout["orders"][0]["id"], market.buyer).json["payment_status"] == "paid")
    assert ledger_problems(app) == []


def test_starting_again_resumes_the_open_payment(app, client, market, stripe_on):
    checkout = card_checkout(client, market)
    first = start(client, market, checkout["id"])
    again = start(client, market, checkout["id"])
    assert first.status_code == again.status_code == 201
    assert again.json["client_secret"] == first.json["client_secret"]
    assert rows(app, CardPayment) == 1


def test_card_payment_is_refused_for_a_cash_checkout_someone_elses_or_when_not_configured(
    app, client, market, stripe_on
):
    cash = placed(client, market.buyer, body_of((market.cabai_a, "1"), payment="cash"))
    assert_error(start(client, market, cash["id"]), 409, "payment_method")
    checkout = card_checkout(client, market)
    assert_error(start(client, market, checkout["id"], who=market.other_buyer), 404)
    assert_error(client.post(f"{API}/checkouts/{checkout['id']}/card-payment"), 401)
    app.config["STRIPE_SECRET_KEY"] = None
    assert_error(start(client, market, checkout["id"]), 503)
    assert rows(app, CardPayment) == 0


def test_confirm_refuses_a_bad_payment_method_and_a_checkout_without_an_open_payment(app, client, market, stripe_on):
    checkout = card_checkout(client, market)
    assert_error(confirm(client, market, checkout["id"], card(GOOD_CARD)), 409)
    start(client, market, checkout["id"])
    for bad in (None, 12, "", "tok\u0000", "x" * 300, "pm_\u0661", "javascript:alert(1)"):
        assert_error(confirm(client, market, checkout["id"], bad), 422, "payment_method")
    assert rows(app, Payment) == 0


# --- the webhook ---------------------------------------------------------------------------------


def test_a_forged_or_missing_signature_is_400_and_changes_nothing(app, client, market, stripe_on):
    checkout = card_checkout(client, market)
    intent = paid_intent(client, market, checkout["id"])
    payload, headers = signed(event_for(intent), secret="whsec_someone_else")

    assert_error(post_webhook(client, payload, headers), 400)
    assert_error(post_webhook(client, payload, {"Content-Type": "application/json"}), 400)
    _, good = signed(event_for(intent))
    tampered = payload.replace(str(intent["amount"]).encode(), b"1")
    assert_error(post_webhook(client, tampered, good), 400)
    assert_error(post_webhook(client, b"not json", signed({"x": 1})[1]), 400)
    stale_payload, stale = signed(event_for(intent), at=int(time.time()) - 3600)
    assert_error(post_webhook(client, stale_payload, stale), 400)

    assert rows(app, Payment) == rows(app, ProcessorEvent) == 0
    assert get_order(client, checkout["orders"][0]["id"], market.buyer).json["payment_status"] == "unpaid"


def test_the_same_event_twice_makes_one_payment(app, client, market, stripe_on):
    checkout = card_checkout(client, market)
    payload, headers = signed(event_for(paid_intent(client, market, checkout["id"]), event_id="evt_twice"))

    first, second = post_webhook(client, payload, headers), post_webhook(client, payload, headers)

    assert (first.status_code, first.json["outcome"]) == (200, "paid")
    assert (second.status_code, second.json["outcome"]) == (200, "replay")
    assert rows(app, Payment) == len(checkout["orders"])
    assert rows(app, ProcessorEvent) == 1
    assert ledger_problems(app) == []


def test_the_same_event_twice_at_once_makes_one_payment(app, client, market, stripe_on, webhooks):
    checkout = card_checkout(client, market)
    register_webhook(stripe_on, "http://127.0.0.1:9/nowhere", SECRET)  # only our own deliveries in this test
    payload, headers = signed(event_for(paid_intent(client, market, checkout["id"]), event_id="evt_race"))
    barrier = threading.Barrier(6)

    def deliver(_):
        barrier.wait()
        return requests.post(f"{webhooks}{API}/stripe/webhook", data=payload, headers=headers, timeout=30)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(deliver, range(6)))

    assert [a.status_code for a in answers] == [200] * 6
    assert sorted(a.json()["outcome"] for a in answers) == ["paid"] + ["replay"] * 5
    assert rows(app, Payment) == len(checkout["orders"])
    assert ledger_problems(app) == []


def test_events_out_of_order_a_failure_after_success_changes_nothing(app, client, market, stripe_on):
    checkout = card_checkout(client, market)
    intent = paid_intent(client, market, checkout["id"])
    post_webhook(client, *signed(event_for(intent)))
    failed = dict(
        intent, status="requires_payment_method", last_payment_error={"code": "card_declined", "message": "declined"}
    )

    answer = post_webhook(client, *signed(event_for(failed, "payment_intent.payment_failed")))

    assert (answer.status_code, answer.json["outcome"]) == (200, "ignored")
    with app.app_context():
        assert db.session.scalar(select(CardPayment.status)) == CardPaymentStatus.succeeded
    assert all(get_order(client, o["id"], market.buyer).json["payment_status"] == "paid" for o in checkout["orders"])


def test_an_amount_or_currency_that_differs_from_the_checkout_is_not_recorded(app, client, market, stripe_on):
    checkout = card_checkout(client, market)
    intent = paid_intent(client, market, checkout["id"])
    for changed in (
        dict(intent, amount=intent["amount"] - 100),
        dict(intent, currency="usd"),
        dict(intent, amount=intent["amount"] + 1),
    ):
        answer = post_webhook(client, *signed(event_for(changed)))
        assert (answer.status_code, answer.json["outcome"]) == (200, "amount_mismatch")
    assert rows(app, Payment) == 0
    assert get_order(client, checkout["orders"][0]["id"], market.buyer).json["payment_status"] == "unpaid"


def test_an_event_for_an_unknown_payment_intent_is_logged_and_answered_200(app, client, market, stripe_on, caplog):
    intent = {
        "id": "pi_not_ours",
        "object": "payment_intent",
        "amount": 100000,
        "currency": "idr",
        "status": "succeeded",
        "metadata": {},
    }
    answer = post_webhook(client, *signed(event_for(intent)))
    assert (answer.status_code, answer.json["outcome"]) == (200, "unknown_payment")
    assert "pi_not_ours" in caplog.text
    other = post_webhook(client, *signed(event_for({"id": "ch_1", "object": "charge"}, "charge.succeeded")))
    assert (other.status_code, other.json["outcome"]) == (200, "ignored")
    assert rows(app, Payment) == 0


# --- refunds -------------------------------------------------------------------------------------


def test_a_partial_card_refund_reaches_localstripe_with_the_amount_times_100(app, client, market, stripe_on):
    checkout = card_checkout(client, market, (market.cabai_a, "1"))
    intent = paid_intent(client, market, checkout["id"])
    post_webhook(client, *signed(event_for(intent)))
    order_id = checkout["orders"][0]["id"]

    answer = client.post(
        f"{API}/orders/{order_id}/refunds",
        headers=market.lead.headers,
        json={"amount": 10000, "reason": "Cabai sebagian busuk"},
    )

    assert answer.status_code == 201, answer.json
    assert answer.json["method"] == "card" and answer.json["processor_refund_id"].startswith("re_")
    at_stripe = stripe.Refund.retrieve(answer.json["processor_refund_id"])
    assert (at_stripe.amount, at_stripe.payment_intent) == (1_000_000, intent["id"])
    order = answer.json["order"]
    assert (order["refunded"], order["payment_status"]) == (10000, "partially_refunded")
    assert ledger_problems(app) == []


def test_a_refund_above_what_was_paid_is_refused_and_reaches_nobody(app, client, market, stripe_on):
    checkout = card_checkout(client, market, (market.cabai_a, "1"))
    intent = paid_intent(client, market, checkout["id"])
    post_webhook(client, *signed(event_for(intent)))
    order = checkout["orders"][0]

    answer = client.post(
        f"{API}/orders/{order['id']}/refunds",
        headers=market.lead.headers,
        json={"amount": order["total"] + 1, "reason": "Terlalu banyak"},
    )

    assert_error(answer, 409, "amount")
    assert stripe.Refund.list(payment_intent=intent["id"]).data == []
    assert rows(app, Refund) == 0


def test_the_card_fee_is_spread_over_the_orders_and_booked(app, client, market, stripe_on, monkeypatch):
    """localstripe reports a fee of 0; Stripe's real fee (or the estimate) must land exactly on the orders."""
    from payments.providers import PROVIDERS, estimated_fee

    monkeypatch.setattr(PROVIDERS["card"], "fee", lambda _intent_id, amount: (estimated_fee(amount), True))
    checkout = card_checkout(client, market)
    intent = paid_intent(client, market, checkout["id"])
    post_webhook(client, *signed(event_for(intent)))

    with app.app_context():
        expected = estimated_fee(checkout["total"])  # 2.9 % + Rp2.000, rounded half up
        assert expected == round(checkout["total"] * 29 / 1000) + 2000
        orders = db.session.scalars(select(Order).order_by(Order.id)).all()
        assert sum(o.card_fees for o in orders) == expected
        weights = [o.total for o in orders]
        assert [o.card_fees for o in orders] == common.spread(expected, weights)
        for order in orders:
            assert ledger.balance(order.group_id, ledger.CARD_FEES) == order.card_fees
            assert ledger.balance(order.group_id, ledger.CARD) == order.total - order.card_fees
            assert ledger.balance(order.group_id, ledger.PAYMENTS_CLEARING) == -order.total
    lead_view = get_order(client, checkout["orders"][0]["id"], market.lead).json
    buyer_view = get_order(client, checkout["orders"][0]["id"], market.buyer).json
    assert lead_view["card_fees"] > 0 and buyer_view["card_fees"] is None
    assert buyer_view["payments"][0]["fee"] is None
    assert ledger_problems(app) == []


# --- corrections -----------------------------------------------------------------------------------


def test_a_mistaken_cash_payment_is_corrected_by_a_reversal_not_edited(app, client, market):
    order = placed(client, market.buyer, body_of((market.cabai_a, "1")))["orders"][0]
    wrong = client.post(
        f"{API}/orders/{order['id']}/payments",
        headers=market.treasurer.headers,
        json={"method": "cash", "amount": 20000, "reference": "salah catat"},
    ).json
    url = f"{API}/orders/{order['id']}/payments/{wrong['id']}/reversal"

    assert_error(client.post(url, headers=market.treasurer.headers, json={}), 422, "reason")
    assert_error(client.post(url, headers=market.buyer.headers, json={"reason": "x"}), 403)
    corrected = client.post(url, headers=market.treasurer.headers, json={"reason": "Salah nominal"})

    assert corrected.status_code == 201, corrected.json
    view = corrected.json["order"]
    assert (view["paid"], view["payment_status"]) == (0, "unpaid")
    assert [(p["amount"], p["reverses_id"]) for p in view["payments"]] == [(20000, None), (-20000, wrong["id"])]
    assert_error(client.post(url, headers=market.treasurer.headers, json={"reason": "lagi"}), 409)
    assert_error(
        client.post(
            f"{API}/orders/{order['id']}/payments/{corrected.json['id']}/reversal",
            headers=market.treasurer.headers,
            json={"reason": "lagi"},
        ),
        409,
    )
    assert_error(
        client.post(
            f"{API}/orders/{order['id']}/payments/999999/reversal",
            headers=market.treasurer.headers,
            json={"reason": "x"},
        ),
        404,
    )
    with app.app_context():
        assert ledger.balance(market.tani.id, ledger.CASH) == 0
        assert ledger.balance(market.tani.id, ledger.PAYMENTS_CLEARING) == 0
        reversal = db.session.scalar(select(ledger.JournalEntry).where(ledger.JournalEntry.kind == "reversal"))
        assert reversal.reverses_id is not None
    assert ledger_problems(app) == []


# --- refunds made at Stripe, outside the app ---------------------------------------------------


def charge_of(intent: dict) -> dict:
    charge = intent["latest_charge"]
    return stripe.Charge.retrieve(charge if isinstance(charge, str) else charge["id"]).to_dict()


def refunded_event(intent: dict, event_id: str | None = None) -> tuple[bytes, dict]:
    """A signed `charge.refunded` event as Stripe sends it (localstripe does not send this one)."""
    return signed(event_for(dict(charge_of(intent), refunded=True), "charge.refunded", event_id))


def refund_at_stripe(intent: dict, rupiah: int) -> str:
    """A refund made in the Stripe dashboard: straight at the gateway, no metadata of ours."""
    return stripe.Refund.create(payment_intent=intent["id"], amount=rupiah * 100).id


def paid_checkout(client, market, *lines) -> tuple[dict, dict]:
    checkout = card_checkout(client, market, *lines)
    intent = paid_intent(client, market, checkout["id"])
    assert post_webhook(client, *signed(event_for(intent))).json["outcome"] == "paid"
    return checkout, intent


def refunds_of(app) -> list[tuple[int, int, str | None]]:
    with app.app_context():
        return [
            (r.order_id, r.amount, r.processor_refund_id)
            for r in db.session.scalars(select(Refund).order_by(Refund.order_id, Refund.id))
        ]


def test_a_dashboard_refund_is_spread_over_the_orders_as_the_payment_was_and_booked(app, client, market, stripe_on):
    checkout, intent = paid_checkout(client, market)
    totals = {o["id"]: o["total"] for o in checkout["orders"]}
    refund_id = refund_at_stripe(intent, 50001)
    payload, headers = refunded_event(intent, "evt_dashboard_refund")

    answer = post_webhook(client, payload, headers)

    assert (answer.status_code, answer.json["outcome"]) == (200, "refunded")
    ids = sorted(totals)
    expected = common.spread(50001, [totals[i] for i in ids])
    assert refunds_of(app) == [(i, part, refund_id) for i, part in zip(ids, expected)]
    for order_id in ids:
        view = get_order(client, order_id, market.buyer).json
        assert view["refunded"] == dict(zip(ids, expected))[order_id]
        assert view["payment_status"] == "partially_refunded"
        assert view["refunds"][0]["method"] == "card" and refund_id in view["refunds"][0]["reason"]
    with app.app_context():
        for order_id, part in zip(ids, expected):
            group_id = db.session.get(Order, order_id).group_id
            assert ledger.balance(group_id, ledger.REFUNDS) == part
    assert ledger_problems(app) == []

    assert post_webhook(client, payload, headers).json["outcome"] == "replay"
    again = post_webhook(client, *refunded_event(intent))  # another event for the same refund: nothing new
    assert again.json["outcome"] == "no_new_refund"
    assert len(refunds_of(app)) == 2


def test_a_refund_the_app_made_is_not_recorded_again_when_stripe_reports_it(app, client, market, stripe_on):
    checkout, intent = paid_checkout(client, market, (market.cabai_a, "1"))
    order_id = checkout["orders"][0]["id"]
    made = client.post(
        f"{API}/orders/{order_id}/refunds",
        headers=market.lead.headers,
        json={"amount": 10000, "reason": "Cabai sebagian busuk"},
    )
    assert made.status_code == 201, made.json

    answer = post_webhook(client, *refunded_event(intent))

    assert (answer.status_code, answer.json["outcome"]) == (200, "no_new_refund")
    assert refunds_of(app) == [(order_id, 10000, made.json["processor_refund_id"])]
    assert get_order(client, order_id, market.buyer).json["refunded"] == 10000
    assert ledger_problems(app) == []


def test_a_dashboard_refund_of_a_completed_order_takes_the_earnings_back(app, client, market, stripe_on):
    checkout, intent = paid_checkout(client, market, (market.cabai_a, "1"))
    order_id = checkout["orders"][0]["id"]
    for action in ("confirm", "ready", "complete"):
        assert client.post(f"{API}/orders/{order_id}/{action}", headers=market.lead.headers).status_code == 200
    with app.app_context():
        earned = {
            m["member_id"]: m["earned"]
            for m in client.get(f"{API}/groups/{market.tani.id}/balances", headers=market.lead.headers).json["members"]
        }
    assert earned[market.siti.id] > 0
    refund_at_stripe(intent, checkout["total"])

    answer = post_webhook(client, *refunded_event(intent))

    assert answer.json["outcome"] == "refunded"
    view = get_order(client, order_id, market.buyer).json
    assert (view["refunded"], view["payment_status"]) == (checkout["total"], "refunded")
    balances = client.get(f"{API}/groups/{market.tani.id}/balances", headers=market.lead.headers).json
    assert {m["member_id"]: m["earned"] for m in balances["members"]}[market.siti.id] == 0
    with app.app_context():
        assert rows(app, ledger.JournalEntry, ledger.JournalEntry.kind == "refund_reversal") == 1
    assert ledger_problems(app) == []


def test_a_dashboard_refund_never_records_more_than_was_paid_less_refunded(app, client, market, stripe_on, caplog):
    checkout, intent = paid_checkout(client, market, (market.cabai_a, "1"))
    order_id = checkout["orders"][0]["id"]
    cash_back = client.post(
        f"{API}/orders/{order_id}/refunds",
        headers=market.lead.headers,
        json={"amount": 5000, "reason": "Kembalian tunai", "method": "cash"},
    )
    assert cash_back.status_code == 201, cash_back.json
    refund_at_stripe(intent, checkout["total"])  # the whole payment back at Stripe as well

    answer = post_webhook(client, *refunded_event(intent))

    assert answer.json["outcome"] == "refund_exceeds_payment"
    assert "more than its orders have left" in caplog.text
    view = get_order(client, order_id, market.buyer).json
    assert (view["paid"], view["refunded"]) == (checkout["total"], checkout["total"])
    assert ledger_problems(app) == []


def test_a_refund_event_before_its_payment_is_refused_so_that_stripe_sends_it_again(app, client, market, stripe_on):
    checkout = card_checkout(client, market, (market.cabai_a, "1"))
    intent = paid_intent(client, market, checkout["id"])
    refund_at_stripe(intent, 10000)
    payload, headers = refunded_event(intent, "evt_refund_early")

    assert_error(post_webhook(client, payload, headers), 409)
    assert rows(app, ProcessorEvent) == rows(app, Refund) == 0

    post_webhook(client, *signed(event_for(intent)))
    assert post_webhook(client, payload, headers).json["outcome"] == "refunded"
    assert [amount for _order, amount, _id in refunds_of(app)] == [10000]
    assert ledger_problems(app) == []


# --- a card payment that arrives after its order expired -------------------------------------------


def started_then_expired(app, client, market, *lines) -> tuple[dict, str]:
    """A card checkout whose payment was started, then its orders expired before the card went through."""
    checkout = card_checkout(client, market, *lines)
    intent_id = start(client, market, checkout["id"]).json["client_secret"].split("_secret_")[0]
    with app.app_context():
        assert expire_orders(utcnow() + timedelta(days=1)) == len(checkout["orders"])
        db.session.commit()
    return checkout, intent_id


def pay_late(intent_id: str) -> dict:
    stripe.PaymentIntent.modify(intent_id, payment_method=card(GOOD_CARD))
    return stripe.PaymentIntent.confirm(intent_id).to_dict()


def reserved(app, variant_id):
    from inventory.models import Stock

    with app.app_context():
        return db.session.scalar(select(Stock.reserved).where(Stock.variant_id == variant_id))


def test_a_late_card_payment_places_the_order_again_while_its_stock_is_there(app, client, market, stripe_on):
    checkout, intent_id = started_then_expired(app, client, market, (market.cabai_a, "1"))
    order_id = checkout["orders"][0]["id"]
    assert reserved(app, market.cabai_a) == 0  # the expired order gave its kilo back

    answer = post_webhook(client, *signed(event_for(pay_late(intent_id))))

    assert (answer.status_code, answer.json["outcome"]) == (200, "paid")
    view = get_order(client, order_id, market.buyer).json
    assert (view["status"], view["payment_status"], view["refunded"]) == ("placed", "paid", 0)
    assert (view["events"][-1]["from"], view["events"][-1]["to"]) == ("expired", "placed")
    assert reserved(app, market.cabai_a) == 1  # and holds it again
    assert stripe.Refund.list(payment_intent=intent_id).data == []
    assert rows(app, Refund) == 0
    assert ledger_problems(app) == [] and stock_problems(app) == []
    for action in ("confirm", "ready", "complete"):
        assert client.post(f"{API}/orders/{order_id}/{action}", headers=market.lead.headers).status_code == 200


def test_a_late_card_payment_is_refunded_through_stripe_when_the_stock_is_gone(app, client, market, stripe_on):
    checkout, intent_id = started_then_expired(app, client, market, (market.daster, "3"))
    order_id = checkout["orders"][0]["id"]
    placed(client, market.other_buyer, body_of((market.daster, "3")))  # the last three went to someone else
    payload, headers = signed(event_for(pay_late(intent_id), event_id="evt_late"))

    answer = post_webhook(client, payload, headers)

    assert (answer.status_code, answer.json["outcome"]) == (200, "refunded_closed_order")
    at_stripe = stripe.Refund.list(payment_intent=intent_id).data
    assert [(r.amount, r.metadata["order_id"]) for r in at_stripe] == [(checkout["total"] * 100, str(order_id))]
    assert refunds_of(app) == [(order_id, checkout["total"], at_stripe[0].id)]
    view = get_order(client, order_id, market.buyer).json
    assert (view["status"], view["paid"], view["refunded"], view["payment_status"]) == (
        "expired",
        checkout["total"],
        checkout["total"],
        "refunded",
    )
    assert ledger_problems(app) == [] and stock_problems(app) == []

    assert post_webhook(client, payload, headers).json["outcome"] == "replay"
    assert post_webhook(client, *refunded_event(pay_late_intent(intent_id))).json["outcome"] == "no_new_refund"
    assert len(stripe.Refund.list(payment_intent=intent_id).data) == 1 and rows(app, Refund) == 1


def pay_late_intent(intent_id: str) -> dict:
    return stripe.PaymentIntent.retrieve(intent_id).to_dict()


def test_a_late_refund_retried_after_a_failure_refunds_once(app, client, market, stripe_on, monkeypatch):
    checkout, intent_id = started_then_expired(app, client, market, (market.daster, "3"))
    placed(client, market.other_buyer, body_of((market.daster, "3")))
    payload, headers = signed(event_for(pay_late(intent_id), event_id="evt_late_retry"))
    booked = refunds.book_refund

    def fails_once(*args, **kwargs):
        monkeypatch.setattr(refunds, "book_refund", booked)
        raise common.GatewayUnavailable()

    monkeypatch.setattr(refunds, "book_refund", fails_once)
    assert_error(post_webhook(client, payload, headers), 502)  # the refund went out; our commit did not
    assert rows(app, Payment) == rows(app, Refund) == rows(app, ProcessorEvent) == 0
    assert len(stripe.Refund.list(payment_intent=intent_id).data) == 1

    assert post_webhook(client, payload, headers).json["outcome"] == "refunded_closed_order"  # Stripe sends it again
    assert len(stripe.Refund.list(payment_intent=intent_id).data) == 1
    assert [amount for _order, amount, _id in refunds_of(app)] == [checkout["total"]]
    assert ledger_problems(app) == []


def test_a_card_payment_for_an_order_the_buyer_cancelled_is_given_back(app, client, market, stripe_on):
    checkout = card_checkout(client, market, (market.cabai_a, "1"))
    order_id = checkout["orders"][0]["id"]
    intent_id = start(client, market, checkout["id"]).json["client_secret"].split("_secret_")[0]
    assert client.post(f"{API}/orders/{order_id}/cancel", headers=market.buyer.headers).status_code == 200

    answer = post_webhook(client, *signed(event_for(pay_late(intent_id))))

    assert answer.json["outcome"] == "refunded_closed_order"
    view = get_order(client, order_id, market.buyer).json
    assert (view["status"], view["payment_status"]) == ("cancelled", "refunded")
    assert [r.amount for r in stripe.Refund.list(payment_intent=intent_id).data] == [checkout["total"] * 100]
    assert ledger_problems(app) == [] and stock_problems(app) == []


def test_several_refund_events_at_once_record_a_dashboard_refund_once(app, client, market, stripe_on, webhooks):
    checkout, intent = paid_checkout(client, market)
    register_webhook(stripe_on, "http://127.0.0.1:9/nowhere", SECRET)  # only our own deliveries in this test
    refund_at_stripe(intent, 30000)
    deliveries = [refunded_event(intent, f"evt_refund_race_{n}") for n in range(4)]
    barrier = threading.Barrier(len(deliveries))

    def deliver(delivery):
        barrier.wait()
        return requests.post(f"{webhooks}{API}/stripe/webhook", data=delivery[0], headers=delivery[1], timeout=30)

    with ThreadPoolExecutor(len(deliveries)) as pool:
        answers = list(pool.map(deliver, deliveries))

    assert [a.status_code for a in answers] == [200] * len(deliveries)
    assert sorted(a.json()["outcome"] for a in answers) == ["no_new_refund"] * 3 + ["refunded"]
    assert sum(amount for _order, amount, _id in refunds_of(app)) == 30000
    assert len(refunds_of(app)) == len(checkout["orders"])
    assert ledger_problems(app) == []


# --- spreading a dashboard refund ------------------------------------------------------------------


def _parts():
    from hypothesis import strategies as st

    return st.lists(st.tuples(st.integers(1, 10**7), st.integers(0, 10**7)), min_size=1, max_size=8)


def test_a_refund_fits_its_parts_exactly_and_never_above_their_room():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @given(amount=st.integers(1, 10**8), parts=_parts())
    @settings(max_examples=300, deadline=None)
    def check(amount, parts):
        weights, room = [w for w, _r in parts], [r for _w, r in parts]
        given_, left = gateway_events.fit_refund(amount, weights, room)
        assert sum(given_) + left == amount and left >= 0
        assert all(0 <= part <= limit for part, limit in zip(given_, room))
        assert left == 0 or given_ == room  # something is left over only when every part is full
        if all(share <= limit for share, limit in zip(common.spread(amount, weights), room)):
            assert given_ == common.spread(amount, weights)  # room enough: the way the payment was spread

    check()
    assert gateway_events.fit_refund(500, [], []) == ([], 500)


def test_a_card_refund_retried_after_stripe_reported_it_refunds_once(app, client, market, stripe_on, monkeypatch):
    checkout, intent = paid_checkout(client, market, (market.cabai_a, "1"))
    order_id = checkout["orders"][0]["id"]
    body, headers = (
        {"amount": 10000, "reason": "Cabai sebagian busuk"},
        {**market.lead.headers, "Idempotency-Key": "k-1"},
    )
    real_book = refunds.book_refund

    def lost(*args, **kwargs):  # the refund reached Stripe, then the request failed before it was recorded
        raise RuntimeError("connection lost")

    monkeypatch.setattr(refunds, "book_refund", lost)
    assert client.post(f"{API}/orders/{order_id}/refunds", headers=headers, json=body).status_code == 500
    monkeypatch.setattr(refunds, "book_refund", real_book)
    assert refunds_of(app) == []
    [made] = stripe.Refund.list(payment_intent=intent["id"]).data

    assert post_webhook(client, *refunded_event(intent)).json["outcome"] == "refunded"  # Stripe reports it
    retried = client.post(f"{API}/orders/{order_id}/refunds", headers=headers, json=body)
    again = client.post(f"{API}/orders/{order_id}/refunds", headers=headers, json={**body, "amount": 5000})

    assert retried.status_code == 201 and retried.headers.get("Idempotent-Replayed") == "true", retried.json
    assert retried.json["processor_refund_id"] == made.id
    assert_error(again, 422)  # the same key with another body
    assert [r.id for r in stripe.Refund.list(payment_intent=intent["id"]).data] == [made.id]
    assert refunds_of(app) == [(order_id, 10000, made.id)]
    assert ledger_problems(app) == []


def test_a_card_refund_retried_before_stripe_reported_it_refunds_once(app, client, market, stripe_on, monkeypatch):
    checkout, intent = paid_checkout(client, market, (market.cabai_a, "1"))
    order_id = checkout["orders"][0]["id"]
    body, headers = (
        {"amount": 10000, "reason": "Cabai sebagian busuk"},
        {**market.lead.headers, "Idempotency-Key": "k-2"},
    )
    real_book = refunds.book_refund
    monkeypatch.setattr(refunds, "book_refund", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("lost")))
    assert client.post(f"{API}/orders/{order_id}/refunds", headers=headers, json=body).status_code == 500
    monkeypatch.setattr(refunds, "book_refund", real_book)

    retried = client.post(f"{API}/orders/{order_id}/refunds", headers=headers, json=body)

    assert retried.status_code == 201, retried.json
    [made] = stripe.Refund.list(payment_intent=intent["id"]).data  # found by its metadata, not made again
    assert retried.json["processor_refund_id"] == made.id
    assert post_webhook(client, *refunded_event(intent)).json["outcome"] == "no_new_refund"
    assert refunds_of(app) == [(order_id, 10000, made.id)]
    assert ledger_problems(app) == []

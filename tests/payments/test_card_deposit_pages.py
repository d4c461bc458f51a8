"""Deposits by card on the pages, in Indonesian: the job's page offers the deposit (and after a delivery the
rest), accepting with card leads to the card form, the card form posts to the job's card payment; a pre-order's
deposit the same from "Pre-order saya"; others are refused and nothing owed sends the buyer back."""

import json
import re

import pytest

from core.extensions import db
from inventory.models import Variant
from marketplace.models import OrderStatus
from tests.commissions.helpers import post, quote_job, request_job, uniforms
from tests.harvests.helpers import announce, pre_order
from tests.marketplace.test_marketplace_pages import page_login
from tests.pages import html, t

SMALL = {"S": (10, 70000), "M": (10, 72000)}


@pytest.fixture
def job(app, client, market):
    return uniforms(app, client, market)


@pytest.fixture
def as_user(make_client):
    def login(who):
        browser = make_client()
        page_login(browser, who.user)
        return browser

    return login


def _card_form(body: str) -> tuple[str, dict]:
    """The card form's action and the JSON it posts."""
    form = re.search(r'<form id="card-form"[^>]*>', body).group(0)
    action = re.search(r'action="([^"]+)"', form).group(1)
    sent = re.search(r'data-body="([^"]+)"', form).group(1).replace("&#34;", '"')
    return action, json.loads(sent)


def test_accepting_with_card_leads_to_the_deposit_card_form(app, client, market, job, as_user):
    commission = request_job(client, job, sizes=SMALL)
    cid = commission["id"]
    quote_job(client, job, commission)
    school = as_user(job.school)
    body = html(school.get(f"/commissions/{cid}"))
    assert 'value="card"' in body and t(app, "Card: the deposit now, on the next page") in body

    accepted = school.post(f"/commissions/{cid}/accept", data={"revision": "1", "payment_method": "card"})

    assert accepted.status_code == 302 and accepted.headers["Location"].endswith(f"/commissions/{cid}/pay?pay=deposit")
    page = school.get(f"/commissions/{cid}/pay?pay=deposit")
    body = html(page)
    assert page.status_code == 200 and '<html lang="id">' in body
    assert t(app, "Pay the deposit by card") == "Bayar uang muka dengan kartu"
    assert "Bayar uang muka dengan kartu" in body and "Rp426.000" in body  # 30 % of Rp1.420.000
    assert _card_form(body) == (f"/api/v1/commissions/{cid}/card-payment", {"pay": "deposit"})
    assert "127.0.0.1:9" in page.headers["Content-Security-Policy"]  # the gateway's script, for this page only
    assert page.headers["Cache-Control"] == "no-store"
    job_page = html(school.get(f"/commissions/{cid}"))
    assert f"/commissions/{cid}/pay?pay=deposit" in job_page and "Rp426.000" in job_page


def test_the_card_pages_are_the_buyers_only_and_send_her_back_when_nothing_is_owed(app, client, market, job, as_user):
    commission = request_job(client, job, sizes=SMALL)
    quoted = quote_job(client, job, commission)
    cid = commission["id"]
    accepted = post(
        client, f"/commissions/{cid}/accept", job.school, {"revision": quoted["quotes"][-1]["revision"]}, status=200
    )
    assert as_user(market.other_buyer).get(f"/commissions/{cid}/pay").status_code == 404
    assert as_user(job.lead).get(f"/commissions/{cid}/pay").status_code == 404
    lead_view = html(as_user(job.lead).get(f"/commissions/{cid}"))
    assert "Bayar uang muka dengan kartu" not in lead_view  # the group records it; only the buyer pays by card

    school = as_user(job.school)
    back = school.get(f"/commissions/{cid}/pay?pay=all")  # paying all ahead is allowed; the job offers it later
    assert back.status_code == 200 and "Bayar sisanya dengan kartu" in html(back)
    assert "/pay?pay=all" not in html(school.get(f"/commissions/{cid}"))
    bad = school.get(f"/commissions/{cid}/pay?pay=half")
    assert bad.status_code == 302 and bad.headers["Location"].endswith(f"/commissions/{cid}#deposit")

    order_id = accepted["orders"][0]["id"]
    post(client, f"/orders/{order_id}/payments", job.lead, {"method": "cash", "amount": 426_000}, status=201)
    paid = school.get(f"/commissions/{cid}/pay?pay=deposit")
    assert paid.status_code == 302
    assert t(app, "The deposit of this job is paid.") in html(school.get(paid.headers["Location"]))
    assert "Bayar uang muka dengan kartu" not in html(school.get(f"/commissions/{cid}"))

    app.config["STRIPE_SECRET_KEY"] = None
    try:
        off = school.get(f"/commissions/{cid}/pay?pay=all")
        assert off.status_code == 503
        assert t(app, "Card payments are not available right now. Please pay in cash or by transfer.") in html(off)
    finally:
        app.config["STRIPE_SECRET_KEY"] = "sk_test_unreachable"


def test_a_pre_orders_deposit_is_offered_by_card_on_my_pre_orders(app, client, market, as_user):
    harvest = announce(client, market, deposit_percent="20", unit_price=40000)
    made = pre_order(client, harvest, market.buyer, "2")
    none_asked = pre_order(client, announce(client, market, variant_id=market.tomat), market.buyer, "1")
    buyer = as_user(market.buyer)

    body = html(buyer.get("/me/pre-orders"))
    assert f"/pre-orders/{made['id']}/pay?pay=deposit" in body and "Rp16.000" in body
    assert f"/pre-orders/{none_asked['id']}/pay" not in body

    page = buyer.get(f"/pre-orders/{made['id']}/pay?pay=deposit")
    assert page.status_code == 200 and "Bayar uang muka dengan kartu" in html(page)
    assert _card_form(html(page)) == (f"/api/v1/pre-orders/{made['id']}/card-payment", {"pay": "deposit"})
    assert as_user(market.other_buyer).get(f"/pre-orders/{made['id']}/pay").status_code == 404
    assert as_user(market.lead).get(f"/pre-orders/{made['id']}/pay").status_code == 404
    refused = buyer.get(f"/pre-orders/{none_asked['id']}/pay?pay=deposit")
    assert refused.status_code == 302
    assert t(app, "No deposit is owed on this pre-order.") in html(buyer.get(refused.headers["Location"]))
    assert OrderStatus.confirmed.value == made["order_status"]


def test_the_product_pages_pre_order_form_offers_the_deposit_by_card_and_leads_to_it(app, client, market, as_user):
    harvest = announce(client, market, deposit_percent="20", unit_price=40000)
    none_asked = announce(client, market, variant_id=market.tomat)
    buyer = as_user(market.buyer)
    card_choice = 'name="payment_method" value="card"'
    body = html(buyer.get(f"/products/{market.cabai_product}"))
    assert card_choice in body and t(app, "Card: the deposit now, on the next page") in body
    with app.app_context():
        tomato = db.session.get(Variant, market.tomat).product_id
    assert card_choice not in html(buyer.get(f"/products/{tomato}"))  # no deposit asked: nothing to pay now
    assert card_choice not in html(buyer.get(f"/harvests/{none_asked['id']}/pre-order"))

    key = re.search(r'name="idempotency_key" value="([^"]+)"', body).group(1)
    form = {"idempotency_key": key, "quantity": "2", "fulfilment_method": "pickup", "payment_method": "card"}
    placed = buyer.post(f"/harvests/{harvest['id']}/pre-order", data=form)

    assert placed.status_code == 302 and re.search(r"/pre-orders/\d+/pay\?pay=deposit$", placed.headers["Location"])
    page = buyer.get(placed.headers["Location"])
    assert page.status_code == 200 and "Rp16.000" in html(page)  # 20 % of 2 kg at Rp40.000
    assert (
        buyer.post(f"/harvests/{harvest['id']}/pre-order", data=form).headers["Location"] == placed.headers["Location"]
    )  # the same form again: the same pre-order, its deposit still to pay

"""On a phone, in Indonesian: a school accepts a made-to-order quote choosing card, lands on the deposit's card
form (the checkout's Stripe.js from localstripe, posting `{"pay": "deposit"}` to the job's card payment), pays, and
the job shows the deposit paid once localstripe's signed webhook reaches the app."""

import re

from sqlalchemy import select

from core.extensions import db
from marketplace.models import Order
from tests.commissions.helpers import quote_job, request_job, uniforms
from tests.conftest import SECRET
from tests.e2e.test_members_in_browser import indonesian
from tests.localstripe_server import register_webhook

SMALL = {"S": (10, 70000), "M": (10, 72000)}  # Rp1.420.000, a 30 % deposit of Rp426.000


def test_a_school_pays_the_jobs_deposit_by_card(app, client, market, live_server, stripe_on, phone_page):
    register_webhook(
        stripe_on,
        f"{live_server}/api/v1/stripe/webhook",
        SECRET,
        events=["payment_intent.succeeded", "payment_intent.payment_failed"],
    )
    job = uniforms(app, client, market)
    commission = request_job(client, job, sizes=SMALL)
    quote_job(client, job, commission)
    page = phone_page

    page.goto(f"{live_server}/login")
    page.fill("input[name=login]", job.school.user.email)
    page.fill("input[name=password]", job.school.user.password)
    page.click(f"main button:has-text('{indonesian('Log in')}')")
    page.goto(f"{live_server}/commissions/{commission['id']}")
    page.check("#accept input[name=payment_method][value=card]")
    page.click("#accept button[type=submit]")

    page.wait_for_url(re.compile(r".*/commissions/\d+/pay\?pay=deposit$"))
    assert indonesian("Pay the deposit by card") in page.locator("h1").inner_text()
    page.wait_for_selector("#card-form:not([hidden])")
    page.fill("input[placeholder=number]", "4242424242424242")
    page.fill("input[placeholder=exp_month]", "12")
    page.fill("input[placeholder=exp_year]", "30")
    page.fill("input[placeholder=cvc]", "123")
    page.fill("input[placeholder=postal_code]", "66171")
    page.click("#card-button")
    page.wait_for_selector("#card-done:not([hidden])")

    page.click(f"#card-done a:has-text('{commission['title']}')")
    for _attempt in range(30):
        if page.locator("#deposit .badge").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    assert indonesian("paid in full") in page.locator("#deposit .badge").inner_text()
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert (order.paid, order.total, order.payment_method.value) == (426_000, 1_420_000, "card")

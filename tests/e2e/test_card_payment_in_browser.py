"""On a phone, in Indonesian: a buyer pays by card on the checkout's pay page with the Stripe.js that localstripe
serves; the orders become paid only when localstripe's signed webhook reaches the app."""

import re
from types import SimpleNamespace

from core.phone import normalize_phone
from marketplace import catalog
from tests.conftest import SECRET
from tests.e2e.conftest import PHONE
from tests.e2e.test_members_in_browser import indonesian
from tests.factories import make_group, make_member, make_user
from tests.localstripe_server import register_webhook
from tests.stock_helpers import contribute, make_product


def test_buyer_pays_by_card_and_the_webhook_marks_the_order_paid(app, live_server, stripe_on, phone_page):
    catalog.clear_cache()
    register_webhook(
        stripe_on,
        f"{live_server}/api/v1/stripe/webhook",
        SECRET,
        events=["payment_intent.succeeded", "payment_intent.payment_failed"],
    )
    coordinator = make_user(app, email="jahit@kub.test", name="Sri Wahyuni", phone=normalize_phone("0812-3300-0101"))
    group = make_group(
        app,
        coordinator,
        name="KUB Jahit Sumberejo",
        kind="business",
        village="Sumberejo",
        district="Sanankulon",
        pickup_point="Balai Desa Sumberejo",
    )
    member = make_member(app, group, name="Siti Aminah")
    (daster,) = make_product(app, coordinator, group, unit="pcs", labels=("Biru",), name="Daster batik", kind="garment")
    contribute(app, SimpleNamespace(user=coordinator, group=group, members=[member]), daster, "5")
    buyer = make_user(app, email="pembeli@warung.test", name="Bu Ratna")
    page = phone_page

    page.goto(f"{live_server}/login")
    page.fill("input[name=login]", buyer.email)
    page.fill("input[name=password]", buyer.password)
    page.click(f"main button:has-text('{indonesian('Log in')}')")
    page.goto(f"{live_server}/catalog")
    card = page.locator("article.prod", has_text="Daster batik")
    card.locator("input[name=quantity]").fill("2")
    card.locator(f"button:has-text('{indonesian('Add')}')").click()
    page.wait_for_selector(".flash.success")
    page.goto(f"{live_server}/checkout")
    page.check("input[name=payment_method][value=card]")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/checkouts/\d+$"))

    # The confirmation leads to the pay page, where the fake Stripe.js mounts its card inputs.
    page.click(f"main a:has-text('{indonesian('Pay by card')}')")
    page.wait_for_url(re.compile(r".*/checkouts/\d+/pay$"))
    page.wait_for_selector("#card-form:not([hidden])")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.fill("input[placeholder=number]", "4242424242424242")
    page.fill("input[placeholder=exp_month]", "12")
    page.fill("input[placeholder=exp_year]", "30")
    page.fill("input[placeholder=cvc]", "123")
    page.fill("input[placeholder=postal_code]", "66171")
    page.click("#card-button")
    page.wait_for_selector("#card-done:not([hidden])")
    assert indonesian("Thank you! Your payment is being confirmed.") in page.locator("#card-done").inner_text()

    # The order page shows it paid once the signed webhook has arrived (about a second later).
    page.click(f"#card-done a:has-text('{indonesian('My orders')}')")
    order_link = page.locator("main a[href^='/orders/']").first
    order_link.click()
    assert page.locator(".badge.pay.unpaid").count() >= 1 or page.locator(".badge.pay.paid").count() >= 1
    for _attempt in range(30):
        if page.locator(".badge.pay.paid").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    assert indonesian("paid in full") in page.locator(".badge.pay.paid").first.inner_text()
    with app.app_context():
        from sqlalchemy import select

        from core.extensions import db
        from marketplace.models import Order
        from payments.models import Payment

        order = db.session.scalar(select(Order))
        assert (order.paid, order.total) == (order.total, order.total) and order.total > 0
        assert [p.method.value for p in db.session.scalars(select(Payment))] == ["card"]

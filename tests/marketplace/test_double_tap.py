"""A double tap on "Lanjut pesan": the checkout form sent twice with one idempotency key, each time with the cart
the page was shown with. The second answer is the first one again: the cart emptied, thanks, the same
confirmation."""

from decimal import Decimal

from sqlalchemy import select

from core.extensions import db
from marketplace.models import Checkout, Order
from tests.marketplace.test_marketplace_pages import (  # noqa: F401 (market_setup is a fixture)
    add,
    checkout_form,
    count,
    market_setup,
    page_login,
    reserved,
)
from tests.pages import html, t

SESSION = "session"


def _session_cookie(client) -> str:
    cookie = client.get_cookie(SESSION)
    assert cookie is not None
    return cookie.value


def test_a_double_tap_makes_one_checkout_and_both_answers_empty_the_cart(app, client, market_setup):
    setup = market_setup
    page_login(client, setup.buyer)
    add(client, setup.chilli[0], "2")
    add(client, setup.star[0], "1")
    form = checkout_form(client)
    tapped_with = _session_cookie(client)  # both taps leave the phone with the cart in their cookie
    first = client.post("/checkout", data=form)
    assert first.status_code == 302, html(first)
    client.set_cookie(SESSION, tapped_with)  # the second tap, sent before the first answer arrived
    second = client.post("/checkout", data=form)
    assert second.status_code == 302, html(second)
    assert second.headers["Location"] == first.headers["Location"]
    assert count(app, Checkout) == 1 and count(app, Order) == 2
    assert reserved(app, setup.chilli[0]) == Decimal(2) and reserved(app, setup.star[0]) == Decimal(1)
    confirmation = html(client.get(second.headers["Location"]))
    assert t(app, "Thank you! Your order is placed.") in confirmation
    assert t(app, "Your cart is empty.") in html(client.get("/cart"))
    # "Lanjut pesan" again: there is nothing left to order twice.
    again = client.get("/checkout")
    assert again.status_code == 302 and again.headers["Location"].endswith("/cart")
    assert count(app, Checkout) == 1


def test_either_tap_answered_last_leaves_the_cart_empty(app, client, market_setup):
    """The phone keeps the cookie of whichever answer came last; each of them empties the cart."""
    setup = market_setup
    page_login(client, setup.buyer)
    add(client, setup.star[0], "3")
    form = checkout_form(client)
    tapped_with = _session_cookie(client)
    first = client.post("/checkout", data=form)
    after_first = _session_cookie(client)
    client.set_cookie(SESSION, tapped_with)
    second = client.post("/checkout", data=form)
    assert second.headers["Location"] == first.headers["Location"]
    for kept in (after_first, _session_cookie(client)):
        client.set_cookie(SESSION, kept)
        assert t(app, "Your cart is empty.") in html(client.get("/cart"))
    with app.app_context():
        assert db.session.scalar(select(Checkout.id)) is not None
    assert count(app, Checkout) == 1 and reserved(app, setup.star[0]) == Decimal(3)

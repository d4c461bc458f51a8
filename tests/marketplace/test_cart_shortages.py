"""Shortages told before checkout: when a line is added beyond what is available, and on the cart page, with a
button per short line that sets it to what is available. Checkout still refuses a short line."""

import re

from tests.factories import make_user
from tests.marketplace.test_marketplace_pages import (  # noqa: F401 (market_setup is a fixture)
    add,
    checkout_form,
    market_setup,
    page_login,
    product,
    seller,
)
from tests.pages import html, t


def _fit_forms(body: str) -> list[dict]:
    """The cart's "set to what is available" forms, as their hidden fields."""
    return [
        dict(re.findall(r'name="(variant_id|quantity)" value="([^"]*)"', form))
        for form in re.findall(r'<form method="post" action="/cart/update" class="fit">(.*?)</form>', body, re.S)
    ]


def test_adding_more_than_is_available_warns_at_once(app, client, db):
    shop = seller(app, "KUB Padi Sejahtera")
    (rice,) = product(app, shop.user, shop.group, "Beras", [("standard", 12000)], stock="20.5", member=shop.member)
    response = add(client, rice, "100")
    assert response.status_code == 302
    body = html(client.get(response.headers["Location"]))
    expected = t(
        app,
        "In your cart: %(quantity)s %(unit)s %(product)s, but only %(available)s %(unit)s available. "
        "Change the quantity in your cart before you order.",
        quantity="100",
        unit="kg",
        product="Beras",
        available="20,5",
    )
    assert expected in body and "hanya tersedia 20,5 kg" in body
    # Within what is available, the plain thanks.
    client.post("/cart/update", data={"variant_id": str(rice), "quantity": "2"})
    body = html(client.get(add(client, rice, "1").headers["Location"]))
    assert t(app, "In your cart: %(quantity)s %(unit)s %(product)s.", quantity="3", unit="kg", product="Beras") in body


def test_the_cart_names_each_short_line_and_sets_it_to_what_is_available(app, client, db):
    shop = seller(app, "KUB Padi Sejahtera")
    (rice,) = product(app, shop.user, shop.group, "Beras", [("standard", 12000)], stock="20.5", member=shop.member)
    (corn,) = product(app, shop.user, shop.group, "Jagung", [("standard", 6000)], stock="50", member=shop.member)
    add(client, rice, "100")
    add(client, corn, "5")
    body = html(client.get("/cart"))
    assert 'id="short"' in body
    assert t(app, "Only %(quantity)s %(unit)s available", quantity="20,5", unit="kg") in body
    assert t(app, "Set to %(quantity)s %(unit)s", quantity="20,5", unit="kg") in body
    assert _fit_forms(body) == [{"variant_id": str(rice), "quantity": "20,5"}]  # corn is not short
    # Checkout still refuses the short line.
    buyer = make_user(app)
    page_login(client, buyer)
    refused = client.post("/checkout", data=checkout_form(client))
    assert refused.status_code == 409
    # One tap sets it to what is available; then the cart is whole again and checkout goes through.
    response = client.post("/cart/update", data=_fit_forms(body)[0])
    assert response.status_code == 302
    body = html(client.get("/cart"))
    assert 'id="short"' not in body and _fit_forms(body) == []
    assert 'value="20,5"' in body
    assert client.post("/checkout", data=checkout_form(client)).status_code == 302


def test_the_cart_speaks_english_with_a_decimal_point(app, client, db):
    shop = seller(app, "KUB Padi Sejahtera")
    (rice,) = product(app, shop.user, shop.group, "Beras", [("standard", 12000)], stock="20.5", member=shop.member)
    client.get("/lang/en")
    add(client, rice, "100")
    body = html(client.get("/cart"))
    assert "Only 20.5 kg available" in body and "Set to 20.5 kg" in body and 'value="20.5"' in body

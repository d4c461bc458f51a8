"""A packed order reads "siap dikirim" when it is delivered and "siap diambil" when the buyer picks it up."""

import pytest

from marketplace.models import FulfilmentMethod, OrderStatus
from marketplace.services import status_label
from tests.market import body_of, moved, placed
from tests.marketplace.test_marketplace_pages import page_login
from tests.pages import html, t


def packed(client, market, method: str) -> int:
    extra = {"address": "SDN Sumberejo 1"} if method == "delivery" else {}
    [order] = placed(client, market.buyer, body_of((market.tomat, "1"), method=method, **extra))["orders"]
    moved(client, order["id"], "confirm", market.lead)
    moved(client, order["id"], "ready", market.lead)
    return order["id"]


@pytest.mark.parametrize(
    "method,shown,not_shown",
    [("delivery", "siap dikirim", "siap diambil"), ("pickup", "siap diambil", "siap dikirim")],
)
def test_a_packed_orders_status_follows_how_it_reaches_the_buyer(
    app, client, make_client, market, method, shown, not_shown
):
    order_id = packed(client, market, method)
    buyer = make_client()
    page_login(buyer, market.buyer.user)
    lead = make_client()
    page_login(lead, market.lead.user)
    for browser, path in (
        (buyer, f"/orders/{order_id}"),
        (buyer, "/orders"),
        (lead, f"/groups/{market.tani.id}/orders"),
    ):
        body = html(browser.get(path))
        assert shown in body and not_shown not in body, path
    assert shown in html(lead.get(f"/groups/{market.tani.id}/packing"))


def test_the_coordinators_message_after_packing_names_delivery(app, client, make_client, market):
    extra = {"address": "SDN Sumberejo 1"}
    [order] = placed(client, market.buyer, body_of((market.tomat, "1"), method="delivery", **extra))["orders"]
    moved(client, order["id"], "confirm", market.lead)
    lead = make_client()
    page_login(lead, market.lead.user)
    response = lead.post(f"/orders/{order['id']}/ready", data={})
    assert response.status_code == 302
    assert t(app, "ready for delivery") in html(lead.get(response.headers["Location"]))


def test_without_a_method_the_status_is_plainly_ready(app):
    with app.test_request_context("/"):
        assert status_label(OrderStatus.ready) == t(app, "ready")
        assert status_label(OrderStatus.ready, FulfilmentMethod.delivery) == t(app, "ready for delivery")
        assert status_label(OrderStatus.confirmed, "delivery") == t(app, "confirmed")

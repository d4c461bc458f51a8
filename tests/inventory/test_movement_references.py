"""The stock ledger names what moved the stock: "Pesanan #9", linked to the order, never "order_line:15"."""

import re

from flask import Flask

from inventory import references
from inventory.references import ReferenceLink
from tests.market import body_of, moved, placed
from tests.marketplace.test_marketplace_pages import page_login
from tests.pages import html, t


def test_the_ledger_shows_the_order_of_a_movement_as_a_link(app, client, market):
    [order] = placed(client, market.buyer, body_of((market.cabai_a, "1.5")))["orders"]
    moved(client, order["id"], "cancel", market.lead)
    page_login(client, market.lead.user)
    body = html(client.get(f"/groups/{market.tani.id}/movements"))
    assert "order_line:" not in body
    label = t(app, "Order #%(id)d", id=order["id"])
    links = re.findall(rf'<a href="/orders/{order["id"]}">{re.escape(label)}</a>', body)
    assert len(links) == 2  # held for the order, and released when it was cancelled
    assert client.get(f"/orders/{order['id']}").status_code == 200


def test_a_reference_of_a_kind_nobody_registered_is_shown_as_it_is(app):
    with app.test_request_context("/"):
        assert references.describe(["stocktake:3", None, "order_line:abc", "order_line:"]) == {}


def test_each_kind_is_described_in_one_call_for_all_its_ids():
    app = Flask(__name__)
    calls = []

    def describe_boxes(ids):
        calls.append(ids)
        return {i: ReferenceLink(f"Box {i}", None) for i in ids if i != 9}

    references.register_kind(app, "box", describe_boxes)
    with app.test_request_context("/"):
        found = references.describe(["box:2", "box:9", "box:2", "box:1", "crate:1"])
    assert calls == [[1, 2, 9]]
    assert found == {"box:1": ReferenceLink("Box 1", None), "box:2": ReferenceLink("Box 2", None)}

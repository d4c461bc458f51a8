"""Cancelling on the pages: the order page's button leads to a confirmation page (no script needed) that asks for a
reason (the buyer picks or writes one, the coordinator writes one); only its post cancels. A cancelled order
shows nothing as still owed."""

import re

from sqlalchemy import select

from core.extensions import db
from marketplace.models import OrderEvent, OrderStatus
from tests.marketplace.test_marketplace_pages import (  # noqa: F401 (market_setup is a fixture)
    market_setup,
    page_login,
    place,
    reserved,
    status_of,
)
from tests.pages import html, t


def _last_note(app, order_id) -> str | None:
    with app.app_context():
        return db.session.scalar(
            select(OrderEvent.note).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id.desc()).limit(1)
        )


def test_the_buyer_confirms_on_a_page_and_picks_a_reason(app, client, market_setup):
    setup = market_setup
    (order_id,) = place(app, setup.buyer, [(setup.star[0], "2")])
    page_login(client, setup.buyer)
    body = html(client.get(f"/orders/{order_id}"))
    # The order page's button only opens the confirmation: a plain GET form, nothing is sent to cancel.
    assert re.search(rf'<form method="get" action="/orders/{order_id}/cancel"', body)
    assert not re.search(rf'<form method="post" action="/orders/{order_id}/cancel"', body)
    page = client.get(f"/orders/{order_id}/cancel")
    assert page.status_code == 200
    body = html(page)
    assert t(app, "Cancel order #%(id)d?", id=order_id) in body
    assert t(app, "I ordered by mistake") in body and t(app, "No, keep the order") in body
    assert f'<form method="post" action="/orders/{order_id}/cancel"' in body
    assert status_of(app, order_id) == OrderStatus.placed  # looking at it changes nothing
    # No reason: asked again beside the field, nothing cancelled.
    refused = client.post(f"/orders/{order_id}/cancel", data={})
    assert refused.status_code == 422
    assert t(app, "Choose a reason or write one.") in html(refused)
    assert status_of(app, order_id) == OrderStatus.placed
    done = client.post(f"/orders/{order_id}/cancel", data={"reason_choice": "mistake"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/orders/{order_id}")
    assert status_of(app, order_id) == OrderStatus.cancelled and reserved(app, setup.star[0]) == 0
    assert _last_note(app, order_id) == t(app, "I ordered by mistake", raw=True)
    body = html(client.get(f"/orders/{order_id}"))
    assert t(app, "Order #%(id)d is cancelled.", id=order_id) in body
    assert t(app, "Still owed") not in body and "Sisa tagihan" not in body
    assert t(app, "Nothing more to pay: the order is closed.") in body
    assert f'action="/orders/{order_id}/cancel"' not in body
    # The confirmation of a cancelled order leads back to it.
    again = client.get(f"/orders/{order_id}/cancel")
    assert again.status_code == 302 and status_of(app, order_id) == OrderStatus.cancelled


def test_a_written_reason_wins_over_a_picked_one(app, client, market_setup):
    setup = market_setup
    (order_id,) = place(app, setup.buyer, [(setup.star[0], "1")])
    page_login(client, setup.buyer)
    response = client.post(f"/orders/{order_id}/cancel", data={"reason_choice": "day", "reason": "  Uang belum ada "})
    assert response.status_code == 302
    assert _last_note(app, order_id) == "Uang belum ada"


def test_the_coordinator_must_write_a_reason(app, client, market_setup):
    setup = market_setup
    (order_id,) = place(app, setup.buyer, [(setup.star[0], "2")])
    page_login(client, setup.belimbing.user)
    body = html(client.get(f"/orders/{order_id}/cancel"))
    assert 'name="reason_choice"' not in body and t(app, "Reason (required)") in body
    for data in ({}, {"reason": "   "}, {"reason_choice": "mistake"}):
        refused = client.post(f"/orders/{order_id}/cancel", data=data)
        assert refused.status_code == 422
        assert t(app, "Write the reason: the buyer reads it.") in html(refused)
    too_long = client.post(f"/orders/{order_id}/cancel", data={"reason": "x" * 600})
    assert too_long.status_code in (400, 422)
    assert status_of(app, order_id) == OrderStatus.placed and reserved(app, setup.star[0]) == 2
    done = client.post(f"/orders/{order_id}/cancel", data={"reason": "Panen gagal karena hujan"})
    assert done.status_code == 302
    assert status_of(app, order_id) == OrderStatus.cancelled
    assert _last_note(app, order_id) == "Panen gagal karena hujan"


def test_no_one_else_reaches_the_confirmation(app, make_client, market_setup):
    setup = market_setup
    (order_id,) = place(app, setup.buyer, [(setup.star[0], "2")])
    other_group = make_client()
    page_login(other_group, setup.cabai.user)
    assert other_group.get(f"/orders/{order_id}/cancel").status_code == 404
    assert other_group.post(f"/orders/{order_id}/cancel", data={"reason": "x"}).status_code == 404
    assert make_client().get(f"/orders/{order_id}/cancel").status_code == 302  # to the login page
    assert status_of(app, order_id) == OrderStatus.placed


def test_the_confirmation_speaks_english_too(app, client, market_setup):
    setup = market_setup
    (order_id,) = place(app, setup.buyer, [(setup.star[0], "2")])
    page_login(client, setup.buyer)
    client.get("/lang/en")
    body = html(client.get(f"/orders/{order_id}/cancel"))
    assert "Cancel order #" in body and "Yes, cancel the order" in body and "I ordered by mistake" in body

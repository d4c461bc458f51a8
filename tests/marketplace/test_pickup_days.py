"""Checkout offers the next day every group of the order is open, and refuses a day one of them is closed
(422 on fulfilment.date), on the API and the page."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from core.extensions import db
from groups.models import Group
from marketplace.services import checkout
from tests.factories import assert_error
from tests.market import body_of, post_checkout, state
from tests.marketplace.test_marketplace_pages import checkout_form, page_login
from tests.pages import html, t

SUNDAY = date(2026, 12, 6)
MONDAY = SUNDAY + timedelta(days=1)


def open_on(app, group, days: str) -> None:
    with app.app_context():
        db.session.execute(update(Group).where(Group.id == group.id).values(open_days=days))
        db.session.commit()


@pytest.fixture
def on_a_sunday(app, market, monkeypatch):
    """Today is a Sunday; the farmer group opens Monday to Saturday."""
    monkeypatch.setattr(checkout, "today_wib", lambda: SUNDAY)
    open_on(app, market.tani, "1111110")
    return market


def test_without_a_day_the_order_is_for_the_next_day_the_group_is_open(client, on_a_sunday):
    response = post_checkout(client, on_a_sunday.buyer, body_of((on_a_sunday.tomat, "1")))
    assert response.status_code == 201, response.json
    assert [o["fulfilment"]["date"] for o in response.json["orders"]] == [MONDAY.isoformat()]


def test_a_day_the_group_is_closed_is_refused_and_changes_nothing(app, client, on_a_sunday):
    before = state(app)
    body = body_of((on_a_sunday.tomat, "1"), date=SUNDAY.isoformat())
    refused = post_checkout(client, on_a_sunday.buyer, body)
    error = assert_error(refused, 422, "fulfilment.date")
    [message] = error["errors"]["fulfilment.date"]
    assert "Poktan Sumber Rejeki" in message and "Minggu" in message and "7 Des 2026" in message
    assert state(app) == before
    english = post_checkout(client, {**on_a_sunday.buyer.headers, "Accept-Language": "en"}, body)
    assert "is closed on Sunday" in english.json["errors"]["fulfilment.date"][0]
    assert "7 Dec 2026" in english.json["errors"]["fulfilment.date"][0]


def test_an_open_day_is_taken_as_asked(client, on_a_sunday):
    tuesday = (SUNDAY + timedelta(days=2)).isoformat()
    response = post_checkout(client, on_a_sunday.buyer, body_of((on_a_sunday.tomat, "1"), date=tuesday))
    assert response.status_code == 201 and response.json["orders"][0]["fulfilment"]["date"] == tuesday


def test_two_groups_are_given_the_first_day_both_are_open(app, client, on_a_sunday):
    open_on(app, on_a_sunday.jahit, "0010000")  # the sewing group only on Wednesdays
    lines = body_of((on_a_sunday.tomat, "1"), (on_a_sunday.daster, 1))
    response = post_checkout(client, on_a_sunday.buyer, lines)
    assert response.status_code == 201
    assert {o["fulfilment"]["date"] for o in response.json["orders"]} == {date(2026, 12, 9).isoformat()}


def test_groups_with_no_open_day_in_common_are_refused(app, client, on_a_sunday):
    open_on(app, on_a_sunday.tani, "1000000")
    open_on(app, on_a_sunday.jahit, "0100000")
    before = state(app)
    response = post_checkout(client, on_a_sunday.buyer, body_of((on_a_sunday.tomat, "1"), (on_a_sunday.daster, 1)))
    assert_error(response, 422, "fulfilment.date")
    assert state(app) == before


def test_the_checkout_page_offers_the_next_open_day_and_refuses_a_closed_one(app, client, on_a_sunday):
    page_login(client, on_a_sunday.buyer.user)
    client.post("/cart/add", data={"variant_id": str(on_a_sunday.tomat), "quantity": "1"})
    form = checkout_form(client)
    assert form["date"] == MONDAY.isoformat()
    assert t(app, "Open days") in html(client.get("/checkout")) and "Senin–Sabtu" in html(client.get("/checkout"))
    before = state(app)
    refused = client.post("/checkout", data={**form, "date": SUNDAY.isoformat()})
    assert refused.status_code == 422
    body = html(refused)
    assert re.search(r'name="date"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*name="date"', body)
    assert "Minggu" in body and "7 Des 2026" in body
    assert state(app) == before
    placed = client.post("/checkout", data=form)
    assert placed.status_code == 302

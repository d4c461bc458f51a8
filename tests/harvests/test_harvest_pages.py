"""Harvest pre-orders on the pages: each page in Indonesian, others refused (another group's coordinator, a buyer
on the coordinator's pages), bad input shown beside its field in Indonesian with nothing changed, a double
submitted pre-order counted once, a harvest recorded twice refused with a clear message, and the WhatsApp
messages once the harvest is shared out."""

import re

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.money import format_rupiah as rupiah
from harvests.models import Harvest, PreOrder
from tests.books import ledger_problems, stock_problems
from tests.factories import PASSWORD, make_group
from tests.harvests.helpers import announce, buyers, post, pre_order, snapshot
from tests.market import actor
from tests.pages import html, t


def page_login(client, who):
    client.post("/logout")
    response = client.post("/login", data={"login": who.user.email, "password": PASSWORD})
    assert response.status_code == 302, html(response)


def key_of(body: str) -> str:
    found = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', body) or re.search(
        r'value="([^"]+)"[^>]*name="idempotency_key"', body
    )
    assert found, body
    return found.group(1)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def test_the_coordinator_announces_a_harvest_on_the_page_in_indonesian(app, client, market):
    page_login(client, market.lead)
    listing = client.get(f"/groups/{market.tani.id}/harvests")
    assert listing.status_code == 200
    assert t(app, "No harvests announced yet.") in html(listing)
    form = client.get(f"/groups/{market.tani.id}/harvests/new")
    assert form.status_code == 200
    body = html(form)
    assert t(app, "Announce a harvest") in body and 'type="date"' in body
    assert t(app, "Pro rata: every pre-order gets the same share of what it asked for") in body
    week = re.search(r'name="week"[^>]*value="([^"]+)"', body).group(1)
    sent = client.post(
        f"/groups/{market.tani.id}/harvests/new",
        data={
            "variant_id": str(market.cabai_a),
            "expected_low": "10",
            "expected_high": "14",
            "week": week,
            "unit_price": "",
            "cap_percent": "80",
            "shortfall_rule": "first_come",
            "deposit_percent": "0",
        },
    )
    assert sent.status_code == 302, html(sent)
    harvest = client.get(sent.headers["Location"])
    assert harvest.status_code == 200
    page = html(harvest)
    assert t(app, "Harvest announced: buyers may pre-order now.") in page
    assert t(app, "next week") in page and "Rp45.000" in page  # the variant's price by default
    assert t(app, "Record the harvest") in page and market.siti.name in page
    listing = html(client.get(f"/groups/{market.tani.id}/harvests"))
    assert t(app, "open for pre-orders") in listing
    home = html(client.get("/me/groups"))
    assert t(app, "Harvests announced: %(n)d, pre-ordered %(quantity)s", n=1, quantity="0 kg") in home


@pytest.mark.parametrize(
    "changes, field_error",
    [
        ({"expected_low": "abc"}, None),
        ({"expected_high": "5"}, "At least the low end of the range."),
        ({"week": "kemarin"}, "Use a date such as 2026-11-28."),
        ({"cap_percent": "150"}, "Give a percent from 0 to 100 with at most 2 decimals."),
        ({"variant_id": ""}, None),
    ],
)
def test_bad_announcement_input_shows_indonesian_errors_and_changes_nothing(app, client, market, changes, field_error):
    page_login(client, market.lead)
    data = {
        "variant_id": str(market.cabai_a),
        "expected_low": "10",
        "expected_high": "14",
        "week": "2099-01-01",
        "shortfall_rule": "pro_rata",
        "cap_percent": "80",
        "deposit_percent": "0",
    }
    if "week" not in changes:
        data["week"] = re.search(
            r'name="week"[^>]*value="([^"]+)"', html(client.get(f"/groups/{market.tani.id}/harvests/new"))
        ).group(1)
    data.update(changes)
    answer = client.post(f"/groups/{market.tani.id}/harvests/new", data=data)
    assert answer.status_code in (404, 422), html(answer)
    body = html(answer)
    assert 'class="field-error"' in body or 'class="flash error"' in body
    if field_error:
        assert t(app, field_error) in body
    assert count(app, Harvest) == 0


def test_others_are_refused_the_coordinator_pages(app, client, market):
    harvest = announce(client, market)
    stranger_lead = actor(app, name="Ketua lain")
    make_group(app, stranger_lead.user, name="Poktan Lain", kind="farmer")
    for who in (market.buyer, stranger_lead, market.plain):
        page_login(client, who)
        for path in (
            f"/groups/{market.tani.id}/harvests",
            f"/groups/{market.tani.id}/harvests/new",
            f"/harvests/{harvest['id']}",
            f"/harvests/{harvest['id']}/close",
            f"/harvests/{harvest['id']}/cancel",
        ):
            assert client.get(path).status_code == 403, (who.user.name, path)
        before = snapshot(app, harvest["id"])
        assert client.post(f"/harvests/{harvest['id']}/close", data={}).status_code == 403
        assert client.post(f"/harvests/{harvest['id']}/record", data={"idempotency_key": "x"}).status_code == 403
        assert snapshot(app, harvest["id"]) == before
    # the treasurer reads the harvest, but is offered no step and may take none
    page_login(client, market.treasurer)
    assert client.get(f"/harvests/{harvest['id']}").status_code == 200
    assert client.get(f"/harvests/{harvest['id']}/close").status_code == 403


def test_a_buyer_pre_orders_from_the_product_page_and_a_double_tap_counts_once(app, client, market):
    harvest = announce(client, market)  # cap 8 kg
    page_login(client, market.buyer)
    product = client.get(f"/products/{market.cabai_product}")
    assert product.status_code == 200
    body = html(product)
    assert t(app, "Pre-order") in body and t(app, "Pick up at the group's pickup point") in body
    form = {"idempotency_key": key_of(body), "quantity": "2,5", "fulfilment_method": "pickup", "payment_method": "cash"}
    first = client.post(f"/harvests/{harvest['id']}/pre-order", data=form)
    second = client.post(f"/harvests/{harvest['id']}/pre-order", data=form)
    assert first.status_code == second.status_code == 302, html(second)
    assert count(app, PreOrder) == 1
    with app.app_context():
        assert str(db.session.get(Harvest, harvest["id"]).preordered) in ("2.5", "2.500")
    mine = client.get("/me/pre-orders")
    assert mine.status_code == 200
    page = html(mine)
    assert (
        t(
            app,
            "Pre-order placed: %(quantity)s %(unit)s, for %(week)s.",
            quantity="2,5",
            unit="kg",
            week=t(app, "next week"),
        )
        in page
    )
    assert t(app, "waiting for the harvest") in page and t(app, "Cancel pre-order") in page


def test_bad_pre_order_input_and_past_the_cap_show_indonesian_errors_and_change_nothing(app, client, market):
    harvest = announce(client, market)  # cap 8 kg
    page_login(client, market.buyer)
    form = client.get(f"/harvests/{harvest['id']}/pre-order")
    assert form.status_code == 200 and t(app, "Pre-order") in html(form)
    before = snapshot(app, harvest["id"])
    base = {"fulfilment_method": "pickup", "payment_method": "cash"}
    bad = client.post(f"/harvests/{harvest['id']}/pre-order", data={**base, "quantity": "0", "idempotency_key": "a"})
    assert bad.status_code == 422 and t(app, "The quantity must be more than zero.") in html(bad)
    no_address = client.post(
        f"/harvests/{harvest['id']}/pre-order",
        data={**base, "quantity": "1", "fulfilment_method": "delivery", "idempotency_key": "b"},
    )
    assert no_address.status_code == 422 and t(app, "Give the delivery address.") in html(no_address)
    too_much = client.post(
        f"/harvests/{harvest['id']}/pre-order", data={**base, "quantity": "9", "idempotency_key": "c"}
    )
    assert too_much.status_code == 409
    assert t(app, "At most %(n)s.", n="8") in html(too_much)
    assert snapshot(app, harvest["id"]) == before


def test_the_buyer_cancels_her_pre_order_on_a_confirmation_page(app, client, market):
    harvest = announce(client, market)
    placed = pre_order(client, harvest, market.buyer, "3")
    page_login(client, market.other_buyer)
    assert client.get(f"/pre-orders/{placed['id']}/cancel").status_code == 404  # not hers
    page_login(client, market.buyer)
    confirm = client.get(f"/pre-orders/{placed['id']}/cancel")
    assert confirm.status_code == 200 and t(app, "Cancel this pre-order?") in html(confirm)
    done = client.post(f"/pre-orders/{placed['id']}/cancel", data={"note": ""})
    assert done.status_code == 302
    page = html(client.get(done.headers["Location"]))
    assert t(app, "The pre-order is cancelled.") in page and t(app, "cancelled") in page
    again = client.post(f"/pre-orders/{placed['id']}/cancel", data={})
    assert again.status_code == 409 and t(app, "This pre-order was cancelled already.") in html(again)


def test_the_coordinator_closes_records_once_and_sends_the_messages(app, client, market):
    harvest = announce(client, market)  # cap 8 kg, pro rata
    first, second = buyers(app, 2)
    pre_order(client, harvest, first, "6")
    pre_order(client, harvest, second, "2")
    page_login(client, market.lead)
    confirm = client.get(f"/harvests/{harvest['id']}/close")
    assert confirm.status_code == 200 and t(app, "Close this harvest for pre-orders?") in html(confirm)
    assert client.post(f"/harvests/{harvest['id']}/close", data={}).status_code == 302
    page = html(client.get(f"/harvests/{harvest['id']}"))
    assert t(app, "The harvest is closed for pre-orders.") in page
    key = key_of(page)
    lots = {f"lot-{market.siti.id}": "3", f"lot-{market.ani.id}": "1"}
    bad = client.post(f"/harvests/{harvest['id']}/record", data={"idempotency_key": key, f"lot-{market.siti.id}": "x"})
    assert bad.status_code == 422 and 'class="field-error"' in html(bad)
    empty = client.post(f"/harvests/{harvest['id']}/record", data={"idempotency_key": key})
    assert empty.status_code == 422
    assert t(app, "Enter what at least one member brought in. If there is no harvest, cancel it.") in html(empty)
    assert snapshot(app, harvest["id"])[1].value == "closed"
    done = client.post(f"/harvests/{harvest['id']}/record", data={"idempotency_key": key, **lots})
    assert done.status_code == 302, html(done)
    page = html(client.get(done.headers["Location"]))
    assert t(app, "What each buyer gets") in page and page.count("https://wa.me/") == 2
    assert "3 dari 6 kg" in page or t(app, "%(got)s of %(asked)s %(unit)s", got="3", asked="6", unit="kg") in page
    # the same form sent again: its first answer; another form: refused, clearly, nothing changed
    again = client.post(f"/harvests/{harvest['id']}/record", data={"idempotency_key": key, **lots})
    assert again.status_code == 302
    before = snapshot(app, harvest["id"])
    other = client.post(f"/harvests/{harvest['id']}/record", data={"idempotency_key": "another", **lots})
    assert other.status_code == 409 and t(app, "This harvest was recorded already.") in html(other)
    assert snapshot(app, harvest["id"]) == before
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_the_catalog_shows_a_pre_order_badge_on_a_product_with_an_open_harvest(app, client, market):
    announce(client, market)
    page = html(client.get("/catalog"))
    assert page.count('class="badge harvest"') == 1
    assert t(app, "Pre-order") in page


def test_a_kept_catalog_card_gains_and_loses_its_pre_order_badge_with_the_harvest(app, client, market, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 5)
    assert 'class="badge harvest"' not in html(client.get("/catalog"))  # every card rendered, and kept
    harvest = announce(client, market)
    assert html(client.get("/catalog")).count('class="badge harvest"') == 1
    post(client, f"/harvests/{harvest['id']}/cancel", market.lead, {"note": "hujan"}, status=200)
    assert 'class="badge harvest"' not in html(client.get("/catalog"))


def test_my_pre_orders_says_when_the_deposit_asked_is_not_paid_yet(app, client, market):
    harvest = announce(client, market, deposit_percent="20")
    made = pre_order(client, harvest, market.buyer, "2")
    assert made["deposit"] > 0
    page_login(client, market.buyer)
    page = html(client.get("/me/pre-orders"))
    unpaid = t(app, "%(asked)s, not paid yet", asked=rupiah(made["deposit"]))
    assert t(app, "deposit asked %(amount)s", amount=unpaid) in page

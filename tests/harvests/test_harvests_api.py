"""Harvest pre-orders through the API: retries answered as the first request, bad input refused with nothing
changed, pre-orders cancelled before the harvest (the deposit given back), harvests closed or cancelled, who may
do what, and the product page's label."""

import pytest

from tests.books import ledger_problems, stock_problems
from tests.factories import make_group, make_member
from tests.harvests.helpers import announce, buyers, next_week, ok, post, pre_order, preordered, record, snapshot
from tests.market import API, actor, create_product


def test_a_retried_pre_order_returns_the_first_and_another_body_with_its_key_is_refused(app, client, market):
    harvest = announce(client, market)
    (buyer,) = buyers(app, 1)
    first = pre_order(client, harvest, buyer, "2", key="k-1")
    again = client.post(
        f"{API}/harvests/{harvest['id']}/pre-orders",
        json={"quantity": "2"},
        headers={**buyer.headers, "Idempotency-Key": "k-1"},
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first["id"] and again.json["order_id"] == first["order_id"]
    before = snapshot(app, harvest["id"])
    other = pre_order(client, harvest, buyer, "3", key="k-1", status=422)
    assert "Idempotency-Key" in other["errors"]
    assert snapshot(app, harvest["id"]) == before and preordered(app, harvest["id"]) == 2


@pytest.mark.parametrize(
    "quantity",
    ["-1", "0", "1000000000", "0.0001", "abc", "", None, 2.5, True, "1e3", "8.001"],
)
def test_a_bad_quantity_or_one_past_the_cap_changes_nothing(app, client, market, quantity):
    harvest = announce(client, market)  # cap 8 kg
    (buyer,) = buyers(app, 1)
    before = snapshot(app, harvest["id"])
    answer = pre_order(client, harvest, buyer, quantity, status=None)
    assert answer.status_code in (409, 422), answer.json
    assert "quantity" in answer.json["errors"]
    assert snapshot(app, harvest["id"]) == before


def test_a_piece_unit_takes_whole_numbers_only(app, client, market):
    jahit = market.jahit
    harvest = post(
        client,
        f"/groups/{jahit.id}/harvests",
        market.jahit_lead,
        {
            "variant_id": market.daster,
            "expected_low": "10",
            "expected_high": "10",
            "week": "2026-12-14",
            "shortfall_rule": "first_come",
            "cap_percent": "55",
        },
        status=201,
    )
    assert harvest["cap"] == "5"  # 55 % of 10 pieces, down to a whole piece
    (buyer,) = buyers(app, 1)
    before = snapshot(app, harvest["id"])
    pre_order(client, harvest, buyer, "1.5", status=422)
    assert snapshot(app, harvest["id"]) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"variant_id": 999999}, "variant_id"),
        ({"variant_id": "x"}, "variant_id"),
        ({"expected_low": "-1"}, "expected_low"),
        ({"expected_high": "9"}, "expected_high"),
        ({"week": "2020-01-06"}, "week"),
        ({"week": "soon"}, "week"),
        ({"shortfall_rule": "lottery"}, "shortfall_rule"),
        ({"cap_percent": "0"}, "cap_percent"),
        ({"cap_percent": "101"}, "cap_percent"),
        ({"deposit_percent": "12.345"}, "deposit_percent"),
        ({"unit_price": -5}, "unit_price"),
        ({"cap_percent": "0.01", "expected_low": "1"}, "cap_percent"),
    ],
)
def test_a_bad_announcement_is_refused(app, client, market, body, field):
    answer = announce(client, market, status=422, **body)
    assert field in answer["errors"], answer


def test_another_groups_variant_and_another_groups_coordinator_are_refused(app, client, market):
    announce(client, market, variant_id=market.daster, status=422)  # the sewing group's
    harvest = announce(client, market)
    (buyer,) = buyers(app, 1)
    pre_order(client, harvest, buyer, "2")
    before = snapshot(app, harvest["id"])
    # The sewing group's coordinator may not record, close or cancel the farmers' harvest.
    record(client, market, harvest, [(market.siti, "5")], who=market.jahit_lead, status=403)
    post(client, f"/harvests/{harvest['id']}/close", market.jahit_lead, {}, status=403)
    post(client, f"/harvests/{harvest['id']}/cancel", market.jahit_lead, {}, status=403)
    # Nor a plain member; and the lots must be the group's members.
    record(client, market, harvest, [(market.siti, "5")], who=market.plain, status=403)
    answer = record(client, market, harvest, [(market.wati, "5")], status=422)
    assert "lots.0.member_id" in answer["errors"]
    answer = record(client, market, harvest, [(market.siti, "5"), (market.siti, "1")], status=422)
    assert "lots.1.member_id" in answer["errors"]
    record(client, market, harvest, [(market.siti, "-5")], status=422)
    assert snapshot(app, harvest["id"]) == before
    ok(client.get(f"{API}/harvests/999999"), 404)
    post(client, "/harvests/999999/pre-orders", buyer, {"quantity": "1"}, status=404)


def test_recording_twice_is_refused_and_a_retry_gets_the_first_result(app, client, market):
    harvest = announce(client, market)
    (buyer,) = buyers(app, 1)
    pre_order(client, harvest, buyer, "4")
    first = record(client, market, harvest, [(market.siti, "3")], key="in-1")
    before = snapshot(app, harvest["id"])
    again = client.post(
        f"{API}/harvests/{harvest['id']}/record",
        json={"lots": [{"member_id": market.siti.id, "quantity": "3"}]},
        headers={**market.lead.headers, "Idempotency-Key": "in-1"},
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["pre_orders"] == first["pre_orders"] and again.json["messages"] == first["messages"]
    record(client, market, harvest, [(market.siti, "4")], key="in-1", status=422)
    record(client, market, harvest, [(market.siti, "3")], key="in-2", status=409)
    record(client, market, harvest, [(market.siti, "3")], status=409)
    assert snapshot(app, harvest["id"]) == before
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_a_buyer_cancels_an_unpaid_pre_order_and_its_quantity_is_free_again(app, client, market):
    harvest = announce(client, market)
    a, b = buyers(app, 2)
    first = pre_order(client, harvest, a, "8")
    pre_order(client, harvest, b, "1", status=409)
    # Another buyer may not cancel it; the order cannot be cancelled on its own.
    post(client, f"/pre-orders/{first['id']}/cancel", b, {}, status=404)
    post(client, f"/orders/{first['order_id']}/cancel", a, {}, status=409)
    cancelled = post(client, f"/pre-orders/{first['id']}/cancel", a, {}, status=200)
    assert (cancelled["status"], cancelled["order_status"]) == ("cancelled", "cancelled")
    assert preordered(app, harvest["id"]) == 0
    post(client, f"/pre-orders/{first['id']}/cancel", a, {}, status=409)
    pre_order(client, harvest, b, "8")


def test_a_paid_deposit_is_given_back_when_the_coordinator_cancels_the_pre_order(app, client, market):
    harvest = announce(client, market, deposit_percent="25")
    (buyer,) = buyers(app, 1)
    made = pre_order(client, harvest, buyer, "2")
    assert made["deposit"] == 22500
    post(client, f"/orders/{made['order_id']}/payments", market.lead, {"method": "cash", "amount": 22500}, status=201)
    post(client, f"/pre-orders/{made['id']}/cancel", buyer, {}, status=409)  # money paid: the group gives it back
    cancelled = post(client, f"/pre-orders/{made['id']}/cancel", market.lead, {"note": "pembeli pindah"}, status=200)
    assert (cancelled["status"], cancelled["refunded"]) == ("cancelled", 22500)
    order = ok(client.get(f"{API}/orders/{made['order_id']}", headers=buyer.headers))
    assert (order["status"], order["refunded"]) == ("cancelled", 22500)
    assert preordered(app, harvest["id"]) == 0
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_closed_and_cancelled_harvests_take_no_pre_orders(app, client, market):
    harvest = announce(client, market, deposit_percent="10")
    a, b = buyers(app, 2)
    made = pre_order(client, harvest, a, "3")
    post(client, f"/orders/{made['order_id']}/payments", market.lead, {"method": "cash", "amount": 13500}, status=201)
    closed = post(client, f"/harvests/{harvest['id']}/close", market.lead, {}, status=200)
    assert (closed["status"], closed["left"]) == ("closed", "0")
    assert ok(client.get(f"{API}/harvests"))["items"] == []
    before = snapshot(app, harvest["id"])
    pre_order(client, harvest, b, "1", status=409)
    assert snapshot(app, harvest["id"]) == before
    cancelled = post(client, f"/harvests/{harvest['id']}/cancel", market.lead, {}, status=200)
    assert cancelled["status"] == "cancelled"
    assert [(p["status"], p["refunded"]) for p in cancelled["pre_orders"]] == [("cancelled", 13500)]
    before = snapshot(app, harvest["id"])
    pre_order(client, harvest, b, "1", status=409)
    record(client, market, harvest, [(market.siti, "3")], status=409)
    post(client, f"/harvests/{harvest['id']}/cancel", market.lead, {}, status=409)
    assert snapshot(app, harvest["id"]) == before
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_an_unverified_groups_harvest_is_not_offered(app, client):
    lead = actor(app, name="Pak Kadir")
    group = make_group(app, lead.user, name="Poktan Baru", kind="farmer", verified=False)
    product = create_product(client, group, lead.headers, name="Belimbing", kind="produce", unit="kg", unit_price=9000)
    make_member(app, group, name="Sumi")
    body = {
        "variant_id": product["variants"][0]["id"],
        "expected_low": "50",
        "expected_high": "60",
        "week": "2026-12-21",
        "shortfall_rule": "pro_rata",
    }
    harvest = post(client, f"/groups/{group.id}/harvests", lead, body, status=201)
    assert ok(client.get(f"{API}/harvests"))["items"] == []
    ok(client.get(f"{API}/harvests/{harvest['id']}"), 404)
    (buyer,) = buyers(app, 1, prefix="Sekolah")
    post(client, f"/harvests/{harvest['id']}/pre-orders", buyer, {"quantity": "1"}, status=404)


def test_the_product_page_labels_a_harvest_open_for_pre_orders_with_the_quota_left(app, client, market):
    harvest = announce(client, market)
    (buyer,) = buyers(app, 1)
    pre_order(client, harvest, buyer, "2.5")
    page = client.get(f"/products/{market.cabai_product}").get_data(as_text=True)
    assert "Pre-order: panen minggu depan" in page
    assert "5,5 kg" in page  # the quota left
    post(client, f"/harvests/{harvest['id']}/close", market.lead, {}, status=200)
    assert "Pre-order: panen" not in client.get(f"/products/{market.cabai_product}").get_data(as_text=True)


def test_a_group_lists_its_harvests_and_only_its_bookkeepers_see_the_pre_orders(app, client, market):
    harvest = announce(client, market)
    (buyer,) = buyers(app, 1)
    pre_order(client, harvest, buyer, "1")
    listed = ok(client.get(f"{API}/groups/{market.tani.id}/harvests", headers=market.lead.headers))
    assert [h["id"] for h in listed["items"]] == [harvest["id"]] and len(listed["items"][0]["pre_orders"]) == 1
    seen = ok(client.get(f"{API}/groups/{market.tani.id}/harvests", headers=market.plain.headers))
    assert "pre_orders" not in seen["items"][0]
    ok(client.get(f"{API}/groups/{market.tani.id}/harvests", headers=buyer.headers), 403)
    assert "pre_orders" not in ok(client.get(f"{API}/harvests/{harvest['id']}", headers=buyer.headers))


def test_an_anonymous_caller_a_buyer_and_a_member_cannot_announce_record_close_or_cancel(app, client, market):
    harvest = announce(client, market)
    (buyer,) = buyers(app, 1)
    pre_order(client, harvest, buyer, "2")
    before = snapshot(app, harvest["id"])
    anonymous = type("Anonymous", (), {"headers": {}})()
    body = {
        "variant_id": market.cabai_a,
        "expected_low": "5",
        "expected_high": "8",
        "week": next_week(),
        "shortfall_rule": "pro_rata",
    }
    for who, status in ((anonymous, 401), (buyer, 403), (market.plain, 403), (market.jahit_lead, 403)):
        post(client, f"/groups/{market.tani.id}/harvests", who, body, status=status)
        record(client, market, harvest, [(market.siti, "5")], who=who, status=status)
        post(client, f"/harvests/{harvest['id']}/close", who, {}, status=status)
        post(client, f"/harvests/{harvest['id']}/cancel", who, {}, status=status)
    pre_order(client, harvest, anonymous, "1", status=401)
    ok(client.get(f"{API}/me/pre-orders"), 401)
    assert snapshot(app, harvest["id"]) == before

"""The checkout and order API: one checkout, one order per group, all or nothing, retry-safe, guarded lifecycle.

Every refused request is checked to have changed nothing: checkouts, orders, their
lines, events and lot allocations, stock counters, lots and movements are compared
before and after.
"""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.extensions import db
from inventory.models import Lot, Movement, MovementKind
from marketplace.models import Checkout, Order
from marketplace.services import today_wib
from tests.books import stock_problems
from tests.factories import assert_error
from tests.market import (
    API,
    act,
    body_of,
    contribute,
    count,
    counters,
    create_product,
    get_order,
    moved,
    movements,
    placed,
    post_checkout,
    state,
)

# --- the whole flow -------------------------------------------------------------------------


def test_whole_flow_from_checkout_to_completed_orders(app, client, market):
    day = today_wib() + timedelta(days=2)
    body = body_of(
        (market.cabai_a, "2.5"),
        (market.daster, 2),
        method="delivery",
        address="Jl. Merdeka 12, Sumberejo",
        note="Pagar hijau",
        date=day.isoformat(),
        payment="transfer",
    )

    response = post_checkout(client, market.buyer, body, key="tap-1")

    assert response.status_code == 201, response.json
    assert "Idempotent-Replayed" not in response.headers
    checkout = response.json
    assert checkout["total"] == 112500 + 170000
    assert checkout["currency"] == "IDR" and checkout["payment_method"] == "transfer"
    tani_order, jahit_order = sorted(checkout["orders"], key=lambda o: o["group_id"] != market.tani.id)
    assert tani_order["group"] == {
        "id": market.tani.id,
        "name": "Poktan Sumber Rejeki",
        "pickup_point": "Balai Desa Sumberejo",
        "pickup_hours": "Sabtu 07.00-10.00",
    }
    assert tani_order["buyer"] == {"id": market.buyer.id, "name": "Bu Endang"}
    assert tani_order["checkout_id"] == checkout["id"]
    assert tani_order["status"] == "placed" and tani_order["payment_status"] == "unpaid"
    assert tani_order["payment_method"] == "transfer"
    assert (tani_order["paid"], tani_order["refunded"], tani_order["currency"]) == (0, 0, "IDR")
    assert tani_order["fulfilment"] == {
        "method": "delivery",
        "date": day.isoformat(),
        "address": "Jl. Merdeka 12, Sumberejo",
        "note": "Pagar hijau",
    }
    assert tani_order["expires_at"] is None  # only card orders have a payment window
    [line] = tani_order["lines"]
    assert line == {
        "id": line["id"],
        "variant_id": market.cabai_a,
        "product_name": "Cabai rawit",
        "variant_label": "Grade A",
        "unit": "kg",
        "quantity": "2.5",
        "unit_price": 45000,
        "total": 112500,
    }
    assert tani_order["total"] == 112500 and jahit_order["total"] == 170000
    assert [(e["from"], e["to"], e["actor_id"]) for e in tani_order["events"]] == [(None, "placed", market.buyer.id)]
    assert counters(app, market.cabai_a) == (Decimal(5), Decimal("2.5"))
    assert counters(app, market.daster) == (Decimal(3), Decimal(2))

    assert client.get(f"{API}/checkouts/{checkout['id']}", headers=market.buyer.headers).json == checkout
    mine = client.get(f"{API}/orders", headers=market.buyer.headers).json
    assert mine["total"] == 2 and [o["id"] for o in mine["items"]] == [jahit_order["id"], tani_order["id"]]
    theirs = client.get(f"{API}/orders?group_id={market.tani.id}", headers=market.lead.headers).json
    assert [o["id"] for o in theirs["items"]] == [tani_order["id"]]

    order_id = tani_order["id"]
    confirmed = moved(client, order_id, "confirm", market.lead)
    assert confirmed["status"] == "confirmed"
    ready = moved(client, order_id, "ready", market.lead)
    assert ready["status"] == "ready"
    assert ready["lines"][0]["allocations"] == [
        {"lot_id": market.siti_lot, "member_id": market.siti.id, "quantity": "2"},
        {"lot_id": market.ani_lot, "member_id": market.ani.id, "quantity": "0.5"},
    ]
    assert counters(app, market.cabai_a) == (Decimal("2.5"), Decimal(0))
    assert_error(act(client, order_id, "complete", market.lead), 409, "payment_status")
    done = moved(client, order_id, "complete", market.lead, payment={"amount": ready["total"]})
    assert done["status"] == "completed"
    assert (done["paid"], done["payment_status"], done["owed"]) == (ready["total"], "paid", 0)
    assert [(e["from"], e["to"], e["actor_id"]) for e in done["events"]] == [
        (None, "placed", market.buyer.id),
        ("placed", "confirmed", market.lead.id),
        ("confirmed", "ready", market.lead.id),
        ("ready", "completed", market.lead.id),
    ]
    assert all(datetime.fromisoformat(e["at"]).tzinfo is not None for e in done["events"])

    seen_by_buyer = get_order(client, order_id, market.buyer).json
    assert seen_by_buyer["status"] == "completed"
    assert "allocations" not in seen_by_buyer["lines"][0]
    cancelled = moved(client, jahit_order["id"], "cancel", market.buyer, reason="Salah ukuran")
    assert cancelled["status"] == "cancelled" and cancelled["events"][-1]["note"] == "Salah ukuran"
    assert counters(app, market.daster) == (Decimal(3), Decimal(0))
    assert stock_problems(app) == []


# --- checkout: orders per group, totals ----------------------------------------------------


def test_checkout_makes_one_order_per_group_with_exact_totals(app, client, market):
    body = body_of((market.cabai_a, "2.5"), (market.tomat, "0.5"), (market.cabai_b, "0.001"), (market.daster, "1"))

    checkout = placed(client, market.buyer, body)

    assert len(checkout["orders"]) == 2
    by_group = {o["group_id"]: o for o in checkout["orders"]}
    tani = by_group[market.tani.id]
    totals = {line["variant_id"]: line["total"] for line in tani["lines"]}
    # 2.5 kg x Rp45.000; 0.5 kg x Rp4.001 = Rp2.000,5 -> Rp2.001; 1 g x Rp30.000 = Rp30
    assert totals == {market.cabai_a: 112500, market.tomat: 2001, market.cabai_b: 30}
    assert tani["total"] == 112500 + 2001 + 30
    assert by_group[market.jahit.id]["total"] == 85000
    assert by_group[market.jahit.id]["lines"][0]["quantity"] == "1"
    assert checkout["total"] == tani["total"] + 85000
    with app.app_context():
        assert db.session.get(Checkout, checkout["id"]).total == checkout["total"]
        assert {o.group_id: o.total for o in db.session.scalars(select(Order))} == {
            market.tani.id: tani["total"],
            market.jahit.id: 85000,
        }


def test_the_answer_is_what_was_stored_and_each_line_has_its_reservation(app, client, market):
    body = body_of((market.cabai_a, "2.5"), (market.tomat, "0.5"), (market.daster, "1"))

    checkout = placed(client, market.buyer, body)

    # Built from the rows as they were written; read back afresh it is the same, to the last field.
    again = client.get(f"{API}/checkouts/{checkout['id']}", headers=market.buyer.headers)
    assert again.status_code == 200 and again.json == checkout
    lines = {
        f"order_line:{line['id']}": (order["group_id"], line["variant_id"], Decimal(line["quantity"]))
        for order in checkout["orders"]
        for line in order["lines"]
    }
    with app.app_context():
        movements = db.session.scalars(select(Movement).where(Movement.kind == MovementKind.reservation)).all()
        assert {m.reference: (m.group_id, m.variant_id, m.reserved_delta) for m in movements} == lines
        assert all(m.on_hand_delta == 0 and m.actor_id == market.buyer.id for m in movements)


def test_half_rupiah_rounds_up(app, client, market):
    # 0.25 kg x Rp4.001 = Rp1.000,25 -> Rp1.000; 0.125 kg x Rp4.001 = Rp500,125 -> Rp500; 0.5 -> Rp2.001
    checkout = placed(client, market.buyer, body_of((market.tomat, "0.5")))
    assert checkout["orders"][0]["lines"][0]["total"] == 2001
    checkout = placed(client, market.buyer, body_of((market.tomat, "0.25")))
    assert checkout["orders"][0]["lines"][0]["total"] == 1000


def test_lines_of_one_variant_are_added_together(app, client, market):
    checkout = placed(client, market.buyer, body_of((market.cabai_a, "1"), (market.cabai_a, "1.5")))

    [order] = checkout["orders"]
    [line] = order["lines"]
    assert line["quantity"] == "2.5" and line["total"] == 112500
    assert counters(app, market.cabai_a) == (Decimal(5), Decimal("2.5"))


def test_card_orders_get_a_payment_window(app, client, market):
    checkout = placed(client, market.buyer, body_of((market.daster, "1"), payment="card"))

    [order] = checkout["orders"]
    expires = datetime.fromisoformat(order["expires_at"])
    created = datetime.fromisoformat(order["created_at"])
    assert timedelta(minutes=29) < expires - created <= timedelta(minutes=31)


def test_fulfilment_day_may_be_today_or_up_to_30_days_ahead(app, client, market):
    for day in (today_wib(), today_wib() + timedelta(days=30)):
        checkout = placed(client, market.buyer, body_of((market.daster, "1"), date=day.isoformat()))
        assert checkout["orders"][0]["fulfilment"]["date"] == day.isoformat()
    without = placed(client, market.buyer, body_of((market.daster, "1")))
    assert without["orders"][0]["fulfilment"]["date"] == today_wib().isoformat()


def test_pickup_keeps_no_address(app, client, market):
    checkout = placed(client, market.buyer, body_of((market.daster, "1"), address="Jl. Mawar 3"))
    assert checkout["orders"][0]["fulfilment"]["address"] is None


def test_any_groups_active_variant_is_buyable_even_by_another_groups_coordinator(app, client, market):
    checkout = placed(client, market.jahit_lead, body_of((market.cabai_a, "1")))

    [order] = checkout["orders"]
    assert order["group_id"] == market.tani.id and order["buyer"]["id"] == market.jahit_lead.id
    assert get_order(client, order["id"], market.jahit_lead).status_code == 200


def test_group_defined_units_keep_their_own_rule_for_whole_numbers(app, client, market):
    for code, whole in (("ember", False), ("tandan", True)):
        response = client.post(
            f"{API}/groups/{market.tani.id}/units", json={"code": code, "whole": whole}, headers=market.lead.headers
        )
        assert response.status_code == 201, response.json
    ember = create_product(
        client, market.tani, market.lead.headers, name="Susu kambing", kind="processed", unit="ember", unit_price=20000
    )["variants"][0]["id"]
    tandan = create_product(
        client, market.tani, market.lead.headers, name="Pisang", kind="produce", unit="tandan", unit_price=30000
    )["variants"][0]["id"]
    contribute(client, market.tani, market.lead.headers, ember, market.siti, "5")
    contribute(client, market.tani, market.lead.headers, tandan, market.siti, "5")

    checkout = placed(client, market.buyer, body_of((ember, "1.5")))
    assert checkout["total"] == 30000
    before = state(app)
    body = assert_error(post_checkout(client, market.buyer, body_of((tandan, "1.5"))), 422, "lines.0.quantity")
    assert "tandan" in body["errors"]["lines.0.quantity"][0]
    assert state(app) == before


# --- all or nothing --------------------------------------------------------------------------


def test_checkout_with_one_short_line_returns_409_listing_it_and_reserves_nothing(app, client, market):
    before = state(app)
    body = body_of((market.cabai_a, "2"), (market.tomat, "1"), (market.daster, "5"))

    response = post_checkout(client, market.buyer, body, key="short-1")

    error = assert_error(response, 409, "lines")
    assert error["errors"]["lines"] == [{"variant_id": market.daster, "requested": "5", "available": "3"}]
    assert state(app) == before
    assert count(app, Checkout) == 0 and count(app, Order) == 0
    assert counters(app, market.cabai_a) == (Decimal(5), Decimal(0))
    assert movements(app, MovementKind.reservation) == 0


def test_every_short_line_is_listed(app, client, market):
    placed(client, market.other_buyer, body_of((market.cabai_a, "4")))
    before = state(app)

    response = post_checkout(
        client, market.buyer, body_of((market.daster, "4"), (market.cabai_a, "1.5"), (market.tomat, "1"))
    )

    error = assert_error(response, 409, "lines")
    assert sorted(error["errors"]["lines"], key=lambda s: s["variant_id"]) == sorted(
        [
            {"variant_id": market.cabai_a, "requested": "1.5", "available": "1"},
            {"variant_id": market.daster, "requested": "4", "available": "3"},
        ],
        key=lambda s: s["variant_id"],
    )
    assert state(app) == before


def test_a_refused_checkout_leaves_its_key_free_for_the_retry(app, client, market):
    body = body_of((market.daster, "4"))
    assert_error(post_checkout(client, market.buyer, body, key="later"), 409, "lines")
    contribute(client, market.jahit, market.jahit_lead.headers, market.daster, market.wati, "1")

    response = post_checkout(client, market.buyer, body, key="later")

    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert counters(app, market.daster) == (Decimal(4), Decimal(4))


# --- idempotency ------------------------------------------------------------------------------


def test_idempotent_retry_returns_the_first_checkout_and_reserves_once(app, client, market):
    body = body_of((market.cabai_a, "1"), (market.daster, "1"))
    first = post_checkout(client, market.buyer, body, key="double-tap")
    assert first.status_code == 201
    before = state(app)

    again = post_checkout(client, market.buyer, body, key="double-tap")
    reordered = post_checkout(
        client,
        market.buyer,
        {"payment_method": "cash", "fulfilment": body["fulfilment"], "lines": body["lines"]},
        key="double-tap",
    )

    for retry in (again, reordered):
        assert retry.status_code == 201
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json == first.json
    assert state(app) == before
    assert count(app, Checkout) == 1 and count(app, Order) == 2
    assert counters(app, market.cabai_a) == (Decimal(5), Decimal(1))
    assert movements(app, MovementKind.reservation) == 2


def test_same_key_with_another_body_is_refused(app, client, market):
    placed(client, market.buyer, body_of((market.cabai_a, "1")), key="k-1")
    before = state(app)

    for other in (
        body_of((market.cabai_a, "2")),
        body_of((market.cabai_a, "1"), payment="card"),
        body_of((market.cabai_a, "1"), method="delivery", address="Jl. Kenanga 1"),
    ):
        assert_error(post_checkout(client, market.buyer, other, key="k-1"), 422, "Idempotency-Key")
    assert state(app) == before


def test_idempotency_key_over_100_characters_is_refused(app, client, market):
    before = state(app)
    assert_error(
        post_checkout(client, market.buyer, body_of((market.cabai_a, "1")), key="k" * 101), 422, "Idempotency-Key"
    )
    assert state(app) == before
    assert post_checkout(client, market.buyer, body_of((market.cabai_a, "1")), key="k" * 100).status_code == 201


def test_different_buyers_may_use_the_same_key(app, client, market):
    mine = placed(client, market.buyer, body_of((market.cabai_a, "1")), key="order-1")
    theirs = placed(client, market.other_buyer, body_of((market.cabai_a, "1")), key="order-1")

    assert mine["id"] != theirs["id"]
    assert counters(app, market.cabai_a) == (Decimal(5), Decimal(2))


def test_without_a_key_every_post_is_a_new_checkout(app, client, market):
    body = body_of((market.cabai_a, "1"))
    assert placed(client, market.buyer, body)["id"] != placed(client, market.buyer, body)["id"]
    assert counters(app, market.cabai_a) == (Decimal(5), Decimal(2))


# --- the lifecycle ---------------------------------------------------------------------------


def _order(client, market, *lines, buyer=None) -> int:
    checkout = placed(client, buyer or market.buyer, body_of(*(lines or ((market.cabai_a, "2.5"),))))
    return checkout["orders"][0]["id"]


def _to(client, market, order_id, *steps) -> None:
    for step in steps:
        if step == "complete":  # handed over: paid in cash at pickup
            owed = get_order(client, order_id, market.lead).json["owed"]
            moved(client, order_id, step, market.lead, payment={"amount": owed})
            continue
        moved(client, order_id, step, market.buyer if step == "cancel" else market.lead)


@pytest.mark.parametrize(
    "path, action",
    [
        ((), "complete"),
        ((), "ready"),
        (("confirm",), "confirm"),
        (("confirm",), "complete"),
        (("confirm", "ready"), "ready"),
        (("confirm", "ready"), "confirm"),
        (("confirm", "ready"), "cancel"),
        (("confirm", "ready", "complete"), "complete"),
        (("confirm", "ready", "complete"), "cancel"),
        (("cancel",), "confirm"),
        (("cancel",), "ready"),
        (("cancel",), "complete"),
        (("cancel",), "cancel"),
        (("confirm", "cancel"), "ready"),
    ],
)
def test_transition_not_allowed_returns_409_and_changes_nothing(app, client, market, path, action):
    order_id = _order(client, market)
    _to(client, market, order_id, *path)
    before = state(app)

    response = act(client, order_id, action, market.lead)

    body = assert_error(response, 409, "status")
    assert body["errors"]["status"] == [get_order(client, order_id, market.lead).json["status"]]
    assert state(app) == before


def test_buyer_cannot_cancel_once_ready(app, client, market):
    order_id = _order(client, market)
    _to(client, market, order_id, "confirm", "ready")
    before = state(app)

    assert_error(act(client, order_id, "cancel", market.buyer), 409, "status")
    assert state(app) == before


def test_cancel_releases_the_reservation(app, client, market):
    order_id = _order(client, market, (market.cabai_a, "2.5"), (market.tomat, "1"))
    assert counters(app, market.cabai_a) == (Decimal(5), Decimal("2.5"))

    cancelled = moved(client, order_id, "cancel", market.buyer)

    assert cancelled["status"] == "cancelled"
    assert cancelled["events"][-1] == {
        "from": "placed",
        "to": "cancelled",
        "actor_id": market.buyer.id,
        "at": cancelled["events"][-1]["at"],
        "note": None,
    }
    assert counters(app, market.cabai_a) == (Decimal(5), Decimal(0))
    assert counters(app, market.tomat) == (Decimal(10), Decimal(0))
    assert movements(app, MovementKind.release) == 2
    assert stock_problems(app) == []


def test_coordinator_cancels_a_confirmed_order_with_a_reason(app, client, market):
    order_id = _order(client, market)
    _to(client, market, order_id, "confirm")

    cancelled = moved(client, order_id, "cancel", market.lead, reason="  Panen gagal karena hujan  ")

    assert cancelled["events"][-1]["from"] == "confirmed" and cancelled["events"][-1]["actor_id"] == market.lead.id
    assert cancelled["events"][-1]["note"] == "Panen gagal karena hujan"
    assert counters(app, market.cabai_a) == (Decimal(5), Decimal(0))


@pytest.mark.parametrize("reason", ["x" * 501, 12, ["a"], "bad\x00text"])
def test_cancel_with_a_bad_reason_is_refused_and_changes_nothing(app, client, market, reason):
    order_id = _order(client, market)
    before = state(app)

    assert_error(act(client, order_id, "cancel", market.buyer, reason=reason), 422, "reason")
    assert state(app) == before


def test_ready_takes_units_from_lots_first_in_first_out_across_orders(app, client, market):
    first = _order(client, market, (market.cabai_a, "1.5"))
    second = _order(client, market, (market.cabai_a, "1.5"), buyer=market.other_buyer)
    for order_id in (second, first):  # packed in another order than placed: FIFO follows the lots
        _to(client, market, order_id, "confirm", "ready")

    coordinator_view = get_order(client, second, market.lead).json
    assert coordinator_view["lines"][0]["allocations"] == [
        {"lot_id": market.siti_lot, "member_id": market.siti.id, "quantity": "1.5"}
    ]
    assert get_order(client, first, market.lead).json["lines"][0]["allocations"] == [
        {"lot_id": market.siti_lot, "member_id": market.siti.id, "quantity": "0.5"},
        {"lot_id": market.ani_lot, "member_id": market.ani.id, "quantity": "1"},
    ]
    with app.app_context():
        remaining = dict(
            db.session.execute(select(Lot.id, Lot.remaining).where(Lot.variant_id == market.cabai_a)).all()
        )
        assert remaining == {market.siti_lot: Decimal(0), market.ani_lot: Decimal(2)}
        sales = db.session.scalars(select(Movement).where(Movement.kind == MovementKind.sale)).all()
        assert sorted((m.lot_id, m.on_hand_delta) for m in sales) == sorted(
            [(market.siti_lot, Decimal("-1.5")), (market.siti_lot, Decimal("-0.5")), (market.ani_lot, Decimal(-1))]
        )
    assert counters(app, market.cabai_a) == (Decimal(2), Decimal(0))
    assert stock_problems(app) == []


def test_allocations_show_to_coordinator_and_treasurer_only(app, client, market):
    order_id = _order(client, market)
    _to(client, market, order_id, "confirm", "ready")

    for who in (market.lead, market.treasurer):
        line = get_order(client, order_id, who).json["lines"][0]
        assert [a["member_id"] for a in line["allocations"]] == [market.siti.id, market.ani.id]
    for who in (market.buyer, market.admin):
        response = get_order(client, order_id, who)
        assert response.status_code == 200
        assert "allocations" not in response.json["lines"][0]
    listed = client.get(f"{API}/orders", headers=market.buyer.headers).json["items"][0]
    assert "allocations" not in listed["lines"][0]
    listed = client.get(f"{API}/orders?group_id={market.tani.id}", headers=market.treasurer.headers).json["items"][0]
    assert len(listed["lines"][0]["allocations"]) == 2


# --- who may do what -------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["confirm", "ready", "complete"])
def test_buyer_cannot_act_as_coordinator(app, client, market, action):
    order_id = _order(client, market)
    if action == "complete":
        _to(client, market, order_id, "confirm", "ready")
    elif action == "ready":
        _to(client, market, order_id, "confirm")
    before = state(app)

    assert_error(act(client, order_id, action, market.buyer), 403)
    assert state(app) == before


@pytest.mark.parametrize("who", ["treasurer", "plain", "admin"])
def test_only_the_coordinator_moves_an_order(app, client, market, who):
    order_id = _order(client, market)
    before = state(app)
    person = getattr(market, who)

    for action in ("confirm", "cancel"):
        response = act(client, order_id, action, person)
        assert response.status_code in (403, 404), response.json
        assert_error(response, response.status_code)
    assert state(app) == before


def test_a_plain_member_cannot_see_the_groups_orders(app, client, market):
    order_id = _order(client, market)

    assert_error(get_order(client, order_id, market.plain), 404)
    assert_error(client.get(f"{API}/orders?group_id={market.tani.id}", headers=market.plain.headers), 403)


def test_another_groups_coordinator_cannot_see_or_act(app, client, market):
    order_id = _order(client, market)
    before = state(app)

    assert_error(get_order(client, order_id, market.jahit_lead), 404)
    for action in ("confirm", "ready", "complete", "cancel"):
        response = act(client, order_id, action, market.jahit_lead)
        assert response.status_code in (403, 404)
        assert_error(response, response.status_code)
    assert_error(client.get(f"{API}/orders?group_id={market.tani.id}", headers=market.jahit_lead.headers), 403)
    assert state(app) == before


def test_a_buyer_cannot_see_or_touch_anothers_orders(app, client, market):
    checkout = placed(client, market.buyer, body_of((market.cabai_a, "1")))
    order_id = checkout["orders"][0]["id"]
    before = state(app)

    assert_error(get_order(client, order_id, market.other_buyer), 404)
    assert_error(client.get(f"{API}/checkouts/{checkout['id']}", headers=market.other_buyer.headers), 404)
    assert_error(act(client, order_id, "cancel", market.other_buyer), 404)
    assert client.get(f"{API}/orders", headers=market.other_buyer.headers).json["total"] == 0
    assert_error(client.get(f"{API}/orders?group_id={market.tani.id}", headers=market.buyer.headers), 403)
    assert state(app) == before


def test_anonymous_requests_get_401_and_change_nothing(app, client, market):
    checkout = placed(client, market.buyer, body_of((market.cabai_a, "1")))
    order_id = checkout["orders"][0]["id"]
    before = state(app)

    assert_error(client.post(f"{API}/checkouts", json=body_of((market.cabai_a, "1"))), 401)
    assert_error(client.get(f"{API}/checkouts/{checkout['id']}"), 401)
    assert_error(client.get(f"{API}/orders"), 401)
    assert_error(client.get(f"{API}/orders/{order_id}"), 401)
    for action in ("confirm", "ready", "complete", "cancel"):
        assert_error(client.post(f"{API}/orders/{order_id}/{action}"), 401)
    assert_error(client.get(f"{API}/orders", headers={"Authorization": "Bearer nope"}), 401)
    assert state(app) == before


def test_unknown_orders_and_checkouts_are_404(app, client, market):
    for path in ("/orders/999", "/orders/99999999999", "/checkouts/999", "/checkouts/99999999999"):
        assert_error(client.get(f"{API}{path}", headers=market.buyer.headers), 404)
    assert_error(act(client, 999, "confirm", market.lead), 404)
    assert_error(client.get(f"{API}/orders?group_id=999", headers=market.lead.headers), 404)


# --- listing orders ---------------------------------------------------------------------------


def test_group_orders_filter_by_status_and_fulfilment_day(app, client, market):
    today, later = today_wib(), today_wib() + timedelta(days=3)
    a = placed(client, market.buyer, body_of((market.cabai_a, "1"), date=today.isoformat()))["orders"][0]["id"]
    b = placed(client, market.other_buyer, body_of((market.cabai_a, "1"), date=later.isoformat()))["orders"][0]["id"]
    c = placed(client, market.buyer, body_of((market.tomat, "1"), date=later.isoformat()))["orders"][0]["id"]
    placed(client, market.buyer, body_of((market.daster, "1"), date=later.isoformat()))
    _to(client, market, b, "confirm")

    def ids(query, who=market.lead):
        response = client.get(f"{API}/orders?group_id={market.tani.id}&{query}", headers=who.headers)
        assert response.status_code == 200, response.json
        return [o["id"] for o in response.json["items"]]

    assert ids("") == [a, b, c]
    assert ids(f"date={later.isoformat()}") == [b, c]
    assert ids("status=confirmed") == [b]
    assert ids(f"status=placed&date={later.isoformat()}") == [c]
    assert ids("", who=market.treasurer) == [a, b, c]
    page = client.get(f"{API}/orders?group_id={market.tani.id}&per_page=2&page=2", headers=market.lead.headers).json
    assert (page["page"], page["per_page"], page["total"], [o["id"] for o in page["items"]]) == (2, 2, 3, [c])
    mine = client.get(f"{API}/orders?date={later.isoformat()}", headers=market.buyer.headers).json
    assert mine["total"] == 2 and all(o["buyer"]["id"] == market.buyer.id for o in mine["items"])
    assert client.get(f"{API}/orders?status=confirmed", headers=market.buyer.headers).json["total"] == 0


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=lost", "status"),
        ("date=besok", "date"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("group_id=abc", "group_id"),
        ("group_id=0", "group_id"),
    ],
)
def test_bad_order_list_queries_are_422(client, market, query, field):
    assert_error(client.get(f"{API}/orders?{query}", headers=market.lead.headers), 422, field)


# --- bad input ---------------------------------------------------------------------------------


@pytest.fixture
def unbuyable(app, client, market):
    """Variants that exist, with stock, but are not for sale: hidden, archived, or inactive."""
    found = {}
    for status in ("hidden", "archived"):
        product = create_product(
            client,
            market.tani,
            market.lead.headers,
            name=f"Jagung {status}",
            kind="produce",
            unit="kg",
            unit_price=8000,
        )
        variant = product["variants"][0]["id"]
        contribute(client, market.tani, market.lead.headers, variant, market.siti, "5")
        assert (
            client.patch(
                f"{API}/products/{product['id']}", json={"status": status}, headers=market.lead.headers
            ).status_code
            == 200
        )
        found[status] = variant
    product = create_product(
        client,
        market.tani,
        market.lead.headers,
        name="Kacang",
        kind="produce",
        unit="kg",
        variants=[{"label": "Kupas", "unit_price": 20000}, {"label": "Kulit", "unit_price": 15000}],
    )
    inactive = product["variants"][1]["id"]
    contribute(client, market.tani, market.lead.headers, inactive, market.siti, "5")
    assert (
        client.patch(f"{API}/variants/{inactive}", json={"active": False}, headers=market.lead.headers).status_code
        == 200
    )
    found["inactive"] = inactive
    return found


def _line(variant, quantity):
    """A one-line body; `variant` names a variant of the market fixture, or is the raw id to send."""
    return lambda m, u: body_of((getattr(m, variant) if variant in ("cabai_a", "daster") else variant, quantity))


def _with(change):
    def build(m, u):
        body = body_of((m.cabai_a, "1"))
        change(body, m)
        return body

    return build


def _fulfilment(**fields):
    """A change to the fulfilment; a callable value is read when the test runs (a day counts from that day in WIB,
    not from when the tests were collected, which may be the day before)."""
    return _with(lambda body, m: body["fulfilment"].update({k: v() if callable(v) else v for k, v in fields.items()}))


def _days(n: int) -> str:
    return (today_wib() + timedelta(days=n)).isoformat()


BAD_CHECKOUTS = {
    "missing lines": (_with(lambda b, m: b.pop("lines")), "lines"),
    "empty lines": (_with(lambda b, m: b.update(lines=[])), "lines"),
    "null lines": (_with(lambda b, m: b.update(lines=None)), "lines"),
    "lines not a list": (_with(lambda b, m: b.update(lines="cabai")), "lines"),
    "51 lines": (_with(lambda b, m: b.update(lines=[{"variant_id": m.cabai_a, "quantity": "0.01"}] * 51)), "lines"),
    "line not an object": (_with(lambda b, m: b.update(lines=[m.cabai_a])), "lines"),
    "unknown field in a line": (_with(lambda b, m: b["lines"][0].update(price=1)), "lines"),
    "unknown variant": (_line(999999, "1"), "lines.0.variant_id"),
    "variant id too large": (_line(2**31, "1"), "lines.0.variant_id"),
    "variant id zero": (_line(0, "1"), "lines.0.variant_id"),
    "variant id as text": (_line("1", "1"), "lines.0.variant_id"),
    "variant id true": (_line(True, "1"), "lines.0.variant_id"),
    "missing variant id": (_with(lambda b, m: b["lines"][0].pop("variant_id")), "lines.0.variant_id"),
    "hidden product": (lambda m, u: body_of((m.cabai_a, "1"), (u["hidden"], "1")), "lines.1.variant_id"),
    "archived product": (lambda m, u: body_of((u["archived"], "1")), "lines.0.variant_id"),
    "inactive variant": (lambda m, u: body_of((u["inactive"], "1")), "lines.0.variant_id"),
    "quantity abc": (_line("cabai_a", "abc"), "lines.0.quantity"),
    "quantity zero": (_line("cabai_a", 0), "lines.0.quantity"),
    "quantity zero text": (_line("cabai_a", "0.000"), "lines.0.quantity"),
    "quantity negative": (_line("cabai_a", -1), "lines.0.quantity"),
    "quantity as a JSON float": (_line("cabai_a", 2.5), "lines.0.quantity"),
    "quantity with 4 places": (_line("cabai_a", "1.2345"), "lines.0.quantity"),
    "fraction of a piece": (_line("daster", "1.5"), "lines.0.quantity"),
    "absurd quantity": (_line("cabai_a", "1000000000"), "lines.0.quantity"),
    "endless digits": (_line("cabai_a", "9" * 40), "lines.0.quantity"),
    "quantity in exponent form": (_line("cabai_a", "1e3"), "lines.0.quantity"),
    "quantity null": (_line("cabai_a", None), "lines.0.quantity"),
    "quantity true": (_line("cabai_a", True), "lines.0.quantity"),
    "missing quantity": (_with(lambda b, m: b["lines"][0].pop("quantity")), "lines.0.quantity"),
    "unknown payment method": (_with(lambda b, m: b.update(payment_method="bitcoin")), "payment_method"),
    "missing payment method": (_with(lambda b, m: b.pop("payment_method")), "payment_method"),
    "payment method an object": (_with(lambda b, m: b.update(payment_method={"x": 1})), "payment_method"),
    "missing fulfilment": (_with(lambda b, m: b.pop("fulfilment")), "fulfilment"),
    "fulfilment a string": (_with(lambda b, m: b.update(fulfilment="pickup")), "fulfilment"),
    "unknown fulfilment method": (_fulfilment(method="drone"), "fulfilment.method"),
    "delivery without address": (_fulfilment(method="delivery"), "fulfilment.address"),
    "delivery to a blank address": (_fulfilment(method="delivery", address="   "), "fulfilment.address"),
    "address too long": (_fulfilment(method="delivery", address="J" * 501), "fulfilment.address"),
    "address with a NUL": (_fulfilment(method="delivery", address="Jl. Mawar\x00"), "fulfilment.address"),
    "note not text": (_fulfilment(note=["a"]), "fulfilment.note"),
    "date in the past": (_fulfilment(date=lambda: _days(-1)), "fulfilment.date"),
    "date over 30 days ahead": (_fulfilment(date=lambda: _days(31)), "fulfilment.date"),
    "date not a date": (_fulfilment(date="28/11/2026"), "fulfilment.date"),
    "unknown field": (_with(lambda b, m: b.update(coupon="GRATIS")), "coupon"),
}


@pytest.mark.parametrize("case", list(BAD_CHECKOUTS))
def test_bad_checkout_is_refused_with_422_and_changes_nothing(app, client, market, unbuyable, case):
    build, field = BAD_CHECKOUTS[case]
    body = build(market, unbuyable)
    before = state(app)

    response = post_checkout(client, market.buyer, body, key=f"bad-{case}")

    assert_error(response, 422, field)
    assert state(app) == before


@pytest.mark.parametrize(
    "data, content_type, code",
    [
        ("[]", "application/json", 422),
        ('[{"variant_id": 1, "quantity": "1"}]', "application/json", 422),
        ("null", "application/json", 422),
        ('"cabai"', "application/json", 422),
        ('{"lines": [', "application/json", 400),
        ("", "application/json", 400),
        ("lines=1", "application/x-www-form-urlencoded", 415),
    ],
)
def test_checkout_body_that_is_not_a_json_object_is_refused(app, client, market, data, content_type, code):
    before = state(app)

    response = client.post(f"{API}/checkouts", data=data, content_type=content_type, headers=market.buyer.headers)

    assert_error(response, code)
    assert state(app) == before


def test_checkout_endpoints_are_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").json["paths"]
    assert {"post"} <= set(paths[f"{API}/checkouts"])
    assert [p["name"] for p in paths[f"{API}/checkouts"]["post"]["parameters"]] == ["Idempotency-Key"]
    for path in ("/checkouts/{checkout_id}", "/orders", "/orders/{order_id}"):
        assert paths[f"{API}{path}"]["get"]["summary"]
    for action in ("confirm", "ready", "complete", "cancel"):
        assert paths[f"{API}/orders/{{order_id}}/{action}"]["post"]["summary"]

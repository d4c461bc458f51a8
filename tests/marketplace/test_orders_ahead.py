"""Orders placed before the goods exist: placed without reserving, lots set aside for a line, packing drawing
from them first (and first in, first out passing them by), expiry leaving them be, and splitting a delivery off
an order with the money on the side that can hold it."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import ledger
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from groups.models import Group
from inventory import services as inv
from inventory.models import Lot, Variant
from marketplace import services as shop
from marketplace.models import (
    FulfilmentMethod,
    Order,
    OrderEvent,
    OrderKind,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    SetAsideLot,
)
from payments import inputs
from payments.services import recorded, refunds
from tests.books import stock_problems
from tests.factories import make_member
from tests.market import body_of, moved, placed
from tests.stock_helpers import acting, counters, user_row


def _ahead(app, lead, group_id, lines, buyer=None, kind=OrderKind.made_to_order) -> int:
    """An order of `kind` placed without reserving: `lines` [(variant id, quantity, unit price)]."""
    with acting(app, lead.user) as coordinator:
        buyer_row = user_row(buyer.user) if buyer else coordinator
        order = shop.place_without_stock(
            coordinator,
            buyer_row,
            db.session.get(Group, group_id),
            kind,
            [(db.session.get(Variant, v), Decimal(q), price) for v, q, price in lines],
            fulfilment_method=FulfilmentMethod.pickup,
            fulfilment_date=shop.today_wib(),
            payment_method=PaymentMethod.cash,
        )
        db.session.commit()
        return order.id


def _lot(app, market_, member, quantity, days_ago=0) -> int:
    with acting(app, market_.jahit_lead.user) as coordinator:
        lot = inv.receive_contribution(
            coordinator,
            db.session.get(Group, market_.jahit.id),
            variant_id=market_.daster,
            member_id=member.id,
            quantity=str(quantity),
            received_at=datetime.now(UTC) - timedelta(days=days_ago),
        )
        db.session.commit()
        return lot.id


def _set_aside(app, market_, order_id, lot_id, quantity):
    with acting(app, market_.jahit_lead.user) as coordinator:
        line = db.session.get(Order, order_id).lines[0]
        shop.set_aside(coordinator, line, db.session.get(Lot, lot_id), Decimal(quantity))
        db.session.commit()


def test_an_order_placed_ahead_reserves_nothing_until_goods_are_set_aside(app, market):
    before = _counters(app, market.daster)
    order_id = _ahead(app, market.jahit_lead, market.jahit.id, [(market.daster, "4", 90000)], market.buyer)
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert (order.kind, order.status, order.total, order.expires_at) == (
            OrderKind.made_to_order,
            OrderStatus.confirmed,
            360000,
            None,
        )
        assert order.checkout.total == 360000 and order.lines[0].unit_price == 90000
    assert _counters(app, market.daster) == before  # (3, 0): Wati's three pieces, nothing held

    ani = make_member(app, market.jahit, name="Ani")
    lot = _lot(app, market, ani, 2)
    _set_aside(app, market, order_id, lot, "2")
    assert _counters(app, market.daster) == (Decimal(5), Decimal(2))
    with pytest.raises(Conflict):  # more than the line has room for
        _set_aside(app, market, order_id, _lot(app, market, ani, 3), "3")
    assert stock_problems(app) == []


def test_packing_draws_the_set_aside_lot_and_first_in_first_out_passes_it_by(app, client, market):
    ani = make_member(app, market.jahit, name="Ani")
    order_id = _ahead(app, market.jahit_lead, market.jahit.id, [(market.daster, "2", 90000)], market.buyer)
    early = _lot(app, market, ani, 2, days_ago=5)  # older than Wati's: first in, first out would take it
    _set_aside(app, market, order_id, early, "2")

    stock_order = placed(client, market.other_buyer, body_of((market.daster, "3")))["orders"][0]
    moved(client, stock_order["id"], "confirm", market.jahit_lead)
    packed = moved(client, stock_order["id"], "ready", market.jahit_lead)
    assert {a["member_id"] for a in packed["lines"][0]["allocations"]} == {market.wati.id}

    ahead = moved(client, order_id, "ready", market.jahit_lead)
    assert ahead["lines"][0]["allocations"] == [{"lot_id": early, "member_id": ani.id, "quantity": "2"}]
    assert stock_problems(app) == []


def test_an_order_placed_ahead_is_packed_only_when_all_of_it_is_in(app, client, market):
    order_id = _ahead(app, market.jahit_lead, market.jahit.id, [(market.daster, "2", 90000)], market.buyer)
    _set_aside(app, market, order_id, _lot(app, market, make_member(app, market.jahit, name="Ani"), 1), "1")
    refused = client.post(f"/api/v1/orders/{order_id}/ready", headers=market.jahit_lead.headers)
    assert refused.status_code == 409 and refused.json["errors"]["lines"][0]["set_aside"] == "1"


def test_cancelling_an_order_placed_ahead_releases_only_what_was_set_aside(app, client, market):
    order_id = _ahead(app, market.jahit_lead, market.jahit.id, [(market.daster, "4", 90000)], market.buyer)
    _set_aside(app, market, order_id, _lot(app, market, make_member(app, market.jahit, name="Ani"), 2), "2")
    moved(client, order_id, "cancel", market.jahit_lead)
    assert _counters(app, market.daster) == (Decimal(5), Decimal(0))
    assert stock_problems(app) == []


def test_expiry_leaves_orders_placed_ahead_alone(app, market):
    order_id = _ahead(app, market.jahit_lead, market.jahit.id, [(market.daster, "1", 90000)], market.buyer)
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.payment_method, order.expires_at = PaymentMethod.card, datetime.now(UTC) - timedelta(hours=1)
        db.session.commit()
    with acting(app):
        assert shop.expire_orders() == 0
        assert db.session.get(Order, order_id).status == OrderStatus.confirmed


# --- splitting ------------------------------------------------------------------------------


def _pay(app, lead, order_id, amount):
    with acting(app, lead.user) as coordinator:
        recorded.record_payment(
            coordinator, db.session.get(Order, order_id), inputs.OfflinePayment(PaymentMethod.cash, amount)
        )
        db.session.commit()


def _split(app, lead, order_id, parts: dict) -> tuple[int, int]:
    with acting(app, lead.user) as coordinator:
        order = db.session.get(Order, order_id)
        lines = {line.variant_id: line.id for line in order.lines}
        split = shop.split_order(coordinator, order, {lines[v]: q for v, q in parts.items()})
        db.session.commit()
        return split.part.id, split.rest.id


def test_a_part_worth_what_was_paid_keeps_the_order_and_its_payment(app, client, market):
    checkout = placed(client, market.buyer, body_of((market.cabai_a, "4"), (market.tomat, "3")))  # 180000 + 12003
    order = checkout["orders"][0]
    _pay(app, market.lead, order["id"], 100000)
    part, rest = _split(app, market.lead, order["id"], {market.cabai_a: "3"})
    assert part == order["id"] and rest != part
    with app.app_context():
        original, new = db.session.get(Order, part), db.session.get(Order, rest)
        assert (original.total, original.paid) == (135000, 100000)
        assert (new.total, new.paid, new.checkout_id, new.kind) == (
            45000 + 12003,
            0,
            original.checkout_id,
            OrderKind.stock,
        )
        assert sorted((line.variant_id, line.quantity) for line in new.lines) == [
            (market.cabai_a, Decimal(1)),
            (market.tomat, Decimal(3)),
        ]
        assert original.total + new.total == original.checkout.total
        for order_id, other in ((part, rest), (rest, part)):  # each says, in the reader's words, which is the other
            event = db.session.query(OrderEvent).filter_by(order_id=order_id).order_by(OrderEvent.id.desc()).first()
            assert f"#{other}" in event.note and "dipisahkan" in event.note.lower()
    assert _counters(app, market.cabai_a)[1] == Decimal(4)  # what stock holds moved with the lines, no more
    assert stock_problems(app) == []
    # each part is packed and completed on its own
    moved(client, part, "confirm", market.lead)
    moved(client, part, "ready", market.lead)
    moved(client, part, "complete", market.lead, payment={"amount": 35000})


def test_a_part_worth_less_than_was_paid_becomes_the_new_order(app, client, market):
    order = placed(client, market.buyer, body_of((market.cabai_a, "4"), (market.tomat, "3")))["orders"][0]
    _pay(app, market.lead, order["id"], 100000)
    part, rest = _split(app, market.lead, order["id"], {market.cabai_a: "1"})  # 45000 < 100000
    assert rest == order["id"] and part != rest
    with app.app_context():
        assert (db.session.get(Order, part).total, db.session.get(Order, part).paid) == (45000, 0)
        assert (db.session.get(Order, rest).total, db.session.get(Order, rest).paid) == (147003, 100000)


def test_a_split_neither_side_can_hold_is_refused(app, client, market):
    order = placed(client, market.buyer, body_of((market.cabai_a, "4")))["orders"][0]  # 180000
    _pay(app, market.lead, order["id"], 150000)
    with pytest.raises(Conflict) as refused:
        _split(app, market.lead, order["id"], {market.cabai_a: "2"})  # 90000 | 90000
    assert "150.000" in str(refused.value.message)


def test_a_split_of_an_order_with_a_refund_or_of_all_of_it_is_refused(app, client, market):
    order = placed(client, market.buyer, body_of((market.cabai_a, "4")))["orders"][0]
    with pytest.raises(ValidationFailed):
        _split(app, market.lead, order["id"], {market.cabai_a: "4"})
    with pytest.raises(ValidationFailed):
        _split(app, market.lead, order["id"], {market.cabai_a: "5"})
    _pay(app, market.lead, order["id"], 10000)
    with acting(app, market.lead.user) as coordinator:
        refunds.refund_order(coordinator, db.session.get(Order, order["id"]), refunds.RequestedRefund(5000, "x"))
        db.session.commit()
    with pytest.raises(Conflict):
        _split(app, market.lead, order["id"], {market.cabai_a: "1"})


def test_set_aside_units_go_with_the_delivered_part(app, market):
    ani = make_member(app, market.jahit, name="Ani")
    order_id = _ahead(app, market.jahit_lead, market.jahit.id, [(market.daster, "5", 90000)], market.buyer)
    _set_aside(app, market, order_id, _lot(app, market, ani, 2), "2")
    _set_aside(app, market, order_id, _lot(app, market, ani, 1), "1")
    part, rest = _split(app, market.jahit_lead, order_id, {market.daster: "2"})
    with app.app_context():
        held = {
            line.order_id: sum(s.quantity for s in line.set_aside)
            for line in db.session.query(OrderLine).filter(OrderLine.order_id.in_((part, rest)))
        }
        assert held == {part: Decimal(2), rest: Decimal(1)}
        assert db.session.query(SetAsideLot).count() == 2
    assert stock_problems(app) == []


# --- the money side, as a property ---------------------------------------------------------


@given(part=st.integers(0, 10**12), rest=st.integers(0, 10**12), paid=st.integers(0, 10**12))
def test_the_money_stays_on_a_side_that_can_hold_it(part, rest, paid):
    side = shop.money_side(part, rest, paid)
    if side == "part":
        assert part >= paid
    elif side == "rest":
        assert part < paid <= rest
    else:
        assert part < paid and rest < paid


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    quantities=st.lists(st.integers(1, 500), min_size=1, max_size=3),
    prices=st.lists(st.integers(0, 2_000_000), min_size=3, max_size=3),
    cut=st.lists(st.integers(0, 500), min_size=3, max_size=3),
    paid_share=st.fractions(0, 1),
)
def test_any_split_keeps_every_rupiah_on_one_side(app, market, quantities, prices, cut, paid_share):
    with app.app_context():
        variants = db.session.query(Variant.id).filter(Variant.group_id == market.jahit.id).order_by(Variant.id).all()
    if len(variants) < len(quantities):
        with acting(app, market.jahit_lead.user) as coordinator:
            product = inv.create_product(
                coordinator,
                db.session.get(Group, market.jahit.id),
                name="Seragam",
                kind="garment",
                unit="pcs",
                variants=[{"label": s, "unit_price": 1} for s in ("S", "M", "L")],
            )
            db.session.commit()
            variants = [(v.id,) for v in product.variants]
    lines = [(variants[i][0], str(q), prices[i]) for i, q in enumerate(quantities)]
    order_id = _ahead(app, market.jahit_lead, market.jahit.id, lines, market.buyer)
    with app.app_context():
        total = db.session.get(Order, order_id).total
    paid = int(total * paid_share)
    if paid:
        _pay(app, market.jahit_lead, order_id, paid)
    parts = {variants[i][0]: str(min(cut[i], q)) for i, q in enumerate(quantities) if min(cut[i], q) > 0}
    part_total = sum(
        shop.line_total(prices[i], Decimal(parts[variants[i][0]]))
        for i in range(len(quantities))
        if variants[i][0] in parts
    )
    try:
        part, rest = _split(app, market.jahit_lead, order_id, parts)
    except ValidationFailed:
        assert not parts or all(Decimal(parts.get(variants[i][0], 0)) == Decimal(q) for i, q in enumerate(quantities))
        return
    except Conflict:
        assert part_total < paid and total - part_total < paid
        return
    with app.app_context():
        a, b = db.session.get(Order, part), db.session.get(Order, rest)
        assert a.total == part_total and a.total + b.total == total
        assert sorted((a.paid, b.paid)) == [0, paid]
        keeper = a if a.paid == paid else b
        assert keeper.id == order_id and keeper.total >= paid
        assert (keeper is a) == (part_total >= paid) or paid == 0
        assert [str(p) for p in ledger.check_all()] == []


def _counters(app, variant_id):
    with app.app_context():
        return counters(variant_id)

"""A harvest recorded from lots taken in already through the ordinary stock intake: the same filling and
sharing out as from the members' quantities, each lot counted once and only for one harvest, and the lots that
may not count (another group's or variant's, taken in before the harvest was announced, part of a harvest
already, not free) refused with nothing changed."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.extensions import db
from harvests.models import HarvestLot
from inventory.models import Lot
from tests.books import ledger_problems, stock_problems
from tests.harvests.helpers import announce, buyers, ok, post, pre_order, snapshot
from tests.harvests.test_harvest_pages import page_login
from tests.market import API, body_of, contribute, counters, placed
from tests.pages import html, t


def from_lots(client, market, harvest, lots, key=None, status=201, who=None):
    body = {"from_lots": [lot if isinstance(lot, dict) else {"lot_id": lot} for lot in lots]}
    return post(client, f"/harvests/{harvest['id']}/record", who or market.lead, body, key=key, status=status)


def taken_in(client, market, variant_id, member, quantity, received_at=None) -> int:
    return contribute(client, market.tani, market.lead.headers, variant_id, member, quantity, received_at)["id"]


def lot_count(app, model=Lot) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def test_a_harvest_recorded_from_lots_taken_in_fills_the_pre_orders_and_the_rest_is_on_sale(app, client, market):
    harvest = announce(client, market, variant_id=market.cabai_b, shortfall_rule="first_come", deposit_percent="20")
    a, b = buyers(app, 2, prefix="Toko")
    pa = pre_order(client, harvest, a, "2")
    pre_order(client, harvest, b, "1.5")
    post(client, f"/orders/{pa['order_id']}/payments", market.lead, {"method": "cash", "amount": 12000}, status=201)
    # The picking is taken in as usual, after the harvest was announced.
    siti_lot = taken_in(client, market, market.cabai_b, market.siti, "3")
    ani_lot = taken_in(client, market, market.cabai_b, market.ani, "2")
    eligible = ok(client.get(f"{API}/harvests/{harvest['id']}/eligible-lots", headers=market.lead.headers))
    # The Grade B lot Siti gave before the harvest was announced is not offered.
    assert [(e["lot_id"], e["member_name"], e["free"]) for e in eligible] == [
        (siti_lot, "Siti Aminah", "3"),
        (ani_lot, "Ani Lestari", "2"),
    ]
    assert ok(client.get(f"{API}/harvests/{harvest['id']}/eligible-lots", headers=market.treasurer.headers))
    post_status = client.get(f"{API}/harvests/{harvest['id']}/eligible-lots", headers=a.headers).status_code
    assert post_status == 403
    lots_before, (on_hand, reserved) = lot_count(app), counters(app, market.cabai_b)

    done = from_lots(client, market, harvest, [siti_lot, {"lot_id": ani_lot, "quantity": "1"}], key="dari-stok")
    assert (done["status"], done["harvested"]) == ("harvested", "4")
    assert [(lot["lot_id"], lot["quantity"]) for lot in done["lots"]] == [(siti_lot, "3"), (ani_lot, "1")]
    assert {p["buyer_id"]: (p["filled"], p["status"]) for p in done["pre_orders"]} == {
        a.id: ("2", "filled"),
        b.id: ("1.5", "filled"),
    }
    assert len(done["messages"]) == 2
    # No lot was made: the lots taken in are the harvest; 3.5 kg of them are set aside for the pre-orders.
    assert lot_count(app) == lots_before
    assert counters(app, market.cabai_b) == (on_hand, reserved + Decimal("3.5"))
    # The retry answers as the first; another record is 409; the lots are offered no more.
    again = client.post(
        f"{API}/harvests/{harvest['id']}/record",
        json={"from_lots": [{"lot_id": siti_lot}, {"lot_id": ani_lot, "quantity": "1"}]},
        headers={**market.lead.headers, "Idempotency-Key": "dari-stok"},
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    from_lots(client, market, harvest, [ani_lot], status=409)
    assert ok(client.get(f"{API}/harvests/{harvest['id']}/eligible-lots", headers=market.lead.headers)) == []

    # A's order is packed from Siti's lot, the first named; the rest (the old lot, Ani's) is on sale.
    packed = post(client, f"/orders/{pa['order_id']}/ready", market.lead, {}, status=200)
    assert packed["status"] == "ready"
    with app.app_context():
        assert db.session.get(Lot, siti_lot).remaining == 1
    # 7 kg on hand, 1.5 set aside for B: a buyer checks out the 5.5 kg free.
    order = placed(client, market.buyer, body_of((market.cabai_b, "5.5")))
    assert order["orders"][0]["total"] == 165000
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_a_shortfall_from_lots_taken_in_is_shared_out_by_the_rule(app, client, market):
    harvest = announce(client, market, variant_id=market.cabai_b, shortfall_rule="pro_rata")
    a, b = buyers(app, 2, prefix="Pasar")
    pre_order(client, harvest, a, "4")
    pre_order(client, harvest, b, "2")
    lot = taken_in(client, market, market.cabai_b, market.ani, "3")
    done = from_lots(client, market, harvest, [lot])
    assert {p["buyer_id"]: (p["filled"], p["status"]) for p in done["pre_orders"]} == {
        a.id: ("2", "part_filled"),
        b.id: ("1", "part_filled"),
    }
    assert stock_problems(app) == [] and ledger_problems(app) == []


@pytest.mark.parametrize(
    "case, field",
    [
        ("another_group", "from_lots.0.lot_id"),
        ("another_variant", "from_lots.0.lot_id"),
        ("before_announced", "from_lots.0.lot_id"),
        ("unknown", "from_lots.0.lot_id"),
        ("not_an_id", "from_lots.0.lot_id"),
        ("twice", "from_lots.1.lot_id"),
        ("too_much", "from_lots.0.quantity"),
        ("bad_quantity", "from_lots.0.quantity"),
        ("none", "from_lots"),
        ("both", "from_lots"),
    ],
)
def test_a_lot_that_may_not_count_is_refused_and_changes_nothing(app, client, market, case, field):
    harvest = announce(client, market, variant_id=market.cabai_b)
    (buyer,) = buyers(app, 1)
    pre_order(client, harvest, buyer, "2")
    good = taken_in(client, market, market.cabai_b, market.siti, "3")
    sent = {
        "another_group": [
            contribute(client, market.jahit, market.jahit_lead.headers, market.daster, market.wati, "2")["id"]
        ],
        "another_variant": [taken_in(client, market, market.cabai_a, market.siti, "3")],
        "before_announced": [
            taken_in(client, market, market.cabai_b, market.ani, "3", datetime.now(UTC) - timedelta(days=1))
        ],
        "unknown": [999999],
        "not_an_id": ["x"],
        "twice": [good, good],
        "too_much": [{"lot_id": good, "quantity": "3.5"}],
        "bad_quantity": [{"lot_id": good, "quantity": "-1"}],
        "none": [],
    }
    before, lots_before, stock_before = (
        snapshot(app, harvest["id"]),
        lot_count(app, HarvestLot),
        counters(app, market.cabai_b),
    )
    if case == "both":
        body = {"lots": [{"member_id": market.siti.id, "quantity": "1"}], "from_lots": [{"lot_id": good}]}
        answer = post(client, f"/harvests/{harvest['id']}/record", market.lead, body, status=422)
    else:
        answer = from_lots(client, market, harvest, sent[case], status=422)
    assert field in answer["errors"], answer
    assert snapshot(app, harvest["id"]) == before and lot_count(app, HarvestLot) == lots_before
    assert counters(app, market.cabai_b) == stock_before


def test_a_lot_counts_for_one_harvest_only_and_only_its_free_units(app, client, market):
    first = announce(client, market, variant_id=market.cabai_b)
    second = announce(client, market, variant_id=market.cabai_b, shortfall_rule="first_come")
    a, b = buyers(app, 2)
    pre_order(client, first, a, "2")
    pre_order(client, second, b, "2")
    shared = taken_in(client, market, market.cabai_b, market.siti, "3")
    from_lots(client, market, first, [shared])
    before = snapshot(app, second["id"])
    refused = from_lots(client, market, second, [shared], status=422)
    assert refused["errors"]["from_lots.0.lot_id"]
    assert snapshot(app, second["id"]) == before

    # A lot partly sold already counts only what it still holds: 6 kg checked out and packed take, first in first
    # out, the 4 kg given before, the 1 kg of the shared lot not set aside for the first harvest, and 1 of this.
    later = taken_in(client, market, market.cabai_b, market.ani, "3")
    order = placed(client, market.buyer, body_of((market.cabai_b, "6")))["orders"][0]
    post(client, f"/orders/{order['id']}/confirm", market.lead, {}, status=200)
    post(client, f"/orders/{order['id']}/ready", market.lead, {}, status=200)
    eligible = ok(client.get(f"{API}/harvests/{second['id']}/eligible-lots", headers=market.lead.headers))
    assert [(e["lot_id"], e["quantity"], e["free"]) for e in eligible] == [(later, "3", "2")]
    too_much = from_lots(client, market, second, [{"lot_id": later, "quantity": "3"}], status=422)
    assert too_much["errors"]["from_lots.0.quantity"] == ["Paling banyak 2."]
    done = from_lots(client, market, second, [later])
    assert done["harvested"] == "2" and done["pre_orders"][0]["filled"] == "2"
    with app.app_context():
        assert db.session.scalar(select(func.count(HarvestLot.id)).where(HarvestLot.lot_id == shared)) == 1
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_another_groups_coordinator_cannot_record_or_list_the_lots(app, client, market):
    harvest = announce(client, market, variant_id=market.cabai_b)
    lot = taken_in(client, market, market.cabai_b, market.siti, "3")
    before = snapshot(app, harvest["id"])
    from_lots(client, market, harvest, [lot], who=market.jahit_lead, status=403)
    answer = client.get(f"{API}/harvests/{harvest['id']}/eligible-lots", headers=market.jahit_lead.headers)
    assert answer.status_code == 403
    assert snapshot(app, harvest["id"]) == before


def test_the_coordinator_ticks_the_lots_taken_in_on_the_record_page(app, client, market):
    harvest = announce(client, market, variant_id=market.cabai_b, shortfall_rule="first_come")
    (buyer,) = buyers(app, 1)
    pre_order(client, harvest, buyer, "3")
    siti_lot = taken_in(client, market, market.cabai_b, market.siti, "2")
    ani_lot = taken_in(client, market, market.cabai_b, market.ani, "4")
    other_variant = taken_in(client, market, market.cabai_a, market.ani, "4")
    page_login(client, market.lead)
    page = html(client.get(f"/harvests/{harvest['id']}"))
    assert t(app, "Or from the lots taken in already") in page
    assert f'name="use-{siti_lot}"' in page and f'name="use-{ani_lot}"' in page
    assert f'name="use-{other_variant}"' not in page  # another product's lot is not offered
    key = re.findall(r'name="idempotency_key"[^>]*value="([^"]+)"', page)[-1]
    path = f"/harvests/{harvest['id']}/record-lots"
    empty = client.post(path, data={"idempotency_key": key})
    assert empty.status_code == 422 and t(app, "Tick at least one lot taken in for this harvest.") in html(empty)
    too_much = client.post(path, data={"idempotency_key": key, f"use-{ani_lot}": "1", f"take-{ani_lot}": "5"})
    assert too_much.status_code == 422 and t(app, "At most %(n)s.", n="4") in html(too_much)
    assert snapshot(app, harvest["id"])[1].value == "announced"
    sent = {"idempotency_key": key, f"use-{siti_lot}": "1", f"use-{ani_lot}": "1", f"take-{ani_lot}": "1,5"}
    done = client.post(path, data=sent)
    assert done.status_code == 302, html(done)
    page = html(client.get(done.headers["Location"]))
    assert t(app, "What each buyer gets") in page and page.count("https://wa.me/") == 1
    assert t(app, "Or from the lots taken in already") not in page
    assert client.post(path, data=sent).status_code == 302  # the same form again: its first answer
    other = client.post(path, data={**sent, "idempotency_key": "another"})
    assert other.status_code == 409 and t(app, "This harvest was recorded already.") in html(other)
    with app.app_context():
        counted = dict(db.session.execute(select(HarvestLot.lot_id, HarvestLot.quantity)).all())
    assert counted == {siti_lot: 2, ani_lot: Decimal("1.5")}
    # The treasurer reads the page but may not record.
    page_login(client, market.treasurer)
    assert client.post(path, data=sent).status_code == 403
    assert stock_problems(app) == [] and ledger_problems(app) == []

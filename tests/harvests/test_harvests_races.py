"""Many at once: buyers pre-ordering the last of a cap, a retry sent several times together, and two
coordinators recording the same harvest.

The app is served by a threaded server; each request has its own thread, session and connection, and a barrier
lets them go together. On PostgreSQL the guarded UPDATE of the harvest's counter and its row lock keep them
apart; on SQLite its write lock does.
"""

from sqlalchemy import func, select

from core.extensions import db
from harvests.models import HarvestLot, PreOrder
from inventory.models import Lot
from marketplace.models import Order
from tests.books import ledger_problems, stock_problems
from tests.harvests.helpers import announce, buyers, pre_order, preordered
from tests.live_server import post_at_once
from tests.market import API, contribute, member_with_account


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count(PreOrder.id))),
            db.session.scalar(select(func.count(Order.id))),
            db.session.scalar(select(func.count(Lot.id))),
        )


def test_many_buyers_pre_ordering_the_last_of_a_cap_at_once_never_pass_it(app, server, client, market):
    harvest = announce(client, market)  # cap 8 kg
    (first,) = buyers(app, 1, prefix="Awal")
    pre_order(client, harvest, first, "5")
    crowd = buyers(app, 12)
    path = f"{API}/harvests/{harvest['id']}/pre-orders"
    results = post_at_once(server, [(path, who.headers, {"quantity": "1"}, f"k-{i}") for i, who in enumerate(crowd)])
    statuses = sorted(status for status, _body, _replayed in results)
    assert statuses == [201] * 3 + [409] * 9
    assert preordered(app, harvest["id"]) == 8
    placed, orders, _lots = _counts(app)
    assert (placed, orders) == (4, 4)  # one order per pre-order, none for the refused
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_a_pre_order_retried_several_times_at_once_is_placed_once(app, server, client, market):
    harvest = announce(client, market)
    (buyer,) = buyers(app, 1)
    path = f"{API}/harvests/{harvest['id']}/pre-orders"
    results = post_at_once(server, [(path, buyer.headers, {"quantity": "2"}, "same")] * 4)
    assert {status for status, _body, _replayed in results} == {201}
    assert len({body["id"] for _status, body, _replayed in results}) == 1
    assert [replayed for _s, _b, replayed in results].count("true") == 3
    assert preordered(app, harvest["id"]) == 2
    assert _counts(app)[:2] == (1, 1)


def test_two_coordinators_recording_the_same_harvest_at_once_record_it_once(app, server, client, market):
    harvest = announce(client, market)
    second = member_with_account(app, market.tani, "coordinator")
    a, b = buyers(app, 2)
    pre_order(client, harvest, a, "4")
    pre_order(client, harvest, b, "4")
    _placed, _orders, lots_before = _counts(app)
    path = f"{API}/harvests/{harvest['id']}/record"
    body = {"lots": [{"member_id": market.siti.id, "quantity": "5"}, {"member_id": market.ani.id, "quantity": "1"}]}
    results = post_at_once(server, [(path, market.lead.headers, body, "lead"), (path, second.headers, body, "second")])
    assert sorted(status for status, _body, _replayed in results) == [201, 409]
    _placed, _orders, lots = _counts(app)
    assert lots == lots_before + 2
    with app.app_context():
        assert db.session.scalar(select(func.count(HarvestLot.id))) == 2
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_a_harvest_record_retried_at_once_is_recorded_once(app, server, client, market):
    harvest = announce(client, market)
    (buyer,) = buyers(app, 1)
    pre_order(client, harvest, buyer, "3")
    path = f"{API}/harvests/{harvest['id']}/record"
    body = {"lots": [{"member_id": market.siti.id, "quantity": "2"}]}
    results = post_at_once(server, [(path, market.lead.headers, body, "once")] * 3)
    assert {status for status, _body, _replayed in results} == {201}
    assert [replayed for _s, _b, replayed in results].count("true") == 2
    with app.app_context():
        assert db.session.scalar(select(func.count(HarvestLot.id))) == 1
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_two_coordinators_recording_two_harvests_from_the_same_lot_at_once_count_it_once(app, server, client, market):
    first = announce(client, market, variant_id=market.cabai_b)
    second = announce(client, market, variant_id=market.cabai_b, shortfall_rule="first_come")
    other = member_with_account(app, market.tani, "coordinator")
    a, b = buyers(app, 2)
    pre_order(client, first, a, "2")
    pre_order(client, second, b, "2")
    lot = contribute(client, market.tani, market.lead.headers, market.cabai_b, market.siti, "3")["id"]
    body = {"from_lots": [{"lot_id": lot}]}
    results = post_at_once(
        server,
        [
            (f"{API}/harvests/{first['id']}/record", market.lead.headers, body, "one"),
            (f"{API}/harvests/{second['id']}/record", other.headers, body, "two"),
        ],
    )
    assert sorted(status for status, _body, _replayed in results) == [201, 422]
    with app.app_context():
        assert db.session.scalar(select(func.count(HarvestLot.id)).where(HarvestLot.lot_id == lot)) == 1
    assert stock_problems(app) == [] and ledger_problems(app) == []


def test_two_coordinators_recording_the_same_harvest_from_lots_at_once_record_it_once(app, server, client, market):
    harvest = announce(client, market, variant_id=market.cabai_b)
    other = member_with_account(app, market.tani, "coordinator")
    (buyer,) = buyers(app, 1)
    pre_order(client, harvest, buyer, "2")
    lots = [
        contribute(client, market.tani, market.lead.headers, market.cabai_b, m, "2")["id"]
        for m in (market.siti, market.ani)
    ]
    path = f"{API}/harvests/{harvest['id']}/record"
    results = post_at_once(
        server,
        [
            (path, market.lead.headers, {"from_lots": [{"lot_id": lots[0]}, {"lot_id": lots[1]}]}, "lead"),
            (path, other.headers, {"from_lots": [{"lot_id": lots[1]}]}, "other"),
        ],
    )
    assert sorted(status for status, _body, _replayed in results) == [201, 409]
    with app.app_context():
        assert db.session.scalar(select(func.count(HarvestLot.id))) in (1, 2)
        assert db.session.scalar(select(func.count(HarvestLot.id)).where(HarvestLot.lot_id == lots[1])) == 1
    assert stock_problems(app) == [] and ledger_problems(app) == []
